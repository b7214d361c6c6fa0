"""Writes tiny preprocessed slice folders (manifest.json + per-slice .npy) for the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lungnet.preprocessing import PreprocessConfig, case_entry, write_manifest


def phantom_case(seed: int, num_slices: int = 8, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``(Z, H, W)`` float32 image and uint8 mask: noisy background, a bright disk tumor.

    The tumor fills the middle quarter of the slices (slices ``Z//2 - Z//8`` up to
    ``Z//2 + Z//8``), so 1 slice in 4 has tumor, as in an imbalanced CT stack.
    """
    rng = np.random.default_rng(seed)
    image = rng.normal(-0.2, 0.02, (num_slices, size, size)).astype(np.float32)
    mask = np.zeros((num_slices, size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 3, 2 * size // 3, 2)
    radius = size / 6
    for z in range(num_slices // 2 - num_slices // 8, num_slices // 2 + max(1, num_slices // 8)):
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
        mask[z][disk] = 1
        image[z][disk] = 0.02 + rng.normal(0, 0.01)
    return image, mask


def write_slice_folder(
    root: Path,
    train_cases: int = 2,
    val_cases: int = 1,
    num_slices: int = 8,
    size: int = 32,
    seed: int = 0,
) -> Path:
    """Write the layout ``NiftiPreprocessor`` writes, with :func:`phantom_case` volumes."""
    cases = {}
    names = [("train", f"case_{i:02d}") for i in range(train_cases)]
    names += [("val", f"case_{train_cases + i:02d}") for i in range(val_cases)]
    for k, (split, name) in enumerate(names):
        image, mask = phantom_case(seed + k, num_slices, size)
        for kind, arr in (("data", image), ("masks", mask)):
            folder = root / split / name / kind
            folder.mkdir(parents=True)
            for i in range(num_slices):
                np.save(folder / f"{i}.npy", arr[i])
        tumor = np.flatnonzero(mask.reshape(num_slices, -1).any(1))
        cases[name] = case_entry(
            split, num_slices, tumor, source={"shape": [size, size, num_slices + 2]}
        )
    write_manifest(root, PreprocessConfig(target_size=(size, size), clip_slices_min=2), cases)
    return root
