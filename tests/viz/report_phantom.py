"""A tiny chest-like phantom scan with one tumor, written to disk and read back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from lungnet.io import CTVolume, read_ct

SPACING = (1.2, 1.2, 2.5)


@dataclass
class Phantom:
    ct: CTVolume
    mask: np.ndarray  # (X, Y, Z) uint8
    gt: np.ndarray  # (X, Y, Z) uint8
    ct_path: Path
    mask_path: Path
    gt_path: Path


def _save(path: Path, array: np.ndarray, affine: np.ndarray) -> Path:
    img = nib.Nifti1Image(array, affine)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    nib.save(img, path)
    return path


def build_phantom(folder: Path, shape=(64, 56, 24)) -> Phantom:
    """Body, two lungs, a posterior spine and a tumor in the patient's right lung (RAS file)."""
    x, y, z = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    cx, cy = (shape[0] - 1) / 2, (shape[1] - 1) / 2
    hu = np.full(shape, -1000.0)
    hu[
        ((x - cx) / 30) ** 2 + ((y - cy) / 25) ** 2 <= 1
    ] = -100.0  # body (fat-like, so that bone stands out)
    for side in (-1, 1):  # lungs
        hu[((x - cx - side * 13) / 10) ** 2 + ((y - cy) / 16) ** 2 <= 1] = -850.0
    hu[((x - cx) / 4) ** 2 + ((y - cy + 19) / 4) ** 2 <= 1] = 700.0  # spine: posterior (low y)
    tumor = ((x - cx - 14) ** 2 + (y - cy - 3) ** 2 + ((z - 12) * 2) ** 2) <= 16  # patient's right
    hu[tumor] = 30.0
    gt = np.roll(tumor, 1, axis=1)
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = (-38.0, -33.0, -30.0)
    folder.mkdir(parents=True, exist_ok=True)
    ct_path = _save(folder / "chest.nii.gz", hu.astype(np.int16), affine)
    mask_path = _save(folder / "chest_pred.nii.gz", tumor.astype(np.uint8), affine)
    gt_path = _save(folder / "chest_gt.nii.gz", gt.astype(np.uint8), affine)
    return Phantom(
        read_ct(ct_path), tumor.astype(np.uint8), gt.astype(np.uint8), ct_path, mask_path, gt_path
    )
