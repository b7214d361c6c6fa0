"""train(TrainConfig): checkpoints and logs where promised, resume, determinism, DDP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lungnet
from lungnet import devices as devices_module
from lungnet.devices import TrainingDevice, training_device
from lungnet.engine import find_last_checkpoint, train
from lungnet.errors import CheckpointError, ConfigError, LungNetInputError
from tiny_training import tiny_config


def test_run_writes_best_and_last_checkpoints_in_the_seed_layout(trained_run):
    result, _ = trained_run
    root = result.log_dir.parent.parent
    assert result.log_dir == root / "unet_logs" / "version_0"
    assert result.best_checkpoint == result.log_dir / "checkpoints" / "best.ckpt"
    assert result.last_checkpoint == result.log_dir / "checkpoints" / "last.ckpt"
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()
    assert result.epochs == 2 and result.global_step == 6
    assert 0.0 <= result.best_score <= 1.0
    best = torch.load(result.best_checkpoint, weights_only=True)
    callback_state = next(v for k, v in best["callbacks"].items() if k.startswith("BestCheckpoint"))
    assert callback_state["monitor"] == "val/score"
    assert float(callback_state["best_model_score"]) == pytest.approx(result.best_score)


def test_tensorboard_gets_scalars_and_the_sample_figures(trained_run):
    result, _ = trained_run
    events = EventAccumulator(str(result.log_dir), size_guidance={"images": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {
        "train/loss_step",
        "train/loss_epoch",
        "train/dice",
        "val/loss",
        "val/dice_2d_slice_mean",
        "val/dice_3d_tumor_cases",
        "val/false_alarm_tumor_free",
        "val/score",
    } <= scalars
    images = events.Tags()["images"]
    assert images and all(tag.startswith("samples/") for tag in images)
    assert len(events.Images(images[0])) == 2  # one per validation epoch


def test_post_processing_is_chosen_on_the_val_scans_and_stored_in_best_ckpt(msd_dataset, tmp_path):
    from lungnet.checkpoints import read_checkpoint
    from lungnet.inference import Predictor
    from lungnet.preprocessing import NiftiPreprocessor

    processed = tmp_path / "processed"
    NiftiPreprocessor(target_size=(32, 32), clip_slices_min=4).run(
        msd_dataset, processed, val_split_count=2
    )
    # Mirrored slices and test-time flips: the choice is made with the flip averaged.
    result = train(tiny_config(processed, tmp_path / "artifacts", mirror=0.5, tta=True))
    stored = read_checkpoint(result.best_checkpoint)["hyper_parameters"]["postprocess"]
    assert stored["chosen_on"] == ["lung_002", "lung_003"]
    # 3 thresholds x 5 minimum volumes x 3 minimum peaks x 3 minimum depths, with and
    # without the lung constraint
    assert len(stored["candidates"]) == 270
    chosen = Predictor(result.best_checkpoint, device="cpu").postprocessing
    assert chosen.min_tumor_volume_mm3 == stored["min_tumor_volume_mm3"]
    assert chosen.min_peak_probability == stored["min_peak_probability"]
    assert chosen.min_depth_mm == stored["min_depth_mm"]
    assert chosen.lung_constraint == stored["lung_constraint"]
    assert chosen.threshold == stored["threshold"]
    assert stored["tta"] is True and Predictor(result.best_checkpoint, device="cpu").tta
    from lungnet.engine import TumorSegmentationTask

    rebuilt = TumorSegmentationTask.load_from_checkpoint(
        result.best_checkpoint, map_location="cpu", weights_only=True
    )
    assert rebuilt.hparams["postprocess"]["chosen_on"] == stored["chosen_on"]


def test_a_val_scan_gone_since_preprocessing_leaves_the_checkpoint_untuned(
    msd_dataset, tmp_path, caplog
):
    from lungnet.checkpoints import read_checkpoint
    from lungnet.preprocessing import NiftiPreprocessor

    processed = tmp_path / "processed"
    NiftiPreprocessor(target_size=(32, 32), clip_slices_min=4).run(
        msd_dataset, processed, val_split_count=1
    )
    (msd_dataset / "labelsTr" / "lung_003.nii.gz").unlink()
    result = train(tiny_config(processed, tmp_path / "artifacts"))
    assert "postprocess" not in read_checkpoint(result.best_checkpoint)["hyper_parameters"]
    assert "post-processing not tuned" in caplog.text


def test_folder_without_manifest_is_refused(tmp_path):
    with pytest.raises(LungNetInputError, match="no manifest.json"):
        train(tiny_config(tmp_path, tmp_path / "artifacts"))


def test_invalid_settings_are_refused_by_name(slice_folder, tmp_path):
    with pytest.raises(ValueError, match=r"loss \(--loss\) must be one of"):
        train(tiny_config(slice_folder, tmp_path, loss="dice"))
    with pytest.raises(ValueError, match=r"batch_size \(--batch-size\) must be >= 1"):
        train(tiny_config(slice_folder, tmp_path, batch_size=0))
    with pytest.raises(ValueError, match=r"norm \(--norm\) must be one of"):
        train(tiny_config(slice_folder, tmp_path, norm="group"))
    with pytest.raises(ValueError, match=r"lr_schedule \(--lr-schedule\) must be one of"):
        train(tiny_config(slice_folder, tmp_path, lr_schedule="cosine"))
    with pytest.raises(ValueError, match=r"patch_size \(--patch-size\) must be >= 16"):
        train(tiny_config(slice_folder, tmp_path, patch_size=8))


@pytest.mark.parametrize(
    ("native", "precision", "channels_last"),
    [(True, "bf16-mixed", True), (False, "32-true", False)],
)
def test_cpu_trains_in_bf16_only_where_the_cpu_computes_it_natively(
    monkeypatch, native, precision, channels_last
):
    monkeypatch.setattr(devices_module, "native_bf16", lambda device: native)
    assert training_device("cpu") == TrainingDevice("cpu", precision, channels_last, 0, True)
    explicit = training_device("cpu", precision="fp32", channels_last=False)
    assert (explicit.precision, explicit.channels_last) == ("32-true", False)
    assert training_device("cpu", precision="32-true").precision == "32-true"


def test_bad_settings_are_config_errors_that_name_the_flag(slice_folder, tmp_path):
    with pytest.raises(ConfigError, match=r"batch_size \(--batch-size\) must be >= 1, got 0"):
        train(tiny_config(slice_folder, tmp_path, batch_size=0))
    with pytest.raises(ConfigError, match=r"precision \(--precision\) must be one of"):
        train(tiny_config(slice_folder, tmp_path, precision="fp8"))
    with pytest.raises(ConfigError, match=r"tumor_fraction \(--tumor-fraction\) must be < 1"):
        train(tiny_config(slice_folder, tmp_path, tumor_fraction=1.0))
    with pytest.raises(ConfigError, match=r"deep_supervision \(--deep-supervision\) must be below"):
        train(tiny_config(slice_folder, tmp_path, deep_supervision=2))


def test_deep_supervision_trains_and_its_checkpoint_predicts_with_the_full_output(
    slice_folder, tmp_path
):
    from lungnet.checkpoints import load_checkpoint

    result = train(tiny_config(slice_folder, tmp_path, deep_supervision=1))
    loaded = load_checkpoint(result.best_checkpoint)
    assert loaded.model.deep_supervision == 1
    x = torch.randn(1, loaded.model.in_channels, 32, 32)
    assert loaded.model.eval()(x).shape == (1, 1, 32, 32)


def test_averaged_weights_are_what_the_checkpoint_holds_and_predict_loads(slice_folder, tmp_path):
    from lungnet.checkpoints import load_checkpoint

    result = train(tiny_config(slice_folder, tmp_path, ema_decay=0.9))
    stored = torch.load(result.best_checkpoint, map_location="cpu", weights_only=True)
    averaged, current = stored["state_dict"], stored["current_model_state"]
    assert averaged.keys() == current.keys()
    assert any(not torch.equal(averaged[k], current[k]) for k in averaged)
    assert stored["hyper_parameters"]["train"]["ema_decay"] == 0.9
    loaded = load_checkpoint(result.best_checkpoint).model
    name = next(k for k in averaged if k.endswith("weight") and averaged[k].dim() == 4)
    torch.testing.assert_close(loaded.state_dict()[name.removeprefix("model.")], averaged[name])


def test_resume_from_last_continues_at_the_right_step(trained_run, tmp_path):
    result, data = trained_run
    root = result.log_dir.parent.parent
    assert find_last_checkpoint(root) == result.last_checkpoint
    resumed = train(
        tiny_config(data, root, context_slices=1, loss="bce_dice", max_epochs=3, resume="last")
    )
    assert resumed.global_step == 9 and resumed.epochs == 3
    assert resumed.log_dir.name == "version_1"
    # best.ckpt of the resumed run is the best over all epochs, before and after the resume.
    assert resumed.best_score >= result.best_score
    assert resumed.best_checkpoint.parent == resumed.log_dir / "checkpoints"
    best = torch.load(resumed.best_checkpoint, weights_only=True)
    state = next(v for k, v in best["callbacks"].items() if k.startswith("BestCheckpoint"))
    assert float(state["best_model_score"]) == pytest.approx(resumed.best_score)
    assert result.best_checkpoint.is_file()  # the earlier run's files stay as they were
    ckpt = torch.load(resumed.last_checkpoint, weights_only=True)
    assert ckpt["global_step"] == 9 and ckpt["epoch"] == 2


def test_resume_with_a_different_config_is_refused(trained_run):
    result, data = trained_run
    with pytest.raises(
        CheckpointError, match=r"different config.*context_slices: checkpoint 1 vs now 0"
    ):
        train(
            tiny_config(
                data,
                result.log_dir.parent.parent / "x",
                loss="bce_dice",
                resume=result.last_checkpoint,
            )
        )


def test_resume_from_something_else_is_refused(slice_folder, tmp_path):
    with pytest.raises(LungNetInputError, match="has no version_N/checkpoints/last.ckpt"):
        train(tiny_config(slice_folder, tmp_path, resume="last"))
    with pytest.raises(CheckpointError, match=r"absent\.ckpt: does not exist"):
        train(tiny_config(slice_folder, tmp_path, resume=tmp_path / "absent.ckpt"))
    bad = tmp_path / "notes.ckpt"
    bad.write_text("not a checkpoint")
    with pytest.raises(
        CheckpointError, match=r"notes\.ckpt: is corrupt or not a PyTorch checkpoint"
    ):
        train(tiny_config(slice_folder, tmp_path, resume=bad))
    plain = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}}, plain)
    with pytest.raises(CheckpointError, match=r"plain\.ckpt: is not a LungNet checkpoint"):
        train(tiny_config(slice_folder, tmp_path, resume=plain))


class _LossRecorder(L.Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))


def test_same_seed_gives_the_same_loss_curve_and_checkpoint_on_cpu(slice_folder, tmp_path):
    curves, weights = [], []
    for run in range(2):
        recorder = _LossRecorder()
        result = train(
            tiny_config(slice_folder, tmp_path / str(run), seed=5, extra_callbacks=[recorder])
        )
        curves.append(recorder.losses)
        weights.append(torch.load(result.last_checkpoint, weights_only=True)["state_dict"])
    assert len(curves[0]) == 6
    assert curves[0] == curves[1]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    other = _LossRecorder()
    train(tiny_config(slice_folder, tmp_path / "other", seed=6, extra_callbacks=[other]))
    assert other.losses != curves[0]


def test_max_time_stops_early_and_still_leaves_a_best_checkpoint(slice_folder, tmp_path):
    start = time.perf_counter()
    result = train(
        tiny_config(
            slice_folder, tmp_path, max_epochs=1000, limit_train_batches=None, max_time_s=2.0
        )
    )
    assert time.perf_counter() - start < 30
    assert result.epochs < 1000
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()


_DDP_SCRIPT = """
import sys
import lungnet
from lungnet.engine import TrainConfig, train

if __name__ == "__main__":
    result = train(TrainConfig(
        data_dir=sys.argv[1], default_root_dir=sys.argv[2], device="cpu", devices=2,
        strategy="ddp", batch_size=4, max_epochs=1, limit_train_batches=2, base_channels=4,
        depth=2, num_sample_figures=1,
    ))
    print(f"rank {result.global_rank} step {result.global_step} best {result.best_score}")
"""


def test_ddp_with_two_cpu_processes(slice_folder, tmp_path):
    # Lightning's "ddp" launcher starts the other rank by re-running the script, as on a
    # cluster; gloo is the backend on CPU.
    script = tmp_path / "ddp_train.py"
    script.write_text(_DDP_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(lungnet.__file__).parents[1])}
    proc = subprocess.run(
        [sys.executable, str(script), str(slice_folder), str(tmp_path / "artifacts")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The two processes share one pipe, so their lines may run into each other.
    reports = sorted(re.findall(r"rank (\d) step (\d+) best ([0-9.]+)", proc.stdout))
    assert [(rank, step) for rank, step, _ in reports] == [("0", "2"), ("1", "2")], proc.stdout
    assert reports[0][2] == reports[1][2]  # ranks agree on the 3D Dice
    ckpt_dir = tmp_path / "artifacts" / "unet_logs" / "version_0" / "checkpoints"
    ckpt = torch.load(ckpt_dir / "best.ckpt", weights_only=True)
    assert ckpt["hyper_parameters"]["lungnet_checkpoint"] == 1 and ckpt["global_step"] == 2
    assert (ckpt_dir / "last.ckpt").is_file()


@pytest.mark.slow
def test_training_learns_an_easy_phantom(tmp_path):
    # Bright disks in noise: the whole pipeline (sampler, loss, 3D Dice, checkpointing)
    # must get from nothing to a good per-volume Dice within 200 steps.
    from slice_folders import write_slice_folder

    data = write_slice_folder(
        tmp_path / "processed", train_cases=4, val_cases=2, num_slices=16, size=32
    )
    result = train(
        tiny_config(
            data,
            tmp_path / "artifacts",
            batch_size=16,
            max_epochs=50,
            limit_train_batches=None,
            base_channels=8,
            depth=3,
            loss="bce_dice",
            augment=False,
            num_sample_figures=0,
        )
    )
    assert result.global_step == 200
    assert result.best_score > 0.8
