"""The dataset the preprocessing benchmarks time: a given MSD folder, or MSD-sized phantoms.

``block_size_bench.py`` and ``preprocess_profile.py`` take the same arguments for it:
``--data`` (a folder in the MSD layout) or, without it, 4 phantoms of 512 x 512 x 300
(seed 7, as ``preprocess_bench.py`` makes them); ``--quick`` shrinks everything to try a
script. The output arguments (``--out``, ``--tag``) come along.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from record import RESULTS_DIR

__all__ = ["PHANTOM_SEED", "add_dataset_arguments", "dataset", "describe", "parse"]

PHANTOM_SEED = 7
_FULL = (4, 512, 300)  # cases, in-plane size, slices
_QUICK = (2, 96, 48)


def add_dataset_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, help="an MSD-layout dataset (default: 4 phantoms)")
    p.add_argument("--target", type=int, default=256, help="slice size written")
    p.add_argument("--clip", type=int, default=30, help="inferior slices dropped")
    p.add_argument("--quick", action="store_true", help="tiny phantoms, to try the script")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--tag", default="", help="appended to the results file name")


def parse(p: argparse.ArgumentParser) -> argparse.Namespace:
    """The parsed arguments, ``--quick`` applied (a smaller target size and clip)."""
    args = p.parse_args()
    if args.quick:
        args.target, args.clip = 64, 8
    return args


def _shape(args: argparse.Namespace) -> tuple[int, int, int]:
    return _QUICK if args.quick else _FULL


def dataset(args: argparse.Namespace, folder: Path) -> Path:
    """``--data``, or phantoms written under ``folder``."""
    if args.data is not None:
        return args.data
    from lungnet.synthetic import write_msd_dataset

    cases, size, slices = _shape(args)
    return write_msd_dataset(folder, cases=cases, seed=PHANTOM_SEED, size=size, slices=slices)


def describe(args: argparse.Namespace) -> str:
    """What the dataset is, for the results file."""
    if args.data is not None:
        return str(args.data)
    cases, size, slices = _shape(args)
    return f"{cases} phantoms of {size} x {size} x {slices}, seed {PHANTOM_SEED}"
