"""A tiny LungNet checkpoint, written the way the training task writes one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lungnet.checkpoints import checkpoint_dict
from lungnet.models import UNet
from lungnet.preprocessing import PreprocessConfig


def write_checkpoint(
    path: Path, context_slices: int = 1, clip: int = 2, size=(32, 32), seed: int = 0
) -> Path:
    torch.manual_seed(seed)
    model = UNet(in_channels=1 + 2 * context_slices, base_channels=4, depth=2)
    # A bias towards tumor so random weights still give a mix of 0 and 1 voxels.
    with torch.no_grad():
        model.outc.bias.fill_(0.05)
    preprocess = PreprocessConfig(target_size=size, clip_slices_min=clip)
    torch.save(checkpoint_dict(model, preprocess, context_slices), path)
    return path


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return write_checkpoint(tmp_path / "tiny.ckpt")
