"""Preprocessing speed and memory: `lungnet preprocess` against the shared baseline loop.

    python benchmarks/preprocess_bench.py               # 4 phantoms of 512 x 512 x 300 int16
    python benchmarks/preprocess_bench.py --quick       # tiny sizes, to try the script
    python benchmarks/preprocess_bench.py --data DIR    # an existing MSD-layout dataset
    python benchmarks/preprocess_bench.py --compare-src /tmp/old/src  # before/after, one run

The baseline is ``../shared/bench/seed_style_preprocess.py`` (nibabel ``get_fdata``, drop
the clipped slices, / 3071, ``cv2.resize`` per slice, ``np.save``), run exactly as it is
as a subprocess; it needs opencv (``pip install -e .[bench]``). Ours is the
``lungnet preprocess`` command with 1 and with 2 workers. All three are whole commands
(interpreter start and imports included), run on the same files in one run, alternating
(baseline, 1 worker, 2 workers) ``--repeats`` times; medians are reported. Peak RSS is
that of the largest process of each command's tree (``wait4``), so with 2 workers it is
the peak of one worker. Targets: 1 worker at least 3x the baseline (stretch 5x), at most
1 GB per worker, 2 workers at least 1.7x as fast as 1.
Writes ``benchmarks/results/preprocess_bench_vs_shared_baseline.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import ROOT, lungnet_src, provenance, write_results

BASELINE_CANDIDATES = (
    ROOT.parent / "shared" / "bench" / "seed_style_preprocess.py",  # CI: shared/ beside the repo
    ROOT / "shared" / "bench" / "seed_style_preprocess.py",  # a checkout with shared/ inside
)


def run_command(cmd: list[str]) -> dict:
    """Run ``cmd``; its wall time, its tree's peak RSS, and the load average before it."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {code}:\n{output.decode()[-2000:]}")
    # ru_maxrss of a reaped child covers its reaped descendants too (Linux: kilobytes), and
    # its CPU times include theirs: the CPU seconds hardly depend on what else is running.
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "load_1min_before": load,
    }


def alternate(commands: dict[str, list[str]], repeats: int, out: Path) -> dict:
    """Run every command ``repeats`` times, alternating; per command its runs and slice files."""
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    files: dict[str, int] = {}
    for repeat in range(repeats):
        for name, cmd in commands.items():  # alternating, so load changes hit every variant
            shutil.rmtree(out, ignore_errors=True)
            runs[name].append(run_command(cmd))
            files[name] = sum(1 for _ in out.rglob("*.npy"))
            r = runs[name][-1]
            print(
                f"[{repeat + 1}/{repeats}] {name:<20} {r['wall_s']:6.2f} s  "
                f"peak RSS {r['peak_rss_mb']:5.0f} MB  (load {r['load_1min_before']:.2f})",
                file=sys.stderr,
                flush=True,
            )
    return {"runs": runs, "files": files}


def alternate_in_fresh_process(commands: dict[str, list[str]], repeats: int, out: Path) -> dict:
    """:func:`alternate` in a new interpreter that imports nothing heavy.

    Linux counts the memory a process had before it started a command in that command's
    peak RSS; this process has made phantoms (and provenance imports torch), so the
    commands are started from a small one.
    """
    job = json.dumps({"commands": commands, "repeats": repeats, "out": str(out)})
    proc = subprocess.run(
        [sys.executable, __file__, "--alternate", job],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def lungnet_command(
    data: Path, out: Path, target: int, clip: int, workers: int, src: Path | None = None
) -> list[str]:
    """``lungnet preprocess``; from the checkout whose ``src`` folder is ``src`` if given."""
    size = str(target)
    options = ["--target-size", size, size, "--clip-slices-min", str(clip)]
    options += ["--val-split-count", "0", "--workers", str(workers)]
    command = [sys.executable, "-m", "lungnet", "preprocess", str(data), str(out), *options]
    return command if src is None else ["env", f"PYTHONPATH={src}", *command]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cases", type=int, default=4)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--target", type=int, default=256)
    p.add_argument("--clip", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", type=Path, help="an MSD-layout dataset to use instead of phantoms")
    p.add_argument("--baseline", type=Path, help="the baseline script (default: shared/bench)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, help="results folder (default: benchmarks/results)")
    p.add_argument("--tag", default="", help="appended to the results file name (reruns)")
    p.add_argument(
        "--compare-src",
        type=lungnet_src,
        metavar="DIR",
        help="also run `lungnet preprocess` from this checkout's src folder (e.g. a git "
        "worktree of an earlier commit), alternating with the others: a before/after ratio",
    )
    p.add_argument("--alternate", help=argparse.SUPPRESS)  # the fresh runner's job, as JSON
    args = p.parse_args()
    if args.quick:
        args.cases, args.size, args.slices, args.target, args.clip = 2, 96, 48, 64, 8
        args.repeats = 1
    return args


def main() -> None:
    args = parse_args()
    if args.alternate:
        job = json.loads(args.alternate)
        print(json.dumps(alternate(job["commands"], job["repeats"], Path(job["out"]))))
        return
    baseline = args.baseline or next((b for b in BASELINE_CANDIDATES if b.is_file()), None)
    if baseline is None or not baseline.is_file():
        sys.exit(f"baseline script not found: {baseline or BASELINE_CANDIDATES[0]}")
    try:
        import cv2  # noqa: F401  (the baseline's dependency)
    except ImportError:
        sys.exit("the baseline needs opencv: pip install -e '.[bench]'")

    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    settings.pop("alternate")
    record = provenance(seeds={"phantoms": 7} if args.data is None else {}, settings=settings)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = args.data
        if data is None:
            from lungnet.synthetic import write_msd_dataset

            t = time.perf_counter()
            data = write_msd_dataset(
                tmp / "data", cases=args.cases, seed=7, size=args.size, slices=args.slices
            )
            record["synthesis_s"] = round(time.perf_counter() - t, 1)
        out = tmp / "out"
        commands = {
            "baseline": [sys.executable, str(baseline), str(data), str(out)]
            + ["--size", str(args.target), "--clip", str(args.clip)],
            "lungnet 1 worker": lungnet_command(data, out, args.target, args.clip, 1),
            "lungnet 2 workers": lungnet_command(data, out, args.target, args.clip, 2),
        }
        if args.compare_src is not None:
            for workers in (1, 2):
                commands[f"compared {workers} worker{'s' if workers > 1 else ''}"] = (
                    lungnet_command(data, out, args.target, args.clip, workers, args.compare_src)
                )
        measured = alternate_in_fresh_process(commands, args.repeats, out)

        import nibabel as nib

        images = sorted(Path(data, "imagesTr").glob("*.nii*"))
        shapes = [list(nib.load(f).shape) for f in images if not f.name.startswith(".")]

    summary = {}
    for name, rs in measured["runs"].items():
        median = statistics.median(r["wall_s"] for r in rs)
        summary[name] = {
            "command": shlex.join(commands[name]),
            "runs_s": [round(r["wall_s"], 3) for r in rs],
            "median_s": round(median, 3),
            "s_per_volume": round(median / len(shapes), 3),
            "cpu_s_median": round(statistics.median(r["cpu_s"] for r in rs), 3),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in rs), 1),
            "slice_files": measured["files"][name],
            "load_1min_before_runs": [round(r["load_1min_before"], 2) for r in rs],
        }
    base = summary["baseline"]["median_s"]
    base_cpu = summary["baseline"]["cpu_s_median"]
    for s in summary.values():
        s["speedup_vs_baseline"] = round(base / s["median_s"], 2)
        s["cpu_s_ratio_baseline_to_this"] = round(base_cpu / s["cpu_s_median"], 2)
    one, two = summary["lungnet 1 worker"], summary["lungnet 2 workers"]
    results = {
        "speedup_1_worker": one["speedup_vs_baseline"],
        "speedup_2_workers": two["speedup_vs_baseline"],
        "scaling_1_to_2_workers": round(one["median_s"] / two["median_s"], 2),
        "peak_rss_mb_per_worker": max(one["peak_rss_mb"], two["peak_rss_mb"]),
    }
    if args.compare_src is not None:
        before_one, before_two = summary["compared 1 worker"], summary["compared 2 workers"]
        results["compared_src"] = str(args.compare_src)
        results["this_over_compared_speed_1_worker"] = round(
            before_one["median_s"] / one["median_s"], 3
        )
        results["this_over_compared_speed_2_workers"] = round(
            before_two["median_s"] / two["median_s"], 3
        )
        results["compared_scaling_1_to_2_workers"] = round(
            before_one["median_s"] / before_two["median_s"], 2
        )
    results["targets_met"] = {
        "speedup_1_worker >= 3": results["speedup_1_worker"] >= 3.0,
        "speedup_1_worker >= 5 (stretch)": results["speedup_1_worker"] >= 5.0,
        "peak_rss_mb_per_worker <= 1024": results["peak_rss_mb_per_worker"] <= 1024,
        "scaling_1_to_2_workers >= 1.7": results["scaling_1_to_2_workers"] >= 1.7,
    }

    print(
        f"\n{len(shapes)} volume(s) {shapes} -> {args.target} x {args.target}, clip {args.clip}; "
        f"{args.repeats} alternating run(s) each, medians"
    )
    print(
        f"{'variant':<20}{'median s':>10}{'s/volume':>10}{'vs baseline':>13}{'peak RSS MB':>13}"
        f"{'CPU s':>10}"
    )
    for name, s in summary.items():
        print(
            f"{name:<20}{s['median_s']:>10.2f}{s['s_per_volume']:>10.2f}"
            f"{s['speedup_vs_baseline']:>12.2f}x{s['peak_rss_mb']:>13.0f}{s['cpu_s_median']:>10.2f}"
        )
    print(f"scaling 1 -> 2 workers: {results['scaling_1_to_2_workers']:.2f}x")
    print(f"targets met: {results['targets_met']}")

    record.update(
        benchmark="preprocess_vs_shared_baseline",
        baseline={
            "script": str(baseline),
            "command": summary["baseline"]["command"],
            "is": "nibabel get_fdata, drop the clip slices, / 3071, cv2.resize per slice, np.save",
        },
        dataset={
            "source": str(args.data)
            if args.data
            else "lungnet.synthetic.write_msd_dataset, seed 7",
            "image_shapes": shapes,
        },
        summary=summary,
        results=results,
        note="2 cores shared with other work: see the load average before every run.",
    )
    tag = ("_quick" if args.quick else "") + (f"_{args.tag}" if args.tag else "")
    name = f"preprocess_bench_vs_shared_baseline{tag}.json"
    path = write_results(name, record, args.out) if args.out else write_results(name, record)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
