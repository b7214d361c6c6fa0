"""Small synthetic chest scans with tumors of known sizes, written as NIfTI (RAS or LPS)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import lps_twin, save_nifti
from lungnet.io import CTVolume, read_ct

IBSI_PHANTOM = Path(__file__).resolve().parents[3] / "shared" / "data" / "ibsi_digital_phantom"
if not IBSI_PHANTOM.is_dir():  # a checkout with shared/ inside it
    IBSI_PHANTOM = Path(__file__).resolve().parents[2] / "shared" / "data" / "ibsi_digital_phantom"

#: 1 mm voxels: the tumors keep their voxel counts at the default 1 mm grid.
AFFINE = np.array(
    [[1.0, 0.0, 0.0, -20.0], [0.0, 1.0, 0.0, -18.0], [0.0, 0.0, 1.0, -50.0], [0, 0, 0, 1.0]]
)


@dataclass
class Scan:
    ct_path: Path
    mask_path: Path
    ct: CTVolume
    mask: np.ndarray


def chest_with_tumors(seed: int = 0, shape=(40, 36, 30)) -> tuple[np.ndarray, np.ndarray]:
    """Lung-like HU with three tumors: a ball of radius 4 (257 voxels), one of radius 2
    (33 voxels) and a single voxel, each with its own noisy soft-tissue HU."""
    rng = np.random.default_rng(seed)
    hu = rng.normal(-850, 30, shape)
    mask = np.zeros(shape, np.uint8)
    x, y, z = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    for centre, radius in (((12, 12, 12), 4), ((28, 24, 18), 2)):
        ball = sum((a - c) ** 2 for a, c in zip((x, y, z), centre, strict=True)) <= radius**2
        hu[ball] = rng.normal(20, 60, int(ball.sum()))
        mask[ball] = 1
    mask[32, 8, 25] = 1
    hu[32, 8, 25] = 35
    return hu.round().astype(np.int16), mask


def write_scan(folder: Path, name: str = "chest", lps: bool = False, seed: int = 0) -> Scan:
    """Write the synthetic chest and its mask as NIfTI (RAS file order, or LPS)."""
    hu, mask = chest_with_tumors(seed)
    affine = AFFINE
    if lps:
        (hu, affine), (mask, _) = lps_twin(hu, AFFINE), lps_twin(mask, AFFINE)
    ct_path = save_nifti(folder / f"{name}.nii.gz", hu, affine)
    mask_path = save_nifti(folder / f"{name}_pred.nii.gz", mask, affine)
    return Scan(ct_path, mask_path, read_ct(ct_path), read_ct(mask_path).array)
