"""Streamed decoding against whole-file decoding, side by side in one process.

    python benchmarks/stream_decode_bench.py            # 2 phantoms of 512 x 512 x 300 int16
    python benchmarks/stream_decode_bench.py --quick    # tiny sizes, to try the script

``lungnet preprocess`` decodes a gzipped axial scan a block of slices at a time and preprocesses
each block while it is in cache (``lungnet.preprocessing.stored.open_streamed``); any other
file is decoded whole first. This runs :class:`lungnet.NiftiPreprocessor` on the same files
both ways, alternating (streamed, whole) ``--repeats`` times in one process, so that the
interpreter start and the imports are left out and both variants see the same machine
load. Reported: the median wall and CPU seconds of each, and their ratio.
Writes ``benchmarks/results/stream_decode_bench.json``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from record import provenance, write_results


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cases", type=int, default=2)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="tiny sizes, for testing this script")
    p.add_argument("--out", type=Path, default=None, help="results folder")
    p.add_argument("--tag", default="", help="appended to the results file name")
    args = p.parse_args()
    if args.quick:
        args.cases, args.size, args.slices, args.repeats = 1, 64, 40, 2
    record = provenance(
        seeds={"phantoms": 7},
        settings={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    )

    import lungnet.preprocessing.nifti_processor as processor
    from lungnet import NiftiPreprocessor
    from lungnet.synthetic import write_msd_dataset

    streamed = processor.open_streamed
    variants = {"streamed": streamed, "whole": lambda path: None}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_msd_dataset(
            Path(tmp) / "data", cases=args.cases, seed=7, size=args.size, slices=args.slices
        )
        images = sorted((data / "imagesTr").glob("*.nii.gz"))
        assert all(streamed(path) is not None for path in images), "phantoms must stream"
        for repeat in range(args.repeats):
            for name, opener in variants.items():
                processor.open_streamed = opener
                out = Path(tmp) / "out"
                shutil.rmtree(out, ignore_errors=True)
                wall, cpu = time.perf_counter(), time.process_time()
                NiftiPreprocessor(target_size=(256, 256), clip_slices_min=30, workers=1).run(
                    data, out, val_split_count=0
                )
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                times[name].append((wall, cpu))
                print(f"[{repeat + 1}/{args.repeats}] {name:9s} {wall:6.2f} s  CPU {cpu:6.2f} s")
        processor.open_streamed = streamed
    summary = {
        name: {
            "wall_s": [round(w, 3) for w, _ in runs],
            "cpu_s": [round(c, 3) for _, c in runs],
            "wall_s_median": round(statistics.median(w for w, _ in runs), 3),
            "cpu_s_median": round(statistics.median(c for _, c in runs), 3),
        }
        for name, runs in times.items()
    }
    ratio = summary["whole"]["wall_s_median"] / summary["streamed"]["wall_s_median"]
    cpu_ratio = summary["whole"]["cpu_s_median"] / summary["streamed"]["cpu_s_median"]
    record.update(
        benchmark="stream_decode",
        dataset={"source": "lungnet.synthetic.write_msd_dataset, seed 7", "images": len(images)},
        preprocessing={"target_size": [256, 256], "clip_slices_min": 30, "workers": 1},
        summary=summary,
        results={
            "whole_over_streamed_wall": round(ratio, 3),
            "whole_over_streamed_cpu": round(cpu_ratio, 3),
        },
    )
    print(
        f"whole-file decoding takes {ratio:.2f}x the wall time of streamed ({cpu_ratio:.2f}x CPU)"
    )
    tag = f"_{args.tag}" if args.tag else ""
    quick = "_quick" if args.quick else ""
    kwargs = {} if args.out is None else {"results_dir": args.out}
    print(f"wrote {write_results(f'stream_decode_bench{tag}{quick}.json', record, **kwargs)}")


if __name__ == "__main__":
    main()
