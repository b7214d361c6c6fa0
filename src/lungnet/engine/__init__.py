"""Training: the Lightning task and the typed ``train(config)`` API."""

from lungnet.engine.segmentor import LOSSES, MONITOR, TumorSegmentationTask
from lungnet.engine.train import TrainConfig, TrainResult, find_last_checkpoint, train

__all__ = [
    "LOSSES",
    "MONITOR",
    "TrainConfig",
    "TrainResult",
    "TumorSegmentationTask",
    "find_last_checkpoint",
    "train",
]
