"""`lungnet radiomics`: one scan or folders of pairs; bad inputs get one line, the others go on."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from radiomics_scans import AFFINE, write_scan

from helpers import save_nifti
from lungnet.cli import main
from lungnet.errors import LungNetInputError
from lungnet.radiomics import pair_scans_with_masks


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_one_scan_and_its_mask(chest, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["radiomics", "--ct", str(chest.ct_path), "--mask", str(chest.mask_path), "-o", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "done:   chest: 3 tumor(s) x 163 features" in printed
    assert "tumor 3 (1 voxel, 0.001 mL):" in printed and "features undefined" in printed
    assert [r["id"] for r in _rows(out / "chest_radiomics.csv")] == ["1", "2", "3"]
    assert (out / "chest_radiomics.json").is_file()
    assert [r["case"] for r in _rows(out / "radiomics.csv")] == ["chest"] * 3


def test_folders_of_pairs_go_on_past_bad_inputs(tmp_path, capsys):
    scans, masks = tmp_path / "scans", tmp_path / "masks"
    good = write_scan(scans, "good")
    masks.mkdir()
    (scans / "good_pred.nii.gz").rename(masks / "good_pred.nii.gz")
    hu = good.ct.array.astype(np.int16)
    save_nifti(scans / "empty.nii.gz", hu, AFFINE)
    save_nifti(masks / "empty.nii.gz", np.zeros(hu.shape, np.uint8), AFFINE)
    save_nifti(scans / "shifted.nii.gz", hu, AFFINE)
    save_nifti(masks / "shifted_pred.nii.gz", np.zeros(hu.shape[:2] + (9,), np.uint8), AFFINE)
    save_nifti(scans / "orphan.nii.gz", hu, AFFINE)

    code = main(["radiomics", "-i", str(scans), "--mask", str(masks), "-o", str(tmp_path / "out")])
    assert code == 1
    captured = capsys.readouterr()
    failed = [line for line in captured.err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2
    assert any("orphan.nii.gz: no mask for it" in line for line in failed)
    assert any("shifted_pred.nii.gz" in line and "differs from scan" in line for line in failed)
    assert "empty:  empty: the mask has no tumor" in captured.out
    assert "4 scan(s): 2 ok, 2 failed" in captured.out
    out = tmp_path / "out"
    assert len((out / "empty_radiomics.csv").read_text().splitlines()) == 1
    assert {r["case"] for r in _rows(out / "radiomics.csv")} == {"good"}


def test_a_folder_of_scans_needs_a_folder_of_masks(tmp_path, chest):
    for name in ("a", "b"):
        save_nifti(tmp_path / "scans" / f"{name}.nii.gz", chest.mask, AFFINE)
    with pytest.raises(LungNetInputError, match="give a folder"):
        pair_scans_with_masks(tmp_path / "scans", chest.mask_path)


def test_a_bad_settings_file_is_a_usage_error(chest, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"bin_width": 25}')
    code = main(
        [
            "radiomics",
            "-i",
            str(chest.ct_path),
            "--mask",
            str(chest.mask_path),
            "-o",
            str(tmp_path),
            "--config",
            str(bad),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lungnet radiomics: error: --config") and "unknown setting" in err
    assert "\n" not in err
