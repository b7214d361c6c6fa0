"""Time of the radiomics features of one 50 mm tumor on a 512 x 512 x 300 scan.

    python benchmarks/radiomics_bench.py                  # the issue's case, 3 repeats
    python benchmarks/radiomics_bench.py --size 96 --slices 60 --diameter 12 --repeats 1

The scan is synthetic: lung-like background (-850 HU) and a solid ball of the given
diameter whose HU carry smoothed noise (a texture, not white noise), 0.7 x 0.7 x 1.0 mm
voxels. Measured, each step on its own:

- ``extract_s``: :func:`lungnet.radiomics.extract_radiomics` on the whole scan in memory
  (labelling, measuring, cropping and MIRP at the default settings), per repeat; the first
  repeat also loads MIRP's ITK readers;
- ``command_s``: ``lungnet radiomics`` from the NIfTI files in a fresh process (imports,
  reading both files, writing the tables).

The CPU is shared with other work; the load average at start and end is in the record.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from record import provenance, write_results

SPACING = (0.7, 0.7, 1.0)


def synthetic_scan(size: int, slices: int, diameter_mm: float, seed: int):
    """HU volume (int16) and mask (uint8) of a ball tumor in the middle of a lung-like scan."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    hu = rng.normal(-850.0, 40.0, (size, size, slices)).astype(np.float32)
    radius = diameter_mm / 2
    extent = [int(np.ceil(radius / s)) + 2 for s in SPACING]
    centre = [size // 2, size // 2, slices // 2]
    box = tuple(slice(c - e, c + e + 1) for c, e in zip(centre, extent, strict=True))
    grids = np.meshgrid(
        *[(np.arange(2 * e + 1) - e) * s for e, s in zip(extent, SPACING, strict=True)],
        indexing="ij",
    )
    ball = sum(g**2 for g in grids) <= radius**2
    texture = ndimage.gaussian_filter(rng.normal(0.0, 1.0, ball.shape), sigma=1.5)
    texture *= 60.0 / texture.std()
    local = hu[box]
    local[ball] = 30.0 + texture[ball]
    mask = np.zeros(hu.shape, np.uint8)
    mask[box][ball] = 1
    return np.round(hu).astype(np.int16), mask


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--diameter", type=float, default=50.0, help="tumor diameter in mm")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="radiomics_bench.json", help="file in benchmarks/results")
    args = parser.parse_args()
    record = provenance(seeds={"scan": args.seed}, settings=vars(args))

    import nibabel as nib

    hu, mask = synthetic_scan(args.size, args.slices, args.diameter, args.seed)
    affine = np.diag([*SPACING, 1.0])
    from lungnet.io import read_ct
    from lungnet.radiomics import DEFAULT_CONFIG, extract_radiomics

    with tempfile.TemporaryDirectory() as tmp:
        ct_path, mask_path = Path(tmp) / "scan.nii.gz", Path(tmp) / "scan_pred.nii.gz"
        nib.save(nib.Nifti1Image(hu, affine), ct_path)
        nib.save(nib.Nifti1Image(mask, affine), mask_path)
        ct, mask_canonical = read_ct(ct_path), read_ct(mask_path).array
        times, result = [], None
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = extract_radiomics(ct, mask_canonical, DEFAULT_CONFIG)
            times.append(time.perf_counter() - start)
        command = [
            str(Path(sys.executable).with_name("lungnet")),
            "radiomics",
            "-i",
            str(ct_path),
            "--mask",
            str(mask_path),
            "-o",
            str(Path(tmp) / "out"),
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        command_s = time.perf_counter() - start

    tumor = result.tumors[0]
    record.update(
        scan_shape=list(hu.shape),
        spacing_mm=list(SPACING),
        tumor_voxels=tumor.lesion.voxels,
        tumor_volume_ml=round(tumor.lesion.volume_ml, 2),
        tumor_long_axis_mm=tumor.lesion.long_axis_mm,
        radiomics_settings=DEFAULT_CONFIG.settings(),
        feature_count=len(result.columns),
        undefined_features=tumor.undefined,
        extract_s=[round(t, 2) for t in times],
        extract_median_s=round(statistics.median(times), 2),
        mirp_per_tumor_s=[round(t, 2) for t in result.seconds_per_tumor],
        command_s=round(command_s, 2),
        target_s=30.0,
        note="CPU shared with other engineers' jobs; see the load averages",
    )
    path = write_results(args.out, record)
    print(
        f"{args.size}x{args.size}x{args.slices} scan, {args.diameter:g} mm tumor "
        f"({tumor.lesion.voxels} voxels): {len(result.columns)} features; extract "
        f"{record['extract_median_s']} s (median of {args.repeats}), command "
        f"{record['command_s']} s (fresh process, files in and out)"
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
