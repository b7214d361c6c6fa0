"""Left-right mirroring in training: image, context and mask flip together, or not at all."""

from __future__ import annotations

import pytest
import torch

from lungnet.data.mirror import RandomMirror


def _batch(n=32, channels=3, size=(12, 10)):
    image = torch.rand(n, channels, *size)
    mask = (torch.rand(n, 1, *size) > 0.7).float()
    return image, mask


def test_a_chosen_sample_is_flipped_left_right_with_every_channel_and_its_mask():
    image, mask = _batch()
    chosen = RandomMirror(0.5, seed=4).chosen(32)
    out, out_mask = RandomMirror(0.5, seed=4)(image, mask)
    assert 0 < int(chosen.sum()) < 32
    for i, flipped in enumerate(chosen.tolist()):
        expected = (image[i].flip(-2), mask[i].flip(-2)) if flipped else (image[i], mask[i])
        assert torch.equal(out[i], expected[0]) and torch.equal(out_mask[i], expected[1])
    assert out.shape == image.shape and out.dtype == image.dtype


def test_about_the_chosen_share_of_samples_is_flipped_and_zero_never_flips():
    share = RandomMirror(0.3, seed=1).chosen(4000).float().mean().item()
    assert 0.27 < share < 0.33
    image, mask = _batch()
    out, out_mask = RandomMirror(0.0, seed=1)(image, mask)
    assert out is image and out_mask is mask


def test_the_same_seed_flips_the_same_samples():
    assert torch.equal(RandomMirror(0.5, seed=9).chosen(64), RandomMirror(0.5, seed=9).chosen(64))


def test_a_probability_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="probability must be in"):
        RandomMirror(1.5)
