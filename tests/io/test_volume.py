"""lungnet.io: scans read into canonical RAS order, masks written back in their own geometry."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from helpers import RAS_AFFINE, assert_same_geometry, lps_twin, save_nifti
from lungnet.errors import LungNetInputError
from lungnet.io import read_ct, write_mask


def test_ras_nifti_is_read_unchanged_with_spacing(tmp_path):
    hu = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) - 1000
    ct = read_ct(save_nifti(tmp_path / "ras.nii.gz", hu))
    np.testing.assert_array_equal(ct.array, hu)
    assert ct.array.dtype == np.float32
    assert ct.spacing == pytest.approx((0.8, 0.8, 2.5))
    assert ct.geometry.axcodes == ("R", "A", "S")


def test_lps_twin_gives_the_same_canonical_array_and_world_positions(tmp_path):
    hu = np.random.default_rng(0).integers(-1000, 1000, (6, 7, 5)).astype(np.int16)
    lps, lps_affine = lps_twin(hu, RAS_AFFINE)
    a = read_ct(save_nifti(tmp_path / "ras.nii", hu))
    b = read_ct(save_nifti(tmp_path / "lps.nii", lps, lps_affine))
    assert b.geometry.axcodes == ("L", "P", "S")
    np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-5)


def test_scl_slope_and_inter_are_applied(tmp_path):
    stored = np.full((4, 4, 3), 100, np.int16)
    ct = read_ct(save_nifti(tmp_path / "scaled.nii.gz", stored, slope=2.0, inter=-1024.0))
    np.testing.assert_allclose(ct.array, 2.0 * 100 - 1024.0)


def test_a_singleton_fourth_dimension_is_accepted(tmp_path):
    ct = read_ct(save_nifti(tmp_path / "t1.nii.gz", np.zeros((4, 4, 3, 1), np.int16)))
    assert ct.shape == (4, 4, 3)


def test_mask_round_trip_keeps_lps_geometry_and_voxels(tmp_path):
    hu = np.zeros((6, 7, 5), np.int16)
    lps, lps_affine = lps_twin(hu, RAS_AFFINE)
    src = save_nifti(tmp_path / "lps.nii.gz", lps, lps_affine)
    ct = read_ct(src)
    mask = np.zeros(ct.shape, np.uint8)
    mask[0, 0, 0] = 1  # canonical corner: the most left, posterior, inferior voxel
    out = write_mask(mask, ct, tmp_path / "mask.nii.gz")
    assert_same_geometry(src, out)
    stored = np.asanyarray(nib.load(out).dataobj)
    assert stored.dtype == np.uint8
    # In LPS storage the canonical (0, 0, 0) voxel is the last one along x and y.
    assert stored[-1, -1, 0] == 1 and stored.sum() == 1


def test_real_lps_scan_reads_in_hu_and_round_trips_exactly(real_ct, tmp_path):
    src = real_ct / "chest_ct_lps_1p5mm.nii.gz"
    ct = read_ct(src)
    assert ct.geometry.axcodes == ("L", "P", "S")
    assert ct.shape == (122, 102, 112)
    assert ct.spacing == pytest.approx((1.5, 1.5, 1.5))
    assert -1100 <= ct.array.min() < -900 and ct.array.max() > 1000  # air and bone in HU
    # Lungs hold much air: a good part of the crop is at lung density.
    assert 0.15 < np.mean((ct.array > -950) & (ct.array < -600)) < 0.6
    mask = (ct.array > 300).astype(np.uint8)  # bone
    out = write_mask(mask, ct, tmp_path / "bone.nii.gz")
    assert_same_geometry(src, out)
    np.testing.assert_array_equal(
        np.asanyarray(nib.load(out).dataobj), (nib.load(src).get_fdata() > 300)
    )


def test_real_dicom_series_reads_jpeg2000_with_rescale_and_position_order(real_ct, tmp_path):
    series = real_ct / "dicom_series"
    ct = read_ct(series)
    assert ct.shape == (512, 512, 20)
    assert ct.spacing[0] == pytest.approx(0.9765625)
    assert ct.array.min() == pytest.approx(-1024)  # RescaleIntercept applied
    # Slices sorted by position: world z increases with the canonical z index.
    z_world = [(ct.affine @ [0, 0, k, 1])[2] for k in range(ct.shape[2])]
    assert np.all(np.diff(z_world) > 0)
    out = write_mask(np.zeros(ct.shape, np.uint8), ct, tmp_path / "series_pred.nii.gz")
    back = read_ct(out)
    np.testing.assert_allclose(back.affine, ct.affine, atol=1e-4)


def test_dicom_slices_are_ordered_by_position_not_file_name(real_ct, tmp_path):
    files = sorted((real_ct / "dicom_series").iterdir())
    shuffled = tmp_path / "series"
    shuffled.mkdir()
    for i, f in enumerate(reversed(files)):  # names now sort in the opposite order
        os.symlink(f, shuffled / f"{i:03d}.dcm")
    np.testing.assert_array_equal(read_ct(shuffled).array, read_ct(real_ct / "dicom_series").array)


# ----------------------------------------------------------------------------- bad files


def _bad(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda t: t / "absent.nii.gz", "does not exist"),
        (lambda t: _bad(t, "empty.nii.gz", b""), "is empty"),
        (lambda t: _bad(t, "plain.nii.gz", b"not gzip at all" * 10), "not gzip-compressed"),
        (lambda t: _bad(t, "notes.txt", b"hello"), "not a NIfTI file"),
        (lambda t: _bad(t, "junk.nii", b"x" * 400), "not a readable NIfTI"),
        (lambda t: _bad(t, "junk.nii.gz", gzip.compress(b"x" * 400)), "not a readable NIfTI"),
    ],
    ids=["missing", "empty", "not-gzip", "other-extension", "garbage-nii", "garbage-gz"],
)
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(LungNetInputError, match=match) as info:
        read_ct(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_dangling_symlink_is_reported(tmp_path):
    link = tmp_path / "gone.nii.gz"
    link.symlink_to(tmp_path / "never-there.nii.gz")
    with pytest.raises(LungNetInputError, match="symbolic link"):
        read_ct(link)


def test_single_dicom_file_asks_for_the_folder(real_ct):
    one = next((real_ct / "dicom_series").iterdir())
    with pytest.raises(LungNetInputError, match="single DICOM file"):
        read_ct(one)


def test_folder_without_dicom_is_reported(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(LungNetInputError, match="without a DICOM series"):
        read_ct(tmp_path)


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 4, 3)], ids=["2d", "4d"])
def test_non_3d_images_are_refused(tmp_path, shape):
    path = save_nifti(tmp_path / "x.nii.gz", np.zeros(shape, np.int16), np.eye(4))
    with pytest.raises(LungNetInputError, match="must be 3D"):
        read_ct(path)


def test_nan_voxels_are_refused(tmp_path):
    data = np.zeros((4, 4, 4), np.float32)
    data[1, 2, 3] = np.nan
    data[0, 0, 0] = np.inf
    with pytest.raises(LungNetInputError, match="2 NaN or infinite"):
        read_ct(save_nifti(tmp_path / "nan.nii.gz", data))


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_truncated_files_are_refused(tmp_path, suffix):
    full = save_nifti(
        tmp_path / f"full{suffix}",
        np.random.default_rng(0).normal(0, 100, (32, 32, 16)).astype(np.int16),
    )
    data = full.read_bytes()
    cut = _bad(tmp_path, f"cut{suffix}", data[: len(data) // 2])
    with pytest.raises(LungNetInputError, match="truncated"):
        read_ct(cut)


def test_header_claiming_far_more_voxels_than_the_file_holds_is_refused_before_reading(tmp_path):
    header = nib.Nifti1Header()
    header.set_data_shape((4000, 4000, 4000))  # 128 GB of int16 if believed
    header.set_data_dtype(np.int16)
    raw = header.binaryblock + b"\x00" * 4 + b"\x00" * 1000
    path = _bad(tmp_path, "liar.nii.gz", gzip.compress(raw))
    with pytest.raises(LungNetInputError, match="far more than"):
        read_ct(path)


def test_write_mask_refuses_a_wrong_shape_and_leaves_nothing(tmp_path):
    ct = read_ct(save_nifti(tmp_path / "ct.nii.gz", np.zeros((4, 4, 4), np.int16)))
    with pytest.raises(ValueError, match="differs"):
        write_mask(np.zeros((4, 4, 5)), ct, tmp_path / "out" / "m.nii.gz")
    assert not (tmp_path / "out" / "m.nii.gz").exists()
    assert list((tmp_path).glob("**/.lungnet-tmp-*")) == []
