"""The LungNet checkpoint contract: what a checkpoint holds, and how it is loaded safely.

Training writes, and inference, resuming, benchmarks and tests read, one format::

    checkpoint["hyper_parameters"] = {
        "lungnet_checkpoint": 1, "model": {UNet kwargs}, "context_slices": k,
        "preprocess": {PreprocessConfig.to_dict()}, "loss": ..., "learning_rate": ...,
        "lr_schedule": ..., "augment": {AugmentConfig} | None, "augment_seed": int,
        "fov_crop": float (absent: 0), "patch_size": int | None, "mirror": float (absent: 0),
        "tumor_fade": float (absent: 0),
        "train": {training settings, for the record},
        "postprocess": {threshold, min_tumor_volume_mm3, lung_constraint,
                        min_peak_probability, min_depth_mm, tta (absent: false),
                        chosen_on, candidates}
                       (best.ckpt, once chosen on validation)}
    checkpoint["state_dict"] = {"model.<name>": tensor, ...}

Hyper-parameters hold plain values only (dict, list, str, int, float, bool, None), so a
checkpoint loads with ``torch.load(weights_only=True)``: a file that needs pickled Python
objects is refused before any of them is built, so nothing inside it can run.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lungnet.errors import CheckpointError
from lungnet.models import UNet
from lungnet.preprocessing import PreprocessConfig

__all__ = [
    "CHECKPOINT_MARKER",
    "CHECKPOINT_VERSION",
    "MODEL_PREFIX",
    "RESUME_KEYS",
    "LoadedCheckpoint",
    "checkpoint_dict",
    "read_checkpoint",
    "load_checkpoint",
    "check_resumable",
]

#: Key in ``hyper_parameters`` that marks a LungNet checkpoint, and its format version.
CHECKPOINT_MARKER = "lungnet_checkpoint"
CHECKPOINT_VERSION = 1
#: Prefix of the network's weights in ``state_dict`` (the task's ``self.model``).
MODEL_PREFIX = "model."
#: Hyper-parameters a resumed run must share with its checkpoint.
RESUME_KEYS = ("model", "context_slices", "preprocess", "loss")


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A network ready for inference plus the preprocessing that made its training slices."""

    model: UNet
    preprocess: PreprocessConfig
    context_slices: int
    hyper_parameters: dict[str, Any]


def checkpoint_dict(
    model: nn.Module, preprocess: PreprocessConfig, context_slices: int = 0, **hyper: Any
) -> dict[str, Any]:
    """A checkpoint of ``model`` in the contract's layout, as ``torch.save`` expects it.

    Training writes its checkpoints through Lightning with the same hyper-parameters
    (:class:`lungnet.engine.segmentor.TumorSegmentationTask`); this builds one without a
    training run, for benchmarks and tests.
    """
    return {
        "state_dict": {f"{MODEL_PREFIX}{k}": v for k, v in model.state_dict().items()},
        "hyper_parameters": {
            CHECKPOINT_MARKER: CHECKPOINT_VERSION,
            "model": dict(model.config),
            "context_slices": int(context_slices),
            "preprocess": preprocess.to_dict(),
            **hyper,
        },
    }


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:160]


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, loaded weights-only, after checking it is LungNet's.

    Raises:
        CheckpointError: missing, corrupt, unsafe (needs pickled code), or not LungNet's.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "does not exist" if not path.exists() else "is not a file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" not in str(e).lower():  # bytes that are not a pickle at all
            raise CheckpointError(
                path, "is corrupt or not a PyTorch checkpoint (it does not unpickle)"
            ) from e
        unsafe = [ln.strip() for ln in str(e).splitlines() if "global" in ln.lower()]
        first = unsafe[0] if unsafe else ""
        raise CheckpointError(
            path,
            "needs pickled Python objects to load, which could run arbitrary code; refused "
            f"(only weights-only checkpoints are accepted: {first[:160]})",
        ) from e
    # A few junk bytes can also reach torch's legacy unpickler and fail inside it on a
    # lookup (``b"junk"`` raises KeyError): bytes that are no checkpoint, not a bug.
    except (
        RuntimeError,
        EOFError,
        OSError,
        zipfile.BadZipFile,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
    ) as e:
        raise CheckpointError(
            path, f"is corrupt or not a PyTorch checkpoint ({_first_line(e)})"
        ) from e
    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hp, dict) or not hp.get(CHECKPOINT_MARKER):
        raise CheckpointError(
            path, "is not a LungNet checkpoint (no LungNet hyper-parameters inside)"
        )
    return ckpt


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Load a LungNet checkpoint for inference: the network in eval mode and its preprocessing.

    Raises:
        CheckpointError: missing, corrupt, unsafe, not LungNet's, or incomplete.
    """
    ckpt = read_checkpoint(path)
    hp = ckpt["hyper_parameters"]
    try:
        model = UNet(**hp["model"])
        preprocess = PreprocessConfig.from_dict(hp["preprocess"])
        context = int(hp.get("context_slices", 0))
        state = {
            k[len(MODEL_PREFIX) :]: v
            for k, v in ckpt["state_dict"].items()
            if k.startswith(MODEL_PREFIX)
        }
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            path, f"is an incomplete or mismatched LungNet checkpoint ({_first_line(e)})"
        ) from e
    if model.in_channels != 1 + 2 * context:
        raise CheckpointError(
            path,
            f"has a model with {model.in_channels} input channels but context_slices={context}",
        )
    model.eval()
    return LoadedCheckpoint(
        model=model, preprocess=preprocess, context_slices=context, hyper_parameters=hp
    )


def check_resumable(path: str | Path, expected: dict[str, Any]) -> None:
    """Refuse to resume from a checkpoint that is unsafe, not LungNet's, or set up otherwise.

    Args:
        path: the checkpoint to resume from.
        expected: the hyper-parameters of the run that resumes; the :data:`RESUME_KEYS`
            must match.

    Raises:
        CheckpointError: with the reason, or the settings that differ.
    """
    hp = read_checkpoint(path)["hyper_parameters"]
    if isinstance(hp.get("model"), dict):
        # Checkpoints from before the norm option had no "norm": it was always "none".
        hp = {**hp, "model": {"norm": "none", **hp["model"]}}
    diff = [
        f"{k}: checkpoint {hp.get(k)!r} vs now {expected[k]!r}"
        for k in RESUME_KEYS
        if hp.get(k) != expected[k]
    ]
    if diff:
        raise CheckpointError(
            path,
            "was trained with a different config, cannot resume (" + "; ".join(diff) + ")",
        )
