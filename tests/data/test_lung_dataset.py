"""LungDataset: items, 2.5D context channels, manifest checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lungnet.data import LungDataset, read_slice_manifest
from lungnet.errors import LungNetInputError


def test_item_is_a_one_channel_image_and_mask(slice_folder):
    ds = LungDataset(slice_folder, "train")
    item = ds[3]
    assert len(ds) == 16
    assert item["image"].shape == (1, 32, 32) and item["image"].dtype == torch.float32
    assert item["mask"].shape == (1, 32, 32) and item["mask"].dtype == torch.float32
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0}
    ref = ds.slices[3]
    expected = np.load(slice_folder / "train" / ref.case / "data" / f"{ref.slice_index}.npy")
    assert np.array_equal(item["image"][0].numpy(), expected)
    assert item["index"] == 3 and item["case_index"] == ref.case_index


def test_context_slices_stack_neighbours_with_edges_repeated(slice_folder):
    ds = LungDataset(slice_folder, "val", context_slices=2)
    case = ds.case_names[0]

    def plane(i):
        return np.load(slice_folder / "val" / case / "data" / f"{i}.npy")

    first = ds[0]["image"].numpy()
    assert first.shape == (5, 32, 32)
    for channel, z in enumerate([0, 0, 0, 1, 2]):
        assert np.array_equal(first[channel], plane(z))
    middle = ds[4]["image"].numpy()
    for channel, z in enumerate([2, 3, 4, 5, 6]):
        assert np.array_equal(middle[channel], plane(z))
    assert ds[4]["mask"].shape == (1, 32, 32)


def test_tumor_flags_come_from_the_manifest_and_match_the_masks(slice_folder):
    ds = LungDataset(slice_folder, "train")
    from_masks = np.array([bool(ds[i]["mask"].any()) for i in range(len(ds))])
    assert np.array_equal(ds.tumor_flags, from_masks)
    assert ds.tumor_flags.sum() == 4


def test_folder_without_manifest_is_refused(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(LungNetInputError, match="no manifest.json here"):
        LungDataset(tmp_path, "train")


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(LungNetInputError, match="data folder does not exist"):
        read_slice_manifest(tmp_path / "absent")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.update(format="other"), "is not a LungNet slice manifest"),
        (lambda m: m.pop("cases"), "has no 'cases' mapping"),
        (lambda m: m["config"].update(normalization="zscore"), "has an invalid 'config'"),
        (lambda m: m["cases"]["case_00"].update(split="test"), "case 'case_00' needs split"),
        (lambda m: m["cases"]["case_00"].update(tumor_slices=[99]), "tumor_slices within range"),
    ],
)
def test_malformed_manifest_is_refused(slice_folder, edit, match):
    path = slice_folder / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(LungNetInputError, match=match):
        read_slice_manifest(slice_folder)


def test_unreadable_manifest_is_refused(slice_folder):
    (slice_folder / "manifest.json").write_text("{not json")
    with pytest.raises(LungNetInputError, match="cannot be read as JSON"):
        read_slice_manifest(slice_folder)


def test_slice_of_the_wrong_size_is_refused_naming_the_case(slice_folder):
    ds = LungDataset(slice_folder, "train")
    ref = ds.slices[0]
    np.save(slice_folder / "train" / ref.case / "data" / "0.npy", np.zeros((16, 16), np.float32))
    with pytest.raises(LungNetInputError, match=r"case_00: slice 0 has shape \(16, 16\)"):
        ds[0]


def test_missing_slice_file_is_refused_naming_it(slice_folder):
    ds = LungDataset(slice_folder, "train")
    (slice_folder / "train" / "case_00" / "masks" / "0.npy").unlink()
    with pytest.raises(LungNetInputError, match=r"masks/0\.npy: cannot be read"):
        ds[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "test"}, "split must be one of"),
        ({"split": "train", "context_slices": -1}, "context_slices must be"),
    ],
)
def test_invalid_arguments_are_refused(slice_folder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LungDataset(slice_folder, **kwargs)
