"""The accuracy benchmark's runs side by side: one row per run, then mean and spread per preset.

    python benchmarks/accuracy_summary.py                         # untagged runs
    python benchmarks/accuracy_summary.py --tag one_piece_labels  # accuracy_*_seed<S>_<tag>.json

Presets are ranked by their mean validation score (the only number that chose anything);
the test columns are what each run reported once. A tag names runs on other phantoms (their
test sets differ), so runs of different tags are never put side by side. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

from record import RESULTS_DIR

BINS = ("<10 mm", "10-20 mm", "20-50 mm", ">50 mm")


def _runs(folder: Path, tag: str) -> list[dict]:
    runs = []
    for path in sorted(folder.glob("accuracy_*_seed*.json")):
        if path.stem.endswith("_quick"):
            continue
        found = re.fullmatch(r"accuracy_.+_seed\d+(?:_(.+))?", path.stem)
        if found is None or (found.group(1) or "") != tag:
            continue
        record = json.loads(path.read_text())
        record["file"] = path.name
        runs.append(record)
    return runs


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _row(run: dict) -> list[str]:
    test = run["test"]
    by_size = test["sensitivity_by_size"]
    post = run["validation"]["postprocess"]
    return [
        run["settings"]["preset"],
        str(run["seeds"]["dataset"]),
        _fmt(run["validation"]["score_best"]),
        f"{post.get('threshold', 0.5)}/{post['min_tumor_volume_mm3']:g}/"
        f"{post.get('min_peak_probability') or 0:g}/{post.get('min_depth_mm') or 0:g}/"
        f"{'on' if post['lung_constraint'] else 'off'}",
        f"{_fmt(test['test_dice_mean'])} / {_fmt(test['test_dice_median'])}",
        *(f"{by_size[b]['detected']}/{by_size[b]['lesions']}" for b in BINS),
        _fmt(test["false_positive_components_per_scan"], 2),
        _fmt(test["tumor_free"]["false_positive_ml_mean"], 2),
        _fmt(test["test_hd95_mm_median"], 1),
        # A kept model re-tested with new post-processing rules trained 0 s in that run.
        "-" if run["settings"].get("checkpoint") else f"{run['seconds']['train']:.0f}",
        run["file"],
    ]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tag", default="", help="the runs of this tag (default: untagged runs)")
    runs = _runs(RESULTS_DIR, p.parse_args().tag)
    header = [
        "preset",
        "seed",
        "val score",
        "post (thr/min mm³/peak/depth mm/lung)",
        "test Dice mean / median",
        *BINS,
        "FP comp./scan",
        "FP mL tumor-free",
        "HD95 median mm",
        "train s",
        "file",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for run in runs:
        print("| " + " | ".join(_row(run)) + " |")
    print()
    presets = sorted({r["settings"]["preset"] for r in runs})
    summary = []
    for preset in presets:
        group = [r for r in runs if r["settings"]["preset"] == preset]
        val = [r["validation"]["score_best"] for r in group]
        dice = [r["test"]["test_dice_mean"] for r in group]
        summary.append((statistics.mean(val), preset, val, dice))
    print("| preset | runs | val score mean (min-max) | test Dice mean (min-max) |")
    print("| --- | --- | --- | --- |")
    for mean_val, preset, val, dice in sorted(summary, reverse=True):
        print(
            f"| {preset} | {len(val)} | {mean_val:.3f} ({min(val):.3f}-{max(val):.3f}) | "
            f"{statistics.mean(dice):.3f} ({min(dice):.3f}-{max(dice):.3f}) |"
        )


if __name__ == "__main__":
    main()
