"""Dataset over the per-slice ``.npy`` files that ``NiftiPreprocessor`` writes.

Folder layout (see ``lungnet.preprocessing.nifti_processor``)::

    ROOT/manifest.json
    ROOT/{train,val}/<case>/data/<i>.npy    float32 (H, W), normalized intensities
    ROOT/{train,val}/<case>/masks/<i>.npy   uint8 (H, W), values {0, 1}

Slice ``(H, W)`` is the canonical ``(X, Y)`` plane: H runs toward the patient's right,
W toward anterior; slice index ``i`` runs inferior to superior.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from lungnet.errors import LungNetInputError
from lungnet.preprocessing.config import PreprocessConfig
from lungnet.preprocessing.manifest import SPLITS, read_manifest
from lungnet.preprocessing.slices import context_indices

__all__ = ["LungDataset", "SliceRef", "read_slice_manifest", "SPLITS"]

# The manifest's one reader lives with its writer; this name is the seed-era import path.
read_slice_manifest = read_manifest


@dataclass(frozen=True)
class SliceRef:
    """One slice of the dataset: case name, case number in this split, slice index, tumor flag."""

    case: str
    case_index: int
    slice_index: int
    has_tumor: bool


class LungDataset(Dataset):
    """2D (or 2.5D) slices of one split of a preprocessed folder.

    Each item is a dict:

    - ``"image"``: float32 ``(1 + 2k, H, W)``, the slice and its ``k`` neighbours on each
      side (inferior to superior, edges repeated; :func:`context_indices`);
    - ``"mask"``: float32 ``(1, H, W)`` in {0, 1};
    - ``"index"``: int, the item's index in this dataset (used to gather per-volume Dice);
    - ``"case_index"``: int, the case's number in :attr:`case_names`.

    Args:
        root: the preprocessed folder (with ``manifest.json``).
        split: ``"train"`` or ``"val"``: the role of these slices.
        context_slices: ``k``, neighbours on each side stacked as extra channels.
        manifest: an already read manifest (saves re-reading it).
        cases: the cases to use (cross-validation folds); default: the cases the manifest
            puts in ``split``. Each case is read from the folder it was written to.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        context_slices: int = 0,
        manifest: dict[str, Any] | None = None,
        cases: list[str] | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if (
            isinstance(context_slices, bool)
            or not isinstance(context_slices, int)
            or context_slices < 0
        ):
            raise ValueError(f"context_slices must be an int >= 0, got {context_slices!r}")
        self.root = Path(root)
        self.split = split
        self.context_slices = context_slices
        self.manifest = manifest if manifest is not None else read_slice_manifest(self.root)
        self.config = PreprocessConfig.from_dict(self.manifest["config"])
        entries = self.manifest["cases"]
        if cases is None:
            cases = [name for name, e in entries.items() if e["split"] == split]
        unknown = sorted(set(cases) - set(entries))
        if unknown:
            raise LungNetInputError(self.root, f"manifest has no case(s) {unknown}")
        self.case_names: list[str] = sorted(n for n in cases if entries[n]["num_slices"] > 0)
        self.num_slices: list[int] = [
            self.manifest["cases"][n]["num_slices"] for n in self.case_names
        ]
        self.slices: list[SliceRef] = []
        for ci, name in enumerate(self.case_names):
            tumor = set(self.manifest["cases"][name]["tumor_slices"])
            self.slices.extend(
                SliceRef(name, ci, i, i in tumor) for i in range(self.num_slices[ci])
            )

    def __len__(self) -> int:
        return len(self.slices)

    @property
    def tumor_flags(self) -> np.ndarray:
        """``(N,)`` bool: whether each item's mask has tumor (from the manifest, no file opened)."""
        return np.fromiter((s.has_tumor for s in self.slices), dtype=bool, count=len(self.slices))

    def lesion_spans(self) -> list[tuple[int, ...]]:
        """Per item, the slice count of each tumor (3D component) that its mask cuts.

        ``()`` for a tumor-free slice. A slice through a 60 mm mass and a 6 mm nodule gives
        e.g. ``(20, 2)``. Only the manifest's tumor slices are opened, and components are
        26-connected (:func:`lungnet.masks.label_components`) across neighbouring slices.
        """
        from lungnet.masks import label_components

        spans: list[tuple[int, ...]] = [()] * len(self.slices)
        first = 0
        for ci, name in enumerate(self.case_names):
            tumor = sorted(self.manifest["cases"][name]["tumor_slices"])
            if tumor:
                low = tumor[0]
                stack = np.zeros((tumor[-1] - low + 1, *self.config.target_size), bool)
                for i in tumor:
                    stack[i - low] = self._load(name, "masks", i) > 0
                labels, count = label_components(stack)
                present = [np.unique(labels[i - low]) for i in tumor]
                slices_of = np.zeros(count + 1, int)
                for ids in present:
                    slices_of[ids] += 1
                for i, ids in zip(tumor, present, strict=True):
                    spans[first + i] = tuple(int(slices_of[c]) for c in ids if c)
            first += self.num_slices[ci]
        return spans

    def _case_dir(self, case: str) -> Path:
        return self.root / self.manifest["cases"][case]["split"] / case

    def _load(self, case: str, kind: str, i: int) -> np.ndarray:
        path = self._case_dir(case) / kind / f"{i}.npy"
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise LungNetInputError(path, f"cannot be read as a slice array ({e})") from e

    def __getitem__(self, index: int) -> dict[str, Any]:
        ref = self.slices[index]
        n = self.num_slices[ref.case_index]
        planes = [
            self._load(ref.case, "data", j)
            for j in context_indices(ref.slice_index, n, self.context_slices)
        ]
        image = np.stack(planes).astype(np.float32, copy=False)
        mask = self._load(ref.case, "masks", ref.slice_index)
        expected = self.config.target_size
        if image.shape[1:] != expected or mask.shape != expected:
            raise LungNetInputError(
                self._case_dir(ref.case),
                f"slice {ref.slice_index} has shape {image.shape[1:]} / mask {mask.shape}, "
                f"manifest says {expected}",
            )
        return {
            "image": torch.from_numpy(image),
            "mask": torch.from_numpy(mask.astype(np.float32)[None]),
            "index": index,
            "case_index": ref.case_index,
        }
