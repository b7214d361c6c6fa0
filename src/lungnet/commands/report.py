"""`lungnet report -i SCAN --mask MASK [--gt GT] -o DIR`: pictures and an HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from lungnet.commands._io_flags import add_input, add_output_dir

    parser = subparsers.add_parser(
        "report",
        help="tumor table, overlay pictures and a self-contained HTML report of one scan",
        description="Measure every tumor of MASK on SCAN (volume, RECIST long and short axis, "
        "position, HU) and write NAME_report.html (opens from disk, no network), "
        "NAME_montage.png, NAME_orthogonal.png, NAME_tumors.json and NAME_tumors.csv.",
    )
    add_input(
        parser,
        "--ct",
        dest="ct",
        type=Path,
        required=True,
        metavar="SCAN",
        help="CT scan: .nii/.nii.gz file or DICOM series folder",
    )
    parser.add_argument(
        "--mask",
        type=Path,
        required=True,
        metavar="MASK",
        help="tumor mask in the scan's geometry (e.g. from lungnet predict)",
    )
    parser.add_argument("--gt", type=Path, metavar="GT", help="ground-truth mask to show and score")
    parser.add_argument(
        "--probabilities",
        type=Path,
        metavar="PROB",
        help="tumor probability map in [0, 1], shown as a heatmap layer",
    )
    add_output_dir(
        parser,
        "--output",
        dest="output",
        type=Path,
        required=True,
        metavar="DIR",
        help="output folder",
    )
    parser.add_argument("--name", help="case name used in file names (default: the scan's name)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lungnet.evaluation.lesions import measure_lesions
    from lungnet.io import check_same_grid, read_ct
    from lungnet.masks import binarize
    from lungnet.naming import case_of_output
    from lungnet.viz.case_report import report_paths, write_report

    ct = read_ct(args.ct)
    volumes = {}
    for key in ("mask", "gt", "probabilities"):
        path = getattr(args, key)
        if path is not None:
            volume = read_ct(path)
            check_same_grid(volume, ct, reference_role="scan")
            volumes[key] = volume.array
    mask = binarize(volumes["mask"]).astype("uint8")
    gt = None if "gt" not in volumes else binarize(volumes["gt"]).astype("uint8")
    lesions = measure_lesions(mask, ct)
    html = write_report(
        ct,
        mask,
        args.output,
        gt=gt,
        probabilities=volumes.get("probabilities"),
        case_name=args.name,
        lesions=lesions,
        overwrite=args.overwrite,
    )
    print(f"{len(lesions)} tumor(s), {sum(les.volume_ml for les in lesions):.2f} mL in total")
    for les in lesions:
        print(
            f"  #{les.id}: {les.volume_ml:.2f} mL, long axis {les.long_axis_mm:.1f} mm, "
            f"short axis {les.short_axis_mm:.1f} mm, "
            f"slices {les.slice_range[0]}-{les.slice_range[1]}, "
            f"centroid (RAS mm) {tuple(round(c, 1) for c in les.centroid_world_mm)}"
        )
    name = case_of_output(html.name, "report")
    others = [p for k, p in report_paths(args.output, name).items() if k != "html"]
    print(f"wrote {html}")
    print(f"  and {', '.join(str(p) for p in others)}")
    return 0
