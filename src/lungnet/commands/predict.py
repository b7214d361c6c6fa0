"""`lungnet predict`: segment CT scans with a trained checkpoint."""

from __future__ import annotations

import argparse
import dataclasses
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from lungnet.commands._io_flags import add_input, add_output_dir
    from lungnet.inference.settings import PredictSettings
    from lungnet.options import add_options

    p = sub.add_parser(
        "predict",
        help="segment lung tumors in CT scans (NIfTI files, DICOM series, or folders of them)",
        description="Write <name>_pred.nii.gz per scan: a uint8 tumor mask with exactly the "
        "scan's shape, voxel order and affine. The preprocessing is read from the checkpoint.",
    )
    add_input(
        p,
        "--input_nifti",
        "--input-nifti",
        dest="inputs",
        nargs="+",
        required=True,
        metavar="PATH",
        help=".nii/.nii.gz files, DICOM series folders, folders of scans, or a Decathlon "
        "dataset folder (its --split folder is predicted)",
    )
    p.add_argument(
        "--split",
        choices=("imagesTs", "imagesTr"),
        default="imagesTs",
        help="which scans of a dataset folder given as --input to predict (default: imagesTs)",
    )
    p.add_argument(
        "--checkpoint",
        nargs="+",
        required=True,
        metavar="CKPT",
        help="a .ckpt written by `lungnet train`; several (e.g. the folds) are averaged as an "
        "ensemble and must share one preprocessing",
    )
    add_output_dir(
        p,
        "--output_dir",
        default="predictions",
        help="where masks go (default: predictions)",
    )
    add_options(p, PredictSettings)
    p.add_argument(
        "--devices",
        type=int,
        default=1,
        metavar="N",
        help="shard the scans over N processes, one per GPU (or CPU processes without CUDA); "
        "each scan is written once (default: 1)",
    )
    p.add_argument(
        "--num-nodes",
        type=int,
        default=1,
        metavar="N",
        help="machines taking part, launched as Lightning training is (torchrun, SLURM)",
    )
    p.add_argument(
        "--save-probabilities", action="store_true", help="also write <name>_prob.nii.gz (float32)"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="redo scans whose output already exists"
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="also write per-tumor tables (JSON, CSV), overlay PNGs and an HTML report per scan",
    )
    p.add_argument(
        "--dicom-seg",
        action="store_true",
        help="also write <name>_seg.dcm, a DICOM Segmentation referencing the source series, for "
        "viewers and PACS (OHIF, 3D Slicer, Orthanc); needs DICOM series inputs",
    )
    p.add_argument(
        "--radiomics",
        action="store_true",
        help="also write IBSI radiomics per tumor beside each mask (<name>_radiomics.csv/.json, "
        "default settings of `lungnet radiomics`) and radiomics.csv joining all scans",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lungnet.errors import ConfigError
    from lungnet.inference import Predictor, load_checkpoint, output_name
    from lungnet.inference.inputs import find_scans
    from lungnet.inference.settings import PredictSettings
    from lungnet.inference.sharding import launch_shards, single_process
    from lungnet.options import config_from_args

    if args.devices < 1 or args.num_nodes < 1:
        raise ConfigError("devices (--devices) and num_nodes (--num-nodes) must be >= 1")
    settings = config_from_args(PredictSettings, args)
    found = find_scans(args.inputs, split=args.split)
    if not found.scans:
        print(f"lungnet predict: error: no scans found in {' '.join(args.inputs)}", file=sys.stderr)
        return 1
    shard = single_process()
    if args.devices * args.num_nodes > 1:
        for path in args.checkpoint:  # a bad checkpoint is one line before any process starts
            load_checkpoint(path)
        shard = launch_shards(args.devices, args.num_nodes, settings.device)
    predictor = Predictor(args.checkpoint, **dataclasses.asdict(settings))
    if shard.rank == 0:
        for entry, reason in found.skipped:
            print(f"skipped: {entry}: {reason}", file=sys.stderr)
    scans = shard.take(found.scans)
    output_dir = Path(args.output_dir)
    # Two inputs with one output name would overwrite each other; found before sharding,
    # so that every process agrees which one is refused.
    claimed: dict[Path, Path] = {}
    clashes: dict[Path, Path] = {}
    for scan in found.scans:
        target = output_dir / output_name(scan)
        if target in claimed:
            clashes[scan] = claimed[target]
        else:
            claimed[target] = scan
    failed = 0
    radiomics = None
    if args.radiomics:
        from lungnet.radiomics import RadiomicsBatch

        radiomics = RadiomicsBatch(output_dir)
    for scan in scans:
        if scan in clashes:
            name = output_name(scan)
            print(
                f"failed: {scan}: its output name {name} is already used by {clashes[scan]}",
                file=sys.stderr,
            )
            failed += 1
            continue
        outcome = predictor.predict_file(
            scan,
            output_dir,
            overwrite=args.overwrite,
            save_probabilities=args.save_probabilities,
            report=args.report,
            dicom_seg=args.dicom_seg,
        )
        if outcome.status == "failed":
            failed += 1
            print(f"failed: {outcome.message}", file=sys.stderr)
            continue
        if radiomics is not None:
            radiomics.add(scan, outcome.mask_path, report=outcome.report_path)
        if outcome.status == "skipped":
            print(f"kept:   {outcome.mask_path} (exists; --overwrite redoes it)", flush=True)
            continue
        line = (
            f"done:   {outcome.mask_path}  ({outcome.tumor_voxels} tumor voxels, "
            f"{outcome.seconds['total']:.1f} s)"
        )
        if outcome.note:
            line += f"\n        note: {outcome.note}"
        if outcome.report_path is not None:
            line += f"\n        report: {outcome.report_path}"
        if outcome.dicom_seg_path is not None:
            line += f"\n        dicom seg: {outcome.dicom_seg_path}"
        print(line, flush=True)
    failed = sum(shard.gather(failed))
    if radiomics is not None:
        radiomics.done = [item for part in shard.gather(radiomics.done) for item in part]
        if shard.rank == 0:
            radiomics.finish()
    total = len(found.scans)
    if shard.rank == 0:
        where = f" on {shard.world_size} processes" if shard.world_size > 1 else ""
        print(f"{total} scan(s){where}: {total - failed} ok, {failed} failed", flush=True)
    return 1 if failed else 0
