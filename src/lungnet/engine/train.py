"""``train(TrainConfig) -> TrainResult``: the one training entry point (CLI, script, demo, benchmarks).

Builds the data module, the U-Net, the task and a Lightning Trainer from a typed config,
trains, and returns where the checkpoints are. Layout of a run (``root`` =
``default_root_dir``)::

    root/unet_logs/version_N/events.out.tfevents.*      TensorBoard scalars + sample figures
    root/unet_logs/version_N/checkpoints/best.ckpt      best mean per-volume 3D val Dice
    root/unet_logs/version_N/checkpoints/last.ckpt      latest state (for --resume last)
"""

from __future__ import annotations

import logging
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from lungnet.checkpoints import check_resumable
from lungnet.data.data_module import LungDataModule
from lungnet.data.transforms import AugmentConfig
from lungnet.devices import native_bf16
from lungnet.engine.segmentor import (
    LOSSES,
    LR_SCHEDULES,
    MONITOR,
    TumorSegmentationTask,
)
from lungnet.errors import LungNetInputError
from lungnet.models.unet import NORMS

__all__ = ["TrainConfig", "TrainResult", "train", "find_last_checkpoint", "LOG_NAME"]

log = logging.getLogger(__name__)

#: Sub-folder of ``default_root_dir`` holding one ``version_N`` folder per run (the seed's name).
LOG_NAME = "unet_logs"


@dataclass
class TrainConfig:
    """Everything a training run needs; defaults follow the seed.

    ``None`` in an "auto" field picks by device: on CUDA bf16 mixed precision,
    channels_last, up to 4 loader workers and non-deterministic kernels; on the CPU
    loading in the main process and deterministic algorithms (the same seed gives the
    same losses on the same machine), with bf16 mixed precision and channels_last where
    the CPU computes bf16 natively (AMX or AVX512-BF16), else 32-bit.
    """

    data_dir: str | Path  # preprocessed folder with manifest.json
    default_root_dir: str | Path = "artifacts"  # runs go to <this>/unet_logs/version_N
    batch_size: int = 16
    max_epochs: int = 50
    max_time_s: float | None = None  # stop after this many seconds of fitting
    limit_train_batches: int | None = None  # training steps per epoch (None: all slices)
    learning_rate: float = 1e-3  # Adam
    lr_schedule: str = "constant"  # "constant" (seed) or "poly" decay to 0 over all training steps
    loss: str = "bce"  # "bce" (seed) or "bce_dice"
    base_channels: int = 64  # U-Net width (seed: 64)
    depth: int = 4  # U-Net poolings (seed: 4)
    norm: str = "none"  # U-Net feature normalization: "none" (seed) or "batch"
    context_slices: int = 0  # k neighbours each side as extra channels (2.5D); seed: 0
    tumor_fraction: float | None = 0.5  # share of tumor slices among training draws
    augment: bool = True  # affine + elastic on training batches
    patch_size: int | None = None  # train on random squares of this side (tumor kept in); None: whole slices
    seed: int = 42
    accelerator: str = "auto"  # "cpu", "gpu"/"cuda", "auto"
    devices: int | str = "auto"
    strategy: str = "auto"  # e.g. "ddp", "ddp_spawn"
    num_nodes: int = 1
    precision: str | None = None  # Lightning precision string; None: auto
    channels_last: bool | None = None  # None: auto
    num_workers: int | None = None  # DataLoader workers; None: auto
    deterministic: bool | None = None  # None: auto
    resume: str | Path | None = None  # a checkpoint path, or "last"
    num_sample_figures: int = 3  # TensorBoard figures of tumor-bearing val slices
    check_val_every_n_epoch: int = 1
    log_every_n_steps: int = 10
    enable_progress_bar: bool = False
    extra_callbacks: list[Callback] = field(default_factory=list)  # e.g. a throughput timer

    def check(self) -> None:
        """Raise ValueError naming the first setting out of its range."""
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        for name in ("batch_size", "max_epochs", "base_channels", "depth", "num_nodes", "check_val_every_n_epoch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.patch_size is not None and self.patch_size < 16:
            raise ValueError(f"patch_size must be >= 16 or None, got {self.patch_size!r}")
        if self.context_slices < 0:
            raise ValueError(f"context_slices must be >= 0, got {self.context_slices!r}")
        if self.limit_train_batches is not None and self.limit_train_batches < 1:
            raise ValueError(f"limit_train_batches must be >= 1, got {self.limit_train_batches!r}")
        if self.max_time_s is not None and not self.max_time_s > 0:
            raise ValueError(f"max_time_s must be > 0, got {self.max_time_s!r}")
        if self.num_workers is not None and self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers!r}")
        if self.tumor_fraction is not None and not 0 < self.tumor_fraction < 1:
            raise ValueError(f"tumor_fraction must be in (0, 1) or None, got {self.tumor_fraction!r}")


@dataclass(frozen=True)
class TrainResult:
    """Where a finished run put its files, and how it went."""

    best_checkpoint: Path  # highest mean per-volume 3D val Dice
    last_checkpoint: Path
    log_dir: Path  # the run's version_N folder (TensorBoard events)
    best_score: float  # mean per-volume 3D val Dice of best_checkpoint
    epochs: int  # epochs completed
    global_step: int  # optimizer steps taken
    wall_s: float  # seconds spent in fitting
    global_rank: int = 0  # this process's rank (under DDP every rank returns a result)


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


def _resolve_device_defaults(config: TrainConfig) -> tuple[str, str, bool, int, bool]:
    accelerator = config.accelerator
    if accelerator == "auto":
        accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    on_cuda = accelerator in ("gpu", "cuda")
    if on_cuda and not torch.cuda.is_available():
        raise LungNetInputError(None, f"accelerator {config.accelerator!r} asked for, but no CUDA device is available")
    # bf16 where the hardware computes it natively: on a CPU with AMX, training the demo's
    # U-Net runs 2.9x faster end to end in bf16 + channels_last than in float32
    # (benchmarks/train_bench.py); elsewhere the CPU stays in float32, which emulated bf16 loses to.
    fast_bf16 = native_bf16(torch.device("cuda" if on_cuda else "cpu"))
    precision = config.precision
    if precision is None:
        precision = "bf16-mixed" if fast_bf16 else ("16-mixed" if on_cuda else "32-true")
    channels_last = (on_cuda or fast_bf16) if config.channels_last is None else config.channels_last
    workers = config.num_workers
    if workers is None:
        # Augmentation runs on the device, so loader workers only read .npy files: few suffice.
        workers = min(4, max(1, (os.cpu_count() or 2) // 2)) if on_cuda else 0
    deterministic = (not on_cuda) if config.deterministic is None else config.deterministic
    return accelerator, precision, channels_last, workers, deterministic


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
    accelerator, precision, channels_last, workers, deterministic = _resolve_device_defaults(config)
    L.seed_everything(config.seed, workers=True, verbose=False)
    if accelerator != "cpu":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
    dm = LungDataModule(
        config.data_dir,
        batch_size=config.batch_size,
        num_workers=workers,
        context_slices=config.context_slices,
        tumor_fraction=config.tumor_fraction,
        seed=config.seed,
        pin_memory=accelerator != "cpu",
    )
    train_record = {
        "batch_size": config.batch_size,
        "max_epochs": config.max_epochs,
        "tumor_fraction": config.tumor_fraction,
        "seed": config.seed,
        "precision": precision,
        "data_dir": str(config.data_dir),
    }
    task = TumorSegmentationTask(
        {"in_channels": 1 + 2 * config.context_slices, "out_channels": 1,
         "base_channels": config.base_channels, "depth": config.depth, "norm": config.norm},
        context_slices=config.context_slices,
        preprocess=dm.preprocess_config,
        loss=config.loss,
        learning_rate=config.learning_rate,
        lr_schedule=config.lr_schedule,
        augment=AugmentConfig().to_dict() if config.augment else None,
        augment_seed=config.seed,
        patch_size=config.patch_size,
        channels_last=channels_last,
        num_sample_figures=config.num_sample_figures,
        train=train_record,
    )
    resume = None
    if config.resume is not None:
        resume = find_last_checkpoint(config.default_root_dir) if str(config.resume) == "last" else Path(config.resume)
        check_resumable(resume, dict(task.hparams))
    checkpoint = ModelCheckpoint(filename="best", monitor=MONITOR, mode="max", save_top_k=1, enable_version_counter=False)
    # A second callback for last.ckpt: Lightning >= 2.5 writes save_last only when a top-k
    # checkpoint was written at the same step, so it would go stale once the score stops improving.
    latest = ModelCheckpoint(filename="last", monitor=None, save_top_k=1, enable_version_counter=False)
    logger = TensorBoardLogger(save_dir=str(config.default_root_dir), name=LOG_NAME)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        precision=precision,
        max_epochs=config.max_epochs,
        max_time=None if config.max_time_s is None else timedelta(seconds=config.max_time_s),
        limit_train_batches=config.limit_train_batches,
        check_val_every_n_epoch=config.check_val_every_n_epoch,
        log_every_n_steps=config.log_every_n_steps,
        deterministic=deterministic,
        logger=logger,
        callbacks=[checkpoint, latest, *config.extra_callbacks],
        default_root_dir=str(config.default_root_dir),
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
    ckpt_dir = Path(trainer.log_dir or config.default_root_dir) / "checkpoints"
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
    return TrainResult(
        best_checkpoint=Path(checkpoint.best_model_path),
        last_checkpoint=Path(latest.best_model_path or last),
        log_dir=Path(logger.log_dir),
        best_score=float(checkpoint.best_model_score),
        epochs=int(trainer.current_epoch),
        global_step=int(trainer.global_step),
        wall_s=wall,
        global_rank=int(trainer.global_rank),
    )
