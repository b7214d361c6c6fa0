"""The IBSI features a configuration yields: table column, IBSI name, IBSI identifier, family.

Columns are MIRP's feature tags, which are the tags of the IBSI reference data sets
(``morph_volume``, ``cm_joint_max_d1_3d_v_mrg_fbs_w25.0``: feature, then distance,
aggregation and discretisation). Each comes with the name and the four-character
identifier the IBSI reference manual gives it (``RNU0`` for the volume), read from MIRP's
own feature definitions so the two cannot drift apart.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lungnet.radiomics.config import RadiomicsConfig

__all__ = ["FAMILY_NAMES", "FeatureInfo", "feature_catalogue", "family_of"]

#: Column prefix -> the family's name in the IBSI reference manual.
FAMILY_NAMES = {
    "morph": "morphology",
    "loc": "local intensity",
    "stat": "intensity statistics",
    "ih": "intensity histogram",
    "cm": "GLCM",
    "rlm": "GLRLM",
    "szm": "GLSZM",
    "dzm": "GLDZM",
    "ngt": "NGTDM",
    "ngl": "NGLDM",
}


@dataclass(frozen=True)
class FeatureInfo:
    """One feature column: its tag, IBSI name (as MIRP spells it) and IBSI identifier."""

    column: str
    name: str
    ibsi_id: str | None
    family: str


def family_of(column: str) -> str:
    """The IBSI family of a feature column, from its prefix (``cm_...`` -> ``GLCM``)."""
    return FAMILY_NAMES.get(column.split("_", 1)[0], "other")


@functools.lru_cache(maxsize=8)
def feature_catalogue(config: RadiomicsConfig) -> tuple[FeatureInfo, ...]:
    """Every IBSI-compliant feature ``config`` computes, in MIRP's table order."""
    from mirp._features.feature_generator import generate_features
    from mirp.settings.feature_parameters import FeatureExtractionSettingsClass

    args = config.mirp_arguments()
    keys = (
        "by_slice",
        "ibsi_compliant",
        "base_feature_families",
        "base_discretisation_method",
        "base_discretisation_bin_width",
        "glcm_distance",
        "glcm_spatial_method",
        "glrlm_spatial_method",
        "glszm_spatial_method",
        "gldzm_spatial_method",
        "ngtdm_spatial_method",
        "ngldm_distance",
        "ngldm_difference_level",
        "ngldm_spatial_method",
    )
    settings = FeatureExtractionSettingsClass(**{k: args[k] for k in keys if k in args})
    found = []
    for feature in generate_features(settings=settings):
        if not feature.ibsi_compliant:
            continue
        feature.create_table_name()
        found.append(
            FeatureInfo(
                column=feature.table_name,
                name=feature.name,
                ibsi_id=feature.ibsi_id,
                family=family_of(feature.table_name),
            )
        )
    return tuple(found)
