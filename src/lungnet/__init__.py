"""LungNet: lung tumor segmentation in 3D chest CT with a slice-wise 2D U-Net.

The public API is re-exported here; heavy modules (torch, Lightning) load on first use.
"""

from __future__ import annotations

from typing import Any

from lungnet.errors import CheckpointError, LungNetError, LungNetInputError
from lungnet.lazy import lazy_exports

# name -> module that defines it; imported lazily so `lungnet --help` stays fast.
_LAZY = {
    "CTVolume": "lungnet.io",
    "read_ct": "lungnet.io",
    "write_mask": "lungnet.io",
    "NiftiPreprocessor": "lungnet.preprocessing",
    "PreprocessConfig": "lungnet.preprocessing",
    "LungDataset": "lungnet.data",
    "LungDataModule": "lungnet.data",
    "UNet": "lungnet.models",
    "TumorSegmentationTask": "lungnet.engine",
    "TrainConfig": "lungnet.engine",
    "TrainResult": "lungnet.engine",
    "train": "lungnet.engine",
    "Predictor": "lungnet.inference",
}

__all__ = ["CheckpointError", "LungNetError", "LungNetInputError", "__version__", *_LAZY]

_lazy_attribute = lazy_exports(__name__, _LAZY)


def __getattr__(name: str) -> Any:
    # The version is looked up on first use: importlib.metadata costs every command's
    # start-up more than the rest of this package's import.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("lungnet")
        except PackageNotFoundError:  # running from a source tree without installation
            return "0.0.0"
    return _lazy_attribute(name)
