"""Evaluate a folder of predicted masks against a folder of ground-truth masks.

Pairing: a ground-truth file ``<case>.nii.gz`` (or ``.nii``) is paired with
``<case>_pred.nii.gz`` or ``<case>.nii.gz`` in the prediction folder, with or without
nnU-Net's ``_0000`` channel suffix (``<case>_prob.nii.gz`` probability maps written beside
the masks by ``lungnet predict`` are ignored). Both masks are read
with :func:`lungnet.io.read_ct` (canonical RAS order, values above lungnet.masks.THRESHOLD
are tumor) and must share shape and affine. Outputs, in the output folder:

- ``metrics.csv``: one row per case (column ``case`` first, then :data:`METRIC_COLUMNS`);
  undefined values (see :mod:`lungnet.evaluation.metrics`) are empty cells.
- ``summary.json``: mean, median, sample standard deviation and count of each metric over
  all cases and over tumor-bearing cases (non-empty ground truth), undefined values skipped;
  lesion sensitivity by tumor size (:data:`SIZE_BINS`, equivalent-sphere diameter); and the
  false positives on tumor-free cases (components per scan, mL), which per-case Dice hides:
  an empty prediction of a tumor-free case scores Dice 1 whatever else was predicted nowhere.
- ``metrics_boxplot.png``: the per-case distribution of each metric.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lungnet.errors import LungNetInputError
from lungnet.evaluation.lesions import lesion_detections, match_lesions
from lungnet.evaluation.metrics import NSD_TOLERANCE_MM, case_metrics
from lungnet.io.atomic import atomic_path
from lungnet.io.grid import check_same_grid
from lungnet.io.volume import is_nifti_path, read_ct
from lungnet.masks import THRESHOLD, binarize
from lungnet.naming import case_name, case_of_output, strip_nifti_suffix

__all__ = [
    "METRIC_COLUMNS",
    "SIZE_BINS",
    "CasePair",
    "detection_summary",
    "EvaluationResult",
    "evaluate_case",
    "case_row",
    "evaluate_folders",
    "pair_cases",
    "summarize",
    "write_boxplot",
    "write_metrics_csv",
]

log = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "dice",
    "iou",
    "precision",
    "recall",
    "hd95_mm",
    "assd_mm",
    "nsd_2mm",
    "volume_gt_ml",
    "volume_pred_ml",
    "lesions_gt",
    "lesions_pred",
    "lesion_tp",
    "lesion_fp",
    "lesion_fn",
)
OUTPUT_NAMES = ("metrics.csv", "summary.json", "metrics_boxplot.png")
#: Tumor size bins of the sensitivity table: (label, lowest diameter, below this diameter).
SIZE_BINS = (
    ("<10 mm", 0.0, 10.0),
    ("10-20 mm", 10.0, 20.0),
    ("20-50 mm", 20.0, 50.0),
    (">50 mm", 50.0, math.inf),
)


@dataclass(frozen=True)
class CasePair:
    case: str
    pred: Path
    gt: Path


@dataclass
class EvaluationResult:
    """What :func:`evaluate_folders` computed and wrote.

    Attributes:
        rows: one dict per evaluated case (``case`` plus :data:`METRIC_COLUMNS`).
        summary: the content of ``summary.json``.
        failures: case name -> one-line reason, for cases that could not be evaluated.
        unmatched_predictions: prediction files without a ground-truth file (skipped).
        outputs: the files written.
    """

    rows: list[dict]
    summary: dict
    failures: dict[str, str] = field(default_factory=dict)
    unmatched_predictions: list[Path] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


def _mask_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise LungNetInputError(folder, "is not a folder")
    return sorted(p for p in folder.iterdir() if is_nifti_path(p) and not p.name.startswith("."))


def _ground_truth_case(file_name: str, gt_cases: dict, kind: str = "mask") -> str | None:
    """The ground-truth case a prediction file belongs to, in any spelling LungNet accepts.

    ``<case>_pred.nii.gz`` and a bare ``<case>.nii.gz`` both pair with ``<case>``, and so
    do nnU-Net's channel-suffixed ``<case>_0000_pred.nii.gz`` / ``<case>_0000.nii.gz``.
    """
    output_case = case_of_output(file_name, kind)
    stems = [output_case] if output_case is not None else []
    if kind == "mask":
        stems.append(strip_nifti_suffix(file_name))
    for stem in stems:
        for case in (stem, case_name(stem, strip_channel=True)):
            if case in gt_cases:
                return case
    return None


def pair_cases(
    pred_dir: str | Path, gt_dir: str | Path
) -> tuple[list[CasePair], dict[str, str], list[Path]]:
    """Pair prediction and ground-truth files by case name.

    Returns:
        ``(pairs, failures, unmatched)``: pairs sorted by case; failures for ground-truth
        cases with no prediction or with two candidate predictions; prediction files that
        match no ground-truth case.

    Raises:
        LungNetInputError: a folder is missing or the ground-truth folder holds no NIfTI file.
    """
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    gt_files = {case_name(p): p for p in _mask_files(gt_dir)}
    if not gt_files:
        raise LungNetInputError(gt_dir, "holds no ground-truth NIfTI file (.nii, .nii.gz)")
    candidates: dict[str, list[Path]] = {}
    unmatched: list[Path] = []
    for p in _mask_files(pred_dir):
        case = _ground_truth_case(p.name, gt_files)
        if case is not None:
            candidates.setdefault(case, []).append(p)
        elif _ground_truth_case(p.name, gt_files, kind="probabilities") is not None:
            log.debug("%s: probability map of `lungnet predict`, not a mask; ignored", p)
        else:
            unmatched.append(p)
    pairs, failures = [], {}
    for case, gt in sorted(gt_files.items()):
        found = candidates.get(case, [])
        if not found:
            failures[case] = (
                f"{pred_dir}: no prediction {case}_pred.nii.gz or {case}.nii.gz for {gt}"
            )
        elif len(found) > 1:
            names = " and ".join(p.name for p in found)
            failures[case] = f"{pred_dir}: two predictions for case {case} ({names}); keep one"
        else:
            pairs.append(CasePair(case, found[0], gt))
    return pairs, failures, unmatched


def evaluate_case(pair: CasePair) -> dict:
    """Read one prediction/ground-truth pair and compute its row of ``metrics.csv``.

    Raises:
        LungNetInputError: a file cannot be read or the two geometries differ.
    """
    pred, gt = read_ct(pair.pred), read_ct(pair.gt)
    check_same_grid(pred, gt, reference_role="ground truth")
    for volume in (pred, gt):
        low, high = float(volume.array.min()), float(volume.array.max())
        if low < 0 or high > 1:  # a scan or a label map passed as a mask, most likely
            log.warning(
                "%s: values %g..%g are not a mask's 0..1; voxels above %g count as tumor",
                volume.source,
                low,
                high,
                THRESHOLD,
            )
    return case_row(pair.case, pred.array, gt.array, gt.spacing)


def case_row(
    case: str, pred: np.ndarray, gt: np.ndarray, spacing: tuple[float, float, float]
) -> dict:
    """One case's row of ``metrics.csv`` (and its lesions) from masks on one grid."""
    p, t = binarize(pred), binarize(gt)
    row: dict = {"case": case}
    row.update(case_metrics(p, t, spacing).as_dict())
    row.update(match_lesions(p, t).as_dict())
    row = {key: row[key] for key in ("case", *METRIC_COLUMNS)}
    row["lesions"] = lesion_detections(p, t, spacing)  # for the size table, not the CSV
    return row


def _stats(values: Sequence[float]) -> dict:
    defined = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if defined.size == 0:
        return {"mean": None, "median": None, "std": None, "n": 0}
    return {
        "mean": float(defined.mean()),
        "median": float(np.median(defined)),
        "std": float(defined.std(ddof=1)) if defined.size > 1 else None,
        "n": int(defined.size),
    }


def summarize(rows: Sequence[dict]) -> dict:
    """Mean, median, sample std (ddof 1) and count of each metric, undefined (NaN) values skipped.

    Returns:
        ``{"cases", "tumor_bearing_cases", "metrics": {name: {"all": stats,
        "tumor_bearing": stats}}}``; a stat over no defined value is ``None``.
    """
    tumor = [r for r in rows if r["volume_gt_ml"] > 0]
    free = [r for r in rows if r["volume_gt_ml"] == 0]
    return {
        "cases": len(rows),
        "tumor_bearing_cases": len(tumor),
        "metrics": {
            name: {
                "all": _stats([r[name] for r in rows]),
                "tumor_bearing": _stats([r[name] for r in tumor]),
            }
            for name in METRIC_COLUMNS
        },
        "detection": detection_summary(rows),
        "tumor_free": {
            "cases": len(free),
            "false_positive_components_per_scan": _mean([r["lesion_fp"] for r in free]),
            "false_positive_ml_mean": _mean([r["volume_pred_ml"] for r in free]),
            "scans_with_false_positive": sum(1 for r in free if r["lesion_fp"] > 0),
        },
    }


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def detection_summary(rows: Sequence[dict]) -> dict:
    """Lesion sensitivity, overall and by :data:`SIZE_BINS`, and false positives per scan."""
    lesions = [le for r in rows for le in r.get("lesions", ())]
    by_size = {}
    for label, low, high in SIZE_BINS:
        group = [le for le in lesions if low <= le["diameter_mm"] < high]
        found = sum(le["detected"] for le in group)
        by_size[label] = {
            "lesions": len(group),
            "detected": found,
            "sensitivity": found / len(group) if group else None,
        }
    found = sum(le["detected"] for le in lesions)
    return {
        "lesions": len(lesions),
        "detected": found,
        "lesion_sensitivity": found / len(lesions) if lesions else None,
        "by_size": by_size,
        "false_positive_components_per_scan": _mean([r["lesion_fp"] for r in rows]),
    }


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def write_metrics_csv(rows: Sequence[dict], path: str | Path) -> Path:
    """Write ``metrics.csv``: header ``case`` + :data:`METRIC_COLUMNS`; NaN as an empty cell."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("case", *METRIC_COLUMNS))
        for row in rows:
            writer.writerow([_cell(row[k]) for k in ("case", *METRIC_COLUMNS)])
    return path


def write_boxplot(rows: Sequence[dict], path: str | Path) -> Path:
    """Box plot PNG of the per-case scores (0..1) and surface distances (mm); NaN left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = ("dice", "iou", "precision", "recall", "nsd_2mm")
    distances = ("hd95_mm", "assd_mm")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [5, 2]})
    for ax, names in ((ax1, scores), (ax2, distances)):
        data = [[r[n] for r in rows if not math.isnan(r[n])] for n in names]
        ax.boxplot(data, showmeans=True)
        # n = cases where the metric is defined (see the empty-mask rules)
        ticks = [f"{n.replace('_', ' ')}\nn={len(v)}" for n, v in zip(names, data, strict=True)]
        ax.set_xticks(range(1, len(names) + 1), ticks)
        for i, values in enumerate(data, start=1):  # every case as a point: boxes hide small n
            ax.plot(np.full(len(values), i), values, "k.", alpha=0.5)
    ax1.set_ylim(-0.05, 1.05)
    ax1.set_title(f"Overlap scores ({len(rows)} cases; NSD at {NSD_TOLERANCE_MM:g} mm)")
    ax2.set_ylabel("mm")
    ax2.set_title("Surface distances")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def evaluate_folders(
    pred_dir: str | Path,
    gt_dir: str | Path,
    output_dir: str | Path,
    overwrite: bool = False,
    on_case: Callable[[str, dict | None, str | None], None] | None = None,
) -> EvaluationResult:
    """Evaluate every paired case and write ``metrics.csv``, ``summary.json`` and the box plot.

    A case that cannot be read or whose geometry differs is recorded in ``failures`` and
    the others go on.

    Args:
        pred_dir: folder of predicted masks.
        gt_dir: folder of ground-truth masks.
        output_dir: folder for the outputs (created).
        overwrite: replace outputs already there.
        on_case: called after each case with ``(case, row, None)`` or ``(case, None, reason)``.

    Raises:
        LungNetInputError: a folder is missing, nothing could be paired or evaluated, or
            outputs exist and ``overwrite`` is false.
    """
    output_dir = Path(output_dir)
    existing = [n for n in OUTPUT_NAMES if (output_dir / n).exists()]
    if existing and not overwrite:
        raise LungNetInputError(
            output_dir, f"already holds {', '.join(existing)}; pass --overwrite to replace"
        )
    pairs, failures, unmatched = pair_cases(pred_dir, gt_dir)
    for p in unmatched:
        log.warning("%s: no ground truth for this prediction; skipped", p)
    if not pairs:
        raise LungNetInputError(
            pred_dir, f"holds no prediction matching a ground-truth file in {gt_dir}"
        )
    rows = []
    for pair in pairs:
        try:
            row = evaluate_case(pair)
        except LungNetInputError as e:
            failures[pair.case] = str(e)
            if on_case:
                on_case(pair.case, None, str(e))
            continue
        rows.append(row)
        if on_case:
            on_case(pair.case, row, None)
    for case, reason in failures.items():
        log.debug("%s failed: %s", case, reason)
    if not rows:
        raise LungNetInputError(pred_dir, f"no case could be evaluated ({len(failures)} failed)")
    summary = summarize(rows)
    summary["failed_cases"] = dict(sorted(failures.items()))
    summary["unmatched_predictions"] = [str(p) for p in unmatched]
    summary["empty_mask_rules"] = (
        "both masks empty: dice, iou, precision, recall, nsd = 1 and distances undefined; "
        "one mask empty: dice, iou, nsd = 0, distances undefined, precision (empty prediction) "
        "or recall (empty ground truth) undefined; undefined values are null/empty and skipped"
    )
    outputs = [
        write_metrics_csv(rows, output_dir / "metrics.csv"),
        write_boxplot(rows, output_dir / "metrics_boxplot.png"),
    ]
    with atomic_path(output_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    outputs.append(output_dir / "summary.json")
    return EvaluationResult(rows, summary, dict(sorted(failures.items())), unmatched, outputs)
