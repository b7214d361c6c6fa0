"""One writer at a time per output folder, by a lock the operating system holds.

The lock is ``fcntl.flock`` on ``OUTPUT/.lungnet.lock``. The kernel releases it when the
holder exits, however it exits, so a crashed run never leaves the folder locked; the
file itself may stay and means nothing without the lock. The holder writes its pid into
the file so that a run that finds the folder taken can say which run has it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from lungnet.errors import LungNetInputError

__all__ = ["LOCK_NAME", "output_lock"]

LOCK_NAME = ".lungnet.lock"
# A holder writes its pid right after taking the lock; give it this long to appear.
_PID_WAIT_S = 0.5


@contextlib.contextmanager
def output_lock(folder: str | Path, wait: bool = False) -> Iterator[Path]:
    """Hold the write lock of ``folder`` (created if missing) for the ``with`` block.

    Args:
        folder: the output folder.
        wait: block until the other run has finished instead of refusing.

    Raises:
        LungNetInputError: ``wait`` is false and another process holds the lock; the
            message names the folder and that process's pid.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise LungNetInputError(
                    folder,
                    f"is being written by another lungnet preprocess run ({_holder(fd)}); "
                    "rerun when it has finished",
                ) from None
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # the pid of a run that has ended would mislead
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _holder(fd: int) -> str:
    deadline = time.monotonic() + _PID_WAIT_S
    while True:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text.isdigit():
            return f"pid {text}"
        if time.monotonic() > deadline:
            return "pid unknown"
        time.sleep(0.02)
