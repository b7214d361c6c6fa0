"""Shared display conventions and the three-panel sample figure logged to TensorBoard.

Every LungNet picture uses these: CT in the ``bone`` colormap, ground truth as an
``autumn`` overlay, predicted probabilities as a heatmap, shown in the radiological
convention (patient's right on the image's left, anterior at the top).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "CT_CMAP",
    "GT_CMAP",
    "PROB_CMAP",
    "GT_ALPHA",
    "LUNG_WINDOW_HU",
    "to_radiological",
    "sample_figure",
]

#: Colormap of CT intensities.
CT_CMAP = "bone"
#: Colormap of the ground-truth overlay (drawn only where the mask is 1).
GT_CMAP = "autumn"
#: Colormap of predicted tumor probabilities in [0, 1].
PROB_CMAP = "jet"
#: Opacity of mask overlays on the CT.
GT_ALPHA = 0.5
#: Lung window (low, high) in HU: width 1500, level -600.
LUNG_WINDOW_HU = (-1350.0, 150.0)


def to_radiological(slice_xy: np.ndarray) -> np.ndarray:
    """Canonical ``(X, Y)`` slice -> ``(rows, cols)`` image in radiological orientation.

    Canonical RAS: index along axis 0 grows toward the patient's right, along axis 1
    toward anterior. Radiological display puts the patient's right on the image's left
    (columns grow toward the patient's left, so x is reversed) and anterior at the top
    (rows grow toward posterior, so y is reversed): ``image[r, c] = slice[X-1-c, Y-1-r]``.
    (``np.flipud(slice.T)`` alone would keep the patient's right on the image's right,
    which is the neurological convention.)

    Args:
        slice_xy: ``(X, Y)`` array (any dtype).

    Returns:
        ``(Y, X)`` view of the same data.
    """
    a = np.asarray(slice_xy)
    if a.ndim != 2:
        raise ValueError(f"expected a 2D (X, Y) slice, got shape {a.shape}")
    return a.T[::-1, ::-1]


def sample_figure(
    image_xy: np.ndarray,
    mask_xy: np.ndarray,
    prob_xy: np.ndarray,
    title: str | None = None,
    window: tuple[float, float] | None = None,
) -> Figure:
    """Three panels: CT slice (bone), ground truth over the CT (autumn), prediction heatmap.

    Args:
        image_xy: ``(X, Y)`` float CT slice (HU or normalized intensities).
        mask_xy: ``(X, Y)`` ground truth in {0, 1}.
        prob_xy: ``(X, Y)`` tumor probabilities in [0, 1].
        title: figure title (e.g. case and slice).
        window: ``(low, high)`` display range of ``image_xy`` (e.g. :data:`LUNG_WINDOW_HU`
            for HU); None stretches to the slice's own range.

    Returns:
        A matplotlib Figure, not registered with pyplot (``fig.savefig(path)`` or
        TensorBoard's ``add_figure`` render it).
    """
    image = to_radiological(np.asarray(image_xy, dtype=np.float32))
    mask = to_radiological(np.asarray(mask_xy) > 0)
    prob = to_radiological(np.asarray(prob_xy, dtype=np.float32))
    vmin, vmax = window if window is not None else (float(image.min()), float(image.max()))
    # A bare Figure (no pyplot): no GUI backend is touched and nothing needs closing.
    fig = Figure(figsize=(9.6, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].imshow(image, cmap=CT_CMAP, vmin=vmin, vmax=vmax)
    axes[0].set_title("CT")
    axes[1].imshow(image, cmap=CT_CMAP, vmin=vmin, vmax=vmax)
    axes[1].imshow(
        np.ma.masked_where(~mask, mask.astype(np.float32)),
        cmap=GT_CMAP,
        alpha=GT_ALPHA,
        vmin=0,
        vmax=1,
    )
    axes[1].set_title("ground truth")
    heat = axes[2].imshow(prob, cmap=PROB_CMAP, vmin=0.0, vmax=1.0)
    axes[2].set_title("prediction")
    fig.colorbar(heat, ax=axes[2], shrink=0.8)
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig
