"""A tiny LungNet checkpoint, written the way the training task writes one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lungnet.models import UNet
from lungnet.preprocessing import PreprocessConfig


def write_checkpoint(path: Path, context_slices: int = 1, clip: int = 2, size=(32, 32), seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = UNet(in_channels=1 + 2 * context_slices, base_channels=4, depth=2)
    # A bias towards tumor so random weights still give a mix of 0 and 1 voxels.
    with torch.no_grad():
        model.outc.bias.fill_(0.05)
    torch.save(
        {
            "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
            "hyper_parameters": {
                "lungnet_checkpoint": 1,
                "model": model.config,
                "context_slices": context_slices,
                "preprocess": PreprocessConfig(target_size=size, clip_slices_min=clip).to_dict(),
            },
        },
        path,
    )
    return path


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return write_checkpoint(tmp_path / "tiny.ckpt")
