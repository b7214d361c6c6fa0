"""Run one benchmark variant in a fresh process, so its peak memory is its own."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
from collections.abc import Callable


def own_peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM), in MB.

    Not ``ru_maxrss``: Linux keeps that across ``execve``, so a process spawned by a parent
    holding 2 GB reports the parent's 2 GB (measured: a spawned child of a 1.6 GB parent
    reported 1557 MB by ``ru_maxrss`` and 14 MB by VmHWM).
    """
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(fn: Callable[..., dict], args: tuple, queue: mp.Queue) -> None:
    import torch

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    result = fn(*args)
    # Worker processes (if any) started by this one: the largest one's peak, an upper bound
    # (their ru_maxrss includes what they inherited from this process at fork time).
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["peak_rss_mb"] = max(own_peak_rss_mb(), workers)
    result["own_peak_rss_mb"] = own_peak_rss_mb()
    result["worker_peak_rss_mb"] = workers
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
