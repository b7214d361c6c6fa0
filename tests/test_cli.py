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


def test_an_unexpected_error_is_one_line_naming_it_and_the_file_with_the_trace(monkeypatch, capsys):
    import lungnet.commands.evaluate as evaluate_command

    def out_of_memory(args):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail")

    monkeypatch.setattr(evaluate_command, "run", out_of_memory)
    assert main(["evaluate", "-i", "p", "--gt", "g", "-o", "o"]) == 3
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        "lungnet evaluate: internal error: RuntimeError: CUDA out of memory. Tried to allocate"
    )
    trace = line.split("full trace in ")[1].split(";")[0]
    with open(trace) as f:
        text = f.read()
    assert "Traceback" in text and "out_of_memory" in text
