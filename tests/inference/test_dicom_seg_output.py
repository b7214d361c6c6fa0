"""`lungnet predict --dicom-seg`: a DICOM series gets a SEG equal to its mask; NIfTI is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom

from dicom_series import write_ct_series
from helpers import save_nifti, tiny_case
from lungnet.inference import Predictor


def series_scan(folder: Path) -> Path:
    hu, _ = tiny_case(1, shape=(32, 28, 8))  # (X, Y, Z) -> DICOM (slice, row, column)
    return write_ct_series(folder, hu.transpose(2, 1, 0))


def seg_as_nifti_order(seg_path: Path, series: Path) -> np.ndarray:
    """The SEG decoded onto the series' slices, in the (column, row, slice) order of the mask."""
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in series.iterdir()]
    headers.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))  # axial: along +z
    pixels = hd.seg.segread(seg_path).get_pixels_by_source_instance(
        source_sop_instance_uids=[ds.SOPInstanceUID for ds in headers],
        segment_numbers=[1],
        assert_missing_frames_are_empty=True,
    )
    return pixels[..., 0].transpose(2, 1, 0)


def test_predict_writes_a_seg_equal_to_the_mask_and_refuses_nifti_in_one_line(checkpoint, tmp_path):
    series = series_scan(tmp_path / "series")
    nifti = save_nifti(tmp_path / "patient.nii.gz", tiny_case(2)[0])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "lungnet", "predict", "--device", "cpu", "--dicom-seg"]
    command += ["-i", str(series), str(nifti), "--checkpoint", str(checkpoint), "-o", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    refusal = f"failed: {nifti}: --dicom-seg needs a DICOM series input"
    assert refusal in proc.stderr and "Traceback" not in proc.stderr
    assert f"dicom seg: {out / 'series_seg.dcm'}" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["series_pred.nii.gz", "series_seg.dcm"]
    mask = np.asanyarray(nib.load(out / "series_pred.nii.gz").dataobj)
    assert mask.any(), "the tiny model should mark something, or this test proves nothing"
    np.testing.assert_array_equal(seg_as_nifti_order(out / "series_seg.dcm", series), mask)


def test_a_mask_without_its_seg_is_not_skipped_when_the_seg_is_asked_for(checkpoint, tmp_path):
    series = series_scan(tmp_path / "series")
    predictor = Predictor(checkpoint, device="cpu")
    assert predictor.predict_file(series, tmp_path / "out").status == "done"
    outcome = predictor.predict_file(series, tmp_path / "out", dicom_seg=True)
    assert (
        outcome.status == "done" and outcome.dicom_seg_path == tmp_path / "out" / "series_seg.dcm"
    )
    assert outcome.dicom_seg_path.is_file()
    assert predictor.predict_file(series, tmp_path / "out", dicom_seg=True).status == "skipped"
