"""Settings planned from the dataset itself: the pixel size of spacing-aware slices.

nnU-Net plans its target spacing from the training set's median; for a 2D network of a
fixed input size the matching choice is the pixel size at which the median field of view
just fills the input, so typical scans are neither cropped nor shrunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["field_of_view_mm", "planned_pixel_mm"]


def field_of_view_mm(path: str | Path) -> float:
    """The larger in-plane extent (mm) of a NIfTI scan, from its header alone.

    In-plane means the canonical x and y axes (patient left-right and front-back), found from
    the affine, so a file stored in another axis order gives the same answer.
    """
    import nibabel as nib

    image = nib.load(str(path))
    axes = nib.orientations.io_orientation(image.affine)[:, 0].astype(int)
    zooms = image.header.get_zooms()[:3]
    extent = {int(axes[i]): image.shape[i] * float(zooms[i]) for i in range(3)}
    return max(extent[0], extent[1])


def planned_pixel_mm(images: Sequence[str | Path], target_size: tuple[int, int]) -> float:
    """Pixel size (mm) at which the median field of view of ``images`` fills ``target_size``."""
    if not images:
        raise ValueError("planning the pixel size needs at least one training image")
    median = float(np.median([field_of_view_mm(p) for p in images]))
    return round(median / max(target_size), 4)
