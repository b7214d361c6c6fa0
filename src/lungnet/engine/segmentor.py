"""TumorSegmentationTask: the LightningModule that trains a segmentation network on slices.

Its hyper-parameters are the checkpoint contract of :mod:`lungnet.checkpoints`.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from lungnet.checkpoints import CHECKPOINT_MARKER, CHECKPOINT_VERSION
from lungnet.choices import LOSSES, LR_SCHEDULES
from lungnet.data.field_of_view import FieldOfViewCrop
from lungnet.data.mirror import RandomMirror
from lungnet.data.patches import RandomPatches
from lungnet.data.transforms import AugmentConfig, BatchAugment
from lungnet.data.tumor_fade import LUNG_HU, TumorFade
from lungnet.evaluation.metrics import EMPTY_DICE
from lungnet.masks import THRESHOLD
from lungnet.models.unet import UNet
from lungnet.preprocessing.config import PreprocessConfig
from lungnet.preprocessing.slices import network_intensity, pad_intensity

__all__ = [
    "TumorSegmentationTask",
    "LOSSES",
    "LR_SCHEDULES",
    "MONITOR",
    "soft_dice_loss",
    "tumor_slice_dice_loss",
    "per_case_counts",
    "per_volume_dice",
    "selection_score",
]

log = logging.getLogger(__name__)

#: The score that picks ``best.ckpt``: see :func:`selection_score`.
MONITOR = "val/score"


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft Dice of sigmoid(logits) and target, pooled over the whole batch.

    Pooling over the batch (not per slice) keeps tumor-free slices from dominating with
    a Dice of 0/0. Five lines, so written here rather than importing MONAI's DiceLoss
    into the training path (a GPU machine then needs only torch and Lightning).

    Args:
        logits: ``(B, 1, H, W)`` float logits.
        target: ``(B, 1, H, W)`` float in {0, 1}.
        smooth: added to numerator and denominator.
    """
    p = torch.sigmoid(logits.float())
    t = target.float()
    inter = (p * t).sum()
    return 1.0 - (2.0 * inter + smooth) / (p.sum() + t.sum() + smooth)


def tumor_slice_dice_loss(
    logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0
) -> torch.Tensor:
    """1 - the mean soft Dice of the slices of the batch that hold tumor, each on its own.

    Pooled over the batch (:func:`soft_dice_loss`), a 60 mm mass outweighs a 10 mm nodule
    by its area, about 36 to 1, so a network that misses every small or faint tumor loses
    little; here each tumor slice counts alike. Tumor-free slices are left to the BCE term:
    their Dice is 0/0, and counting it would reward predicting nothing. 0 for a batch
    without tumor.

    Args:
        logits: ``(B, 1, H, W)`` float logits.
        target: ``(B, 1, H, W)`` float in [0, 1] (a coarser deep-supervision target holds
            tumor shares).
        smooth: added to each slice's numerator and denominator.
    """
    p = torch.sigmoid(logits.float()).flatten(1)
    t = target.float().flatten(1)
    true = t.sum(1)
    holds_tumor = true > 0
    if not bool(holds_tumor.any()):
        return logits.float().sum() * 0.0  # keeps the graph: every rank calls backward
    inter = (p * t).sum(1)
    dice = (2.0 * inter + smooth) / (p.sum(1) + true + smooth)
    return 1.0 - dice[holds_tumor].mean()


def _dice_counts(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(B, 3)`` int64: intersection, predicted and true voxel counts per slice."""
    pred = logits.detach() > 0
    true = target > THRESHOLD
    return torch.stack(
        [(pred & true).sum((1, 2, 3)), pred.sum((1, 2, 3)), true.sum((1, 2, 3))], dim=1
    ).long()


def _dice_from_counts(counts: torch.Tensor) -> torch.Tensor:
    """Dice per row of ``(N, 3)`` counts; :data:`EMPTY_DICE` where both masks are empty."""
    inter, psum, tsum = counts.double().unbind(1)
    total = psum + tsum
    return torch.where(
        total > 0, 2.0 * inter / total.clamp_min(1), torch.full_like(total, EMPTY_DICE)
    )


def per_case_counts(counts: torch.Tensor, case_of: torch.Tensor, num_cases: int) -> torch.Tensor:
    """Sum per-slice ``(N, 3)`` counts into ``(num_cases, 3)`` counts per case."""
    per_case = torch.zeros(num_cases, 3, dtype=torch.long, device=counts.device)
    per_case.index_add_(0, case_of.to(counts.device), counts)
    return per_case


def per_volume_dice(counts: torch.Tensor, case_of: torch.Tensor, num_cases: int) -> torch.Tensor:
    """3D Dice of each case from per-slice counts.

    Args:
        counts: ``(N, 3)`` int64 per slice: intersection, predicted, true voxel counts.
        case_of: ``(N,)`` int64, the case number of each slice.
        num_cases: number of cases.

    Returns:
        ``(num_cases,)`` float64 Dice of each whole case (:data:`EMPTY_DICE` when both
        the case's prediction and ground truth are empty).
    """
    return _dice_from_counts(per_case_counts(counts, case_of, num_cases))


def selection_score(per_case: torch.Tensor) -> dict[str, torch.Tensor]:
    """The validation score that picks the best checkpoint, from per-case voxel counts.

    The mean 3D Dice over all val cases rewards predicting nothing: a tumor-free case
    scores 1.0 when its prediction is empty, so an untrained network that outputs zeros
    beat every trained epoch when a third of the val cases were tumor-free. Here the two
    kinds of case are scored apart and combined so that an empty model scores 0:

    - ``dice``: mean 3D Dice over the tumor-bearing cases;
    - ``false_alarm``: mean over the tumor-free cases of the predicted volume divided by
      the median tumor volume of the tumor-bearing cases, capped at 1 (a false tumor as
      big as a typical true one counts as a full false alarm);
    - ``score = dice * (1 - false_alarm)``.

    Without tumor-free cases the score is the Dice; without tumor-bearing cases there is
    nothing to find, and the score is ``-false_alarm`` (volume in voxels, capped at 1).

    Args:
        per_case: ``(num_cases, 3)`` counts per case: intersection, predicted and true voxels.

    Returns:
        ``score``, ``dice`` and ``false_alarm`` as float64 scalars (NaN where undefined).
    """
    counts = per_case.double()
    inter, predicted, true = counts.unbind(1)
    tumor = true > 0
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=counts.device)
    if tumor.any():
        dice = (2.0 * inter[tumor] / (predicted[tumor] + true[tumor])).mean()
        reference = true[tumor].median()
    else:
        dice, reference = nan, torch.ones((), dtype=torch.float64, device=counts.device)
    free = ~tumor
    false_alarm = (predicted[free] / reference).clamp(max=1.0).mean() if free.any() else nan
    if not tumor.any():
        score = -false_alarm
    elif not free.any():
        score = dice
    else:
        score = dice * (1.0 - false_alarm)
    return {"score": score, "dice": dice, "false_alarm": false_alarm}


class TumorSegmentationTask(L.LightningModule):
    """Trains a binary segmentation network (the U-Net) on slice batches.

    Args:
        model: the network, or a dict of :class:`UNet` kwargs to build one (this is how a
            checkpoint rebuilds it). Given a UNet, its ``config`` is stored.
        context_slices: ``k`` neighbours on each side in the input (``in_channels = 1 + 2k``).
        preprocess: the preprocessing config the slices were made with (manifest "config").
        loss: one of :data:`LOSSES`.
        learning_rate: Adam learning rate.
        augment: :class:`AugmentConfig` as a dict, applied to training batches on the
            device; None turns augmentation off.
        augment_seed: seed of the augmentation's (and patches') random generator (offset by
            the rank).
        fov_crop: chance that a training sample is cut like a cropped scan
            (:class:`FieldOfViewCrop`, on the device, after the patches); 0: never. Needs
            ``preprocess`` for the intensity of air.
        patch_size: train on random ``patch_size`` squares of the slices, each holding
            tumor when its slice has any (:class:`RandomPatches`); None: whole slices.
        mirror: chance that a training sample is flipped left-right (:class:`RandomMirror`,
            on the device, after the patches); 0: never.
        tumor_fade: chance that a training sample's tumor is faded toward the lung's
            density (:class:`TumorFade`, on the device, after the mirror); 0: never. Needs
            ``preprocess`` for the intensity of lung.
        channels_last: run the network in channels_last memory format (fast on CUDA
            tensor cores; not stored in checkpoints).
        num_sample_figures: tumor-bearing val slices whose CT / ground truth / prediction
            figure goes to TensorBoard every validation epoch.
        train: training settings recorded in the checkpoint (plain values).
        postprocess: the post-processing chosen on validation after training
            (:mod:`lungnet.engine.postprocess_tuning` writes it into ``best.ckpt``); accepted
            here so that such a checkpoint rebuilds the task.
        lungnet_checkpoint: the checkpoint format marker (always 1).
    """

    def __init__(
        self,
        model: nn.Module | dict[str, Any] | None = None,
        *,
        context_slices: int = 0,
        preprocess: dict[str, Any] | None = None,
        loss: str = "bce",
        learning_rate: float = 1e-3,
        lr_schedule: str = "constant",
        augment: dict[str, Any] | None = None,
        augment_seed: int = 0,
        fov_crop: float = 0.0,
        patch_size: int | None = None,
        mirror: float = 0.0,
        tumor_fade: float = 0.0,
        channels_last: bool = False,
        num_sample_figures: int = 3,
        train: dict[str, Any] | None = None,
        postprocess: dict[str, Any] | None = None,
        lungnet_checkpoint: int = CHECKPOINT_VERSION,
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
        if model is None:
            model = {"in_channels": 1 + 2 * context_slices}
        net = UNet(**model) if isinstance(model, dict) else model
        model_config = dict(getattr(net, "config", model if isinstance(model, dict) else {}))
        expected_in = 1 + 2 * context_slices
        if model_config.get("in_channels", expected_in) != expected_in:
            raise ValueError(
                f"model in_channels {model_config['in_channels']} != "
                f"1 + 2 * context_slices ({expected_in})"
            )
        self.model = net
        self.loss_name = loss
        self.learning_rate = float(learning_rate)
        self.lr_schedule = lr_schedule
        self.channels_last = channels_last
        self.num_sample_figures = num_sample_figures
        self.augmenter = (
            None if augment is None else BatchAugment(AugmentConfig(**augment), seed=augment_seed)
        )
        self._augment_seed = augment_seed
        self.patches = None if patch_size is None else RandomPatches(patch_size, seed=augment_seed)
        self.mirror = RandomMirror(mirror, seed=augment_seed) if mirror > 0 else None
        self.tumor_fade = None
        if tumor_fade > 0:
            if preprocess is None:
                raise ValueError("tumor_fade needs preprocess, for the intensity of lung")
            lung = network_intensity(LUNG_HU, PreprocessConfig.from_dict(preprocess))
            self.tumor_fade = TumorFade(tumor_fade, lung, seed=augment_seed)
        self.fov_crop = None
        if fov_crop > 0:
            if preprocess is None:
                raise ValueError("fov_crop needs preprocess, for the intensity of air")
            air = pad_intensity(PreprocessConfig.from_dict(preprocess))
            self.fov_crop = FieldOfViewCrop(
                fov_crop, air, context_slices=context_slices, seed=augment_seed
            )
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # Built by hand (not save_hyperparameters()) so the checkpoint holds plain values
        # only and loads with torch.load(weights_only=True).
        self.save_hyperparameters(
            {
                CHECKPOINT_MARKER: CHECKPOINT_VERSION,
                "model": model_config,
                "context_slices": int(context_slices),
                "preprocess": None if preprocess is None else dict(preprocess),
                "loss": loss,
                "learning_rate": self.learning_rate,
                "lr_schedule": lr_schedule,
                "augment": None if augment is None else AugmentConfig(**augment).to_dict(),
                "augment_seed": int(augment_seed),
                "fov_crop": float(fov_crop),
                "patch_size": None if patch_size is None else int(patch_size),
                "mirror": float(mirror),
                "tumor_fade": float(tumor_fade),
                "train": dict(train or {}),
                **({} if postprocess is None else {"postprocess": dict(postprocess)}),
            }
        )
        self._val_counts: torch.Tensor | None = None
        self._sample_indices: list[int] | None = None

    # -- training ------------------------------------------------------------------

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, 1 + 2k, H, W)`` float -> ``(B, 1, H, W)`` logits."""
        return self.model(image)

    def compute_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(logits.float(), target.float())
        if self.loss_name == "bce_dice":
            loss = loss + soft_dice_loss(logits, target)
        elif self.loss_name == "bce_slice_dice":
            loss = loss + tumor_slice_dice_loss(logits, target)
        return loss

    def deep_supervision_loss(
        self, levels: list[torch.Tensor], target: torch.Tensor
    ) -> torch.Tensor:
        """The loss of every output of :meth:`UNet.forward_levels`, weighted 1, 1/2, 1/4, ...
        (normalized to sum to 1) as nnU-Net weights its deep supervision.

        A coarser output is compared with the mask average-pooled to its size: the share of
        tumor in each of its pixels, so a tumor smaller than one coarse pixel still counts.
        """
        weights = [0.5**i for i in range(len(levels))]
        total = 0.0
        for i, (logits, weight) in enumerate(zip(levels, weights, strict=True)):
            scaled = (
                target.float() if i == 0 else F.avg_pool2d(target.float(), 2**i, ceil_mode=True)
            )
            total = total + weight * self.compute_loss(logits, scaled)
        return total / sum(weights)

    def on_fit_start(self) -> None:
        if self.patches is not None:
            self.patches.generator.manual_seed(self._augment_seed + self.global_rank)
        if self.augmenter is not None:
            # Each DDP rank augments its own share of the batch: give it its own stream.
            self.augmenter.generator.manual_seed(self._augment_seed + self.global_rank)
        if self.fov_crop is not None:
            self.fov_crop.generator.manual_seed(self._augment_seed + self.global_rank)
        if self.mirror is not None:
            self.mirror.generator.manual_seed(self._augment_seed + self.global_rank)
        if self.tumor_fade is not None:
            self.tumor_fade.generator.manual_seed(self._augment_seed + self.global_rank)

    def on_after_batch_transfer(self, batch: dict[str, Any], dataloader_idx: int) -> dict[str, Any]:
        """Augments training batches where they now lie (the GPU on CUDA); never validation."""
        training = self._trainer is not None and self.trainer.training
        if self.patches is not None and training:
            batch["image"], batch["mask"] = self.patches(batch["image"], batch["mask"])
        if self.mirror is not None and training:
            batch["image"], batch["mask"] = self.mirror(batch["image"], batch["mask"])
        if self.tumor_fade is not None and training:
            batch["image"], batch["mask"] = self.tumor_fade(batch["image"], batch["mask"])
        if self.fov_crop is not None and training:
            batch["image"], batch["mask"] = self.fov_crop(batch["image"], batch["mask"])
        if self.augmenter is not None and training:
            batch["image"], batch["mask"] = self.augmenter(batch["image"], batch["mask"])
        if self.channels_last:
            batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)
        return batch

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        if getattr(self.model, "deep_supervision", 0):
            levels = self.model.forward_levels(batch["image"])
            loss = self.deep_supervision_loss(levels, batch["mask"])
            logits = levels[0]
        else:
            logits = self(batch["image"])
            loss = self.compute_loss(logits, batch["mask"])
        b = logits.shape[0]
        # No sync_dist on training logs: an all-reduce every step would slow DDP for a
        # number that is only watched; rank 0 logs its own share.
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=b)
        dice = _dice_from_counts(_dice_counts(logits, batch["mask"])).mean()
        self.log("train/dice", dice.float(), on_step=False, on_epoch=True, batch_size=b)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, Any]:
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.learning_rate)
        if self.lr_schedule == "constant":
            return optimizer
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: (1 - min(step, total) / total) ** 0.9
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    # -- validation ----------------------------------------------------------------

    def _val_dataset(self):
        loaders = self.trainer.val_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        return loader.dataset

    def on_validation_epoch_start(self) -> None:
        n = len(self._val_dataset())
        self._val_counts = torch.zeros(n, 3, dtype=torch.long, device=self.device)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch["image"])
        loss = self.compute_loss(logits, batch["mask"])
        counts = _dice_counts(logits, batch["mask"])
        # Indexed writes (not sums): a slice repeated by DDP's padding counts once.
        self._val_counts[batch["index"].to(self.device)] = counts
        b = logits.shape[0]
        self.log("val/loss", loss, on_epoch=True, prog_bar=True, batch_size=b, sync_dist=True)
        # Per-slice Dice, averaged over slices: most slices are tumor-free and score 1.0
        # when empty, so it reads high early on. Logged to watch, never to select.
        self.log(
            "val/dice_2d_slice_mean",
            _dice_from_counts(counts).mean().float(),
            on_epoch=True,
            batch_size=b,
            sync_dist=True,
        )

    def on_validation_epoch_end(self) -> None:
        counts = self._val_counts
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # Each slice was counted on at least one rank and all ranks agree on it: max merges.
            torch.distributed.all_reduce(counts, op=torch.distributed.ReduceOp.MAX)
        dataset = self._val_dataset()
        case_of = torch.as_tensor([s.case_index for s in dataset.slices])
        scores = selection_score(per_case_counts(counts, case_of, len(dataset.case_names)))
        self.log(MONITOR, scores["score"].float(), prog_bar=True, sync_dist=True)
        self.log("val/dice_3d_tumor_cases", scores["dice"].float(), sync_dist=True)
        self.log("val/false_alarm_tumor_free", scores["false_alarm"].float(), sync_dist=True)
        if not self.trainer.sanity_checking and self.trainer.is_global_zero:
            self._log_sample_figures(dataset)

    def sample_indices(self, dataset) -> list[int]:
        """Fixed val items for the figures: the middle tumor slice of the first cases with tumor."""
        if self._sample_indices is None:
            chosen: list[int] = []
            for ci in range(len(dataset.case_names)):
                tumor = [
                    i for i, s in enumerate(dataset.slices) if s.case_index == ci and s.has_tumor
                ]
                if tumor:
                    chosen.append(tumor[len(tumor) // 2])
                if len(chosen) >= self.num_sample_figures:
                    break
            self._sample_indices = chosen
        return self._sample_indices

    @torch.no_grad()
    def _log_sample_figures(self, dataset) -> None:
        experiment = getattr(self.logger, "experiment", None)
        if self.num_sample_figures <= 0 or not hasattr(experiment, "add_figure"):
            return
        from lungnet.viz.visualization import sample_figure

        k = self.hparams["context_slices"]
        for index in self.sample_indices(dataset):
            item = dataset[index]
            image = item["image"][None].to(self.device)
            with self.trainer.precision_plugin.forward_context():
                prob = torch.sigmoid(self(image).float())[0, 0].cpu().numpy()
            ref = dataset.slices[index]
            fig = sample_figure(
                item["image"][k].numpy(),
                item["mask"][0].numpy(),
                prob,
                title=f"{ref.case} slice {ref.slice_index}",
            )
            experiment.add_figure(
                f"samples/{ref.case}_{ref.slice_index}", fig, global_step=self.global_step
            )
