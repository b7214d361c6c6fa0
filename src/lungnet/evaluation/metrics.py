"""Segmentation metrics: Dice for monitoring during training and 3D metrics per case.

Empty-mask rule, used everywhere in LungNet: when prediction and ground truth are
both empty, Dice (and IoU) is 1.0, because predicting "no tumor" for a tumor-free
case is exactly right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from lungnet.masks import binarize, foreground_box

__all__ = [
    "dice_score",
    "EMPTY_DICE",
    "HD_PERCENTILE",
    "NSD_TOLERANCE_MM",
    "CaseMetrics",
    "assd_mm",
    "case_metrics",
    "hd95_mm",
    "nsd",
    "overlap_metrics",
    "surface_distances",
]

#: Dice when both prediction and ground truth are empty.
EMPTY_DICE = 1.0


def dice_score(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Dice coefficient of two binary masks of the same shape (any number of dims).

    Returns :data:`EMPTY_DICE` when both masks are empty.
    """
    if isinstance(pred, torch.Tensor):
        p, t = pred.bool(), target.bool()
        inter = int((p & t).sum())
        total = int(p.sum()) + int(t.sum())
    else:
        p, t = np.asarray(pred, bool), np.asarray(target, bool)
        inter = int(np.count_nonzero(p & t))
        total = int(np.count_nonzero(p)) + int(np.count_nonzero(t))
    if p.shape != t.shape:
        raise ValueError(
            f"prediction shape {tuple(p.shape)} differs from target shape {tuple(t.shape)}"
        )
    return EMPTY_DICE if total == 0 else 2.0 * inter / total


# --------------------------------------------------------------------------- 3D case metrics
#
# Empty-mask rules (one table, used by `lungnet evaluate`, the report and the tests):
#
#   prediction / ground truth   dice, iou   precision   recall   nsd_2mm   hd95, assd
#   both empty                  1.0         1.0         1.0      1.0       NaN
#   prediction empty only       0.0         NaN         0.0      0.0       NaN
#   ground truth empty only     0.0         0.0         NaN      0.0       NaN
#
# NaN means "undefined" (0/0, or a distance to an empty surface): it is written as an
# empty CSV cell and null in JSON, and summaries skip it, never count it as 0.
# NSD follows the Dice rule on both-empty (MONAI returns NaN there) so that a
# tumor-free case predicted tumor-free scores 1 on every overlap-type score.

#: Tolerance of the normalized surface Dice, in mm.
NSD_TOLERANCE_MM = 2.0

#: Percentile of the robust Hausdorff distance.
HD_PERCENTILE = 95.0


@dataclass(frozen=True)
class CaseMetrics:
    """Overlap and surface-distance metrics of one 3D case.

    Distances are in mm; undefined values are ``nan`` (see the table above).
    """

    dice: float
    iou: float
    precision: float
    recall: float
    hd95_mm: float
    assd_mm: float
    nsd_2mm: float
    volume_pred_ml: float
    volume_gt_ml: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _binary(mask: np.ndarray, name: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"{name} must be a 3D (X, Y, Z) mask, got shape {mask.shape}")
    return binarize(mask)


def _check_spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(s) for s in spacing)
    if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"spacing must be three positive numbers in mm, got {spacing}")
    return values  # type: ignore[return-value]


def overlap_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Dice, IoU, precision and recall of two binary masks, with the empty-mask rules.

    Args:
        pred: predicted mask, any shape, bool or {0, 1}.
        gt: ground-truth mask, same shape.

    Returns:
        ``{"dice", "iou", "precision", "recall"}`` as floats (``nan`` where undefined).
    """
    p, t = np.asarray(pred, bool), np.asarray(gt, bool)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from ground-truth shape {t.shape}")
    tp = int(np.count_nonzero(p & t))
    n_pred, n_gt = int(np.count_nonzero(p)), int(np.count_nonzero(t))
    if n_pred == 0 and n_gt == 0:
        return {"dice": EMPTY_DICE, "iou": EMPTY_DICE, "precision": 1.0, "recall": 1.0}
    union = n_pred + n_gt - tp
    return {
        "dice": 2.0 * tp / (n_pred + n_gt),
        "iou": tp / union,
        "precision": tp / n_pred if n_pred else math.nan,
        "recall": tp / n_gt if n_gt else math.nan,
    }


def surface_distances(
    pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Distances in mm from each surface voxel of one mask to the other mask's surface.

    Surfaces and distances come from MONAI (``get_mask_edges``: voxels removed by a
    6-connected erosion, after cropping to the union's bounding box;
    ``get_surface_distance``: exact Euclidean distance with the voxel spacing), the
    building blocks of its Hausdorff, average-surface-distance and surface-Dice
    metrics. Calling them once here instead of calling those three metrics costs one
    edge extraction and one distance query per direction instead of three.

    Args:
        pred: ``(X, Y, Z)`` binary mask.
        gt: ``(X, Y, Z)`` binary mask.
        spacing: voxel size in mm along the three axes.

    Returns:
        ``(pred_to_gt, gt_to_pred)``: 1D float arrays in mm. Both are empty when a mask is
        empty (distances to an empty surface are undefined).
    """
    from monai.metrics.utils import get_mask_edges, get_surface_distance

    p, t = _binary(pred, "prediction"), _binary(gt, "ground truth")
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from ground-truth shape {t.shape}")
    sp = _check_spacing(spacing)
    if not p.any() or not t.any():
        return np.zeros(0, np.float64), np.zeros(0, np.float64)
    edges_p, edges_t = get_mask_edges(p, t, crop=True)
    d_pt = np.asarray(get_surface_distance(edges_p, edges_t, "euclidean", sp), np.float64)
    d_tp = np.asarray(get_surface_distance(edges_t, edges_p, "euclidean", sp), np.float64)
    return d_pt, d_tp


def hd95_mm(pred_to_gt: np.ndarray, gt_to_pred: np.ndarray) -> float:
    """MONAI's HD95: the larger of the two directed 95th percentiles (linear interpolation)."""
    if pred_to_gt.size == 0 or gt_to_pred.size == 0:
        return math.nan
    return float(
        max(np.percentile(pred_to_gt, HD_PERCENTILE), np.percentile(gt_to_pred, HD_PERCENTILE))
    )


def assd_mm(pred_to_gt: np.ndarray, gt_to_pred: np.ndarray) -> float:
    """Average symmetric surface distance: the mean over both directions' surface voxels."""
    if pred_to_gt.size == 0 or gt_to_pred.size == 0:
        return math.nan
    return float(np.concatenate([pred_to_gt, gt_to_pred]).mean())


def nsd(
    pred_to_gt: np.ndarray, gt_to_pred: np.ndarray, tolerance_mm: float = NSD_TOLERANCE_MM
) -> float:
    """Normalized surface Dice: the share of both surfaces within ``tolerance_mm`` of the other.

    Callers apply the empty-mask rules; with one empty surface the score is 0.
    """
    total = pred_to_gt.size + gt_to_pred.size
    if total == 0:
        return EMPTY_DICE
    if pred_to_gt.size == 0 or gt_to_pred.size == 0:
        return 0.0
    close = np.count_nonzero(pred_to_gt <= tolerance_mm) + np.count_nonzero(
        gt_to_pred <= tolerance_mm
    )
    return float(close / total)


def case_metrics(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float]) -> CaseMetrics:
    """All 3D metrics of one case.

    Args:
        pred: ``(X, Y, Z)`` predicted mask, bool or {0, 1} (lungnet.masks.binarize).
        gt: ``(X, Y, Z)`` ground-truth mask on the same voxel grid.
        spacing: voxel size in mm along the three axes.

    Returns:
        :class:`CaseMetrics`, distances in mm and volumes in mL, ``nan`` where undefined.
    """
    p, t = _binary(pred, "prediction"), _binary(gt, "ground truth")
    sp = _check_spacing(spacing)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from ground-truth shape {t.shape}")
    box = foreground_box(p, t, margin=1)  # one background voxel keeps border surfaces
    if box is not None:
        p, t = p[box], t[box]
    overlap = overlap_metrics(p, t)
    d_pt, d_tp = surface_distances(p, t, sp)
    n_pred, n_gt = int(np.count_nonzero(p)), int(np.count_nonzero(t))
    if n_pred == 0 and n_gt == 0:
        surface_dice = EMPTY_DICE
    elif n_pred == 0 or n_gt == 0:
        surface_dice = 0.0
    else:
        surface_dice = nsd(d_pt, d_tp)
    voxel_ml = float(np.prod(sp)) / 1000.0
    return CaseMetrics(
        dice=overlap["dice"],
        iou=overlap["iou"],
        precision=overlap["precision"],
        recall=overlap["recall"],
        hd95_mm=hd95_mm(d_pt, d_tp),
        assd_mm=assd_mm(d_pt, d_tp),
        nsd_2mm=surface_dice,
        volume_pred_ml=n_pred * voxel_ml,
        volume_gt_ml=n_gt * voxel_ml,
    )
