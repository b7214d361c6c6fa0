"""The preprocessing benchmarks run at toy size and record what they measured, with provenance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(script: str, tmp_path: Path, *extra: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--out", str(tmp_path), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (written,) = tmp_path.glob("*.json")
    record = json.loads(written.read_text())
    assert {"commit", "command", "date", "machine", "seeds"} <= record.keys()
    assert record["seeds"] == {"phantoms": 7}
    return record


def test_the_block_size_sweep_times_every_block_with_one_and_two_workers(tmp_path):
    record = _run("block_size_bench.py", tmp_path, "--blocks", "4", "8")
    assert record["summary"].keys() == {"4", "8"}
    for row in record["summary"].values():
        assert len(row["runs_s_1_worker"]) == len(row["runs_s_2_workers"]) == 1
        assert row["median_s_1_worker"] > 0 and row["scaling_median_of_paired_runs"] > 0


def test_the_profile_names_where_the_time_goes_and_the_decoding_share(tmp_path):
    record = _run("preprocess_profile.py", tmp_path)
    assert record["cases"] == 2 and record["settings"]["target"] == 64
    assert 0 < record["gzip_decoding_s"] <= record["profiled_s"]
    own = [row["own_s"] for row in record["top_functions"]]
    assert own == sorted(own, reverse=True) and len(own) == 14
