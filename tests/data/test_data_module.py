"""LungDataModule: the tumor-balancing sampler and the loaders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lungnet.data import LungDataModule, lesion_balanced_weights, tumor_balanced_weights
from lungnet.errors import LungNetInputError
from lungnet.preprocessing import PreprocessConfig, case_entry, write_manifest


def test_weights_give_the_requested_tumor_share():
    flags = np.array([True] * 10 + [False] * 90)
    w = tumor_balanced_weights(flags, 0.5)
    assert w.sum() == pytest.approx(1.0)
    assert w[flags].sum() == pytest.approx(0.5)
    assert w[flags][0] == pytest.approx(0.05) and w[~flags][0] == pytest.approx(0.5 / 90)
    assert tumor_balanced_weights(flags, 0.2)[flags].sum() == pytest.approx(0.2)


def test_no_weighting_when_disabled_or_only_one_kind_of_slice():
    assert tumor_balanced_weights(np.array([True, False]), None) is None
    assert tumor_balanced_weights(np.zeros(5, bool), 0.5) is None
    assert tumor_balanced_weights(np.ones(5, bool), 0.5) is None


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_weighting_outside_the_open_interval_is_refused(fraction):
    with pytest.raises(ValueError, match="tumor_fraction must be in"):
        tumor_balanced_weights(np.array([True, False]), fraction)


def test_lesion_weights_draw_a_one_slice_nodule_as_often_as_a_four_slice_mass():
    spans = [(), (4,), (4,), (4,), (4,), (1,), ()]
    w = lesion_balanced_weights(spans, 0.5)
    assert w.sum() == pytest.approx(1.0)
    assert w[1:5].sum() == pytest.approx(0.25) and w[5] == pytest.approx(0.25)
    assert w[0] == pytest.approx(0.25) and w[6] == pytest.approx(0.25)


def test_a_slice_through_two_tumors_is_reached_through_either():
    # Tumor A spans slices 0-1, tumor B only slice 0: A's draws split over its two slices.
    w = lesion_balanced_weights([(2, 1), (2,), ()], 0.5)
    assert w.tolist() == pytest.approx([0.375, 0.125, 0.5])


def test_lesion_weights_fall_back_like_slice_weights():
    assert lesion_balanced_weights([(1,), ()], None) is None
    assert lesion_balanced_weights([(), ()], 0.5) is None


def _two_tumor_folder(root):
    """One train case of 8 slices: a mass on slices 1-4 and, apart from it, a nodule on 6."""
    mask = np.zeros((8, 16, 16), np.uint8)
    mask[1:5, 2:8, 2:8] = 1
    mask[6, 12:14, 12:14] = 1
    for split, name in (("train", "case_00"), ("val", "case_01")):
        for kind, arr in (("data", mask.astype(np.float32)), ("masks", mask)):
            folder = root / split / name / kind
            folder.mkdir(parents=True)
            for i in range(8):
                np.save(folder / f"{i}.npy", arr[i])
    tumor = np.flatnonzero(mask.reshape(8, -1).any(1))
    cases = {
        n: case_entry(split, 8, tumor) for split, n in (("train", "case_00"), ("val", "case_01"))
    }
    write_manifest(root, PreprocessConfig(target_size=(16, 16), clip_slices_min=2), cases)
    return root


def test_lesion_spans_count_the_slices_of_each_3d_tumor(tmp_path):
    dm = LungDataModule(_two_tumor_folder(tmp_path), batch_size=2)
    dm.setup("fit")
    assert dm.train_dataset.lesion_spans() == [(), (4,), (4,), (4,), (4,), (), (1,), ()]


def test_lesion_sampling_draws_each_tumor_about_equally_often(tmp_path):
    dm = LungDataModule(_two_tumor_folder(tmp_path), batch_size=2, tumor_sampling="lesion", seed=3)
    dm.setup("fit")
    sampler = dm.train_sampler()
    draws = np.array([i for _ in range(600) for i in sampler])  # 4800 draws
    mass, nodule = np.isin(draws, [1, 2, 3, 4]).mean(), (draws == 6).mean()
    assert mass == pytest.approx(0.25, abs=0.03) and nodule == pytest.approx(0.25, abs=0.03)


def test_an_unknown_tumor_sampling_is_refused(slice_folder):
    with pytest.raises(ValueError, match="tumor_sampling must be one of"):
        LungDataModule(slice_folder, tumor_sampling="voxel")


@pytest.mark.parametrize("fraction", [0.5, 0.3])
def test_sampler_draws_tumor_slices_at_the_requested_rate(imbalanced_folder, fraction):
    dm = LungDataModule(imbalanced_folder, batch_size=8, tumor_fraction=fraction, seed=123)
    dm.setup("fit")
    flags = dm.train_dataset.tumor_flags
    assert flags.mean() == pytest.approx(0.25)  # the folder's natural rate
    draws = []
    sampler = dm.train_sampler()
    for _ in range(200):  # 200 epochs of 48 draws: 9600 draws
        draws.extend(sampler)
    rate = flags[np.array(draws)].mean()
    # Binomial std at n=9600 is <= 0.0051: 4 std.
    assert abs(rate - fraction) < 0.021


def test_without_weighting_tumor_slices_come_at_their_natural_rate(imbalanced_folder):
    dm = LungDataModule(imbalanced_folder, batch_size=48, tumor_fraction=None, seed=0)
    dm.setup("fit")
    assert dm.train_sampler() is None
    batch = next(iter(dm.train_dataloader()))
    # A plain shuffle is a permutation: exactly the folder's tumor slices, once each.
    assert sorted(batch["index"].tolist()) == list(range(48))
    assert int(batch["mask"].flatten(1).amax(1).sum()) == 12


def test_sampler_is_reproducible_for_a_seed(imbalanced_folder):
    def first_epoch(seed):
        dm = LungDataModule(imbalanced_folder, seed=seed)
        dm.setup("fit")
        return list(dm.train_sampler())

    assert first_epoch(7) == first_epoch(7)
    assert first_epoch(7) != first_epoch(8)


def test_train_batches_have_image_and_mask_shapes(imbalanced_folder):
    dm = LungDataModule(imbalanced_folder, batch_size=5, context_slices=1)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (5, 3, 16, 16) and batch["image"].dtype == torch.float32
    assert batch["mask"].shape == (5, 1, 16, 16)


def test_validation_reads_every_slice_in_order_without_drop_last(imbalanced_folder):
    dm = LungDataModule(imbalanced_folder, batch_size=5)
    dm.setup("validate")
    indices = torch.cat([b["index"] for b in dm.val_dataloader()]).tolist()
    assert indices == list(range(32))  # 2 cases x 16 slices, last batch of 2 kept
    assert dm.val_dataloader().drop_last is False


def test_folder_without_manifest_is_refused_at_construction(tmp_path):
    with pytest.raises(LungNetInputError, match="no manifest.json"):
        LungDataModule(tmp_path)


def test_folder_without_val_cases_is_refused(slice_folder):
    path = slice_folder / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["cases"].values():
        entry["split"] = "train"
    path.write_text(json.dumps(manifest))
    dm = LungDataModule(slice_folder)
    with pytest.raises(LungNetInputError, match="manifest lists no val slices"):
        dm.setup("fit")


def test_preprocess_config_is_the_manifests(slice_folder):
    dm = LungDataModule(slice_folder)
    assert (
        dm.preprocess_config == json.loads((slice_folder / "manifest.json").read_text())["config"]
    )


def test_sampler_draws_depend_only_on_seed_and_epoch(imbalanced_folder):
    # What makes a resumed run draw the slices an uninterrupted run would have drawn.
    dm = LungDataModule(imbalanced_folder, seed=11)
    dm.setup("fit")
    a, b = dm.train_sampler(), dm.train_sampler()
    a.set_epoch(0)
    epoch0 = list(a)
    a.set_epoch(1)
    epoch1 = list(a)
    b.set_epoch(1)
    assert list(b) == epoch1
    b.set_epoch(0)
    assert list(b) == epoch0 and epoch0 != epoch1
