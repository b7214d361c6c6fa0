"""Small phantoms shared by the synthetic-data tests (built once per session: they take ~1 s)."""

from __future__ import annotations

import pytest

from lungnet.synthetic import Phantom, make_phantom


@pytest.fixture(scope="session")
def clean_phantom() -> Phantom:
    """96 px, noise-free, four tumors of 8-25 mm: every tissue keeps its documented HU."""
    return make_phantom(11, size=96, tumor_diameter_mm=(8, 25), tumor_count=(4, 4), noise=False)


@pytest.fixture(scope="session")
def noisy_phantom() -> Phantom:
    """The same patient as ``clean_phantom`` with the scanner's blur and noise."""
    return make_phantom(11, size=96, tumor_diameter_mm=(8, 25), tumor_count=(4, 4))
