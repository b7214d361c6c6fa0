"""The slice manifest (``manifest.json`` of a preprocessed folder): its one writer and reader.

Layout of the folder it describes::

    ROOT/manifest.json
    ROOT/{train,val}/<case>/data/<i>.npy    float32 (H, W)
    ROOT/{train,val}/<case>/masks/<i>.npy   uint8 (H, W), values {0, 1}

The manifest records the :class:`PreprocessConfig` that made the slices and, per case,
its split, slice count and the slices that hold tumor. ``lungnet preprocess`` writes it,
training reads it, and tests and benchmarks that fake a preprocessed folder write it
through :func:`write_manifest` too, so there is one definition of the format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lungnet.errors import LungNetInputError
from lungnet.io.atomic import atomic_path
from lungnet.preprocessing.config import PreprocessConfig

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "SPLITS",
    "case_entry",
    "read_manifest",
    "validate_manifest",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "lungnet-slices"
MANIFEST_VERSION = 1
SPLITS = ("train", "val")


def case_entry(split: str, num_slices: int, tumor_slices: Iterable[int], **extra: Any) -> dict:
    """One case's manifest entry; ``extra`` (spacing, source...) is stored alongside."""
    return {
        "split": split,
        "num_slices": int(num_slices),
        "tumor_slices": [int(i) for i in tumor_slices],
        **extra,
    }


def write_manifest(
    root: str | Path, config: PreprocessConfig | Mapping[str, Any], cases: Mapping[str, dict]
) -> Path:
    """Write ``root/manifest.json`` atomically, checking it as :func:`read_manifest` would.

    Args:
        root: the preprocessed folder.
        config: the preprocessing config that made the slices (or its dict).
        cases: case name -> :func:`case_entry`, written in the given order.

    Raises:
        ValueError: the manifest would not pass :func:`read_manifest` (a writer's bug).
    """
    config_dict = config.to_dict() if isinstance(config, PreprocessConfig) else dict(config)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "config": config_dict,
        "cases": dict(cases),
    }
    path = Path(root) / MANIFEST_NAME
    try:
        validate_manifest(manifest, path)
    except LungNetInputError as e:
        raise ValueError(str(e)) from e
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return path


def read_manifest(root: str | Path) -> dict[str, Any]:
    """Read and check ``root/manifest.json``.

    Returns:
        The manifest dict; its ``"config"`` is a valid :class:`PreprocessConfig` dict.

    Raises:
        LungNetInputError: the folder has no manifest, or the manifest is unreadable or
            not a LungNet slice manifest (naming the file and the problem).
    """
    root = Path(root)
    path = root / MANIFEST_NAME
    if not root.is_dir():
        raise LungNetInputError(root, "data folder does not exist; run `lungnet preprocess` first")
    if not path.is_file():
        raise LungNetInputError(
            root,
            f"no {MANIFEST_NAME} here; this is not a preprocessed folder "
            "(run `lungnet preprocess` first)",
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LungNetInputError(path, f"cannot be read as JSON ({e})") from e
    validate_manifest(manifest, path)
    return manifest


def validate_manifest(manifest: Any, path: str | Path) -> None:
    """Raise :class:`LungNetInputError` naming ``path`` unless ``manifest`` is well formed."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise LungNetInputError(
            path, f"is not a LungNet slice manifest (format must be {MANIFEST_FORMAT!r})"
        )
    cases = manifest.get("cases")
    if not isinstance(cases, dict):
        raise LungNetInputError(path, "has no 'cases' mapping")
    try:
        PreprocessConfig.from_dict(manifest.get("config") or {})
    except (TypeError, ValueError) as e:
        raise LungNetInputError(path, f"has an invalid 'config' ({e})") from e
    for name, entry in cases.items():
        if not _is_valid_entry(entry):
            raise LungNetInputError(
                path,
                f"case {name!r} needs split in {SPLITS}, num_slices >= 0 "
                "and tumor_slices within range",
            )


def _is_valid_entry(entry: Any) -> bool:
    if not isinstance(entry, dict) or entry.get("split") not in SPLITS:
        return False
    num_slices = entry.get("num_slices")
    if isinstance(num_slices, bool) or not isinstance(num_slices, int) or num_slices < 0:
        return False
    tumor = entry.get("tumor_slices")
    return isinstance(tumor, list) and all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < num_slices for i in tumor
    )
