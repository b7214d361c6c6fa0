"""The shared preprocessing arithmetic: z clipping, normalization, resize and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from lungnet.preprocessing import (
    PreprocessConfig,
    context_indices,
    preprocess_image,
    preprocess_mask,
    restore_probabilities,
)
from lungnet.preprocessing.slices import linear_weights, nearest_indices, slice_geometry


def test_clip_drops_the_most_inferior_slices():
    vol = np.zeros((8, 8, 10), np.float32)
    for z in range(10):
        vol[:, :, z] = z * 100.0
    out = preprocess_image(vol, PreprocessConfig(target_size=(8, 8), clip_slices_min=3))
    assert out.shape == (7, 8, 8)
    # Slice i of the output is z index 3 + i of the canonical volume.
    np.testing.assert_allclose(out[:, 0, 0], np.arange(3, 10) * 100.0 / 3071.0, rtol=1e-6)


def test_seed_normalization_divides_hu_by_3071():
    vol = np.full((4, 4, 2), 3071.0, np.float32)
    out = preprocess_image(vol, PreprocessConfig(target_size=(4, 4), clip_slices_min=0))
    np.testing.assert_allclose(out, 1.0)


def test_hu_window_maps_low_to_0_and_high_to_1():
    vol = np.array([-2000.0, -1000.0, 0.0, 400.0, 3000.0], np.float32).reshape(5, 1, 1)
    cfg = PreprocessConfig(
        target_size=(5, 1), clip_slices_min=0, normalization="window", hu_window=(-1000, 400)
    )
    np.testing.assert_allclose(
        preprocess_image(vol, cfg)[0, :, 0], [0.0, 0.0, 1000 / 1400, 1.0, 1.0], rtol=1e-6
    )


def test_mask_resize_is_nearest_and_stays_binary():
    mask = np.zeros((64, 64, 3), np.uint8)
    mask[10:30, 20:40, 1] = 1
    out = preprocess_mask(mask, PreprocessConfig(target_size=(32, 32), clip_slices_min=0))
    assert out.dtype == np.uint8 and set(np.unique(out)) == {0, 1}
    assert out[1].sum() == 10 * 10 and out[0].sum() == 0


@pytest.mark.parametrize("shape", [(64, 48, 12), (37, 53, 9)])
def test_restore_inverts_resize_and_zeroes_clipped_slices(shape):
    cfg = PreprocessConfig(target_size=(32, 32), clip_slices_min=4)
    probs = np.full((shape[2] - 4, 32, 32), 0.8, np.float32)
    out = restore_probabilities(probs, shape, cfg)
    assert out.shape == shape and out.dtype == np.float32
    assert np.all(out[:, :, :4] == 0)
    np.testing.assert_allclose(out[:, :, 4:], 0.8, rtol=1e-6)


def test_restore_refuses_a_wrong_slice_count():
    with pytest.raises(ValueError, match="expected"):
        restore_probabilities(
            np.zeros((3, 8, 8)), (8, 8, 10), PreprocessConfig(target_size=(8, 8), clip_slices_min=0)
        )


def test_a_volume_shorter_than_the_clip_gives_no_slices():
    cfg = PreprocessConfig(target_size=(8, 8), clip_slices_min=30)
    assert preprocess_image(np.zeros((8, 8, 10)), cfg).shape == (0, 8, 8)
    assert restore_probabilities(np.zeros((0, 8, 8)), (8, 8, 10), cfg).shape == (8, 8, 10)


def test_context_indices_repeat_the_edges():
    assert context_indices(0, 5, 1) == [0, 0, 1]
    assert context_indices(4, 5, 2) == [2, 3, 4, 4, 4]
    assert context_indices(2, 5, 0) == [2]


def test_config_round_trips_through_a_plain_dict():
    cfg = PreprocessConfig(
        target_size=(128, 96), clip_slices_min=5, normalization="window", hu_window=(-1000, 400)
    )
    assert PreprocessConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_size": (0, 8)}, "target_size"),
        ({"clip_slices_min": -1}, "clip_slices_min"),
        ({"normalization": "zscore"}, "normalization"),
        ({"normalization": "window", "hu_window": (400, -1000)}, "hu_window"),
        ({"hu_divisor": 0}, "hu_divisor"),
    ],
)
def test_bad_config_values_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PreprocessConfig(**kwargs)


@pytest.mark.parametrize(
    "in_size, out_size", [(512, 256), (96, 40), (37, 53), (10, 3), (5, 5), (1, 4)]
)
def test_nearest_indices_are_the_pixels_torch_picks(in_size, out_size):
    import torch
    import torch.nn.functional as F

    image = torch.arange(in_size * in_size, dtype=torch.float64).view(1, 1, in_size, in_size)
    picked = F.interpolate(image, size=(out_size, out_size), mode="nearest-exact")[0, 0].numpy()
    idx = nearest_indices(in_size, out_size)
    np.testing.assert_array_equal(picked, image[0, 0].numpy()[np.ix_(idx, idx)])


@pytest.mark.parametrize("size", [(32, 24), (50, 70), (64, 64)])
def test_mask_slices_are_torchs_nearest_exact_resize(size):
    import torch
    import torch.nn.functional as F

    mask = (np.random.default_rng(1).random((64, 48, 6)) > 0.7).astype(np.uint8)[::-1, ::-1]
    config = PreprocessConfig(target_size=size, clip_slices_min=2)
    planes = torch.from_numpy(np.ascontiguousarray(mask[:, :, 2:].transpose(2, 1, 0)))[:, None]
    expected = F.interpolate(planes, size=size[::-1], mode="nearest-exact")[:, 0].transpose(1, 2)
    np.testing.assert_array_equal(preprocess_mask(mask, config), expected.numpy())


@pytest.mark.parametrize("normalization", ["scale", "window"])
def test_stored_integers_with_their_scaling_give_the_slices_of_the_hu_volume(normalization):
    stored = np.random.default_rng(2).integers(0, 4000, (40, 36, 40)).astype(np.int16)
    hu = stored.astype(np.float32) * np.float32(1.0) + np.float32(-1024.0)
    config = PreprocessConfig(
        target_size=(30, 20),
        clip_slices_min=5,
        normalization=normalization,
        hu_window=(-1000.0, 400.0) if normalization == "window" else None,
    )
    from_stored = preprocess_image(stored, config, intercept=-1024.0)
    np.testing.assert_allclose(from_stored, preprocess_image(hu, config), rtol=0, atol=4e-7)
    assert from_stored.shape == (35, 30, 20) and from_stored.dtype == np.float32


@pytest.mark.parametrize(
    "in_size, out_size", [(512, 256), (37, 80), (53, 24), (96, 72), (7, 7), (3, 1)]
)
def test_linear_weights_are_torchs_bilinear_weights(in_size, out_size):
    import torch
    import torch.nn.functional as F

    basis = torch.eye(in_size).view(in_size, 1, 1, in_size)  # row k: a one at pixel k
    torch_weights = F.interpolate(basis, size=(1, out_size), mode="bilinear", align_corners=False)
    i0, i1, w0, w1 = linear_weights(in_size, out_size)
    ours = np.zeros((in_size, out_size), np.float32)
    np.add.at(ours, (i0, np.arange(out_size)), w0)
    np.add.at(ours, (i1, np.arange(out_size)), w1)
    np.testing.assert_array_equal(ours, torch_weights[:, 0, 0].numpy())


def test_preprocessing_does_not_load_torch():
    # `lungnet preprocess` starts in a third of a second instead of two.
    import subprocess
    import sys

    code = "import sys, lungnet.preprocessing as p; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("normalization", ["scale", "window"])
def test_the_input_volume_is_left_as_it_was(normalization):
    # read_ct's arrays are Fortran-ordered float32: their slices are C-ordered views.
    hu = np.asfortranarray(np.random.default_rng(3).normal(-500, 800, (32, 32, 8)), np.float32)
    before = hu.copy()
    config = PreprocessConfig(
        target_size=(16, 16),
        clip_slices_min=0,
        normalization=normalization,
        hu_window=(-1000.0, 400.0) if normalization == "window" else None,
    )
    preprocess_image(hu, config)
    np.testing.assert_array_equal(hu, before)


def test_spacing_aware_geometry_crops_a_large_field_and_pads_a_small_one():
    config = PreprocessConfig(target_size=(64, 64), clip_slices_min=0, pixel_mm=2.0)
    large = slice_geometry((200, 160), (1.0, 1.0), config)  # 200 x 160 mm -> 100 x 80 px
    assert large.resized == (100, 80)
    assert large.source == (slice(18, 82), slice(8, 72)) and large.canvas == (
        slice(0, 64),
        slice(0, 64),
    )
    small = slice_geometry((50, 40), (1.0, 1.5), config)  # 50 x 60 mm -> 25 x 30 px
    assert small.resized == (25, 30)
    assert small.source == (slice(0, 25), slice(0, 30))
    assert small.canvas == (slice(19, 44), slice(17, 47))
    plain = slice_geometry((200, 160), (1.0, 1.0), PreprocessConfig(target_size=(64, 64)))
    assert plain.is_plain_resize and plain.resized == (64, 64)
    one_short = slice_geometry((63, 63), (2.0, 2.0), config)  # 63 px: one pixel of padding
    assert not one_short.is_plain_resize and one_short.canvas == (slice(0, 63), slice(0, 63))
    with pytest.raises(ValueError, match="need the scan's voxel spacing"):
        slice_geometry((200, 160), None, config)


def test_a_tumor_has_the_same_size_in_pixels_whatever_the_field_of_view():
    config = PreprocessConfig(target_size=(64, 64), clip_slices_min=0, pixel_mm=2.0)
    widths = []
    for voxel_mm, n in ((1.0, 160), (0.5, 200)):  # 160 mm and 100 mm fields of view
        mask = np.zeros((n, n, 3), np.uint8)
        centre, radius = n // 2, int(round(10 / voxel_mm))  # 20 mm wide at the centre
        mask[centre - radius : centre + radius, centre - radius : centre + radius] = 1
        slices = preprocess_mask(mask, config, spacing=(voxel_mm, voxel_mm, 2.0))
        widths.append(int(slices[1].any(axis=1).sum()))
    assert widths == [10, 10]  # 20 mm at 2 mm pixels, in both scans


def test_padding_is_air_and_restoring_puts_probabilities_back_in_place():
    config = PreprocessConfig(
        target_size=(64, 64),
        clip_slices_min=1,
        normalization="window",
        hu_window=(-1000.0, 400.0),
        pixel_mm=2.0,
    )
    hu = np.full((40, 30, 4), 40.0, np.float32)  # 80 x 60 mm of soft tissue: padded
    slices = preprocess_image(hu, config, spacing=(2.0, 2.0, 2.0))
    geometry = slice_geometry((40, 30), (2.0, 2.0), config)
    assert slices.shape == (3, 64, 64)
    assert slices[0, 0, 0] == 0.0  # air outside the scan's field of view
    assert np.allclose(slices[(0, *geometry.canvas)], (40.0 + 1000.0) / 1400.0)
    mask = np.zeros((40, 30, 4), np.uint8)
    mask[10:20, 5:15, 2] = 1
    restored = restore_probabilities(
        preprocess_mask(mask, config, spacing=(2.0, 2.0, 2.0)).astype(np.float32),
        mask.shape,
        config,
        spacing=(2.0, 2.0, 2.0),
    )
    assert restored.shape == mask.shape
    np.testing.assert_array_equal(restored > 0.5, mask > 0)
    large = np.zeros((200, 200, 3), np.float32)  # 400 mm: cropped to the central 128 mm
    probs = np.ones((2, 64, 64), np.float32)
    back = restore_probabilities(probs, large.shape, config, spacing=(2.0, 2.0, 2.0))
    assert back[100, 100, 2] == 1.0 and back[5, 5, 2] == 0.0  # cropped-away parts: no tumor
