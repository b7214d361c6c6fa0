"""`lungnet preprocess -i INPUT_ROOT -o OUTPUT_ROOT`: a dataset folder -> slices + manifest."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preprocess",
        help="turn a Decathlon-style dataset (imagesTr/, labelsTr/) into 2D training slices",
        description="Read every imagesTr/labelsTr pair, validate it, clip the most inferior "
        "slices, resize in-plane, normalize HU, and write one .npy per slice plus manifest.json. "
        "Cases already done with the same settings are skipped, so a killed run can simply be "
        "rerun. One run at a time writes into an output folder.",
    )
    # Positional folders are the original usage; -i/-o are every command's spelling.
    p.add_argument("input_root", nargs="?", help="dataset folder with imagesTr/ and labelsTr/")
    p.add_argument("output_root", nargs="?", help="folder for train/, val/ and manifest.json")
    p.add_argument(
        "-i",
        "--input",
        dest="input_option",
        metavar="INPUT_ROOT",
        help="the dataset folder, instead of the first positional argument",
    )
    p.add_argument(
        "-o",
        "--output-dir",
        dest="output_option",
        metavar="OUTPUT_ROOT",
        help="the output folder, instead of the second positional argument",
    )
    p.add_argument(
        "--target-size", "--target_size", nargs=2, type=int, default=(256, 256), metavar=("H", "W")
    )
    p.add_argument(
        "--clip-slices-min",
        "--clip_slices_min",
        type=int,
        default=30,
        metavar="N",
        help="drop the N most inferior slices of every volume (default: 30, the seed's)",
    )
    p.add_argument(
        "--val-split-count",
        "--val_split_count",
        type=int,
        default=6,
        metavar="N",
        help="the last N cases in sorted order form the validation split (default: 6)",
    )
    p.add_argument(
        "--hu-window",
        nargs=2,
        type=float,
        default=None,
        metavar=("LOW", "HIGH"),
        help="clip HU to [LOW, HIGH] and scale to [0, 1] instead of HU / 3071 (the seed's)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="parallel processes (default: as many as the cores and the free memory "
        "allow; the number chosen is printed)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="if another run is writing into OUTPUT_ROOT, wait for it to finish "
        "instead of refusing",
    )
    p.set_defaults(func=run)


def _usage_error(message: str) -> int:
    print(f"lungnet preprocess: error: {message}", file=sys.stderr)
    return 2


def _folders(args: argparse.Namespace) -> tuple[str, str] | str:
    """(input, output) from positionals or -i/-o, or what is wrong with them."""
    given = {}
    for name, positional, option, flag in (
        ("input", args.input_root, args.input_option, "-i/--input"),
        ("output", args.output_root, args.output_option, "-o/--output-dir"),
    ):
        if positional is not None and option is not None:
            return f"give the {name} folder once, as {flag} or positionally"
        if positional is None and option is None:
            return f"the {name} folder is required ({flag})"
        given[name] = positional if positional is not None else option
    return given["input"], given["output"]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from lungnet.preprocessing import NiftiPreprocessor

    if args.input_option is not None and args.input_root is not None and args.output_root is None:
        # `preprocess -i IN OUT`: the one positional is the output folder.
        args.input_root, args.output_root = None, args.input_root
    folders = _folders(args)
    if isinstance(folders, str):
        return _usage_error(folders)
    too_small = (
        (args.workers is not None and args.workers < 1)
        or args.clip_slices_min < 0
        or args.val_split_count < 0
        or min(args.target_size) < 1
    )
    if too_small:
        return _usage_error(
            "--workers and --target-size must be >= 1, --clip-slices-min and --val-split-count >= 0"
        )
    bar = tqdm(unit="case", desc="preprocess", disable=None)
    try:
        processor = NiftiPreprocessor(
            target_size=tuple(args.target_size),
            clip_slices_min=args.clip_slices_min,
            normalization="window" if args.hu_window else "scale",
            hu_window=tuple(args.hu_window) if args.hu_window else None,
            workers=args.workers,
            progress=lambda outcome: bar.update(1),
            wait_for_other_run=args.wait,
        )
    except ValueError as e:  # a setting out of range, e.g. --hu-window 400 -1000
        bar.close()
        return _usage_error(str(e))
    try:
        result = processor.run(*folders, val_split_count=args.val_split_count)
    finally:
        bar.close()
    for outcome in result.failed:
        print(f"failed: {outcome.message}", file=sys.stderr)
    print(result.summary())
    print(f"workers: {result.workers}")
    print(f"slices and manifest: {result.output_root}")
    return 1 if result.failed else 0
