"""Kept models side by side on one larger validation panel, each with its own post-processing.

    python benchmarks/panel_bench.py --tag T CKPT [CKPT ...]

The accuracy benchmark validates on 8 phantoms per dataset seed, and its runs of one
recipe spread more between seeds than recipes differ (validation scores 0.267 and 0.511 for
the two seeds of one recipe, ``accuracy_cpu_noaug_lesion_spacing_ds2_fov30_data192_seed*``):
8 phantoms hold too few tumors to rank recipes. This scores every given checkpoint on the
same ``--cases`` fresh phantoms of ``lungnet synth``'s default cohort (dataset seed 9200,
which no benchmark trains, validates or tests on), exactly as ``lungnet predict`` and
``lungnet evaluate`` would: Dice over the tumor-bearing scans, tumors found by size, false
positives per scan and on the tumor-free scans. It is a validation set: recipes may be
chosen on it; the accuracy benchmark's test sets stay scored once per candidate.

Writes ``panel_<tag>.json`` with its provenance.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from record import RESULTS_DIR, provenance, write_results

PANEL_SEED = 9200


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def score(checkpoint: Path, data: Path, work: Path) -> dict:
    """``checkpoint``'s evaluation summary on the panel in ``data`` (MSD layout)."""
    from lungnet.evaluation.evaluate import evaluate_folders
    from lungnet.inference import Predictor

    predictor = Predictor(checkpoint, device="auto")
    predictions = work / "predictions"
    for scan in sorted((data / "imagesTr").glob("*.nii.gz")):
        outcome = predictor.predict_file(scan, predictions, overwrite=True)
        if outcome.status == "failed":
            raise SystemExit(f"panel_bench: {scan}: {outcome.message}")
    summary = evaluate_folders(
        predictions, data / "labelsTr", work / "evaluation", overwrite=True
    ).summary
    dice = summary["metrics"]["dice"]["tumor_bearing"]
    detection = summary["detection"]
    return {
        "checkpoint": str(checkpoint),
        "postprocess": predictor.postprocessing.to_dict(),
        "dice_tumor_bearing_mean": dice["mean"],
        "dice_tumor_bearing_median": dice["median"],
        "tumors_found": f"{detection['detected']}/{detection['lesions']}",
        "found_by_size": {
            size: f"{row['detected']}/{row['lesions']}"
            for size, row in detection["by_size"].items()
        },
        "false_positive_components_per_scan": detection["false_positive_components_per_scan"],
        "tumor_free": summary["tumor_free"],
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--cases", type=int, default=32, help="phantoms in the panel")
    p.add_argument("--size", type=int, default=128, help="phantom size the models trained on")
    p.add_argument("--tag", required=True, help="results file name suffix")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    for checkpoint in args.checkpoints:
        if not checkpoint.is_file():
            p.exit(2, f"panel_bench: {checkpoint}: not found\n")
    record = provenance(
        seeds={"panel": PANEL_SEED}, settings={"cases": args.cases, "size": args.size}
    )

    from lungnet.synthetic import write_msd_dataset

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = write_msd_dataset(
            Path(tmp) / "panel", cases=args.cases, seed=PANEL_SEED, size=args.size, workers=2
        )
        for i, checkpoint in enumerate(args.checkpoints):
            row = score(checkpoint, data, Path(tmp) / f"model{i}")
            rows.append(row)
            free = row["tumor_free"]
            print(
                f"{checkpoint.name}: Dice {_fmt(row['dice_tumor_bearing_mean'])} "
                f"(median {_fmt(row['dice_tumor_bearing_median'])}), "
                f"found {row['tumors_found']} {row['found_by_size']}, "
                f"FP/scan {_fmt(row['false_positive_components_per_scan'])}, "
                f"FP/scan on {free['cases']} tumor-free "
                f"{_fmt(free['false_positive_components_per_scan'])}",
                flush=True,
            )
    record.update(benchmark="validation_panel", rows=rows)
    print(f"wrote {write_results(f'panel_{args.tag}.json', record, args.out)}")


if __name__ == "__main__":
    main()
