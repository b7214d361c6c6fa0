"""Connected components, lesion matching and per-tumor measurements."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from lungnet.evaluation.lesions import (
    label_lesions,
    match_lesions,
    measure_lesions,
    write_lesions_csv,
    write_lesions_json,
)
from lungnet.io import read_ct


def test_voxels_touching_at_a_corner_are_one_lesion():
    mask = np.zeros((6, 6, 6), np.uint8)
    mask[1, 1, 1] = mask[2, 2, 2] = 1
    assert label_lesions(mask)[1] == 1
    mask[2, 2, 2] = 0
    mask[3, 3, 3] = 1  # one voxel gap
    labels, count = label_lesions(mask)
    assert count == 2 and labels.shape == mask.shape
    assert {labels[1, 1, 1], labels[3, 3, 3]} == {1, 2} and np.count_nonzero(labels) == 2


def test_match_counts_detected_missed_and_spurious_lesions():
    gt = np.zeros((30, 10, 10), bool)
    pred = np.zeros_like(gt)
    gt[1:4, 1:4, 1:4] = True  # detected by a one-voxel overlap
    gt[10:13, 1:4, 1:4] = True  # missed
    gt[20:23, 1:4, 1:4] = True  # detected
    pred[3:6, 3:6, 3:6] = True
    pred[21, 2, 2] = True
    pred[26:28, 6:8, 6:8] = True  # spurious
    m = match_lesions(pred, gt)
    assert m.as_dict() == {
        "lesions_gt": 3,
        "lesions_pred": 3,
        "lesion_tp": 2,
        "lesion_fp": 1,
        "lesion_fn": 1,
    }


def test_one_prediction_spanning_two_tumors_detects_both():
    gt = np.zeros((20, 6, 6), bool)
    gt[2:5, 2:4, 2:4] = gt[8:11, 2:4, 2:4] = True
    pred = np.zeros_like(gt)
    pred[3:10, 3, 3] = True
    m = match_lesions(pred, gt)
    assert (m.lesion_tp, m.lesion_fn, m.lesion_fp, m.lesions_pred) == (2, 0, 0, 1)


def test_empty_masks_have_no_lesions():
    empty = np.zeros((5, 5, 5), bool)
    assert match_lesions(empty, empty).as_dict() == {
        "lesions_gt": 0,
        "lesions_pred": 0,
        "lesion_tp": 0,
        "lesion_fp": 0,
        "lesion_fn": 0,
    }


def test_sphere_volume_diameters_and_position(make_ct, ball, ras_affine):
    spacing, shape = (0.7, 0.8, 1.5), (80, 72, 48)
    center, radius = (27.3, 29.1, 35.2), 11.0
    mask = ball(shape, spacing, center, radius)
    hu = np.where(mask, 30.0, -850.0)
    affine = ras_affine(spacing)
    (les,) = measure_lesions(mask.astype(np.uint8), make_ct(hu, spacing, affine))
    true_ml = 4 / 3 * math.pi * radius**3 / 1000
    assert les.volume_ml == pytest.approx(true_ml, rel=0.03)
    in_plane_voxel = max(spacing[:2])
    assert abs(les.long_axis_mm - 2 * radius) <= in_plane_voxel
    assert abs(les.short_axis_mm - 2 * radius) <= in_plane_voxel
    expected_voxel = np.array(center) / spacing
    assert np.allclose(les.centroid_voxel, expected_voxel, atol=0.05)
    assert np.allclose(
        les.centroid_world_mm, affine[:3, :3] @ expected_voxel + affine[:3, 3], atol=0.05
    )
    z = np.flatnonzero(mask.any(axis=(0, 1)))
    assert les.slice_range == (z[0], z[-1])
    assert les.slice_range[0] <= les.long_axis_slice <= les.slice_range[1]
    assert (les.id, les.hu_mean, les.hu_std) == (1, pytest.approx(30.0), pytest.approx(0.0))


def test_short_axis_is_perpendicular_to_the_long_axis(make_ct, ball):
    spacing, shape = (0.6, 0.6, 2.0), (90, 90, 24)
    # an ellipsoid whose long in-plane axis runs along y
    mask = ball(shape, spacing, (27.1, 27.3, 24.0), (7.0, 15.0, 8.0))
    (les,) = measure_lesions(mask, make_ct(np.zeros(shape), spacing))
    assert abs(les.long_axis_mm - 30.0) <= 0.6
    assert abs(les.short_axis_mm - 14.0) <= 0.6


def test_lesions_are_numbered_largest_first_with_hu_statistics(make_ct):
    mask = np.zeros((20, 20, 10), np.uint8)
    hu = np.full(mask.shape, -900.0)
    mask[1:3, 1:3, 1:3] = 1  # 8 voxels
    mask[10:14, 10:14, 2:6] = 1  # 64 voxels
    hu[10:14, 10:14, 2:4] = 10.0
    hu[10:14, 10:14, 4:6] = 50.0
    big, small = measure_lesions(mask, make_ct(hu, (1.0, 1.0, 2.0)))
    assert (big.id, big.voxels, small.id, small.voxels) == (1, 64, 2, 8)
    assert big.volume_ml == pytest.approx(64 * 2.0 / 1000)
    assert (big.hu_mean, big.hu_std) == (pytest.approx(30.0), pytest.approx(20.0))
    assert measure_lesions(np.zeros_like(mask), make_ct(hu)) == []


def test_a_single_voxel_measures_one_voxel_across(make_ct):
    mask = np.zeros((5, 5, 5), bool)
    mask[2, 2, 2] = True
    (les,) = measure_lesions(mask, make_ct(np.zeros(mask.shape), (0.5, 0.5, 3.0)))
    assert (les.long_axis_mm, les.short_axis_mm) == (pytest.approx(0.5), pytest.approx(0.5))


def test_world_centroid_of_an_lps_file_follows_its_affine(tmp_path, ball, save_mask):
    """A mask stored in LPS voxel order: the centroid's world position must not depend on it."""
    spacing, shape = (1.0, 1.0, 2.0), (40, 40, 20)
    lps_affine = np.array(
        [[-1.0, 0, 0, 10.0], [0, -1.0, 0, 25.0], [0, 0, 2.0, -50.0], [0, 0, 0, 1.0]]
    )
    mask_file_order = ball(shape, spacing, (12.0, 20.0, 18.0), 5.0)  # in file (LPS) voxel mm
    path = save_mask(tmp_path / "m.nii.gz", mask_file_order, lps_affine)
    ct = read_ct(path)
    (les,) = measure_lesions(ct.array > 0.5, ct)
    centre_file_voxel = np.array([12.0, 20.0, 9.0, 1.0])
    assert np.allclose(les.centroid_world_mm, (lps_affine @ centre_file_voxel)[:3], atol=0.05)


def test_writers_produce_json_and_csv(tmp_path, make_ct):
    mask = np.zeros((10, 10, 6), np.uint8)
    mask[2:5, 2:5, 1:3] = 1
    ct = make_ct(np.where(mask, 20.0, -700.0), (0.8, 0.8, 2.5))
    lesions = measure_lesions(mask, ct)
    doc = json.loads(write_lesions_json(lesions, tmp_path / "t.json", ct).read_text())
    assert doc["count"] == 1 and doc["units"]["volume"] == "mL"
    assert doc["lesions"][0]["slice_range"] == [1, 2]
    assert doc["scan"]["shape"] == [10, 10, 6]
    with open(write_lesions_csv(lesions, tmp_path / "t.csv")) as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["id"] == "1" and float(rows[0]["volume_ml"]) == pytest.approx(18 * 1.6 / 1000)
    assert float(rows[0]["hu_mean"]) == pytest.approx(20.0)


def test_mask_of_another_shape_is_refused(make_ct):
    with pytest.raises(ValueError, match="differs from the scan's"):
        measure_lesions(np.zeros((4, 4, 4)), make_ct(np.zeros((4, 4, 5))))
