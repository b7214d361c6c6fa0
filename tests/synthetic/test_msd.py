"""write_msd_dataset / write_case: Decathlon layout, geometry, storage variants, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lungnet.errors import LungNetInputError
from lungnet.io import read_ct
from lungnet.synthetic import make_phantom, write_msd_dataset
from lungnet.synthetic.msd import ORIENTATIONS, STORAGES, case_seed, case_variant, write_case

SMALL = {"size": 48, "slices": 20, "tumor_diameter_mm": (10, 20), "tumor_count": (1, 2)}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "Task06_Lung"
    write_msd_dataset(root, cases=3, test_cases=2, seed=5, **SMALL)
    return root


def test_writes_the_decathlon_layout_and_a_valid_dataset_json(dataset):
    meta = json.loads((dataset / "dataset.json").read_text())
    assert meta["labels"] == {"0": "background", "1": "cancer"}
    assert meta["modality"] == {"0": "CT"} and meta["tensorImageSize"] == "3D"
    assert meta["numTraining"] == len(meta["training"]) == 3
    assert meta["numTest"] == len(meta["test"]) == 2
    assert [e["image"] for e in meta["training"]] == [
        f"./imagesTr/lung_00{i}.nii.gz" for i in (1, 2, 3)
    ]
    assert meta["test"] == ["./imagesTs/lung_004.nii.gz", "./imagesTs/lung_005.nii.gz"]
    for entry in meta["training"]:
        assert (dataset / entry["image"]).is_file() and (dataset / entry["label"]).is_file()
    for image, label in meta["lungnet_synthetic"]["test_labels"].items():
        assert (dataset / image).is_file() and (dataset / label).is_file()
        assert label.startswith("./labelsTs/")
    assert sorted(p.name for p in dataset.iterdir()) == [
        "dataset.json",
        "imagesTr",
        "imagesTs",
        "labelsTr",
        "labelsTs",
    ]
    cases = meta["lungnet_synthetic"]["cases"]
    assert set(cases) == {f"lung_00{i}" for i in range(1, 6)}
    assert all(1 <= len(c["tumors"]) <= 2 for c in cases.values())


def test_each_label_shares_its_image_geometry_exactly(dataset):
    for image_path in sorted(dataset.glob("images*/*.nii.gz")):
        label_path = dataset / image_path.parent.name.replace("images", "labels") / image_path.name
        image, label = nib.load(image_path), nib.load(label_path)
        assert image.shape == label.shape
        np.testing.assert_array_equal(image.affine, label.affine)
        np.testing.assert_array_equal(image.header.get_qform(), label.header.get_qform())
        np.testing.assert_array_equal(image.header.get_sform(), label.header.get_sform())
        assert int(image.header["qform_code"]) == int(label.header["qform_code"]) == 1
        assert int(image.header["sform_code"]) == int(label.header["sform_code"]) == 1
        assert label.get_data_dtype() == np.uint8
        assert set(np.unique(np.asarray(label.dataobj))) <= {0, 1}


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("storage", STORAGES)
def test_both_voxel_orders_and_storages_read_back_with_the_same_hu(tmp_path, orientation, storage):
    p = make_phantom(2, size=40, slices=16, tumor_diameter_mm=(10, 20), tumor_count=(1, 1))
    image, label = tmp_path / "img.nii.gz", tmp_path / "lab.nii.gz"
    write_case(p, image, label, orientation, storage)
    ct = read_ct(image)
    assert "".join(ct.geometry.axcodes) == orientation
    np.testing.assert_array_equal(ct.array, np.clip(np.rint(p.hu), -1024, 3071))
    np.testing.assert_allclose(ct.affine, p.affine)
    np.testing.assert_array_equal(read_ct(label).array, p.label)
    proxy = nib.load(image).dataobj
    assert (proxy.slope, proxy.inter) == (
        (1.0, -1024.0) if storage == "int16_scaled" else (1.0, 0.0)
    )
    assert nib.load(image).get_data_dtype() == np.int16


def test_case_variants_cover_both_orders_and_both_storages():
    variants = {case_variant(case_seed(0, i)) for i in range(16)}
    assert variants == {(o, s) for o in ORIENTATIONS for s in STORAGES}


def test_same_arguments_write_byte_identical_files(tmp_path, dataset):
    again = tmp_path / "again"
    write_msd_dataset(again, cases=3, test_cases=2, seed=5, **SMALL)
    for f in sorted(dataset.rglob("*")):
        if f.is_file():
            assert (again / f.relative_to(dataset)).read_bytes() == f.read_bytes(), f.name


def test_an_existing_dataset_is_not_overwritten_unless_asked(tmp_path):
    root = tmp_path / "ds"
    assert write_msd_dataset(root, cases=1, seed=1, **SMALL) == root
    before = (root / "imagesTr" / "lung_001.nii.gz").read_bytes()
    with pytest.raises(LungNetInputError, match="already holds a dataset"):
        write_msd_dataset(root, cases=1, seed=2, **SMALL)
    assert (root / "imagesTr" / "lung_001.nii.gz").read_bytes() == before
    write_msd_dataset(root, cases=1, seed=2, overwrite=True, **SMALL)
    assert (root / "imagesTr" / "lung_001.nii.gz").read_bytes() != before


def test_a_run_killed_half_way_is_completed_by_running_it_again(tmp_path):
    root = tmp_path / "ds"
    write_msd_dataset(root, cases=2, seed=3, **SMALL)
    reference = {f.relative_to(root): f.read_bytes() for f in root.rglob("*.nii.gz")}
    # What a killed run leaves behind: its stamp, one finished case, no dataset.json.
    (root / "dataset.json").unlink()
    (root / "imagesTr" / "lung_002.nii.gz").unlink()
    stamp = {
        "seed": 3,
        "cases": 2,
        "test_cases": 0,
        "size": 48,
        "slices": 20,
        "tumor_diameter_mm": [10, 20],
        "tumor_count": [1, 2],
    }
    (root / ".lungnet-synth.json").write_text(json.dumps(stamp))
    write_msd_dataset(root, cases=2, seed=3, **SMALL)
    assert {f.relative_to(root): f.read_bytes() for f in root.rglob("*.nii.gz")} == reference
    assert (root / "dataset.json").is_file() and not (root / ".lungnet-synth.json").exists()


def test_parallel_workers_write_the_same_files(tmp_path, dataset):
    par = tmp_path / "par"
    write_msd_dataset(par, cases=3, test_cases=2, seed=5, workers=2, **SMALL)
    for f in sorted(dataset.glob("images*/*.nii.gz")):
        assert (par / f.relative_to(dataset)).read_bytes() == f.read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cases": 0, "test_cases": 0}, "at least one case"),
        ({"cases": 1, "workers": 0}, "workers"),
        ({"cases": 1, "size": 8}, "size"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_msd_dataset(tmp_path / "ds", **kwargs)
    assert not (tmp_path / "ds").exists()


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    target = tmp_path / "ds"
    target.write_text("not a folder")
    with pytest.raises(LungNetInputError, match="not a folder"):
        write_msd_dataset(target, cases=1, **SMALL)
