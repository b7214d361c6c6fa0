"""PreprocessConfig: how a CT volume becomes network slices, declared once for the API,
the command line, the manifest and the checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lungnet.errors import ConfigError
from lungnet.options import option

__all__ = ["PreprocessConfig"]

_NORMALIZATIONS = ("scale", "window")


def _pixel_mm(text: str) -> float | str:
    """``--pixel-mm``: millimetres, or ``auto`` (planned by the preprocessor)."""
    import argparse

    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected millimetres or auto, got {text!r}") from None


@dataclass(frozen=True)
class PreprocessConfig:
    """How a canonical CT volume becomes network input slices.

    Attributes:
        target_size: in-plane size ``(H, W)`` of every slice, in pixels; H runs along
            the canonical x axis (patient right), W along y (anterior).
        clip_slices_min: number of most inferior slices dropped (the original drops 30,
            which are mostly abdomen); they are 0 in every predicted mask.
        normalization: ``"scale"`` divides HU by ``hu_divisor`` (the original's rule);
            ``"window"`` clips HU to ``hu_window`` and maps it linearly to [0, 1].
        hu_divisor: divisor of the ``"scale"`` rule (the original's 3071.0, the top of the
            12-bit CT range).
        hu_window: ``(low, high)`` HU of the ``"window"`` rule.
        pixel_mm: spacing-aware slices: each slice is resampled to this pixel size in mm,
            then cropped or padded (with air) around its centre to ``target_size``, so a
            tumor has the same size in pixels whatever the scanner's field of view. None:
            the whole field of view is resized to ``target_size`` (the original's rule).
    """

    target_size: tuple[int, int] = option(
        (256, 256), help="in-plane size of every slice, in pixels", nargs=2, metavar=("H", "W")
    )
    clip_slices_min: int = option(
        30, help="drop the N most inferior slices of every volume", metavar="N"
    )
    normalization: str = option(
        "scale",
        help="scale (HU / hu_divisor) or window (HU clipped to hu_window, mapped to [0, 1])",
        choices=_NORMALIZATIONS,
        on_command_line=False,
    )
    hu_divisor: float = option(3071.0, help="divisor of the scale rule", on_command_line=False)
    hu_window: tuple[float, float] | None = option(
        None,
        help="clip HU to [LOW, HIGH] and scale to [0, 1] instead of the original's HU / 3071",
        nargs=2,
        metavar=("LOW", "HIGH"),
    )

    pixel_mm: float | None = option(
        None,
        help="resample slices to MM millimetre pixels, then crop or pad them to the target "
        "size; auto: the training cases' median field of view fills the target size "
        "(default: resize each whole field of view to the target size)",
        metavar="MM|auto",
        parse=_pixel_mm,
    )

    def __post_init__(self) -> None:
        size = tuple(int(s) for s in self.target_size)
        if len(size) != 2 or min(size) < 1:
            raise ConfigError(
                f"target_size must be two positive ints (H, W), got {self.target_size!r}"
            )
        object.__setattr__(self, "target_size", size)
        if int(self.clip_slices_min) < 0:
            raise ConfigError(f"clip_slices_min must be >= 0, got {self.clip_slices_min!r}")
        object.__setattr__(self, "clip_slices_min", int(self.clip_slices_min))
        if self.normalization not in _NORMALIZATIONS:
            raise ConfigError(
                f"normalization must be one of {_NORMALIZATIONS}, got {self.normalization!r}"
            )
        if self.normalization == "scale" and not float(self.hu_divisor) > 0:
            raise ConfigError(f"hu_divisor must be > 0, got {self.hu_divisor!r}")
        if self.normalization == "window":
            if (
                self.hu_window is None
                or len(self.hu_window) != 2
                or not self.hu_window[0] < self.hu_window[1]
            ):
                raise ConfigError(
                    f"hu_window must be (low, high) with low < high, got {self.hu_window!r}"
                )
        if self.hu_window is not None:
            object.__setattr__(self, "hu_window", tuple(float(v) for v in self.hu_window))
        if self.pixel_mm is not None:
            if not isinstance(self.pixel_mm, int | float) or not float(self.pixel_mm) > 0:
                raise ConfigError(f"pixel_mm must be > 0, got {self.pixel_mm!r}")
            object.__setattr__(self, "pixel_mm", float(self.pixel_mm))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/checkpoint-safe dict (lists, floats, ints, strings)."""
        d = asdict(self)
        d["target_size"] = list(self.target_size)
        d["hu_window"] = None if self.hu_window is None else list(self.hu_window)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessConfig:
        known = {
            k: d[k]
            for k in (
                "target_size",
                "clip_slices_min",
                "normalization",
                "hu_divisor",
                "hu_window",
                "pixel_mm",
            )
            if k in d
        }
        if known.get("hu_window") is not None:
            known["hu_window"] = tuple(known["hu_window"])
        return cls(**known)
