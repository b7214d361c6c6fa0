"""Training speed on the CPU: model-only vs end-to-end slices/s, float32 and bf16, and augmentation.

    python benchmarks/train_bench.py                 # 128 px, width 16, batch 16 (as the demo)
    python benchmarks/train_bench.py --quick         # tiny sizes, seconds (tests the script)

- training: the U-Net alone (forward + BCE + backward + Adam step on tensors in memory)
  against ``lungnet.engine.training`` (the code behind ``lungnet train``: .npy loading,
  weighted sampling, affine + elastic augmentation of the batch, Lightning's loop) on a
  synthetic preprocessed folder. Their ratio is the pipeline's overhead.
- augmentation: LungNet's batched affine + elastic (one ``grid_sample`` per batch) against
  MONAI's per-sample ``RandAffined`` + ``Rand2DElasticd`` (image + mask), per batch of 16.

Prints a table and writes JSON to --out (default: benchmarks/results).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from gpu_bench import (
    end_to_end_rate,
    logging_quiet,
    model_only_rate,
    write_json,
    write_synthetic_folder,
)
from record import RESULTS_DIR


def augmentation_ms(size: int, batch: int, repeats: int) -> dict[str, float]:
    """Milliseconds per batch: LungNet's batched warp vs MONAI's per-sample pair (medians)."""
    import statistics

    import numpy as np
    import torch
    from monai.transforms import Compose, Rand2DElasticd, RandAffined

    from lungnet.data.transforms import AugmentConfig, BatchAugment

    image = torch.randn(batch, 1, size, size)
    mask = (torch.rand(batch, 1, size, size) > 0.9).float()
    ours = BatchAugment(AugmentConfig(probability=1.0), seed=0)
    keys = ["image", "mask"]
    monai = Compose(
        [
            RandAffined(
                keys,
                prob=1.0,
                rotate_range=np.pi / 12,
                scale_range=0.15,
                translate_range=0.1 * size,
                mode=("bilinear", "nearest"),
                padding_mode="border",
            ),
            Rand2DElasticd(
                keys,
                spacing=size // 8,
                magnitude_range=(0, 1.3),
                prob=1.0,
                mode=("bilinear", "nearest"),
                padding_mode="border",
            ),
        ]
    )
    monai.set_random_state(0)

    def time_it(fn) -> float:
        fn()
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs)

    def run_monai() -> None:
        for i in range(batch):
            monai({"image": image[i], "mask": mask[i]})

    return {
        "lungnet_batched_ms": round(time_it(lambda: ours(image, mask)), 2),
        "monai_per_sample_ms": round(time_it(run_monai), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds")
    args = parser.parse_args(argv)
    if args.quick:
        size, width, batch, steps, warmup, aug_sizes, repeats = 64, 8, 4, 4, 2, [64], 2
    else:
        size, width, batch, steps, warmup, aug_sizes, repeats = 128, 16, 16, 20, 3, [128, 256], 5

    import torch

    logging_quiet()
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lungnet-train-bench-") as tmp:
        per_case = 64
        cases = -(-(steps + warmup) * batch // per_case)
        data = write_synthetic_folder(Path(tmp) / "processed", cases, 1, per_case, size)
        # float32 (the default on CPUs without native bf16) and bf16 + channels_last (the
        # default where the CPU has AMX or AVX512-BF16), side by side in one run.
        for fast in (False, True):
            model = model_only_rate(width, size, batch, steps, warmup, fast=fast, device="cpu")
            e2e = end_to_end_rate(
                data,
                Path(tmp) / f"runs_{fast}",
                width,
                batch,
                steps,
                warmup,
                fast=fast,
                workers=0,
                accelerator="cpu",
            )
            rows.append(
                {
                    "section": "training",
                    "precision": "bf16 + channels_last" if fast else "float32",
                    "size": size,
                    "width": width,
                    "batch": batch,
                    "model_only_slices_s": round(model, 1),
                    "end_to_end_slices_s": round(e2e, 1),
                    "e2e_over_model": round(e2e / model, 3),
                }
            )
    for aug_size in aug_sizes:
        rows.append(
            {
                "section": "augmentation",
                "size": aug_size,
                "batch": batch,
                **augmentation_ms(aug_size, batch, repeats),
            }
        )
    payload = {
        "device": f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - start, 1),
        "rows": rows,
    }
    training = [r for r in rows if r["section"] == "training"]
    payload["bf16_over_fp32_end_to_end"] = round(
        training[1]["end_to_end_slices_s"] / training[0]["end_to_end_slices_s"], 2
    )
    path = write_json(args.out, f"train_bench_{'quick' if args.quick else 'cpu'}.json", payload)
    print(f"training at {size} x {size}, width {width}, batch {batch} on {payload['device']}:")
    print(f"  {'precision':<22}{'model-only':>12}{'end-to-end':>12}{'ratio':>7}  (slices/s)")
    for r in training:
        print(
            f"  {r['precision']:<22}{r['model_only_slices_s']:12.1f}"
            f"{r['end_to_end_slices_s']:12.1f}"
            f"{r['e2e_over_model']:7.2f}"
        )
    print(
        "  bf16 + channels_last over float32, end to end: "
        f"{payload['bf16_over_fp32_end_to_end']:.2f}x"
    )
    for r in rows[len(training) :]:
        print(
            f"augmentation of {r['batch']} slices + masks at {r['size']} x {r['size']}: "
            "LungNet batched "
            f"{r['lungnet_batched_ms']:.1f} ms, MONAI per sample {r['monai_per_sample_ms']:.1f} ms"
        )
    print(f"total {payload['wall_s']} s; JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
