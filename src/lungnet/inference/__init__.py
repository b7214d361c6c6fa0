"""Inference: a CT scan in, a tumor mask in the scan's own geometry out.

Names are imported on first use, so that reading :class:`PredictSettings` (the command
line does) does not load torch.
"""

from __future__ import annotations

from lungnet.lazy import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
