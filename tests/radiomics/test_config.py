"""The radiomics settings: the documented default, and overrides from a JSON file."""

from __future__ import annotations

import json

import pytest

from lungnet.errors import LungNetInputError
from lungnet.radiomics.config import DEFAULT_CONFIG, FEATURE_FAMILIES, load_config


def test_default_is_1mm_isotropic_25hu_bins_minus1000_to_400hu_in_3d():
    assert DEFAULT_CONFIG.settings() == {
        "voxel_size_mm": 1.0,
        "bin_width_hu": 25.0,
        "hu_range": [-1000.0, 400.0],
        "mask_threshold": 0.5,
    }
    args = DEFAULT_CONFIG.mirp_arguments()
    assert args["new_spacing"] == 1.0 and args["spline_order"] == 1
    assert args["base_discretisation_method"] == "fixed_bin_size"
    assert args["base_discretisation_bin_width"] == 25.0
    assert args["resegmentation_intensity_range"] == [-1000.0, 400.0]
    assert args["by_slice"] is False and args["ibsi_compliant"] is True
    assert args["glcm_spatial_method"] == args["glrlm_spatial_method"] == "3d_volume_merge"
    assert args["base_feature_families"] == list(FEATURE_FAMILIES) and len(FEATURE_FAMILIES) == 10


def test_description_states_every_step():
    text = DEFAULT_CONFIG.description()
    assert "isotropic 1 mm" in text["resampling"]
    assert text["discretisation"] == "fixed bin width 25 HU"
    assert text["resegmentation"] == "-1000 to 400 HU"
    assert text["aggregation"].startswith("3D")


def test_override_file_changes_only_the_keys_it_names(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"voxel_size_mm": 2, "hu_range": [-500, 400]}')
    config = load_config(path)
    assert config.voxel_size_mm == 2.0 and config.hu_range == (-500.0, 400.0)
    assert config.bin_width_hu == DEFAULT_CONFIG.bin_width_hu


def test_null_turns_a_step_off(tmp_path):
    path = tmp_path / "phantom.json"
    path.write_text('{"voxel_size_mm": null, "bin_width_hu": null, "hu_range": null}')
    args = load_config(path).mirp_arguments()
    assert "new_spacing" not in args and "resegmentation_intensity_range" not in args
    assert args["base_discretisation_method"] == "none"


def test_the_settings_of_a_written_radiomics_json_are_accepted(tmp_path):
    path = tmp_path / "case_radiomics.json"
    settings = {**DEFAULT_CONFIG.settings(), "bin_width_hu": 10.0}
    path.write_text(json.dumps({"settings": settings, "tumors": []}))
    assert load_config(path).bin_width_hu == 10.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"voxel_size": 1}', "unknown setting"),
        ('{"voxel_size_mm": -1}', "voxel_size_mm must be a positive number"),
        ('{"bin_width_hu": "25"}', "bin_width_hu must be a positive number"),
        ('{"hu_range": [400, -1000]}', "hu_range must be"),
        ('{"mask_threshold": 1.5}', "mask_threshold must be between 0 and 1"),
        ("[1, 2]", "must hold a JSON object"),
        ("voxel_size_mm = 1", "is not a readable JSON file"),
    ],
)
def test_a_bad_settings_file_is_refused_in_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(LungNetInputError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_a_missing_settings_file_is_named(tmp_path):
    with pytest.raises(LungNetInputError, match="radiomics settings file not found"):
        load_config(tmp_path / "nope.json")
