"""Synthetic chest CT phantoms with exact tumor labels, and Decathlon-layout datasets of them."""

from __future__ import annotations

from lungnet.synthetic.anatomy import TISSUE_HU, Tissue
from lungnet.synthetic.msd import write_msd_dataset
from lungnet.synthetic.phantom import Phantom, make_phantom
from lungnet.synthetic.tumors import TUMOR_KINDS, Tumor

__all__ = ["TISSUE_HU", "TUMOR_KINDS", "Phantom", "Tissue", "Tumor", "make_phantom", "write_msd_dataset"]
