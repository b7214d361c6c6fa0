"""Where the lungs are in a chest CT, found from the scan's own Hounsfield units.

One rule serves two users: tumor insertion into real scans
(:mod:`lungnet.synthetic.insert`) places tumors inside :func:`lung_regions`, and
post-processing (:mod:`lungnet.inference.postprocess`) keeps a predicted tumor only where
it overlaps or touches :func:`lung_field`: lung tumors grow in the lung, against the
pleura, or from the hilum into it, while the look-alikes a slice model is fooled by below
the diaphragm (gas in the bowel or the stomach) do not touch it.

The rule: the lungs are the connected regions below :data:`AIR_HU` (on a lightly smoothed
scan) of at least :data:`MIN_LUNG_ML` whose median lies at lung density (-950 to -500 HU).
The median leaves out the air around the body (-1000 HU) even where the field of view is
cropped tight around the chest and the lungs reach its edge; the volume leaves out gas
pockets of the bowel and stomach (13 and 17 mL in the shared upper-abdomen series, whose
partial-volume edges bring their mean near lung density).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["AIR_HU", "LUNG_MEDIAN_HU", "MIN_LUNG_ML", "TOUCH_MM", "lung_field", "lung_regions"]

AIR_HU = -400.0
LUNG_MEDIAN_HU = (-950.0, -500.0)
MIN_LUNG_ML = 30.0
#: How far from the lungs a tumor may lie and still touch them (partial volume at the pleura).
TOUCH_MM = 6.0
# The lung field is found on a copy coarsened to about this voxel size: it only has to be
# right at the scale of a tumor, and labelling 512 x 512 x 300 voxels costs seconds.
_COARSE_MM = 3.0


def lung_regions(hu: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Boolean mask of the aerated lungs (vessels and tumors inside them not included).

    Args:
        hu: ``(X, Y, Z)`` Hounsfield units, axial slices along the last axis.
        spacing: voxel size in mm along X, Y, Z.
    """
    smooth = ndimage.uniform_filter(np.asarray(hu, np.float32), 3)
    low = smooth < AIR_HU
    components, count = ndimage.label(low)
    lung = np.zeros(low.shape, bool)
    if count == 0:
        return lung
    index = np.arange(1, count + 1)
    voxel_ml = float(np.prod(spacing)) / 1000
    sizes = ndimage.sum_labels(low, components, index) * voxel_ml
    large = index[sizes >= MIN_LUNG_ML]
    if len(large):
        medians = ndimage.median(hu, components, large)
        keep = np.zeros(count + 1, bool)
        keep[large] = (np.asarray(medians) > LUNG_MEDIAN_HU[0]) & (
            np.asarray(medians) < LUNG_MEDIAN_HU[1]
        )
        lung = keep[components]
    return lung


def lung_field(hu: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """The lungs with their holes filled slice by slice, grown by :data:`TOUCH_MM`.

    Vessels and tumors inside the lung are in the field, and so is a tumor against the
    chest wall or the mediastinum. Found on a copy coarsened to about 3 mm voxels.

    Returns:
        Boolean array of ``hu``'s shape; all False when no lung is in the scan.
    """
    strides = tuple(max(1, int(round(_COARSE_MM / max(float(s), 1e-6)))) for s in spacing)
    coarse = np.asarray(hu[:: strides[0], :: strides[1], :: strides[2]], dtype=np.float32)
    coarse_spacing = tuple(float(s) * k for s, k in zip(spacing, strides, strict=True))
    lungs = lung_regions(coarse, coarse_spacing)
    field = np.zeros(hu.shape, bool)
    if not lungs.any():
        return field
    for k in range(lungs.shape[2]):
        if lungs[:, :, k].any():
            lungs[:, :, k] = ndimage.binary_fill_holes(lungs[:, :, k])
    radius = [max(1, int(np.ceil(TOUCH_MM / s))) for s in coarse_spacing]
    axes = [np.arange(-r, r + 1) * s for r, s in zip(radius, coarse_spacing, strict=True)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    lungs = ndimage.binary_dilation(lungs, structure=x**2 + y**2 + z**2 <= TOUCH_MM**2 + 1e-6)
    # Back to the full grid: each coarse voxel covers a strides-sized block.
    full = lungs.repeat(strides[0], 0).repeat(strides[1], 1).repeat(strides[2], 2)
    field[...] = full[: hu.shape[0], : hu.shape[1], : hu.shape[2]]
    return field
