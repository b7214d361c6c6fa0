"""Accuracy on held-out phantoms: 3D Dice, HD95 and lesion sensitivity by tumor size.

    python benchmarks/accuracy_bench.py --preset cpu        # the demo's settings, 64 phantoms,
                                                            # 4,000 steps (~10 min, 2 cores)
    python benchmarks/accuracy_bench.py --preset cpu_noaug  # the same without augmentation or
                                                            # small-component removal
    python benchmarks/accuracy_bench.py --preset gpu        # the original's settings: 512 px
                                                            # scans -> 256, width 64, BCE
    python benchmarks/accuracy_bench.py --preset cpu --quick   # tiny, to test the script

It runs the same pipeline as ``lungnet demo`` (synth -> preprocess -> train -> predict
-> evaluate) with a larger dataset, the full tumor size range (5-50 mm, 0-4 per
patient) and a longer training budget, then sorts every ground-truth tumor of the test
scans by its equivalent-sphere diameter (< 10, 10-20, > 20 mm) and reports the share
detected (a predicted component overlaps it). The checkpoint is chosen on validation
cases only. Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import tempfile
import time
from pathlib import Path

from record import RESULTS_DIR

# The demo's settings with more phantoms and longer training (bf16 on a CPU with AMX).
_CPU = dict(
    train_cases=64,
    val_cases=8,
    test_cases=20,
    size=128,
    base_channels=16,
    norm="batch",
    hu_window=(-1000.0, 400.0),
    context_slices=1,
    loss="bce_dice",
    learning_rate=2e-3,
    lr_schedule="poly",
    batch_size=8,
    augment=True,
    max_epochs=40,
    steps_per_epoch=100,
    val_every=4,
    min_tumor_volume_mm3=250.0,
)
PRESETS = {
    "cpu": _CPU,
    # The same without augmentation and without dropping small components: both can cost small
    # tumors (a warped mask of a few voxels can vanish; a small prediction falls under 250 mm3).
    "cpu_noaug": {**_CPU, "augment": False, "min_tumor_volume_mm3": 0.0},
    # The original's: classic U-Net, HU / 3071, single slices, BCE, constant learning rate,
    # augmentation.
    "gpu": dict(
        train_cases=64,
        val_cases=8,
        test_cases=20,
        size=512,
        target_size=256,
        base_channels=64,
        norm="none",
        hu_window=None,
        context_slices=0,
        loss="bce",
        learning_rate=1e-3,
        lr_schedule="constant",
        batch_size=16,
        augment=True,
        max_epochs=40,
        steps_per_epoch=150,
        min_tumor_volume_mm3=0.0,
    ),
}
BINS = (("<10 mm", 0.0, 10.0), ("10-20 mm", 10.0, 20.0), (">20 mm", 20.0, math.inf))


def lesions_by_size(pred_dir: Path, gt_dir: Path) -> list[dict]:
    """Every ground-truth lesion of the test set: equivalent diameter (mm), and if it was found."""
    import numpy as np

    from lungnet.evaluation.lesions import label_lesions
    from lungnet.io import read_ct

    found = []
    for gt_path in sorted(gt_dir.glob("*.nii.gz")):
        case = gt_path.name[: -len(".nii.gz")]
        gt = read_ct(gt_path)
        pred = read_ct(pred_dir / f"{case}_pred.nii.gz").array > 0.5
        labels, n = label_lesions(gt.array > 0.5)
        voxel_mm3 = float(np.prod(gt.spacing))
        for i in range(1, n + 1):
            region = labels == i
            volume = float(region.sum()) * voxel_mm3
            found.append(
                {
                    "case": case,
                    "diameter_mm": (6.0 * volume / math.pi) ** (1.0 / 3.0),
                    "volume_ml": volume / 1000.0,
                    "detected": bool(pred[region].any()),
                }
            )
    return found


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny sizes, for testing this script")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()

    import torch

    from lungnet.demo_pipeline import DemoConfig, run_demo

    settings = dict(PRESETS[args.preset])
    if args.quick:
        settings.update(
            train_cases=2,
            val_cases=1,
            test_cases=2,
            size=48,
            target_size=None,
            base_channels=4,
            max_epochs=1,
            steps_per_epoch=2,
            batch_size=4,
            val_every=1,
        )
    with tempfile.TemporaryDirectory() as tmp:
        config = DemoConfig(
            output_dir=Path(tmp) / "run",
            seed=args.seed,
            tumor_diameter_mm=(5.0, 50.0),
            tumor_count=(0, 4),
            write_reports=False,
            clip_slices_min=4 if args.quick else 30,
            **settings,
        )
        result = run_demo(config, on_stage=lambda name, s: print(f"{name}: {s:.1f} s", flush=True))
        lesions = lesions_by_size(result.paths["predictions"], result.paths["data"] / "labelsTs")

    s = result.summary
    by_size = {}
    for label, lo, hi in BINS:
        group = [le for le in lesions if lo <= le["diameter_mm"] < hi]
        by_size[label] = {
            "lesions": len(group),
            "detected": sum(le["detected"] for le in group),
            "sensitivity": (sum(le["detected"] for le in group) / len(group)) if group else None,
        }
    tumor_rows = [c for c in s["cases"] if c["lesions_gt"] > 0]
    hd95 = [c["hd95_mm"] for c in tumor_rows if c["hd95_mm"] is not None]
    record = {
        "benchmark": "accuracy",
        "preset": args.preset,
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d"),
        "device": torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"CPU, {torch.get_num_threads()} threads",
        "platform": platform.platform(),
        "settings": s["settings"],
        "test_dice_mean": s["test_dice_mean"],
        "test_dice_median": statistics.median(c["dice"] for c in tumor_rows)
        if tumor_rows
        else None,
        "test_hd95_mm_median": statistics.median(hd95) if hd95 else None,
        "lesion_sensitivity": s["lesion_sensitivity"],
        "false_positive_lesions_per_case": s["false_positive_lesions"] / max(1, s["test_cases"]),
        "sensitivity_by_size": by_size,
        "tumor_bearing_test_cases": s["tumor_bearing_test_cases"],
        "val_dice_3d_best": s["val_dice_3d_best"],
        "seconds": s["seconds"],
        "cases": s["cases"],
        "lesions": lesions,
    }

    def fmt(v, d=3):
        return "-" if v is None else f"{v:.{d}f}"

    print(
        f"\nAccuracy, preset {args.preset} ({record['device']}), "
        f"{s['tumor_bearing_test_cases']} tumor-bearing "
        f"of {s['test_cases']} held-out phantoms"
    )
    print(
        f"3D Dice mean {fmt(record['test_dice_mean'])}, median {fmt(record['test_dice_median'])}; "
        f"HD95 median {fmt(record['test_hd95_mm_median'], 1)} mm; "
        f"lesion sensitivity {fmt(s['lesion_sensitivity'])}; "
        f"false-positive lesions per case {record['false_positive_lesions_per_case']:.2f}"
    )
    print(f"{'tumor size':<12}{'lesions':>9}{'detected':>10}{'sensitivity':>13}")
    for label, row in by_size.items():
        print(f"{label:<12}{row['lesions']:>9}{row['detected']:>10}{fmt(row['sensitivity']):>13}")
    print("stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in s["seconds"].items()))
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"accuracy_{args.preset}{'_quick' if args.quick else ''}.json"
    (args.out / name).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
