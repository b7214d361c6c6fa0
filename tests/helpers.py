"""Test helpers shared by the whole suite: tiny NIfTI volumes and where the real CT scans are."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

REAL_CT = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_ct"
if not REAL_CT.is_dir():  # a checkout with shared/ inside it
    REAL_CT = Path(__file__).resolve().parents[1] / "shared" / "data" / "real_ct"

RAS_AFFINE = np.array(
    [[0.8, 0.0, 0.0, -30.0], [0.0, 0.8, 0.0, -20.0], [0.0, 0.0, 2.5, -100.0], [0.0, 0.0, 0.0, 1.0]]
)


def lps_twin(array_ras: np.ndarray, affine_ras: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same voxels stored in LPS order: x and y flipped, the affine keeping world positions."""
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[0, 3] = array_ras.shape[0] - 1
    flip[1, 3] = array_ras.shape[1] - 1
    return array_ras[::-1, ::-1, :].copy(), affine_ras @ flip


def save_nifti(path: Path, array: np.ndarray, affine: np.ndarray = RAS_AFFINE, **scaling) -> Path:
    img = nib.Nifti1Image(array, affine)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    if scaling:
        img.header.set_slope_inter(scaling.get("slope", 1.0), scaling.get("inter", 0.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)
    return path


def tiny_case(seed: int, shape=(48, 40, 24)) -> tuple[np.ndarray, np.ndarray]:
    """A small HU volume (int16) with a bright cube 'tumor' and its binary label."""
    rng = np.random.default_rng(seed)
    hu = rng.normal(-800, 40, shape).astype(np.int16)
    label = np.zeros(shape, np.uint8)
    x, y = 10 + seed % 5, 12 + seed % 7
    label[x : x + 8, y : y + 6, shape[2] - 8 : shape[2] - 4] = 1
    hu[label == 1] = 40
    return hu, label


def assert_same_geometry(a: Path, b: Path) -> None:
    """Two NIfTI files share shape, affine, qform and sform with their codes."""
    ia, ib = nib.load(a), nib.load(b)
    assert ia.shape == ib.shape
    np.testing.assert_array_equal(ia.affine, ib.affine)
    np.testing.assert_array_equal(ia.header.get_qform(), ib.header.get_qform())
    np.testing.assert_array_equal(ia.header.get_sform(), ib.header.get_sform())
    assert int(ia.header["qform_code"]) == int(ib.header["qform_code"])
    assert int(ia.header["sform_code"]) == int(ib.header["sform_code"])
