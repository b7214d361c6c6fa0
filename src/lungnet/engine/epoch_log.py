"""One log line per training epoch, for runs without a terminal (SLURM, nohup, CI).

Lightning's progress bar only draws on a terminal, so a job whose output goes to a file
would print nothing until the end. This callback logs the epoch, the losses, the
validation scores, the time so far and an estimate of the time left.
"""

from __future__ import annotations

import logging
import time

import lightning as L
from lightning.pytorch.callbacks import Callback

__all__ = ["EpochLog"]

log = logging.getLogger(__name__)

# (metric logged by the task, how the line names it)
_COLUMNS = (
    ("train/loss_epoch", "train loss"),
    ("val/loss", "val loss"),
    ("val/dice_2d_slice_mean", "val 2D Dice (slice mean)"),
    ("val/dice_3d_tumor_cases", "val 3D Dice (tumor cases)"),
    ("val/false_alarm_tumor_free", "val false alarm (tumor-free)"),
    ("val/score", "val score"),
)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class EpochLog(Callback):
    """Log ``epoch k/N  train loss ...  val 3D Dice ...  12:03 elapsed, ETA 48:10`` per epoch."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._first_epoch = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self._first_epoch = trainer.current_epoch  # > 0 when resumed

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or self._start is None:
            return
        epoch = trainer.current_epoch + 1
        elapsed = time.perf_counter() - self._start
        parts = [f"epoch {epoch}/{trainer.max_epochs}"]
        metrics = trainer.callback_metrics
        for key, name in _COLUMNS:
            if key in metrics:
                parts.append(f"{name} {float(metrics[key]):.4f}")
        done = epoch - self._first_epoch
        left = max(trainer.max_epochs - epoch, 0)
        parts.append(f"{_duration(elapsed)} elapsed, ETA {_duration(elapsed / done * left)}")
        log.info("  ".join(parts))
