"""Loading a trained LungNet checkpoint safely: weights and configs only, never pickled code."""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lungnet.errors import CheckpointError
from lungnet.models import UNet
from lungnet.preprocessing import PreprocessConfig

__all__ = ["LoadedCheckpoint", "load_checkpoint", "CHECKPOINT_MARKER"]

#: Key in ``hyper_parameters`` that marks a checkpoint written by LungNet's training task.
CHECKPOINT_MARKER = "lungnet_checkpoint"
_MODEL_PREFIX = "model."


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A network ready for inference plus the preprocessing that made its training slices."""

    model: UNet
    preprocess: PreprocessConfig
    context_slices: int
    hyper_parameters: dict[str, Any]


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Load a LungNet checkpoint with ``torch.load(weights_only=True)``.

    A checkpoint that needs arbitrary pickled objects is refused before any of them is
    built: ``weights_only`` unpickling allows tensors and plain containers only, so
    nothing inside the file can run.

    Raises:
        CheckpointError: missing, corrupt, unsafe, or not written by LungNet.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "does not exist" if not path.exists() else "is not a file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" not in str(e).lower():  # bytes that are not a pickle at all
            raise CheckpointError(path, "is corrupt or not a PyTorch checkpoint (it does not unpickle)") from e
        unsafe = [ln.strip() for ln in str(e).splitlines() if "global" in ln.lower()]
        first = unsafe[0] if unsafe else ""
        raise CheckpointError(
            path,
            "needs pickled Python objects to load, which could run arbitrary code; refused "
            f"(only weights-only checkpoints are accepted: {first[:160]})",
        ) from e
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(path, f"is corrupt or not a PyTorch checkpoint ({str(e).splitlines()[0][:160]})") from e

    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hp, dict) or not hp.get(CHECKPOINT_MARKER):
        raise CheckpointError(path, "is not a LungNet checkpoint (no LungNet hyper-parameters inside)")
    try:
        model = UNet(**hp["model"])
        preprocess = PreprocessConfig.from_dict(hp["preprocess"])
        context = int(hp.get("context_slices", 0))
        state = {k[len(_MODEL_PREFIX):]: v for k, v in ckpt["state_dict"].items() if k.startswith(_MODEL_PREFIX)}
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(path, f"is an incomplete or mismatched LungNet checkpoint ({str(e).splitlines()[0][:160]})") from e
    if model.in_channels != 1 + 2 * context:
        raise CheckpointError(
            path, f"has a model with {model.in_channels} input channels but context_slices={context}"
        )
    model.eval()
    return LoadedCheckpoint(model=model, preprocess=preprocess, context_slices=context, hyper_parameters=hp)
