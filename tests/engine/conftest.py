"""A tiny slice folder and a tiny finished training run shared by the engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from slice_folders import write_slice_folder
from tiny_training import tiny_config


@pytest.fixture
def slice_folder(tmp_path: Path) -> Path:
    """2 train cases + 1 val case, 8 slices of 32 x 32 each, 2 tumor slices per case."""
    return write_slice_folder(
        tmp_path / "processed", train_cases=2, val_cases=1, num_slices=8, size=32
    )


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 2-epoch run (context_slices=1, bce_dice) and its data folder."""
    from lungnet.engine import train

    base = tmp_path_factory.mktemp("run")
    data = write_slice_folder(base / "processed", train_cases=2, val_cases=2, num_slices=8, size=32)
    result = train(tiny_config(data, base / "artifacts", context_slices=1, loss="bce_dice"))
    return result, data
