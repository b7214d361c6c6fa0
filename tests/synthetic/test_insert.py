"""lungnet insert: tumors in scans keep exact labels, geometry, dtype and every other voxel."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi

from helpers import assert_same_geometry, save_nifti
from lungnet.cli import main
from lungnet.io import read_ct
from lungnet.synthetic import Tissue, make_phantom
from lungnet.synthetic.insert import insert_into_scan, lung_tissue_map, write_inserted_dataset
from lungnet.synthetic.msd import write_case

SCAN = "chest_ct_lps_1p5mm.nii.gz"


@pytest.fixture(scope="module")
def healthy_scan(tmp_path_factory) -> Path:
    """A tumor-free 96 px phantom stored like many real scans: LPS, int16 with scl_inter -1024."""
    p = make_phantom(21, size=96, tumor_count=(0, 0))
    folder = tmp_path_factory.mktemp("healthy")
    write_case(p, folder / "healthy.nii.gz", folder / "unused_label.nii.gz", "LPS", "int16_scaled")
    return folder / "healthy.nii.gz"


def _unchanged_beyond(before: Path, after: Path, label: np.ndarray, mm: float) -> None:
    """Stored values (unscaled, file order) are bit-identical farther than ``mm`` from any tumor."""
    a, b = nib.load(before), nib.load(after)
    raw_a, raw_b = np.asarray(a.dataobj.get_unscaled()), np.asarray(b.dataobj.get_unscaled())
    assert raw_a.dtype == raw_b.dtype and (a.dataobj.slope, a.dataobj.inter) == (
        b.dataobj.slope,
        b.dataobj.inter,
    )
    far = ndi.distance_transform_edt(label == 0, sampling=a.header.get_zooms()[:3]) > mm
    np.testing.assert_array_equal(raw_a[far], raw_b[far])
    assert (raw_a != raw_b).any()


def test_insert_into_a_phantom_file_keeps_geometry_dtype_and_every_far_voxel(
    healthy_scan, tmp_path
):
    out, infos, errors = write_inserted_dataset(
        [healthy_scan], tmp_path / "ds", seed=3, tumor_count=(2, 2)
    )
    assert not errors
    image, label_path = out / "imagesTr" / "healthy.nii.gz", out / "labelsTr" / "healthy.nii.gz"
    assert_same_geometry(healthy_scan, image)
    assert_same_geometry(healthy_scan, label_path)
    label = np.asarray(nib.load(label_path).dataobj)
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 1}
    tumors = infos["healthy"]["tumors"]
    assert len(tumors) == 2 and label.sum() == sum(t["voxels"] for t in tumors)
    _unchanged_beyond(healthy_scan, image, label, mm=2 * max(nib.load(image).header.get_zooms()))
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["training"] == [
        {"image": "./imagesTr/healthy.nii.gz", "label": "./labelsTr/healthy.nii.gz"}
    ]


def test_labels_lie_in_the_lungs_and_tumors_look_like_tumors(healthy_scan):
    ct = read_ct(healthy_scan)
    result = insert_into_scan(ct, seed=4, tumor_count=(3, 3), tumor_diameter_mm=(15, 30))
    lung_before = ct.array[result.label == 1]
    assert np.median(lung_before) < -400  # placed where there was lung
    assert result.changed[result.label == 1].all()
    assert np.median(result.hu[result.label == 1]) > np.median(lung_before) + 200


def test_the_same_seed_writes_the_same_files_and_another_seed_others(healthy_scan, tmp_path):
    runs = [
        write_inserted_dataset([healthy_scan], tmp_path / n, seed=s)[0]
        for n, s in (("a", 5), ("b", 5), ("c", 6))
    ]
    files = [(r / "imagesTr" / "healthy.nii.gz").read_bytes() for r in runs]
    assert files[0] == files[1] and files[0] != files[2]
    labels = [(r / "labelsTr" / "healthy.nii.gz").read_bytes() for r in runs[:2]]
    assert labels[0] == labels[1]


def test_a_label_file_and_a_scan_without_lungs_are_skipped_with_one_line(
    healthy_scan, tmp_path, capsys
):
    mask = save_nifti(tmp_path / "mask.nii.gz", np.zeros((40, 40, 20), np.uint8))
    body = np.full((60, 60, 20), -1000, np.int16)
    yy, xx = np.mgrid[:60, :60]
    body[(xx - 30) ** 2 + (yy - 30) ** 2 < 25**2] = 40  # an abdomen: soft tissue, no lungs
    body += np.random.default_rng(0).normal(0, 15, body.shape).astype(np.int16)
    belly = save_nifti(tmp_path / "belly.nii.gz", body)
    out = tmp_path / "ds"
    code = main(
        ["insert", "--ct", str(mask), str(healthy_scan), str(belly), "-o", str(out), "--seed", "1"]
    )
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "mask.nii.gz" in err[0] and "not a CT scan" in err[0]
    assert "belly.nii.gz" in err[1] and "no lungs found" in err[1]
    assert sorted(p.name for p in (out / "imagesTr").iterdir()) == ["healthy.nii.gz"]
    assert len(json.loads((out / "dataset.json").read_text())["lungnet_insert"]["failed"]) == 2


def test_bad_option_values_exit_2(healthy_scan, tmp_path, capsys):
    base = ["insert", "--ct", str(healthy_scan), "-o", str(tmp_path / "ds")]
    assert main([*base, "--tumor-diameter", "30", "5"]) == 2
    assert main([*base, "--library-share", "1.5"]) == 2
    assert "library_share" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_insert_into_the_shared_real_chest_ct(real_ct, tmp_path):
    scan = real_ct / SCAN
    out, infos, errors = write_inserted_dataset([scan], tmp_path / "ds", seed=0, tumor_count=(3, 3))
    assert not errors and len(infos["chest_ct_lps_1p5mm"]["tumors"]) == 3
    image, label_path = out / "imagesTr" / SCAN, out / "labelsTr" / SCAN
    assert_same_geometry(scan, image)
    assert_same_geometry(scan, label_path)
    assert nib.load(image).get_data_dtype() == nib.load(scan).get_data_dtype()
    label = np.asarray(nib.load(label_path).dataobj)
    _unchanged_beyond(scan, image, label, mm=3.0)
    before = np.asarray(nib.load(scan).dataobj)
    assert np.median(before[label == 1]) < -300  # tumors went into the lungs


def test_inserted_masses_never_grow_out_of_the_lungs(healthy_scan):
    ct = read_ct(healthy_scan)
    result = insert_into_scan(ct, seed=8, tumor_count=(4, 4), tumor_diameter_mm=(40, 80))
    assert result.tumors and not any(t.invades for t in result.tumors)
    tissue, _ = lung_tissue_map(ct)
    inside = np.isin(tissue[result.label == 1], [Tissue.LUNG, Tissue.VESSEL, Tissue.AIRWAY_LUMEN])
    assert inside.all()
