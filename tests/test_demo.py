"""`lungnet demo --quick`: every stage runs through the real entry point, leaving every artifact."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_quick_demo_writes_every_artifact_and_a_complete_summary(tmp_path):
    out = tmp_path / "demo_output"
    proc = subprocess.run(
        [sys.executable, "-m", "lungnet", "demo", "--quick", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for stage in ("synth", "preprocess", "train", "predict", "evaluate", "report"):
        assert f"{stage}" in proc.stdout
    assert "tensorboard --logdir" in proc.stdout

    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "test_dice_mean",
        "lesion_sensitivity",
        "sensitivity_by_size",
        "tumor_free",
        "false_positive_components_per_scan",
        "seconds",
        "cases",
        "paths",
        "settings",
    ):
        assert key in summary
    # The post-processing was chosen on the validation phantom and is in the checkpoint.
    assert summary["postprocess"]["chosen_on"] == ["lung_003"]
    # The recipe's training settings are spelled out, as the checkpoint holds them.
    from lungnet.engine.config import RECIPES

    recipe = RECIPES["lungnet"]
    for key in ("fov_crop", "mirror", "tumor_fade", "deep_supervision", "context_slices", "loss"):
        assert summary["training"][key] == recipe[key]
    assert "lung constraint" in proc.stdout
    assert set(summary["seconds"]) >= {
        "synth",
        "preprocess",
        "train",
        "predict",
        "evaluate",
        "report",
        "total",
    }
    assert summary["test_cases"] == len(summary["cases"]) == 2
    assert 0.0 <= summary["test_dice_mean"] <= 1.0

    paths = summary["paths"]
    from pathlib import Path

    assert Path(paths["checkpoint"]).name == "best.ckpt" and Path(paths["checkpoint"]).is_file()
    assert list(Path(paths["tensorboard"]).glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (out / "predictions").iterdir()) == [
        "lung_004_pred.nii.gz",
        "lung_005_pred.nii.gz",
    ]
    assert {"metrics.csv", "summary.json"} <= {p.name for p in (out / "evaluation").iterdir()}
    for report in paths["reports"].values():
        assert Path(report).is_file()

    # A kept model is tested again without training: same weights, post-processing re-chosen.
    import torch

    from lungnet.demo_pipeline import QUICK_SETTINGS, DemoConfig, run_demo

    again = run_demo(
        DemoConfig(
            output_dir=tmp_path / "again",
            write_reports=False,
            checkpoint=Path(paths["checkpoint"]),
            **QUICK_SETTINGS,
        )
    ).summary
    assert again["postprocess"]["chosen_on"] == ["lung_003"]
    assert again["cases"] == summary["cases"]
    before = torch.load(paths["checkpoint"], weights_only=True)["state_dict"]
    after = torch.load(again["paths"]["checkpoint"], weights_only=True)["state_dict"]
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_demo_refuses_to_replace_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    proc = subprocess.run(
        [sys.executable, "-m", "lungnet", "demo", "--quick", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "was not made by `lungnet demo`" in proc.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_default_settings_use_the_default_cohort_and_choose_on_validation():
    from lungnet.demo_pipeline import DemoConfig

    config = DemoConfig()
    # lungnet synth's cohort in every split: tumor-free patients and small tumors included.
    assert config.tumor_count is None and config.tumor_diameter_mm is None
    assert config.test_cases >= 10
    # The checkpoint and the post-processing are chosen on these, never on the test phantoms.
    assert config.val_cases >= 6
    assert config.recipe == "lungnet"
