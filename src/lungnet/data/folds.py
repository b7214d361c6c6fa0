"""Case-level K-fold splits for cross-validation, saved the way nnU-Net saves them.

``splits_final.json`` is a list with one ``{"train": [cases], "val": [cases]}`` per fold,
the file nnU-Net writes beside its preprocessed data; a user can read it, or edit it to
choose the folds, and a run reads it back instead of drawing again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lungnet.errors import LungNetInputError
from lungnet.io.atomic import atomic_path

__all__ = ["SPLITS_FILE", "SPLIT_SEED", "kfold_splits", "read_splits", "write_splits"]

SPLITS_FILE = "splits_final.json"
#: nnU-Net's fixed shuffling seed: the folds depend only on the case names.
SPLIT_SEED = 12345


def kfold_splits(cases: Sequence[str], folds: int, seed: int = SPLIT_SEED) -> list[dict]:
    """Deterministic K-fold splits of ``cases``: each case is in exactly one fold's val.

    Raises:
        LungNetInputError: fewer cases than folds.
    """
    names = sorted(cases)
    if folds < 2 or len(names) < folds:
        raise LungNetInputError(
            None,
            f"{folds}-fold cross-validation needs at least {max(folds, 2)} cases, got {len(names)}",
        )
    order = np.random.default_rng(seed).permutation(len(names))
    parts = np.array_split(order, folds)
    splits = []
    for part in parts:
        val = sorted(names[i] for i in part)
        splits.append({"train": [n for n in names if n not in set(val)], "val": val})
    return splits


def write_splits(path: str | Path, splits: list[dict]) -> Path:
    """Write ``splits`` as JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(splits, indent=1) + "\n")
    return path


def read_splits(path: str | Path, cases: Sequence[str]) -> list[dict]:
    """Read a splits file and check that each fold names known cases only.

    Raises:
        LungNetInputError: unreadable, malformed, or naming cases the data does not have.
    """
    path = Path(path)
    try:
        splits = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LungNetInputError(path, f"cannot be read as JSON ({e})") from e
    known = set(cases)
    if not isinstance(splits, list) or not all(
        isinstance(s, dict) and isinstance(s.get("train"), list) and isinstance(s.get("val"), list)
        for s in splits
    ):
        raise LungNetInputError(path, 'must be a list of {"train": [...], "val": [...]} folds')
    for k, fold in enumerate(splits):
        unknown = sorted((set(fold["train"]) | set(fold["val"])) - known)
        if unknown:
            raise LungNetInputError(path, f"fold {k} names cases the data does not have: {unknown}")
        if not fold["val"] or not fold["train"]:
            raise LungNetInputError(path, f"fold {k} needs training and validation cases")
    return splits
