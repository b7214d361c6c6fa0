"""The demo as users run it, timed and recorded: ``make demo``'s command, then its summary.

    python benchmarks/demo_bench.py --tag mirror --note "what changed"   # ~9 min on 2 cores
    python benchmarks/demo_bench.py --quick --out /tmp/x                  # seconds, for tests

Runs ``lungnet demo --output-dir DIR --seed S`` in a child process (the command ``make
demo`` runs, so the wall time includes Python's start and every import, as a user sees it)
and writes ``demo_seed<S>[_<tag>].json``: provenance, the wall time, and the demo's own
``summary.json`` (test Dice, sensitivity by size, false positives, the post-processing
chosen on validation, seconds per stage, settings). Run it on an otherwise idle machine:
the demo's promise is a wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from record import RESULTS_DIR, ROOT, provenance, write_results


def _lungnet_command() -> list[str]:
    """``lungnet`` from the interpreter running this script (its virtual environment)."""
    return [sys.executable, "-m", "lungnet"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "demo_output")
    parser.add_argument("--quick", action="store_true", help="the demo's toy size")
    parser.add_argument("--tag", default="", help="appended to the results file name")
    parser.add_argument("--note", default="", help="what this run changes, in a sentence")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    record = provenance(seeds={"dataset": args.seed, "training": args.seed})
    command = [*_lungnet_command(), "demo", "--output-dir", str(args.output_dir)]
    command += ["--seed", str(args.seed)] + (["--quick"] if args.quick else [])
    start = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        sys.exit(
            f"demo_bench: the demo failed (exit status {finished.returncode}); no results written"
        )
    summary = json.loads((args.output_dir / "summary.json").read_text())
    record.update(
        demo_command=" ".join(command[1:]),
        note=args.note,
        quick=args.quick,
        wall_time_demo_s=round(wall, 2),
        summary=summary,
    )
    name = f"demo_seed{args.seed}" + (f"_{args.tag}" if args.tag else "") + ".json"
    path = write_results(name, record, args.out)
    print(f"demo: {wall:.0f} s, test Dice {summary['test_dice_mean']:.3f}; wrote {path}")
    return path


if __name__ == "__main__":
    main()
