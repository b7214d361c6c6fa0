"""The accuracy benchmark runs every preset at toy size on the CPU, the GPU preset included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "accuracy_bench.py"


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["gpu", "cpu_spacing"])
def test_a_preset_runs_at_toy_size_and_records_validation_and_test_apart(preset, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--preset", preset, "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / f"accuracy_{preset}_seed1_quick.json").read_text())
    assert {"commit", "command", "date", "machine", "seeds"} <= set(record)
    assert record["settings"]["preset"] == preset
    # Validation chose the checkpoint and the post-processing; the test set was scored once.
    assert record["validation"]["postprocess"]["chosen_on"] == ["lung_003"]
    assert set(record["test"]["sensitivity_by_size"]) == {
        "<10 mm",
        "10-20 mm",
        "20-50 mm",
        ">50 mm",
    }
    assert "false_positive_ml_mean" in record["test"]["tumor_free"]


@pytest.mark.slow
def test_lesion_sampling_preset_runs_and_a_tag_keeps_earlier_results_apart(tmp_path):
    preset, tag = "cpu_noaug_lesion", "rerun"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--preset", preset, "--quick", "--tag", tag]
        + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / f"accuracy_{preset}_seed1_{tag}_quick.json").read_text())
    assert record["settings"]["tumor_sampling"] == "lesion"
