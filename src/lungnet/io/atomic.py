"""Atomic file and folder writes: a reader sees the old state or the complete new one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_dir",
    "TMP_PREFIX",
    "temporary_prefix",
    "remove_stale_temporaries",
]


def _umask_mode(base: int) -> int:
    """``base`` (0o666 files, 0o777 folders) less the umask, as open() and mkdir() would give."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


#: Temporary names start with this, so leftovers of a killed run are easy to find and remove.
TMP_PREFIX = ".lungnet-tmp-"


def temporary_prefix() -> str:
    """The name prefix of this process's temporaries: ``TMP_PREFIX`` + pid + ``-``.

    The pid lets a cleanup tell a dead run's leftovers from files a live run is writing.
    """
    return f"{TMP_PREFIX}{os.getpid()}-"


def _owner_pid(name: str) -> int | None:
    pid, sep, _ = name[len(TMP_PREFIX) :].partition("-")
    return int(pid) if sep and pid.isdigit() else None


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporaries in ``folder`` whose writing process has ended.

    Only names made by :func:`temporary_prefix` are considered; a temporary of a live
    process (this one included), or one whose owner cannot be told, is left alone.

    Returns:
        The paths removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.glob(f"{TMP_PREFIX}*")):
        pid = _owner_pid(path.name)
        if pid is None or pid == os.getpid() or _is_alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary name keeps ``target``'s suffixes (``.nii.gz``, ``.npy``...) so
    writers that infer the format from the name still work. On an exception the
    temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(), suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; outputs should be as readable as any file the user writes.
        os.chmod(tmp, _umask_mode(0o666))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; move it onto ``target`` on success.

    An existing ``target`` is replaced only once the new folder is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(), dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, _umask_mode(0o777))  # mkdtemp creates 0700 folders
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=temporary_prefix(), dir=target.parent))
            os.replace(target, old / "old")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
