"""Write a tumor mask as a binary DICOM Segmentation (SEG) that references its source series.

Hospital viewers and PACS (OHIF, 3D Slicer, Orthanc) open a DICOM SEG beside the series it
was made from; the encoding is left to highdicom, the maintained library for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lungnet.errors import LungNetInputError
from lungnet.io.atomic import atomic_path
from lungnet.io.volume import CTVolume

__all__ = ["SEGMENT_LABEL", "SERIES_DESCRIPTION", "write_dicom_seg", "source_slices"]

SEGMENT_LABEL = "Lung tumor"
SERIES_DESCRIPTION = "LungNet tumor segmentation"
# Viewers list series by number; this keeps the SEG after the series it was made from.
_SERIES_NUMBER_OFFSET = 1000
# A slice whose position is this far (in slice spacings) from the grid LungNet read is not
# on that grid, so a frame written for it would land in the wrong place.
_POSITION_TOLERANCE = 0.1
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_META_IDENTITY = {
    "SOPClassUID": "MediaStorageSOPClassUID",
    "SOPInstanceUID": "MediaStorageSOPInstanceUID",
}
_SERIES_IDENTITY = ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID")


def source_slices(ct: CTVolume) -> list:
    """The source series' DICOM headers (pixels not read), in the volume's slice order.

    Element ``k`` is the file LungNet read as slice ``k`` of ``ct``'s file voxel order
    (:meth:`CTVolume.to_file_order`), matched by ImagePositionPatient, so the order holds
    however the files are named.

    Raises:
        LungNetInputError: ``ct`` was not read from a DICOM series folder, its slices lack
            the Study, Series or Frame of Reference UID, or they do not lie on its grid.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    folder = ct.source
    if folder is None or not Path(folder).is_dir():
        raise LungNetInputError(
            folder,
            "--dicom-seg needs a DICOM series input; this scan is a NIfTI file, and a DICOM SEG "
            "must reference the DICOM slices it was made from",
        )
    headers = []
    for path in sorted(Path(folder).iterdir()):
        if not path.is_file():
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError):
            continue  # the same files the series reader skips: not DICOM
        if "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds:
            headers.append(_with_instance_identity(ds))
    n_slices = ct.geometry.shape[2]
    if len(headers) != n_slices:
        raise LungNetInputError(
            folder, f"holds {len(headers)} DICOM slices but the series read has {n_slices}"
        )
    missing = [key for key in _SERIES_IDENTITY if not headers[0].get(key)]
    if missing:
        raise LungNetInputError(
            folder,
            f"its DICOM slices have no {' or '.join(missing)} (removed by anonymization?); "
            "a DICOM SEG must reference the series by them, so none was written",
        )
    lps_to_voxel = np.linalg.inv(_LPS_TO_RAS @ ct.geometry.affine)
    by_index: dict[int, object] = {}
    for ds in headers:
        i, j, k = (lps_to_voxel @ [*map(float, ds.ImagePositionPatient), 1.0])[:3]
        index = int(round(k))
        off_grid = max(abs(i), abs(j), abs(k - index)) > _POSITION_TOLERANCE
        if off_grid or not 0 <= index < n_slices or index in by_index:
            raise LungNetInputError(
                folder,
                f"slice {ds.get('SOPInstanceUID', '?')} at {list(ds.ImagePositionPatient)} mm is "
                "not on the series grid (uneven spacing or tilted slices); no DICOM SEG written",
            )
        by_index[index] = ds
    return [by_index[k] for k in range(n_slices)]


def _with_instance_identity(ds):
    # The file meta repeats the slice's SOP Class and Instance UIDs by definition, so a file
    # whose data set lost them (some anonymizers blank them) still says which slice it is.
    meta = getattr(ds, "file_meta", None)
    for key, meta_key in _META_IDENTITY.items():
        if not ds.get(key) and meta is not None and meta.get(meta_key):
            setattr(ds, key, meta.get(meta_key))
    return ds


def write_dicom_seg(
    mask: np.ndarray, ct: CTVolume, path: str | Path, source: list | None = None
) -> Path:
    """Write a canonical ``(X, Y, Z)`` mask on ``ct``'s grid as a binary DICOM SEG, atomically.

    The SEG has one segment, "Lung tumor" (category SCT 49755003 "Morphologically
    Abnormal Structure", type SCT 108369006 "Neoplasm", anatomic region SCT 39607008
    "Lung"), references the source series, its frame of reference and, frame by frame,
    the source slice it lies on. Slices without tumor get no frame.

    Args:
        mask: ``(X, Y, Z)`` mask as returned for ``ct``; nonzero voxels are tumor.
        ct: the scan, read with :func:`lungnet.io.read_ct` from a DICOM series folder.
        path: where the ``.dcm`` goes.
        source: ``source_slices(ct)``, when the caller has already read them.

    Returns:
        The path written.

    Raises:
        LungNetInputError: ``ct`` is not a DICOM series (a NIfTI file), or its slices
            cannot be referenced (see :func:`source_slices`).
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from lungnet import __version__

    path = Path(path)
    slices = source_slices(ct) if source is None else source
    # File voxel order is ITK's (column, row, slice); a DICOM frame is (row, column).
    frames = np.ascontiguousarray(ct.to_file_order(np.asarray(mask) != 0).transpose(2, 1, 0))
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=SEGMENT_LABEL,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name="LungNet", family=codes.cid7162.ArtificialIntelligence, version=__version__
        ),
        anatomic_regions=[codes.SCT.Lung],
    )
    source_number = slices[0].get("SeriesNumber")
    seg = hd.seg.Segmentation(
        source_images=slices,
        pixel_array=frames.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=hd.UID(),
        series_number=int(source_number or 0) + _SERIES_NUMBER_OFFSET,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="LungNet",
        manufacturer_model_name="LungNet",
        software_versions=__version__,
        device_serial_number="0",
        series_description=SERIES_DESCRIPTION,
        # highdicom keeps every frame of an all-empty mask anyway, with a warning.
        omit_empty_frames=bool(frames.any()),
    )
    with atomic_path(path) as tmp:
        seg.save_as(tmp)
    return path
