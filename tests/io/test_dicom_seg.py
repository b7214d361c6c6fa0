"""DICOM SEG output: read back, it is the mask written, frame by frame on the source slices."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.errors import InvalidDicomError

from dicom_series import copy_with_uids, write_ct_series
from helpers import save_nifti, tiny_case
from lungnet.errors import LungNetInputError
from lungnet.io import read_ct
from lungnet.io.dicom_seg import SEGMENT_LABEL, SERIES_DESCRIPTION, write_dicom_seg


def blobs(shape: tuple[int, int, int], slices: list[int]) -> np.ndarray:
    """A canonical mask with two boxes of different sizes on each of ``slices``, none elsewhere."""
    mask = np.zeros(shape, np.uint8)
    x, y = shape[0], shape[1]
    for z in slices:
        mask[x // 5 : x // 5 + x // 6, y // 3 : y // 3 + y // 8, z] = 1
        mask[x // 2 + z % 3 : x // 2 + x // 10 + z % 3, y // 2 : y // 2 + y // 5, z] = 1
    return mask


def source_by_position(folder: Path) -> list[pydicom.Dataset]:
    """The folder's slices sorted along the slice normal, as a series reader stacks them."""
    headers = []
    for path in folder.iterdir():
        try:
            headers.append(pydicom.dcmread(path, stop_before_pixels=True))
        except InvalidDicomError:
            continue
    orientation = np.asarray(headers[0].ImageOrientationPatient, float)
    normal = np.cross(orientation[:3], orientation[3:])
    return sorted(
        headers, key=lambda ds: float(normal @ np.asarray(ds.ImagePositionPatient, float))
    )


def instance_uid(ds: pydicom.Dataset) -> str:
    return ds.get("SOPInstanceUID") or ds.file_meta.MediaStorageSOPInstanceUID


def assert_seg_is_the_mask_on_the_source_slices(seg_path: Path, folder: Path, mask: np.ndarray):
    ct = read_ct(folder)
    source = source_by_position(folder)
    by_uid = {instance_uid(ds): ds for ds in source}
    # The sorted slice k is slice k of the volume read: pixel (0, 0) of slice k is voxel (0, 0, k).
    lps_to_voxel = np.linalg.inv(np.diag([-1.0, -1.0, 1.0, 1.0]) @ ct.geometry.affine)
    for k, ds in enumerate(source):
        voxel = lps_to_voxel @ [*np.asarray(ds.ImagePositionPatient, float), 1.0]
        np.testing.assert_allclose(voxel[:3], [0, 0, k], atol=1e-3)

    seg = hd.seg.segread(seg_path)
    assert seg.Modality == "SEG" and seg.SegmentationType == "BINARY"
    assert seg.SeriesDescription == SERIES_DESCRIPTION and seg.Manufacturer == "LungNet"
    assert seg.StudyInstanceUID == source[0].StudyInstanceUID
    assert seg.FrameOfReferenceUID == source[0].FrameOfReferenceUID
    (referenced,) = seg.ReferencedSeriesSequence
    assert referenced.SeriesInstanceUID == source[0].SeriesInstanceUID
    assert {item.ReferencedSOPInstanceUID for item in referenced.ReferencedInstanceSequence} <= set(
        by_uid
    )
    (segment,) = seg.SegmentSequence
    assert segment.SegmentLabel == SEGMENT_LABEL
    assert segment.SegmentedPropertyTypeCodeSequence[0].CodeValue == "108369006"  # SCT Neoplasm

    shared = seg.SharedFunctionalGroupsSequence[0]
    spacing = shared.PixelMeasuresSequence[0].PixelSpacing
    frames = seg.PerFrameFunctionalGroupsSequence
    assert len(frames) == int(mask.any(axis=(0, 1)).sum()) or not mask.any()
    for frame in frames:
        ref = frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        slice_ = by_uid[ref]
        position = frame.PlanePositionSequence[0].ImagePositionPatient
        orientation = (frame.get("PlaneOrientationSequence") or shared.PlaneOrientationSequence)[0]
        np.testing.assert_allclose(position, slice_.ImagePositionPatient, atol=1e-4)
        np.testing.assert_allclose(
            orientation.ImageOrientationPatient, slice_.ImageOrientationPatient, atol=1e-6
        )
        np.testing.assert_allclose(spacing, slice_.PixelSpacing, atol=1e-6)

    decoded = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[instance_uid(ds) for ds in source],
        segment_numbers=[1],
        assert_missing_frames_are_empty=True,
    )[..., 0]
    # Frames are (slice, row, column); the volume's file order is (column, row, slice).
    expected = ct.to_file_order(mask).transpose(2, 1, 0)
    assert decoded.shape == expected.shape
    np.testing.assert_array_equal(decoded, expected)


@pytest.fixture
def tiny_series(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    hu = rng.normal(-800, 30, (6, 20, 24)).astype(np.int16)  # slices, rows, columns
    folder = write_ct_series(tmp_path / "tiny_series", hu)
    (folder / "README.txt").write_text("not a slice")  # the series reader skips it; so must we
    return folder


def test_tiny_series_seg_holds_the_mask_on_its_source_slices(tiny_series, tmp_path):
    ct = read_ct(tiny_series)
    mask = blobs(ct.shape, [1, 2, 4])  # slices 0, 3 and 5 empty
    path = write_dicom_seg(mask, ct, tmp_path / "out" / "tiny_seg.dcm")
    assert path == tmp_path / "out" / "tiny_seg.dcm"
    assert_seg_is_the_mask_on_the_source_slices(path, tiny_series, mask)
    assert [p.name for p in path.parent.iterdir()] == ["tiny_seg.dcm"]  # no temporaries left


def test_an_empty_mask_gives_a_seg_that_decodes_to_all_zero(tiny_series, tmp_path):
    ct = read_ct(tiny_series)
    mask = np.zeros(ct.shape, np.uint8)
    path = write_dicom_seg(mask, ct, tmp_path / "empty_seg.dcm")
    assert_seg_is_the_mask_on_the_source_slices(path, tiny_series, mask)


def test_real_series_seg_holds_the_mask_on_its_source_slices(real_ct, tmp_path):
    # The shared series was anonymized with its Study and Series UIDs blanked; a PACS import
    # gives them back, and so does this copy. Slices, pixels and SOP UIDs stay as they are.
    folder = copy_with_uids(real_ct / "dicom_series", tmp_path / "series")
    ct = read_ct(folder)
    mask = blobs(ct.shape, [2, 3, 4, 11, 17])
    path = write_dicom_seg(mask, ct, tmp_path / "series_seg.dcm")
    assert_seg_is_the_mask_on_the_source_slices(path, folder, mask)


def test_a_series_without_study_and_series_uids_is_refused_in_one_line(real_ct, tmp_path):
    ct = read_ct(real_ct / "dicom_series")
    with pytest.raises(LungNetInputError, match="no StudyInstanceUID or SeriesInstanceUID") as e:
        write_dicom_seg(np.zeros(ct.shape, np.uint8), ct, tmp_path / "seg.dcm")
    assert "\n" not in str(e.value) and not (tmp_path / "seg.dcm").exists()


def test_a_nifti_scan_is_refused_in_one_line_naming_the_file(tmp_path):
    scan = save_nifti(tmp_path / "patient.nii.gz", tiny_case(0)[0])
    ct = read_ct(scan)
    with pytest.raises(LungNetInputError, match="--dicom-seg needs a DICOM series input") as e:
        write_dicom_seg(np.zeros(ct.shape, np.uint8), ct, tmp_path / "patient_seg.dcm")
    assert str(e.value).startswith(f"{scan}: ") and "\n" not in str(e.value)
    assert not (tmp_path / "patient_seg.dcm").exists()
