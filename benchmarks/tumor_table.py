"""Which of a synthetic dataset's tumors a prediction found, one row per tumor, tallied by
size, kind and position.

``lungnet synth`` records every tumor it draws (centre, diameter, kind, position) in
``dataset.json``; a benchmark that predicts a phantom gives :func:`tumor_rows` the
prediction, and :func:`tally` says which kinds of tumor the model misses. A miss with a
peak probability near 0 is the network's; one with a high peak was removed by
post-processing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

__all__ = ["synthetic_tumors", "tally", "tumor_rows"]


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


def synthetic_tumors(data: Path) -> dict[str, list[dict]]:
    """Case name -> the tumors ``lungnet synth`` drew for it (from ``data/dataset.json``)."""
    cases = json.loads((data / "dataset.json").read_text())["lungnet_synthetic"]["cases"]
    return {case: entry["tumors"] for case, entry in cases.items()}


def tumor_rows(case: str, tumors: list[dict], ct, truth: np.ndarray, prediction) -> list[dict]:
    """One row per tumor of ``case``: its size, kind and position, whether ``prediction``
    (a :class:`lungnet.inference.predictor.Prediction` of ``ct``) found it, and its peak
    probability. A tumor the scan's edge cut away has no row."""
    from lungnet.evaluation.lesions import label_lesions

    labels, _ = label_lesions(truth > 0.5)
    to_voxel = np.linalg.inv(ct.affine)
    rows = []
    for tumor in tumors:
        centre = np.rint(to_voxel @ np.r_[tumor["center_mm"], 1.0])[:3].astype(int)
        lesion = _lesion_at(labels, centre, tumor["diameter_mm"] / 2 / min(ct.spacing))
        if lesion == 0:
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


def tally(rows: list[dict]) -> dict:
    """Found/total by size, kind and position, and how many misses had a peak under 0.1."""
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
