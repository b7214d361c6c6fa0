"""Inference speed on MSD-sized scans: LungNet's Predictor against a naive slice-at-a-time loop.

    python benchmarks/predict_bench.py                    # 1 phantom, 512 x 512 x 300, width 64
    python benchmarks/predict_bench.py --scans 3 --checkpoint best.ckpt
    python benchmarks/predict_bench.py --quick            # tiny sizes, seconds (tests the script)

Each variant runs in its own process so its peak RSS is its own. Reported per scan:
seconds split into read / preprocess / model / postprocess / write (median over scans),
peak RSS, and the Dice of each mask against LungNet's float32 mask. Without
--checkpoint the network has random weights with its output bias set so that about 5%
of voxels are tumor (speed does not depend on the weights; the Dice check then compares
noise-like masks, a stricter test of bf16 agreement than a confident trained model).
Writes JSON to --out and prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from isolated import in_process
from record import RESULTS_DIR, provenance, write_results


def make_scans(folder: Path, n: int, size: int, slices: int) -> list[Path]:
    import nibabel as nib
    import numpy as np

    from lungnet.synthetic import make_phantom

    paths = []
    for i in range(n):
        ph = make_phantom(seed=1000 + i, size=size, slices=slices)
        img = nib.Nifti1Image(np.asarray(ph.hu).astype(np.int16), ph.affine)
        path = folder / f"scan_{i}.nii.gz"
        nib.save(img, path)
        paths.append(path)
    return paths


def make_checkpoint(path: Path, width: int, size: int, scan: Path) -> Path:
    import numpy as np
    import torch

    from lungnet.checkpoints import checkpoint_dict
    from lungnet.io import read_ct
    from lungnet.models import UNet
    from lungnet.preprocessing import PreprocessConfig, preprocess_image

    torch.manual_seed(0)
    model = UNet(in_channels=1, base_channels=width, depth=4).eval()
    config = PreprocessConfig(target_size=(size, size), clip_slices_min=30)
    # Random weights give logits of one sign almost everywhere, hence empty masks whose
    # Dice is trivially 1. Shift the output bias so that about 5% of voxels are tumor:
    # a noise-like mask is a strict test of bf16 against float32.
    slices = preprocess_image(read_ct(scan).array, config)
    sample = torch.from_numpy(slices[:: max(1, len(slices) // 8)][:, None])
    with torch.no_grad():
        logits = model(sample).flatten()
        model.outc.bias -= float(np.quantile(logits.numpy(), 0.95))
    torch.save(checkpoint_dict(model, config), path)
    return path


def run_lungnet(scan: str, checkpoint: str, out_dir: str, precision: str) -> dict:
    from lungnet.inference import Predictor

    predictor = Predictor(checkpoint, device="cpu", precision=precision)
    outcome = predictor.predict_file(Path(scan), Path(out_dir), overwrite=True)
    if outcome.status != "done":
        raise RuntimeError(outcome.message)
    return {"seconds": outcome.seconds, "mask": str(outcome.mask_path)}


def run_naive(scan: str, checkpoint: str, out_dir: str, precision: str) -> dict:
    """The loop the original describes: get_fdata, one slice at a time, float32, nearest-
    neighbour mask upsampling."""
    import nibabel as nib
    import numpy as np
    import torch
    import torch.nn.functional as F

    from lungnet.inference import load_checkpoint

    loaded = load_checkpoint(checkpoint)
    cfg, model = loaded.preprocess, loaded.model
    seconds = {"preprocess": 0.0, "model": 0.0, "postprocess": 0.0}
    t = time.perf_counter()
    img = nib.load(scan)
    volume = img.get_fdata()
    seconds["read"] = time.perf_counter() - t
    mask = np.zeros(volume.shape, np.uint8)
    with torch.no_grad():
        for z in range(cfg.clip_slices_min, volume.shape[2]):
            t = time.perf_counter()
            s = torch.from_numpy(volume[:, :, z] / cfg.hu_divisor).float()[None, None]
            s = F.interpolate(s, size=cfg.target_size, mode="bilinear", align_corners=False)
            seconds["preprocess"] += time.perf_counter() - t
            t = time.perf_counter()
            logits = model(s)
            seconds["model"] += time.perf_counter() - t
            t = time.perf_counter()
            m = (logits > 0).float()
            m = F.interpolate(m, size=volume.shape[:2], mode="nearest")
            mask[:, :, z] = m[0, 0].numpy().astype(np.uint8)
            seconds["postprocess"] += time.perf_counter() - t
    t = time.perf_counter()
    out = Path(out_dir) / "naive_pred.nii.gz"
    nib.save(nib.Nifti1Image(mask, img.affine, img.header), out)
    seconds["write"] = time.perf_counter() - t
    seconds["total"] = sum(seconds.values())
    return {"seconds": seconds, "mask": str(out)}


def dice(a_path: str, b_path: str) -> float:
    import nibabel as nib
    import numpy as np

    a = np.asanyarray(nib.load(a_path).dataobj) > 0
    b = np.asanyarray(nib.load(b_path).dataobj) > 0
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2 * (a & b).sum() / total)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scans", type=int, default=1)
    p.add_argument("--size", type=int, default=512, help="in-plane size of the phantoms")
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--width", type=int, default=64, help="U-Net base channels (random weights)")
    p.add_argument("--net-size", type=int, default=256, help="network input size")
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="a trained checkpoint instead of random weights",
    )
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--quick", action="store_true", help="tiny sizes, for testing this script")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--tag", default="", help="suffix of the results file, to keep earlier runs")
    args = p.parse_args()
    start = provenance(
        seeds={"phantoms": "make_phantom seed 1000 + i for scan i", "weights": 0},
        settings={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    )
    if args.quick:
        args.size, args.slices, args.width, args.net_size = 96, 40, 8, 64

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scans = make_scans(tmp, args.scans, args.size, args.slices)
        ckpt = str(
            args.checkpoint
            or make_checkpoint(tmp / "bench.ckpt", args.width, args.net_size, scans[0])
        )
        variants = {"lungnet auto": (run_lungnet, "auto"), "lungnet fp32": (run_lungnet, "fp32")}
        if not args.skip_naive:
            variants["naive loop"] = (run_naive, "fp32")
        rows: dict[str, list[dict]] = {name: [] for name in variants}
        for scan in scans:
            masks = {}
            for name, (fn, precision) in variants.items():
                out = tmp / name.replace(" ", "_")
                out.mkdir(exist_ok=True)
                r = in_process(fn, str(scan), ckpt, str(out), precision)
                masks[name] = r["mask"]
                rows[name].append(r)
                print(f"{scan.name} {name}: {r['seconds']['total']:.1f} s", flush=True)
            for name in variants:
                rows[name][-1]["dice_vs_fp32"] = dice(masks[name], masks["lungnet fp32"])

    stages = ("read", "preprocess", "model", "postprocess", "write", "total")
    summary = {}
    for name, results in rows.items():
        summary[name] = {
            s: statistics.median(r["seconds"].get(s, 0.0) for r in results) for s in stages
        }
        summary[name]["peak_rss_mb"] = max(r["peak_rss_mb"] for r in results)
        summary[name]["dice_vs_fp32_min"] = min(r["dice_vs_fp32"] for r in results)
    if "naive loop" in summary:
        summary["speedup_vs_naive"] = (
            summary["naive loop"]["total"] / summary["lungnet auto"]["total"]
        )

    print(
        f"\nInference, {args.scans} scan(s) of {args.size} x {args.size} x {args.slices}, "
        f"U-Net width {args.width if not args.checkpoint else 'from checkpoint'}, "
        "CPU (median s per scan)"
    )
    print(f"{'variant':<14}" + "".join(f"{s:>12}" for s in stages) + f"{'peak MB':>10}{'Dice':>8}")
    for name in rows:
        s = summary[name]
        print(
            f"{name:<14}"
            + "".join(f"{s[k]:>12.2f}" for k in stages)
            + f"{s['peak_rss_mb']:>10.0f}{s['dice_vs_fp32_min']:>8.4f}"
        )
    if "speedup_vs_naive" in summary:
        print(f"speed-up of lungnet auto over the naive loop: {summary['speedup_vs_naive']:.2f}x")

    import torch

    record = {
        **start,
        "benchmark": "predict",
        "bf16_native": bool(
            torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        ),
        "torch": torch.__version__,
        "isolation": "each variant runs in its own spawned process; peak_rss_mb is that "
        "process's own maximum resident set",
        "summary": summary,
        "per_scan": rows,
    }
    stem = "predict_bench_quick" if args.quick else "predict_bench"
    name = f"{stem}_{args.tag}.json" if args.tag else f"{stem}.json"
    write_results(name, record, args.out)
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
