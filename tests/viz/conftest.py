"""Fixtures of the report tests: the tiny chest-like phantom of :mod:`report_phantom`."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_phantom import Phantom, build_phantom


@pytest.fixture
def phantom(tmp_path: Path) -> Phantom:
    return build_phantom(tmp_path / "inputs")
