"""The whole pipeline on built-in phantoms: synth, preprocess, train, predict, evaluate, report.

``lungnet demo`` / ``make demo`` run :func:`run_demo` with :class:`DemoConfig`'s defaults,
chosen so that 2 CPU cores finish in under 10 minutes (see the README for the measured
time and Dice). Everything lands in one folder::

    OUT/data/            synthetic Decathlon-layout dataset (imagesTr, labelsTr, imagesTs, labelsTs)
    OUT/processed/       training slices + manifest.json
    OUT/artifacts/       unet_logs/version_0/: TensorBoard events, checkpoints/{best,last}.ckpt
    OUT/predictions/     <case>_pred.nii.gz for every test scan
    OUT/evaluation/      metrics.csv, summary.json, box plot
    OUT/reports/         <case>_report.html (+ PNG overlays and tumor tables) per test scan
    OUT/summary.json     the demo's headline numbers and the seconds each stage took
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lungnet.errors import LungNetInputError
from lungnet.io import atomic_path

__all__ = ["DemoConfig", "DemoResult", "QUICK_SETTINGS", "run_demo"]

log = logging.getLogger(__name__)

# A folder holding this file was made by the demo, so a rerun may replace it.
_MARKER = ".lungnet-demo"


#: ``lungnet demo --quick``: every stage at toy size, to check that everything runs (seconds).
QUICK_SETTINGS = dict(
    train_cases=2,
    val_cases=1,
    test_cases=2,
    size=48,
    clip_slices_min=4,
    base_channels=4,
    max_epochs=1,
    steps_per_epoch=2,
    batch_size=4,
    val_every=1,
)


@dataclass
class DemoConfig:
    """Settings of the demo; the defaults are the ones the README's numbers were measured with."""

    output_dir: Path = Path("demo_output")
    seed: int = 0  # dataset, split and training seed
    train_cases: int = (
        48  # phantoms for training (24 gave 0.76 / 0.71 held-out Dice with seeds 0 / 1)
    )
    val_cases: int = 6  # ... and for choosing the checkpoint (never the test cases)
    test_cases: int = 12  # held out; the reported numbers
    size: int = 128  # phantom in-plane voxels (field of view stays ~350 mm, so ~3 mm voxels)
    target_size: int | None = None  # network input size; None: the phantom size (no resize)
    tumor_diameter_mm: tuple[float, float] = (
        15.0,
        40.0,
    )  # at ~3 mm voxels most tumors under 15 mm were missed
    tumor_count: tuple[int, int] = (
        2,
        4,
    )  # every test case bears tumors; more tumors to learn from per phantom
    clip_slices_min: int = 30  # the original's abdomen clip
    base_channels: int = 16  # U-Net width (the original's 64 is GPU-sized; 32 was no better here)
    norm: str = "batch"  # BatchNorm: 0.46 -> 0.58 held-out Dice in 720 steps (README, ladder)
    hu_window: tuple[float, float] | None = (
        -1000.0,
        400.0,
    )  # lung to soft tissue mapped to [0, 1]: 0.58 -> 0.62
    context_slices: int = 1  # 2.5D: each slice with one neighbour above and below (2 was no better)
    loss: str = "bce_dice"
    learning_rate: float = 2e-3
    lr_schedule: str = "poly"  # decay to 0 over the fixed number of steps
    augment: bool = (
        True  # affine + elastic: 0.66 -> 0.68 at 2,160 steps; costs tumors under 20 mm (README)
    )
    batch_size: int = 8  # more, smaller steps learn faster per slice seen (sweep not on record)
    max_epochs: int = 40
    steps_per_epoch: int = 60  # fixed steps (not wall time) keep the demo deterministic
    val_every: int = 3  # validate (and maybe checkpoint) every this many epochs
    min_tumor_volume_mm3: float = (
        250.0  # drop predicted specks far smaller than the smallest tumor made
    )
    precision: str | None = (
        None  # Lightning precision; None: bf16 where the CPU/GPU has it natively, else 32-bit
    )
    write_reports: bool = True  # HTML + PNG report per test case
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        for name in (
            "train_cases",
            "val_cases",
            "test_cases",
            "max_epochs",
            "steps_per_epoch",
            "batch_size",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class DemoResult:
    summary: dict
    rows: list[dict]
    paths: dict[str, Path]


def _prepare_output(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise LungNetInputError(out, "exists and is not a folder")
        if any(out.iterdir()) and not (out / _MARKER).exists():
            raise LungNetInputError(
                out, "is not empty and was not made by `lungnet demo`; choose another --output-dir"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / _MARKER).write_text("made by lungnet demo; a rerun replaces this folder\n")


def run_demo(
    config: DemoConfig, on_stage: Callable[[str, float], None] | None = None
) -> DemoResult:
    """Run the pipeline end to end and write ``OUT/summary.json``.

    Args:
        config: the demo's settings.
        on_stage: called with ``(stage, seconds)`` after each stage (the CLI prints it).
    """
    import torch

    from lungnet.engine import TrainConfig, train
    from lungnet.evaluation.evaluate import evaluate_folders
    from lungnet.inference import Predictor
    from lungnet.io import read_ct
    from lungnet.masks import binarize
    from lungnet.naming import case_name, output_file_name
    from lungnet.preprocessing import NiftiPreprocessor
    from lungnet.synthetic import write_msd_dataset
    from lungnet.viz.case_report import write_report

    out = config.output_dir
    _prepare_output(out)
    paths = {
        "data": out / "data",
        "processed": out / "processed",
        "artifacts": out / "artifacts",
        "predictions": out / "predictions",
        "evaluation": out / "evaluation",
        "reports": out / "reports",
    }
    seconds: dict[str, float] = {}

    def stage(name: str, fn: Callable[[], object]) -> object:
        t = time.perf_counter()
        value = fn()
        seconds[name] = round(time.perf_counter() - t, 2)
        if on_stage is not None:
            on_stage(name, seconds[name])
        return value

    n_train = config.train_cases + config.val_cases
    stage(
        "synth",
        lambda: write_msd_dataset(
            paths["data"],
            cases=n_train,
            test_cases=config.test_cases,
            seed=config.seed,
            size=config.size,
            tumor_diameter_mm=config.tumor_diameter_mm,
            tumor_count=config.tumor_count,
            workers=config.workers,
        ),
    )
    pre = stage(
        "preprocess",
        lambda: NiftiPreprocessor(
            target_size=(config.target_size or config.size,) * 2,
            clip_slices_min=config.clip_slices_min,
            normalization="scale" if config.hu_window is None else "window",
            hu_window=config.hu_window,
            workers=config.workers,
        ).run(paths["data"], paths["processed"], val_split_count=config.val_cases),
    )
    if pre.failed:
        raise LungNetInputError(
            paths["data"], f"demo data failed to preprocess: {pre.failed[0].message}"
        )

    torch.manual_seed(config.seed)
    trained = stage(
        "train",
        lambda: train(
            TrainConfig(
                data_dir=paths["processed"],
                default_root_dir=paths["artifacts"],
                batch_size=config.batch_size,
                max_epochs=config.max_epochs,
                limit_train_batches=config.steps_per_epoch,
                learning_rate=config.learning_rate,
                lr_schedule=config.lr_schedule,
                loss=config.loss,
                base_channels=config.base_channels,
                norm=config.norm,
                context_slices=config.context_slices,
                seed=config.seed,
                augment=config.augment,
                check_val_every_n_epoch=config.val_every,
                precision=config.precision,
            )
        ),
    )

    test_scans = sorted(
        p for p in (paths["data"] / "imagesTs").glob("*.nii.gz") if not p.name.startswith(".")
    )

    def predict() -> None:
        predictor = Predictor(
            trained.best_checkpoint, device="auto", min_tumor_volume_mm3=config.min_tumor_volume_mm3
        )
        for scan in test_scans:
            outcome = predictor.predict_file(scan, paths["predictions"], overwrite=True)
            if outcome.status == "failed":
                raise LungNetInputError(scan, outcome.message)

    stage("predict", predict)
    evaluation = stage(
        "evaluate",
        lambda: evaluate_folders(
            paths["predictions"], paths["data"] / "labelsTs", paths["evaluation"], overwrite=True
        ),
    )

    def reports() -> dict[str, Path]:
        written = {}
        for scan in test_scans:
            case = case_name(scan)
            ct = read_ct(scan)
            mask = binarize(read_ct(paths["predictions"] / output_file_name(case, "mask")).array)
            gt = binarize(read_ct(paths["data"] / "labelsTs" / scan.name).array)
            written[case] = write_report(
                ct, mask, paths["reports"], gt=gt, case_name=case, overwrite=True
            )
        return written

    report_files = stage("report", reports) if config.write_reports else {}
    rows = evaluation.rows
    summary = _summary(config, rows, seconds, trained, paths, report_files)
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return DemoResult(summary=summary, rows=rows, paths={**paths, "summary": out / "summary.json"})


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return sum(values) / len(values) if values else None


def _json_number(value):
    """NaN (an undefined distance) is not valid JSON: write null."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _summary(
    config: DemoConfig, rows: list[dict], seconds: dict, trained, paths: dict, reports: dict
) -> dict:
    tumor = [r for r in rows if r["volume_gt_ml"] > 0]
    lesions_gt = sum(int(r["lesions_gt"]) for r in rows)
    settings = asdict(config)
    settings["output_dir"] = str(config.output_dir)
    return {
        "test_dice_mean": _mean([r["dice"] for r in tumor]),
        "test_hd95_mm_mean": _mean([r["hd95_mm"] for r in tumor]),
        "lesion_sensitivity": (sum(int(r["lesion_tp"]) for r in rows) / lesions_gt)
        if lesions_gt
        else None,
        "lesions_found": sum(int(r["lesion_tp"]) for r in rows),
        "lesions_present": lesions_gt,
        "false_positive_lesions": sum(int(r["lesion_fp"]) for r in rows),
        "test_cases": len(rows),
        "tumor_bearing_test_cases": len(tumor),
        "val_dice_3d_best": trained.best_score,
        "seconds": {**seconds, "total": round(sum(seconds.values()), 2)},
        "settings": settings,
        "cases": [
            {
                k: _json_number(r[k])
                for k in ("case", "dice", "hd95_mm", "lesions_gt", "lesion_tp", "lesion_fp")
            }
            for r in rows
        ],
        "paths": {
            "checkpoint": str(trained.best_checkpoint),
            "tensorboard": str(trained.log_dir),
            "predictions": str(paths["predictions"]),
            "evaluation": str(paths["evaluation"]),
            "reports": {case: str(p) for case, p in reports.items()},
        },
    }
