"""The provenance every results file under ``benchmarks/results/`` carries.

A number is only worth quoting when one can tell where it came from: the commit it ran
on (and whether the tree had uncommitted changes), the exact command, the date, the
machine (CPU or GPU model, usable threads, load average when it started) and the seeds.
Benchmarks call :func:`provenance` when they start and :func:`write_results` at the end.

Benchmarks are run as ``python benchmarks/NAME.py``; Python puts this folder on the
import path for the script, so ``from record import ...`` needs no path patching.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["RESULTS_DIR", "provenance", "write_results", "cpu_model", "lungnet_src"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (the platform string elsewhere)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _gpu_model() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def provenance(seeds: dict | None = None, settings: dict | None = None) -> dict:
    """Who, what and where of this run; call it first, before the load average moves."""
    return {
        "commit": _git("rev-parse", "HEAD"),
        "tree_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {
            "cpu": cpu_model(),
            "gpu": _gpu_model(),
            "threads": len(os.sched_getaffinity(0)),
            "load_average_1min_at_start": round(os.getloadavg()[0], 2),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "seeds": seeds or {},
        "settings": settings or {},
    }


def lungnet_src(value: str) -> Path:
    """An argparse type: another checkout's ``src`` folder, run through ``PYTHONPATH``.

    Refused unless it holds the ``lungnet`` package: a missing folder on ``PYTHONPATH`` is
    silently skipped, and the comparison would then time this tree against itself.
    """
    src = Path(value).resolve()
    if not (src / "lungnet" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{src}: holds no lungnet package")
    return src


def write_results(name: str, record: dict, results_dir: Path = RESULTS_DIR) -> Path:
    """Write ``record`` as ``results_dir/name`` (JSON), adding the load average at the end."""
    record = dict(record)
    record.setdefault("machine", {})["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / name
    path.write_text(json.dumps(record, indent=1, default=str) + "\n")
    return path
