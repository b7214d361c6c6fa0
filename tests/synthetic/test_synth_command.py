"""`lungnet synth` through the real entry points (console script and cli.main)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lungnet.cli import main

LUNGNET = Path(sys.executable).with_name("lungnet")


def test_lungnet_synth_writes_a_dataset_through_the_console_script(tmp_path):
    out = tmp_path / "Task06_Lung"
    result = subprocess.run(
        [
            str(LUNGNET),
            "synth",
            str(out),
            "--cases",
            "2",
            "--test-cases",
            "1",
            "--seed",
            "4",
            "--size",
            "40",
            "--slices",
            "16",
            "--tumor-diameter",
            "10",
            "20",
            "--tumor-count",
            "1",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["numTraining"] == 2 and meta["numTest"] == 1
    assert (out / "labelsTs" / "lung_003.nii.gz").is_file()
    assert "lung_003" in result.stdout and "3 cases" in result.stdout


def test_usage_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "a"), "--cases", "0"]) == 2
    assert "at least one case" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "b"), "--cases", "1", "--tumor-diameter", "30", "5"]) == 2
    assert "tumor_diameter_mm" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_an_existing_dataset_exits_1_and_overwrite_replaces_it(tmp_path, capsys):
    args = ["synth", str(tmp_path / "ds"), "--cases", "1", "--size", "32", "--slices", "12"]
    assert main(args) == 0
    assert main(args) == 1
    assert "already holds a dataset" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_a_folder_that_is_not_a_nodule_library_exits_1_with_one_line(tmp_path, capsys):
    args = ["synth", str(tmp_path / "ds"), "--cases", "1", "--size", "32", "--slices", "12"]
    assert main([*args, "--nodule-library", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a nodule library" in err[0]
    assert main([*args, "--library-share", "2"]) == 2
