"""TumorSegmentationTask: losses, Dice bookkeeping, checkpoint contract, augmentation on/off."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch

from lungnet.data import LungDataModule
from lungnet.engine import TumorSegmentationTask
from lungnet.engine.segmentor import (
    per_volume_dice,
    selection_score,
    soft_dice_loss,
    tumor_slice_dice_loss,
)
from lungnet.evaluation.metrics import dice_score
from lungnet.models import UNet

_PLAIN = (dict, list, str, int, float, bool, type(None))


def _assert_plain(value, where="hyper_parameters"):
    assert isinstance(value, _PLAIN), f"{where} is {type(value).__name__}"
    if isinstance(value, dict):
        assert type(value) is dict, f"{where} is {type(value).__name__}, not a plain dict"
        for k, v in value.items():
            assert isinstance(k, str)
            _assert_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _assert_plain(v, f"{where}[{i}]")


def test_soft_dice_loss_is_zero_for_a_confident_perfect_prediction():
    target = torch.zeros(2, 1, 8, 8)
    target[:, :, 2:5, 2:5] = 1
    logits = (target * 2 - 1) * 50
    assert soft_dice_loss(logits, target).item() == pytest.approx(0.0, abs=1e-6)
    assert soft_dice_loss(-logits, target).item() == pytest.approx(1.0, abs=0.02)


def test_bce_dice_adds_the_dice_term_to_bce():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) > 0.5).float()
    bce = TumorSegmentationTask({"base_channels": 2, "depth": 1}, loss="bce").compute_loss(
        logits, target
    )
    both = TumorSegmentationTask({"base_channels": 2, "depth": 1}, loss="bce_dice").compute_loss(
        logits, target
    )
    assert both.item() == pytest.approx(
        bce.item() + soft_dice_loss(logits, target).item(), rel=1e-6
    )


def test_deep_supervision_loss_weights_halve_per_level_against_the_average_pooled_mask():
    torch.manual_seed(0)
    task = TumorSegmentationTask({"base_channels": 2, "depth": 3}, loss="bce_dice")
    target = (torch.rand(2, 1, 8, 8) > 0.7).float()
    levels = [torch.randn(2, 1, 8, 8), torch.randn(2, 1, 4, 4), torch.randn(2, 1, 2, 2)]
    expected = (
        task.compute_loss(levels[0], target)
        + 0.5 * task.compute_loss(levels[1], torch.nn.functional.avg_pool2d(target, 2))
        + 0.25 * task.compute_loss(levels[2], torch.nn.functional.avg_pool2d(target, 4))
    ) / 1.75
    assert task.deep_supervision_loss(levels, target).item() == pytest.approx(expected.item())
    assert task.deep_supervision_loss(levels[:1], target).item() == pytest.approx(
        task.compute_loss(levels[0], target).item()
    )


def test_per_volume_dice_equals_3d_dice_of_each_case():
    rng = np.random.default_rng(0)
    pred = rng.random((6, 8, 8)) > 0.6
    true = rng.random((6, 8, 8)) > 0.6
    true[4:] = False
    pred[4:] = False  # case 1 (slices 4-5) empty in both: Dice 1 by the empty-mask rule
    counts = torch.tensor(
        [[(p & t).sum(), p.sum(), t.sum()] for p, t in zip(pred, true, strict=True)],
        dtype=torch.long,
    )
    case_of = torch.tensor([0, 0, 0, 0, 1, 1])
    dice = per_volume_dice(counts, case_of, 2)
    assert dice[0].item() == pytest.approx(dice_score(pred[:4], true[:4]))
    assert dice[1].item() == 1.0


def _counts(*cases: tuple[int, int, int]) -> torch.Tensor:
    return torch.tensor(cases, dtype=torch.long)


def test_an_all_empty_model_scores_zero_and_loses_to_any_model_that_finds_tumor():
    # 4 tumor-bearing and 2 tumor-free val cases, as (intersection, predicted, true) voxels.
    empty = _counts((0, 0, 500), (0, 0, 300), (0, 0, 800), (0, 0, 100), (0, 0, 0), (0, 0, 0))
    weak = _counts((50, 400, 500), (0, 0, 300), (0, 0, 800), (0, 0, 100), (0, 60, 0), (0, 0, 0))
    assert selection_score(empty)["score"].item() == 0.0
    assert selection_score(weak)["score"].item() > 0.0
    # The mean 3D Dice over all cases, the old monitor, ranked them the other way round.
    case_of = torch.arange(6)
    assert per_volume_dice(empty, case_of, 6).mean() > per_volume_dice(weak, case_of, 6).mean()


def test_false_alarms_on_tumor_free_cases_lower_the_score_in_proportion_to_their_volume():
    found = [(400, 500, 500), (250, 300, 300)]  # Dice 0.8 and about 0.83; median volume 400
    clean = selection_score(_counts(*found, (0, 0, 0), (0, 0, 0)))
    half = selection_score(_counts(*found, (0, 400, 0), (0, 0, 0)))  # one full false alarm
    flooded = selection_score(_counts(*found, (0, 5000, 0), (0, 9000, 0)))
    assert clean["false_alarm"].item() == 0.0 and clean["score"] == clean["dice"]
    assert half["false_alarm"].item() == pytest.approx(0.5)
    assert half["score"].item() == pytest.approx(0.5 * clean["dice"].item())
    assert flooded["score"].item() == 0.0  # capped: never below an empty model


def test_without_tumor_free_cases_the_score_is_the_dice_of_the_tumor_cases():
    scores = selection_score(_counts((400, 500, 500), (0, 10, 300)))
    assert scores["score"].item() == pytest.approx(0.4)
    assert torch.isnan(scores["false_alarm"])


def test_task_refuses_unknown_loss_and_mismatched_channels():
    with pytest.raises(ValueError, match="loss must be one of"):
        TumorSegmentationTask({"base_channels": 2, "depth": 1}, loss="focal")
    with pytest.raises(ValueError, match=r"in_channels 1 != 1 \+ 2 \* context_slices \(3\)"):
        TumorSegmentationTask(UNet(1, base_channels=2, depth=1), context_slices=1)


def test_checkpoint_loads_with_weights_only_and_holds_the_contract(trained_run):
    result, data = trained_run
    for path in (result.best_checkpoint, result.last_checkpoint):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        hp = ckpt["hyper_parameters"]
        _assert_plain(hp)
        assert hp["lungnet_checkpoint"] == 1
        assert hp["model"] == {
            "in_channels": 3,
            "out_channels": 1,
            "base_channels": 4,
            "depth": 2,
            "norm": "none",
        }
        assert hp["context_slices"] == 1
        assert hp["loss"] == "bce_dice" and hp["learning_rate"] == 2e-3
        assert hp["preprocess"] == LungDataModule(data).preprocess_config
        keys = list(ckpt["state_dict"])
        assert keys and all(k.startswith("model.") for k in keys)
        net = UNet(**hp["model"])
        net.load_state_dict({k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()})


def test_checkpoint_rebuilds_the_task_through_lightning(trained_run):
    result, _ = trained_run
    task = TumorSegmentationTask.load_from_checkpoint(
        result.best_checkpoint, map_location="cpu", weights_only=True
    )
    assert isinstance(task.model, UNet) and task.model.config["in_channels"] == 3
    with torch.no_grad():
        assert task(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 32, 32)


class _BatchSpy(L.Callback):
    def __init__(self):
        self.train, self.val = [], []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.train.append({k: v.clone() for k, v in batch.items()})

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.val.append({k: v.clone() for k, v in batch.items()})


def _fit_with_spy(task, dm, tmp_path) -> _BatchSpy:
    """Two training steps and one validation, keeping a copy of every batch the task saw."""
    spy = _BatchSpy()
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        max_epochs=1,
        limit_train_batches=2,
        callbacks=[spy],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(task, datamodule=dm)
    return spy


def test_augmentation_changes_training_batches_and_never_validation(slice_folder, tmp_path):
    dm = LungDataModule(slice_folder, batch_size=4)
    aug = {"probability": 1.0}
    task = TumorSegmentationTask(
        {"base_channels": 2, "depth": 1}, augment=aug, num_sample_figures=0
    )
    spy = _fit_with_spy(task, dm, tmp_path)
    ds = dm.train_dataset
    for batch in spy.train:
        raw = torch.stack([ds[i]["image"] for i in batch["index"].tolist()])
        assert not torch.allclose(batch["image"], raw)
    assert spy.val
    for batch in spy.val:
        raw = torch.stack([dm.val_dataset[i]["image"] for i in batch["index"].tolist()])
        raw_mask = torch.stack([dm.val_dataset[i]["mask"] for i in batch["index"].tolist()])
        assert torch.equal(batch["image"], raw) and torch.equal(batch["mask"], raw_mask)


def test_fov_crop_cuts_training_batches_to_air_and_never_validation(slice_folder, tmp_path):
    from lungnet.preprocessing.config import PreprocessConfig
    from lungnet.preprocessing.slices import pad_intensity

    dm = LungDataModule(slice_folder, batch_size=4)
    task = TumorSegmentationTask(
        {"base_channels": 2, "depth": 1},
        preprocess=dm.preprocess_config,
        fov_crop=1.0,
        num_sample_figures=0,
    )
    air = pad_intensity(PreprocessConfig.from_dict(dm.preprocess_config))
    spy = _fit_with_spy(task, dm, tmp_path)
    assert task.hparams["fov_crop"] == 1.0
    ds = dm.train_dataset
    for batch in spy.train:
        raw = torch.stack([ds[i]["image"] for i in batch["index"].tolist()])
        changed = (batch["image"] != raw).flatten(1).any(1)
        assert (batch["image"][~torch.eq(batch["image"], raw)] == air).all()
        assert changed.any()
    for batch in spy.val:
        raw = torch.stack([dm.val_dataset[i]["image"] for i in batch["index"].tolist()])
        assert torch.equal(batch["image"], raw)
    with pytest.raises(ValueError, match="fov_crop needs preprocess"):
        TumorSegmentationTask({"base_channels": 2, "depth": 1}, fov_crop=0.5)


def test_mirror_flips_training_batches_left_right_and_never_validation(slice_folder, tmp_path):
    dm = LungDataModule(slice_folder, batch_size=4)
    task = TumorSegmentationTask({"base_channels": 2, "depth": 1}, mirror=1.0, num_sample_figures=0)
    spy = _fit_with_spy(task, dm, tmp_path)
    assert task.hparams["mirror"] == 1.0
    ds = dm.train_dataset
    for batch in spy.train:
        raw = torch.stack([ds[i]["image"] for i in batch["index"].tolist()])
        raw_mask = torch.stack([ds[i]["mask"] for i in batch["index"].tolist()])
        assert torch.equal(batch["image"], raw.flip(-2))
        assert torch.equal(batch["mask"], raw_mask.flip(-2))
    for batch in spy.val:
        raw = torch.stack([dm.val_dataset[i]["image"] for i in batch["index"].tolist()])
        assert torch.equal(batch["image"], raw)


def test_tumor_fade_dims_training_tumors_toward_the_lung_and_never_validation(
    slice_folder, tmp_path
):
    dm = LungDataModule(slice_folder, batch_size=4)
    task = TumorSegmentationTask(
        {"base_channels": 2, "depth": 1},
        preprocess=dm.preprocess_config,
        tumor_fade=1.0,
        num_sample_figures=0,
    )
    spy = _fit_with_spy(task, dm, tmp_path)
    assert task.hparams["tumor_fade"] == 1.0
    ds = dm.train_dataset
    faded = 0
    for batch in spy.train:
        raw = torch.stack([ds[i]["image"] for i in batch["index"].tolist()])
        raw_mask = torch.stack([ds[i]["mask"] for i in batch["index"].tolist()])
        assert torch.equal(batch["mask"], raw_mask)
        tumor = raw_mask.expand_as(raw) > 0.5
        near = torch.nn.functional.max_pool2d(raw_mask, 5, 1, 2).expand_as(raw) > 0.5
        assert torch.equal(batch["image"][~near], raw[~near])
        faded += int((batch["image"][tumor] != raw[tumor]).any())
    assert faded > 0
    for batch in spy.val:
        raw = torch.stack([dm.val_dataset[i]["image"] for i in batch["index"].tolist()])
        assert torch.equal(batch["image"], raw)
    with pytest.raises(ValueError, match="tumor_fade needs preprocess"):
        TumorSegmentationTask({"base_channels": 2, "depth": 1}, tumor_fade=0.5)


def test_patch_training_crops_training_batches_and_keeps_validation_whole(slice_folder, tmp_path):
    dm = LungDataModule(slice_folder, batch_size=4)
    task = TumorSegmentationTask(
        {"base_channels": 2, "depth": 1}, patch_size=16, num_sample_figures=0
    )
    spy = _fit_with_spy(task, dm, tmp_path)
    assert task.hparams["patch_size"] == 16
    full = tuple(dm.val_dataset[0]["image"].shape[-2:])
    assert full[0] > 16
    for batch in spy.train:
        assert batch["image"].shape[-2:] == batch["mask"].shape[-2:] == (16, 16)
    assert spy.val and all(tuple(b["image"].shape[-2:]) == full for b in spy.val)
    assert torch.isfinite(task.trainer.callback_metrics["train/loss"])


class _LearningRates(L.Callback):
    def __init__(self):
        self.rates = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_poly_schedule_decays_the_learning_rate_step_by_step_towards_zero(slice_folder, tmp_path):
    dm = LungDataModule(slice_folder, batch_size=4)
    task = TumorSegmentationTask(
        {"base_channels": 2, "depth": 1},
        learning_rate=1e-2,
        lr_schedule="poly",
        num_sample_figures=0,
    )
    rates = _LearningRates()
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        max_epochs=2,
        limit_train_batches=5,
        limit_val_batches=1,
        callbacks=[rates],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=dm)
    assert rates.rates[0] == pytest.approx(1e-2)
    assert all(a > b for a, b in zip(rates.rates[:-1], rates.rates[1:], strict=True))
    assert rates.rates[-1] == pytest.approx(
        1e-2 * (1 / len(rates.rates)) ** 0.9
    )  # the last step of all
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        TumorSegmentationTask({"base_channels": 2, "depth": 1}, lr_schedule="cosine")


def test_fast_dev_run(slice_folder, tmp_path):
    dm = LungDataModule(slice_folder, batch_size=2, context_slices=1)
    task = TumorSegmentationTask(
        {"in_channels": 3, "base_channels": 4, "depth": 2},
        context_slices=1,
        augment={},
        preprocess=dm.preprocess_config,
    )
    trainer = L.Trainer(default_root_dir=tmp_path, fast_dev_run=True, enable_progress_bar=False)
    trainer.fit(task, datamodule=dm)
    assert trainer.state.finished
    for key in ("train/loss", "val/loss", "val/dice_2d_slice_mean", "val/score"):
        assert torch.isfinite(trainer.callback_metrics[key]), key


def test_tumor_slice_dice_weighs_a_missed_small_tumor_like_a_missed_large_one():
    target = torch.zeros(2, 1, 16, 16)
    target[0, 0, 2:14, 2:14] = 1  # a large tumor, found
    target[1, 0, 7:9, 7:9] = 1  # a small one, missed
    logits = torch.where(target > 0, 10.0, -10.0)
    logits[1] = -10.0
    per_slice = tumor_slice_dice_loss(logits, target).item()
    pooled = soft_dice_loss(logits, target).item()
    # The missed slice's Dice is 1/5 (smooth 1 over its 4 pixels), the found one's 1.
    assert per_slice == pytest.approx((0.8 + 0.0) / 2, abs=0.01)
    assert pooled < 0.05


def test_tumor_slice_dice_leaves_tumor_free_slices_to_bce():
    target = torch.zeros(2, 1, 8, 8)
    target[0, 0, 2:6, 2:6] = 1
    logits = torch.where(target > 0, 10.0, -10.0)
    logits[1] = 10.0  # a false alarm on the tumor-free slice: BCE's to punish
    assert tumor_slice_dice_loss(logits, target).item() == pytest.approx(0.0, abs=1e-3)
    empty = torch.zeros(2, 1, 8, 8, requires_grad=True)
    loss = tumor_slice_dice_loss(empty, torch.zeros(2, 1, 8, 8))
    loss.backward()
    assert loss.item() == 0.0 and empty.grad is not None


def test_bce_slice_dice_adds_the_per_slice_dice_term_to_bce():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) > 0.5).float()
    bce = TumorSegmentationTask({"base_channels": 2, "depth": 1}, loss="bce").compute_loss(
        logits, target
    )
    both = TumorSegmentationTask(
        {"base_channels": 2, "depth": 1}, loss="bce_slice_dice"
    ).compute_loss(logits, target)
    assert both.item() == pytest.approx(
        bce.item() + tumor_slice_dice_loss(logits, target).item(), rel=1e-6
    )
