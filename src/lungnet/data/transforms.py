"""Random augmentation of a whole batch on any device: affine + elastic in one ``grid_sample``,
then intensity (contrast, brightness, blur, noise).

Why hand-written on PyTorch's maintained ``affine_grid`` / ``grid_sample`` rather than
MONAI's ``RandAffined`` + ``Rand2DElasticd`` (the maintained library we compared against):
MONAI's transforms work one sample at a time, on the CPU, in the DataLoader workers.
Measured with ``python benchmarks/train_bench.py`` on this project's 2-core CPU machine
(``benchmarks/results/train_bench_cpu.json``), a batch of 16 slices + masks took 4.3 ms
here vs 90 ms with MONAI at 128 x 128, and 17 ms vs 175 ms at 256 x 256. Composed into
one ``grid_sample`` for the whole batch, it also runs on the GPU right after the batch is
transferred, so 2-16 loader cores cannot starve the card.

One random draw per sample is applied to image and mask together: both are warped by
the same sampling grid; the mask is resampled bilinearly and thresholded at 0.5, so it
stays binary and aligned with the image. A warp can still erase a tumor of a few pixels
(shrunk by the zoom, or pushed out of the field of view); a sample whose tumor would vanish
keeps its unwarped image and mask instead, so augmentation never turns a tumor slice into a
tumor-free one that still shows the tumor. Intensity changes act on the image only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from lungnet.masks import THRESHOLD

__all__ = ["AugmentConfig", "INTENSITY", "BatchAugment", "sampling_grid", "warp"]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transform; each sample draws uniformly within them.

    Attributes:
        probability: chance that a sample is transformed at all (else left unchanged).
        rotation_deg: rotation in ``[-rotation_deg, +rotation_deg]`` degrees, in-plane.
        scale: ``(low, high)`` isotropic zoom factor.
        translate: shift in ``[-translate, +translate]`` times the image size, per axis.
        elastic_magnitude: largest elastic displacement std, as a fraction of the image
            half-size (0.01 is about 1.3 px at 256 px); each sample draws its own std
            uniformly in ``[0, elastic_magnitude]``.
        elastic_grid: control points per axis of the smooth random displacement field
            (bicubically interpolated to full size); fewer points = smoother warps.
        contrast: ``(low, high)`` factor on each sample's deviation from its own mean.
        brightness: shift in ``[-brightness, +brightness]`` (normalized intensity units).
        blur_probability: chance of a Gaussian blur, with a sigma in ``blur_sigma`` pixels.
        blur_sigma: ``(low, high)`` blur sigma in pixels (at most 2).
        noise_std: Gaussian noise with a std drawn in ``[0, noise_std]``.
    """

    probability: float = 0.9
    rotation_deg: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    translate: float = 0.1
    elastic_magnitude: float = 0.01
    elastic_grid: int = 8
    contrast: tuple[float, float] = (1.0, 1.0)
    brightness: float = 0.0
    blur_probability: float = 0.0
    blur_sigma: tuple[float, float] = (0.5, 1.0)
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {self.probability!r}")
        if self.rotation_deg < 0 or self.translate < 0 or self.elastic_magnitude < 0:
            raise ValueError("rotation_deg, translate and elastic_magnitude must be >= 0")
        lo, hi = (float(v) for v in self.scale)
        if not 0 < lo <= hi:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {self.scale!r}")
        object.__setattr__(self, "scale", (lo, hi))
        if self.elastic_grid < 2:
            raise ValueError(f"elastic_grid must be >= 2, got {self.elastic_grid!r}")
        for name in ("contrast", "blur_sigma"):
            lo, hi = (float(v) for v in getattr(self, name))
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high")
            object.__setattr__(self, name, (lo, hi))
        if self.blur_sigma[1] > 2.0:
            raise ValueError(f"blur_sigma must be at most 2 pixels, got {self.blur_sigma!r}")
        if self.brightness < 0 or self.noise_std < 0:
            raise ValueError("brightness and noise_std must be >= 0")
        if not 0.0 <= self.blur_probability <= 1.0:
            raise ValueError(f"blur_probability must be in [0, 1], got {self.blur_probability!r}")

    @property
    def changes_intensity(self) -> bool:
        return (
            self.contrast != (1.0, 1.0)
            or self.brightness > 0
            or self.blur_probability > 0
            or self.noise_std > 0
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists, floats) for checkpoints."""
        d = asdict(self)
        for name in ("scale", "contrast", "blur_sigma"):
            d[name] = list(getattr(self, name))
        return d


#: Intensity ranges of the ``lungnet`` recipe, in units of the window-normalized image
#: (0 = -1000 HU, 1 = 400 HU, so 0.03 is about 40 HU): scanner-to-scanner contrast and
#: offset, softer reconstruction kernels, and noise of low-dose scans.
INTENSITY = dict(
    contrast=(0.85, 1.15),
    brightness=0.05,
    blur_probability=0.2,
    blur_sigma=(0.5, 1.0),
    noise_std=0.03,
)


def sampling_grid(
    theta: torch.Tensor, displacement: torch.Tensor | None, size: tuple[int, int]
) -> torch.Tensor:
    """Affine grid plus a smooth displacement field, in ``grid_sample``'s normalized coordinates.

    Args:
        theta: ``(B, 2, 3)`` float, output -> input affine maps in normalized ``(x=W, y=H)``
            coordinates (as :func:`torch.nn.functional.affine_grid`).
        displacement: ``(B, 2, g, g)`` coarse displacements (normalized units), or None.
        size: ``(H, W)`` of the output.

    Returns:
        ``(B, H, W, 2)`` float grid.
    """
    b = theta.shape[0]
    grid = F.affine_grid(theta, [b, 1, *size], align_corners=False)
    if displacement is not None:
        dense = F.interpolate(displacement, size=size, mode="bicubic", align_corners=True)
        grid = grid + dense.permute(0, 2, 3, 1)
    return grid


def warp(
    image: torch.Tensor, mask: torch.Tensor, grid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample image and mask with the same grid, in a single ``grid_sample`` call.

    Args:
        image: ``(B, C, H, W)`` float.
        mask: ``(B, 1, H, W)`` float in {0, 1}.
        grid: ``(B, H, W, 2)`` from :func:`sampling_grid`.

    Returns:
        ``(image, mask)`` of the input shapes; the mask is thresholded at
        lungnet.masks.THRESHOLD. Edges are filled by repeating the border (air in a chest CT;
        the mask border is tumor-free).
    """
    c = image.shape[1]
    stacked = torch.cat([image, mask.to(image.dtype)], dim=1)
    out = F.grid_sample(
        stacked, grid.to(stacked.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )
    return out[:, :c], (out[:, c:] > THRESHOLD).to(mask.dtype)


class BatchAugment:
    """Draws one random affine + elastic transform per sample and applies it to the batch.

    Random numbers come from its own seeded CPU generator (so runs are repeatable and
    independent of the device); only the small parameter tensors move to the device.

    Args:
        config: the transform ranges.
        seed: seed of the generator.
    """

    def __init__(self, config: AugmentConfig | None = None, seed: int = 0) -> None:
        self.config = config or AugmentConfig()
        self.generator = torch.Generator().manual_seed(seed)

    def _uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=self.generator, dtype=torch.float64) * (high - low) + low

    def draw(self, batch_size: int, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """One random transform per sample.

        Returns:
            ``theta`` ``(B, 2, 3)`` float32 and ``displacement`` ``(B, 2, g, g)`` float32,
            both on the CPU; samples not selected by ``probability`` get the identity.
        """
        cfg = self.config
        h, w = size
        angle = self._uniform(batch_size, -cfg.rotation_deg, cfg.rotation_deg) * (math.pi / 180.0)
        zoom = self._uniform(batch_size, *cfg.scale)
        shift = (
            self._uniform(2 * batch_size, -cfg.translate, cfg.translate).view(batch_size, 2) * 2.0
        )
        magnitude = self._uniform(batch_size, 0.0, cfg.elastic_magnitude)
        noise = torch.randn(
            batch_size,
            2,
            cfg.elastic_grid,
            cfg.elastic_grid,
            generator=self.generator,
            dtype=torch.float64,
        )
        active = (
            torch.rand(batch_size, generator=self.generator, dtype=torch.float64) < cfg.probability
        )
        # Rotation and zoom act in pixel space; normalized coordinates scale x by 2/W and
        # y by 2/H, so conjugate with that scaling to keep non-square images undistorted.
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.zeros(batch_size, 2, 3, dtype=torch.float64)
        theta[:, 0, 0] = cos
        theta[:, 0, 1] = -sin * (h / w)
        theta[:, 1, 0] = sin * (w / h)
        theta[:, 1, 1] = cos
        theta[:, :, 2] = shift
        identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
        theta = torch.where(active[:, None, None], theta, identity)
        displacement = noise * (magnitude * active)[:, None, None, None]
        return theta.float(), displacement.float()

    def __call__(
        self, image: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment a batch where it lies (CPU or GPU).

        Args:
            image: ``(B, C, H, W)`` float.
            mask: ``(B, 1, H, W)`` float in {0, 1}.

        Returns:
            The augmented ``(image, mask)``, same shapes, dtypes and device.
        """
        if (
            image.ndim != 4
            or mask.ndim != 4
            or image.shape[0] != mask.shape[0]
            or image.shape[-2:] != mask.shape[-2:]
        ):
            raise ValueError(
                "expected image (B, C, H, W) and mask (B, 1, H, W), "
                f"got {tuple(image.shape)} and {tuple(mask.shape)}"
            )
        size = (int(image.shape[-2]), int(image.shape[-1]))
        theta, displacement = self.draw(image.shape[0], size)
        device = image.device
        grid = sampling_grid(
            theta.to(device, non_blocking=True), displacement.to(device, non_blocking=True), size
        )
        warped, warped_mask = warp(image, mask, grid)
        lost = (mask.flatten(1) > THRESHOLD).any(1) & ~(warped_mask.flatten(1) > 0).any(1)
        if lost.any():
            keep = lost[:, None, None, None]
            warped = torch.where(keep, image, warped)
            warped_mask = torch.where(keep, mask, warped_mask)
        if self.config.changes_intensity:
            warped = self.intensity(warped)
        return warped, warped_mask

    def intensity(self, image: torch.Tensor) -> torch.Tensor:
        """Contrast, brightness, blur and noise, one draw per sample, on all its channels."""
        cfg = self.config
        b = image.shape[0]
        device, dtype = image.device, image.dtype

        def per_sample(low: float, high: float) -> torch.Tensor:
            return self._uniform(b, low, high).to(device, dtype)[:, None, None, None]

        factor = per_sample(*cfg.contrast)
        shift = per_sample(-cfg.brightness, cfg.brightness)
        blurred = torch.rand(b, generator=self.generator) < cfg.blur_probability
        sigma = self._uniform(b, *cfg.blur_sigma)
        noise_std = per_sample(0.0, cfg.noise_std)
        noise = torch.randn(image.shape, generator=self.generator).to(device, dtype)
        mean = image.mean(dim=(1, 2, 3), keepdim=True)
        out = (image - mean) * factor + mean + shift
        if blurred.any():
            out = torch.where(
                blurred.to(device)[:, None, None, None], _gaussian_blur(out, sigma), out
            )
        return out + noise * noise_std


def _gaussian_blur(image: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of each sample of ``(B, C, H, W)`` with its own sigma (pixels)."""
    b, c, h, w = image.shape
    radius = 4  # covers 2 sigma of the largest allowed sigma (2 px)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets[None] / sigma[:, None]) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(image.device, image.dtype)
    kernel = kernel.repeat_interleave(c, dim=0)  # one kernel per (sample, channel)
    flat = image.reshape(1, b * c, h, w)
    flat = F.conv2d(
        F.pad(flat, (radius, radius, 0, 0), mode="replicate"),
        kernel[:, None, None, :],
        groups=b * c,
    )
    flat = F.conv2d(
        F.pad(flat, (0, 0, radius, radius), mode="replicate"),
        kernel[:, None, :, None],
        groups=b * c,
    )
    return flat.reshape(b, c, h, w)
