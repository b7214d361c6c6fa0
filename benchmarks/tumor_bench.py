"""Tumors of ``lungnet synth`` and ``insert``: sizes and kinds, insert speed, a gallery of kinds.

Run:  .venv/bin/python benchmarks/tumor_bench.py [--phantoms 100] [--render-size 128]

Measures, over the first N default phantoms (seeds 0..N-1):

- the tumors drawn for them (``sample_tumor_specs`` with the phantom's own tumor random
  stream, so exactly the nominal tumors ``make_phantom(seed)`` tries to place), and
- the tumors actually placed and painted in the phantoms rendered at ``--render-size`` px
  without noise: equivalent diameter of the labelled volume, kind, position;

and ``lungnet insert`` on the shared real chest CT (read, insert, write; default
distribution, five seeds). Writes benchmarks/results/tumor_bench.json and
benchmarks/results/tumor_kinds_gallery.png (one axial crop per kind, lung and soft-tissue
window, label in red).
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from record import RESULTS_DIR, provenance, write_results  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lungnet.synthetic import (  # noqa: E402
    NoduleLibrary,
    Tissue,
    TumorSpec,
    make_phantom,
    sample_tumor_specs,
)
from lungnet.synthetic.insert import write_inserted_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REAL = SHARED / "real_ct" / "chest_ct_lps_1p5mm.nii.gz"
LIBRARY = SHARED / "lidc_nodules"
PCTS = (0, 5, 10, 25, 50, 75, 90, 95, 100)
GALLERY = (
    ("solid, textured", TumorSpec(28, "solid", "isolated"), 2),
    ("part-solid", TumorSpec(24, "part_solid", "isolated"), 3),
    ("pure ground glass", TumorSpec(18, "ground_glass", "isolated"), 4),
    ("spiculated", TumorSpec(30, "spiculated", "isolated"), 5),
    ("necrotic core", TumorSpec(65, "necrotic", "pleural"), 6),
    ("cavitation", TumorSpec(40, "cavitary", "isolated"), 7),
    ("invading the chest wall", TumorSpec(70, "solid", "pleural", invades=True), 8),
    (
        "at the mediastinum + atelectasis",
        TumorSpec(55, "solid", "mediastinal", atelectasis=True),
        9,
    ),
    ("pleural effusion beside it", TumorSpec(45, "solid", "pleural", effusion=True), 10),
    ("beside a vessel", TumorSpec(14, "solid", "juxtavascular"), 11),
)


def summary(values: list[float]) -> dict:
    v = np.asarray(values)
    return {
        "count": int(v.size),
        "percentiles_mm": {
            str(p): round(float(q), 1) for p, q in zip(PCTS, np.percentile(v, PCTS), strict=True)
        },
        "share_under_10_mm": round(float(np.mean(v < 10)), 3),
        "share_15_to_50_mm": round(float(np.mean((v >= 15) & (v <= 50))), 3),
        "share_over_50_mm": round(float(np.mean(v > 50)), 3),
        "share_over_60_mm": round(float(np.mean(v > 60)), 3),
        "share_over_70_mm": round(float(np.mean(v > 70)), 3),
        "count_at_least_90_mm": int(np.sum(v >= 90)),
    }


def shares(items: list[str]) -> dict:
    counts = collections.Counter(items)
    return {k: round(v / max(1, len(items)), 3) for k, v in sorted(counts.items())}


def tumor_rng(seed: int) -> np.random.Generator:
    """The random stream ``make_phantom(seed)`` draws its tumors from (its fourth child)."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(5)[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phantoms", type=int, default=100)
    parser.add_argument("--render-size", type=int, default=128)
    parser.add_argument("--gallery-size", type=int, default=384)
    args = parser.parse_args()
    seeds = list(range(args.phantoms))
    record = provenance(
        seeds={"phantoms": f"0..{args.phantoms - 1}", "insert": [0, 1, 2, 3, 4]},
        settings={
            "render_size": args.render_size,
            "gallery_size": args.gallery_size,
            "threads": 1,
            "note": "CPU shared with other work; see load averages",
        },
    )

    drawn = [sample_tumor_specs(tumor_rng(s)) for s in seeds]
    nominal = [t.diameter_mm for p in drawn for t in p]
    record["drawn"] = {
        "how": "sample_tumor_specs on each default phantom's own tumor stream: nominal diameters",
        "tumor_free_share": round(float(np.mean([len(p) == 0 for p in drawn])), 3),
        "count_shares": shares([str(len(p)) for p in drawn]),
        "nominal_diameter": summary(nominal),
        "kind_shares": shares([t.kind for p in drawn for t in p]),
        "position_shares": shares([t.position for p in drawn for t in p]),
        "invading_share": round(float(np.mean([t.invades for p in drawn for t in p])), 3),
        "atelectasis_share": round(float(np.mean([t.atelectasis for p in drawn for t in p])), 3),
        "effusion_share": round(float(np.mean([t.effusion for p in drawn for t in p])), 3),
    }

    placed, cpu = [], []
    for s in seeds:
        start = time.process_time()
        p = make_phantom(s, size=args.render_size, noise=False)
        cpu.append(time.process_time() - start)
        placed.append(p.tumors)
    eq = [t.equivalent_diameter_mm for p in placed for t in p]
    record["placed"] = {
        "how": f"make_phantom(seed, size={args.render_size}, noise=False): "
        "equivalent diameter of each label",
        "tumor_free_share": round(float(np.mean([len(p) == 0 for p in placed])), 3),
        "placed_of_drawn": f"{len(eq)} of {len(nominal)}",
        "equivalent_diameter": summary(eq),
        "kind_shares": shares([t.kind for p in placed for t in p]),
        "position_shares": shares([t.position for p in placed for t in p]),
        "cpu_seconds_per_phantom_mean": round(float(np.mean(cpu)), 2),
    }
    for key in ("drawn", "placed"):
        r = record[key]
        d = r.get("nominal_diameter") or r["equivalent_diameter"]
        print(f"{key}: tumor-free {r['tumor_free_share']}, diameters {d['percentiles_mm']}")
        print(f"   kinds {r['kind_shares']}\n   positions {r['position_shares']}")

    if REAL.is_file():
        seconds = []
        with tempfile.TemporaryDirectory() as tmp:
            for s in range(5):
                start = time.perf_counter()
                _, infos, errors = write_inserted_dataset([REAL], Path(tmp) / str(s), seed=s)
                seconds.append(time.perf_counter() - start)
                assert not errors, errors
        record["insert"] = {
            "scan": REAL.name,
            "how": "write_inserted_dataset (read, find lungs, insert, write image + label + json)",
            "seconds_per_scan": [round(v, 2) for v in seconds],
            "median_seconds": round(float(np.median(seconds)), 2),
        }
        print(f"lungnet insert on {REAL.name}: {record['insert']['seconds_per_scan']} s per scan")

    library = NoduleLibrary(LIBRARY) if LIBRARY.is_dir() else None
    columns = 6
    fig, axes = plt.subplots(4, columns, figsize=(3.0 * columns, 12.4))
    for c, (title, spec, seed) in enumerate(GALLERY):
        p = make_phantom(seed, size=args.gallery_size, tumor_specs=[spec])
        band = 2 * (c // columns)
        draw(axes[band : band + 2, c % columns], p, title)
    if library is not None:
        p = make_phantom(
            12,
            size=args.gallery_size,
            tumor_count=(1, 1),
            tumor_diameter_mm=(14, 22),
            nodule_library=library,
            library_share=1.0,
        )
        draw(axes[2:4, columns - 1], p, "LIDC nodule (library)")
    for ax in axes.flat:
        if not ax.has_data():
            ax.axis("off")
    fig.tight_layout()
    out = RESULTS_DIR / "tumor_kinds_gallery.png"
    fig.savefig(out, dpi=70)
    path = write_results("tumor_bench.json", record)
    print(f"wrote {path} and {out}")


def draw(axes, p, title: str) -> None:
    """One axial crop through the tumor (or through the middle of its effusion, if it has one):
    lung window with the label, soft-tissue window."""
    if not p.tumors:
        for ax in axes:
            ax.set_title(f"{title}: not placed", fontsize=8)
            ax.axis("off")
        return
    t = p.tumors[0]
    i, j, k = t.center_voxel
    fluid = np.argwhere(p.tissue == Tissue.EFFUSION)
    if t.effusion and len(fluid):
        i, j, k = (int(v) for v in np.median(fluid, axis=0))
    half = int(max(22.0, 0.9 * t.diameter_mm + 12) / p.spacing[0])
    box = (slice(max(0, i - half), i + half), slice(max(0, j - half), j + half), k)
    for ax, window in zip(axes, ((-1000, 300), (-160, 240)), strict=True):
        img = np.flipud(np.flipud(p.hu[box]).T)
        ax.imshow(img, cmap="gray", vmin=window[0], vmax=window[1], interpolation="nearest")
        ax.axis("off")
    axes[0].contour(np.flipud(np.flipud(p.label[box]).T), [0.5], colors="r", linewidths=0.6)
    axes[0].set_title(f"{title}\n{t.equivalent_diameter_mm:.0f} mm", fontsize=8)
    axes[1].set_title("soft-tissue window", fontsize=7)


if __name__ == "__main__":
    main()
