"""Run one benchmark variant in a fresh process, so its peak memory is its own."""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
from collections.abc import Callable


def _child(fn: Callable[..., dict], args: tuple, queue: mp.Queue) -> None:
    import torch

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    result = fn(*args)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # worker processes, if any
    result["peak_rss_mb"] = max(own, workers) / 1024
    queue.put(result)


def in_process(fn: Callable[..., dict], *args) -> dict:
    """``fn(*args)`` in a spawned process; its dict result gains ``peak_rss_mb``."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result
