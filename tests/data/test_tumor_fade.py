"""Tumor fading in training: a solid tumor comes out subsolid, its mask and the rest stay."""

from __future__ import annotations

import pytest
import torch

from lungnet.data.tumor_fade import TumorFade

LUNG, SOLID = 0.1, 0.75  # network intensities of aerated lung and of a solid tumor


def _chest(n=4, channels=3, size=24):
    """Lung everywhere, a solid square tumor in the middle of each sample's every channel,
    and a bright rib far from it."""
    image = torch.full((n, channels, size, size), LUNG)
    mask = torch.zeros(n, 1, size, size)
    image[:, :, 8:16, 8:16] = SOLID
    mask[:, :, 8:16, 8:16] = 1
    image[:, :, 0:2, :] = 0.9
    return image, mask


def test_a_faded_tumor_moves_toward_the_lung_by_a_share_within_the_strength():
    image, mask = _chest()
    out, out_mask = TumorFade(1.0, LUNG, strength=(0.4, 0.8), seed=0)(image, mask)
    assert torch.equal(out_mask, mask)
    core = out[:, :, 10:14, 10:14]
    share = (SOLID - core) / (SOLID - LUNG)
    assert bool(((share > 0.4 - 1e-5) & (share < 0.8 + 1e-5)).all())
    # Every channel of a sample is faded alike, with the centre slice's mask.
    assert torch.allclose(core, core[:, :1].expand_as(core))


def test_far_from_the_tumor_nothing_changes_and_the_lung_around_it_barely_does():
    image, mask = _chest()
    out, _ = TumorFade(1.0, LUNG, seed=0)(image, mask)
    assert torch.equal(out[:, :, 0:2], image[:, :, 0:2])
    assert torch.allclose(out[:, :, 20:], image[:, :, 20:])
    assert torch.allclose(out[:, :, 6, 10:14], image[:, :, 6, 10:14])  # lung stays lung


def test_tumor_free_samples_and_unchosen_ones_are_left_alone():
    image, mask = _chest(n=8)
    mask[4:] = 0
    out, _ = TumorFade(1.0, LUNG, seed=0)(image, mask)
    assert torch.equal(out[4:], image[4:]) and not torch.equal(out[:4], image[:4])
    never, _ = TumorFade(0.0, LUNG, seed=0)(image, mask)
    assert torch.equal(never, image)


def test_about_the_chosen_share_of_tumor_samples_is_faded():
    mask = torch.ones(4000, 1, 2, 2)
    shares = TumorFade(0.3, LUNG, seed=1).shares(mask)
    assert 0.27 < (shares > 0).float().mean().item() < 0.33


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"probability": 1.5}, "probability"), ({"strength": (0.8, 0.4)}, "strength")],
)
def test_out_of_range_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TumorFade(**{"probability": 0.5, "lung": LUNG, **kwargs})
