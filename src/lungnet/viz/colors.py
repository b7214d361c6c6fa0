"""The mask colours shared by the report's pictures and its HTML page."""

from __future__ import annotations

from matplotlib import colormaps

from lungnet.viz.visualization import GT_CMAP, PROB_CMAP

__all__ = ["GT_COLOR", "PRED_COLOR"]

#: Outline colour of the predicted mask: the probability heatmap's colour for 1.0.
PRED_COLOR = tuple(float(c) for c in colormaps[PROB_CMAP](1.0)[:3])
#: Outline colour of the ground truth: its colormap's colour for 1.0 (a mask value).
GT_COLOR = tuple(float(c) for c in colormaps[GT_CMAP](1.0)[:3])
