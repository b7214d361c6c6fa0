"""The original's training command through the real script, and `lungnet train` through the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lungnet.cli import main
from slice_folders import write_slice_folder

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train.py"
TINY = ["--base_channels", "4", "--depth", "2", "--sample_figures", "1"]


@pytest.fixture
def processed(tmp_path: Path) -> Path:
    return write_slice_folder(
        tmp_path / "processed_data", train_cases=2, val_cases=1, num_slices=8, size=32
    )


def test_seed_training_command_writes_best_checkpoint_and_tensorboard_images(processed, tmp_path):
    # The original's command, exactly (--gpus 1 trains on the CPU where CUDA is absent), plus
    # a tiny width.
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--data_dir",
        str(processed),
        "--batch_size",
        "16",
        "--max_epochs",
        "2",
        "--gpus",
        "1" if torch.cuda.is_available() else "0",
        *TINY,
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "artifacts" / "unet_logs" / "version_0"
    assert (run / "checkpoints" / "best.ckpt").is_file() and (
        run / "checkpoints" / "last.ckpt"
    ).is_file()
    assert "best checkpoint: artifacts/unet_logs/version_0/checkpoints/best.ckpt" in proc.stdout
    events = EventAccumulator(str(run), size_guidance={"images": 0}).Reload()
    assert any(tag.startswith("samples/") for tag in events.Tags()["images"])
    # Output to a pipe, as under SLURM or nohup: one line per epoch instead of a progress bar.
    epochs = [line for line in proc.stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2"], proc.stderr[-3000:]
    assert all("train loss" in line and "val score" in line for line in epochs)
    assert all("elapsed, ETA" in line for line in epochs)


def test_lungnet_train_accepts_dashed_options(processed, tmp_path, capsys):
    rc = main(
        [
            "train",
            "--data-dir",
            str(processed),
            "--batch-size",
            "4",
            "--max-epochs",
            "1",
            "--limit-train-batches",
            "2",
            "--accelerator",
            "cpu",
            "--base-channels",
            "4",
            "--depth",
            "2",
            "--context-slices",
            "1",
            "--loss",
            "bce_dice",
            "--learning-rate",
            "0.002",
            "--seed",
            "3",
            "--default-root-dir",
            str(tmp_path / "runs"),
            "--sample-figures",
            "0",
        ]
    )
    assert rc == 0
    ckpt = torch.load(
        tmp_path / "runs" / "unet_logs" / "version_0" / "checkpoints" / "best.ckpt",
        weights_only=True,
    )
    hp = ckpt["hyper_parameters"]
    assert hp["context_slices"] == 1 and hp["loss"] == "bce_dice" and hp["learning_rate"] == 0.002
    assert hp["model"]["base_channels"] == 4 and hp["train"]["seed"] == 3
    assert "val score" in capsys.readouterr().out


def test_folder_without_manifest_fails_with_one_line(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"lungnet train: error: {tmp_path}: no manifest.json here; this is not a preprocessed "
        "folder (run `lungnet preprocess` first)"
    )


def test_gpus_with_accelerator_is_a_usage_error(processed, capsys):
    assert main(["train", "--data-dir", str(processed), "--gpus", "0", "--accelerator", "cpu"]) == 2
    assert "use --gpus or --device/--devices, not both" in capsys.readouterr().err


def test_out_of_range_setting_is_a_usage_error(processed, capsys):
    assert main(["train", "--data-dir", str(processed), "--batch-size", "0"]) == 2
    assert "batch_size (--batch-size) must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_gpu_benchmark_runs_quick_on_cpu_and_writes_json(tmp_path):
    import json

    script = SCRIPT.parents[1] / "benchmarks" / "gpu_bench.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--cpu", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = tmp_path.glob("gpu_bench_quick_*.json")
    rows = json.loads(result.read_text())["rows"]
    assert [r["section"] for r in rows] == [
        "augmentation",
        "training",
        "training",
        "inference",
        "inference",
    ]
    assert rows[0]["affine_elastic_batch_ms"] > 0
    training, inference = rows[1:3], rows[3:]
    assert {r["mode"] for r in training} == {"bf16+channels_last", "defaults"}
    assert all(r["model_only_slices_s"] > 0 and r["end_to_end_slices_s"] > 0 for r in training)
    assert {r["precision"] for r in inference} == {"bf16", "fp32"}
    assert all(r["model_only_slices_s"] > 0 and r["end_to_end_s"]["total"] > 0 for r in inference)


def test_seed_pipeline_runs_on_a_lungnet_synth_dataset(tmp_path):
    # The seed README's two steps, unchanged, on phantoms from `lungnet synth`.
    from lungnet import NiftiPreprocessor
    from lungnet.synthetic import write_msd_dataset

    raw = write_msd_dataset(
        tmp_path / "raw_data",
        cases=3,
        seed=0,
        size=48,
        slices=48,
        tumor_diameter_mm=(15.0, 40.0),
        tumor_count=(1, 2),
    )
    processor = NiftiPreprocessor(target_size=(48, 48), clip_slices_min=8)
    processor.run(input_root=raw, output_root=tmp_path / "processed_data", val_split_count=1)
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--data_dir",
        str(tmp_path / "processed_data"),
        "--batch_size",
        "16",
        "--max_epochs",
        "1",
        "--gpus",
        "1" if torch.cuda.is_available() else "0",
        *TINY,
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "artifacts" / "unet_logs" / "version_0"
    assert (run / "checkpoints" / "best.ckpt").is_file()
    events = EventAccumulator(str(run), size_guidance={"images": 0}).Reload()
    assert any(tag.startswith("samples/") for tag in events.Tags()["images"])
