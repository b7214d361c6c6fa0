"""benchmarks/tumor_table.py: one row per synthetic tumor, found or not, tallied by kind."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lungnet.inference.predictor import Prediction
from lungnet.io import read_ct
from lungnet.synthetic import write_msd_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from tumor_table import synthetic_tumors, tally, tumor_rows  # noqa: E402

SMALL = {"size": 48, "slices": 20, "tumor_diameter_mm": (10, 20), "tumor_count": (2, 2)}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    data = write_msd_dataset(tmp_path_factory.mktemp("synth") / "d", cases=1, seed=3, **SMALL)
    ((name, tumors),) = synthetic_tumors(data).items()
    ct = read_ct(data / "imagesTr" / f"{name}.nii.gz")
    truth = read_ct(data / "labelsTr" / f"{name}.nii.gz").array
    return name, tumors, ct, truth


def test_a_prediction_of_the_label_finds_every_tumor_at_full_probability(case):
    name, tumors, ct, truth = case
    found = Prediction((truth > 0.5).astype(np.float32), (truth > 0.5).astype(np.uint8))
    rows = tumor_rows(name, tumors, ct, truth, found)
    assert len(rows) == len(tumors) == 2
    assert all(r["found"] and r["peak_probability"] == 1.0 for r in rows)
    assert {r["kind"] for r in rows} == {t["kind"] for t in tumors}


def test_an_empty_prediction_misses_every_tumor_and_the_tally_says_so_by_kind(case):
    name, tumors, ct, truth = case
    empty = Prediction(np.zeros(truth.shape, np.float32), np.zeros(truth.shape, np.uint8))
    summary = tally(tumor_rows(name, tumors, ct, truth, empty))
    assert summary["found"] == 0 and summary["missed_with_peak_below_0.1"] == 2
    assert sum(int(v.split("/")[1]) for v in summary["kind"].values()) == 2
    assert all(v.startswith("0/") for v in summary["size"].values())
