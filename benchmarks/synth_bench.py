"""Phantom generation speed, and phantom-versus-real-scan HU statistics and pictures.

Run:  .venv/bin/python benchmarks/synth_bench.py [--seeds 0 1 2] [--size 512]

Prints a timing table and a HU comparison table, writes
benchmarks/results/synth_bench.json (timings + HU numbers) and
benchmarks/results/phantom_vs_real.png (axial / coronal / sagittal views of a phantom
and of the real chest scan in the same lung window, plus HU histograms).

The real scan is ../shared/data/real_ct/chest_ct_lps_1p5mm.nii.gz, a 1.5 mm chest CT
cropped around heart and lungs. Lungs and body are found by the same threshold rules in
both volumes, and the phantom is restricted to the slices that contain lung, so both
sides describe the same part of the body.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

# One core, as the timing claim says: keep BLAS from spreading over the shared cores.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lungnet.io import read_ct  # noqa: E402
from lungnet.synthetic import make_phantom  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
REAL = ROOT.parent / "shared" / "data" / "real_ct" / "chest_ct_lps_1p5mm.nii.gz"
WINDOW = (-1350, 150)
PCTS = (1, 5, 25, 50, 75, 95, 99)
BINS = np.arange(-1100, 1601, 25)


def masks(hu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lung and body masks by the same rules for any scan: ``(X, Y, Z)`` bool each.

    Lung: smoothed HU in (-960, -400) (outside air and airways are darker), holes filled
    slice by slice so vessels count as lung. Body: filled soft tissue, plus the lungs.
    """
    smooth = ndi.uniform_filter(hu, 3)
    lung = ndi.binary_opening((smooth > -960) & (smooth < -400), iterations=1)
    body = smooth > -400
    for k in range(hu.shape[2]):
        lung[:, :, k] = ndi.binary_fill_holes(lung[:, :, k])
        body[:, :, k] = ndi.binary_fill_holes(body[:, :, k])
    return lung, body | lung


def noise_sd(hu: np.ndarray, body: np.ndarray) -> float:
    """Noise estimate: 10th percentile of the 5x5x5 local SD in soft tissue and fat."""
    h = hu.astype(np.float64)
    mean = ndi.uniform_filter(h, 5)
    sd = np.sqrt(np.maximum(ndi.uniform_filter(h * h, 5) - mean * mean, 0))
    sel = body & (mean > -150) & (mean < 100)
    return float(np.percentile(sd[sel], 10))


def stats(hu: np.ndarray) -> dict:
    lung, body = masks(hu)
    out = {"noise_sd_hu": round(noise_sd(hu, body), 1)}
    for name, m in (("lung", lung), ("body", body)):
        v = hu[m]
        out[name] = {
            "voxels": int(m.sum()),
            "percentiles": {str(p): round(float(q), 1) for p, q in zip(PCTS, np.percentile(v, PCTS), strict=True)},
            "mean": round(float(v.mean()), 1),
            "sd": round(float(v.std()), 1),
        }
    v = hu[body]
    out["body"]["fractions"] = {
        "air_and_lung_below_-500": round(float((v < -500).mean()), 3),
        "fat_-200_to_-30": round(float(((v >= -200) & (v < -30)).mean()), 3),
        "soft_-30_to_150": round(float(((v >= -30) & (v < 150)).mean()), 3),
        "contrast_or_bone_above_150": round(float((v >= 150).mean()), 3),
    }
    return out, lung, body


def crop_to_lungs(hu: np.ndarray, tissue: np.ndarray) -> np.ndarray:
    """The box around the lungs (tissue code 1), as the real scan was cropped around heart and lungs."""
    idx = np.argwhere(tissue == 1)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    return hu[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]


def views(hu: np.ndarray, spacing, centre) -> list[tuple[np.ndarray, float]]:
    """Axial, coronal, sagittal slices through ``centre`` for display (anterior / superior up)."""
    i, j, k = centre
    ax = np.flipud(hu[:, :, k].T)
    co = np.flipud(hu[:, j, :].T)
    sa = np.flipud(hu[i, :, :].T)
    return [(ax, spacing[1] / spacing[0]), (co, spacing[2] / spacing[0]), (sa, spacing[2] / spacing[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)

    timings = []
    print(f"{'seed':>5} {'shape':>16} {'spacing mm':>20} {'wall s':>8} {'CPU s':>8} {'tumors':>6}")
    phantom = None
    for seed in args.seeds:
        start, cpu = time.perf_counter(), time.process_time()
        p = make_phantom(seed, size=args.size)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        timings.append({"seed": seed, "shape": list(p.hu.shape), "spacing": [round(s, 3) for s in p.spacing],
                        "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "tumors": len(p.tumors)})
        sp = ", ".join(f"{s:.2f}" for s in p.spacing)
        print(f"{seed:>5} {'x'.join(map(str, p.hu.shape)):>16} {sp:>20} {seconds:>8.2f} {cpu:>8.2f} {len(p.tumors):>6}")
        if seed == args.seeds[0]:
            # Peak resident memory (Linux reports KiB) after one phantom: imports plus one phantom.
            first_peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        if phantom is None or (p.tumors and not phantom.tumors):
            phantom = p
        else:
            del p
    per_slice_ms = [1000 * t["cpu_seconds"] / t["shape"][2] for t in timings]
    print(f"mean {np.mean([t['seconds'] for t in timings]):.2f} s wall, {np.mean([t['cpu_seconds'] for t in timings]):.2f} s "
          f"CPU per phantom ({np.mean(per_slice_ms):.1f} CPU ms per slice); load average {os.getloadavg()[0]:.1f}")

    # HU statistics at the real scan's voxel size (1.5 mm), so partial volume and noise are
    # comparable: the same patient (seed) regenerated on a 1.5 mm grid, cropped like the real
    # scan to the box around the lungs.
    probe = make_phantom(phantom.seed, size=248, slices=16, tumor_count=(0, 0), noise=False)
    fov, z_len = probe.spacing[0] * 248, probe.spacing[2] * 16
    matched = make_phantom(phantom.seed, size=round(fov / 1.5), slices=round(z_len / 1.5))
    ph_stats, _, _ = stats(crop_to_lungs(matched.hu, matched.tissue))
    ph_default, _, _ = stats(crop_to_lungs(phantom.hu, phantom.tissue))
    chest = crop_to_lungs(matched.hu, matched.tissue)
    result = {"phantom_seed": phantom.seed, "phantom_spacing_mm": [round(v, 3) for v in matched.spacing],
              "phantom_noise_hu": round(matched.noise_hu, 1), "phantom_contrast": phantom.contrast,
              "phantom": ph_stats, "phantom_default_size": {"size": args.size, **ph_default}}
    real = None
    if REAL.is_file():
        real = read_ct(REAL)
        real_stats, _, _ = stats(real.array)
        result["real"] = real_stats
        result["real_file"] = REAL.name
    print(f"\n{'HU':<14}" + "".join(f"{'p' + str(p):>8}" for p in PCTS) + f"{'mean':>8}{'sd':>7}")
    print("(phantom at 1.5 mm like the real scan; both cropped to the box around the lungs)")
    for region in ("lung", "body"):
        for who in ("phantom", "real"):
            if who in result:
                s = result[who][region]
                row = "".join(f"{s['percentiles'][str(p)]:>8.0f}" for p in PCTS)
                print(f"{who + ' ' + region:<14}{row}{s['mean']:>8.0f}{s['sd']:>7.0f}")
    for who in ("phantom", "real"):
        if who in result:
            print(f"{who} noise SD (soft tissue, 10th pct of local SD): {result[who]['noise_sd_hu']} HU; "
                  f"body fractions {result[who]['body']['fractions']}")

    # Picture: real scan (top), phantom through the heart (middle), phantom through a tumor + histograms.
    rows = [("phantom", phantom.hu, phantom.spacing)]
    if real is not None:
        rows.insert(0, ("real chest CT (1.5 mm)", real.array, real.spacing))
    fig, axes = plt.subplots(len(rows) + 1, 3, figsize=(15, 5 * (len(rows) + 1)))
    for r, (name, hu, spacing) in enumerate(rows):
        X, Y, Z = hu.shape
        if name == "phantom":
            heart_z = int(np.flatnonzero((phantom.tissue == 7).any(axis=(0, 1))).mean())
            centre = (int(X * 0.62), Y // 2, heart_z)
        else:
            centre = (X // 2 - 20, Y // 2, Z // 2)
        for c, (img, aspect) in enumerate(views(hu, spacing, centre)):
            axes[r, c].imshow(img, cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1], aspect=aspect)
            axes[r, c].set_title(f"{name}: {('axial', 'coronal', 'sagittal')[c]}")
            axes[r, c].axis("off")
    last = axes[len(rows)]
    t = phantom.tumors[0] if phantom.tumors else None
    k = t.center_voxel[2] if t else phantom.hu.shape[2] // 2
    last[0].imshow(np.flipud(phantom.hu[:, :, k].T), cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1])
    last[0].contour(np.flipud(phantom.label[:, :, k].T), [0.5], colors="r", linewidths=0.6)
    last[0].set_title(f"phantom axial through a {t.kind} tumor (red: label)" if t else "phantom axial")
    last[0].axis("off")
    for c, region in ((1, "lung"), (2, "body")):
        for who, hu, color in (("phantom (1.5 mm)", chest, "C0"), ("real", real.array if real is not None else None, "C3")):
            if hu is None:
                continue
            lung, body = masks(hu)
            m = lung if region == "lung" else body
            last[c].hist(hu[m], bins=BINS, density=True, histtype="step", color=color, label=who)
        last[c].set_title(f"HU histogram inside the {region}")
        last[c].set_yscale("log")
        last[c].legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "phantom_vs_real.png", dpi=72)

    result["timings"] = timings
    result["peak_rss_mib_first_phantom"] = first_peak
    result["machine"] = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                         "load_average_1min": round(os.getloadavg()[0], 1), "threads": 1}
    (RESULTS / "synth_bench.json").write_text(json.dumps(result, indent=2))
    print(f"peak memory while making the first phantom: {first_peak:.0f} MiB")
    print(f"\nwrote {RESULTS / 'synth_bench.json'} and {RESULTS / 'phantom_vs_real.png'}")


if __name__ == "__main__":
    main()
