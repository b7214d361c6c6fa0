"""Fixtures for the evaluation tests: in-memory scans and tiny mask files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lungnet.io.volume import CTVolume, SourceGeometry


def ras_affine(spacing, origin=(-30.0, -20.0, -100.0)) -> np.ndarray:
    affine = np.diag([*map(float, spacing), 1.0])
    affine[:3, 3] = origin
    return affine


def make_ct(
    array: np.ndarray, spacing=(1.0, 1.0, 1.0), affine: np.ndarray | None = None
) -> CTVolume:
    """A CTVolume as read_ct would return it for a file stored in RAS order."""
    affine = ras_affine(spacing) if affine is None else affine
    geometry = SourceGeometry(
        shape=tuple(array.shape), affine=affine, axcodes=("R", "A", "S"), header=nib.Nifti1Header()
    )
    return CTVolume(
        array=array.astype(np.float32),
        spacing=tuple(map(float, spacing)),
        affine=affine,
        source=None,
        geometry=geometry,
    )


def ball(shape, spacing, center_mm, radius_mm) -> np.ndarray:
    """Boolean ellipsoid/ball on a grid; ``radius_mm`` a number or three semi-axes."""
    radii = np.broadcast_to(np.asarray(radius_mm, float), (3,))
    grids = np.meshgrid(
        *[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)], indexing="ij"
    )
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, center_mm, radii, strict=True)) <= 1.0


def save_mask(path: Path, mask: np.ndarray, affine: np.ndarray) -> Path:
    img = nib.Nifti1Image(np.asarray(mask, np.uint8), affine)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)
    return path


@pytest.fixture
def mask_folders(tmp_path: Path) -> Callable[[dict], tuple[Path, Path]]:
    """Build ``pred/`` and ``gt/`` folders from ``{file name in pred or gt: mask}``."""

    def build(files: dict[str, np.ndarray], affine: np.ndarray | None = None) -> tuple[Path, Path]:
        aff = ras_affine((0.8, 0.8, 2.5)) if affine is None else affine
        for name, mask in files.items():
            save_mask(tmp_path / name, mask, aff)
        (tmp_path / "pred").mkdir(exist_ok=True)
        (tmp_path / "gt").mkdir(exist_ok=True)
        return tmp_path / "pred", tmp_path / "gt"

    return build


@pytest.fixture(name="make_ct")
def make_ct_fixture() -> Callable[..., CTVolume]:
    return make_ct


@pytest.fixture(name="ball")
def ball_fixture() -> Callable[..., np.ndarray]:
    return ball


@pytest.fixture(name="ras_affine")
def ras_affine_fixture() -> Callable[..., np.ndarray]:
    return ras_affine


@pytest.fixture(name="save_mask")
def save_mask_fixture() -> Callable[..., Path]:
    return save_mask
