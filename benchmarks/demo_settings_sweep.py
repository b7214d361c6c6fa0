"""Held-out 3D Dice of `lungnet demo` settings, one change at a time, on two seeds.

    python benchmarks/demo_settings_sweep.py                    # the ladder below (~6 min per
                                                                # rung and seed, 2 cores)
    python benchmarks/demo_settings_sweep.py --only demo        # one rung
    python benchmarks/demo_settings_sweep.py --quick            # tiny, to test the script

Each rung runs the whole demo (``lungnet.demo_pipeline.run_demo``: synth -> preprocess -> train ->
predict -> evaluate) with :class:`~lungnet.demo_pipeline.DemoConfig` changed as listed, so its
numbers are the demo's own: the mean 3D Dice of the tumor-bearing test phantoms, with the
checkpoint chosen on the validation phantoms. Rungs are cumulative, from the classic
U-Net at 720 float32 steps up to the demo's defaults. Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from record import RESULTS_DIR

# The demo before any tuning, expressed against DemoConfig's current defaults.
_CLASSIC = dict(
    train_cases=24,
    tumor_diameter_mm=(10.0, 40.0),
    tumor_count=(1, 3),
    norm="none",
    hu_window=None,
    lr_schedule="constant",
    augment=False,
    max_epochs=12,
    val_every=1,
    min_tumor_volume_mm3=0.0,
    precision="32-true",
)
_LADDER = [
    ("classic U-Net, 720 fp32 steps", {}),
    ("+ BatchNorm", dict(norm="batch")),
    ("+ HU window -1000..400", dict(hu_window=(-1000.0, 400.0))),
    (
        "+ bf16, poly LR, 1,440 steps",
        dict(precision=None, lr_schedule="poly", max_epochs=24, val_every=3),
    ),
    ("+ augmentation, 2,160 steps", dict(augment=True, max_epochs=36)),
    ("+ 2-4 tumors per phantom", dict(tumor_count=(2, 4))),
    ("+ tumors 15-40 mm", dict(tumor_diameter_mm=(15.0, 40.0))),
]


def rungs() -> dict[str, dict]:
    """Rung name -> DemoConfig changes (cumulative); the last rung is the demo's defaults."""
    from lungnet.demo_pipeline import DemoConfig

    out, current = {}, dict(_CLASSIC)
    for name, change in _LADDER:
        current = {**current, **change}
        out[name] = dict(current)
    defaults = DemoConfig()
    out["+ 48 training phantoms, 2,400 steps, specks < 250 mm3 dropped (the demo)"] = {
        k: getattr(defaults, k) for k in _CLASSIC
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--only", help="run only the rungs whose name contains this text")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()

    from lungnet.demo_pipeline import QUICK_SETTINGS, DemoConfig, run_demo

    quick = {**QUICK_SETTINGS, "write_reports": False}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, change in rungs().items():
            if args.only and args.only not in name:
                continue
            for seed in args.seeds:
                settings = {**change, **(quick if args.quick else {}), "write_reports": False}
                config = DemoConfig(output_dir=Path(tmp) / "run", seed=seed, **settings)
                s = run_demo(config).summary
                row = {
                    "rung": name,
                    "seed": seed,
                    "test_dice_mean": s["test_dice_mean"],
                    "lesion_sensitivity": s["lesion_sensitivity"],
                    "val_dice_3d_best": s["val_dice_3d_best"],
                    "train_s": s["seconds"]["train"],
                    "settings": s["settings"],
                }
                rows.append(row)
                print(
                    f"seed {seed}  {name:<72} test Dice {row['test_dice_mean']:.3f}  "
                    f"val {row['val_dice_3d_best']:.3f}  ({row['train_s']:.0f} s)",
                    flush=True,
                )

    print(f"\n{'rung':<72}" + "".join(f"{'seed ' + str(s):>9}" for s in args.seeds))
    for name in dict.fromkeys(r["rung"] for r in rows):
        print(
            f"{name:<72}"
            + "".join(f"{r['test_dice_mean']:>9.3f}" for r in rows if r["rung"] == name)
        )
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / (
        "demo_settings_sweep_quick.json" if args.quick else "demo_settings_sweep.json"
    )
    out.write_text(
        json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=1, default=str)
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
