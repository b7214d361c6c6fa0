"""Turning CT volumes into network-ready 2D slices (shared by training and inference)."""

from lungnet.preprocessing.intensity import (
    PreprocessConfig,
    context_indices,
    kept_slices,
    normalize,
    preprocess_image,
    preprocess_mask,
    restore_probabilities,
)

__all__ = [
    "PreprocessConfig",
    "context_indices",
    "kept_slices",
    "normalize",
    "preprocess_image",
    "preprocess_mask",
    "restore_probabilities",
]
