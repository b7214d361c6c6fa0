"""TrainConfig: every setting of a training run, declared once for the API and the command line.

This module imports neither torch nor Lightning, so ``lungnet --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lungnet.choices import DEVICE_CHOICES, LOSSES, LR_SCHEDULES, NORMS, TUMOR_SAMPLING
from lungnet.errors import ConfigError
from lungnet.options import check_options, option

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import Callback

__all__ = ["RECIPES", "TrainConfig"]

#: Named sets of training settings. ``seed`` is the original description's (BCE, classic
#: U-Net, one slice, constant learning rate, spatial augmentation); ``lungnet`` is the
#: recipe the accuracy benchmark measured best on validation phantoms (the README's
#: accuracy section cites the results files). A setting given explicitly wins over its
#: recipe's value.
RECIPES: dict[str, dict[str, object]] = {
    "seed": dict(
        loss="bce",
        norm="none",
        lr_schedule="constant",
        learning_rate=1e-3,
        context_slices=0,
        augment=True,
        augment_intensity=False,
        fov_crop=0.0,
        mirror=0.0,
        tumor_fade=0.0,
        tumor_sampling="slice",
        deep_supervision=0,
        tta=False,
        ema_decay=0.0,
    ),
    # Augmentation off: with it (affine + elastic + intensity) the validation score was
    # lower (benchmarks/results/accuracy_cpu_seed1.json vs accuracy_cpu_noaug_seed*.json).
    # Lesion sampling: mean validation score 0.554 against 0.498 with slice sampling over
    # two dataset seeds (accuracy_cpu_noaug{,_lesion}_seed*_one_piece_labels.json).
    # Deep supervision on two levels: validation score 0.568 against 0.527 without, higher
    # for both seeds (accuracy_cpu_noaug_lesion_spacing{,_ds2}_seed*_depth_rule.json).
    # Three in ten training slices cut like a cropped scan: on tumor-free phantoms cropped
    # around the chest 0.75 and 0.125 false positives per scan against 5.25 and 2.75
    # (cropped_fov_ds2_vs_fov30_depth_rule.json, phantoms no model trains or tests on), at a
    # validation score on whole phantoms of 0.543 against 0.568, lower for both seeds by
    # less than their spread (accuracy_cpu_noaug_lesion_spacing_ds2{,_fov30}_seed*_depth_rule.json).
    # Half the training slices mirrored left-right: validation score 0.560 against 0.543
    # without, higher for both seeds
    # (accuracy_cpu_noaug_lesion_spacing_ds2_fov30{,_mirror}_seed*_depth_rule.json), and on
    # 32 fresh validation phantoms mean Dice 0.488 and 0.452 against 0.362 and 0.368
    # (panel_mirror.json, panel_recipes_64_and_192_phantoms.json).
    "lungnet": dict(
        loss="bce_dice",
        norm="batch",
        lr_schedule="poly",
        learning_rate=2e-3,
        context_slices=1,
        augment=False,
        augment_intensity=False,
        fov_crop=0.3,
        mirror=0.5,
        tumor_fade=0.0,
        tumor_sampling="lesion",
        deep_supervision=2,
        tta=False,
        ema_decay=0.0,
    ),
}
_FROM_RECIPE = "(default: from --recipe)"


def _chance(what: str):
    """A per-slice training transform's probability, taken from the recipe unless given."""
    return option(
        None, help=f"chance that {what}; 0: never {_FROM_RECIPE}", metavar="P", minimum=0, maximum=1
    )


def _device_count(text: str) -> int | str:
    return int(text) if text.isdigit() else text


@dataclass
class TrainConfig:
    """Everything a training run needs; defaults follow the original description.

    Each field is declared once with :func:`lungnet.options.option`: ``lungnet train``
    derives its options from these declarations and :meth:`check` validates against them.
    "auto" device settings are resolved by :func:`lungnet.devices.training_device`.
    """

    data_dir: str | Path = option(
        help="preprocessed folder with manifest.json (from `lungnet preprocess`)",
        aliases=("-i", "--input"),
        metavar="DIR",
        required=True,
    )
    default_root_dir: str | Path = option(
        "artifacts",
        help="runs go to DIR/unet_logs/version_N",
        aliases=("-o", "--output-dir"),
        metavar="DIR",
    )
    batch_size: int = option(16, help="slices per training step", metavar="N", minimum=1)
    max_epochs: int = option(50, help="training epochs", metavar="N", minimum=1)
    max_time_s: float | None = option(
        None,
        help="stop fitting after this many seconds (the best checkpoint so far is kept)",
        flag="--max-time",
        metavar="SECONDS",
        above=0,
    )
    limit_train_batches: int | None = option(
        None,
        help="training steps per epoch (default: one pass over the train slices)",
        metavar="N",
        minimum=1,
    )
    recipe: str = option(
        "seed",
        help="named training settings: seed (the original's) or lungnet (the benchmarked "
        "recipe: BCE + Dice, BatchNorm, 2.5D, poly schedule, no augmentation, lesion "
        "sampling, deep supervision, cropped-scan cuts); "
        "options given explicitly override it",
        choices=tuple(RECIPES),
    )
    learning_rate: float | None = option(
        None, help=f"Adam learning rate {_FROM_RECIPE}", aliases=("--lr",), metavar="LR", above=0
    )
    lr_schedule: str | None = option(
        None,
        help=f"constant or poly: decay to 0 over the run, (1 - step/total)^0.9 {_FROM_RECIPE}",
        choices=LR_SCHEDULES,
    )
    loss: str | None = option(
        None,
        help="bce, bce_dice (BCE + soft Dice over the batch) or bce_slice_dice (BCE + the "
        f"mean soft Dice of the tumor slices, each alike) {_FROM_RECIPE}",
        choices=LOSSES,
    )
    base_channels: int = option(64, help="U-Net width at full resolution", metavar="N", minimum=1)
    depth: int = option(4, help="U-Net poolings", metavar="N", minimum=1)
    deep_supervision: int | None = option(
        None,
        help="extra U-Net outputs at 1/2, 1/4, ... resolution trained with the loss, weighted "
        "1/2, 1/4, ... (nnU-Net's deep supervision); at most --depth - 1; 0: off "
        f"{_FROM_RECIPE}",
        metavar="N",
        minimum=0,
    )
    norm: str | None = option(
        None,
        help=f"normalization after each convolution: none (classic U-Net) or batch {_FROM_RECIPE}",
        choices=NORMS,
    )
    context_slices: int | None = option(
        None,
        help=f"K neighbouring slices on each side as extra input channels {_FROM_RECIPE}",
        metavar="K",
        minimum=0,
    )
    tumor_fraction: float | None = option(
        0.5,
        help="share of tumor-bearing slices among training draws, or none for no weighting",
        metavar="F",
        above=0,
        below=1,
    )
    tumor_sampling: str | None = option(
        None,
        help="how tumor draws are shared: slice (every tumor slice alike) or lesion "
        f"(every tumor alike, so small ones are seen as often as large ones) {_FROM_RECIPE}",
        choices=TUMOR_SAMPLING,
    )
    augment: bool | None = option(
        None, help=f"affine + elastic augmentation of training batches {_FROM_RECIPE}"
    )
    augment_intensity: bool | None = option(
        None,
        help="contrast, brightness, blur and noise augmentation of training batches "
        f"{_FROM_RECIPE}",
    )
    fov_crop: float | None = _chance(
        "a training slice is cut like a cropped scan: sides filled with air, the context on "
        "one side repeated as at a scan's end"
    )
    mirror: float | None = _chance(
        "a training slice is flipped left-right (with its context and mask)"
    )
    tumor_fade: float | None = _chance(
        "a training slice's tumor is faded toward the lung's density (shown part-solid or "
        "ground-glass; mask unchanged)"
    )
    patch_size: int | None = option(
        None,
        help="train on random N x N patches of the slices, tumor kept inside "
        "(default: whole slices)",
        metavar="N",
        minimum=16,
    )
    ema_decay: float | None = option(
        None,
        help="keep an exponential moving average of the weights (and batch-norm statistics) "
        "with this decay per step, e.g. 0.995 for about the last 200 steps: validation, "
        f"checkpoints and so predict use the averaged weights; 0: off {_FROM_RECIPE}",
        metavar="D",
        minimum=0,
        below=1,
    )
    tune_postprocessing: bool = option(
        True,
        help="after training, choose the threshold, the minimum tumor volume and the lung-field "
        "constraint on the val scans and store them in best.ckpt (lungnet predict applies them)",
    )
    tta: bool | None = option(
        None,
        help="choose the post-processing with the prediction averaged over the flips the model "
        "trained with (left-right, with --mirror), and store it so that lungnet predict "
        f"averages them by default {_FROM_RECIPE}",
    )
    seed: int = option(42, help="random seed of sampling, augmentation and initialization")
    folds: int | None = option(
        None,
        help="K-fold cross-validation over all cases: the folds are saved as splits_final.json "
        "in the output folder and each fold trains in its own fold_N sub-folder "
        "(default: the preprocessing's train / val split)",
        metavar="K",
        minimum=2,
    )
    fold: str = option(
        "0", help="with --folds: the fold to train, 0..K-1, or all (one after another)", metavar="N"
    )
    device: str = option(
        "auto",
        help="auto, cpu or cuda (gpu is accepted for cuda)",
        aliases=("--accelerator",),
        choices=(*DEVICE_CHOICES, "gpu"),
    )
    devices: int | str = option(
        "auto", help="devices per node: N or auto", parse=_device_count, metavar="N"
    )
    strategy: str = option("auto", help="Lightning strategy, e.g. ddp")
    num_nodes: int = option(1, help="nodes of a multi-node run", metavar="N", minimum=1)
    precision: str | None = option(
        "auto",
        help="auto (bf16 where the GPU or CPU computes it natively, else fp16 on CUDA and fp32 "
        "on the CPU), bf16, fp16 or fp32; Lightning's strings (bf16-mixed, 32-true) also work",
    )
    channels_last: bool | None = option(
        None, help="channels_last memory format (default: on for CUDA and for bf16 CPUs)"
    )
    workers: int | None = option(
        None,
        help="DataLoader worker processes (default: up to 4 on CUDA, 0 on the CPU)",
        aliases=("--num-workers", "--num_workers"),
        metavar="N",
        minimum=0,
    )
    deterministic: bool | None = option(
        None, help="deterministic kernels (default: on the CPU only)", on_command_line=False
    )
    resume: str | Path | None = option(
        None,
        help="continue from a checkpoint path, or `last` (the newest run's last.ckpt)",
        metavar="CKPT",
    )
    num_sample_figures: int = option(
        3,
        help="tumor-bearing val slices drawn to TensorBoard each validation",
        flag="--sample-figures",
        metavar="N",
        minimum=0,
    )
    check_val_every_n_epoch: int = option(
        1, help="validate every N epochs", on_command_line=False, minimum=1
    )
    log_every_n_steps: int = option(10, help="log every N steps", on_command_line=False, minimum=1)
    enable_progress_bar: bool = option(False, help="progress bar", on_command_line=False)
    extra_callbacks: list[Callback] = field(default_factory=list)  # e.g. a throughput timer

    def __post_init__(self) -> None:
        recipe = RECIPES.get(self.recipe)
        if recipe is None:
            raise ConfigError(
                f"recipe (--recipe) must be one of {', '.join(RECIPES)}, got {self.recipe!r}"
            )
        for name, value in recipe.items():
            if getattr(self, name) is None:
                if name == "deep_supervision":  # a shallower U-Net has fewer levels for it
                    value = min(value, max(self.depth - 1, 0))
                setattr(self, name, value)

    def check(self) -> None:
        """Raise :class:`lungnet.errors.ConfigError` naming the first setting out of range."""
        from lungnet.devices import canonical_precision

        check_options(self)
        canonical_precision(self.precision)
        if self.deep_supervision >= self.depth:
            raise ConfigError(
                f"deep_supervision (--deep-supervision) must be below depth (--depth "
                f"{self.depth}): heads go on the coarser levels of the expanding path, got "
                f"{self.deep_supervision}"
            )
        if self.folds is None:
            if str(self.fold) != "0":
                raise ConfigError("fold (--fold) needs folds (--folds K)")
        elif str(self.fold) != "all" and not (
            str(self.fold).isdigit() and int(self.fold) < self.folds
        ):
            raise ConfigError(
                f"fold (--fold) must be 0..{self.folds - 1} or all, got {self.fold!r}"
            )
