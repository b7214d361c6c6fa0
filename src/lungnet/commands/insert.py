"""`lungnet insert --ct SCAN... -o DIR`: put synthetic lung tumors into real CT scans."""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    from lungnet.commands._io_flags import add_input, add_output_dir
    from lungnet.commands._tumor_options import TumorOptions
    from lungnet.options import add_options

    p = sub.add_parser(
        "insert",
        help="insert synthetic lung tumors with exact labels into real CT scans (MSD layout)",
        description="Write imagesTr/, labelsTr/ and dataset.json to DIR: each scan with synthetic "
        "tumors in its own lungs, with a blurred (partial-volume) edge and noise at the level "
        "measured in the scan. The scan's geometry and "
        "data type are kept and voxels more than a few mm from a tumor are unchanged; the same "
        "seed writes the same files. A scan without lungs, or one that is not CT, is skipped.",
    )
    add_input(
        p,
        "--ct",
        dest="scans",
        nargs="+",
        required=True,
        metavar="SCAN",
        help=".nii/.nii.gz files or DICOM series folders, usually without tumors",
    )
    add_output_dir(p, required=True, metavar="DIR", help="dataset folder to write")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed (default: 0)")
    add_options(p, TumorOptions)
    p.add_argument(
        "--library-split",
        choices=("train", "val", "test"),
        default="train",
        help="which patients of the library to use; give each of your splits its own "
        "(default: train)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lungnet.errors import ConfigError
    from lungnet.synthetic.insert import write_inserted_dataset
    from lungnet.synthetic.phantom import check_tumor_args

    tumor_count = None if args.tumor_count is None else tuple(args.tumor_count)
    diameter = None if args.tumor_diameter is None else tuple(args.tumor_diameter)
    try:
        if args.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {args.seed}")
        check_tumor_args(diameter, tumor_count, args.library_share)
    except ValueError as e:
        raise ConfigError(str(e)) from e

    start = time.perf_counter()

    def on_case(name, info) -> None:
        if isinstance(info, Exception):
            print(f"lungnet insert: skipped: {info}", file=sys.stderr, flush=True)
            return
        sizes = ", ".join(f"{t['equivalent_diameter_mm']:.0f}" for t in info["tumors"]) or "-"
        print(f"{name:<24} {len(info['tumors'])} tumors (mm): {sizes}", flush=True)

    out, infos, errors = write_inserted_dataset(
        args.scans,
        args.output_dir,
        seed=args.seed,
        tumor_count=tumor_count,
        tumor_diameter_mm=diameter,
        nodule_library=args.nodule_library,
        library_share=args.library_share,
        library_split=args.library_split,
        overwrite=args.overwrite,
        on_case=on_case,
    )
    seconds = time.perf_counter() - start
    print(f"{len(infos)} scans in {seconds:.1f} s, {len(errors)} skipped: {out}")
    return 1 if errors else 0
