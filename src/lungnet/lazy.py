"""Package attributes imported on first use, so that light imports stay light.

``lungnet --help`` builds every command's options from the typed configs; importing a
package must not load torch or Lightning for that. A package lists its public names and
the modules that define them, and :func:`lazy_exports` gives it the module-level
``__getattr__`` (PEP 562) that imports them when they are first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """``__getattr__`` for ``package`` that imports ``exports[name]`` and returns its ``name``."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
