"""`lungnet synth -o OUT --cases N`: write a Decathlon-layout dataset of synthetic chest CT."""

from __future__ import annotations

import argparse
import json
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    from lungnet.commands._io_flags import add_output_dir
    from lungnet.commands._tumor_options import TumorOptions
    from lungnet.options import add_options

    p = sub.add_parser(
        "synth",
        help="write synthetic chest CT phantoms with exact tumor labels (MSD Task06 layout)",
        description="Write N training and M test phantoms to OUT as imagesTr/, labelsTr/, "
        "imagesTs/, "
        "labelsTs/ and dataset.json. The same arguments write byte-identical files; a run killed "
        "half-way is completed by running it again.",
    )
    p.add_argument("out", metavar="OUT", nargs="?", help="dataset folder to create")
    add_output_dir(p, dest="output_dir", metavar="OUT", help="the same as OUT")
    p.add_argument("--cases", type=int, required=True, metavar="N", help="training cases")
    p.add_argument("--test-cases", type=int, default=0, metavar="M", help="test cases (default: 0)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="dataset seed (default: 0)")
    p.add_argument(
        "--size",
        type=int,
        default=512,
        metavar="PX",
        help="in-plane voxels; the field of view (300-430 mm by seed) does not change "
        "(default: 512)",
    )
    p.add_argument(
        "--slices",
        type=int,
        default=None,
        metavar="Z",
        help="axial slices per case (default: drawn per case from a scanner-like thickness)",
    )
    add_options(p, TumorOptions)
    p.add_argument(
        "--val-cases",
        type=int,
        default=None,
        metavar="V",
        help="with --nodule-library: the last V training cases draw from the library's "
        "validation patients; give the --val-split-count you will pass to lungnet preprocess "
        "(default: 6, its default, or all training cases when fewer)",
    )
    p.add_argument(
        "--workers", type=int, default=1, metavar="N", help="parallel processes (default: 1)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset in OUT")
    p.set_defaults(func=run)


def _pair(value) -> tuple | None:
    return None if value is None else tuple(value)


def run(args: argparse.Namespace) -> int:
    from lungnet.errors import ConfigError
    from lungnet.synthetic import write_msd_dataset
    from lungnet.synthetic.phantom import check_phantom_args

    try:
        if (
            args.cases < 0
            or args.test_cases < 0
            or args.cases + args.test_cases < 1
            or args.workers < 1
        ):
            raise ValueError(
                "--cases and --test-cases must be >= 0 with at least one case, --workers >= 1"
            )
        if args.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {args.seed}")
        check_phantom_args(
            args.size,
            args.slices,
            _pair(args.tumor_diameter),
            _pair(args.tumor_count),
            args.library_share,
        )
        if args.val_cases is not None and not 0 <= args.val_cases <= args.cases:
            raise ValueError(f"--val-cases must be within 0..--cases, got {args.val_cases}")
        if (args.out is None) == (args.output_dir is None):
            raise ValueError("give the dataset folder once: OUT or -o/--output-dir")
    except ValueError as e:
        raise ConfigError(str(e)) from e
    out = args.out if args.out is not None else args.output_dir

    total = args.cases + args.test_cases
    done = 0
    start = time.perf_counter()

    def progress(name: str) -> None:
        nonlocal done
        done += 1
        print(f"[{done}/{total}] {name}", file=sys.stderr, flush=True)

    path = write_msd_dataset(
        out,
        cases=args.cases,
        test_cases=args.test_cases,
        seed=args.seed,
        size=args.size,
        slices=args.slices,
        tumor_diameter_mm=_pair(args.tumor_diameter),
        tumor_count=_pair(args.tumor_count),
        workers=args.workers,
        overwrite=args.overwrite,
        progress=progress,
        nodule_library=args.nodule_library,
        library_share=args.library_share,
        val_cases=args.val_cases,
    )
    cases = json.loads((path / "dataset.json").read_text())["lungnet_synthetic"]["cases"]
    print(f"{'case':<10} {'split':<6} {'shape':<16} {'order':<5} {'storage':<13} tumors (mm)")
    for name, info in cases.items():
        shape = "x".join(str(s) for s in info["shape"])
        sizes = ", ".join(f"{t['diameter_mm']:.0f}" for t in info["tumors"]) or "-"
        print(
            f"{name:<10} {info['split']:<6} {shape:<16} {info['orientation']:<5} "
            f"{info['storage']:<13} {sizes}"
        )
    print(f"{len(cases)} cases in {time.perf_counter() - start:.1f} s: {path}")
    return 0
