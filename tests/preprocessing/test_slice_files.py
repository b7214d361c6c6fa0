"""Slice files: the bytes np.save writes, and a case counts as complete only with all of them."""

from __future__ import annotations

import io

import numpy as np
import pytest

from lungnet.preprocessing.slice_files import slice_files_complete, write_slices


def _np_save_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_each_file_holds_exactly_what_np_save_writes(tmp_path, dtype):
    stack = (np.random.default_rng(0).random((3, 20, 12)) * 200).astype(dtype)
    write_slices(tmp_path, stack)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.npy", "1.npy", "2.npy"]
    for i in range(3):
        assert (tmp_path / f"{i}.npy").read_bytes() == _np_save_bytes(stack[i])


def test_an_existing_file_is_never_overwritten(tmp_path):
    (tmp_path / "0.npy").write_text("someone else's")
    with pytest.raises(FileExistsError):
        write_slices(tmp_path, np.zeros((1, 4, 4), np.uint8))


def test_complete_means_every_file_there_at_full_size_and_nothing_else(tmp_path):
    write_slices(tmp_path, np.zeros((4, 8, 6), np.float32))
    assert slice_files_complete(tmp_path, 4, (8, 6), np.float32)
    assert not slice_files_complete(tmp_path, 5, (8, 6), np.float32)
    assert not slice_files_complete(tmp_path, 4, (8, 6), np.uint8)
    assert not slice_files_complete(tmp_path / "absent", 4, (8, 6), np.float32)
    (tmp_path / "3.npy").write_bytes((tmp_path / "3.npy").read_bytes()[:-1])
    assert not slice_files_complete(tmp_path, 4, (8, 6), np.float32)


def test_a_stack_written_in_blocks_is_numbered_from_each_blocks_first_slice(tmp_path):
    stack = np.arange(5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)
    write_slices(tmp_path, stack[:2])
    write_slices(tmp_path, stack[2:], first=2)
    assert slice_files_complete(tmp_path, 5, (4, 3), np.float32)
    for i in range(5):
        np.testing.assert_array_equal(np.load(tmp_path / f"{i}.npy"), stack[i])
