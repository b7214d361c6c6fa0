"""Atomic writes: the target appears complete or not at all, with ordinary permissions."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from lungnet.io import atomic_dir, atomic_path
from lungnet.io.atomic import TMP_PREFIX, remove_stale_temporaries


def test_a_failed_write_leaves_neither_target_nor_temporary_file(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.nii.gz") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_temporary_name_keeps_the_suffixes_and_lands_on_the_target(tmp_path):
    with atomic_path(tmp_path / "a" / "mask.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.parent == tmp_path / "a"
        tmp.write_bytes(b"data")
    assert (tmp_path / "a" / "mask.nii.gz").read_bytes() == b"data"


def test_outputs_get_umask_permissions_not_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "inner").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_atomic_dir_replaces_an_existing_folder_whole(tmp_path):
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "old.npy").write_text("old")
    with atomic_dir(tmp_path / "case") as tmp:
        (tmp / "new.npy").write_text("new")
    assert sorted(p.name for p in (tmp_path / "case").iterdir()) == ["new.npy"]
    assert [p.name for p in tmp_path.iterdir()] == ["case"]


def test_temporary_names_carry_the_writing_process_id(tmp_path):
    with atomic_path(tmp_path / "f.txt") as tmp:
        assert tmp.name.startswith(f"{TMP_PREFIX}{os.getpid()}-")
        tmp.write_text("x")
    with atomic_dir(tmp_path / "d") as tmp:
        assert tmp.name.startswith(f"{TMP_PREFIX}{os.getpid()}-")


def test_cleanup_removes_only_the_temporaries_of_ended_processes(tmp_path):
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(ended.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f"{TMP_PREFIX}{dead_pid}-abc").mkdir()
        (tmp_path / f"{TMP_PREFIX}{dead_pid}-def.npy").write_text("half")
        (tmp_path / f"{TMP_PREFIX}{live.pid}-ghi").mkdir()
        (tmp_path / f"{TMP_PREFIX}{os.getpid()}-jkl").mkdir()
        (tmp_path / f"{TMP_PREFIX}k2j4_x").mkdir()  # no owner recorded: left alone
        removed = remove_stale_temporaries(tmp_path)
    finally:
        live.kill()
        live.wait()
    assert sorted(p.name for p in removed) == [
        f"{TMP_PREFIX}{dead_pid}-abc",
        f"{TMP_PREFIX}{dead_pid}-def.npy",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{TMP_PREFIX}{live.pid}-ghi", f"{TMP_PREFIX}{os.getpid()}-jkl", f"{TMP_PREFIX}k2j4_x"]
    )
