"""Where the time of ``lungnet preprocess`` goes, one worker, in one profiled process.

    python benchmarks/preprocess_profile.py --data /path/to/msd_dataset
    python benchmarks/preprocess_profile.py --quick     # tiny phantoms, to try the script

Runs :class:`lungnet.NiftiPreprocessor` with one worker under ``cProfile`` (start-up and
imports left out) and records the functions that spent the most time themselves, plus
the share of gzip decoding, which is the floor: a faster preprocessing cannot skip it.
Writes ``benchmarks/results/preprocess_profile<_tag>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from preprocess_dataset import PHANTOM_SEED, add_dataset_arguments, dataset, describe, parse
from record import provenance, write_results

_DECODING = ("decompress",)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--top", type=int, default=14, help="functions recorded")
    add_dataset_arguments(p)
    args = parse(p)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    seeds = {"phantoms": PHANTOM_SEED} if args.data is None else {}
    record = provenance(seeds=seeds, settings=settings)

    from lungnet import NiftiPreprocessor

    with tempfile.TemporaryDirectory() as tmp:
        data = dataset(args, Path(tmp) / "data")
        preprocessor = NiftiPreprocessor(
            target_size=(args.target, args.target), clip_slices_min=args.clip, workers=1
        )
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        result = preprocessor.run(data, Path(tmp) / "out", val_split_count=0)
        profile.disable()
        wall = time.perf_counter() - start
    stats = pstats.Stats(profile)
    rows = []
    for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = name if file == "~" else f"{Path(file).name}:{line}({name})"
        rows.append({"function": where, "calls": calls, "own_s": own, "cumulative_s": cumulative})
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    decoding = sum(r["own_s"] for r in rows if any(d in r["function"] for d in _DECODING))
    record.update(
        benchmark="preprocess_profile",
        dataset=describe(args),
        cases=len(result.outcomes),
        wall_s=round(wall, 3),
        profiled_s=round(stats.total_tt, 3),  # type: ignore[attr-defined]
        gzip_decoding_s=round(decoding, 3),
        top_functions=[
            {**r, "own_s": round(r["own_s"], 3), "cumulative_s": round(r["cumulative_s"], 3)}
            for r in rows[: args.top]
        ],
    )
    print(f"{len(result.outcomes)} case(s) in {wall:.2f} s; gzip decoding {decoding:.2f} s")
    for r in rows[: args.top]:
        print(f"{r['own_s']:8.3f} s  {r['calls']:>6}  {r['function']}")
    name = f"preprocess_profile{'_' + args.tag if args.tag else ''}{'_quick' if args.quick else ''}"
    print(f"wrote {write_results(name + '.json', record, args.out)}")


if __name__ == "__main__":
    main()
