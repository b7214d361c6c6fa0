"""Training and inference speed on one GPU: slices/s and seconds per scan, bf16 vs defaults.

    python benchmarks/gpu_bench.py                  # GPU: 256 px, widths 32 and 64, batch 16
    python benchmarks/gpu_bench.py --quick          # tiny sizes on any device (tests the script)
    python benchmarks/gpu_bench.py --out DIR        # JSON goes to DIR (default: benchmarks/results)

Needs torch and lightning, plus numpy, nibabel and isal (imported through
``lungnet.preprocessing`` -> ``lungnet.io``) and tensorboard or tensorboardX (the run's
logger); MONAI, SimpleITK and matplotlib are not used. The script checks these first and
names any that are missing. Install LungNet first (``pip install -e .``).

- model-only: the U-Net alone (forward + BCE + backward + Adam step) on random tensors
  already on the device; the ceiling of what training can reach.
- end-to-end: ``lungnet.engine.training`` (the code behind ``lungnet train``) on a synthetic
  preprocessed folder this script writes to a temporary folder: .npy loading in <= 4
  DataLoader workers, weighted sampling, affine + elastic augmentation on the device,
  Lightning's loop. Timed from the first batch after warm-up to the last batch end, so
  loading stalls count and validation does not.

"fast" = bf16 mixed precision + channels_last (the CUDA default of ``lungnet train``);
"defaults" = float32, contiguous (PyTorch defaults). Sections are functions
``(args, workdir) -> list[dict]`` registered in ``SECTIONS``; each row is one measurement.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from record import RESULTS_DIR

# ---------------------------------------------------------------------------- shared helpers


def device_name() -> str:
    import torch

    return (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"CPU ({os.cpu_count()} cores)"
    )


def write_synthetic_folder(
    root: Path, train_cases: int, val_cases: int, slices: int, size: int, seed: int = 0
) -> Path:
    """Write a preprocessed folder (manifest + per-slice .npy) of noisy slices with disk tumors.

    The content only needs realistic sizes and a realistic tumor share (1 slice in 4), not anatomy.
    """
    import numpy as np

    from lungnet.preprocessing import PreprocessConfig, case_entry, write_manifest

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    cases = {}
    for k in range(train_cases + val_cases):
        split = "train" if k < train_cases else "val"
        name = f"case_{k:03d}"
        data, masks = root / split / name / "data", root / split / name / "masks"
        data.mkdir(parents=True)
        masks.mkdir(parents=True)
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        tumor = range(slices // 2 - slices // 8, slices // 2 + max(1, slices // 8))
        for i in range(slices):
            image = rng.normal(-0.25, 0.05, (size, size)).astype(np.float32)
            mask = np.zeros((size, size), np.uint8)
            if i in tumor:
                mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= (size / 12) ** 2] = 1
                image[mask == 1] = 0.01
            np.save(data / f"{i}.npy", image)
            np.save(masks / f"{i}.npy", mask)
        cases[name] = case_entry(split, slices, tumor, source={})
    write_manifest(root, PreprocessConfig(target_size=(size, size), clip_slices_min=0), cases)
    return root


def model_only_rate(
    width: int, size: int, batch: int, steps: int, warmup: int, fast: bool, device: str
) -> float:
    """Slices/s of forward + BCE + backward + Adam step of the U-Net alone, data on the device."""
    import torch
    import torch.nn.functional as F

    from lungnet.models import UNet

    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = device == "cuda"
    model = UNet(1, base_channels=width).to(device)
    memory_format = torch.channels_last if fast else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, size, size, device=device).contiguous(memory_format=memory_format)
    y = (torch.rand(batch, 1, size, size, device=device) > 0.9).float()
    dtype = torch.bfloat16 if fast else torch.float32

    def step() -> None:
        with torch.autocast(device_type=device, dtype=dtype, enabled=fast):
            loss = F.binary_cross_entropy_with_logits(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def _throughput_callback(warmup: int):
    import lightning as L
    import torch

    class Throughput(L.Callback):
        """Wall time from the start of batch ``warmup`` to the end of the last batch."""

        def __init__(self) -> None:
            self.start: float | None = None
            self.end = 0.0
            self.slices = 0

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            if trainer.global_step == warmup and self.start is None:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if self.start is not None:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.end = time.perf_counter()
                self.slices += batch["image"].shape[0]

        @property
        def rate(self) -> float:
            return (
                self.slices / (self.end - self.start)
                if self.start is not None and self.slices
                else float("nan")
            )

    return Throughput()


def end_to_end_rate(
    data_dir: Path,
    workdir: Path,
    width: int,
    batch: int,
    steps: int,
    warmup: int,
    fast: bool,
    workers: int,
    accelerator: str,
    context_slices: int = 0,
) -> float:
    """Slices/s through ``lungnet.engine.training`` (the ``lungnet train`` code path), one epoch."""
    from lungnet.engine import TrainConfig, train

    timer = _throughput_callback(warmup)
    train(
        TrainConfig(
            data_dir=data_dir,
            default_root_dir=workdir,
            batch_size=batch,
            max_epochs=1,
            limit_train_batches=warmup + steps,
            base_channels=width,
            context_slices=context_slices,
            device={"gpu": "cuda"}.get(accelerator, accelerator),
            devices=1,
            precision="bf16-mixed" if fast else "32-true",
            channels_last=fast,
            workers=workers,
            num_sample_figures=0,
            extra_callbacks=[timer],
        )
    )
    return timer.rate


def augmentation_ms(size: int, batch: int, repeats: int, device: str) -> float:
    """Median milliseconds of LungNet's affine + elastic warp of a batch (images + masks)."""
    import statistics

    import torch

    from lungnet.data.transforms import AugmentConfig, BatchAugment

    aug = BatchAugment(AugmentConfig(probability=1.0), seed=0)
    image = torch.randn(batch, 1, size, size, device=device)
    mask = (torch.rand(batch, 1, size, size, device=device) > 0.9).float()
    runs = []
    for i in range(repeats + 3):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        aug(image, mask)
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= 3:  # the first calls pay for kernel selection
            runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def write_json(out_dir: Path, name: str, payload: dict) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------- section: training


def training_section(args: argparse.Namespace, workdir: Path) -> list[dict]:
    """Model-only and end-to-end training slices/s, per width, fast vs defaults."""
    import torch

    cuda = torch.cuda.is_available() and not args.cpu
    device, accelerator = ("cuda", "gpu") if cuda else ("cpu", "cpu")
    workers = min(4, os.cpu_count() or 1) if cuda else 0
    slices_needed = (args.warmup + args.steps) * args.batch
    per_case = max(16, args.slices)
    train_cases = -(-slices_needed // per_case)
    data = write_synthetic_folder(workdir / "processed", train_cases, 1, per_case, args.size)
    aug = augmentation_ms(args.size, args.batch, 20, device)
    rows = [
        {
            "section": "augmentation",
            "size": args.size,
            "batch": args.batch,
            "device": device,
            "affine_elastic_batch_ms": round(aug, 3),
        }
    ]
    print(
        f"  affine + elastic of {args.batch} slices + masks at {args.size} px on {device}: "
        f"{aug:.2f} ms",
        flush=True,
    )
    for width in args.widths:
        for fast in (True, False):
            mode = "bf16+channels_last" if fast else "defaults"
            model = model_only_rate(
                width, args.size, args.batch, args.steps, args.warmup, fast, device
            )
            e2e = end_to_end_rate(
                data,
                workdir / "runs",
                width,
                args.batch,
                args.steps,
                args.warmup,
                fast,
                workers,
                accelerator,
            )
            rows.append(
                {
                    "section": "training",
                    "width": width,
                    "mode": mode,
                    "size": args.size,
                    "batch": args.batch,
                    "loader_workers": workers,
                    "model_only_slices_s": round(model, 1),
                    "end_to_end_slices_s": round(e2e, 1),
                    "e2e_over_model": round(e2e / model, 3),
                }
            )
            print(
                f"  width {width:3d} {mode:19s} model-only {model:8.1f}  "
                f"end-to-end {e2e:8.1f} slices/s",
                flush=True,
            )
    return rows


# ---------------------------------------------------------------------------- section: inference


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def inference_section(args: argparse.Namespace, workdir: Path) -> list[dict]:
    """Model-only inference slices/s, and seconds per MSD-sized scan from read to written."""
    import statistics

    import nibabel as nib
    import numpy as np
    import torch

    from lungnet.checkpoints import checkpoint_dict
    from lungnet.inference import Predictor
    from lungnet.models import UNet
    from lungnet.preprocessing import PreprocessConfig
    from lungnet.synthetic import make_phantom

    cuda = torch.cuda.is_available() and not args.cpu
    device = "cuda" if cuda else "cpu"
    scan_size, slices, batch = (96, 48, 8) if args.quick else (512, 300, 64)
    workdir.mkdir(parents=True, exist_ok=True)
    phantom = make_phantom(seed=5, size=scan_size, slices=slices)
    scan = workdir / "scan.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(phantom.hu).astype(np.int16), phantom.affine), scan)
    rows = []
    for width in args.widths:
        torch.manual_seed(0)
        model = UNet(in_channels=1, base_channels=width, depth=4)
        ckpt = workdir / f"w{width}.ckpt"
        preprocess = PreprocessConfig(target_size=(args.size, args.size), clip_slices_min=30)
        torch.save(checkpoint_dict(model, preprocess), ckpt)
        for precision in ("bf16", "fp32"):
            predictor = Predictor(ckpt, device=device, precision=precision, batch_size=batch)
            x = (
                np.random.default_rng(0)
                .normal(0, 0.3, (batch * 4, args.size, args.size))
                .astype(np.float32)
            )
            predictor.predict_slices(x)  # warm-up: kernel selection, allocator
            times = []
            for _ in range(3):
                _sync()
                start = time.perf_counter()
                predictor.predict_slices(x)
                _sync()
                times.append(time.perf_counter() - start)
            model_rate = len(x) / statistics.median(times)
            predictor.predict_file(
                scan, workdir / "out", overwrite=True
            )  # warm-up on the real shape
            runs = [
                predictor.predict_file(scan, workdir / "out", overwrite=True).seconds
                for _ in range(3)
            ]
            split = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
            rows.append(
                {
                    "section": "inference",
                    "width": width,
                    "precision": precision,
                    "size": args.size,
                    "batch": batch,
                    "device": device,
                    "scan_shape": [scan_size, scan_size, slices],
                    "model_only_slices_s": round(model_rate, 1),
                    "end_to_end_s": split,
                }
            )
            print(
                f"  width {width:3d} {precision:5s} model-only {model_rate:8.1f} slices/s; "
                "scan end to end " + ", ".join(f"{k} {v:.3f}" for k, v in split.items()) + " s",
                flush=True,
            )
    return rows


# ---------------------------------------------------------------------------- main

#: Benchmark sections, run in this order; each returns a list of result rows.
SECTIONS = {"training": training_section, "inference": inference_section}


def missing_packages() -> list[str]:
    """Packages the training path imports that this Python lacks."""
    missing = [
        m
        for m in ("torch", "lightning", "numpy", "nibabel", "isal")
        if importlib.util.find_spec(m) is None
    ]
    if (
        importlib.util.find_spec("tensorboard") is None
        and importlib.util.find_spec("tensorboardX") is None
    ):
        missing.append("tensorboard (or tensorboardX)")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the JSON")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes (64 px, width 8, batch 4), seconds"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="run on the CPU even when CUDA is present"
    )
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.widths, args.batch, args.steps, args.warmup, args.slices = (
            64,
            [8],
            4,
            4,
            2,
            16,
        )
    else:
        args.size, args.widths, args.batch, args.steps, args.warmup, args.slices = (
            256,
            [32, 64],
            16,
            60,
            15,
            128,
        )

    missing = missing_packages()
    if missing:
        print(f"gpu_bench: missing Python packages: {', '.join(missing)}", file=sys.stderr)
        return 2

    import lightning
    import torch

    logging_quiet()
    start = time.perf_counter()
    print(
        f"device: {device_name()}  torch {torch.__version__}  lightning {lightning.__version__}",
        flush=True,
    )
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="lungnet-gpu-bench-") as tmp:
        for name in args.sections:
            print(f"[{name}]", flush=True)
            rows.extend(SECTIONS[name](args, Path(tmp) / name))
    payload = {
        "device": device_name(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "python": platform.python_version(),
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - start, 1),
        "rows": rows,
    }
    tag = "quick" if args.quick else "full"
    slug = "".join(c if c.isalnum() else "_" for c in payload["device"]).strip("_").lower()
    path = write_json(args.out, f"gpu_bench_{tag}_{slug}.json", payload)
    print(
        f"\n{'section':9s} {'width':>5s} {'mode':19s} {'model-only':>11s} "
        f"{'end-to-end':>11s} {'ratio':>6s}"
    )
    for r in (r for r in rows if r["section"] == "training"):
        print(
            f"{r['section']:9s} {r['width']:5d} {r['mode']:19s} {r['model_only_slices_s']:11.1f} "
            f"{r['end_to_end_slices_s']:11.1f} {r['e2e_over_model']:6.2f}"
        )
    inference = [r for r in rows if r["section"] == "inference"]
    if inference:
        shape = " x ".join(map(str, inference[0]["scan_shape"]))
        print(
            f"\n{'inference':9s} {'width':>5s} {'precision':9s} {'model-only slices/s':>20s}  "
            f"seconds per {shape} scan"
        )
        for r in inference:
            split = ", ".join(f"{k} {v:.2f}" for k, v in r["end_to_end_s"].items())
            print(
                f"{'':9s} {r['width']:5d} {r['precision']:9s} "
                f"{r['model_only_slices_s']:20.1f}  {split}"
            )
    print(f"\ntotal {payload['wall_s']} s; JSON: {path}")
    return 0


def logging_quiet() -> None:
    """Keep Lightning's per-run banners out of the table."""
    import logging
    import warnings

    import lightning.pytorch  # noqa: F401  (sets its logger's level on import; override it after)

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


if __name__ == "__main__":
    sys.exit(main())
