"""The best checkpoint of a run, kept across a resume.

A resumed run writes into a new ``version_N`` folder. Lightning's ModelCheckpoint then
drops the best score it restores ("the dirpath has changed"), so the new ``best.ckpt``
would only cover the epochs after the resume. This subclass carries the score over and
copies the earlier ``best.ckpt`` into the new folder, so the new run's ``best.ckpt`` is
the best of the whole training.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["BestCheckpoint"]

log = logging.getLogger(__name__)


class BestCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` (save_top_k=1) whose best model survives a resume into a new folder."""

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        previous = Path(state_dict.get("best_model_path") or "")
        score = state_dict.get("best_model_score")
        moved = self.dirpath is not None and state_dict.get("dirpath") != self.dirpath
        if not moved or score is None or not previous.is_file():
            super().load_state_dict(state_dict)
            return
        carried = Path(self.dirpath) / previous.name
        carried.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(previous, carried)
        score = torch.as_tensor(score)
        self.best_model_score = score
        self.best_model_path = str(carried)
        self.best_k_models = {str(carried): score}
        self.kth_best_model_path = str(carried)
        self.kth_value = score
        log.info("resumed with best %s %.4f from %s", self.monitor, float(score), previous)
