"""3D case metrics: hand-computed cases, MONAI cross-checks and the empty-mask rules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from lungnet.evaluation.metrics import (
    EMPTY_DICE,
    case_metrics,
    overlap_metrics,
    surface_distances,
)

SPACING = (0.7, 0.9, 2.5)


def _blobs(seed: int, shape=(40, 36, 20)) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping irregular blobs (a smoothed random field, thresholded)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=shape), 3)
    gt = field > np.quantile(field, 0.9)
    shifted = np.roll(field, (2, -1, 1), axis=(0, 1, 2)) + 0.05 * rng.normal(size=shape)
    pred = shifted > np.quantile(shifted, 0.88)
    return pred, gt


def _monai(pred: np.ndarray, gt: np.ndarray, spacing) -> dict[str, float]:
    from monai.metrics import (
        compute_average_surface_distance,
        compute_dice,
        compute_hausdorff_distance,
        compute_surface_dice,
    )

    p = torch.from_numpy(pred)[None, None].float()
    g = torch.from_numpy(gt)[None, None].float()
    with warnings.catch_warnings():  # MONAI 1.6 warns on every HD95 call
        warnings.simplefilter("ignore")
        return {
            "dice": float(compute_dice(p, g)),
            "hd95_mm": float(compute_hausdorff_distance(p, g, percentile=95, spacing=spacing)),
            "assd_mm": float(
                compute_average_surface_distance(p, g, symmetric=True, spacing=spacing)
            ),
            "nsd_2mm": float(compute_surface_dice(p, g, class_thresholds=[2.0], spacing=spacing)),
        }


def test_overlap_metrics_match_hand_counts():
    pred = np.zeros((6, 6, 6), bool)
    gt = np.zeros((6, 6, 6), bool)
    pred[0:2, 0:2, 0:2] = True  # 8 voxels
    gt[1:3, 0:2, 0:2] = True  # 8 voxels, 4 shared
    m = overlap_metrics(pred, gt)
    assert m == {"dice": 0.5, "iou": 4 / 12, "precision": 0.5, "recall": 0.5}


def test_distances_between_two_voxels_use_the_spacing():
    pred = np.zeros((8, 8, 8), bool)
    gt = np.zeros((8, 8, 8), bool)
    pred[4, 4, 2] = True
    gt[4, 4, 5] = True  # three slices apart at 2.5 mm
    m = case_metrics(pred, gt, SPACING)
    assert m.hd95_mm == pytest.approx(7.5)
    assert m.assd_mm == pytest.approx(7.5)
    assert m.nsd_2mm == 0.0
    gt_near = np.zeros_like(gt)
    gt_near[5, 4, 2] = True  # one voxel along x, 0.7 mm: within the 2 mm tolerance
    assert case_metrics(pred, gt_near, SPACING).nsd_2mm == 1.0


def test_hd95_is_the_larger_directed_95th_percentile():
    pred = np.zeros((30, 10, 10), bool)
    gt = np.zeros((30, 10, 10), bool)
    gt[5, 5, 5] = True
    pred[5, 5, 5] = True
    pred[25, 5, 5] = True  # an outlier 20 voxels away
    d_pg, d_gp = surface_distances(pred, gt, (1.0, 1.0, 1.0))
    assert sorted(d_pg.tolist()) == [0.0, 20.0]
    assert d_gp.tolist() == [0.0]
    m = case_metrics(pred, gt, (1.0, 1.0, 1.0))
    assert m.hd95_mm == pytest.approx(np.percentile([0.0, 20.0], 95))
    assert m.assd_mm == pytest.approx(20.0 / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_agree_with_monai(seed):
    pred, gt = _blobs(seed)
    ours = case_metrics(pred, gt, SPACING)
    ref = _monai(pred, gt, SPACING)
    assert ours.dice == pytest.approx(ref["dice"], abs=1e-6)
    voxel_diagonal = float(np.linalg.norm(SPACING))
    assert abs(ours.hd95_mm - ref["hd95_mm"]) < voxel_diagonal
    assert ours.hd95_mm == pytest.approx(ref["hd95_mm"], abs=1e-4)  # same surfaces, same distances
    assert ours.assd_mm == pytest.approx(ref["assd_mm"], abs=1e-4)
    assert ours.nsd_2mm == pytest.approx(ref["nsd_2mm"], abs=1e-6)


def test_both_empty_scores_one_and_leaves_distances_undefined():
    empty = np.zeros((10, 10, 10), np.uint8)
    m = case_metrics(empty, empty, SPACING)
    assert (m.dice, m.iou, m.precision, m.recall, m.nsd_2mm) == (EMPTY_DICE, 1.0, 1.0, 1.0, 1.0)
    assert math.isnan(m.hd95_mm) and math.isnan(m.assd_mm)
    assert m.volume_pred_ml == m.volume_gt_ml == 0.0


def test_empty_prediction_on_a_tumor_scores_zero_and_precision_is_undefined():
    gt = np.zeros((10, 10, 10), np.uint8)
    gt[2:5, 2:5, 2:5] = 1
    m = case_metrics(np.zeros_like(gt), gt, SPACING)
    assert (m.dice, m.iou, m.recall, m.nsd_2mm) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(m.precision)
    assert math.isnan(m.hd95_mm) and math.isnan(m.assd_mm)
    assert m.volume_gt_ml == pytest.approx(27 * 0.7 * 0.9 * 2.5 / 1000)


def test_prediction_on_a_tumor_free_case_scores_zero_and_recall_is_undefined():
    pred = np.zeros((10, 10, 10), np.float32)
    pred[2:5, 2:5, 2:5] = 1.0
    m = case_metrics(pred, np.zeros_like(pred), SPACING)
    assert (m.dice, m.iou, m.precision, m.nsd_2mm) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(m.recall)
    assert math.isnan(m.hd95_mm) and math.isnan(m.assd_mm)


def test_identical_masks_are_perfect():
    pred, _ = _blobs(3)
    m = case_metrics(pred, pred, SPACING)
    assert (m.dice, m.iou, m.precision, m.recall, m.nsd_2mm) == (1.0, 1.0, 1.0, 1.0, 1.0)
    assert m.hd95_mm == 0.0 and m.assd_mm == 0.0


def test_bad_spacing_and_shapes_are_refused():
    a = np.zeros((4, 4, 4), bool)
    with pytest.raises(ValueError, match="spacing must be three positive numbers"):
        case_metrics(a, a, (1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="differs from ground-truth shape"):
        case_metrics(a, np.zeros((4, 4, 5), bool), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="must be a 3D"):
        case_metrics(a[0], a[0], (1.0, 1.0, 1.0))
