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

Each model is scored with its stored post-processing, and again without its minimum depth
and then without its minimum volume too (same probabilities): a tumor found only without
them was lost to a rule that 8 validation phantoms chose, not to the network. With its
stored post-processing, every tumor also gets a row (kind, position, size, found, peak
probability), tallied by kind: which appearances the network misses.

Writes ``panel_<tag>.json`` with its provenance.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from record import RESULTS_DIR, provenance, write_results
from tumor_table import synthetic_tumors, tally, tumor_rows

PANEL_SEED = 9200
_VARIANT_NAMES = ("stored", "without depth rule", "without depth and volume rules")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _variants(stored) -> dict:
    """The model's own post-processing, and the same with its size rules taken out one by
    one: which of its misses the network made and which the rules chosen on 8 validation
    phantoms made."""
    import dataclasses

    no_depth = dataclasses.replace(stored, min_depth_mm=0.0)
    posts = (stored, no_depth, dataclasses.replace(no_depth, min_tumor_volume_mm3=0.0))
    return dict(zip(_VARIANT_NAMES, posts, strict=True))


def _summary_row(rows: list[dict]) -> dict:
    from lungnet.evaluation.evaluate import summarize

    summary = summarize(rows)
    dice = summary["metrics"]["dice"]["tumor_bearing"]
    detection = summary["detection"]
    return {
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


def score(predictor, data: Path) -> dict:
    """``predictor``'s model on the panel in ``data`` (MSD layout), as ``lungnet predict``
    and ``lungnet evaluate`` would score it, under each post-processing of :func:`_variants`
    (one prediction and one lung field per scan)."""
    from lungnet.evaluation.evaluate import case_row
    from lungnet.io import read_ct
    from lungnet.lungs import lung_field
    from lungnet.naming import case_name

    variants = _variants(predictor.postprocessing)
    rows: dict[str, list[dict]] = {name: [] for name in variants}
    drawn = synthetic_tumors(data)
    tumors = []
    for scan in sorted((data / "imagesTr").glob("*.nii.gz")):
        ct = read_ct(scan)
        truth = read_ct(data / "labelsTr" / scan.name).array
        prediction = predictor.predict_volume(ct)
        tumors += tumor_rows(case_name(scan), drawn[case_name(scan)], ct, truth, prediction)
        lungs = (
            lung_field(ct.array, ct.spacing) if predictor.postprocessing.lung_constraint else None
        )
        for name, post in variants.items():
            mask = (
                prediction.mask
                if post == predictor.postprocessing
                else post.apply(prediction.probabilities, ct.spacing, hu=ct.array, lungs=lungs)
            )
            rows[name].append(case_row(case_name(scan), mask, truth, ct.spacing))
    return {
        "postprocess": predictor.postprocessing.to_dict(),
        **{name: _summary_row(variant_rows) for name, variant_rows in rows.items()},
        "tumors_found_stored": tally(tumors),
        "tumors": tumors,
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

    from lungnet.errors import LungNetError
    from lungnet.inference import Predictor
    from lungnet.synthetic import write_msd_dataset

    # Every checkpoint is loaded before the phantoms are made, so a bad one stops the run
    # in one line at once.
    try:
        predictors = {c: Predictor(c, device="auto") for c in args.checkpoints}
    except LungNetError as e:
        p.exit(2, f"panel_bench: {e}\n")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = write_msd_dataset(
            Path(tmp) / "panel", cases=args.cases, seed=PANEL_SEED, size=args.size, workers=2
        )
        for checkpoint, predictor in predictors.items():
            row = {"checkpoint": str(checkpoint), **score(predictor, data)}
            rows.append(row)
            for name in _VARIANT_NAMES:
                result, free = row[name], row[name]["tumor_free"]
                print(
                    f"{checkpoint.name}, {name}: Dice {_fmt(result['dice_tumor_bearing_mean'])} "
                    f"(median {_fmt(result['dice_tumor_bearing_median'])}), "
                    f"found {result['tumors_found']} {result['found_by_size']}, "
                    f"FP/scan {_fmt(result['false_positive_components_per_scan'])}, "
                    f"FP/scan on {free['cases']} tumor-free "
                    f"{_fmt(free['false_positive_components_per_scan'])}",
                    flush=True,
                )
            kinds = row["tumors_found_stored"]["kind"]
            print(f"{checkpoint.name}, stored, by kind: {kinds}", flush=True)
    record.update(benchmark="validation_panel", rows=rows)
    print(f"wrote {write_results(f'panel_{args.tag}.json', record, args.out)}")


if __name__ == "__main__":
    main()
