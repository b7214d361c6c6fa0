"""The `lungnet` command's frame: help, version, usage errors."""

from __future__ import annotations

import subprocess
import sys

from lungnet import __version__
from lungnet.cli import main


def test_version_is_printed(capsys):
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: lungnet" in capsys.readouterr().out


def test_console_script_lists_its_commands():
    proc = subprocess.run(
        [sys.executable, "-m", "lungnet", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "preprocess" in proc.stdout


def test_unknown_option_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "lungnet", "--no-such-flag"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
