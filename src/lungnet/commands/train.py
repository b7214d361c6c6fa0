"""`lungnet train -i DIR`: train the U-Net on a preprocessed folder.

The options are derived from :class:`lungnet.engine.config.TrainConfig`; the original's
spellings (``--data_dir``, ``--batch_size``, ``--max_epochs``, ``--gpus``) are accepted
too, and ``scripts/train.py`` is this command.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The training options: one per TrainConfig field, plus the original's ``--gpus``."""
    from lungnet.engine.config import TrainConfig
    from lungnet.options import add_options

    add_options(parser, TrainConfig)
    parser.add_argument(
        "--gpus",
        type=int,
        default=None,
        metavar="N",
        help="the original's option: N GPUs, 0 for the CPU (a machine without CUDA trains on "
        "the CPU); not together with --device/--devices",
    )


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train",
        help="train the U-Net on preprocessed slices",
        description="Train the 2D U-Net on the slices of `lungnet preprocess`. Checkpoints go to "
        "DIR/unet_logs/version_N/checkpoints/{best,last}.ckpt (best by the validation score: "
        "3D Dice on the tumor-bearing val cases, discounted by false alarms on the tumor-free "
        "ones), TensorBoard logs beside them.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from lungnet.devices import devices_from_gpus
    from lungnet.engine.config import TrainConfig
    from lungnet.engine.training import train, train_folds
    from lungnet.errors import ConfigError
    from lungnet.options import config_from_args

    overrides = {}
    if args.gpus is not None:
        if args.device != "auto" or args.devices != "auto":
            raise ConfigError("use --gpus or --device/--devices, not both")
        overrides["device"], overrides["devices"] = devices_from_gpus(args.gpus)
    # Lightning has its own console handler; without this its lines print twice.
    logging.getLogger("lightning.pytorch").propagate = False
    config = config_from_args(
        TrainConfig, args, enable_progress_bar=sys.stderr.isatty(), **overrides
    )
    config.check()
    results = train_folds(config) if config.fold == "all" else [train(config)]
    if results[0].global_rank != 0:
        return 0  # under DDP every rank returns; rank 0 reports
    for result in results:
        if config.folds is not None:
            print(f"fold {result.fold}:")
        print(f"best checkpoint: {result.best_checkpoint} (val score {result.best_score:.4f})")
        print(f"last checkpoint: {result.last_checkpoint}")
        print(
            f"TensorBoard logs: {result.log_dir}  ({result.epochs} epochs, {result.global_step} "
            f"steps, {result.wall_s:.0f} s)"
        )
    if config.folds is not None and len(results) > 1:
        checkpoints = " ".join(str(r.best_checkpoint) for r in results)
        print(f"predict with the ensemble: lungnet predict --checkpoint {checkpoints} ...")
    return 0
