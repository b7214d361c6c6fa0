"""The per-slice ``.npy`` files of a case: written fast, and checked for completeness.

Each slice is a file ``<i>.npy`` byte-identical to what ``np.save`` writes, but made with
one ``open`` and one ``writev`` of the shared header and the slice's own buffer (np.save
writes the header and the data separately and builds the header every time).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

__all__ = ["npy_header", "slice_files_complete", "write_slices"]

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def npy_header(shape: tuple[int, ...], dtype: np.dtype | type) -> bytes:
    """The ``.npy`` header ``np.save`` writes for a C-ordered array of this shape and dtype."""
    buffer = io.BytesIO()
    template = np.lib.format.header_data_from_array_1_0(np.empty(shape, dtype))
    np.lib.format.write_array_header_1_0(buffer, template)
    return buffer.getvalue()


def write_slices(folder: str | Path, stack: np.ndarray, first: int = 0) -> None:
    """Write ``stack[i]`` as ``folder/<first + i>.npy`` for every ``i``; ``folder`` must exist.

    Files are created new (an existing one is an error), with the usual permissions.
    """
    folder = Path(folder)
    stack = np.ascontiguousarray(stack)
    header = npy_header(stack.shape[1:], stack.dtype)
    for i, plane in enumerate(stack, start=first):
        fd = os.open(folder / f"{i}.npy", _CREATE, 0o666)
        try:
            _write_all(fd, header, memoryview(plane).cast("B"))
        finally:
            os.close(fd)


def _write_all(fd: int, header: bytes, data: memoryview) -> None:
    written = os.writev(fd, [header, data])
    # A regular file takes the whole write unless the disk fills; then finish or fail.
    rest = memoryview(header + bytes(data))[written:] if written < len(header) + len(data) else b""
    while rest:
        rest = rest[os.write(fd, rest) :]


def slice_files_complete(
    folder: str | Path, num_slices: int, shape: tuple[int, ...], dtype: np.dtype | type
) -> bool:
    """Whether ``folder`` holds exactly ``0.npy`` ... ``<num_slices - 1>.npy``, each of the
    size a ``shape`` array of ``dtype`` has, and nothing else."""
    expected = len(npy_header(shape, dtype)) + int(np.prod(shape)) * np.dtype(dtype).itemsize
    try:
        with os.scandir(folder) as entries:
            sizes = {e.name: e.stat().st_size for e in entries if e.is_file()}
    except OSError:
        return False
    names = {f"{i}.npy" for i in range(num_slices)}
    return sizes.keys() == names and all(size == expected for size in sizes.values())
