"""`lungnet radiomics -i SCAN --mask MASK -o DIR`: IBSI features of every tumor, by MIRP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from lungnet.commands._io_flags import add_input, add_output_dir

    parser = subparsers.add_parser(
        "radiomics",
        help="IBSI radiomics features of every tumor of a mask (MIRP)",
        description="Compute the IBSI features (morphology, local intensity, intensity "
        "statistics and histogram, GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM) of every tumor "
        "(26-connected component) of MASK on SCAN with MIRP, and write "
        "NAME_radiomics.csv and NAME_radiomics.json per scan (one row per tumor, ids as in "
        "the tumor table of `lungnet report`) and radiomics.csv joining all scans. Default "
        "settings: isotropic 1 mm resampling, fixed bin width 25 HU, re-segmentation to "
        "[-1000, 400] HU, 3D merged texture matrices; every output states them. Existing "
        "tables of the same case are replaced.",
    )
    add_input(
        parser,
        "--ct",
        dest="input",
        type=Path,
        required=True,
        metavar="SCAN",
        help="CT scan (.nii/.nii.gz file or DICOM series folder), or a folder of scans",
    )
    parser.add_argument(
        "--mask",
        type=Path,
        required=True,
        metavar="MASK",
        help="the scan's tumor mask, or a folder with <case>_pred.nii.gz or <case>.nii.gz "
        "per scan (as lungnet predict writes them)",
    )
    add_output_dir(
        parser,
        "--output",
        dest="output_dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="output folder",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="JSON",
        help='settings to override, e.g. {"voxel_size_mm": 2.0, "bin_width_hu": 25, '
        '"hu_range": [-1000, 400]}; null turns a step off (a radiomics JSON written before '
        "is accepted too, to reuse its settings)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lungnet.errors import LungNetInputError
    from lungnet.radiomics import DEFAULT_CONFIG, RadiomicsBatch, load_config, pair_scans_with_masks

    try:
        config = DEFAULT_CONFIG if args.config is None else load_config(args.config)
    except LungNetInputError as e:
        print(f"lungnet radiomics: error: --config {e}", file=sys.stderr)
        return 2
    pairs, problems = pair_scans_with_masks(args.input, args.mask)
    for line in problems:
        print(f"failed: {line}", file=sys.stderr)
    batch = RadiomicsBatch(args.output_dir, config)
    for pair in pairs:
        batch.add(pair.scan, pair.mask, case=pair.case)
    batch.finish()
    failed = batch.failed + len(problems)
    total = len(pairs) + len(problems)
    print(f"{total} scan(s): {total - failed} ok, {failed} failed")
    return 1 if failed else 0
