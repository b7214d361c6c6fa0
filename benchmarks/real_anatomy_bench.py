"""A phantom-trained checkpoint on real anatomy: the shared real CT scans, with and without tumors.

    python benchmarks/real_anatomy_bench.py --checkpoint demo_output/artifacts/.../best.ckpt

Three checks, each with the checkpoint's own post-processing (chosen on validation):

- **Real chest, no tumor** (``real_ct/chest_ct_lps_1p5mm.nii.gz``): lungs, vessels, heart,
  aorta and airway, with nothing to find. Every predicted component is a false positive.
- **Real chest with inserted tumors**: the same scan with tumors from ``lungnet insert``
  (seeds 9001.., which no training set uses; 1-3 tumors of the default cohort's sizes).
  Reports every tumor's equivalent diameter and whether it was found, and the false-positive
  components.
- **Upper abdomen** (``real_ct/dicom_series``): bowel gas and solid organs, no lung tumor.
  Reports the false tumor volume in mL.

The scans are read from ``../shared/data/real_ct`` (or ``--real-ct``); nothing is copied
into the project. Writes ``real_anatomy_<tag>.json`` with its provenance.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from record import RESULTS_DIR, ROOT, provenance, write_results
from tumor_table import tally, tumor_rows

INSERT_SEEDS = (9001, 9002, 9003, 9004, 9005)


def _false_positives(mask: np.ndarray, truth: np.ndarray, hu: np.ndarray, spacing) -> list[dict]:
    """Where each false-positive component lies: its box, volume, mean HU, and the scan
    faces it touches (a cropped field of view cuts anatomy there)."""
    from lungnet.evaluation.lesions import label_lesions

    labels, count = label_lesions(mask)
    found = []
    for i in range(1, count + 1):
        region = labels == i
        if (region & (truth > 0)).any():
            continue
        where = np.argwhere(region)
        low, high = where.min(0), where.max(0)
        faces = [
            f"{axis}{side}"
            for axis, lo, hi, n in zip("xyz", low, high, mask.shape, strict=True)
            for side, touches in (("-", lo == 0), ("+", hi == n - 1))
            if touches
        ]
        found.append(
            {
                "box_voxels": [low.tolist(), high.tolist()],
                "ml": round(float(region.sum()) * float(np.prod(spacing)) / 1000, 2),
                "mean_hu": round(float(hu[region].mean()), 1),
                "touches_scan_faces": faces,
            }
        )
    return found


def _components(mask: np.ndarray, truth: np.ndarray | None, ct) -> dict:
    from lungnet.evaluation.lesions import lesion_detections, match_lesions

    truth = np.zeros_like(mask) if truth is None else truth
    match = match_lesions(mask, truth)
    spacing = ct.spacing
    return {
        "false_positive_components": match.lesion_fp,
        "false_positives": _false_positives(mask, truth, ct.array, spacing),
        "predicted_ml": float(mask.sum()) * float(np.prod(spacing)) / 1000,
        "tumors": [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in d.items()}
            for d in lesion_detections(mask, truth, spacing)
        ],
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--real-ct", type=Path, default=ROOT.parent / "shared" / "data" / "real_ct")
    p.add_argument("--tag", default="demo", help="results file name: real_anatomy_<tag>.json")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    for needed in (args.checkpoint, args.real_ct / "chest_ct_lps_1p5mm.nii.gz"):
        if not needed.exists():
            p.exit(2, f"real_anatomy_bench: {needed}: not found\n")
    record = provenance(seeds={"insert": list(INSERT_SEEDS)})

    from lungnet.inference import Predictor
    from lungnet.io import read_ct
    from lungnet.synthetic.insert import insert_into_scan

    predictor = Predictor(args.checkpoint, device="auto")
    record["checkpoint"] = str(args.checkpoint)
    record["postprocess"] = predictor.postprocessing.to_dict()
    chest = read_ct(args.real_ct / "chest_ct_lps_1p5mm.nii.gz")
    clean = _components(predictor.predict_volume(chest).mask, None, chest)
    print(f"real chest, no tumor: {clean['false_positive_components']} false-positive components")
    for fp in clean["false_positives"]:
        print(f"  {fp['ml']} mL, mean {fp['mean_hu']} HU, touches {fp['touches_scan_faces']}")

    inserted = []
    for seed in INSERT_SEEDS:
        scan = insert_into_scan(chest, seed, tumor_count=(1, 3))
        ct = type(chest)(scan.hu, chest.spacing, chest.affine, chest.source, chest.geometry)
        prediction = predictor.predict_volume(ct)
        found = _components(prediction.mask, scan.label, ct)
        drawn = [dataclasses.asdict(t) for t in scan.tumors]
        found["tumors_by_kind"] = tumor_rows(f"seed {seed}", drawn, ct, scan.label, prediction)
        inserted.append({"seed": seed, **found})
        sizes = ", ".join(
            f"{t['diameter_mm']:.0f} mm {'found' if t['detected'] else 'MISSED'}"
            for t in found["tumors"]
        )
        print(
            f"real chest + tumors (seed {seed}): {sizes}; "
            f"{found['false_positive_components']} false-positive components"
        )
    abdomen = read_ct(args.real_ct / "dicom_series")
    gas = _components(predictor.predict_volume(abdomen).mask, None, abdomen)
    print(f"upper abdomen: {gas['predicted_ml']:.2f} mL of false tumor")

    tumors = [t for case in inserted for t in case["tumors"]]
    large = [t for t in tumors if t["diameter_mm"] >= 10]
    by_kind = tally([t for case in inserted for t in case["tumors_by_kind"]])["kind"]
    print(f"inserted tumors found, by kind: {by_kind}")
    record.update(
        benchmark="real_anatomy",
        chest_without_tumor=clean,
        chest_with_inserted_tumors=inserted,
        upper_abdomen=gas,
        summary={
            "chest_without_tumor_false_positive_components": clean["false_positive_components"],
            "inserted_tumors_found_by_kind": by_kind,
            "inserted_tumors_10mm_or_more_found": sum(t["detected"] for t in large),
            "inserted_tumors_10mm_or_more": len(large),
            "inserted_tumors_under_10mm_found": sum(
                t["detected"] for t in tumors if t["diameter_mm"] < 10
            ),
            "inserted_tumors_under_10mm": sum(1 for t in tumors if t["diameter_mm"] < 10),
            "inserted_scans_false_positive_components_max": max(
                c["false_positive_components"] for c in inserted
            ),
            "upper_abdomen_false_tumor_ml": gas["predicted_ml"],
        },
    )
    print(record["summary"])
    print(f"wrote {write_results(f'real_anatomy_{args.tag}.json', record, args.out)}")


if __name__ == "__main__":
    main()
