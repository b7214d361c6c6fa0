"""The one preprocessing implementation shared by training and inference: clip z, resize, normalize.

With ``pixel_mm`` set (spacing-aware slices) the resize goes to the slice's size at that
pixel size, and the result is cropped or padded with air around its centre to the network's
``target_size`` (:class:`SliceGeometry`); restoring the probabilities undoes both.

Training slices are made by :func:`preprocess_image` / :func:`preprocess_mask`; inference
runs the same :func:`preprocess_image` with the config stored in the checkpoint and maps
the network's probabilities back with :func:`restore_probabilities`. No other copy of
this arithmetic exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lungnet.masks import THRESHOLD
from lungnet.preprocessing.config import PreprocessConfig

if TYPE_CHECKING:
    import torch

#: The left-right axis of a ``(..., H, W)`` batch of slices: ``H`` runs along the canonical
#: (RAS) volume's first axis, the patient's left-right (see :func:`preprocess_image`).
LEFT_RIGHT_DIM = -2

__all__ = [
    "LEFT_RIGHT_DIM",
    "PLANES_PER_BLOCK",
    "PreprocessConfig",
    "SliceGeometry",
    "slice_geometry",
    "context_indices",
    "kept_slices",
    "linear_weights",
    "nearest_indices",
    "network_intensity",
    "normalize",
    "pad_intensity",
    "preprocess_image",
    "preprocess_mask",
    "array_planes",
    "preprocessed_image_blocks",
    "preprocessed_plane_blocks",
    "restore_probabilities",
]


def kept_slices(num_slices: int, config: PreprocessConfig) -> slice:
    """The z range kept after dropping the ``clip_slices_min`` most inferior slices."""
    return slice(min(config.clip_slices_min, num_slices), num_slices)


def normalize(hu: np.ndarray | torch.Tensor, config: PreprocessConfig) -> np.ndarray | torch.Tensor:
    """Map HU to network intensities (float32), as the config says; numpy or torch in, same out."""
    if config.normalization == "scale":
        return hu / float(config.hu_divisor)
    low, high = config.hu_window  # type: ignore[misc]
    clipped = np.clip(hu, low, high) if isinstance(hu, np.ndarray) else hu.clamp(low, high)
    return (clipped - low) / (high - low)


#: HU that padding stands for: air, as around a patient.
PAD_HU = -1000.0


def network_intensity(hu: float, config: PreprocessConfig) -> float:
    """The network intensity of ``hu`` under ``config``'s normalization."""
    return float(normalize(np.array([hu], np.float32), config)[0])


def pad_intensity(config: PreprocessConfig) -> float:
    """The network intensity of :data:`PAD_HU` under ``config``'s normalization."""
    return network_intensity(PAD_HU, config)


@dataclass(frozen=True)
class SliceGeometry:
    """Where a scan's resized slice lies on the network's ``target_size`` canvas.

    Attributes:
        size: ``(H, W)``, the network's ``target_size``.
        resized: ``(H', W')`` the slice is resized to first.
        source: the part of the resized slice that is kept (all of it, unless cropped).
        canvas: where that part goes on the ``target_size`` canvas (all of it, unless padded).
    """

    size: tuple[int, int]
    resized: tuple[int, int]
    source: tuple[slice, slice]
    canvas: tuple[slice, slice]

    @property
    def is_plain_resize(self) -> bool:
        """The resized slice is the canvas: nothing cropped, nothing padded."""
        whole = tuple(slice(0, n) for n in self.size)
        return self.resized == self.size and self.source == whole and self.canvas == whole


def slice_geometry(
    shape_xy: tuple[int, int], spacing_xy: tuple[float, float] | None, config: PreprocessConfig
) -> SliceGeometry:
    """The :class:`SliceGeometry` of a scan with in-plane ``shape_xy`` voxels of ``spacing_xy`` mm.

    Raises:
        ValueError: ``config.pixel_mm`` is set and no spacing is given.
    """
    target = config.target_size
    if config.pixel_mm is None:
        whole = (slice(0, target[0]), slice(0, target[1]))
        return SliceGeometry(target, target, whole, whole)
    if spacing_xy is None:
        raise ValueError("spacing-aware slices (pixel_mm) need the scan's voxel spacing")
    resized = tuple(
        max(1, int(round(n * float(s) / config.pixel_mm)))
        for n, s in zip(shape_xy, spacing_xy, strict=True)
    )
    source, canvas = [], []
    for have, want in zip(resized, target, strict=True):
        if have >= want:  # crop the centre
            start = (have - want) // 2
            source.append(slice(start, start + want))
            canvas.append(slice(0, want))
        else:  # pad around it
            start = (want - have) // 2
            source.append(slice(0, have))
            canvas.append(slice(start, start + have))
    return SliceGeometry(target, resized, tuple(source), tuple(canvas))


# Slices decoded and converted at a time, so no full-resolution float copy of a volume ever
# exists. Eight 512 x 512 planes, stored and as float32, are about 12 MB, so two workers'
# blocks can share the CPU cache (the likely reason, not measured directly). Against 16,
# two workers ran 1.17x faster (median 2.39 s against 2.79 s for 4 MSD-sized cases) and one
# worker as fast (4.46 s against 4.47 s); 4 and 2 were no faster with two workers and
# slower with one
# (benchmarks/results/block_size_bench_msd_sized.json).
PLANES_PER_BLOCK = 8


def _to_hu(stored: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """``stored * slope + intercept`` in float32 (in place when float32), as ``read_ct`` scales."""
    hu = stored if stored.dtype == np.float32 else stored.astype(np.float32)
    if slope != 1.0:
        hu *= np.float32(slope)
    if intercept != 0.0:
        hu += np.float32(intercept)
    return hu


def linear_weights(
    in_size: int, out_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Indices and weights of a linear resize along one axis: ``out = w0 * x[i0] + w1 * x[i1]``.

    Pixel centres are aligned (``align_corners=False``, no antialiasing), and the weights
    are torch's ``F.interpolate(mode="bilinear")`` weights bit for bit (its source
    position is one fused multiply-add, computed here in float64 and rounded once).

    Returns:
        ``(i0, i1, w0, w1)``: int64 indices and float32 weights, one per output pixel.
    """
    if in_size == out_size:
        same = np.arange(in_size)
        return same, same, np.ones(in_size, np.float32), np.zeros(in_size, np.float32)
    scale = np.float32(in_size) / np.float32(out_size)
    position = (np.float64(scale) * (np.arange(out_size) + 0.5) - 0.5).astype(np.float32)
    position = np.maximum(position, np.float32(0))
    i0 = np.minimum(np.floor(position).astype(np.int64), in_size - 1)
    i1 = i0 + (i0 < in_size - 1)
    w1 = np.clip(position - i0.astype(np.float32), 0, 1).astype(np.float32)
    return i0, i1, np.float32(1) - w1, w1


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """Source index of each output pixel of a ``nearest-exact`` resize along one axis.

    The pixels torch's ``F.interpolate(..., mode="nearest-exact")`` picks (its float32
    scale and rounding), so a mask is resized by indexing only the pixels it keeps.
    """
    scale = np.float32(in_size) / np.float32(out_size)
    position = ((np.arange(out_size) + 0.5) * np.float64(scale)).astype(np.float32)
    return np.minimum(np.floor(position).astype(np.int64), in_size - 1)


def _as_slice(indices: np.ndarray) -> slice | np.ndarray:
    """Evenly spaced indices as the equivalent slice (a view: ten times faster to gather)."""
    if len(indices) > 1:
        step = int(indices[1] - indices[0])
        if step > 0 and np.array_equal(np.diff(indices), np.full(len(indices) - 1, step)):
            return slice(int(indices[0]), int(indices[-1]) + 1, step)
    elif len(indices) == 1:
        return slice(int(indices[0]), int(indices[0]) + 1)
    return indices


def _linear_pass(planes: np.ndarray, axis: int, out_size: int, out: np.ndarray) -> np.ndarray:
    """Resize float32 ``planes`` linearly along ``axis`` (1 or 2) into ``out`` (returned)."""
    if planes.shape[axis] == out_size:
        np.copyto(out, planes)
        return out
    i0, i1, w0, w1 = linear_weights(planes.shape[axis], out_size)
    pick = [slice(None)] * 3
    pick[axis] = _as_slice(i0)
    first = planes[tuple(pick)]
    pick[axis] = _as_slice(i1)
    second = planes[tuple(pick)]
    if np.all(w0 == 0.5) and np.all(w1 == 0.5):
        # Halving (512 -> 256): a * 0.5 + b * 0.5 == (a + b) * 0.5 bit for bit, as
        # scaling by a power of two is exact; one multiplication instead of two.
        np.add(first, second, out=out)
        out *= np.float32(0.5)
        return out
    shape = [1, 1, 1]
    shape[axis] = out_size
    np.multiply(first, w0.reshape(shape), out=out)
    out += second * w1.reshape(shape)
    return out


class _ChunkResizer:
    """Linear resize of ``(n <= chunk, A, B)`` float32 planes to ``(n, *size)``, along B then A
    (the order of torch's bilinear kernel, with its weights: :func:`linear_weights`).

    The buffers are made once per volume: fresh memory for every chunk costs more in page
    faults than the arithmetic.
    """

    def __init__(self, chunk: int, in_size: tuple[int, int], size: tuple[int, int]) -> None:
        self.size = size
        self.stored = np.empty((chunk, *in_size), np.float32)
        self.half = np.empty((chunk, in_size[0], size[1]), np.float32)
        self.small = np.empty((chunk, *size), np.float32)

    def __call__(self, planes: np.ndarray) -> np.ndarray:
        n = len(planes)
        half = _linear_pass(planes, 2, self.size[1], self.half[:n])
        return _linear_pass(half, 1, self.size[0], self.small[:n])


def preprocess_image(
    volume_xyz: np.ndarray,
    config: PreprocessConfig,
    *,
    slope: float = 1.0,
    intercept: float = 0.0,
    spacing: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Canonical CT volume -> normalized, resized slices.

    The cheap order: the kept slices are resized (linearly, as torch's ``bilinear`` with
    ``align_corners=False``) while they hold the file's stored values, and only the small
    result is scaled to HU and normalized. The ``"window"`` rule clips HU, which does not
    commute with interpolation, so there HU are clipped first. Slices are converted to
    float32 a block (:data:`PLANES_PER_BLOCK`) at a time: an int16 volume never gets a
    full-resolution float copy.

    Args:
        volume_xyz: ``(X, Y, Z)`` volume in canonical RAS order: HU (``CTVolume.array``)
            or the file's stored values, any real dtype, any memory order.
        config: the preprocessing config.
        slope, intercept: HU = stored * slope + intercept (the NIfTI scaling; the
            defaults for a volume already in HU).
        spacing: voxel size in mm (X, Y[, Z]); needed for spacing-aware slices.

    Returns:
        ``(Z - clip, H, W)`` float32 slices, slice ``i`` coming from z index ``clip + i``.
    """
    num_kept = len(range(volume_xyz.shape[2])[kept_slices(volume_xyz.shape[2], config)])
    out = np.empty((num_kept, *config.target_size), np.float32)
    for start, block in preprocessed_image_blocks(
        volume_xyz, config, slope=slope, intercept=intercept, spacing=spacing
    ):
        out[start : start + len(block)] = block
    return out


def preprocessed_image_blocks(
    volume_xyz: np.ndarray,
    config: PreprocessConfig,
    *,
    slope: float = 1.0,
    intercept: float = 0.0,
    spacing: tuple[float, ...] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """:func:`preprocess_image`, a block of slices at a time, for writers that need no whole stack.

    Yields:
        ``(i, block)``: ``block`` is slices ``i, i + 1, ...`` as a C-ordered ``(n, H, W)``
        float32 array. Its memory is reused for the next block: write or copy it first.
    """
    volume_xyz = np.asarray(volume_xyz)
    yield from preprocessed_plane_blocks(
        array_planes(volume_xyz, PLANES_PER_BLOCK),
        volume_xyz.shape,
        config,
        slope=slope,
        intercept=intercept,
        spacing=spacing,
    )


def array_planes(volume_xyz: np.ndarray, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(z, planes)``: ``chunk`` canonical slices at a time as ``(n, Y, X)`` views."""
    for start in range(0, volume_xyz.shape[2], chunk):
        # (Z, Y, X) is the memory order of the Fortran-ordered arrays NIfTI files hold.
        yield start, volume_xyz[:, :, start : start + chunk].transpose(2, 1, 0)


def preprocessed_plane_blocks(
    planes: Iterable[tuple[int, np.ndarray]],
    shape_xyz: tuple[int, ...],
    config: PreprocessConfig,
    *,
    slope: float = 1.0,
    intercept: float = 0.0,
    spacing: tuple[float, ...] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """:func:`preprocessed_image_blocks` of a volume that arrives as blocks of planes.

    A volume can then be preprocessed while it is decoded (:mod:`lungnet.preprocessing.stored`),
    never held whole.

    Args:
        planes: ``(z, planes)`` pairs covering the canonical z range once, in any order:
            ``planes`` is ``(n <= PLANES_PER_BLOCK, Y, X)``, canonical slices ``z, z + 1, ...``.
        shape_xyz: the canonical ``(X, Y, Z)`` shape of the whole volume.
        config, slope, intercept, spacing: as :func:`preprocess_image`.

    Yields:
        ``(i, block)`` as :func:`preprocessed_image_blocks`: kept slices ``i, i + 1, ...``.
    """
    kept = kept_slices(shape_xyz[2], config)
    geometry = slice_geometry(shape_xyz[:2], None if spacing is None else spacing[:2], config)
    # Planes are resized to (W, H) and only the small result is transposed to (H, W).
    resize = _ChunkResizer(PLANES_PER_BLOCK, (shape_xyz[1], shape_xyz[0]), geometry.resized[::-1])
    blocks = np.empty((PLANES_PER_BLOCK, *config.target_size), np.float32)
    if not geometry.is_plain_resize:
        blocks.fill(pad_intensity(config))
    rows, cols = geometry.source
    for first, chunk in planes:
        if len(chunk) > PLANES_PER_BLOCK:
            raise ValueError(f"blocks of at most {PLANES_PER_BLOCK} planes, got {len(chunk)}")
        low, high = max(kept.start - first, 0), min(kept.stop - first, len(chunk))
        if low >= high:
            continue
        # A float32 copy of the slices' stored values: exact for integers, faster to
        # resize than int16 read with strides, and ours to clip in place.
        stored = resize.stored[: high - low]
        np.copyto(stored, chunk[low:high])
        if config.normalization == "window":
            hu = _to_hu(stored, slope, intercept)
            small = resize(np.clip(hu, *config.hu_window, out=hu))
        else:
            small = _to_hu(resize(stored), slope, intercept)
        block = blocks[: len(small)]
        normalized = normalize(small, config).transpose(0, 2, 1)
        if geometry.is_plain_resize:
            np.copyto(block, normalized)
        else:
            block[(slice(None), *geometry.canvas)] = normalized[:, rows, cols]
        yield first + low - kept.start, block


def preprocess_mask(
    mask_xyz: np.ndarray,
    config: PreprocessConfig,
    *,
    slope: float = 1.0,
    intercept: float = 0.0,
    spacing: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Canonical binary mask -> resized slices (nearest neighbour), ``(Z - clip, H, W)`` uint8.

    Only the pixels the nearest-neighbour resize keeps are read, in their stored dtype.

    Args:
        mask_xyz: ``(X, Y, Z)`` mask whose values (times ``slope`` plus ``intercept``,
            the NIfTI scaling) are 0 and 1; bool, integer or float.
        config: the preprocessing config.
        spacing: voxel size in mm (X, Y[, Z]); needed for spacing-aware slices.
    """
    kept = np.asarray(mask_xyz)[:, :, kept_slices(mask_xyz.shape[2], config)]
    geometry = slice_geometry(kept.shape[:2], None if spacing is None else spacing[:2], config)
    rows = nearest_indices(kept.shape[0], geometry.resized[0])[geometry.source[0]]
    cols = nearest_indices(kept.shape[1], geometry.resized[1])[geometry.source[1]]
    rows, cols = _as_slice(rows), _as_slice(cols)
    if isinstance(rows, slice) and isinstance(cols, slice):
        picked = kept[rows, cols]  # a view: whole-number scale factors, the usual case
    else:
        picked = kept[np.ix_(np.r_[rows], np.r_[cols])]
    picked = picked.transpose(2, 0, 1)  # (Z', H, W), small
    if slope != 1.0 or intercept != 0.0 or picked.dtype.kind == "f":
        picked = _to_hu(picked.astype(np.float32), slope, intercept) > THRESHOLD
    if geometry.is_plain_resize:
        return np.ascontiguousarray(picked, dtype=np.uint8)
    out = np.zeros((picked.shape[0], *config.target_size), np.uint8)
    out[(slice(None), *geometry.canvas)] = picked
    return out


def restore_probabilities(
    probabilities: np.ndarray | torch.Tensor,
    volume_shape: tuple[int, int, int],
    config: PreprocessConfig,
    spacing: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Network probabilities of the kept slices -> canonical ``(X, Y, Z)`` float32 volume.

    Resizes linearly back to the scan's in-plane size (so a later threshold at 0.5 gives
    smooth edges instead of the blocks of nearest-neighbour upsampling) and fills the
    clipped inferior slices with 0.

    Args:
        probabilities: ``(Z - clip, H, W)`` values in [0, 1].
        volume_shape: the canonical ``(X, Y, Z)`` shape of the scan.
        config: the preprocessing config that made the input slices.
        spacing: the scan's voxel size in mm; needed for spacing-aware slices (the parts
            cropped away get probability 0).
    """
    x, y, z = volume_shape
    kept = kept_slices(z, config)
    import torch
    import torch.nn.functional as F

    probs = torch.as_tensor(probabilities).float()
    expected = kept.stop - kept.start
    if probs.ndim != 3 or probs.shape[0] != expected:
        raise ValueError(
            f"expected ({expected}, H, W) probabilities for a {volume_shape} volume, "
            f"got {tuple(probs.shape)}"
        )
    out = np.zeros((x, y, z), np.float32)
    if expected == 0:
        return out
    geometry = slice_geometry((x, y), None if spacing is None else spacing[:2], config)
    if not geometry.is_plain_resize:
        canvas = probs.new_zeros((probs.shape[0], *geometry.resized))
        canvas[(slice(None), *geometry.source)] = probs[(slice(None), *geometry.canvas)]
        probs = canvas
    if tuple(probs.shape[-2:]) != (x, y):
        # On whatever device the probabilities are (a GPU does this in milliseconds).
        probs = F.interpolate(probs[:, None], size=(x, y), mode="bilinear", align_corners=False)[
            :, 0
        ]
    out[:, :, kept] = probs.cpu().numpy().transpose(1, 2, 0)
    return out


def context_indices(index: int, num_slices: int, context_slices: int) -> list[int]:
    """Slice indices of the 2.5D input for slice ``index``: ``k`` neighbours each side.

    Edges are repeated.

    Training (one slice file at a time) and inference (a whole stack) both build their
    ``1 + 2k`` input channels from this list, in this order (inferior to superior).
    """
    if not 0 <= index < num_slices:
        raise IndexError(f"slice {index} out of range for {num_slices} slices")
    return [
        min(max(index + d, 0), num_slices - 1) for d in range(-context_slices, context_slices + 1)
    ]
