"""Held-out 3D Dice of candidate `lungnet demo` settings, on two dataset seeds.

    python benchmarks/demo_settings_sweep.py               # the candidates below (fast on a GPU)
    python benchmarks/demo_settings_sweep.py --quick       # tiny, to test the script

The demo must reach a test Dice of 0.75 within a fixed number of training steps that
2 CPU cores finish in minutes. This script measures candidate settings on the demo's
own data (synthesized once per seed, the same phantoms the demo makes), training in
float32 so the numbers carry over to the CPU. Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

# name -> changes to DemoConfig; candidates with the same data settings share one dataset per seed.
CANDIDATES = {
    "no aug, b8, 1080 steps": {"augment": False, "batch_size": 8, "max_epochs": 18, "steps_per_epoch": 60,
                               "val_every": 3},
    "no aug, b8, 1080 steps, lr 3e-3": {"augment": False, "batch_size": 8, "max_epochs": 18, "steps_per_epoch": 60,
                                        "val_every": 3, "learning_rate": 3e-3},
    "no aug, b4, 2160 steps": {"augment": False, "batch_size": 4, "max_epochs": 18, "steps_per_epoch": 120,
                               "val_every": 3},
    "no aug, b8, 1080 steps, 15-50 mm": {"augment": False, "batch_size": 8, "max_epochs": 18, "steps_per_epoch": 60,
                                         "val_every": 3, "tumor_diameter_mm": (15.0, 50.0)},
}
_DATA_KEYS = ("size", "tumor_diameter_mm", "tumor_count", "train_cases", "val_cases", "test_cases", "clip_slices_min")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()

    import torch

    from lungnet.demo import DemoConfig
    from lungnet.engine import TrainConfig, train
    from lungnet.evaluation.evaluate import evaluate_folders
    from lungnet.inference import Predictor
    from lungnet.preprocessing import NiftiPreprocessor
    from lungnet.synthetic import write_msd_dataset

    base = DemoConfig()
    if args.quick:
        base = DemoConfig(train_cases=2, val_cases=1, test_cases=2, size=48, clip_slices_min=4, base_channels=4,
                          max_epochs=1, steps_per_epoch=2, batch_size=4)
    workers = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for seed in args.seeds:
            datasets: dict[tuple, tuple[Path, Path]] = {}
            for name, change in CANDIDATES.items():
                cfg = {**asdict(base), **change}
                key = tuple(tuple(v) if isinstance(v, list | tuple) else v for v in (cfg[k] for k in _DATA_KEYS))
                if key not in datasets:
                    data, processed = tmp / f"data{seed}_{len(datasets)}", tmp / f"processed{seed}_{len(datasets)}"
                    write_msd_dataset(data, cases=cfg["train_cases"] + cfg["val_cases"], test_cases=cfg["test_cases"],
                                      seed=seed, size=cfg["size"], tumor_diameter_mm=cfg["tumor_diameter_mm"],
                                      tumor_count=cfg["tumor_count"], workers=workers)
                    NiftiPreprocessor(target_size=(cfg["size"],) * 2, clip_slices_min=cfg["clip_slices_min"],
                                      workers=workers).run(data, processed, val_split_count=cfg["val_cases"])
                    datasets[key] = (data, processed)
                data, processed = datasets[key]
                scans = sorted((data / "imagesTs").glob("*.nii.gz"))
                t = time.perf_counter()
                trained = train(TrainConfig(
                    data_dir=processed, default_root_dir=tmp / f"runs{seed}", batch_size=cfg["batch_size"],
                    max_epochs=cfg["max_epochs"], limit_train_batches=cfg["steps_per_epoch"],
                    learning_rate=cfg["learning_rate"], loss=cfg["loss"], base_channels=cfg["base_channels"],
                    context_slices=cfg["context_slices"], seed=seed, augment=cfg["augment"],
                    check_val_every_n_epoch=cfg["val_every"], precision="32-true", channels_last=False,
                ))
                train_s = time.perf_counter() - t
                pred_dir = tmp / f"pred{seed}_{len(rows)}"
                predictor = Predictor(trained.best_checkpoint, device="auto", precision="fp32")
                for scan in scans:
                    predictor.predict_file(scan, pred_dir)
                ev = evaluate_folders(pred_dir, data / "labelsTs", tmp / f"eval{seed}_{len(rows)}")
                tumor = [r for r in ev.rows if r["volume_gt_ml"] > 0]
                lesions = sum(r["lesions_gt"] for r in ev.rows)
                row = {
                    "candidate": name, "seed": seed, "change": {k: list(v) if isinstance(v, tuple) else v
                                                               for k, v in change.items()},
                    "steps": cfg["max_epochs"] * cfg["steps_per_epoch"],
                    "test_dice_mean": sum(r["dice"] for r in tumor) / max(1, len(tumor)),
                    "lesion_sensitivity": sum(r["lesion_tp"] for r in ev.rows) / max(1, lesions),
                    "val_dice_3d_best": trained.best_score, "train_s": round(train_s, 1),
                }
                rows.append(row)
                print(f"seed {seed} {name:<24} test Dice {row['test_dice_mean']:.3f}  sens {row['lesion_sensitivity']:.2f}"
                      f"  val {row['val_dice_3d_best']:.3f}  ({train_s:.0f} s)", flush=True)

    print(f"\n{'candidate':<24}" + "".join(f"{'seed ' + str(s):>10}" for s in args.seeds) + f"{'mean':>8}")
    for name in CANDIDATES:
        vals = [r["test_dice_mean"] for r in rows if r["candidate"] == name]
        print(f"{name:<24}" + "".join(f"{v:>10.3f}" for v in vals) + f"{sum(vals) / len(vals):>8.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / ("demo_settings_sweep_quick.json" if args.quick else "demo_settings_sweep.json")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    out.write_text(json.dumps({"device": device, "date": time.strftime("%Y-%m-%d"), "base": asdict(base) | {
        "output_dir": str(base.output_dir)}, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
