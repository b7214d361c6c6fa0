"""Random fading of training tumors toward the lung's density: solid tumors shown subsolid.

Ground-glass and part-solid tumors (about -750 to -250 HU, lung showing through) are early
adenocarcinomas that a screening reader must not miss, and they are a minority of any
training set. Two models trained with the recipe found none of the 12 on the validation
panel, and 15 of 19 solid tumors
(``benchmarks/results/panel_mirror_vs_slice_dice_by_kind.json``): they learned that a
tumor is about as dense as soft tissue. Weighing each tumor slice alike in the loss did not
change that (0 of 12 again). This transform blends the tumor
pixels of chosen training slices toward the density of aerated lung, so that a tumor of
any density is shown, while its outline, and so the mask, stays the same.

Measured with the recipe (``benchmarks/results/panel_fade{30,15}_by_kind.json``), it taught
the network ground-glass tumors (5 of 12 found over two seeds with P = 0.3) but cost solid
ones (21 of 38 against 30), and with P = 0.15 it lost on validation too: both recipes
leave it off.

The blend weight is the mask spread by about a pixel on each side and smoothed, so the
faded tumor keeps a soft edge instead of a ring of its old partial-volume border; lung
around it barely changes (it is already at the target). Every channel (the context slices
too) is faded with the centre slice's mask, which the neighbours' tumor outlines differ
from only at a tumor's ends.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lungnet.masks import THRESHOLD

__all__ = ["LUNG_HU", "TumorFade"]

#: Density that faded tumors move toward: aerated lung parenchyma.
LUNG_HU = -850.0


class TumorFade:
    """Fades the tumors of random samples of a ``(B, C, H, W)`` batch toward the lung.

    A chosen sample with tumor in its mask has its tumor moved a random share ``f`` of the
    way to ``lung`` (``f`` uniform in ``strength``): a solid tumor at 40 HU comes out at
    -300 to -670 HU for the default ``(0.4, 0.8)``, the range of part-solid and
    ground-glass ones. Masks are returned unchanged.

    Args:
        probability: chance that a sample with tumor is faded.
        lung: the network intensity of :data:`LUNG_HU`.
        strength: range of the share of the way to ``lung``.
        seed: seed of the random generator.
    """

    def __init__(
        self,
        probability: float,
        lung: float,
        strength: tuple[float, float] = (0.4, 0.8),
        seed: int = 0,
    ) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        low, high = strength
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"strength must be a range within [0, 1], got {strength!r}")
        self.probability = float(probability)
        self.lung = float(lung)
        self.strength = (float(low), float(high))
        self.generator = torch.Generator().manual_seed(seed)

    def shares(self, mask: torch.Tensor) -> torch.Tensor:
        """``(B,)`` float: the share of the way to the lung per sample (0: left alone)."""
        b = mask.shape[0]
        chosen = torch.rand(b, generator=self.generator) < self.probability
        low, high = self.strength
        share = low + (high - low) * torch.rand(b, generator=self.generator)
        holds_tumor = (mask.flatten(1) > THRESHOLD).any(1).cpu()
        return torch.where(chosen & holds_tumor, share, torch.zeros(b))

    def __call__(
        self, image: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fade a batch where it lies (CPU or GPU); same shapes, dtypes and device."""
        share = self.shares(mask)
        if not bool((share > 0).any()):
            return image, mask
        tumor = (mask > THRESHOLD).float()
        weight = F.avg_pool2d(F.max_pool2d(tumor, 3, 1, 1), 3, 1, 1)
        weight = weight * share.to(image.device, torch.float32)[:, None, None, None]
        faded = image.float() + weight * (self.lung - image.float())
        return faded.to(image.dtype), mask
