"""Radiomics tables: one CSV and one JSON per scan, one CSV joining every scan of a run.

Rows are tumors, keyed like the per-tumor table (``id`` 1 the largest; ``voxels``,
``volume_ml`` and the centroid in scanner mm to join on). Every row also states the
settings that produced it (:data:`SETTING_COLUMNS`), then one column per IBSI feature (see
:mod:`lungnet.radiomics.catalogue`), then ``undefined_features``: the columns left empty
for that tumor, so an empty cell is never silent. The JSON carries the same values
(``null`` where undefined), the full processing description, the IBSI name and
identifier of every column, and the versions of MIRP and LungNet.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from lungnet.io.atomic import atomic_path
from lungnet.io.volume import CTVolume
from lungnet.radiomics.config import AGGREGATION
from lungnet.radiomics.extract import ScanRadiomics, TumorRadiomics

__all__ = [
    "DATASET_CSV",
    "KEY_COLUMNS",
    "SETTING_COLUMNS",
    "radiomics_paths",
    "radiomics_rows",
    "write_dataset_csv",
    "write_radiomics_csv",
    "write_radiomics_json",
]

#: The per-dataset table, in the output folder.
DATASET_CSV = "radiomics.csv"
#: Columns that identify a tumor, as in the per-tumor table.
KEY_COLUMNS = ("id", "voxels", "volume_ml", "world_x_mm", "world_y_mm", "world_z_mm")
#: Columns that state the settings, in every row.
SETTING_COLUMNS = ("voxel_size_mm", "bin_width_hu", "hu_min", "hu_max", "aggregation")


def radiomics_paths(output_dir: str | Path, case: str) -> dict[str, Path]:
    """``{"csv": DIR/<case>_radiomics.csv, "json": DIR/<case>_radiomics.json}``."""
    out = Path(output_dir)
    return {"csv": out / f"{case}_radiomics.csv", "json": out / f"{case}_radiomics.json"}


def _settings_cells(result: ScanRadiomics) -> dict[str, object]:
    c = result.config
    low, high = (None, None) if c.hu_range is None else c.hu_range
    return {
        "voxel_size_mm": c.voxel_size_mm,
        "bin_width_hu": c.bin_width_hu,
        "hu_min": low,
        "hu_max": high,
        "aggregation": AGGREGATION,
    }


def _tumor_cells(tumor: TumorRadiomics) -> dict[str, object]:
    les = tumor.lesion
    return {
        "id": les.id,
        "voxels": les.voxels,
        "volume_ml": round(les.volume_ml, 4),
        "world_x_mm": les.centroid_world_mm[0],
        "world_y_mm": les.centroid_world_mm[1],
        "world_z_mm": les.centroid_world_mm[2],
    }


def radiomics_rows(result: ScanRadiomics) -> list[dict[str, object]]:
    """One dict per tumor: key columns, setting columns, features, ``undefined_features``."""
    settings = _settings_cells(result)
    rows = []
    for tumor in result.tumors:
        row = {**_tumor_cells(tumor), **settings}
        row.update(tumor.features)
        row["undefined_features"] = ";".join(tumor.undefined)
        rows.append(row)
    return rows


def _columns(result: ScanRadiomics) -> list[str]:
    return [*KEY_COLUMNS, *SETTING_COLUMNS, *result.columns, "undefined_features"]


def _cell(value: object) -> object:
    """CSV text of a value: empty for undefined (NaN, None), full precision for floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[dict]) -> Path:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in header])
    return path


def write_radiomics_csv(result: ScanRadiomics, path: str | Path) -> Path:
    """Write one row per tumor (a header only for an empty mask)."""
    return _write_csv(Path(path), _columns(result), radiomics_rows(result))


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _json_value(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def write_radiomics_json(
    result: ScanRadiomics,
    path: str | Path,
    ct: CTVolume | None = None,
    mask_source: str | Path | None = None,
) -> Path:
    """Write the features of every tumor with the settings, feature names and versions."""
    doc: dict = {
        "settings": result.config.settings(),
        "processing": result.config.description(),
        "software": {"mirp": _version("mirp"), "lungnet": _version("lungnet")},
        "feature_count": len(result.catalogue),
        "features": [
            {"column": f.column, "name": f.name, "ibsi_id": f.ibsi_id, "family": f.family}
            for f in result.catalogue
        ],
        "count": len(result.tumors),
        "tumors": [
            {
                **_tumor_cells(t),
                "features": {k: _json_value(v) for k, v in t.features.items()},
                "undefined": t.undefined,
                "problem": t.problem,
            }
            for t in result.tumors
        ],
    }
    if not result.tumors:
        doc["note"] = "the mask is empty: no tumor, no row"
    if ct is not None:
        doc["scan"] = {
            "source": None if ct.source is None else str(ct.source),
            "shape": list(ct.shape),
            "spacing_mm": [round(s, 6) for s in ct.spacing],
            "file_axcodes": "".join(ct.geometry.axcodes),
        }
    if mask_source is not None:
        doc["mask"] = str(mask_source)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def write_dataset_csv(results: Sequence[tuple[str, ScanRadiomics]], path: str | Path) -> Path:
    """Join every scan's rows into one table with a ``case`` column first."""
    if not results:
        raise ValueError("no scan to join")
    header = ["case", *_columns(results[0][1])]
    rows = [{"case": case, **row} for case, result in results for row in radiomics_rows(result)]
    return _write_csv(Path(path), header, rows)
