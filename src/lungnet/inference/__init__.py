"""Inference: a CT scan in, a tumor mask in the scan's own geometry out.

Names are imported on first use, so that reading :class:`PredictSettings` (the command
line does) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LoadedCheckpoint": "lungnet.checkpoints",
    "load_checkpoint": "lungnet.checkpoints",
    "expand_inputs": "lungnet.inference.inputs",
    "find_scans": "lungnet.inference.inputs",
    "PredictOutcome": "lungnet.inference.predictor",
    "Prediction": "lungnet.inference.predictor",
    "Predictor": "lungnet.inference.predictor",
    "output_name": "lungnet.inference.predictor",
    "resolve_device": "lungnet.devices",
    "PredictSettings": "lungnet.inference.settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lungnet.inference' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
