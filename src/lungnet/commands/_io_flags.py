"""The flags every command spells alike: ``-i/--input`` for what it reads, ``-o/--output-dir``
for where it writes. A command's earlier spellings stay as aliases."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_input", "add_output_dir"]


def add_input(parser: argparse.ArgumentParser, *aliases: str, help: str, **kwargs: Any) -> None:
    """``-i/--input`` (plus ``aliases``); keywords go to ``add_argument`` (dest, nargs, ...)."""
    parser.add_argument("-i", "--input", *aliases, help=help, **kwargs)


def add_output_dir(
    parser: argparse.ArgumentParser, *aliases: str, help: str, **kwargs: Any
) -> None:
    """``-o/--output-dir`` (plus ``aliases``); keywords go to ``add_argument``."""
    parser.add_argument("-o", "--output-dir", *aliases, help=help, **kwargs)
