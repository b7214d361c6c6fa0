"""Render a DICOM SEG written by LungNet over the source slices its frames refer to.

    python benchmarks/dicom_seg_render.py [--series DIR] [--out PNG] [--panels N]

The SEG is written by ``lungnet.io.dicom_seg.write_dicom_seg`` for the real DICOM series
in ``../shared/data/real_ct/dicom_series`` and read back with highdicom. Each panel shows
one SEG frame in red over the source slice it references (found by SOP Instance UID and
decoded on its own with pydicom), in a soft-tissue window. No trained model is involved:
the mask comes from a rule, a sphere placed in the liver intersected with HU > 0, and the
title says so. The shared series has its Study and Series UIDs blanked, which a SEG must
reference, so the script works on a copy that is given fresh ones (as a PACS import would).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from record import RESULTS_DIR, ROOT, provenance, write_results

WINDOW_HU = (-160.0, 240.0)  # soft tissue: level 40, width 400
SPHERE_RADIUS_MM = 20.0
SPHERE_CENTER_PIXEL = (250, 215)  # (row, column) on the middle slice: liver by the fissure fat
CROP_HALF_WIDTH_PX = 80
THRESHOLD_HU = 0.0


def default_series() -> Path:
    for shared in (ROOT.parent / "shared", ROOT / "shared"):
        series = shared / "data" / "real_ct" / "dicom_series"
        if series.is_dir():
            return series
    return ROOT.parent / "shared" / "data" / "real_ct" / "dicom_series"


def copy_with_series_uids(source: Path, folder: Path) -> Path:
    """Copy the series, giving it Study and Series UIDs where they are blank; pixels as stored."""
    import pydicom
    from pydicom.uid import generate_uid

    study, series = generate_uid(), generate_uid()
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = ds.get("StudyInstanceUID") or study
        ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or series
        ds.save_as(folder / path.name)
    return folder


def rule_mask(ct, middle_slice) -> np.ndarray:
    """Sphere of SPHERE_RADIUS_MM around SPHERE_CENTER_PIXEL of the middle slice, HU > 0."""
    row, column = SPHERE_CENTER_PIXEL
    position = np.asarray(middle_slice.ImagePositionPatient, float)
    orientation = np.asarray(middle_slice.ImageOrientationPatient, float)
    row_spacing, column_spacing = (float(s) for s in middle_slice.PixelSpacing)
    center_lps = position + orientation[:3] * column * column_spacing
    center_lps += orientation[3:] * row * row_spacing
    center_ras = center_lps * [-1.0, -1.0, 1.0]
    grid = np.indices(ct.shape).reshape(3, -1)
    world = (ct.affine[:3, :3] @ grid + ct.affine[:3, 3:4]).T.reshape(*ct.shape, 3)
    inside = np.linalg.norm(world - center_ras, axis=-1) <= SPHERE_RADIUS_MM
    return (inside & (ct.array > THRESHOLD_HU)).astype(np.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=Path, default=default_series())
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "dicom_seg_overlay.png")
    parser.add_argument("--panels", type=int, default=8)
    args = parser.parse_args()
    record = provenance(
        settings={
            "series": str(args.series),
            "mask_rule": f"sphere r={SPHERE_RADIUS_MM} mm at pixel {SPHERE_CENTER_PIXEL} of the "
            f"middle slice, HU > {THRESHOLD_HU}",
            "window_hu": WINDOW_HU,
        }
    )

    import highdicom as hd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pydicom
    from pydicom.pixels import apply_modality_lut

    from lungnet.io import read_ct
    from lungnet.io.dicom_seg import source_slices, write_dicom_seg

    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_with_series_uids(args.series, Path(tmp))
        ct = read_ct(folder)
        slices = source_slices(ct)
        mask = rule_mask(ct, slices[len(slices) // 2])
        seg_path = write_dicom_seg(mask, ct, Path(tmp) / "out" / "series_seg.dcm")
        seg = hd.seg.segread(seg_path)
        files = {}
        for path in folder.iterdir():
            if path.is_file():
                ds = pydicom.dcmread(path)
                files[ds.get("SOPInstanceUID") or ds.file_meta.MediaStorageSOPInstanceUID] = ds
        referenced = [
            frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
            for frame in seg.PerFrameFunctionalGroupsSequence
        ]
        referenced.sort(key=lambda uid: float(files[uid].ImagePositionPatient[2]))
        picks = [
            referenced[i]
            for i in np.linspace(0, len(referenced) - 1, args.panels).round().astype(int)
        ]
        overlays = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=picks, segment_numbers=[1]
        )[..., 0]
        record["results"] = {
            "source_slices": len(slices),
            "seg_frames": int(seg.NumberOfFrames),
            "segmented_voxels": int(mask.sum()),
            "seg_bytes": seg_path.stat().st_size,
            "segment_label": seg.SegmentSequence[0].SegmentLabel,
        }

        row, column = SPHERE_CENTER_PIXEL
        crop = np.s_[
            row - CROP_HALF_WIDTH_PX : row + CROP_HALF_WIDTH_PX,
            column - CROP_HALF_WIDTH_PX : column + CROP_HALF_WIDTH_PX,
        ]
        columns = min(args.panels, 4)
        rows = -(-args.panels // columns)
        fig, axes = plt.subplots(
            rows, columns, figsize=(3.0 * columns, 3.5 * rows + 0.5), layout="constrained"
        )
        axes = np.atleast_1d(axes).ravel()
        for ax in axes[args.panels :]:
            ax.set_axis_off()
        for ax, uid, overlay in zip(axes, picks, overlays, strict=False):
            ds = files[uid]
            hu = apply_modality_lut(ds.pixel_array, ds)
            ax.imshow(hu[crop], cmap="gray", vmin=WINDOW_HU[0], vmax=WINDOW_HU[1])
            red = np.zeros((*overlay[crop].shape, 4))
            red[..., 0], red[..., 3] = 1.0, 0.45 * overlay[crop]
            ax.imshow(red)
            ax.contour(overlay[crop], levels=[0.5], colors="red", linewidths=0.8)
            ax.set_title(
                f"z = {float(ds.ImagePositionPatient[2]):.1f} mm\nSOP ...{uid[-6:]}", fontsize=8
            )
            ax.set_axis_off()
        fig.suptitle(
            f"LungNet DICOM SEG read back ({seg.NumberOfFrames} frames of {len(slices)} slices), "
            "each frame in red over the source slice it references\n"
            f"Mask from a rule, not a model: sphere of radius {SPHERE_RADIUS_MM:.0f} mm in the "
            f"liver, voxels with HU > {THRESHOLD_HU:.0f}; window L40/W400; "
            f"{2 * CROP_HALF_WIDTH_PX} px crops",
            fontsize=9,
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=110)
    record["results"]["png"] = (
        str(args.out.relative_to(ROOT)) if args.out.is_relative_to(ROOT) else str(args.out)
    )
    print(write_results(args.out.with_suffix(".json").name, record, args.out.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
