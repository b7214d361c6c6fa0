"""User-facing errors: one sentence that names the file and what is wrong with it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LungNetError", "LungNetInputError", "CheckpointError", "ConfigError"]


class LungNetError(Exception):
    """Base class of every error LungNet raises on purpose."""


class LungNetInputError(LungNetError, ValueError):
    """A file or folder given by the user cannot be used.

    The message is a single line: ``"<path>: <what is wrong>"``, so a command
    can print it as it is and go on with the other inputs.
    """

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(problem if path is None else f"{path}: {problem}")


class CheckpointError(LungNetInputError):
    """A checkpoint is missing, corrupt, unsafe or not a LungNet checkpoint."""


class ConfigError(LungNetError, ValueError):
    """A setting is out of its range or contradicts another: a usage error (exit code 2).

    The message names the setting, its command-line flag, the valid values and the value given.
    """
