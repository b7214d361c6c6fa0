"""Cropped fields of view in training: cut sides become air, tumors are never cut away whole."""

from __future__ import annotations

import pytest
import torch

from lungnet.data.field_of_view import MAX_CUT, FieldOfViewCrop

AIR = -0.25  # any intensity distinct from the test images' values


def _batch(n=64, channels=3, size=32):
    image = torch.rand(n, channels, size, size) + 1.0  # never equal to AIR
    return image, torch.zeros(n, 1, size, size)


def test_cut_sides_become_air_and_the_kept_box_is_untouched():
    image, mask = _batch()
    mask[:, :, 12:20, 12:20] = 1.0  # central tumor: every cut keeps part of it
    crop = FieldOfViewCrop(1.0, AIR, context_slices=0, seed=3)
    boxes = FieldOfViewCrop(1.0, AIR, context_slices=0, seed=3).kept(64, (32, 32))
    out, out_mask = crop(image[:, :1], mask)
    for i, (top, bottom, left, right) in enumerate(boxes.tolist()):
        inside = torch.zeros(32, 32, dtype=torch.bool)
        inside[top:bottom, left:right] = True
        assert torch.equal(out[i, 0][inside], image[i, 0][inside])
        assert (out[i, 0][~inside] == AIR).all()
        assert not out_mask[i, 0][~inside].any()
        assert torch.equal(out_mask[i, 0][inside], mask[i, 0][inside])


def test_every_chosen_sample_loses_at_least_one_side_and_keeps_most_of_each_axis():
    boxes = FieldOfViewCrop(1.0, AIR, seed=0).kept(500, (40, 50))
    heights, widths = boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2]
    assert ((heights < 40) | (widths < 50)).all()
    assert (heights >= 40 * (1 - 2 * MAX_CUT)).all() and (widths >= 50 * (1 - 2 * MAX_CUT)).all()
    untouched = FieldOfViewCrop(0.0, AIR, seed=0).kept(50, (40, 50))
    assert (untouched == torch.tensor([0, 40, 0, 50])).all()


def test_about_the_chosen_share_of_samples_is_cut():
    boxes = FieldOfViewCrop(0.3, AIR, seed=1).kept(2000, (32, 32))
    cut = ((boxes[:, 1] - boxes[:, 0] < 32) | (boxes[:, 3] - boxes[:, 2] < 32)).float().mean()
    assert 0.25 < cut.item() < 0.35


def test_a_sample_whose_tumor_would_be_cut_away_stays_whole():
    image, mask = _batch(n=200)
    mask[:, :, 0:2, 0:2] = 1.0  # tumor in a corner: most cuts remove it
    out, out_mask = FieldOfViewCrop(1.0, AIR, context_slices=1, seed=0)(image, mask)
    assert out_mask[:, 0, 0:2, 0:2].flatten(1).any(1).all()  # every tumor still there
    whole = (out == image).flatten(1).all(1)
    assert whole.any() and not whole.all()  # cuts that keep the corner still happen
    assert (out_mask <= mask).all()  # a tumor the cut crosses keeps its inside part


def test_some_cut_samples_repeat_the_centre_slice_on_one_side_like_a_scan_end():
    image, mask = _batch(n=400, channels=5)
    out, _ = FieldOfViewCrop(1.0, AIR, context_slices=2, seed=0)(image, mask)
    below = (out[:, 0] == out[:, 2]).flatten(1).all(1) & (out[:, 1] == out[:, 2]).flatten(1).all(1)
    above = (out[:, 4] == out[:, 2]).flatten(1).all(1) & (out[:, 3] == out[:, 2]).flatten(1).all(1)
    assert not (below & above).any()
    ends = (below | above).float().mean().item()
    assert 0.4 < ends < 0.6
    assert 0.3 < below.float().mean().item() / ends < 0.7
    untouched, _ = FieldOfViewCrop(0.0, AIR, context_slices=2, seed=0)(image, mask)
    assert torch.equal(untouched, image)


def test_same_seed_same_cuts_and_the_input_is_not_modified():
    image, mask = _batch()
    before = image.clone()
    first, _ = FieldOfViewCrop(0.5, AIR, context_slices=1, seed=7)(image, mask)
    second, _ = FieldOfViewCrop(0.5, AIR, context_slices=1, seed=7)(image, mask)
    assert torch.equal(first, second) and torch.equal(image, before)


@pytest.mark.parametrize("probability", [-0.1, 1.5])
def test_probability_outside_0_1_is_refused(probability):
    with pytest.raises(ValueError, match="probability must be in"):
        FieldOfViewCrop(probability, AIR)
