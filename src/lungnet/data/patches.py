"""Random square patches of a training batch, each one holding tumor when its slice has any.

Training on patches instead of whole slices is nnU-Net's way of spending compute where
it teaches: a 64 x 64 patch has a quarter of the pixels of a 128 x 128 slice, and forcing the
tumor of a tumor-bearing slice into its patch keeps the sampler's tumor share intact.
The U-Net is fully convolutional, so validation and inference still run on whole slices.
Crops run on the batch where it lies (the GPU on CUDA), after the transfer.
"""

from __future__ import annotations

import torch

from lungnet.masks import THRESHOLD

__all__ = ["RandomPatches"]


class RandomPatches:
    """Crop every sample of a ``(B, C, H, W)`` batch (and its mask) to ``size x size``.

    A sample whose mask has tumor is cropped around one of its tumor pixels, chosen at
    random and placed at a random spot of the patch; a tumor-free sample is cropped at a
    random spot. Draws come from a seeded generator, so a seed gives the same patches.
    Sides smaller than ``size`` are kept whole.

    Args:
        size: patch side in pixels.
        seed: seed of the random generator.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"patch size must be an int >= 1, got {size!r}")
        self.size = size
        self.generator = torch.Generator().manual_seed(seed)

    def _randint(self, high: int) -> int:
        """Uniform integer in ``[0, high]``."""
        return int(torch.randint(high + 1, (1,), generator=self.generator))

    def __call__(
        self, image: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = image.shape[-2:]
        ph, pw = min(self.size, h), min(self.size, w)
        if (ph, pw) == (h, w):
            return image, mask
        tumor = mask[:, 0] > THRESHOLD
        has_tumor = tumor.flatten(1).any(1).tolist()
        images, masks = [], []
        for i, any_tumor in enumerate(has_tumor):
            if any_tumor:
                pixels = tumor[i].nonzero()
                y, x = pixels[self._randint(len(pixels) - 1)].tolist()
                # Clamping keeps (y, x) inside: the window still spans it after the shift.
                top = min(max(y - self._randint(ph - 1), 0), h - ph)
                left = min(max(x - self._randint(pw - 1), 0), w - pw)
            else:
                top, left = self._randint(h - ph), self._randint(w - pw)
            images.append(image[i, :, top : top + ph, left : left + pw])
            masks.append(mask[i, :, top : top + ph, left : left + pw])
        return torch.stack(images), torch.stack(masks)
