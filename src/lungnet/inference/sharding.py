"""Predicting many scans on several devices or nodes: one process per device, each scan once.

Lightning Fabric launches the processes (``--devices N`` on one machine; several nodes
through the same launcher Lightning training uses: torchrun or SLURM) and sets up
``torch.distributed``. Each process takes every ``world_size``-th scan, so each scan is
written exactly once, by one process; the summary is gathered to rank 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

__all__ = ["Shard", "single_process", "launch_shards"]

T = TypeVar("T")


@dataclass
class Shard:
    """This process's part of a sharded prediction."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    def take(self, items: Sequence[T]) -> list[T]:
        """Every ``world_size``-th item, starting at this rank."""
        return list(items[self.rank :: self.world_size])

    def gather(self, value: Any) -> list[Any]:
        """``value`` of every rank, in rank order (on every rank)."""
        if self.world_size == 1:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, value)
        return gathered


def single_process() -> Shard:
    """The shard of an ordinary, unsharded run: everything."""
    return Shard()


def launch_shards(devices: int, num_nodes: int, device: str) -> Shard:
    """Start the other processes (this one becomes rank 0 of its node) and join them.

    Args:
        devices: processes per node (GPUs on CUDA; CPU processes otherwise).
        num_nodes: machines taking part.
        device: ``cuda`` shards over GPUs, anything else over CPU processes.
    """
    import logging

    from lightning.fabric import Fabric

    # The launcher's banners would drown the one line per scan.
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    on_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    fabric = Fabric(
        accelerator="cuda" if on_cuda else "cpu",
        devices=devices,
        num_nodes=num_nodes,
        strategy="ddp",
    )
    fabric.launch()
    if on_cuda:
        torch.cuda.set_device(fabric.local_rank)
    return Shard(
        rank=fabric.global_rank, world_size=fabric.world_size, local_rank=fabric.local_rank
    )
