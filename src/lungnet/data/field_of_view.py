"""Random cropped fields of view: training slices cut the way a cropped scan is cut.

Users bring scans cropped around the chest, reconstructed with a small field of view, or
starting and ending mid-lung. A network that has only seen whole chests calls such cut
edges tumor: models with no false positive on 8 whole tumor-free phantoms had 2.75-5.25
per phantom once cropped to 18 x 15 x 17 cm, most touching a cut, and 0.125-0.75 when
trained with this transform (``benchmarks/cropped_fov_bench.py``,
``benchmarks/results/cropped_fov_ds2_vs_fov30_depth_rule.json``). It shows the network
those cuts while it trains:

- **in-plane:** each side of a chosen slice is cut, with probability 1/2, by a share of its
  length; the cut part becomes air, which is what the spacing-aware slices pad a small
  field of view with (:data:`lungnet.preprocessing.slices.PAD_HU`);
- **along z:** with probability 1/2, the context slices on one side repeat the centre one,
  as they do at the first or last slice of a scan
  (:func:`lungnet.preprocessing.slices.context_indices`).

A sample whose tumor the cut would remove entirely keeps its uncut image and mask (as the
warps of :mod:`lungnet.data.transforms` do), so lesion sampling still shows every tumor.
"""

from __future__ import annotations

import torch

from lungnet.masks import THRESHOLD

__all__ = ["FieldOfViewCrop"]

#: Largest share of a slice's height or width cut from one side: two opposite cuts keep at
#: least 30 % of it, about the 18 cm of a crop around heart and lungs in a 35-45 cm field.
MAX_CUT = 0.35


class FieldOfViewCrop:
    """Cuts random samples of a ``(B, C, H, W)`` batch like a cropped scan.

    Args:
        probability: chance that a sample is cut at all.
        air: the network intensity of air (the normalized :data:`PAD_HU`).
        context_slices: ``k`` neighbours on each side in the channels (``C = 1 + 2k``).
        seed: seed of the random generator.
    """

    def __init__(
        self, probability: float, air: float, context_slices: int = 0, seed: int = 0
    ) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        self.probability = float(probability)
        self.air = float(air)
        self.context_slices = int(context_slices)
        self.generator = torch.Generator().manual_seed(seed)

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator, dtype=torch.float64)

    def kept(self, batch_size: int, size: tuple[int, int]) -> torch.Tensor:
        """``(B, 4)`` int64 kept box per sample: top, bottom, left, right (end exclusive);
        samples not chosen keep the whole slice."""
        h, w = size
        chosen = self._rand(batch_size) < self.probability
        cut_side = self._rand(batch_size, 4) < 0.5
        # A chosen sample with no side drawn gets one, so that every chosen sample is cut.
        none_drawn = ~cut_side.any(1)
        forced = torch.randint(4, (batch_size,), generator=self.generator)
        cut_side[none_drawn, forced[none_drawn]] = True
        share = 0.05 + self._rand(batch_size, 4) * (MAX_CUT - 0.05)
        cut = torch.where(chosen[:, None] & cut_side, share, torch.zeros_like(share))
        lengths = torch.tensor([h, h, w, w], dtype=torch.float64)
        pixels = (cut * lengths).floor().long()
        return torch.stack([pixels[:, 0], h - pixels[:, 1], pixels[:, 2], w - pixels[:, 3]], dim=1)

    def __call__(
        self, image: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Cut a batch where it lies (CPU or GPU); same shapes, dtypes and device."""
        b, c, h, w = image.shape
        kept = self.kept(b, (h, w))
        cut = (kept[:, 1] - kept[:, 0] < h) | (kept[:, 3] - kept[:, 2] < w)
        boxes = kept.to(image.device)
        rows = torch.arange(h, device=image.device)[None, :, None]
        cols = torch.arange(w, device=image.device)[None, None, :]
        inside = (
            (rows >= boxes[:, 0, None, None])
            & (rows < boxes[:, 1, None, None])
            & (cols >= boxes[:, 2, None, None])
            & (cols < boxes[:, 3, None, None])
        )[:, None]
        cut_image = torch.where(inside, image, torch.full_like(image, self.air))
        cut_mask = mask * inside.to(mask.dtype)
        k = self.context_slices
        if k > 0:
            end = cut & (self._rand(b) < 0.5)
            below = self._rand(b) < 0.5
            centre = cut_image[:, k : k + 1]
            for side, channels in ((True, slice(0, k)), (False, slice(k + 1, c))):
                repeat = (end & (below == side)).to(image.device)[:, None, None, None]
                cut_image[:, channels] = torch.where(
                    repeat, centre.expand(-1, k, -1, -1), cut_image[:, channels]
                )
        lost = (mask.flatten(1) > THRESHOLD).any(1) & ~(cut_mask.flatten(1) > THRESHOLD).any(1)
        keep = lost[:, None, None, None]
        return torch.where(keep, image, cut_image), torch.where(keep, mask, cut_mask)
