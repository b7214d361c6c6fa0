"""`lungnet demo`: the whole pipeline on built-in synthetic data, ending in a results table."""

from __future__ import annotations

import argparse
import math


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="synthesize phantoms, preprocess, train, predict, evaluate and report, end to end",
        description="Runs every LungNet stage on synthetic chest CT made on the spot. With the "
        "default settings it takes under 10 minutes on 2 CPU cores. A rerun replaces the output "
        "folder.",
    )
    p.add_argument(
        "-o", "--output-dir", "--output_dir", default="demo_output", help="default: demo_output"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and a few training steps: checks that everything runs "
        "(seconds, not accuracy)",
    )
    p.set_defaults(func=run)


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _quiet() -> None:
    """The demo prints one line per stage; the libraries' own banners would drown them."""
    import logging
    import warnings

    for name in (
        "lightning",
        "lightning.pytorch",
        "lightning.fabric",
        "lungnet.viz.case_report",
        "lungnet.preprocessing.nifti_processor",
        "lungnet.engine.training",
        "lungnet.engine.epoch_log",
        "lungnet.data.data_module",
        "lightning.pytorch.utilities.rank_zero",
        "lightning.fabric.utilities.rank_zero",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="lightning")


def run(args: argparse.Namespace) -> int:
    from lungnet.demo_pipeline import QUICK_SETTINGS, DemoConfig, run_demo

    _quiet()

    quick = QUICK_SETTINGS if args.quick else {}
    config = DemoConfig(output_dir=args.output_dir, seed=args.seed, **quick)
    print(f"LungNet demo -> {config.output_dir}/", flush=True)

    def on_stage(name: str, seconds: float) -> None:
        print(f"  {name:<11} done in {seconds:7.1f} s", flush=True)

    result = run_demo(config, on_stage=on_stage)
    s = result.summary
    print(f"\n{'case':<10}{'Dice':>8}{'HD95 mm':>10}{'tumors found/present':>23}{'false +':>9}")
    for row in s["cases"]:
        found = f"{row['lesion_tp']}/{row['lesions_gt']}"
        print(
            f"{row['case']:<10}{_fmt(row['dice']):>8}{_fmt(row['hd95_mm'], 1):>10}"
            f"{found:>23}{row['lesion_fp']:>9}"
        )
    print(
        f"\ntest Dice (mean over {s['tumor_bearing_test_cases']} tumor-bearing cases): "
        f"{_fmt(s['test_dice_mean'])}"
    )
    print(
        f"lesion sensitivity: {_fmt(s['lesion_sensitivity'])} "
        f"({s['lesions_found']}/{s['lesions_present']}); by size: "
        + ", ".join(
            f"{label} {row['detected']}/{row['lesions']}"
            for label, row in s["sensitivity_by_size"].items()
            if row["lesions"]
        )
    )
    free = s["tumor_free"]
    print(
        f"false-positive components per scan: {_fmt(s['false_positive_components_per_scan'], 2)}; "
        f"tumor-free test scans: {free['cases']}, {free['scans_with_false_positive']} with a "
        f"false positive"
    )
    post = s["postprocess"]
    if post.get("min_tumor_volume_mm3") is not None:
        print(
            f"post-processing chosen on validation: threshold {post['threshold']:g}, min tumor "
            f"volume {post['min_tumor_volume_mm3']:g} mm3, min peak probability "
            f"{post.get('min_peak_probability') or 0:g}, min depth "
            f"{post.get('min_depth_mm') or 0:g} mm, lung constraint "
            f"{'on' if post['lung_constraint'] else 'off'}, trained flips averaged "
            f"{'yes' if post.get('tta') else 'no'}"
        )
    print(f"total {s['seconds']['total']:.0f} s\n")
    p = s["paths"]
    print(f"masks:        {p['predictions']}/")
    print(f"reports:      {config.output_dir / 'reports'}/<case>_report.html")
    print(f"evaluation:   {p['evaluation']}/metrics.csv, summary.json")
    print(f"checkpoint:   {p['checkpoint']}")
    print(f"TensorBoard:  tensorboard --logdir {p['tensorboard']}")
    print(f"summary:      {result.paths['summary']}")
    return 0
