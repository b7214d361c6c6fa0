"""Phantom generation speed, and phantom against the real chest CT: pictures and HU per tissue.

Run:  .venv/bin/python benchmarks/synth_bench.py [--seeds 0 1 2] [--size 512] [--compare-seed 0]

Writes benchmarks/results/synth_bench.json (timings, HU percentiles per tissue) and
benchmarks/results/phantom_vs_real.png: the real 1.5 mm chest CT and a phantom on the same
1.5 mm grid, side by side in the same window; synthetic tumors and real library nodules
inserted into the real CT by ``lungnet insert``'s code; HU histograms per tissue.

The real scan is ../shared/data/real_ct/chest_ct_lps_1p5mm.nii.gz, cropped around heart and
lungs, contrast-enhanced; the phantom (a contrast-enhanced seed) is cropped to the box
around its lungs likewise. Tissues are told apart by the same rule in both volumes: the HU
of a 3 x 3 x 3 box mean (lung -950..-600, fat -150..-50, muscle and other soft tissue
0..100, enhanced blood 150..450, bone 450 and above), and the histogram is of the raw
voxels in each class. The phantom's own tissue codes give a second, exact set of numbers.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

# One core, as the timing claim says: keep BLAS from spreading over the shared cores.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from record import RESULTS_DIR, provenance, write_results  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lungnet.io import read_ct  # noqa: E402
from lungnet.synthetic import NoduleLibrary, Tissue, TumorSpec, make_phantom  # noqa: E402
from lungnet.synthetic.insert import insert_into_scan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REAL = SHARED / "real_ct" / "chest_ct_lps_1p5mm.nii.gz"
LIBRARY = SHARED / "lidc_nodules"
LUNG_WINDOW = (-1000, 300)
PCTS = (1, 5, 25, 50, 75, 95, 99)
BINS = np.arange(-1100, 1601, 20)
#: class name -> (low, high) of the 3x3x3 box-mean HU.
CLASSES = {
    "lung": (-950, -600),
    "fat": (-150, -50),
    "muscle": (0, 100),
    "blood": (150, 450),
    "bone": (450, 4000),
}
TRUE_TISSUES = {
    "lung": (Tissue.LUNG,),
    "fat": (Tissue.FAT,),
    "muscle": (Tissue.MUSCLE,),
    "blood": (Tissue.BLOOD, Tissue.BLOOD_RIGHT),
    "bone": (Tissue.BONE_CORTEX, Tissue.BONE_MARROW),
}


def classes(hu: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of each tissue class by the box-mean rule."""
    mean = ndi.uniform_filter(hu, 3)
    return {name: (mean >= lo) & (mean < hi) for name, (lo, hi) in CLASSES.items()}


def percentiles(values: np.ndarray) -> dict:
    if values.size == 0:
        return {"voxels": 0}
    q = np.percentile(values, PCTS)
    return {
        "voxels": int(values.size),
        "percentiles": {str(p): round(float(v), 1) for p, v in zip(PCTS, q, strict=True)},
        "mean": round(float(values.mean()), 1),
        "sd": round(float(values.std()), 1),
    }


def noise_sd(hu: np.ndarray) -> float:
    """10th percentile of the in-plane 5x5 local SD where the local mean is soft tissue."""
    h = hu.astype(np.float64)
    mean = ndi.uniform_filter(h, (5, 5, 1))
    sd = np.sqrt(np.maximum(ndi.uniform_filter(h * h, (5, 5, 1)) - mean * mean, 0))
    sel = (mean > -150) & (mean < 100)
    return float(np.percentile(sd[sel], 10))


def lung_box(tissue: np.ndarray) -> tuple[slice, slice, slice]:
    idx = np.argwhere(tissue == Tissue.LUNG)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))  # type: ignore[return-value]


def axial(hu: np.ndarray, k: int) -> np.ndarray:
    """Axial slice for display: anterior up, patient's right on the viewer's left."""
    return np.flipud(np.flipud(hu[:, :, k]).T)


def coronal(hu: np.ndarray, j: int) -> np.ndarray:
    return np.flipud(np.flipud(hu[:, j, :]).T)


def sagittal(hu: np.ndarray, i: int) -> np.ndarray:
    return np.flipud(hu[i, :, :].T)


def show(ax, img, title, window=LUNG_WINDOW, aspect=1.0) -> None:
    ax.imshow(
        img, cmap="gray", vmin=window[0], vmax=window[1], aspect=aspect, interpolation="nearest"
    )
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def crop_around(
    hu: np.ndarray, label: np.ndarray, centre, half: int
) -> tuple[np.ndarray, np.ndarray]:
    i, j, k = centre
    box = (slice(max(0, i - half), i + half), slice(max(0, j - half), j + half), k)
    return hu[box], label[box]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument(
        "--compare-seed", type=int, default=0, help="a contrast-enhanced phantom seed"
    )
    args = parser.parse_args()
    record = provenance(
        seeds={"timing": args.seeds, "compare": args.compare_seed, "insert": [0, 1]},
        settings={
            "size": args.size,
            "threads": 1,
            "note": "CPU shared with other work; see load averages",
        },
    )

    timings = []
    print(f"{'seed':>5} {'shape':>16} {'CPU s':>7} {'wall s':>7} {'tumors':>6}")
    for seed in args.seeds:
        start, cpu = time.perf_counter(), time.process_time()
        p = make_phantom(seed, size=args.size)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        timings.append(
            {
                "seed": seed,
                "shape": list(p.hu.shape),
                "cpu_seconds": round(cpu, 2),
                "wall_seconds": round(seconds, 2),
                "tumors": [t.as_dict() for t in p.tumors],
            }
        )
        shape = "x".join(map(str, p.hu.shape))
        print(f"{seed:>5} {shape:>16} {cpu:>7.2f} {seconds:>7.2f} {len(p.tumors):>6}")
        del p
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    cpu_all = [t["cpu_seconds"] for t in timings]
    print(
        f"CPU per {args.size} px phantom: mean {np.mean(cpu_all):.2f} s, max {max(cpu_all):.2f} s; "
        f"peak RSS {peak} MiB; load {os.getloadavg()[0]:.1f}"
    )
    # An extreme draw: four masses of 40-95 mm with invasion, collapse and effusion, the
    # most expensive tumors the default distribution can give (rare: most phantoms have 0-2).
    extreme = [
        TumorSpec(95, "necrotic", "pleural", invades=True, atelectasis=True, effusion=True),
        TumorSpec(70, "spiculated", "mediastinal", invades=True, atelectasis=True),
        TumorSpec(60, "cavitary", "pleural", effusion=True),
        TumorSpec(40, "solid", "isolated"),
    ]
    cpu = time.process_time()
    p = make_phantom(args.seeds[-1], size=args.size, tumor_specs=extreme)
    extreme_cpu = round(time.process_time() - cpu, 2)
    print(f"extreme draw (4 masses 40-95 mm, seed {args.seeds[-1]}): {extreme_cpu:.2f} s CPU")
    del p
    record["timing"] = {
        "phantoms": timings,
        "cpu_seconds_mean": round(float(np.mean(cpu_all)), 2),
        "cpu_seconds_max": max(cpu_all),
        "peak_rss_mib": peak,
        "extreme_draw_cpu_seconds": extreme_cpu,
        "extreme_draw": [s.__dict__ for s in extreme],
    }

    # The compared phantom on the real scan's 1.5 mm grid: same patient (seed), size chosen
    # so that the in-plane spacing is 1.5 mm, and as many slices as make 1.5 mm thick ones.
    probe = make_phantom(args.compare_seed, size=64, slices=16, tumor_count=(0, 0), noise=False)
    fov, z_len = probe.spacing[0] * 64, probe.spacing[2] * 16
    ph = make_phantom(
        args.compare_seed, size=round(fov / 1.5), slices=round(z_len / 1.5), tumor_count=(0, 0)
    )
    box = lung_box(ph.tissue)
    ph_hu, ph_tissue = ph.hu[box], ph.tissue[box]
    real = read_ct(REAL)
    hist = {"phantom_rule": {}, "real_rule": {}, "phantom_true_tissue": {}}
    ph_classes, real_classes = classes(ph_hu), classes(real.array)
    for name in CLASSES:
        hist["phantom_rule"][name] = percentiles(ph_hu[ph_classes[name]])
        hist["real_rule"][name] = percentiles(real.array[real_classes[name]])
        hist["phantom_true_tissue"][name] = percentiles(
            ph_hu[np.isin(ph_tissue, TRUE_TISSUES[name])]
        )
    record["hu"] = {
        "rule": {k: list(v) for k, v in CLASSES.items()},
        "phantom_seed": args.compare_seed,
        "phantom_contrast": ph.contrast,
        "phantom_spacing_mm": [round(s, 3) for s in ph.spacing],
        "noise_sd_hu": {
            "phantom": round(noise_sd(ph_hu), 1),
            "real": round(noise_sd(real.array), 1),
        },
        **hist,
    }
    print(
        f"\n{'class':<8}{'who':<9}" + "".join(f"{'p' + str(p):>7}" for p in PCTS) + f"{'share':>8}"
    )
    for name in CLASSES:
        for who, key, total in (
            ("phantom", "phantom_rule", ph_hu.size),
            ("real", "real_rule", real.array.size),
        ):
            s = hist[key][name]
            row = "".join(f"{s['percentiles'][str(p)]:>7.0f}" for p in PCTS) if s["voxels"] else ""
            print(f"{name:<8}{who:<9}{row}{s['voxels'] / total:>8.3f}")
    print(f"noise SD: {record['hu']['noise_sd_hu']}")

    # Tumors inserted into the real CT: the default generator, and library nodules.
    library = NoduleLibrary(LIBRARY) if LIBRARY.is_dir() else None
    start = time.perf_counter()
    made = insert_into_scan(real, seed=0, tumor_count=(3, 3), tumor_diameter_mm=(15, 60))
    record["insert_seconds_one_scan"] = round(time.perf_counter() - start, 2)
    with_library = None
    if library is not None:
        with_library = insert_into_scan(
            real,
            seed=1,
            tumor_count=(3, 3),
            tumor_diameter_mm=(8, 25),
            nodule_library=library,
            library_share=1.0,
            library_split="test",
        )
    ph_lib = None
    if library is not None:
        ph_lib = make_phantom(
            args.compare_seed,
            size=round(fov / 1.5),
            slices=round(z_len / 1.5),
            tumor_count=(3, 3),
            tumor_diameter_mm=(8, 25),
            nodule_library=library,
            library_share=1.0,
            library_split="test",
        )

    fig = plt.figure(figsize=(17, 19))
    grid = fig.add_gridspec(5, 5, height_ratios=[1.25, 1.25, 1, 1, 0.8])
    # Rows 1-2: the same anatomy level in both, in the same window.
    rk = real.shape[2] // 2
    pk = int(np.flatnonzero((ph_tissue == Tissue.MYOCARDIUM).any(axis=(0, 1))).mean())
    row_views = (
        ("real", real.array, (real.shape[0] // 2 - 15, real.shape[1] // 2, rk)),
        ("phantom", ph_hu, (ph_hu.shape[0] // 2 - 15, ph_hu.shape[1] // 2, pk)),
    )
    for r, (who, hu, (i, j, k)) in enumerate(row_views):
        show(fig.add_subplot(grid[r, 0:2]), axial(hu, k), f"{who}: axial (lung window -1000..300)")
        show(
            fig.add_subplot(grid[r, 2]),
            axial(hu, k),
            f"{who}: axial, soft tissue -160..240",
            (-160, 240),
        )
        show(fig.add_subplot(grid[r, 3]), coronal(hu, j), f"{who}: coronal")
        show(fig.add_subplot(grid[r, 4]), sagittal(hu, i), f"{who}: sagittal")
    # Rows 3-5: inserted tumors, real CT and phantom, with their labels.
    rows = [("real CT + synthetic tumor", made)]
    if with_library is not None:
        rows.append(("real CT + LIDC nodule", with_library))
    cells = [(title, res.hu, res.label, t) for title, res in rows for t in res.tumors]
    if ph_lib is not None:
        cells += [("phantom + LIDC nodule", ph_lib.hu, ph_lib.label, t) for t in ph_lib.tumors]
    for n, (title, hu, label, t) in enumerate(cells[:10]):
        ax = fig.add_subplot(grid[2 + n // 5, n % 5])
        half = int(
            max(40, t.equivalent_diameter_mm * 0.9) / 1.5
        )  # the same 80 mm scale where it fits
        img, lab = crop_around(hu, label, t.center_voxel, half)
        show(
            ax, np.flipud(np.flipud(img).T), f"{title}\n{t.kind}, {t.equivalent_diameter_mm:.0f} mm"
        )
        ax.contour(np.flipud(np.flipud(lab).T), [0.5], colors="r", linewidths=0.6)
    # Row 6: HU histograms per tissue class.
    for c, name in enumerate(CLASSES):
        ax = fig.add_subplot(grid[4, c])
        for who, hu, m, color in (
            ("phantom", ph_hu, ph_classes[name], "C0"),
            ("real", real.array, real_classes[name], "C3"),
        ):
            ax.hist(hu[m], bins=BINS, density=True, histtype="step", color=color, label=who)
        lo, hi = CLASSES[name]
        ax.set_xlim(lo - 200, min(hi, 1500) + 200)
        ax.set_title(f"{name}: box mean {lo}..{hi} HU", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = RESULTS_DIR / "phantom_vs_real.png"
    fig.savefig(out, dpi=60)
    path = write_results("synth_bench.json", record)
    print(f"\nwrote {path} and {out}")


if __name__ == "__main__":
    main()
