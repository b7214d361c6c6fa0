"""Settings of the tiny training runs used by the engine tests (a few seconds on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path


def tiny_config(data_dir: Path, root: Path, **overrides):
    from lungnet.engine import TrainConfig

    settings = dict(
        data_dir=data_dir,
        default_root_dir=root,
        batch_size=4,
        max_epochs=2,
        limit_train_batches=3,
        base_channels=4,
        depth=2,
        learning_rate=2e-3,
        num_sample_figures=1,
        log_every_n_steps=1,
    )
    settings.update(overrides)
    return TrainConfig(**settings)
