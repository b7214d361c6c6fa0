"""`lungnet evaluate -i PRED_DIR --gt GT_DIR -o DIR`: 3D metrics of predicted masks."""

from __future__ import annotations

import argparse
from pathlib import Path

_TABLE = ("dice", "iou", "precision", "recall", "hd95_mm", "assd_mm", "nsd_2mm")


def register(subparsers: argparse._SubParsersAction) -> None:
    from lungnet.commands._io_flags import add_input, add_output_dir

    parser = subparsers.add_parser(
        "evaluate",
        help="compare predicted masks with ground truth (Dice, HD95, NSD, lesion detection)",
        description="Pair <case>_pred.nii.gz (or <case>.nii.gz, with or without nnU-Net's _0000) "
        "in --input with <case>.nii.gz in --gt, and write metrics.csv, summary.json and "
        "metrics_boxplot.png to --output-dir. "
        "Both masks empty: Dice 1 and distances undefined (empty cells, never 0).",
    )
    add_input(
        parser,
        "--pred",
        dest="pred",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder of predicted masks",
    )
    parser.add_argument("--gt", type=Path, required=True, metavar="DIR", help="ground-truth masks")
    add_output_dir(
        parser,
        "--output",
        dest="output",
        type=Path,
        required=True,
        metavar="DIR",
        help="output folder",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(func=run)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def run(args: argparse.Namespace) -> int:
    from lungnet.evaluation.evaluate import evaluate_folders

    def progress(case: str, row: dict | None, reason: str | None) -> None:
        if row is None:
            print(f"  {case}: FAILED: {reason}")
        else:
            hd = "-" if row["hd95_mm"] != row["hd95_mm"] else f"{row['hd95_mm']:.2f} mm"
            print(
                f"  {case}: dice {row['dice']:.3f}  hd95 {hd}  lesions "
                f"{row['lesion_tp']}/{row['lesions_gt']} found, {row['lesion_fp']} false"
            )

    result = evaluate_folders(args.pred, args.gt, args.output, args.overwrite, on_case=progress)
    summary = result.summary
    print(
        f"\n{summary['cases']} case(s) evaluated, {summary['tumor_bearing_cases']} with tumor, "
        f"{len(result.failures)} failed"
    )
    print(f"{'metric':<10} {'mean (all)':>11} {'median':>8} {'mean (tumor)':>13} {'n':>4}")
    for name in _TABLE:
        stats = summary["metrics"][name]
        print(
            f"{name:<10} {_fmt(stats['all']['mean']):>11} {_fmt(stats['all']['median']):>8} "
            f"{_fmt(stats['tumor_bearing']['mean']):>13} {stats['all']['n']:>4}"
        )
    detection = summary["detection"]
    print(
        f"lesions found: {detection['detected']} of {detection['lesions']}; false-positive "
        f"components per scan: {_fmt(detection['false_positive_components_per_scan'])}"
    )
    for label, row in detection["by_size"].items():
        if row["lesions"]:
            print(f"  {label:<9} {row['detected']:>4} of {row['lesions']:<4} found")
    free = summary["tumor_free"]
    if free["cases"]:
        print(
            f"tumor-free scans: {free['cases']}, {free['scans_with_false_positive']} with a false "
            f"positive, {_fmt(free['false_positive_ml_mean'])} mL of false tumor on average"
        )
    for case, reason in result.failures.items():
        print(f"failed: {case}: {reason}")
    for path in result.unmatched_predictions:
        print(f"skipped (no ground truth): {path}")
    print(f"wrote {', '.join(str(p) for p in result.outputs)}")
    return 1 if result.failures else 0
