"""How many preprocessing processes this machine can hold: bounded by cores and memory.

One process per core is what the CPU allows; on a many-core server with little memory
per core that many processes would not fit, so the memory a worker needs for the
largest case (estimated from the file headers, without decoding) bounds it too.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from lungnet.preprocessing.cases import Case
from lungnet.preprocessing.config import PreprocessConfig
from lungnet.preprocessing.slices import kept_slices

__all__ = ["WorkerPlan", "available_memory", "plan_workers", "worker_memory"]

# A worker's interpreter with numpy, nibabel and ISA-L loaded, before any case (about
# 60 MB measured), with room to spare.
_PROCESS_BASE_BYTES = 100 * 2**20
# Stored volumes we cannot size from a header (DICOM, broken files) count as this.
_FALLBACK_CASE_BYTES = 512 * 512 * 400 * 2


@dataclass(frozen=True)
class WorkerPlan:
    """The chosen number of worker processes and why."""

    workers: int
    cores: int
    available_bytes: int | None
    per_worker_bytes: int

    def describe(self) -> str:
        """One line for the log, e.g. ``2 workers (2 cores; 20.1 GB free, ~0.8 GB each)``."""
        memory = (
            "free memory unknown"
            if self.available_bytes is None
            else f"{self.available_bytes / 1e9:.1f} GB free"
        )
        return (
            f"{self.workers} worker(s) ({self.cores} cores; {memory}, "
            f"~{self.per_worker_bytes / 1e9:.1f} GB each)"
        )


def available_memory() -> int | None:
    """Bytes this process can still use: MemAvailable, lowered by a cgroup limit; None if
    unknown."""
    found = []
    # Either source may be missing (no /proc, no cgroup v2): each is used where it can be read.
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(int(limit) - int(used))
    return max(0, min(found)) if found else None


def worker_memory(case: Case, config: PreprocessConfig) -> int:
    """Estimated peak bytes of one worker preprocessing ``case``.

    The compressed and the decoded image and label are held together, plus the
    resized float32 slices and masks; no full-resolution float copy is made. A gzipped
    axial image is decoded a block at a time and needs less, but any image may have to be
    read whole (another slice axis, a stream found broken), so the estimate does not count
    on it.
    """
    total = _PROCESS_BASE_BYTES
    num_slices = 0
    for path in (case.image, case.label):
        if path is None:
            continue
        try:
            img = nib.load(path)
            stored = int(np.prod(img.shape)) * np.dtype(img.get_data_dtype()).itemsize
            num_slices = max(num_slices, int(img.shape[2]))
            total += stored + path.stat().st_size
        except Exception:  # sized generously; the case itself reports what is wrong
            total += 2 * _FALLBACK_CASE_BYTES
    if num_slices:
        kept = kept_slices(num_slices, config)
        total += (kept.stop - kept.start) * int(np.prod(config.target_size)) * (4 + 1)
    return total


def plan_workers(cases: list[Case], config: PreprocessConfig) -> WorkerPlan:
    """Workers for ``cases``: at most one per usable core and per case, and as many as
    the available memory holds for the largest case (at least one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    per_worker = max((worker_memory(c, config) for c in cases), default=_PROCESS_BASE_BYTES)
    available = available_memory()
    by_memory = cores if available is None else available // per_worker
    workers = max(1, min(cores, len(cases) or 1, by_memory))
    return WorkerPlan(workers, cores, available, per_worker)
