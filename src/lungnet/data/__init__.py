"""Training data: slice datasets, the data module, and batch augmentation."""

from lungnet.data.data_module import (
    EpochSeededWeightedSampler,
    LungDataModule,
    lesion_balanced_weights,
    tumor_balanced_weights,
)
from lungnet.data.lung_dataset import LungDataset, SliceRef, read_slice_manifest
from lungnet.data.patches import RandomPatches
from lungnet.data.transforms import AugmentConfig, BatchAugment

__all__ = [
    "AugmentConfig",
    "EpochSeededWeightedSampler",
    "BatchAugment",
    "LungDataModule",
    "LungDataset",
    "RandomPatches",
    "SliceRef",
    "lesion_balanced_weights",
    "read_slice_manifest",
    "tumor_balanced_weights",
]
