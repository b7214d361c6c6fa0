"""BestCheckpoint: a resumed run's best.ckpt is the best of the whole training."""

from __future__ import annotations

import pytest
import torch

from lungnet.engine.best_checkpoint import BestCheckpoint


def test_resuming_into_a_new_folder_carries_the_best_file_and_score(tmp_path):
    before = tmp_path / "version_0" / "checkpoints"
    before.mkdir(parents=True)
    (before / "best.ckpt").write_bytes(b"weights of epoch 7")
    callback = BestCheckpoint(monitor="val/dice_3d", mode="max", filename="best", save_top_k=1)
    callback.dirpath = str(tmp_path / "version_1" / "checkpoints")
    callback.load_state_dict(
        {
            "dirpath": str(before),
            "best_model_path": str(before / "best.ckpt"),
            "best_model_score": torch.tensor(0.71),
        }
    )
    carried = tmp_path / "version_1" / "checkpoints" / "best.ckpt"
    assert carried.read_bytes() == b"weights of epoch 7"
    assert callback.best_model_path == str(carried)
    assert float(callback.best_model_score) == pytest.approx(0.71)
    assert float(callback.kth_value) == pytest.approx(0.71)
    assert (before / "best.ckpt").is_file()


def test_resuming_in_the_same_folder_is_lightnings_own_restore(tmp_path):
    callback = BestCheckpoint(monitor="val/dice_3d", mode="max", filename="best", save_top_k=1)
    callback.dirpath = str(tmp_path)
    state = {
        "dirpath": str(tmp_path),
        "best_model_path": str(tmp_path / "best.ckpt"),
        "best_model_score": torch.tensor(0.5),
    }
    callback.load_state_dict(state)
    assert callback.best_model_path == str(tmp_path / "best.ckpt")
    assert float(callback.best_model_score) == pytest.approx(0.5)
