"""`lungnet preprocess -i INPUT_ROOT -o OUTPUT_ROOT`: a dataset folder -> slices + manifest."""

from __future__ import annotations

import argparse
import dataclasses
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from lungnet.options import add_options
    from lungnet.preprocessing.config import PreprocessConfig

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
    add_options(p, PreprocessConfig)
    p.add_argument(
        "--val-split-count",
        "--val_split_count",
        type=int,
        default=6,
        metavar="N",
        help="the last N cases in sorted order form the validation split (default: 6)",
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

    from lungnet.errors import ConfigError
    from lungnet.options import config_from_args
    from lungnet.preprocessing import NiftiPreprocessor
    from lungnet.preprocessing.config import PreprocessConfig

    if args.input_option is not None and args.input_root is not None and args.output_root is None:
        # `preprocess -i IN OUT`: the one positional is the output folder.
        args.input_root, args.output_root = None, args.input_root
    folders = _folders(args)
    if isinstance(folders, str):
        raise ConfigError(folders)
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"workers (--workers) must be >= 1, got {args.workers}")
    if args.val_split_count < 0:
        raise ConfigError(
            f"val_split_count (--val-split-count) must be >= 0, got {args.val_split_count}"
        )
    # "auto" is resolved by the preprocessor from the training cases' headers.
    auto_pixel = args.pixel_mm == "auto"
    config = config_from_args(
        PreprocessConfig,
        args,
        normalization="window" if args.hu_window else "scale",
        pixel_mm=None if auto_pixel else args.pixel_mm,
    )
    bar = tqdm(unit="case", desc="preprocess", disable=None)
    processor = NiftiPreprocessor(
        **{**dataclasses.asdict(config), **({"pixel_mm": "auto"} if auto_pixel else {})},
        workers=args.workers,
        progress=lambda outcome: bar.update(1),
        wait_for_other_run=args.wait,
    )
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
