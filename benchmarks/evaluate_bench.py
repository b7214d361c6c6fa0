"""Time of the 3D evaluation and of the HTML report on an MSD-sized case pair.

    python benchmarks/evaluate_bench.py                 # 512 x 512 x 300 phantom, 3 tumors
    python benchmarks/evaluate_bench.py --size 128 --slices 48   # seconds (tests the script)

The ground truth is a synthetic phantom's exact tumor label; the "prediction" is that
label dilated by one voxel, without its smallest tumor, plus one false-positive blob, so
every metric and lesion count has work to do. Reported: seconds of each step (median of
--repeats), the HTML report's size, and the metrics themselves. Writes JSON to --out
and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from record import RESULTS_DIR


def _timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "evaluate_bench.json")
    args = parser.parse_args()

    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    from lungnet.evaluation.evaluate import CasePair, evaluate_case
    from lungnet.evaluation.lesions import label_lesions, match_lesions, measure_lesions
    from lungnet.evaluation.metrics import case_metrics
    from lungnet.io import read_ct
    from lungnet.synthetic import make_phantom
    from lungnet.viz.case_report import write_report

    ph = make_phantom(seed=7, size=args.size, slices=args.slices, tumor_count=(3, 3))
    gt = ph.label.astype(bool)
    labels, n = label_lesions(gt)
    sizes = np.bincount(labels.ravel())[1:]
    pred = ndimage.binary_dilation(gt)
    if n > 1:
        pred &= labels != (int(np.argmin(sizes)) + 1)
    fp = np.zeros_like(gt)
    lung = np.argwhere(ph.hu < -700)
    cx, cy, cz = lung[len(lung) // 3]
    fp[cx - 4 : cx + 4, cy - 4 : cy + 4, cz - 2 : cz + 2] = True
    pred |= fp & ~ndimage.binary_dilation(gt, iterations=3)

    rows: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, arr, dtype in (
            ("ct", ph.hu, np.int16),
            ("gt", gt, np.uint8),
            ("pred", pred, np.uint8),
        ):
            nib.save(nib.Nifti1Image(arr.astype(dtype), ph.affine), tmp / f"{name}.nii.gz")
        steps = {
            "case_metrics (in memory)": lambda: case_metrics(pred, gt, ph.spacing),
            "match_lesions (in memory)": lambda: match_lesions(pred, gt),
            "evaluate_case (read 2 .nii.gz + all metrics)": lambda: evaluate_case(
                CasePair("c", tmp / "pred.nii.gz", tmp / "gt.nii.gz")
            ),
        }
        for name, fn in steps.items():
            rows[name], result = _timed(fn, args.repeats)
        metrics = {k: (None if isinstance(v, float) and v != v else v) for k, v in result.items()}
        ct = read_ct(tmp / "ct.nii.gz")
        rows["measure_lesions (in memory)"], lesions = _timed(
            lambda: measure_lesions(pred, ct), args.repeats
        )
        html_s, html = _timed(
            lambda: write_report(
                ct,
                pred.astype(np.uint8),
                tmp / "rep",
                gt=gt.astype(np.uint8),
                case_name="c",
                lesions=lesions,
                overwrite=True,
            ),
            1,
        )
        rows["write_report (PNGs + HTML, with ground truth)"] = html_s
        html_mb = html.stat().st_size / 1e6

    report = {
        "shape": list(gt.shape),
        "spacing_mm": list(ph.spacing),
        "gt_voxels": int(gt.sum()),
        "pred_voxels": int(pred.sum()),
        "seconds": {k: round(v, 3) for k, v in rows.items()},
        "html_mb": round(html_mb, 2),
        "metrics": metrics,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"case {tuple(gt.shape)} spacing {tuple(round(s, 3) for s in ph.spacing)} mm, "
        f"gt {report['gt_voxels']} voxels, pred {report['pred_voxels']} voxels"
    )
    for k, v in rows.items():
        print(f"  {k:<48} {v:7.2f} s")
    print(f"  HTML report size: {html_mb:.2f} MB")
    print(
        "  "
        + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in metrics.items()
            if k != "case"
        )
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
