"""The named values of settings, shared by the configs that accept them and the code that
implements them (kept free of heavy imports, so the command line stays fast)."""

from __future__ import annotations

__all__ = [
    "LOSSES",
    "LR_SCHEDULES",
    "NORMS",
    "TUMOR_SAMPLING",
    "DEVICE_CHOICES",
    "PRECISION_CHOICES",
]

#: ``"bce"``: BCEWithLogitsLoss (the original); ``"bce_dice"``: BCE + soft Dice over the batch;
#: ``"bce_slice_dice"``: BCE + the mean soft Dice of the slices that hold tumor, so a small
#: tumor's slice weighs as much as a large one's.
LOSSES = ("bce", "bce_dice", "bce_slice_dice")
#: ``"constant"``: the learning rate stays put (the original); ``"poly"``: it decays per step
#: as ``(1 - step / total_steps) ** 0.9`` (nnU-Net's rule), which settles short trainings.
LR_SCHEDULES = ("constant", "poly")
#: Feature normalization after each U-Net convolution: none (the original) or BatchNorm.
NORMS = ("none", "batch")
#: How training draws among the tumor slices are shared out: ``"slice"``, every tumor slice
#: alike (the original; a 60 mm mass on 20 slices is drawn ten times as often as a 6 mm
#: nodule on 2); ``"lesion"``, every tumor alike, then one of its slices.
TUMOR_SAMPLING = ("slice", "lesion")
#: Values of every ``--device`` option.
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
#: Values of every ``--precision`` option.
PRECISION_CHOICES = ("auto", "bf16", "fp16", "fp32")
