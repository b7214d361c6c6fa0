"""Batch affine + elastic augmentation: known transforms, image/mask alignment, seeding."""

from __future__ import annotations

import pytest
import torch

from lungnet.data.transforms import INTENSITY, AugmentConfig, BatchAugment, sampling_grid, warp


def _square(size=32, top=8, left=10, side=8):
    image = torch.zeros(1, 1, size, size)
    image[..., top : top + side, left : left + side] = 1.0
    return image


def _translation(dx_px, dy_px, size=32):
    # affine_grid maps output to input: output(x) = input(x + t), so content moves by -t.
    theta = torch.tensor([[[1.0, 0.0, -2.0 * dx_px / size], [0.0, 1.0, -2.0 * dy_px / size]]])
    return theta


def test_known_translation_moves_image_and_mask_by_the_same_pixels():
    image = _square() * 0.7 + 0.1
    mask = _square()
    grid = sampling_grid(_translation(dx_px=3, dy_px=5), None, (32, 32))
    out_image, out_mask = warp(image, mask, grid)
    assert torch.equal(out_mask, _square(top=13, left=13))
    assert torch.allclose(out_image, _square(top=13, left=13) * 0.7 + 0.1, atol=1e-6)


def test_known_rotation_turns_a_bar_by_90_degrees():
    bar = torch.zeros(1, 1, 32, 32)
    bar[..., 15:17, 4:28] = 1.0  # horizontal bar through the centre
    theta = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]])
    _, out_mask = warp(bar, bar, sampling_grid(theta, None, (32, 32)))
    assert torch.equal(out_mask, bar.transpose(-1, -2))  # now vertical


def test_random_draws_keep_mask_aligned_with_image():
    torch.manual_seed(0)
    mask = (torch.rand(8, 1, 48, 48) > 0.7).float()
    aug = BatchAugment(AugmentConfig(probability=1.0, elastic_magnitude=0.03), seed=1)
    out_image, out_mask = aug(mask.clone(), mask)
    # The image channel is the mask itself: same grid, so thresholding it gives the mask.
    assert torch.equal((out_image > 0.5).float(), out_mask)
    assert not torch.equal(out_mask, mask)
    assert set(out_mask.unique().tolist()) <= {0.0, 1.0}


def test_each_sample_gets_its_own_draw_and_keeps_its_channels_together():
    image = _square(size=32).repeat(4, 3, 1, 1)
    mask = _square(size=32).repeat(4, 1, 1, 1)
    out_image, out_mask = BatchAugment(AugmentConfig(probability=1.0), seed=0)(image, mask)
    assert out_image.shape == (4, 3, 32, 32) and out_mask.shape == (4, 1, 32, 32)
    assert len({tuple(m.flatten().tolist()) for m in out_mask}) == 4
    assert torch.equal(out_image[:, 0], out_image[:, 2])


def test_same_seed_same_draws():
    a, b = BatchAugment(seed=3), BatchAugment(seed=3)
    for _ in range(2):
        ta, da = a.draw(4, (32, 32))
        tb, db = b.draw(4, (32, 32))
        assert torch.equal(ta, tb) and torch.equal(da, db)
    assert not torch.equal(
        BatchAugment(seed=4).draw(4, (32, 32))[0], BatchAugment(seed=3).draw(4, (32, 32))[0]
    )


def test_probability_zero_leaves_the_batch_unchanged():
    torch.manual_seed(0)
    image, mask = torch.randn(3, 2, 24, 40), (torch.rand(3, 1, 24, 40) > 0.5).float()
    out_image, out_mask = BatchAugment(AugmentConfig(probability=0.0), seed=0)(image, mask)
    assert torch.allclose(out_image, image, atol=1e-5)
    assert torch.equal(out_mask, mask)


def test_drawn_parameters_stay_within_the_configured_ranges():
    cfg = AugmentConfig(probability=1.0, rotation_deg=10.0, scale=(0.9, 1.1), translate=0.05)
    theta, _ = BatchAugment(cfg, seed=0).draw(500, (32, 32))
    linear = theta[:, :, :2]
    zoom = 1.0 / torch.sqrt(torch.det(linear))
    angle = torch.rad2deg(torch.atan2(linear[:, 1, 0], linear[:, 0, 0])).abs()
    assert zoom.min() >= 0.9 - 1e-5 and zoom.max() <= 1.1 + 1e-5
    assert angle.max() <= 10.0 + 1e-4
    assert theta[:, :, 2].abs().max() <= 2 * 0.05 + 1e-6


def test_mismatched_batch_shapes_are_refused():
    with pytest.raises(ValueError, match="expected image"):
        BatchAugment()(torch.zeros(2, 1, 8, 8), torch.zeros(3, 1, 8, 8))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"probability": 1.5}, "probability must be in"),
        ({"scale": (1.2, 1.1)}, "scale must be"),
        ({"elastic_grid": 1}, "elastic_grid must be"),
        ({"rotation_deg": -1}, "must be >= 0"),
    ],
)
def test_invalid_config_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AugmentConfig(**kwargs)


def test_a_warp_never_erases_a_tumor():
    # One-pixel tumors near the edge, with shrinking zooms and shifts that push them out.
    image = torch.zeros(16, 1, 32, 32)
    mask = torch.zeros(16, 1, 32, 32)
    mask[:, :, 1, 30] = 1.0
    image[mask > 0] = 1.0
    config = AugmentConfig(probability=1.0, scale=(0.5, 0.7), translate=0.3, rotation_deg=45)
    out_image, out_mask = BatchAugment(config, seed=3)(image, mask)
    assert (out_mask.flatten(1).sum(1) > 0).all()
    kept = (out_mask == mask).flatten(1).all(1)
    assert kept.any() and torch.equal(out_image[kept], image[kept])  # those stay unwarped


def test_intensity_augmentation_changes_the_image_only_and_is_off_by_default():
    image = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    mask = _square().repeat(6, 1, 1, 1)
    identity = dict(probability=0.0)
    untouched, _ = BatchAugment(AugmentConfig(**identity), seed=0)(image, mask)
    assert torch.equal(untouched, image)
    config = AugmentConfig(**identity, **INTENSITY)
    out_image, out_mask = BatchAugment(config, seed=0)(image, mask)
    assert torch.equal(out_mask, mask) and not torch.allclose(out_image, image)
    assert (out_image - image).abs().mean() < 0.2  # a perturbation, not a different image
    again, _ = BatchAugment(config, seed=0)(image, mask)
    assert torch.equal(again, out_image)


def test_blur_keeps_the_mean_and_smooths_an_edge():
    from lungnet.data.transforms import _gaussian_blur

    image = _square().repeat(2, 1, 1, 1)
    blurred = _gaussian_blur(image, torch.tensor([0.5, 2.0], dtype=torch.float64))
    assert torch.allclose(blurred.mean((1, 2, 3)), image.mean((1, 2, 3)), atol=1e-5)
    edge = (slice(None), 0, 12, 9)  # just outside the square's left side
    assert 0 < blurred[edge][0] < blurred[edge][1]  # the wider sigma spreads further
