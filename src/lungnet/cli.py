"""`lungnet <command>`: parse arguments, call the library, turn errors into exit codes.

Each command lives in ``lungnet.commands.<name>`` and provides ``register(subparsers)``,
which adds its parser and sets ``func`` to a function ``(args) -> int``. Commands import
their heavy dependencies inside that function so that ``lungnet --help`` stays fast.

Exit codes: 0 success, 1 some input or case failed, 2 usage error (a bad option value),
3 internal error, 130 interrupted. No user error ends in a traceback: an unexpected one
(a bug, CUDA out of memory) prints one line naming it and the file holding the full trace.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from lungnet.errors import ConfigError, LungNetError

__all__ = ["build_parser", "main"]

# Shown in this order in `lungnet --help`; other command modules follow alphabetically.
_ORDER = ("synth", "preprocess", "train", "predict", "evaluate", "report", "demo")


def _command_modules() -> list[str]:
    import lungnet.commands as pkg

    found = {m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")}
    return [n for n in _ORDER if n in found] + sorted(found - set(_ORDER))


class _VersionAction(argparse.Action):
    """``--version``, looked up only when asked: reading the installed package's metadata
    imports importlib.metadata, which every other command would pay for at start-up."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from lungnet import __version__

        print(f"lungnet {__version__}")
        parser.exit()


def _import_nibabel_without_pydicom() -> None:
    """Import nibabel first, keeping it from importing pydicom on the way.

    ``nibabel.nifti1`` imports pydicom (and with it PIL, pydicom's pixel plugins and
    importlib.metadata) only to parse DICOM extensions inside NIfTI headers, which lungnet
    never reads: they stay raw bytes and are written back unchanged. Without it, and
    without importlib.metadata for the version, a command starts in 0.26 s instead of 0.37
    (``benchmarks/results/cli_startup.json``): time that the workers of ``lungnet
    preprocess`` cannot share. pydicom stays importable for the commands that read or write
    DICOM. A process that imported either already keeps them.
    """
    if "nibabel" in sys.modules or "pydicom" in sys.modules:
        return
    sys.modules["pydicom"] = None  # type: ignore[assignment]  # `import pydicom` now fails
    try:
        import nibabel.nifti1  # noqa: F401
    finally:
        del sys.modules["pydicom"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lungnet",
        description="Lung tumor segmentation in 3D chest CT (2D U-Net, PyTorch Lightning).",
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        importlib.import_module(f"lungnet.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _import_nibabel_without_pydicom()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"lungnet {args.command}: error: {e}", file=sys.stderr)
        return 2
    except LungNetError as e:
        print(f"lungnet {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lungnet {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, trace on disk
        if args.verbose:
            raise
        trace = _write_trace(args.command)
        first = (str(e).splitlines() or [""])[0][:200]
        print(
            f"lungnet {args.command}: internal error: {type(e).__name__}: {first} "
            f"(full trace in {trace}; -v prints it)",
            file=sys.stderr,
        )
        return 3


def _write_trace(command: str) -> Path:
    """Write the current exception's traceback to a file in the temp folder; its path."""
    handle, name = tempfile.mkstemp(prefix=f"lungnet-{command}-", suffix=".log")
    with os.fdopen(handle, "w") as f:
        traceback.print_exc(file=f)
    return Path(name)


if __name__ == "__main__":
    sys.exit(main())
