"""The lungs from HU: the lung field holds the lungs and their tumors, never air outside the body
or gas below the diaphragm."""

from __future__ import annotations

import numpy as np
import pytest

from lungnet.io import read_ct
from lungnet.lungs import MIN_LUNG_ML, lung_field, lung_regions

SPACING = (2.0, 2.0, 2.0)


def _ball(shape, centre, radius_vox):
    grid = np.indices(shape)
    return sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius_vox**2


def _chest():
    """Air around a soft-tissue body holding two lungs (one with a tumor) and a gas pocket."""
    shape = (96, 80, 40)
    hu = np.full(shape, -1000.0, np.float32)
    body = np.zeros(shape, bool)
    body[8:88, 8:72, :] = True
    hu[body] = 40.0
    left, right = _ball(shape, (30, 40, 20), 16), _ball(shape, (66, 40, 20), 16)
    hu[left | right] = -850.0
    tumor = _ball(shape, (30, 40, 20), 4)
    hu[tumor] = 30.0
    gas = _ball(shape, (48, 20, 20), 5)  # 1 mL of bowel gas: far under a lung
    hu[gas] = -1000.0
    return hu, left, right, tumor, gas


def test_the_field_holds_both_lungs_and_the_tumor_inside_them():
    hu, left, right, tumor, _ = _chest()
    field = lung_field(hu, SPACING)
    assert field.shape == hu.shape
    assert field[left].mean() > 0.99 and field[right].mean() > 0.99
    assert field[tumor].all()  # holes are filled: a tumor in the lung is in the field


def test_air_outside_the_body_and_small_gas_pockets_are_not_lung():
    hu, left, right, _, gas = _chest()
    field = lung_field(hu, SPACING)
    assert not field[gas].any()
    assert not field[0:4].any() and not field[:, 0:4].any()  # the air around the body


def test_a_large_pocket_of_pure_air_inside_the_body_is_not_lung():
    hu = np.full((64, 64, 40), 40.0, np.float32)
    hu[10:40, 10:40, 5:35] = -1000.0  # 216 mL of air, well over MIN_LUNG_ML, but not lung tissue
    assert not lung_regions(hu, SPACING).any()
    assert not lung_field(hu, SPACING).any()


def test_a_scan_without_lungs_has_an_empty_field():
    hu = np.full((64, 64, 20), 40.0, np.float32)
    hu[20:30, 20:30, 5:15] = -1000.0  # 4 mL of gas, under MIN_LUNG_ML
    assert 4.0 < MIN_LUNG_ML
    assert not lung_field(hu, SPACING).any()


def test_a_scan_cropped_around_the_lungs_keeps_them(real_ct):
    ct = read_ct(real_ct / "chest_ct_lps_1p5mm.nii.gz")
    field = lung_field(ct.array, ct.spacing)
    lungs = ct.array < -600
    assert field[lungs].mean() > 0.9  # its lungs reach the edge of the crop and still count
    assert field.sum() * np.prod(ct.spacing) / 1000 > 1000  # mL


def test_the_upper_abdomen_series_has_no_lung_so_its_bowel_gas_is_outside_the_field(real_ct):
    ct = read_ct(real_ct / "dicom_series")
    gas = ct.array < -400
    assert gas.sum() > 0
    assert not lung_field(ct.array, ct.spacing).any()


@pytest.mark.parametrize("seed", [3])
def test_every_phantom_tumor_touches_the_field_and_its_bowel_gas_does_not(tmp_path, seed):
    from lungnet.masks import label_components
    from lungnet.synthetic import write_msd_dataset

    write_msd_dataset(tmp_path, cases=2, seed=seed, size=64, tumor_count=(2, 3))
    for image in sorted((tmp_path / "imagesTr").glob("*.nii.gz")):
        ct = read_ct(image)
        truth = read_ct(tmp_path / "labelsTr" / image.name).array > 0.5
        field = lung_field(ct.array, ct.spacing)
        labels, count = label_components(truth)
        voxel_ml = float(np.prod(ct.spacing)) / 1000
        sizes = np.bincount(labels.ravel())[1:] * voxel_ml
        for i in range(1, count + 1):
            if sizes[i - 1] > 0.1:  # whole tumors; single stray label voxels aside
                assert field[labels == i].any(), f"{image.name}: tumor {i} off the lung field"
