"""lungnet.io.hounsfield: a scan that is not CT in HU is refused once, with the likely fix."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import save_nifti, tiny_case
from lungnet.errors import LungNetInputError
from lungnet.io import check_hounsfield, read_ct


def _read(tmp_path, name, array, **scaling):
    return read_ct(save_nifti(tmp_path / f"{name}.nii.gz", array, **scaling))


def test_ct_in_hounsfield_units_passes(tmp_path):
    hu, _ = tiny_case(0)
    check_hounsfield(_read(tmp_path, "ct", hu))


def test_ct_stored_unsigned_without_its_intercept_is_refused_with_the_fix(tmp_path):
    hu, _ = tiny_case(0)
    offset = (hu.astype(np.int32) + 1024).clip(0).astype(np.uint16)
    with pytest.raises(
        LungNetInputError, match=r"offset.ct\.nii\.gz: is not CT .* offset by about \+1024"
    ):
        check_hounsfield(_read(tmp_path, "offset.ct", offset))
    # The same values with the rescale intercept in the header are CT again.
    check_hounsfield(_read(tmp_path, "rescaled", offset, inter=-1024.0))


def test_a_label_file_is_refused_as_a_label(tmp_path):
    _, label = tiny_case(0)
    with pytest.raises(LungNetInputError, match=r"holds only the values 0, 1: a label mask"):
        check_hounsfield(_read(tmp_path, "label", label))


def test_an_image_without_air_is_refused(tmp_path):
    mr = np.random.default_rng(0).uniform(200, 900, (16, 16, 8)).astype(np.float32)
    with pytest.raises(LungNetInputError, match=r"is not CT in Hounsfield units.*MR image"):
        check_hounsfield(_read(tmp_path, "mr", mr))


def test_the_real_chest_ct_and_dicom_series_pass(real_ct):
    check_hounsfield(read_ct(real_ct / "chest_ct_lps_1p5mm.nii.gz"))
    check_hounsfield(read_ct(real_ct / "dicom_series"))
