"""Cross-validation at toy size: two folds train, and predict as an ensemble."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers import save_nifti, tiny_case
from lungnet.engine.training import train, train_folds
from lungnet.errors import CheckpointError, ConfigError
from lungnet.inference import Predictor
from lungnet.io import read_ct
from slice_folders import write_slice_folder
from tiny_training import tiny_config


@pytest.fixture(scope="module")
def two_folds(tmp_path_factory):
    base = tmp_path_factory.mktemp("folds")
    data = write_slice_folder(base / "processed", train_cases=3, val_cases=1, num_slices=8, size=32)
    config = tiny_config(data, base / "runs", folds=2, fold="all", max_epochs=1)
    return base, train_folds(config)


def test_each_fold_trains_in_its_own_folder_on_the_saved_split(two_folds):
    base, results = two_folds
    splits = json.loads((base / "runs" / "splits_final.json").read_text())
    assert [len(s["val"]) for s in splits] == [2, 2]
    assert sorted(splits[0]["val"] + splits[1]["val"]) == [f"case_{i:02d}" for i in range(4)]
    for k, result in enumerate(results):
        assert result.fold == k
        assert result.best_checkpoint.is_relative_to(base / "runs" / f"fold_{k}")
        hp = torch.load(result.best_checkpoint, weights_only=True)["hyper_parameters"]
        assert (hp["train"]["folds"], hp["train"]["fold"]) == (2, k)


def test_two_folds_predict_as_an_ensemble_that_averages_their_probabilities(two_folds, tmp_path):
    _, results = two_folds
    scan = read_ct(save_nifti(tmp_path / "scan.nii.gz", tiny_case(0)[0]))
    paths = [r.best_checkpoint for r in results]
    single = [Predictor(p, device="cpu", precision="fp32").predict_volume(scan) for p in paths]
    both = Predictor(paths, device="cpu", precision="fp32").predict_volume(scan)
    expected = (single[0].probabilities + single[1].probabilities) / 2
    np.testing.assert_allclose(both.probabilities, expected, atol=1e-5)


def test_an_ensemble_with_another_preprocessing_is_refused_in_one_line(two_folds, tmp_path):
    _, results = two_folds
    other = tmp_path / "other.ckpt"
    ckpt = torch.load(results[1].best_checkpoint, weights_only=True)
    ckpt["hyper_parameters"]["preprocess"]["target_size"] = [48, 48]
    torch.save(ckpt, other)
    with pytest.raises(CheckpointError, match=r"other\.ckpt: was trained on other preprocessing"):
        Predictor([results[0].best_checkpoint, other], device="cpu")


def test_a_fold_outside_the_folds_is_a_config_error(two_folds):
    base, _ = two_folds
    with pytest.raises(ConfigError, match=r"fold \(--fold\) must be 0..1 or all, got '2'"):
        train(tiny_config(base / "processed", base / "runs", folds=2, fold="2"))
    with pytest.raises(ConfigError, match=r"fold \(--fold\) needs folds"):
        train(tiny_config(base / "processed", base / "runs", fold="1"))
