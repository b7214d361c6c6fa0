"""``train(TrainConfig) -> TrainResult``: the one training entry point (CLI, demo, benchmarks).

Builds the data module, the U-Net, the task and a Lightning Trainer from a typed config,
trains, and returns where the checkpoints are. Layout of a run (``root`` =
``default_root_dir``)::

    root/unet_logs/version_N/events.out.tfevents.*      TensorBoard scalars + sample figures
    root/unet_logs/version_N/checkpoints/best.ckpt      best mean per-volume 3D val Dice
    root/unet_logs/version_N/checkpoints/last.ckpt      latest state (for --resume last)
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, WeightAveraging
from lightning.pytorch.loggers import TensorBoardLogger
from torch.optim.swa_utils import get_ema_avg_fn

from lungnet.checkpoints import check_resumable
from lungnet.data.data_module import LungDataModule
from lungnet.data.folds import SPLITS_FILE, kfold_splits, read_splits, write_splits
from lungnet.data.lung_dataset import read_slice_manifest
from lungnet.data.transforms import INTENSITY, AugmentConfig
from lungnet.devices import training_device
from lungnet.engine.best_checkpoint import BestCheckpoint
from lungnet.engine.config import TrainConfig
from lungnet.engine.epoch_log import EpochLog
from lungnet.engine.postprocess_tuning import tune_postprocessing
from lungnet.engine.segmentor import MONITOR, TumorSegmentationTask
from lungnet.errors import ConfigError, LungNetInputError

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train",
    "train_folds",
    "find_last_checkpoint",
    "run_root",
    "LOG_NAME",
]

log = logging.getLogger(__name__)

#: Sub-folder of ``default_root_dir`` holding one ``version_N`` folder per run (the original's).
LOG_NAME = "unet_logs"


@dataclass(frozen=True)
class TrainResult:
    """Where a finished run put its files, and how it went."""

    best_checkpoint: Path  # highest validation score (segmentor.selection_score)
    last_checkpoint: Path
    log_dir: Path  # the run's version_N folder (TensorBoard events)
    best_score: float  # validation selection score of best_checkpoint (segmentor.selection_score)
    epochs: int  # epochs completed
    global_step: int  # optimizer steps taken
    wall_s: float  # seconds spent in fitting
    global_rank: int = 0  # this process's rank (under DDP every rank returns a result)
    fold: int | None = None  # the cross-validation fold, when trained with folds


def find_last_checkpoint(default_root_dir: str | Path) -> Path:
    """``last.ckpt`` of the highest ``version_N`` under ``default_root_dir/unet_logs``.

    Raises:
        LungNetInputError: no run there has a ``last.ckpt``.
    """
    runs = Path(default_root_dir) / LOG_NAME
    found = []
    for p in runs.glob("version_*/checkpoints/last.ckpt"):
        m = re.fullmatch(r"version_(\d+)", p.parent.parent.name)
        if m:
            found.append((int(m.group(1)), p))
    if not found:
        raise LungNetInputError(runs, "has no version_N/checkpoints/last.ckpt to resume from")
    return max(found)[1]


def run_root(config: TrainConfig) -> Path:
    """The folder a run writes into: ``default_root_dir``, or its ``fold_N`` for a fold."""
    root = Path(config.default_root_dir)
    return root if config.folds is None else root / f"fold_{int(config.fold)}"


def _fold_val_cases(config: TrainConfig, manifest: dict) -> list[str] | None:
    """The validation cases of the configured fold; the splits file is written once, then read."""
    if config.folds is None:
        return None
    cases = sorted(manifest["cases"])
    path = Path(config.default_root_dir) / SPLITS_FILE
    if path.is_file():
        splits = read_splits(path, cases)
        if len(splits) != config.folds:
            raise ConfigError(
                f"folds (--folds) is {config.folds}, but {path} holds {len(splits)} folds"
            )
    else:
        splits = kfold_splits(cases, config.folds)
        write_splits(path, splits)
    return splits[int(config.fold)]["val"]


def _augment_settings(config: TrainConfig) -> dict | None:
    """The task's augmentation: spatial (``augment``), intensity (``augment_intensity``), both."""
    if not config.augment and not config.augment_intensity:
        return None
    spatial = {} if config.augment else {"probability": 0.0}
    intensity = INTENSITY if config.augment_intensity else {}
    return AugmentConfig(**spatial, **intensity).to_dict()


def train_folds(config: TrainConfig) -> list[TrainResult]:
    """Train every fold of ``config.folds`` one after another (``--fold all``)."""
    if config.folds is None:
        raise ConfigError("fold (--fold) all needs folds (--folds K)")
    return [train(replace(config, fold=str(k))) for k in range(config.folds)]


def train(config: TrainConfig) -> TrainResult:
    """Train the U-Net on a preprocessed folder and write checkpoints + TensorBoard logs.

    Args:
        config: the run's settings.

    Returns:
        Paths of ``best.ckpt`` / ``last.ckpt`` and the run folder, and the best score.

    Raises:
        LungNetInputError: the data folder has no valid manifest or no slices.
        CheckpointError: ``resume`` is missing, unsafe, not LungNet's, or its model /
            context / preprocessing / loss differ from ``config``.
    """
    config.check()
    if str(config.fold) == "all":
        raise ConfigError("fold (--fold) all trains several runs: call train_folds()")
    root = run_root(config)
    hardware = training_device(
        config.device,
        config.precision,
        config.channels_last,
        config.workers,
        config.deterministic,
    )
    accelerator = hardware.accelerator
    L.seed_everything(config.seed, workers=True, verbose=False)
    if accelerator != "cpu":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
    dm = LungDataModule(
        config.data_dir,
        batch_size=config.batch_size,
        num_workers=hardware.loader_workers,
        context_slices=config.context_slices,
        tumor_fraction=config.tumor_fraction,
        tumor_sampling=config.tumor_sampling,
        seed=config.seed,
        pin_memory=accelerator != "cpu",
        val_cases=_fold_val_cases(config, read_slice_manifest(config.data_dir)),
    )
    train_record = {
        "recipe": config.recipe,
        "batch_size": config.batch_size,
        "max_epochs": config.max_epochs,
        "tumor_fraction": config.tumor_fraction,
        "tumor_sampling": config.tumor_sampling,
        "seed": config.seed,
        "precision": hardware.precision,
        "data_dir": str(config.data_dir),
        "folds": config.folds,
        "fold": None if config.folds is None else int(config.fold),
        "ema_decay": config.ema_decay,
    }
    task = TumorSegmentationTask(
        {
            "in_channels": 1 + 2 * config.context_slices,
            "out_channels": 1,
            "base_channels": config.base_channels,
            "depth": config.depth,
            "norm": config.norm,
            "deep_supervision": config.deep_supervision,
        },
        context_slices=config.context_slices,
        preprocess=dm.preprocess_config,
        loss=config.loss,
        learning_rate=config.learning_rate,
        lr_schedule=config.lr_schedule,
        augment=_augment_settings(config),
        augment_seed=config.seed,
        fov_crop=config.fov_crop,
        mirror=config.mirror,
        tumor_fade=config.tumor_fade,
        patch_size=config.patch_size,
        channels_last=hardware.channels_last,
        num_sample_figures=config.num_sample_figures,
        train=train_record,
    )
    resume = None
    if config.resume is not None:
        resume = find_last_checkpoint(root) if str(config.resume) == "last" else Path(config.resume)
        check_resumable(resume, dict(task.hparams))
    checkpoint = BestCheckpoint(
        filename="best", monitor=MONITOR, mode="max", save_top_k=1, enable_version_counter=False
    )
    # A second callback for last.ckpt: Lightning >= 2.5 writes save_last only when a top-k
    # checkpoint was written at the same step, so it would go stale once the score stops improving.
    latest = ModelCheckpoint(
        filename="last", monitor=None, save_top_k=1, enable_version_counter=False
    )
    # Lightning's weight averaging swaps the average in for validation and writes it as the
    # checkpoints' weights (the training weights go beside them), so the best checkpoint is
    # chosen on, and predict runs, the averaged model.
    averaging = (
        [WeightAveraging(avg_fn=get_ema_avg_fn(config.ema_decay))] if config.ema_decay > 0 else []
    )
    # Without a progress bar (no terminal), one line per epoch shows how the run goes.
    epoch_log = [] if config.enable_progress_bar else [EpochLog()]
    logger = TensorBoardLogger(save_dir=str(root), name=LOG_NAME)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        precision=hardware.precision,
        max_epochs=config.max_epochs,
        max_time=None if config.max_time_s is None else timedelta(seconds=config.max_time_s),
        limit_train_batches=config.limit_train_batches,
        check_val_every_n_epoch=config.check_val_every_n_epoch,
        log_every_n_steps=config.log_every_n_steps,
        deterministic=hardware.deterministic,
        logger=logger,
        callbacks=[checkpoint, latest, *averaging, *epoch_log, *config.extra_callbacks],
        default_root_dir=str(root),
        enable_progress_bar=config.enable_progress_bar,
        enable_model_summary=False,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Both are expected here: augmentation lives in the task's on_after_batch_transfer
        # by design, and a resumed run writes to a new version_N folder.
        warnings.filterwarnings("ignore", message=".*overridden `on_after_batch_transfer`")
        warnings.filterwarnings("ignore", message="The dirpath has changed from")
        trainer.fit(task, datamodule=dm, ckpt_path=resume, weights_only=True if resume else None)
    wall = time.perf_counter() - start
    ckpt_dir = Path(trainer.log_dir or root) / "checkpoints"
    if not checkpoint.best_model_path:
        # Stopped (max_time) before the first validation: validate now so best.ckpt exists.
        log.info("no validation ran during fitting; validating the final weights")
        trainer.validate(task, datamodule=dm, verbose=False)
        trainer.save_checkpoint(ckpt_dir / "best.ckpt")
        checkpoint.best_model_path = str(ckpt_dir / "best.ckpt")
        checkpoint.best_model_score = trainer.callback_metrics[MONITOR]
    last = ckpt_dir / "last.ckpt"
    if not latest.best_model_path:
        trainer.save_checkpoint(last)
    if config.tune_postprocessing and trainer.is_global_zero:
        tune_postprocessing(
            checkpoint.best_model_path,
            dm.manifest,
            dm.val_dataset.case_names,
            device="cuda" if accelerator == "gpu" else "cpu",
            tta=config.tta,
        )
    return TrainResult(
        best_checkpoint=Path(checkpoint.best_model_path),
        last_checkpoint=Path(latest.best_model_path or last),
        log_dir=Path(logger.log_dir),
        best_score=float(checkpoint.best_model_score),
        epochs=int(trainer.current_epoch),
        global_step=int(trainer.global_step),
        wall_s=wall,
        global_rank=int(trainer.global_rank),
        fold=None if config.folds is None else int(config.fold),
    )
