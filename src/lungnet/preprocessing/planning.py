"""Settings planned from the dataset itself: the pixel size of spacing-aware slices.

nnU-Net plans its target spacing from the training set's median; for a 2D network of a
fixed input size the matching choice is the pixel size at which the median field of view
just fills the input, so typical scans are neither cropped nor shrunk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lungnet.errors import LungNetInputError

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
    """Pixel size (mm) at which the median field of view of ``images`` fills ``target_size``.

    An image whose header cannot be read is left out here; preprocessing reports it in its
    own line when it reaches that case.

    Raises:
        LungNetInputError: no image header could be read.
    """
    import nibabel as nib

    fields = []
    for path in images:
        with contextlib.suppress(OSError, ValueError, EOFError, nib.filebasedimages.ImageFileError):
            fields.append(field_of_view_mm(path))
    if not fields:
        where = Path(images[0]).parent if images else Path(".")
        raise LungNetInputError(
            where, "no training image header could be read to plan --pixel-mm auto"
        )
    return round(float(np.median(fields)) / max(target_size), 4)
