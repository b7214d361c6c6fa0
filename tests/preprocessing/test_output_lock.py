"""The output folder's lock: one holder, named to whoever is refused, gone when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from lungnet.errors import LungNetInputError
from lungnet.preprocessing.output_lock import LOCK_NAME, output_lock

_HOLD = (
    "import sys, time\n"
    "from lungnet.preprocessing.output_lock import output_lock\n"
    "with output_lock(sys.argv[1]):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(60)\n"
)


def _holder(folder) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_with_the_folder_and_the_holders_pid(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(LungNetInputError) as refused, output_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert str(refused.value) == (
        f"{tmp_path}: is being written by another lungnet preprocess run (pid {holder.pid}); "
        "rerun when it has finished"
    )


def test_a_killed_holder_leaves_the_folder_free(tmp_path):
    holder = _holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / LOCK_NAME).exists()  # the file stays; the lock does not
    with output_lock(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())


def test_the_lock_can_be_taken_again_after_release(tmp_path):
    with output_lock(tmp_path / "new"):
        pass
    with output_lock(tmp_path / "new"):
        pass
    assert (tmp_path / "new" / LOCK_NAME).read_text() == ""
