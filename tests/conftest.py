"""Fixtures shared by the whole suite: tiny Decathlon-style datasets and the real CT folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REAL_CT, save_nifti, tiny_case


@pytest.fixture
def real_ct() -> Path:
    if not REAL_CT.is_dir():
        pytest.skip(f"real CT test data not found at {REAL_CT}")
    return REAL_CT


@pytest.fixture
def msd_dataset(tmp_path: Path) -> Path:
    """A 4-case Decathlon-style folder (imagesTr/labelsTr/dataset.json) of tiny volumes."""
    root = tmp_path / "Task06_Lung"
    for i in range(4):
        hu, label = tiny_case(i)
        save_nifti(root / "imagesTr" / f"lung_{i:03d}.nii.gz", hu)
        save_nifti(root / "labelsTr" / f"lung_{i:03d}.nii.gz", label)
    (root / "dataset.json").write_text(
        '{"name": "Lung", "labels": {"0": "background", "1": "cancer"}}'
    )
    return root
