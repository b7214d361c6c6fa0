"""`lungnet radiomics` on the IBSI 1 digital phantom matches every IBSI reference value.

The phantom's settings (IBSI reference manual, digital phantom): no resampling, no
re-segmentation, no discretisation (its intensities are the grey levels 1-6), 3D. The
reference values and tolerances of all 163 features LungNet computes are in
``ibsi_digital_phantom_reference.csv``; a value matches when, rounded to three significant
digits as the manual reports them, it lies within the tolerance of the reference.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from lungnet.cli import main

REFERENCE = Path(__file__).with_name("ibsi_digital_phantom_reference.csv")


def _reference() -> dict[str, tuple[float, float]]:
    with open(REFERENCE, newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {r["feature"]: (float(r["reference"]), float(r["tolerance"])) for r in rows}


def _three_significant_digits(x: float) -> float:
    return x if x == 0 else round(x, 2 - int(math.floor(math.log10(abs(x)))))


def test_digital_phantom_matches_all_163_ibsi_reference_values(ibsi_phantom, tmp_path, capsys):
    settings = tmp_path / "phantom.json"
    settings.write_text('{"voxel_size_mm": null, "bin_width_hu": null, "hu_range": null}')
    code = main(
        [
            "radiomics",
            "-i",
            str(ibsi_phantom / "image.nii.gz"),
            "--mask",
            str(ibsi_phantom / "mask.nii.gz"),
            "-o",
            str(tmp_path / "out"),
            "--config",
            str(settings),
        ]
    )
    assert code == 0
    assert "1 tumor(s) x 163 features" in capsys.readouterr().out
    doc = json.loads((tmp_path / "out" / "image_radiomics.json").read_text())
    assert doc["tumors"][0]["voxels"] == 74  # the phantom's region of interest
    computed = doc["tumors"][0]["features"]
    reference = _reference()
    assert len(reference) == 163 and set(reference) == set(computed)
    mismatches = {
        name: (computed[name], ref, tol)
        for name, (ref, tol) in reference.items()
        if computed[name] is None
        or abs(_three_significant_digits(computed[name]) - ref) > tol + 1e-12
    }
    assert mismatches == {}
