"""Preprocessing speed on MSD-sized volumes: NiftiPreprocessor against a seed-style loop.

    python benchmarks/preprocess_bench.py             # 4 phantoms, 512 x 512 x 300 int16 .nii.gz
    python benchmarks/preprocess_bench.py --quick     # tiny sizes, for testing the script

The seed-style loop is the straightforward way: nibabel ``get_fdata()`` for image and
label, then per slice ``scipy.ndimage.zoom`` (linear for the image, nearest for the mask)
and ``np.save``. Each variant runs in its own process (peak RSS is its own) on the same
files, in the same run. Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from isolated import in_process  # noqa: E402


def seed_style(input_root: str, output_root: str, size: int, clip: int) -> dict:
    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    per_case = []
    for image in sorted(Path(input_root, "imagesTr").glob("*.nii.gz")):
        t = time.perf_counter()
        name = image.name[: -len(".nii.gz")]
        vol = nib.load(image).get_fdata()
        lab = nib.load(Path(input_root, "labelsTr", image.name)).get_fdata()
        out = Path(output_root, name)
        (out / "data").mkdir(parents=True)
        (out / "masks").mkdir()
        for i, z in enumerate(range(clip, vol.shape[2])):
            zoom = (size / vol.shape[0], size / vol.shape[1])
            s = ndimage.zoom(vol[:, :, z] / 3071.0, zoom, order=1).astype(np.float32)
            m = ndimage.zoom(lab[:, :, z], zoom, order=0).astype(np.uint8)
            np.save(out / "data" / f"{i}.npy", s)
            np.save(out / "masks" / f"{i}.npy", m)
        per_case.append(time.perf_counter() - t)
    return {"per_case_s": per_case}


def lungnet(input_root: str, output_root: str, size: int, clip: int, workers: int) -> dict:
    from lungnet import NiftiPreprocessor

    t = time.perf_counter()
    result = NiftiPreprocessor(target_size=(size, size), clip_slices_min=clip, workers=workers).run(
        input_root, output_root, val_split_count=0
    )
    wall = time.perf_counter() - t
    if result.failed:
        raise RuntimeError(result.failed[0].message)
    n = len(result.outcomes)
    return {"per_case_s": [wall / n] * n, "wall_s": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=4)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--target", type=int, default=256)
    p.add_argument("--clip", type=int, default=30)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    if args.quick:
        args.cases, args.size, args.slices, args.target = 2, 96, 48, 64
    cores = len(os.sched_getaffinity(0))

    from lungnet.synthetic import write_msd_dataset

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        data = write_msd_dataset(tmp / "data", cases=args.cases, test_cases=0, seed=7, size=args.size, slices=args.slices)
        synth_s = time.perf_counter() - t
        variants = {
            "seed-style loop": ("seed_style", ()),
            "lungnet 1 worker": ("lungnet", (1,)),
            f"lungnet {cores} workers": ("lungnet", (cores,)),
        }
        results = {}
        for name, (fn, extra) in variants.items():
            out = tmp / "out"
            shutil.rmtree(out, ignore_errors=True)
            results[name] = in_process(globals()[fn], str(data), str(out), args.target, args.clip, *extra)
            print(f"{name}: {statistics.median(results[name]['per_case_s']):.2f} s/volume", flush=True)

    summary = {
        name: {"s_per_volume_median": statistics.median(r["per_case_s"]), "peak_rss_mb": r["peak_rss_mb"]}
        for name, r in results.items()
    }
    base = summary["seed-style loop"]["s_per_volume_median"]
    for s in summary.values():
        s["speedup_vs_seed"] = base / s["s_per_volume_median"]

    print(f"\nPreprocessing {args.cases} volume(s) of {args.size} x {args.size} x {args.slices} int16 .nii.gz "
          f"-> {args.target} x {args.target}, clip {args.clip} ({cores} cores)")
    print(f"{'variant':<22}{'s/volume':>10}{'speed-up':>10}{'peak RSS MB':>13}")
    for name, s in summary.items():
        print(f"{name:<22}{s['s_per_volume_median']:>10.2f}{s['speedup_vs_seed']:>9.2f}x{s['peak_rss_mb']:>13.0f}")

    record = {
        "benchmark": "preprocess",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": cores, "platform": platform.platform()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "synthesis_s": synth_s,
        "summary": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "preprocess_bench_quick.json" if args.quick else "preprocess_bench.json"
    (args.out / name).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
