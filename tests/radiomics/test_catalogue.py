"""The feature columns: IBSI tags, names and identifiers of the ten families."""

from __future__ import annotations

from lungnet.radiomics.catalogue import FAMILY_NAMES, family_of, feature_catalogue
from lungnet.radiomics.config import DEFAULT_CONFIG


def test_default_catalogue_has_163_ibsi_features_of_ten_families():
    catalogue = feature_catalogue(DEFAULT_CONFIG)
    assert len(catalogue) == 163
    assert {f.family for f in catalogue} == set(FAMILY_NAMES.values())
    assert len({f.column for f in catalogue}) == len(catalogue)
    assert all(f.name and f.ibsi_id for f in catalogue)


def test_columns_carry_ibsi_tags_with_distance_aggregation_and_bin_width():
    by_column = {f.column: f for f in feature_catalogue(DEFAULT_CONFIG)}
    assert by_column["morph_volume"].ibsi_id == "RNU0"
    assert by_column["morph_sphericity"].ibsi_id == "QCFX"
    assert "cm_joint_max_d1_3d_v_mrg_fbs_w25.0" in by_column
    assert "ngt_coarseness_3d_fbs_w25.0" in by_column


def test_family_of_reads_the_column_prefix():
    assert family_of("szm_sze_3d_fbs_w25.0") == "GLSZM"
    assert family_of("loc_peak_glob") == "local intensity"


def test_every_catalogue_column_is_what_mirp_computes(chest_features):
    # the largest synthetic tumor defines every feature: a name mismatch would leave a NaN
    assert chest_features.tumors[0].undefined == []
