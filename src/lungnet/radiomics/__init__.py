"""Radiomics: IBSI features of every tumor of a mask, computed by MIRP, with stated settings."""

from lungnet.radiomics.batch import RadiomicsBatch, ScanMaskPair, pair_scans_with_masks
from lungnet.radiomics.catalogue import FeatureInfo, feature_catalogue
from lungnet.radiomics.config import DEFAULT_CONFIG, RadiomicsConfig, load_config
from lungnet.radiomics.extract import ScanRadiomics, TumorRadiomics, extract_radiomics
from lungnet.radiomics.tables import (
    DATASET_CSV,
    radiomics_paths,
    radiomics_rows,
    write_dataset_csv,
    write_radiomics_csv,
    write_radiomics_json,
)

__all__ = [
    "DATASET_CSV",
    "DEFAULT_CONFIG",
    "FeatureInfo",
    "RadiomicsBatch",
    "RadiomicsConfig",
    "ScanMaskPair",
    "ScanRadiomics",
    "TumorRadiomics",
    "extract_radiomics",
    "feature_catalogue",
    "load_config",
    "pair_scans_with_masks",
    "radiomics_paths",
    "radiomics_rows",
    "write_dataset_csv",
    "write_radiomics_csv",
    "write_radiomics_json",
]
