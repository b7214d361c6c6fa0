"""NiftiPreprocessor: a folder of CT volumes -> validated per-slice .npy files + manifest.json.

Output layout::

    OUTPUT_ROOT/manifest.json
    OUTPUT_ROOT/{train,val}/<case>/data/<i>.npy    float32 (H, W)
    OUTPUT_ROOT/{train,val}/<case>/masks/<i>.npy   uint8 (H, W), values {0, 1}
    OUTPUT_ROOT/{train,val}/<case>/case.json       the case's manifest entry + config

Each case is written into a temporary folder and renamed into place, and the manifest
is rewritten atomically at the end, so a run killed at any moment and started again
ends with the same files as an uninterrupted run. A case counts as done only when its
``case.json`` matches the settings and sources and all its slice files are there.

One run at a time writes into an output folder: the run holds an operating-system lock
on it (:mod:`lungnet.preprocessing.output_lock`), and a second run refuses with one line
naming the folder and the run that has it (or waits, if asked to). A run removes only
the temporary files of processes that have ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lungnet.errors import LungNetInputError
from lungnet.io import atomic_dir
from lungnet.io.atomic import TMP_PREFIX, remove_stale_temporaries
from lungnet.io.grid import affines_match
from lungnet.preprocessing.cases import Case, find_cases
from lungnet.preprocessing.config import PreprocessConfig
from lungnet.preprocessing.manifest import SPLITS, case_entry, write_manifest
from lungnet.preprocessing.output_lock import output_lock
from lungnet.preprocessing.planning import planned_pixel_mm
from lungnet.preprocessing.slice_files import slice_files_complete, write_slices
from lungnet.preprocessing.slices import (
    PLANES_PER_BLOCK,
    preprocess_mask,
    preprocessed_plane_blocks,
)
from lungnet.preprocessing.stored import (
    StoredVolume,
    StreamBroken,
    StreamedVolume,
    open_streamed,
    read_stored,
)
from lungnet.preprocessing.workers import plan_workers

__all__ = ["NiftiPreprocessor", "PreprocessResult", "CaseOutcome"]

log = logging.getLogger(__name__)

# An integer label whose min..max range is this small is checked value by value, not voxel
# by voxel; otherwise this many slices are converted to float32 at a time.
_LABEL_RANGE_CHECKED_WHOLE = 4096
_LABEL_CHUNK_SLICES = 16


@dataclass(frozen=True)
class CaseOutcome:
    """What happened to one case.

    ``status`` is "done", "skipped" (already up to date) or "failed".
    """

    name: str
    status: str
    message: str = ""
    entry: dict | None = None


@dataclass
class PreprocessResult:
    """Summary of a :meth:`NiftiPreprocessor.run`, with the number of worker processes used."""

    output_root: Path
    outcomes: list[CaseOutcome] = field(default_factory=list)
    workers: int = 1

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


class NiftiPreprocessor:
    """Turn a Medical Segmentation Decathlon style folder into training slices.

    Args:
        target_size: in-plane slice size ``(H, W)`` in pixels.
        clip_slices_min: number of most inferior slices dropped from every volume.
        normalization: ``"scale"`` (HU / ``hu_divisor``, the seed's rule) or ``"window"``.
        hu_divisor: divisor for ``"scale"``.
        hu_window: ``(low, high)`` HU for ``"window"``.
        pixel_mm: spacing-aware slices at this pixel size in mm (see
            :class:`PreprocessConfig`); ``"auto"`` plans it from the training cases' median
            field of view (:func:`lungnet.preprocessing.planning.planned_pixel_mm`).
        workers: parallel processes (default: as many as both the usable cores and the
            available memory allow; see :func:`lungnet.preprocessing.workers.plan_workers`).
        progress: called with each :class:`CaseOutcome` as it finishes (the CLI's progress bar).
        wait_for_other_run: when another run is writing into the same output folder,
            wait for it to finish instead of refusing.
    """

    def __init__(
        self,
        target_size: tuple[int, int] = (256, 256),
        clip_slices_min: int = 30,
        normalization: str = "scale",
        hu_divisor: float = 3071.0,
        hu_window: tuple[float, float] | None = None,
        pixel_mm: float | str | None = None,
        workers: int | None = None,
        progress: Callable[[CaseOutcome], None] | None = None,
        wait_for_other_run: bool = False,
    ) -> None:
        self.config = PreprocessConfig(
            target_size=tuple(target_size),  # type: ignore[arg-type]
            clip_slices_min=clip_slices_min,
            normalization=normalization,
            hu_divisor=hu_divisor,
            hu_window=hu_window,
            pixel_mm=None if pixel_mm == "auto" else pixel_mm,
        )
        self.auto_pixel_mm = pixel_mm == "auto"
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.progress = progress
        self.wait_for_other_run = wait_for_other_run

    def run(
        self, input_root: str | Path, output_root: str | Path, val_split_count: int = 6
    ) -> PreprocessResult:
        """Preprocess every case of ``input_root`` into ``output_root``.

        The last ``val_split_count`` cases in sorted name order form the validation split.
        Bad cases are logged in one line each and skipped; the others still run.

        Returns:
            A :class:`PreprocessResult`; ``result.failed`` lists the cases that failed.

        Raises:
            LungNetInputError: ``input_root`` is not a dataset folder, or another run is
                writing into ``output_root`` (unless ``wait_for_other_run``).
        """
        if val_split_count < 0:
            raise ValueError(f"val_split_count must be >= 0, got {val_split_count}")
        input_root, output_root = Path(input_root), Path(output_root)
        cases = find_cases(input_root)
        if not cases:
            raise LungNetInputError(input_root / "imagesTr", "holds no .nii or .nii.gz images")
        n_val = min(val_split_count, len(cases))
        if n_val == len(cases) and n_val > 0:
            log.warning(
                "val_split_count=%d puts all %d cases into validation", val_split_count, len(cases)
            )
        splits = {
            c.name: ("val" if i >= len(cases) - n_val else "train") for i, c in enumerate(cases)
        }
        if self.auto_pixel_mm:
            train = [c for c in cases if splits[c.name] == "train"] or cases
            pixel_mm = planned_pixel_mm([c.image for c in train], self.config.target_size)
            self.config = dataclasses.replace(self.config, pixel_mm=pixel_mm)
            log.info("spacing-aware slices at %.3f mm per pixel (median field of view)", pixel_mm)

        workers = self.workers
        if workers is None:
            plan = plan_workers(cases, self.config)
            workers = plan.workers
            log.info("preprocessing with %s", plan.describe())
        workers = min(workers, len(cases))
        result = PreprocessResult(output_root, workers=workers)
        with output_lock(output_root, wait=self.wait_for_other_run):
            for folder in (output_root, *(output_root / s for s in SPLITS)):
                remove_stale_temporaries(folder)
            jobs = [(c, splits[c.name], output_root, self.config) for c in cases]
            # Each process works on one core: the arithmetic is numpy's, without threads.
            if workers == 1:
                for job in jobs:
                    self._record(result, _process_case(*job))
            else:
                with ProcessPoolExecutor(max_workers=workers) as pool:
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

    def _write_manifest(
        self, output_root: Path, cases: list[Case], result: PreprocessResult
    ) -> None:
        entries = {o.name: o.entry for o in result.outcomes if o.entry is not None}
        # Case folders of earlier runs that are no longer part of this dataset's output.
        # Temporaries are not case folders: remove_stale_temporaries judges those.
        for split in SPLITS:
            for folder in (
                sorted((output_root / split).glob("*")) if (output_root / split).is_dir() else []
            ):
                if folder.name.startswith(TMP_PREFIX):
                    continue
                entry = entries.get(folder.name)
                if entry is None or entry["split"] != split:
                    shutil.rmtree(folder, ignore_errors=True)
        write_manifest(
            output_root, self.config, {c.name: entries[c.name] for c in cases if c.name in entries}
        )


def _process_case_star(job: tuple) -> CaseOutcome:
    return _process_case(*job)


def _source_stamp(case: Case) -> dict:
    def stamp(p: Path) -> dict:
        st = p.stat()
        return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}

    return {"image": stamp(case.image), "label": stamp(case.label) if case.label else None}


def _process_case(
    case: Case, split: str, output_root: Path, config: PreprocessConfig
) -> CaseOutcome:
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
        return CaseOutcome(
            case.name, "failed", message=f"{case.image}: could not be processed ({e})"
        )


def _existing_entry(target: Path, config: PreprocessConfig, stamp: dict) -> dict | None:
    meta = target / "case.json"
    if not meta.is_file():
        return None
    try:
        saved = json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if (
        not isinstance(saved, dict)
        or saved.get("config") != config.to_dict()
        or saved.get("stamp") != stamp
    ):
        return None
    entry = saved.get("entry")
    if not isinstance(entry, dict) or not isinstance(entry.get("num_slices"), int):
        return None
    size = config.target_size
    for kind, dtype in (("data", np.float32), ("masks", np.uint8)):
        if not slice_files_complete(target / kind, entry["num_slices"], size, dtype):
            return None
    return entry


def _validate_pair(case: Case, image: StoredVolume | StreamedVolume, label: StoredVolume) -> None:
    if image.geometry.shape != label.geometry.shape:
        raise LungNetInputError(
            case.label,
            f"label shape {label.geometry.shape} differs from image shape "
            f"{image.geometry.shape} in {case.name}",
        )
    if not affines_match(image.geometry.affine, label.geometry.affine):
        raise LungNetInputError(
            case.label,
            f"label affine {np.round(label.geometry.affine, 3).tolist()} differs from image affine "
            f"{np.round(image.geometry.affine, 3).tolist()} in {case.name}",
        )
    _check_binary(case, label)


def _as_hu(stored: np.ndarray, label: StoredVolume) -> np.ndarray:
    """Float32 HU of some stored values, with read_ct's arithmetic."""
    hu = np.asarray(stored, dtype=np.float32).copy()
    if label.slope != 1.0:
        hu *= np.float32(label.slope)
    if label.intercept != 0.0:
        hu += np.float32(label.intercept)
    return hu


def _check_binary(case: Case, label: StoredVolume) -> None:
    """Refuse a label whose (scaled) values are not all 0 or 1, without a float copy of it."""
    stored = label.array
    if stored.dtype.kind in "iu":
        low, high = int(stored.min()), int(stored.max())
        if high - low <= _LABEL_RANGE_CHECKED_WHOLE:
            hu = _as_hu(np.arange(low, high + 1), label)
            if np.isin(hu, (0.0, 1.0)).all():
                return  # every value the label can hold is 0 or 1 once scaled
    for start in range(0, stored.shape[2], _LABEL_CHUNK_SLICES):
        hu = _as_hu(stored[:, :, start : start + _LABEL_CHUNK_SLICES], label)
        if ((hu != 0) & (hu != 1)).any():
            break
    else:
        return
    # A bad label: the report may take its time; it names what the label holds.
    hu = _as_hu(stored, label)
    other = (hu != 0) & (hu != 1)
    present = [v for v in (0.0, 1.0) if (hu == v).any()]
    values = np.unique(np.concatenate([hu[other], present]))
    shown = ", ".join(f"{v:g}" for v in values[:10]) + (", ..." if len(values) > 10 else "")
    raise LungNetInputError(
        case.label, f"is not a binary mask: values found {shown} (expected 0 and 1)"
    )


def _preprocess_to(
    target: Path, case: Case, split: str, config: PreprocessConfig, stamp: dict
) -> dict:
    streamed = open_streamed(case.image)
    if streamed is not None:
        # A stream found broken is read again whole below, which reports the file in
        # read_ct's words; the half-written case folder is already gone with atomic_dir.
        with contextlib.suppress(StreamBroken):
            return _preprocess_image_to(target, case, split, config, stamp, streamed)
    return _preprocess_image_to(target, case, split, config, stamp, read_stored(case.image))


def _preprocess_image_to(
    target: Path,
    case: Case,
    split: str,
    config: PreprocessConfig,
    stamp: dict,
    image: StoredVolume | StreamedVolume,
) -> dict:
    """Preprocess one case whose image is read (or opened to stream) into ``target``."""
    num_z = image.shape[2]
    if num_z <= config.clip_slices_min:
        raise LungNetInputError(
            case.image,
            f"has {num_z} slices, not more than clip_slices_min={config.clip_slices_min}; "
            "nothing would remain",
        )
    label = read_stored(case.label)  # type: ignore[arg-type]
    _validate_pair(case, image, label)
    masks = preprocess_mask(
        label.array, config, slope=label.slope, intercept=label.intercept, spacing=image.spacing
    )
    del label
    tumor = np.flatnonzero(masks.reshape(len(masks), -1).any(axis=1))
    entry = case_entry(
        split,
        len(masks),
        tumor,
        spacing=[round(s, 6) for s in image.spacing],
        source={"image": str(case.image), "label": str(case.label), **image.geometry.as_dict()},
    )
    with atomic_dir(target) as tmp:
        (tmp / "data").mkdir()
        (tmp / "masks").mkdir()
        # Image slices go to disk a block at a time as they are made: no whole stack in memory.
        blocks = preprocessed_plane_blocks(
            image.planes(PLANES_PER_BLOCK),
            image.shape,
            config,
            slope=image.slope,
            intercept=image.intercept,
            spacing=image.spacing,
        )
        for first, block in blocks:
            write_slices(tmp / "data", block, first)
        write_slices(tmp / "masks", masks)
        (tmp / "case.json").write_text(
            json.dumps({"config": config.to_dict(), "stamp": stamp, "entry": entry})
        )
    return entry
