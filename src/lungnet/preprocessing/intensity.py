"""The one preprocessing implementation shared by training and inference: clip z, normalize, resize.

Training slices are made by :func:`preprocess_image` / :func:`preprocess_mask`; inference
runs the same :func:`preprocess_image` with the config stored in the checkpoint and maps
the network's probabilities back with :func:`restore_probabilities`. No other copy of
this arithmetic exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "PreprocessConfig",
    "context_indices",
    "kept_slices",
    "normalize",
    "preprocess_image",
    "preprocess_mask",
    "restore_probabilities",
]

_NORMALIZATIONS = ("scale", "window")


@dataclass(frozen=True)
class PreprocessConfig:
    """How a canonical CT volume becomes network input slices.

    Attributes:
        target_size: in-plane size ``(H, W)`` of every slice, in pixels; H runs along
            the canonical x axis (patient right), W along y (anterior).
        clip_slices_min: number of most inferior slices dropped (the seed drops 30,
            which are mostly abdomen); they are 0 in every predicted mask.
        normalization: ``"scale"`` divides HU by ``hu_divisor`` (the seed's rule);
            ``"window"`` clips HU to ``hu_window`` and maps it linearly to [0, 1].
        hu_divisor: divisor of the ``"scale"`` rule (seed: 3071.0, the top of the
            12-bit CT range).
        hu_window: ``(low, high)`` HU of the ``"window"`` rule.
    """

    target_size: tuple[int, int] = (256, 256)
    clip_slices_min: int = 30
    normalization: str = "scale"
    hu_divisor: float = 3071.0
    hu_window: tuple[float, float] | None = field(default=None)

    def __post_init__(self) -> None:
        size = tuple(int(s) for s in self.target_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"target_size must be two positive ints (H, W), got {self.target_size!r}")
        object.__setattr__(self, "target_size", size)
        if int(self.clip_slices_min) < 0:
            raise ValueError(f"clip_slices_min must be >= 0, got {self.clip_slices_min!r}")
        object.__setattr__(self, "clip_slices_min", int(self.clip_slices_min))
        if self.normalization not in _NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {self.normalization!r}")
        if self.normalization == "scale" and not float(self.hu_divisor) > 0:
            raise ValueError(f"hu_divisor must be > 0, got {self.hu_divisor!r}")
        if self.normalization == "window":
            if self.hu_window is None or len(self.hu_window) != 2 or not self.hu_window[0] < self.hu_window[1]:
                raise ValueError(f"hu_window must be (low, high) with low < high, got {self.hu_window!r}")
        if self.hu_window is not None:
            object.__setattr__(self, "hu_window", tuple(float(v) for v in self.hu_window))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/checkpoint-safe dict (lists, floats, ints, strings)."""
        d = asdict(self)
        d["target_size"] = list(self.target_size)
        d["hu_window"] = None if self.hu_window is None else list(self.hu_window)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessConfig:
        known = {k: d[k] for k in ("target_size", "clip_slices_min", "normalization", "hu_divisor", "hu_window") if k in d}
        if known.get("hu_window") is not None:
            known["hu_window"] = tuple(known["hu_window"])
        return cls(**known)


def kept_slices(num_slices: int, config: PreprocessConfig) -> slice:
    """The z range kept after dropping the ``clip_slices_min`` most inferior slices."""
    return slice(min(config.clip_slices_min, num_slices), num_slices)


def normalize(hu: torch.Tensor, config: PreprocessConfig) -> torch.Tensor:
    """Map HU to network intensities (float32), as the config says."""
    if config.normalization == "scale":
        return hu / float(config.hu_divisor)
    low, high = config.hu_window  # type: ignore[misc]
    return (hu.clamp(low, high) - low) / (high - low)


def _slices_first(volume_xyz: np.ndarray, config: PreprocessConfig) -> torch.Tensor:
    """(X, Y, Z) array -> (Z', 1, Y, X) tensor of the kept slices.

    (Z, Y, X) is the C order of the Fortran-ordered arrays ``read_ct`` returns, so this is
    a view rather than a 0.3 s copy of a 512 x 512 x 300 volume; callers resize to
    ``(W, H)`` and transpose the small result back to ``(H, W)``.
    """
    kept = np.asarray(volume_xyz)[:, :, kept_slices(volume_xyz.shape[2], config)]
    return torch.from_numpy(np.ascontiguousarray(kept.transpose(2, 1, 0)))[:, None]


def _to_hw(slices_yx: torch.Tensor) -> np.ndarray:
    """(Z, 1, W, H) -> (Z, H, W) numpy array."""
    return slices_yx[:, 0].transpose(1, 2).contiguous().numpy()


def preprocess_image(hu_xyz: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Canonical HU volume -> normalized, resized slices.

    Args:
        hu_xyz: ``(X, Y, Z)`` HU volume in canonical RAS order (as ``CTVolume.array``).
        config: the preprocessing config.

    Returns:
        ``(Z - clip, H, W)`` float32 slices, slice ``i`` coming from z index ``clip + i``.
    """
    slices = _slices_first(hu_xyz, config).float()
    if slices.shape[0] == 0:
        return np.zeros((0, *config.target_size), np.float32)
    # One bilinear interpolate over the whole stack instead of scipy's zoom slice by slice
    # (benchmarks/preprocess_bench.py compares the two pipelines), and the same arithmetic
    # on every path.
    out = normalize(slices, config)
    size_wh = config.target_size[::-1]
    if tuple(out.shape[-2:]) != size_wh:
        out = F.interpolate(out, size=size_wh, mode="bilinear", align_corners=False, antialias=False)
    return _to_hw(out)


def preprocess_mask(mask_xyz: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Canonical binary mask -> resized slices (nearest neighbour), ``(Z - clip, H, W)`` uint8."""
    slices = _slices_first(np.asarray(mask_xyz, dtype=np.uint8), config)
    if slices.shape[0] == 0:
        return np.zeros((0, *config.target_size), np.uint8)
    size_wh = config.target_size[::-1]
    if tuple(slices.shape[-2:]) != size_wh:
        slices = F.interpolate(slices, size=size_wh, mode="nearest-exact")
    return _to_hw(slices)


def restore_probabilities(
    probabilities: np.ndarray | torch.Tensor,
    volume_shape: tuple[int, int, int],
    config: PreprocessConfig,
) -> np.ndarray:
    """Network probabilities of the kept slices -> canonical ``(X, Y, Z)`` float32 volume.

    Resizes linearly back to the scan's in-plane size (so a later threshold at 0.5 gives
    smooth edges instead of the blocks of nearest-neighbour upsampling) and fills the
    clipped inferior slices with 0.

    Args:
        probabilities: ``(Z - clip, H, W)`` values in [0, 1].
        volume_shape: the canonical ``(X, Y, Z)`` shape of the scan.
        config: the preprocessing config that made the input slices.
    """
    x, y, z = volume_shape
    kept = kept_slices(z, config)
    probs = torch.as_tensor(probabilities).float()
    expected = kept.stop - kept.start
    if probs.ndim != 3 or probs.shape[0] != expected:
        raise ValueError(f"expected ({expected}, H, W) probabilities for a {volume_shape} volume, got {tuple(probs.shape)}")
    out = np.zeros((x, y, z), np.float32)
    if expected == 0:
        return out
    if tuple(probs.shape[-2:]) != (x, y):
        # On whatever device the probabilities are (a GPU does this in milliseconds).
        probs = F.interpolate(probs[:, None], size=(x, y), mode="bilinear", align_corners=False)[:, 0]
    out[:, :, kept] = probs.cpu().numpy().transpose(1, 2, 0)
    return out


def context_indices(index: int, num_slices: int, context_slices: int) -> list[int]:
    """Slice indices of the 2.5D input for slice ``index``: ``k`` neighbours each side, edges repeated.

    Training (one slice file at a time) and inference (a whole stack) both build their
    ``1 + 2k`` input channels from this list, in this order (inferior to superior).
    """
    if not 0 <= index < num_slices:
        raise IndexError(f"slice {index} out of range for {num_slices} slices")
    return [min(max(index + d, 0), num_slices - 1) for d in range(-context_slices, context_slices + 1)]
