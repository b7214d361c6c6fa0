"""Inference: a CT scan in, a tumor mask in the scan's own geometry out."""

from lungnet.checkpoints import LoadedCheckpoint, load_checkpoint
from lungnet.inference.inputs import expand_inputs
from lungnet.inference.predictor import (
    Prediction,
    Predictor,
    PredictOutcome,
    output_name,
    resolve_device,
)

__all__ = [
    "LoadedCheckpoint",
    "PredictOutcome",
    "Prediction",
    "Predictor",
    "expand_inputs",
    "load_checkpoint",
    "output_name",
    "resolve_device",
]
