"""Which scans an inference input names: a NIfTI file, a DICOM series folder, or a folder of scans."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lungnet.io import is_nifti_path

__all__ = ["expand_inputs"]


def _is_series_folder(folder: Path) -> bool:
    # A folder holding plain (non-NIfTI) files is one DICOM series; DICOM files often
    # have no extension at all, so "anything that is not NIfTI" is the useful test.
    return any(p.is_file() and not p.name.startswith(".") and not is_nifti_path(p) for p in folder.iterdir())


def expand_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Expand the user's inputs into a list of scans (files or DICOM series folders).

    A folder of DICOM files is one series; a folder of NIfTI files and/or series
    sub-folders is a batch (hidden entries are ignored). Paths that do not exist are
    returned as they are, so reading them reports the problem for that input alone.
    """
    scans: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir() or _is_series_folder(path):
            scans.append(path)
            continue
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir() or is_nifti_path(entry):
                scans.append(entry)
    return scans
