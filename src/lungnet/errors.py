"""User-facing errors: one sentence that names the file and what is wrong with it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LungNetError", "LungNetInputError", "CheckpointError"]


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
