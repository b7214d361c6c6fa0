"""Synthetic chest CT phantoms with exact tumor labels, Decathlon-layout datasets of them, and
synthetic tumors inserted into real scans."""

from __future__ import annotations

from lungnet.synthetic.anatomy import TISSUE_HU, Tissue
from lungnet.synthetic.library import NoduleLibrary
from lungnet.synthetic.msd import write_msd_dataset
from lungnet.synthetic.phantom import Phantom, make_phantom
from lungnet.synthetic.tumors import (
    TUMOR_KINDS,
    TUMOR_POSITIONS,
    Tumor,
    TumorSpec,
    sample_tumor_specs,
)

__all__ = [
    "TISSUE_HU",
    "TUMOR_KINDS",
    "TUMOR_POSITIONS",
    "NoduleLibrary",
    "Phantom",
    "Tissue",
    "Tumor",
    "TumorSpec",
    "make_phantom",
    "sample_tumor_specs",
    "write_msd_dataset",
]
