"""Whether two volumes lie on one voxel grid: the same shape and the same affine.

A mask, a probability map or a label only overlays its scan when both hold; every pairing
of volumes (image and label, prediction and ground truth, scan and mask) checks it here,
with one tolerance.
"""

from __future__ import annotations

import numpy as np

from lungnet.errors import LungNetInputError
from lungnet.io.volume import CTVolume

__all__ = ["GRID_ATOL_MM", "affines_match", "same_grid", "check_same_grid"]

#: Affines may differ by this many mm: float32 header round-off is ~1e-5, a real
#: misregistration is at least a fraction of a voxel.
GRID_ATOL_MM = 1e-3


def affines_match(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two voxel-to-world affines agree within :data:`GRID_ATOL_MM`."""
    return bool(np.allclose(a, b, atol=GRID_ATOL_MM))


def same_grid(a: CTVolume, b: CTVolume) -> bool:
    """True when ``a`` and ``b`` have the same canonical shape and affine (within tolerance)."""
    return a.shape == b.shape and affines_match(a.affine, b.affine)


def check_same_grid(volume: CTVolume, reference: CTVolume, reference_role: str = "scan") -> None:
    """Refuse ``volume`` unless it lies on ``reference``'s grid.

    Args:
        volume: the mask (or any volume) to check, as read by :func:`lungnet.io.read_ct`.
        reference: the volume it must match.
        reference_role: what ``reference`` is, for the message ("scan", "ground truth", ...).

    Raises:
        LungNetInputError: naming ``volume``'s file and printing both values.
    """
    if volume.shape != reference.shape:
        raise LungNetInputError(
            volume.source,
            f"shape {volume.shape} differs from {reference_role} {reference.source} "
            f"shape {reference.shape}",
        )
    if not affines_match(volume.affine, reference.affine):
        a, b = np.round(volume.affine, 4).tolist(), np.round(reference.affine, 4).tolist()
        raise LungNetInputError(
            volume.source, f"affine {a} differs from {reference_role} {reference.source} affine {b}"
        )
