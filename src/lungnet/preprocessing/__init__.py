"""Turning CT volumes into network-ready 2D slices (shared by training and inference)."""

from lungnet.preprocessing.cases import Case, find_cases
from lungnet.preprocessing.config import PreprocessConfig
from lungnet.preprocessing.manifest import (
    MANIFEST_NAME,
    case_entry,
    read_manifest,
    write_manifest,
)
from lungnet.preprocessing.nifti_processor import CaseOutcome, NiftiPreprocessor, PreprocessResult
from lungnet.preprocessing.slices import (
    LEFT_RIGHT_DIM,
    context_indices,
    kept_slices,
    normalize,
    preprocess_image,
    preprocess_mask,
    restore_probabilities,
)

__all__ = [
    "MANIFEST_NAME",
    "Case",
    "CaseOutcome",
    "NiftiPreprocessor",
    "PreprocessResult",
    "case_entry",
    "find_cases",
    "read_manifest",
    "write_manifest",
    "PreprocessConfig",
    "LEFT_RIGHT_DIM",
    "context_indices",
    "kept_slices",
    "normalize",
    "preprocess_image",
    "preprocess_mask",
    "restore_probabilities",
]
