"""Figures and the shared display conventions (colormaps, lung window, orientation)."""

from lungnet.viz.visualization import (
    CT_CMAP,
    GT_ALPHA,
    GT_CMAP,
    LUNG_WINDOW_HU,
    PROB_CMAP,
    sample_figure,
    to_radiological,
)

__all__ = [
    "CT_CMAP",
    "GT_ALPHA",
    "GT_CMAP",
    "LUNG_WINDOW_HU",
    "PROB_CMAP",
    "sample_figure",
    "to_radiological",
]
