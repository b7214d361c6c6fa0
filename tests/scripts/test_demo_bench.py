"""The demo benchmark runs the demo users run and records its wall time and summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_demo_run_is_recorded_with_its_wall_time_and_its_own_summary(tmp_path):
    out = tmp_path / "results"
    demo_dir = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "demo_bench.py"), "--quick", "--out", str(out)]
        + ["--output-dir", str(demo_dir), "--tag", "toy", "--note", "toy run"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "demo_seed0_toy.json").read_text())
    assert {"commit", "command", "date", "machine", "seeds"} <= record.keys()
    assert record["seeds"] == {"dataset": 0, "training": 0}
    assert record["quick"] is True and record["note"] == "toy run"
    assert record["summary"] == json.loads((demo_dir / "summary.json").read_text())
    assert 0 < record["summary"]["seconds"]["total"] <= record["wall_time_demo_s"]


def test_a_failed_demo_writes_no_results(tmp_path, monkeypatch):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import demo_bench
    finally:
        sys.path.remove(str(BENCHMARKS))
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    monkeypatch.setattr(demo_bench, "_lungnet_command", lambda: failing)
    out = tmp_path / "results"
    with pytest.raises(SystemExit, match="exit status 3.*no results written"):
        demo_bench.main(["--out", str(out), "--output-dir", str(tmp_path / "demo")])
    assert not out.exists()
