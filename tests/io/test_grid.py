"""lungnet.io.grid: a mask overlays its scan only on the same shape and affine."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import RAS_AFFINE, save_nifti
from lungnet.errors import LungNetInputError
from lungnet.io import GRID_ATOL_MM, check_same_grid, read_ct, same_grid


@pytest.fixture
def scan_and_twins(tmp_path):
    volume = np.zeros((8, 6, 4), np.int16)
    save_nifti(tmp_path / "scan.nii.gz", volume)
    save_nifti(tmp_path / "same.nii.gz", volume.astype(np.uint8))
    shifted = RAS_AFFINE.copy()
    shifted[0, 3] += 10 * GRID_ATOL_MM
    save_nifti(tmp_path / "shifted.nii.gz", volume, affine=shifted)
    save_nifti(tmp_path / "cropped.nii.gz", volume[:, :, :3])
    return {
        name: read_ct(tmp_path / f"{name}.nii.gz")
        for name in ("scan", "same", "shifted", "cropped")
    }


def test_the_same_grid_passes_and_another_one_is_named_with_both_values(scan_and_twins):
    scan = scan_and_twins["scan"]
    assert same_grid(scan_and_twins["same"], scan)
    check_same_grid(scan_and_twins["same"], scan)
    with pytest.raises(LungNetInputError, match=r"shifted\.nii\.gz: affine .* differs from scan"):
        check_same_grid(scan_and_twins["shifted"], scan)
    with pytest.raises(
        LungNetInputError, match=r"cropped\.nii\.gz: shape \(8, 6, 3\) differs from ground truth"
    ):
        check_same_grid(scan_and_twins["cropped"], scan, reference_role="ground truth")
