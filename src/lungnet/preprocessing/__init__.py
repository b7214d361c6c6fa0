"""Turning CT volumes into network-ready 2D slices (shared by training and inference)."""

from lungnet.preprocessing.cases import Case, find_cases
from lungnet.preprocessing.intensity import (
    PreprocessConfig,
    context_indices,
    kept_slices,
    normalize,
    preprocess_image,
    preprocess_mask,
    restore_probabilities,
)
from lungnet.preprocessing.nifti_processor import (
    MANIFEST_NAME,
    CaseOutcome,
    NiftiPreprocessor,
    PreprocessResult,
    load_manifest,
)

__all__ = [
    "MANIFEST_NAME",
    "Case",
    "CaseOutcome",
    "NiftiPreprocessor",
    "PreprocessResult",
    "find_cases",
    "load_manifest",
    "PreprocessConfig",
    "context_indices",
    "kept_slices",
    "normalize",
    "preprocess_image",
    "preprocess_mask",
    "restore_probabilities",
]
