"""Start-up of the `lungnet` command: this tree side by side with another source tree.

    python benchmarks/cli_startup_bench.py --compare-src /tmp/before/src --repeats 15

Every command pays its start-up once, before any work: for ``lungnet preprocess`` it is the
part of a run that its workers cannot share, so it bounds the scaling from 1 to 2 workers.
Runs ``python -m lungnet preprocess --help`` (every module the command needs, no data)
from both trees in alternation and reports the median wall and CPU seconds of each and
their ratio. Writes ``cli_startup[_<tag>].json`` with its provenance.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from record import RESULTS_DIR, ROOT, lungnet_src, provenance, write_results

COMMAND = ["-m", "lungnet", "preprocess", "--help"]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(src: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cpu, t = _children_cpu_s(), time.perf_counter()
    subprocess.run([sys.executable, *COMMAND], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t, _children_cpu_s() - cpu


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--compare-src", type=lungnet_src, required=True, help="the other tree's src/")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--tag", default="")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    trees = {"this": ROOT / "src", "compared": args.compare_src}
    record = provenance(settings={"repeats": args.repeats, "compare_src": str(trees["compared"])})
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for src in trees.values():
        _run_once(src)  # warm the file cache before anything is timed
    for _ in range(args.repeats):
        for name, src in trees.items():
            runs[name].append(_run_once(src))
    summary = {
        name: {
            "command": f"PYTHONPATH={src} {Path(sys.executable).name} {' '.join(COMMAND)}",
            "wall_s_median": round(statistics.median(w for w, _ in runs[name]), 3),
            "cpu_s_median": round(statistics.median(c for _, c in runs[name]), 3),
            "wall_s_runs": [round(w, 3) for w, _ in runs[name]],
        }
        for name, src in trees.items()
    }
    summary["compared_over_this_wall"] = round(
        summary["compared"]["wall_s_median"] / summary["this"]["wall_s_median"], 2
    )
    summary["compared_over_this_cpu"] = round(
        summary["compared"]["cpu_s_median"] / summary["this"]["cpu_s_median"], 2
    )
    record.update(benchmark="cli_startup", summary=summary)
    for name in trees:
        s = summary[name]
        print(f"{name}: {s['wall_s_median']:.3f} s wall, {s['cpu_s_median']:.3f} s CPU (median)")
    print(f"compared / this: {summary['compared_over_this_wall']}x wall")
    name = f"cli_startup{'_' + args.tag if args.tag else ''}.json"
    print(f"wrote {write_results(name, record, args.out)}")


if __name__ == "__main__":
    main()
