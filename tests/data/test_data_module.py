"""LungDataModule: the tumor-balancing sampler and the loaders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lungnet.data import LungDataModule, tumor_balanced_weights
from lungnet.errors import LungNetInputError


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
