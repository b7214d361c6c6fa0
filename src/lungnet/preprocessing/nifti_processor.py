"""NiftiPreprocessor: a dataset folder of CT volumes -> validated per-slice .npy files + manifest.json.

Output layout::

    OUTPUT_ROOT/manifest.json
    OUTPUT_ROOT/{train,val}/<case>/data/<i>.npy    float32 (H, W)
    OUTPUT_ROOT/{train,val}/<case>/masks/<i>.npy   uint8 (H, W), values {0, 1}
    OUTPUT_ROOT/{train,val}/<case>/case.json       the case's manifest entry + config

Each case is written into a temporary folder and renamed into place, and the manifest
is rewritten atomically at the end, so a run killed at any moment and started again
ends with the same files as an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lungnet.errors import LungNetInputError
from lungnet.io import atomic_dir, atomic_path, read_ct
from lungnet.io.atomic import TMP_PREFIX
from lungnet.preprocessing.cases import Case, find_cases
from lungnet.preprocessing.intensity import PreprocessConfig, preprocess_image, preprocess_mask

__all__ = ["NiftiPreprocessor", "PreprocessResult", "CaseOutcome", "MANIFEST_NAME", "load_manifest"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "lungnet-slices"
MANIFEST_VERSION = 1
_SPLITS = ("train", "val")
# Affines of image and label must agree to this many mm (float32 header round-off is ~1e-5).
_AFFINE_ATOL_MM = 1e-3


@dataclass(frozen=True)
class CaseOutcome:
    """What happened to one case: ``status`` is "done", "skipped" (already up to date) or "failed"."""

    name: str
    status: str
    message: str = ""
    entry: dict | None = None


@dataclass
class PreprocessResult:
    """Summary of a :meth:`NiftiPreprocessor.run`."""

    output_root: Path
    outcomes: list[CaseOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def summary(self) -> str:
        return (
            f"{len(self.outcomes)} case(s): {self.count('done')} preprocessed, "
            f"{self.count('skipped')} already up to date, {self.count('failed')} failed"
        )


def load_manifest(root: str | Path) -> dict:
    """Read ``root/manifest.json``, refusing folders that NiftiPreprocessor did not write."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise LungNetInputError(root, f"has no {MANIFEST_NAME}; run `lungnet preprocess` on the dataset first")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise LungNetInputError(path, f"is not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise LungNetInputError(path, "is not a LungNet slice manifest")
    return manifest


class NiftiPreprocessor:
    """Turn a Medical Segmentation Decathlon style folder into training slices.

    Args:
        target_size: in-plane slice size ``(H, W)`` in pixels.
        clip_slices_min: number of most inferior slices dropped from every volume.
        normalization: ``"scale"`` (HU / ``hu_divisor``, the seed's rule) or ``"window"``.
        hu_divisor: divisor for ``"scale"``.
        hu_window: ``(low, high)`` HU for ``"window"``.
        workers: parallel processes (default: the machine's cores).
        progress: called with each :class:`CaseOutcome` as it finishes (the CLI's progress bar).
    """

    def __init__(
        self,
        target_size: tuple[int, int] = (256, 256),
        clip_slices_min: int = 30,
        normalization: str = "scale",
        hu_divisor: float = 3071.0,
        hu_window: tuple[float, float] | None = None,
        workers: int | None = None,
        progress: Callable[[CaseOutcome], None] | None = None,
    ) -> None:
        self.config = PreprocessConfig(
            target_size=tuple(target_size),  # type: ignore[arg-type]
            clip_slices_min=clip_slices_min,
            normalization=normalization,
            hu_divisor=hu_divisor,
            hu_window=hu_window,
        )
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers or os.cpu_count() or 1
        self.progress = progress

    def run(self, input_root: str | Path, output_root: str | Path, val_split_count: int = 6) -> PreprocessResult:
        """Preprocess every case of ``input_root`` into ``output_root``.

        The last ``val_split_count`` cases in sorted name order form the validation split.
        Bad cases are logged in one line each and skipped; the others still run.

        Returns:
            A :class:`PreprocessResult`; ``result.failed`` lists the cases that failed.

        Raises:
            LungNetInputError: ``input_root`` is not a dataset folder.
        """
        if val_split_count < 0:
            raise ValueError(f"val_split_count must be >= 0, got {val_split_count}")
        input_root, output_root = Path(input_root), Path(output_root)
        cases = find_cases(input_root)
        if not cases:
            raise LungNetInputError(input_root / "imagesTr", "holds no .nii or .nii.gz images")
        n_val = min(val_split_count, len(cases))
        if n_val == len(cases) and n_val > 0:
            log.warning("val_split_count=%d puts all %d cases into validation", val_split_count, len(cases))
        splits = {c.name: ("val" if i >= len(cases) - n_val else "train") for i, c in enumerate(cases)}

        output_root.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(output_root)
        jobs = [(c, splits[c.name], output_root, self.config) for c in cases]
        result = PreprocessResult(output_root)
        if self.workers == 1 or len(jobs) == 1:
            outcomes = (_process_case(*job) for job in jobs)
            for outcome in outcomes:
                self._record(result, outcome)
        else:
            with ProcessPoolExecutor(max_workers=min(self.workers, len(jobs)), initializer=_init_worker) as pool:
                for outcome in pool.map(_process_case_star, jobs):
                    self._record(result, outcome)
        self._write_manifest(output_root, cases, result)
        log.info("%s", result.summary())
        return result

    def _record(self, result: PreprocessResult, outcome: CaseOutcome) -> None:
        if outcome.status == "failed":
            log.error("%s", outcome.message)
        result.outcomes.append(outcome)
        if self.progress is not None:
            self.progress(outcome)

    def _write_manifest(self, output_root: Path, cases: list[Case], result: PreprocessResult) -> None:
        entries = {o.name: o.entry for o in result.outcomes if o.entry is not None}
        # Case folders of earlier runs that are no longer part of this dataset's output.
        for split in _SPLITS:
            for folder in sorted((output_root / split).glob("*")) if (output_root / split).is_dir() else []:
                entry = entries.get(folder.name)
                if entry is None or entry["split"] != split:
                    shutil.rmtree(folder, ignore_errors=True)
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "config": self.config.to_dict(),
            "cases": {c.name: entries[c.name] for c in cases if c.name in entries},
        }
        with atomic_path(output_root / "manifest.json") as tmp:
            tmp.write_text(json.dumps(manifest, indent=1))


def _init_worker() -> None:
    # Each worker is one process; torch's intra-op threads would oversubscribe the cores.
    import torch

    torch.set_num_threads(1)


def _remove_leftovers(output_root: Path) -> None:
    for split_dir in [output_root, *(output_root / s for s in _SPLITS)]:
        if split_dir.is_dir():
            for tmp in split_dir.glob(f"{TMP_PREFIX}*"):
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)


def _process_case_star(job: tuple) -> CaseOutcome:
    return _process_case(*job)


def _source_stamp(case: Case) -> dict:
    def stamp(p: Path) -> dict:
        st = p.stat()
        return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}

    return {"image": stamp(case.image), "label": stamp(case.label) if case.label else None}


def _process_case(case: Case, split: str, output_root: Path, config: PreprocessConfig) -> CaseOutcome:
    target = output_root / split / case.name
    try:
        if case.label is None:
            raise LungNetInputError(case.image, f"has no label file labelsTr/{case.name}.nii.gz")
        stamp = _source_stamp(case)
        done = _existing_entry(target, config, stamp)
        if done is not None:
            return CaseOutcome(case.name, "skipped", entry=done)
        entry = _preprocess_to(target, case, split, config, stamp)
        return CaseOutcome(case.name, "done", entry=entry)
    except LungNetInputError as e:
        return CaseOutcome(case.name, "failed", message=str(e))
    except (OSError, MemoryError) as e:
        return CaseOutcome(case.name, "failed", message=f"{case.image}: could not be processed ({e})")


def _existing_entry(target: Path, config: PreprocessConfig, stamp: dict) -> dict | None:
    meta = target / "case.json"
    if not meta.is_file():
        return None
    try:
        saved = json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if saved.get("config") != config.to_dict() or saved.get("stamp") != stamp:
        return None
    return saved.get("entry")


def _validate_pair(case: Case, image, label) -> None:
    if image.geometry.shape != label.geometry.shape:
        raise LungNetInputError(
            case.label,
            f"label shape {label.geometry.shape} differs from image shape {image.geometry.shape} in {case.name}",
        )
    if not np.allclose(image.geometry.affine, label.geometry.affine, atol=_AFFINE_ATOL_MM):
        raise LungNetInputError(
            case.label,
            f"label affine {np.round(label.geometry.affine, 3).tolist()} differs from image affine "
            f"{np.round(image.geometry.affine, 3).tolist()} in {case.name}",
        )
    # One pass without sorting: np.unique over a 512 x 512 x 300 float label takes seconds.
    other = (label.array != 0) & (label.array != 1)
    if other.any():
        present = [v for v in (0.0, 1.0) if (label.array == v).any()]
        values = np.unique(np.concatenate([label.array[other], present]))
        shown = ", ".join(f"{v:g}" for v in values[:10]) + (", ..." if len(values) > 10 else "")
        raise LungNetInputError(case.label, f"is not a binary mask: values found {shown} (expected 0 and 1)")


def _preprocess_to(target: Path, case: Case, split: str, config: PreprocessConfig, stamp: dict) -> dict:
    image = read_ct(case.image)
    num_z = image.shape[2]
    if num_z <= config.clip_slices_min:
        raise LungNetInputError(
            case.image,
            f"has {num_z} slices, not more than clip_slices_min={config.clip_slices_min}; nothing would remain",
        )
    label = read_ct(case.label)  # type: ignore[arg-type]
    _validate_pair(case, image, label)
    slices = preprocess_image(image.array, config)
    masks = preprocess_mask(label.array > 0.5, config)
    del label
    tumor = np.flatnonzero(masks.reshape(len(masks), -1).any(axis=1))
    entry = {
        "split": split,
        "num_slices": int(len(slices)),
        "tumor_slices": [int(i) for i in tumor],
        "spacing": [round(s, 6) for s in image.spacing],
        "source": {"image": str(case.image), "label": str(case.label), **image.geometry.as_dict()},
    }
    with atomic_dir(target) as tmp:
        (tmp / "data").mkdir()
        (tmp / "masks").mkdir()
        for i in range(len(slices)):
            np.save(tmp / "data" / f"{i}.npy", slices[i])
            np.save(tmp / "masks" / f"{i}.npy", masks[i])
        (tmp / "case.json").write_text(json.dumps({"config": config.to_dict(), "stamp": stamp, "entry": entry}))
    return entry
