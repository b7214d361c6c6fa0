"""Which tumors a kept model misses, on phantoms it trained on and on phantoms it never saw.

    python benchmarks/seen_unseen_bench.py --checkpoint CKPT --seed 1 --tag T

Tells two failures apart that the accuracy benchmark's summary cannot: a model that did not
fit its own training tumors (it misses them on training phantoms too) and one that fit them
but does not carry over to new anatomy (it finds them there, misses them on fresh phantoms).
For every tumor it reports size, kind, position, whether it was found after the model's own
post-processing and its peak probability: a miss near probability 0 is the network's, one
with a high peak was removed by post-processing.

- **Seen:** the first ``--cases`` training phantoms of ``lungnet synth --seed S --size 128``,
  the dataset the accuracy benchmark trained the checkpoint on with seed S (case ``i`` of a
  dataset is made from its own seed, so these are the very phantoms it trained on).
- **Unseen:** ``--cases`` phantoms of dataset seed 9100, which no benchmark trains,
  validates or tests on. Nothing here chooses a setting.

Writes ``seen_vs_unseen_tumors_<tag>.json`` with its provenance.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from record import RESULTS_DIR, provenance, write_results

UNSEEN_SEED = 9100


def _size_bin(diameter_mm: float) -> str:
    if diameter_mm < 10:
        return "<10 mm"
    if diameter_mm < 20:
        return "10-20 mm"
    return "20-50 mm" if diameter_mm < 50 else ">50 mm"


def _lesion_at(labels: np.ndarray, centre: np.ndarray, radius_voxels: float) -> int:
    """The label component of a tumor: the one under its centre, or (a cavity or a necrotic
    core leaves the centre unlabelled) the one with most voxels within its radius."""
    lo = np.maximum(centre - int(np.ceil(radius_voxels)), 0)
    hi = np.minimum(centre + int(np.ceil(radius_voxels)) + 1, labels.shape)
    if np.any(lo >= hi):
        return 0
    box = labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    if all(0 <= c < n for c, n in zip(centre, labels.shape, strict=True)) and labels[tuple(centre)]:
        return int(labels[tuple(centre)])
    counts = np.bincount(box.ravel())
    counts[0] = 0
    return int(counts.argmax()) if counts.any() else 0


def _tumors(predictor, data: Path) -> list[dict]:
    """Every synthetic tumor of ``data``'s training phantoms, as the model sees it."""
    from lungnet.evaluation.lesions import label_lesions
    from lungnet.io import read_ct

    meta = json.loads((data / "dataset.json").read_text())["lungnet_synthetic"]["cases"]
    rows = []
    for case in sorted(meta):
        ct = read_ct(data / "imagesTr" / f"{case}.nii.gz")
        truth = read_ct(data / "labelsTr" / f"{case}.nii.gz").array > 0.5
        prediction = predictor.predict_volume(ct)
        labels, _ = label_lesions(truth)
        to_voxel = np.linalg.inv(ct.affine)
        for tumor in meta[case]["tumors"]:
            centre = np.rint(to_voxel @ np.r_[tumor["center_mm"], 1.0])[:3].astype(int)
            lesion = _lesion_at(labels, centre, tumor["diameter_mm"] / 2 / min(ct.spacing))
            if lesion == 0:  # cut away by the edge of the scan
                continue
            region = labels == lesion
            rows.append(
                {
                    "case": case,
                    "kind": tumor["kind"],
                    "position": tumor["position"],
                    "diameter_mm": round(tumor["diameter_mm"], 1),
                    "found": bool(prediction.mask[region].any()),
                    "peak_probability": round(float(prediction.probabilities[region].max()), 3),
                }
            )
    return rows


def _tally(rows: list[dict]) -> dict:
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        for key, value in (
            ("size", _size_bin(row["diameter_mm"])),
            ("kind", row["kind"]),
            ("position", row["position"]),
        ):
            groups[key][value][0] += row["found"]
            groups[key][value][1] += 1
    missed = [r for r in rows if not r["found"]]
    return {
        "found": sum(r["found"] for r in rows),
        "tumors": len(rows),
        "missed_with_peak_below_0.1": sum(r["peak_probability"] < 0.1 for r in missed),
        "missed": len(missed),
        **{key: {v: f"{f}/{n}" for v, (f, n) in sorted(g.items())} for key, g in groups.items()},
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--seed", required=True, type=int, help="the dataset seed it trained on")
    p.add_argument("--cases", type=int, default=12, help="phantoms of each kind")
    p.add_argument("--size", type=int, default=128, help="phantom size it trained on")
    p.add_argument("--tag", required=True, help="results file name suffix")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    if not args.checkpoint.is_file():
        p.exit(2, f"seen_unseen_bench: {args.checkpoint}: not found\n")
    record = provenance(
        seeds={"seen": args.seed, "unseen": UNSEEN_SEED},
        settings={"cases": args.cases, "size": args.size, "checkpoint": str(args.checkpoint)},
    )

    from lungnet.inference import Predictor
    from lungnet.synthetic import write_msd_dataset

    predictor = Predictor(args.checkpoint, device="auto")
    record["postprocess"] = predictor.postprocessing.to_dict()
    with tempfile.TemporaryDirectory() as tmp:
        for name, seed in (("seen", args.seed), ("unseen", UNSEEN_SEED)):
            data = write_msd_dataset(
                Path(tmp) / name, cases=args.cases, seed=seed, size=args.size, workers=2
            )
            rows = _tumors(predictor, data)
            record[name] = {"summary": _tally(rows), "tumors": rows}
            print(f"{name}: {json.dumps(record[name]['summary'])}")
    record["benchmark"] = "seen_vs_unseen_tumors"
    print(f"wrote {write_results(f'seen_vs_unseen_tumors_{args.tag}.json', record, args.out)}")


if __name__ == "__main__":
    main()
