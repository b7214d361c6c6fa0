"""Training: the Lightning task and the typed ``train(config)`` API.

Names are imported on first use, so that reading :class:`TrainConfig` (the command line
does) does not load torch and Lightning.
"""

from __future__ import annotations

from lungnet.lazy import lazy_exports

_EXPORTS = {
    "LOSSES": "lungnet.choices",
    "MONITOR": "lungnet.engine.segmentor",
    "TumorSegmentationTask": "lungnet.engine.segmentor",
    "TrainConfig": "lungnet.engine.config",
    "TrainResult": "lungnet.engine.training",
    "find_last_checkpoint": "lungnet.engine.training",
    "train": "lungnet.engine.training",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
