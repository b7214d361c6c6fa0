"""Radiomics tables: rows keyed like the tumor table, settings in every row, undefined named."""

from __future__ import annotations

import csv
import json

import pytest

from lungnet.radiomics import ScanRadiomics
from lungnet.radiomics.config import DEFAULT_CONFIG
from lungnet.radiomics.tables import (
    KEY_COLUMNS,
    SETTING_COLUMNS,
    radiomics_paths,
    write_dataset_csv,
    write_radiomics_csv,
    write_radiomics_json,
)


def _strict_json(path):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_csv_has_one_row_per_tumor_with_key_settings_and_feature_columns(chest_features, tmp_path):
    path = write_radiomics_csv(chest_features, tmp_path / "c_radiomics.csv")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    assert header[: len(KEY_COLUMNS) + len(SETTING_COLUMNS)] == [*KEY_COLUMNS, *SETTING_COLUMNS]
    assert header[-1] == "undefined_features" and len(header) == 11 + 163 + 1
    assert [(r["id"], r["voxels"]) for r in rows] == [("1", "257"), ("2", "33"), ("3", "1")]
    for row in rows:
        assert (row["voxel_size_mm"], row["bin_width_hu"]) == ("1.0", "25.0")
        assert (row["hu_min"], row["hu_max"], row["aggregation"]) == (
            "-1000.0",
            "400.0",
            "3d_volume_merge",
        )
    assert float(rows[0]["morph_vol_approx"]) == 257.0 and rows[0]["undefined_features"] == ""
    undefined = rows[2]["undefined_features"].split(";")
    assert undefined == chest_features.tumors[2].undefined
    assert all(rows[2][column] == "" for column in undefined)  # empty, never "nan"
    assert "nan" not in path.read_text().lower()


def test_json_states_settings_ibsi_names_versions_and_nulls(chest, chest_features, tmp_path):
    path = write_radiomics_json(chest_features, tmp_path / "c.json", chest.ct, chest.mask_path)
    doc = _strict_json(path)
    assert doc["settings"] == DEFAULT_CONFIG.settings()
    assert doc["processing"]["resegmentation"] == "-1000 to 400 HU"
    assert doc["software"]["mirp"] and doc["feature_count"] == 163 == len(doc["features"])
    volume = next(f for f in doc["features"] if f["column"] == "morph_volume")
    assert volume == {
        "column": "morph_volume",
        "name": "Morphology (3D) - volume",
        "ibsi_id": "RNU0",
        "family": "morphology",
    }
    assert doc["count"] == 3 and doc["scan"]["file_axcodes"] == "RAS"
    single = doc["tumors"][2]
    assert single["id"] == 3 and single["undefined"]
    assert all(single["features"][c] is None for c in single["undefined"])


def test_empty_mask_gives_a_header_only_csv_and_a_note(tmp_path):
    empty = ScanRadiomics(config=DEFAULT_CONFIG, catalogue=_catalogue())
    paths = radiomics_paths(tmp_path, "none")
    write_radiomics_csv(empty, paths["csv"])
    write_radiomics_json(empty, paths["json"])
    lines = paths["csv"].read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("id,voxels,volume_ml")
    doc = _strict_json(paths["json"])
    assert doc["count"] == 0 and doc["tumors"] == []
    assert doc["note"] == "the mask is empty: no tumor, no row"


def test_dataset_csv_joins_the_scans_behind_a_case_column(chest_features, tmp_path):
    empty = ScanRadiomics(config=DEFAULT_CONFIG, catalogue=_catalogue())
    path = write_dataset_csv([("a", chest_features), ("b", empty)], tmp_path / "all.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["case"], r["id"]) for r in rows] == [("a", "1"), ("a", "2"), ("a", "3")]
    with pytest.raises(ValueError, match="no scan"):
        write_dataset_csv([], tmp_path / "none.csv")


def _catalogue():
    from lungnet.radiomics import feature_catalogue

    return feature_catalogue(DEFAULT_CONFIG)
