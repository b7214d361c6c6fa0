"""Segmentation metrics: Dice for monitoring during training and 3D metrics per case.

Empty-mask rule, used everywhere in LungNet: when prediction and ground truth are
both empty, Dice (and IoU) is 1.0, because predicting "no tumor" for a tumor-free
case is exactly right.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["dice_score", "EMPTY_DICE"]

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
        raise ValueError(f"prediction shape {tuple(p.shape)} differs from target shape {tuple(t.shape)}")
    return EMPTY_DICE if total == 0 else 2.0 * inter / total
