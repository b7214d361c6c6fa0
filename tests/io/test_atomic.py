"""Atomic writes: the target appears complete or not at all, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from lungnet.io import atomic_dir, atomic_path


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
