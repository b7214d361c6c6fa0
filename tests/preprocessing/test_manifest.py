"""The slice manifest: one writer and one reader, each refusing what the other would."""

from __future__ import annotations

import json

import pytest

from lungnet.data import read_slice_manifest
from lungnet.errors import LungNetInputError
from lungnet.preprocessing import PreprocessConfig, case_entry, read_manifest, write_manifest


def test_what_is_written_reads_back_with_its_config_and_cases(tmp_path):
    config = PreprocessConfig(target_size=(32, 24), clip_slices_min=3)
    cases = {
        "b": case_entry("val", 5, [0, 4], spacing=[1.0, 1.0, 2.5]),
        "a": case_entry("train", 0, []),
    }
    path = write_manifest(tmp_path, config, cases)
    manifest = read_manifest(tmp_path)
    assert path == tmp_path / "manifest.json"
    assert manifest["format"] == "lungnet-slices" and manifest["version"] == 1
    assert PreprocessConfig.from_dict(manifest["config"]) == config
    assert list(manifest["cases"]) == ["b", "a"]  # in the order given
    assert manifest["cases"]["b"] == {
        "split": "val",
        "num_slices": 5,
        "tumor_slices": [0, 4],
        "spacing": [1.0, 1.0, 2.5],
    }


def test_the_seed_era_reader_is_the_same_function(tmp_path):
    assert read_slice_manifest is read_manifest


@pytest.mark.parametrize(
    "entry",
    [case_entry("test", 3, []), case_entry("train", 3, [3]), {"split": "train"}],
    ids=["split", "tumor-slice-out-of-range", "no-slice-count"],
)
def test_the_writer_refuses_an_entry_the_reader_would_refuse(tmp_path, entry):
    with pytest.raises(ValueError, match="case 'x' needs split"):
        write_manifest(tmp_path, PreprocessConfig(), {"x": entry})
    assert not (tmp_path / "manifest.json").exists()


def test_a_boolean_is_not_a_slice_count(tmp_path):
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "format": "lungnet-slices",
                "version": 1,
                "config": PreprocessConfig().to_dict(),
                "cases": {"x": {"split": "train", "num_slices": True, "tumor_slices": []}},
            }
        )
    )
    with pytest.raises(LungNetInputError, match="case 'x' needs split"):
        read_manifest(tmp_path)
