"""Fixtures of the radiomics tests: the synthetic chest, its features, the IBSI digital phantom."""

from __future__ import annotations

from pathlib import Path

import pytest
from radiomics_scans import IBSI_PHANTOM, Scan, write_scan

from lungnet.radiomics import ScanRadiomics, extract_radiomics


@pytest.fixture(scope="session")
def chest(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    return write_scan(tmp_path_factory.mktemp("radiomics-ras"))


@pytest.fixture(scope="session")
def chest_features(chest: Scan) -> ScanRadiomics:
    """The default-settings features of the synthetic chest, computed once for the session."""
    return extract_radiomics(chest.ct, chest.mask)


@pytest.fixture
def ibsi_phantom() -> Path:
    if not IBSI_PHANTOM.is_dir():
        pytest.skip(f"IBSI digital phantom not found at {IBSI_PHANTOM} (shared data folder)")
    return IBSI_PHANTOM
