"""`lungnet train --data-dir DIR`: train the U-Net on a preprocessed folder.

The seed's spellings (``--data_dir``, ``--batch_size``, ``--max_epochs``, ``--gpus``) are
accepted too; ``scripts/train.py`` is this command.
"""

from __future__ import annotations

import argparse
import sys


def _devices(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _fraction(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The training options (dashed, with the seed's underscore spellings as aliases)."""
    p.add_argument("--data-dir", "--data_dir", required=True, metavar="DIR",
                   help="preprocessed folder with manifest.json (from `lungnet preprocess`)")
    p.add_argument("--batch-size", "--batch_size", type=int, default=16, metavar="N")
    p.add_argument("--max-epochs", "--max_epochs", type=int, default=50, metavar="N")
    p.add_argument("--max-time", "--max_time", type=float, default=None, metavar="SECONDS",
                   help="stop fitting after this many seconds (the best checkpoint so far is kept)")
    p.add_argument("--limit-train-batches", "--limit_train_batches", type=int, default=None, metavar="N",
                   help="training steps per epoch (default: one pass over the train slices)")
    p.add_argument("--gpus", type=int, default=None, metavar="N",
                   help="the seed's option: N GPUs, 0 for CPU (a machine without CUDA trains on CPU)")
    p.add_argument("--accelerator", default=None, help="cpu, gpu or auto (default: auto)")
    p.add_argument("--devices", type=_devices, default=None, help="devices per node: N or auto")
    p.add_argument("--strategy", default="auto", help="Lightning strategy, e.g. ddp (default: auto)")
    p.add_argument("--num-nodes", "--num_nodes", type=int, default=1, metavar="N")
    p.add_argument("--precision", default=None,
                   help="Lightning precision, e.g. bf16-mixed, 32-true (default: bf16-mixed where the GPU or CPU "
                        "computes bf16 natively, else 16-mixed on CUDA and 32-true on the CPU)")
    p.add_argument("--channels-last", "--channels_last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format (default: on for CUDA and for bf16 CPUs)")
    p.add_argument("--num-workers", "--num_workers", type=int, default=None, metavar="N",
                   help="DataLoader workers (default: up to 4 on CUDA, 0 on CPU)")
    p.add_argument("--base-channels", "--base_channels", type=int, default=64, metavar="N",
                   help="U-Net width at full resolution (default: 64, as the seed)")
    p.add_argument("--depth", type=int, default=4, metavar="N", help="U-Net poolings (default: 4)")
    p.add_argument("--norm", choices=("none", "batch"), default="none",
                   help="normalization after each convolution: none (the seed's classic U-Net) or batch")
    p.add_argument("--context-slices", "--context_slices", type=int, default=0, metavar="K",
                   help="K neighbouring slices on each side as extra input channels (default: 0)")
    p.add_argument("--loss", choices=("bce", "bce_dice"), default="bce",
                   help="bce (the seed) or bce_dice (BCE + soft Dice)")
    p.add_argument("--learning-rate", "--learning_rate", "--lr", type=float, default=1e-3, metavar="LR")
    p.add_argument("--patch-size", "--patch_size", type=int, default=None, metavar="N",
                   help="train on random N x N patches of the slices, tumor kept inside (default: whole slices)")
    p.add_argument("--lr-schedule", "--lr_schedule", choices=("constant", "poly"), default="constant",
                   help="constant (the seed) or poly: decay to 0 over the run, (1 - step/total)^0.9")
    p.add_argument("--tumor-fraction", "--tumor_fraction", type=_fraction, default=0.5, metavar="F",
                   help="share of tumor-bearing slices among training draws, or none for no weighting (default: 0.5)")
    p.add_argument("--no-augment", dest="augment", action="store_false", help="turn affine + elastic augmentation off")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", default=None, metavar="CKPT",
                   help="continue from a checkpoint path, or `last` (the newest run's last.ckpt)")
    p.add_argument("--default-root-dir", "--default_root_dir", default="artifacts", metavar="DIR",
                   help="runs go to DIR/unet_logs/version_N (default: artifacts)")
    p.add_argument("--sample-figures", "--sample_figures", type=int, default=3, metavar="N",
                   help="tumor-bearing val slices drawn to TensorBoard each validation (default: 3)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train the U-Net on preprocessed slices",
        description="Train the 2D U-Net on the slices of `lungnet preprocess`. Checkpoints go to "
        "DIR/unet_logs/version_N/checkpoints/{best,last}.ckpt (best by mean per-volume 3D val Dice), "
        "TensorBoard logs beside them.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def _device_choice(args: argparse.Namespace) -> tuple[str, int | str] | None:
    """(accelerator, devices) from --gpus / --accelerator / --devices; None for a usage error."""
    if args.gpus is not None:
        if args.accelerator is not None or args.devices is not None:
            return None
        import torch

        if args.gpus == 0:
            return "cpu", 1
        if not torch.cuda.is_available():
            print(f"lungnet train: --gpus {args.gpus} asked for, but CUDA is not available; training on CPU",
                  file=sys.stderr)
            return "cpu", 1
        return "gpu", args.gpus
    return args.accelerator or "auto", args.devices if args.devices is not None else "auto"


def run(args: argparse.Namespace) -> int:
    choice = _device_choice(args)
    if choice is None:
        print("lungnet train: error: use --gpus or --accelerator/--devices, not both", file=sys.stderr)
        return 2
    import logging

    from lungnet.engine.train import TrainConfig, train

    # Lightning has its own console handler; without this its lines print twice.
    logging.getLogger("lightning.pytorch").propagate = False

    config = TrainConfig(
        data_dir=args.data_dir,
        default_root_dir=args.default_root_dir,
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        max_time_s=args.max_time,
        limit_train_batches=args.limit_train_batches,
        learning_rate=args.learning_rate,
        lr_schedule=args.lr_schedule,
        loss=args.loss,
        base_channels=args.base_channels,
        depth=args.depth,
        norm=args.norm,
        context_slices=args.context_slices,
        tumor_fraction=args.tumor_fraction,
        augment=args.augment,
        patch_size=args.patch_size,
        seed=args.seed,
        accelerator=choice[0],
        devices=choice[1],
        strategy=args.strategy,
        num_nodes=args.num_nodes,
        precision=args.precision,
        channels_last=args.channels_last,
        num_workers=args.num_workers,
        resume=args.resume,
        num_sample_figures=args.sample_figures,
        enable_progress_bar=sys.stderr.isatty(),
    )
    try:
        config.check()
    except ValueError as e:
        print(f"lungnet train: error: {e}", file=sys.stderr)
        return 2
    result = train(config)
    if result.global_rank != 0:
        return 0  # under DDP every rank returns; rank 0 reports
    print(f"best checkpoint: {result.best_checkpoint} (mean 3D val Dice {result.best_score:.4f})")
    print(f"last checkpoint: {result.last_checkpoint}")
    print(f"TensorBoard logs: {result.log_dir}  ({result.epochs} epochs, {result.global_step} steps, "
          f"{result.wall_s:.0f} s)")
    return 0

