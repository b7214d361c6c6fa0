"""`lungnet predict`: segment CT scans with a trained checkpoint."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="segment lung tumors in CT scans (NIfTI files, DICOM series, or folders of them)",
        description="Write <name>_pred.nii.gz per scan: a uint8 tumor mask with exactly the scan's shape, "
        "voxel order and affine. The preprocessing is read from the checkpoint.",
    )
    p.add_argument("--input", "--input_nifti", "--input-nifti", dest="inputs", nargs="+", required=True,
                   metavar="PATH", help=".nii/.nii.gz files, DICOM series folders, or folders of scans")
    p.add_argument("--checkpoint", required=True, help="a .ckpt written by `lungnet train`")
    p.add_argument("--output-dir", "--output_dir", default="predictions", help="where masks go (default: predictions)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--batch-size", "--batch_size", type=int, default=None, metavar="N",
                   help="slices per forward pass (default: 64 on GPU, 8 on CPU)")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"),
                   help="auto: bf16 where the hardware runs it natively, else fp32")
    p.add_argument("--save-probabilities", action="store_true", help="also write <name>_prob.nii.gz (float32)")
    p.add_argument("--tta", action="store_true", help="average over in-plane flips (3x slower)")
    p.add_argument("--min-tumor-volume", type=float, default=0.0, metavar="MM3",
                   help="drop connected components smaller than MM3 cubic millimetres")
    p.add_argument("--overwrite", action="store_true", help="redo scans whose output already exists")
    p.add_argument("--report", action="store_true",
                   help="also write per-tumor tables (JSON, CSV), overlay PNGs and an HTML report per scan")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lungnet.inference import Predictor, expand_inputs, output_name

    if (args.batch_size is not None and args.batch_size < 1) or args.min_tumor_volume < 0:
        print("lungnet predict: error: --batch-size must be >= 1 and --min-tumor-volume >= 0", file=sys.stderr)
        return 2
    predictor = Predictor(
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        tta=args.tta,
        min_tumor_volume_mm3=args.min_tumor_volume,
        precision=args.precision,
    )
    scans = expand_inputs(args.inputs)
    if not scans:
        print(f"lungnet predict: error: no scans found in {' '.join(args.inputs)}", file=sys.stderr)
        return 1
    output_dir = Path(args.output_dir)
    claimed: dict[Path, Path] = {}
    failed = 0
    for scan in scans:
        target = output_dir / output_name(scan)
        if target in claimed:
            print(f"failed: {scan}: its output name {target.name} is already used by {claimed[target]}", file=sys.stderr)
            failed += 1
            continue
        claimed[target] = scan
        outcome = predictor.predict_file(scan, output_dir, overwrite=args.overwrite,
                                         save_probabilities=args.save_probabilities, report=args.report)
        if outcome.status == "failed":
            failed += 1
            print(f"failed: {outcome.message}", file=sys.stderr)
            continue
        if outcome.status == "skipped":
            print(f"kept:   {outcome.mask_path} (exists; --overwrite redoes it)")
            continue
        line = f"done:   {outcome.mask_path}  ({outcome.tumor_voxels} tumor voxels, {outcome.seconds['total']:.1f} s)"
        if outcome.note:
            line += f"\n        note: {outcome.note}"
        if outcome.report_path is not None:
            line += f"\n        report: {outcome.report_path}"
        print(line)
    print(f"{len(scans)} scan(s): {len(scans) - failed} ok, {failed} failed")
    return 1 if failed else 0
