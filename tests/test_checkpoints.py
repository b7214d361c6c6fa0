"""lungnet.checkpoints: one contract for what a checkpoint holds and how it is read."""

from __future__ import annotations

import pytest
import torch

from lungnet.checkpoints import (
    CHECKPOINT_MARKER,
    check_resumable,
    checkpoint_dict,
    load_checkpoint,
    read_checkpoint,
)
from lungnet.errors import CheckpointError
from lungnet.models import UNet
from lungnet.preprocessing import PreprocessConfig


@pytest.fixture
def saved(tmp_path):
    model = UNet(in_channels=3, base_channels=4, depth=2)
    preprocess = PreprocessConfig(target_size=(32, 32), clip_slices_min=2)
    path = tmp_path / "model.ckpt"
    torch.save(checkpoint_dict(model, preprocess, context_slices=1, loss="bce"), path)
    return path, model, preprocess


def test_a_written_checkpoint_loads_the_same_weights_and_preprocessing(saved):
    path, model, preprocess = saved
    loaded = load_checkpoint(path)
    assert loaded.preprocess == preprocess and loaded.context_slices == 1
    assert not loaded.model.training
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], value)
    assert read_checkpoint(path)["hyper_parameters"][CHECKPOINT_MARKER] == 1


def test_resuming_needs_the_same_model_context_preprocessing_and_loss(saved):
    path, model, preprocess = saved
    same = {
        "model": dict(model.config),
        "context_slices": 1,
        "preprocess": preprocess.to_dict(),
        "loss": "bce",
    }
    check_resumable(path, same)
    with pytest.raises(CheckpointError, match=r"different config.*loss: checkpoint 'bce' vs now"):
        check_resumable(path, {**same, "loss": "bce_dice"})


def test_a_plain_torch_file_is_not_a_lungnet_checkpoint(tmp_path):
    plain = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}}, plain)
    with pytest.raises(CheckpointError, match=r"plain\.ckpt: is not a LungNet checkpoint"):
        read_checkpoint(plain)


@pytest.mark.parametrize("content", [b"junk\n", b"", b"\x80\x02}q\x00"])
def test_bytes_that_are_no_checkpoint_are_reported_as_corrupt(tmp_path, content):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(content)
    with pytest.raises(
        CheckpointError, match=r"junk\.ckpt: is corrupt or not a PyTorch checkpoint"
    ):
        read_checkpoint(junk)
