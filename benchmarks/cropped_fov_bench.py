"""Kept models on whole phantoms and on the same phantoms cropped around the chest.

    python benchmarks/cropped_fov_bench.py --checkpoint A.ckpt --checkpoint B.ckpt --tag T

Users crop scans: around the lungs, with a small reconstruction field of view, or starting
and ending mid-chest (the shared real chest scan is such a crop, 18 x 15 x 17 cm). The
accuracy benchmark's phantoms always hold the whole chest, so it cannot show what a cut does.
Here every phantom is predicted twice, whole and cropped, with each checkpoint's own
post-processing:

- **Tumor-free:** phantoms ``9300..`` without tumors. Every component is a false positive;
  those touching a face of the crop are counted apart (a cut, rather than the anatomy).
- **With tumors:** phantoms ``9400..`` with 1-3 tumors of the default cohort. Only the
  tumors whose centre lies inside the crop are counted, in both views; found means a
  predicted component overlaps it. A tumor outside the crop is no false positive when whole.

The crop is 180 x 150 mm in-plane around the body's centre (shifted by up to 20 mm) and
170 mm along z inside the lungs' height: the shared chest crop's size. Phantoms are 256 px
(1.2-1.7 mm pixels), written to NIfTI and read back as a user's scan would be. None of
these phantoms trains or tests any model. They are the validation set for cropped scans:
they chose ``--fov-crop 0.3`` for ``--recipe lungnet`` (against 0, on
``cropped_fov_ds2_vs_fov30_depth_rule.json``).

Writes ``cropped_fov_<tag>.json`` with its provenance.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from record import RESULTS_DIR, provenance, write_results

TUMOR_FREE_SEEDS = tuple(range(9300, 9308))
TUMOR_SEEDS = tuple(range(9400, 9408))
CROP_MM = (180.0, 150.0, 170.0)
SHIFT_MM = 20.0


def _crop_box(phantom, rng: np.random.Generator) -> tuple[slice, slice, slice]:
    """A chest crop of :data:`CROP_MM` around the body's centre, inside the lungs' height."""
    from lungnet.synthetic.anatomy import Tissue

    body = phantom.tissue != Tissue.AIR
    lungs = np.flatnonzero((phantom.tissue == Tissue.LUNG).any((0, 1)))
    box = []
    for axis, (mm, n) in enumerate(zip(CROP_MM, phantom.hu.shape, strict=True)):
        width = min(n, int(round(mm / phantom.spacing[axis])))
        if axis < 2:
            occupied = np.flatnonzero(body.any(tuple(a for a in range(3) if a != axis)))
            centre = 0.5 * (occupied[0] + occupied[-1])
            centre += rng.uniform(-SHIFT_MM, SHIFT_MM) / phantom.spacing[axis]
        else:
            centre = rng.uniform(
                lungs[0] + width / 2, max(lungs[-1] - width / 2, lungs[0] + width / 2)
            )
        start = int(np.clip(round(centre - width / 2), 0, n - width))
        box.append(slice(start, start + width))
    return tuple(box)


def _write(path: Path, hu: np.ndarray, affine: np.ndarray) -> Path:
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.round(hu).astype(np.int16), affine), path)
    return path


def _found(mask: np.ndarray, truth: np.ndarray, spacing) -> dict:
    from lungnet.evaluation.lesions import lesion_detections

    tumors = lesion_detections(mask, truth, spacing)
    return {
        "tumors_10mm_or_more": sum(t["diameter_mm"] >= 10 for t in tumors),
        "found_10mm_or_more": sum(t["detected"] for t in tumors if t["diameter_mm"] >= 10),
        "tumors_under_10mm": sum(t["diameter_mm"] < 10 for t in tumors),
        "found_under_10mm": sum(t["detected"] for t in tumors if t["diameter_mm"] < 10),
    }


def _false_positives(mask: np.ndarray, truth: np.ndarray) -> dict:
    from lungnet.evaluation.lesions import label_lesions

    labels, count = label_lesions(mask)
    false, at_cut = 0, 0
    for i in range(1, count + 1):
        where = np.argwhere(labels == i)
        if truth[tuple(where.T)].any():
            continue
        false += 1
        at_cut += bool(
            (where.min(0) == 0).any() or (where.max(0) == np.array(mask.shape) - 1).any()
        )
    return {"false_positive_components": false, "false_positives_touching_a_face": at_cut}


def _in_crop(label: np.ndarray, box) -> np.ndarray:
    """The tumors of ``label`` whose centre lies inside ``box`` (the whole scan's grid)."""
    from lungnet.evaluation.lesions import label_lesions

    labels, count = label_lesions(label)
    keep = np.zeros_like(label, dtype=bool)
    for i in range(1, count + 1):
        centre = np.argwhere(labels == i).mean(0)
        if all(s.start <= c < s.stop for s, c in zip(box, centre, strict=True)):
            keep |= labels == i
    return keep


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, action="append", required=True)
    p.add_argument("--tag", required=True, help="results file name: cropped_fov_<tag>.json")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    for ckpt in args.checkpoint:
        if not ckpt.is_file():
            p.exit(2, f"cropped_fov_bench: {ckpt}: not found\n")
    record = provenance(
        seeds={"tumor_free": list(TUMOR_FREE_SEEDS), "with_tumors": list(TUMOR_SEEDS), "crop": 0},
        settings={"crop_mm": list(CROP_MM), "shift_mm": SHIFT_MM, "phantom_size": 256},
    )

    import torch

    from lungnet.errors import LungNetError
    from lungnet.inference import Predictor
    from lungnet.io import read_ct
    from lungnet.synthetic.phantom import make_phantom

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        predictors = {str(c): Predictor(c, device="cpu") for c in args.checkpoint}
    except LungNetError as e:
        p.exit(2, f"cropped_fov_bench: {e}\n")
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in TUMOR_FREE_SEEDS + TUMOR_SEEDS:
            tumors = (0, 0) if seed in TUMOR_FREE_SEEDS else (1, 3)
            phantom = make_phantom(seed, size=256, tumor_count=tumors)
            box = _crop_box(phantom, rng)
            affine = phantom.affine.copy()
            affine[:3, 3] += phantom.affine[:3, :3] @ [s.start for s in box]
            whole = read_ct(_write(Path(tmp) / "whole.nii.gz", phantom.hu, phantom.affine))
            cropped = read_ct(_write(Path(tmp) / "crop.nii.gz", phantom.hu[box], affine))
            truth = phantom.label > 0
            in_crop = _in_crop(truth, box)
            row = {"seed": seed, "crop_voxels": [[s.start, s.stop] for s in box], "models": {}}
            for name, predictor in predictors.items():
                mask = predictor.predict_volume(whole).mask
                cut = predictor.predict_volume(cropped).mask
                # Both views count the same tumors: those the crop holds.
                row["models"][name] = {
                    "whole": {
                        **_false_positives(mask, truth),
                        **_found(mask, in_crop, phantom.spacing),
                    },
                    "cropped": {
                        **_false_positives(cut, truth[box]),
                        **_found(cut, in_crop[box], phantom.spacing),
                    },
                }
            print(seed, {Path(k).stem: v for k, v in row["models"].items()}, flush=True)
            rows.append(row)

    def total(name: str, seeds, view: str, key: str) -> int:
        return sum(r["models"][name][view][key] for r in rows if r["seed"] in seeds)

    summary = {}
    for name in predictors:
        summary[name] = {
            view: {
                "tumor_free_false_positives_per_scan": total(
                    name, TUMOR_FREE_SEEDS, view, "false_positive_components"
                )
                / len(TUMOR_FREE_SEEDS),
                "tumor_free_false_positives_touching_a_face": total(
                    name, TUMOR_FREE_SEEDS, view, "false_positives_touching_a_face"
                ),
                "with_tumors_false_positives_per_scan": total(
                    name, TUMOR_SEEDS, view, "false_positive_components"
                )
                / len(TUMOR_SEEDS),
                "found_10mm_or_more": f"{total(name, TUMOR_SEEDS, view, 'found_10mm_or_more')} "
                f"of {total(name, TUMOR_SEEDS, view, 'tumors_10mm_or_more')}",
                "found_under_10mm": f"{total(name, TUMOR_SEEDS, view, 'found_under_10mm')} "
                f"of {total(name, TUMOR_SEEDS, view, 'tumors_under_10mm')}",
            }
            for view in ("whole", "cropped")
        }
        print(Path(name).stem, summary[name])
    record.update(benchmark="cropped_fov", phantoms=rows, summary=summary)
    print(f"wrote {write_results(f'cropped_fov_{args.tag}.json', record, args.out)}")


if __name__ == "__main__":
    main()
