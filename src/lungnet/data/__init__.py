"""Training data: slice datasets, the data module, and batch augmentation."""

from lungnet.data.data_module import (
    EpochSeededWeightedSampler,
    LungDataModule,
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
    "read_slice_manifest",
    "tumor_balanced_weights",
]
