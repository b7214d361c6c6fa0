"""LungDataModule: train/val slice datasets, the tumor-balancing sampler, loaders."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from lungnet.choices import TUMOR_SAMPLING
from lungnet.data.lung_dataset import LungDataset, read_slice_manifest
from lungnet.errors import LungNetInputError

__all__ = [
    "EpochSeededWeightedSampler",
    "LungDataModule",
    "lesion_balanced_weights",
    "tumor_balanced_weights",
]

log = logging.getLogger(__name__)


def tumor_balanced_weights(
    has_tumor: np.ndarray, tumor_fraction: float | None
) -> np.ndarray | None:
    """Per-slice sampling weights so that a ``tumor_fraction`` of draws are tumor slices.

    Inverse-frequency weighting: every tumor slice gets ``tumor_fraction / n_tumor``, every
    tumor-free slice ``(1 - tumor_fraction) / n_free``. ``0.5`` (the default of
    :class:`LungDataModule`) draws both kinds about equally often, which is the original's
    rule; ``None`` means no weighting (a plain shuffle, tumor slices at their natural rate).

    Args:
        has_tumor: ``(N,)`` bool, one flag per slice.
        tumor_fraction: the expected share of tumor slices among the draws, in (0, 1).

    Returns:
        ``(N,)`` float64 weights summing to 1, or ``None`` when no weighting applies (the
        option is ``None``, or one of the two kinds has no slice at all).
    """
    if tumor_fraction is None:
        return None
    if not 0.0 < tumor_fraction < 1.0:
        raise ValueError(f"tumor_fraction must be in (0, 1) or None, got {tumor_fraction!r}")
    flags = np.asarray(has_tumor, dtype=bool)
    n_tumor = int(flags.sum())
    n_free = flags.size - n_tumor
    if n_tumor == 0 or n_free == 0:
        return None
    return np.where(flags, tumor_fraction / n_tumor, (1.0 - tumor_fraction) / n_free)


def lesion_balanced_weights(
    lesion_spans: list[tuple[int, ...]], tumor_fraction: float | None
) -> np.ndarray | None:
    """Per-slice weights that draw every tumor equally often, whatever its size.

    A ``tumor_fraction`` of the draws pick a tumor uniformly among all tumors of the
    split, then one of its slices uniformly; a slice cutting two tumors can be reached
    through either. The rest are spread evenly over the tumor-free slices, as in
    :func:`tumor_balanced_weights`.

    Args:
        lesion_spans: per slice, the slice count of each tumor it cuts
            (:meth:`LungDataset.lesion_spans`); ``()`` for a tumor-free slice.
        tumor_fraction: the expected share of tumor slices among the draws, in (0, 1).

    Returns:
        ``(N,)`` float64 weights summing to 1, or ``None`` as :func:`tumor_balanced_weights`.
    """
    flags = np.fromiter((bool(s) for s in lesion_spans), dtype=bool, count=len(lesion_spans))
    base = tumor_balanced_weights(flags, tumor_fraction)
    if base is None:
        return None
    per_tumor = np.array([sum(1.0 / n for n in spans) for spans in lesion_spans])
    tumors = per_tumor.sum()  # each tumor's slices add up to exactly 1
    return np.where(flags, tumor_fraction * per_tumor / tumors, base)


class EpochSeededWeightedSampler(WeightedRandomSampler):
    """WeightedRandomSampler whose draws depend only on ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before each epoch, so a run resumed at epoch ``e``
    draws what an uninterrupted run draws at ``e``, and every DDP rank draws the same
    sequence (each then keeps its own share of it).
    """

    def __init__(self, weights: torch.Tensor, num_samples: int, seed: int) -> None:
        super().__init__(
            weights, num_samples, replacement=True, generator=torch.Generator().manual_seed(seed)
        )
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


class LungDataModule(L.LightningDataModule):
    """Train and validation slices of a preprocessed folder.

    Training draws ``len(train)`` slices per epoch with replacement through a
    :class:`~torch.utils.data.WeightedRandomSampler` built from the manifest's tumor
    flags (no mask is opened for it, unless ``tumor_sampling="lesion"``). Validation
    reads every val slice in order, with no ``drop_last``, so per-volume metrics see
    whole cases. Augmentation is not done here: it runs on the batch on the training
    device (``TumorSegmentationTask``).

    Args:
        data_dir: the preprocessed folder (``manifest.json`` + slices).
        batch_size: slices per batch.
        num_workers: DataLoader worker processes (0 loads in the main process).
        context_slices: ``k`` neighbours on each side as extra channels (2.5D).
        tumor_fraction: share of tumor-bearing slices among training draws
            (:func:`tumor_balanced_weights`); ``None`` disables the weighting.
        tumor_sampling: how the tumor draws are shared out (:data:`TUMOR_SAMPLING`);
            ``lesion`` opens the training masks of the tumor slices once, at setup.
        seed: seeds the sampler, so every DDP rank draws the same sequence and splits it.
        pin_memory: pin host memory (useful on CUDA).
        val_cases: validate on these cases and train on all others (a cross-validation
            fold); default: the manifest's own train / val split.

    Raises:
        LungNetInputError: ``data_dir`` has no valid manifest, or no train / val slices.
    """

    def __init__(
        self,
        data_dir: str | Path,
        batch_size: int = 16,
        num_workers: int = 0,
        context_slices: int = 0,
        tumor_fraction: float | None = 0.5,
        tumor_sampling: str = "slice",
        seed: int = 0,
        pin_memory: bool = False,
        val_cases: list[str] | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers!r}")
        self.data_dir = Path(data_dir)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.context_slices = context_slices
        if tumor_sampling not in TUMOR_SAMPLING:
            raise ValueError(
                f"tumor_sampling must be one of {TUMOR_SAMPLING}, got {tumor_sampling!r}"
            )
        self.tumor_fraction = tumor_fraction
        self.tumor_sampling = tumor_sampling
        self.seed = seed
        self.pin_memory = pin_memory
        # Read at construction so a bad folder fails before any Trainer is built.
        self.manifest = read_slice_manifest(self.data_dir)
        self.val_cases = None if val_cases is None else sorted(val_cases)
        self.train_dataset: LungDataset | None = None
        self.val_dataset: LungDataset | None = None

    @property
    def preprocess_config(self) -> dict:
        """The manifest's preprocessing config (plain dict), stored in checkpoints."""
        return dict(self.manifest["config"])

    def setup(self, stage: str | None = None) -> None:
        if self.train_dataset is None:
            train_cases = None
            if self.val_cases is not None:
                train_cases = [c for c in self.manifest["cases"] if c not in set(self.val_cases)]
            self.train_dataset = LungDataset(
                self.data_dir, "train", self.context_slices, self.manifest, cases=train_cases
            )
            self.val_dataset = LungDataset(
                self.data_dir, "val", self.context_slices, self.manifest, cases=self.val_cases
            )
            for ds in (self.train_dataset, self.val_dataset):
                if len(ds) == 0:
                    raise LungNetInputError(self.data_dir, f"manifest lists no {ds.split} slices")
            log.info(
                "%d train slices (%d with tumor), %d val slices in %d cases",
                len(self.train_dataset),
                int(self.train_dataset.tumor_flags.sum()),
                len(self.val_dataset),
                len(self.val_dataset.case_names),
            )

    def train_sampler(self) -> EpochSeededWeightedSampler | None:
        """The weighted sampler of the training loader (``None``: plain shuffle)."""
        if self.train_dataset is None:
            raise RuntimeError("LungDataModule.setup() must run before train_sampler()")
        if self.tumor_sampling == "lesion" and self.tumor_fraction is not None:
            spans = self.train_dataset.lesion_spans()
            weights = lesion_balanced_weights(spans, self.tumor_fraction)
        else:
            weights = tumor_balanced_weights(self.train_dataset.tumor_flags, self.tumor_fraction)
        if weights is None:
            return None
        return EpochSeededWeightedSampler(
            torch.as_tensor(weights, dtype=torch.double), len(self.train_dataset), self.seed
        )

    def _loader(self, dataset: LungDataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        sampler = self.train_sampler()
        if sampler is None:
            generator = torch.Generator().manual_seed(self.seed)
            return self._loader(
                self.train_dataset, shuffle=True, generator=generator, drop_last=False
            )
        return self._loader(self.train_dataset, sampler=sampler, drop_last=False)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_dataset, shuffle=False, drop_last=False)
