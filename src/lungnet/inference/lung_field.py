"""The lung field of a chest CT, found from the scan's own Hounsfield units.

Post-processing keeps a predicted tumor only where it overlaps or touches the lungs
(:mod:`lungnet.inference.postprocess`): lung tumors grow in the lung, against the pleura,
or from the hilum into it, while the look-alikes a slice model is fooled by outside the
chest (gas in the bowel, the edge of the stomach) do not touch it.

The rule, on a copy coarsened to about 3 mm voxels (it only has to be right at the scale of
a tumor, and labelling 512 x 512 x 300 voxels costs seconds):

1. air-like voxels: below -400 HU (aerated lung is -950 to -600, soft tissue above -100);
2. their 6-connected components;
3. air outside the body is dropped: components that reach the in-plane border of the scan
   and are nearly pure air (mean below -950 HU). A scan cropped tight around the chest
   keeps its lungs, which reach the border too but hold parenchyma and vessels (the shared
   cropped chest CT's lung component averages -781 HU, the air around the abdomen of the
   shared DICOM series -980 HU);
4. the lungs are the remaining components of at least :data:`MIN_LUNG_ML` and at least a
   fifth of the largest: both lungs together hold litres, while bowel and stomach gas
   pockets hold millilitres (13 and 17 mL in the shared upper-abdomen series);
5. holes are filled slice by slice, so that vessels and tumors inside the lung are in it,
   and the field is grown by :data:`TOUCH_MM`, so that a tumor against the chest wall or
   the mediastinum touches it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["AIR_HU", "OUTSIDE_AIR_MEAN_HU", "MIN_LUNG_ML", "TOUCH_MM", "lung_field"]

AIR_HU = -400.0
OUTSIDE_AIR_MEAN_HU = -950.0
MIN_LUNG_ML = 50.0
TOUCH_MM = 6.0
_COARSE_MM = 3.0


def _strides(spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    return tuple(max(1, int(round(_COARSE_MM / max(float(s), 1e-6)))) for s in spacing)


def lung_field(hu: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Boolean mask of the lungs (holes filled, grown by :data:`TOUCH_MM`), on ``hu``'s grid.

    Args:
        hu: ``(X, Y, Z)`` Hounsfield units, axial slices along the last axis.
        spacing: voxel size in mm along X, Y, Z.

    Returns:
        Boolean array of ``hu``'s shape; all False when no lung is in the scan.
    """
    strides = _strides(spacing)
    coarse = np.asarray(hu[:: strides[0], :: strides[1], :: strides[2]], dtype=np.float32)
    coarse_spacing = tuple(float(s) * k for s, k in zip(spacing, strides, strict=True))
    air = coarse < AIR_HU
    labels, count = ndimage.label(air)
    field = np.zeros(hu.shape, bool)
    if count == 0:
        return field
    index = np.arange(1, count + 1)
    voxel_ml = float(np.prod(coarse_spacing)) / 1000.0
    volume_ml = np.bincount(labels.ravel(), minlength=count + 1)[1:] * voxel_ml
    mean_hu = np.asarray(ndimage.mean(coarse, labels, index))
    border = np.zeros(count + 1, bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        border[np.unique(edge)] = True
    outside = border[1:] & (mean_hu < OUTSIDE_AIR_MEAN_HU)
    inside_volume = np.where(outside, 0.0, volume_ml)
    largest = float(inside_volume.max())
    keep = (inside_volume >= MIN_LUNG_ML) & (inside_volume >= 0.2 * largest)
    if not keep.any():
        return field
    lungs = np.concatenate([[False], keep])[labels]
    for k in range(lungs.shape[2]):
        lungs[:, :, k] = ndimage.binary_fill_holes(lungs[:, :, k])
    grow = [max(1, int(np.ceil(TOUCH_MM / s))) for s in coarse_spacing]
    ball = _ellipsoid(grow, coarse_spacing)
    lungs = ndimage.binary_dilation(lungs, structure=ball)
    # Back to the full grid: each coarse voxel covers a strides-sized block.
    full = lungs.repeat(strides[0], 0).repeat(strides[1], 1).repeat(strides[2], 2)
    field[...] = full[: hu.shape[0], : hu.shape[1], : hu.shape[2]]
    return field


def _ellipsoid(radius: list[int], spacing: tuple[float, ...]) -> np.ndarray:
    """Boolean ball of :data:`TOUCH_MM` in mm, on a grid of ``radius`` voxels per axis."""
    axes = [np.arange(-r, r + 1) * s for r, s in zip(radius, spacing, strict=True)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    return x**2 + y**2 + z**2 <= TOUCH_MM**2 + 1e-6
