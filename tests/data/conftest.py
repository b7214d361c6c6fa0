"""Tiny preprocessed slice folders, written in the layout NiftiPreprocessor produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from slice_folders import write_slice_folder


@pytest.fixture
def slice_folder(tmp_path: Path) -> Path:
    """2 train cases + 1 val case, 8 slices of 32 x 32 each, 2 tumor slices per case."""
    return write_slice_folder(
        tmp_path / "processed", train_cases=2, val_cases=1, num_slices=8, size=32
    )


@pytest.fixture
def imbalanced_folder(tmp_path: Path) -> Path:
    """3 train cases of 16 slices, 1 in 4 with tumor; 2 val cases (for loader tests)."""
    return write_slice_folder(
        tmp_path / "imbalanced", train_cases=3, val_cases=2, num_slices=16, size=16
    )
