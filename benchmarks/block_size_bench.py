"""How many slices ``lungnet preprocess`` should decode and convert at a time.

    python benchmarks/block_size_bench.py --data /path/to/msd_dataset --repeats 5
    python benchmarks/block_size_bench.py --quick      # tiny phantoms, to try the script

A gzipped axial scan is decoded a block of ``PLANES_PER_BLOCK`` slices at a time, and each
block is converted (float32, resized, normalized) while it is still in cache. A bigger block
means fewer Python steps; a smaller one a working set that stays in the cache, which
matters most when two workers share it. This runs :class:`lungnet.NiftiPreprocessor` with
each block size and 1 and 2 workers, in fresh processes, alternating every combination in
each round so that all see the same machine load, and reports the median wall seconds, the
median 1-to-2-worker scaling of the paired runs and the ratio of medians.
Writes ``benchmarks/results/block_size_bench<_tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from preprocess_dataset import PHANTOM_SEED, add_dataset_arguments, dataset, describe, parse
from record import provenance, write_results

# One timed run in a fresh process, with the block size patched where it is read.
_ONE_RUN = """
import json, shutil, sys, time
import lungnet.preprocessing.nifti_processor as processor
import lungnet.preprocessing.slices as slices
from lungnet import NiftiPreprocessor
block, workers, data, out, target, clip = json.loads(sys.argv[1])
slices.PLANES_PER_BLOCK = processor.PLANES_PER_BLOCK = block
shutil.rmtree(out, ignore_errors=True)
start = time.perf_counter()
NiftiPreprocessor(
    target_size=(target, target), clip_slices_min=clip, workers=workers, progress=None
).run(data, out, val_split_count=0)
print(time.perf_counter() - start)
"""


def timed_run(block: int, workers: int, data: Path, out: Path, target: int, clip: int) -> float:
    job = json.dumps([block, workers, str(data), str(out), target, clip])
    done = subprocess.run(
        [sys.executable, "-c", _ONE_RUN, job], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"block {block}, {workers} worker(s) failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--blocks", type=int, nargs="+", default=[2, 4, 8, 16])
    p.add_argument("--repeats", type=int, default=5)
    add_dataset_arguments(p)
    args = parse(p)
    if args.quick:
        args.repeats = 1
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    seeds = {"phantoms": PHANTOM_SEED} if args.data is None else {}
    record = provenance(seeds=seeds, settings=settings)
    runs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = dataset(args, Path(tmp) / "data")
        out = Path(tmp) / "out"
        for round_ in range(args.repeats):
            for block in args.blocks:
                for workers in (1, 2):
                    seconds = timed_run(block, workers, data, out, args.target, args.clip)
                    runs.setdefault(f"{block}/{workers}", []).append(round(seconds, 3))
                    print(
                        f"[{round_ + 1}/{args.repeats}] block {block:>3}, {workers} worker(s): "
                        f"{seconds:.2f} s",
                        flush=True,
                    )
    summary = {}
    for block in args.blocks:
        one, two = runs[f"{block}/1"], runs[f"{block}/2"]
        summary[str(block)] = {
            "runs_s_1_worker": one,
            "runs_s_2_workers": two,
            "median_s_1_worker": statistics.median(one),
            "median_s_2_workers": statistics.median(two),
            "scaling_ratio_of_medians": round(statistics.median(one) / statistics.median(two), 2),
            "scaling_median_of_paired_runs": round(
                statistics.median(a / b for a, b in zip(one, two, strict=True)), 2
            ),
        }
    record.update(benchmark="block_size", dataset=describe(args))
    record["summary"] = summary
    print(f"{'block':>5} {'1 worker s':>11} {'2 workers s':>12} {'scaling':>8} {'paired':>7}")
    for block, row in summary.items():
        print(
            f"{block:>5} {row['median_s_1_worker']:>11.2f} {row['median_s_2_workers']:>12.2f} "
            f"{row['scaling_ratio_of_medians']:>8.2f} {row['scaling_median_of_paired_runs']:>7.2f}"
        )
    name = f"block_size_bench{'_' + args.tag if args.tag else ''}{'_quick' if args.quick else ''}"
    print(f"wrote {write_results(name + '.json', record, args.out)}")


if __name__ == "__main__":
    main()
