"""The classic 2D U-Net (Ronneberger et al. 2015) that LungNet trains slice by slice."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lungnet.choices import NORMS

__all__ = ["DoubleConv", "NORMS", "UNet"]


class DoubleConv(nn.Sequential):
    """Conv2d 3x3 -> [norm] -> ReLU -> Conv2d 3x3 -> [norm] -> ReLU; padding 1 keeps H and W."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "none") -> None:
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        layers: list[nn.Module] = []
        for c_in in (in_channels, out_channels):
            # A convolution followed by BatchNorm needs no bias: the norm's shift replaces it.
            layers.append(
                nn.Conv2d(c_in, out_channels, kernel_size=3, padding=1, bias=norm == "none")
            )
            if norm == "batch":
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class _Up(nn.Module):
    """Bilinear 2x upsampling, concatenation with the skip connection, DoubleConv."""

    def __init__(
        self, in_channels: int, skip_channels: int, out_channels: int, norm: str = "none"
    ) -> None:
        super().__init__()
        self.conv = DoubleConv(in_channels + skip_channels, out_channels, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    """Classic U-Net: max-pool contracting path, bilinear expanding path with skips, 1x1 logits.

    Level ``i`` (0 = full resolution) has ``base_channels * 2**i`` feature maps; the
    bottleneck is level ``depth``. Input sizes that are not multiples of ``2**depth``
    are padded (edge values repeated) and the logits cropped back, so any H, W >= 1 works.

    Args:
        in_channels: input channels; 1 for a single slice, ``1 + 2k`` with ``k``
            context slices on each side (2.5D).
        out_channels: output channels (1: tumor logit).
        base_channels: feature maps at full resolution (the original: 64).
        depth: number of 2x poolings (the original: 4).
        norm: one of :data:`NORMS`, after every convolution (the original: ``"none"``).
        deep_supervision: extra 1x1 logit heads on the expanding path's coarser levels
            (1/2, 1/4, ... resolution), for :meth:`forward_levels`; at most ``depth - 1``.
            Training on them sends the loss straight into the deeper layers (nnU-Net's deep
            supervision); :meth:`forward` never computes them.

    Shapes:
        input ``(B, in_channels, H, W)`` float; output ``(B, out_channels, H, W)`` logits.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        base_channels: int = 64,
        depth: int = 4,
        norm: str = "none",
        deep_supervision: int = 0,
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("in_channels", in_channels, 1),
            ("out_channels", out_channels, 1),
            ("base_channels", base_channels, 1),
            ("depth", depth, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"UNet {name} must be an int >= {low}, got {value!r}")
        if norm not in NORMS:
            raise ValueError(f"UNet norm must be one of {NORMS}, got {norm!r}")
        if (
            isinstance(deep_supervision, bool)
            or not isinstance(deep_supervision, int)
            or not 0 <= deep_supervision < depth
        ):
            raise ValueError(
                f"UNet deep_supervision must be an int in 0..{depth - 1} (depth - 1), "
                f"got {deep_supervision!r}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.base_channels = base_channels
        self.depth = depth
        self.norm = norm
        self.deep_supervision = deep_supervision
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0], norm)
        self.downs = nn.ModuleList(DoubleConv(widths[i], widths[i + 1], norm) for i in range(depth))
        self.ups = nn.ModuleList(
            _Up(widths[i + 1], widths[i], widths[i], norm) for i in reversed(range(depth))
        )
        self.outc = nn.Conv2d(widths[0], out_channels, kernel_size=1)
        # Head i reads the expanding path at 1/2**i resolution (level i's widths[i] maps).
        self.aux_heads = nn.ModuleList(
            nn.Conv2d(widths[i], out_channels, kernel_size=1)
            for i in range(1, deep_supervision + 1)
        )

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments as a plain dict (stored in checkpoints; ``UNet(**config)``).

        ``deep_supervision`` appears only when on, so that the config of a network without
        it reads as before (a run resumed from an older checkpoint compares configs).
        """
        config = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "base_channels": self.base_channels,
            "depth": self.depth,
            "norm": self.norm,
        }
        if self.deep_supervision:
            config["deep_supervision"] = self.deep_supervision
        return config

    @property
    def size_multiple(self) -> int:
        """Input H and W that need no internal padding are multiples of this (``2**depth``)."""
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, aux=False)[0]

    def forward_levels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Full-resolution logits, then those of each deep-supervision head (coarsest last).

        Head ``i`` gives ``(B, out_channels, ceil(H / 2**i), ceil(W / 2**i))`` logits.
        """
        return self._run(x, aux=True)

    def _run(self, x: torch.Tensor, aux: bool) -> list[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"UNet expects input (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        h, w = x.shape[-2:]
        m = self.size_multiple
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            # Replicate, not reflect: reflect padding fails when the pad exceeds the size
            # (tiny inputs).
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        coarse: list[torch.Tensor] = []
        for up in self.ups:
            y = up(y, skips.pop())
            level = len(skips)  # y is now at 1/2**level resolution
            if aux and 1 <= level <= self.deep_supervision:
                coarse.append(self.aux_heads[level - 1](y))
        outputs = [self.outc(y), *reversed(coarse)]
        if not (pad_h or pad_w):
            return outputs
        return [out[..., : -(-h // 2**i), : -(-w // 2**i)] for i, out in enumerate(outputs)]
