"""No user error ends in a traceback: bad option values exit 2, bad files exit 1, in one line.

Every command is run, as a user would run it, with values out of range and with files that
are not what they should be.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lungnet.cli import _command_modules


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    (folder / "scan.nii.gz").write_text("not a scan")
    (folder / "model.ckpt").write_text("not a checkpoint")
    (folder / "empty").mkdir()
    return folder


# (command line, expected exit code, text the one error line holds); {d} is the bad folder.
CASES = [
    ("synth {d}/o --cases -1", 2, "--cases"),
    ("synth {d}/o --cases 2 --size 0", 2, "size"),
    ("preprocess {d}/empty {d}/o --hu-window 400 -1000", 2, "hu_window"),
    ("preprocess {d}/missing {d}/o", 1, "missing"),
    ("train -i {d}/missing --batch-size 0", 2, "batch_size (--batch-size) must be >= 1"),
    ("train -i {d}/missing --precision fp8", 2, "precision (--precision) must be one of"),
    ("train -i {d}/missing --gpus 1 --device cpu", 2, "use --gpus or --device/--devices"),
    ("train -i {d}/missing", 1, "missing: data folder does not exist"),
    ("train -i {d}/empty", 1, "empty"),
    ("predict -i {d}/scan.nii.gz --checkpoint {d}/model.ckpt --batch-size 0", 2, "--batch-size"),
    (
        "predict -i {d}/scan.nii.gz --checkpoint {d}/model.ckpt --min-tumor-volume -1",
        2,
        "--min-tumor-volume",
    ),
    ("predict -i {d}/scan.nii.gz --checkpoint {d}/model.ckpt --device tpu", 2, "--device"),
    ("predict -i {d}/scan.nii.gz --checkpoint {d}/model.ckpt --devices 0", 2, "--devices"),
    ("predict -i {d}/scan.nii.gz --checkpoint {d}/model.ckpt", 1, "model.ckpt: is corrupt"),
    ("predict -i {d}/scan.nii.gz --checkpoint {d}/absent.ckpt", 1, "absent.ckpt: does not exist"),
    ("evaluate -i {d}/nowhere --gt {d}/nowhere -o {d}/o", 1, "nowhere: is not a folder"),
    ("evaluate -i {d}/empty --gt {d}/empty -o {d}/o", 1, "empty"),
    ("report -i {d}/scan.nii.gz --mask {d}/scan.nii.gz -o {d}/o", 1, "scan.nii.gz: ends in .gz"),
    ("demo --seed x", 2, "--seed"),
    ("radiomics -i {d}/scan.nii.gz --mask {d}/scan.nii.gz -o {d}/o", 1, "scan.nii.gz"),
    ("insert -i {d}/scan.nii.gz -o {d}/o --seed 1", 1, "scan.nii.gz"),
    ("insert -i {d}/scan.nii.gz -o {d}/o --tumor-count 3 1", 2, "tumor"),
    ("synth -o {d}/o --cases 1 --library-share 2", 2, "share"),
]


def _run(line: str, folder: Path) -> subprocess.CompletedProcess:
    argv = line.format(d=folder).split()
    return subprocess.run(
        [sys.executable, "-m", "lungnet", *argv], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("line", "code", "text"), CASES, ids=[c[0].split()[0] for c in CASES])
def test_a_user_error_is_one_line_with_its_exit_code(bad_files, line, code, text):
    proc = _run(line, bad_files)
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert any(text in row for row in proc.stderr.splitlines()), output


def test_every_command_is_covered():
    assert set(_command_modules()) <= {line.split()[0] for line, _, _ in CASES}
