"""Which scans an inference input names: a NIfTI file, a DICOM series folder, a folder of
scans, or a Decathlon dataset folder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lungnet.io import is_dicom_file, is_nifti_path

__all__ = ["FoundScans", "find_scans", "expand_inputs", "DATASET_SPLITS"]

#: The scan folders of a Decathlon (MSD / nnU-Net raw) dataset that can be predicted.
DATASET_SPLITS = ("imagesTs", "imagesTr")


@dataclass
class FoundScans:
    """The scans to predict, and the entries that were passed over with the reason."""

    scans: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _is_series_folder(folder: Path) -> bool:
    return any(p.is_file() and is_dicom_file(p) for p in _visible(folder))


def _dataset_scans(folder: Path, split: str) -> Path | None:
    """The split folder of a Decathlon dataset folder, or None when ``folder`` is not one."""
    if not any((folder / s).is_dir() for s in DATASET_SPLITS):
        return None
    return folder / split


def find_scans(paths: Iterable[str | Path], split: str = "imagesTs") -> FoundScans:
    """Expand the user's inputs into scans (NIfTI files or DICOM series folders).

    - A folder holding DICOM files is one series.
    - A Decathlon dataset folder (with ``imagesTs/`` or ``imagesTr/``) stands for its
      ``split`` folder.
    - Any other folder is a batch: its NIfTI files and DICOM series sub-folders are scans,
      hidden entries are ignored, and other files are skipped with a reason.
    - A path that does not exist is returned as it is, so reading it reports the problem
      for that input alone.
    """
    found = FoundScans()
    for raw in paths:
        path = Path(raw)
        if not path.is_dir() or _is_series_folder(path):
            found.scans.append(path)
            continue
        images = _dataset_scans(path, split)
        if images is not None:
            if not images.is_dir():
                found.skipped.append((path, f"is a dataset folder without {split}/"))
                continue
            path = images
        for entry in _visible(path):
            if is_nifti_path(entry) and entry.is_file():
                found.scans.append(entry)
            elif entry.is_dir() and _is_series_folder(entry):
                found.scans.append(entry)
            elif entry.is_dir():
                found.skipped.append((entry, "is a folder without DICOM files"))
            else:
                found.skipped.append((entry, "is neither a NIfTI file nor a DICOM series"))
    return found


def expand_inputs(paths: Iterable[str | Path], split: str = "imagesTs") -> list[Path]:
    """The scans of :func:`find_scans` (the skipped entries dropped)."""
    return find_scans(paths, split).scans
