"""Reading a case in its stored type: the same voxels and the same refusals as read_ct."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import RAS_AFFINE, lps_twin, save_nifti, tiny_case
from lungnet.errors import LungNetInputError
from lungnet.io import read_ct
from lungnet.preprocessing.stored import StreamBroken, open_streamed, read_stored


@pytest.mark.parametrize("order", ["ras", "lps"])
def test_stored_voxels_scaled_are_read_cts_hounsfield_units(tmp_path, order):
    hu, _ = tiny_case(3)
    array, affine = (hu, RAS_AFFINE) if order == "ras" else lps_twin(hu, RAS_AFFINE)
    path = save_nifti(
        tmp_path / "ct.nii.gz", (array + 1024).astype(np.uint16), affine, inter=-1024.0
    )
    stored, ct = read_stored(path), read_ct(path)
    assert stored.array.dtype == np.uint16 and (stored.slope, stored.intercept) == (1.0, -1024.0)
    np.testing.assert_array_equal(stored.array.astype(np.float32) - 1024, ct.array)
    assert stored.spacing == ct.spacing and stored.geometry.as_dict() == ct.geometry.as_dict()


def test_float_voxels_are_read_as_hounsfield_units(tmp_path):
    path = save_nifti(tmp_path / "ct.nii.gz", np.full((4, 5, 6), -500.5, np.float32))
    stored = read_stored(path)
    assert stored.array.dtype == np.float32 and (stored.slope, stored.intercept) == (1.0, 0.0)
    assert np.all(stored.array == -500.5)


def _broken(tmp_path, how: str):
    good = save_nifti(tmp_path / "good.nii.gz", tiny_case(0)[0])
    path = tmp_path / f"{how}.nii.gz"
    if how == "truncated":
        path.write_bytes(good.read_bytes()[:-500])
    elif how == "not-gzip":
        path.write_bytes(b"plain text, not gzip")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "nan":
        save_nifti(path, np.full((4, 4, 4), np.nan, np.float32))
    elif how == "2d":
        save_nifti(path, np.zeros((4, 4), np.int16))
    return path


@pytest.mark.parametrize("how", ["truncated", "not-gzip", "empty", "nan", "2d", "missing"])
def test_a_broken_file_is_refused_in_read_cts_words(tmp_path, how):
    path = _broken(tmp_path, how) if how != "missing" else tmp_path / "missing.nii.gz"
    with pytest.raises(LungNetInputError) as expected:
        read_ct(path)
    with pytest.raises(LungNetInputError) as got:
        read_stored(path)
    assert str(got.value) == str(expected.value)


def test_a_gzip_file_of_two_members_is_judged_as_read_ct_judges_it(tmp_path):
    import gzip

    plain = save_nifti(tmp_path / "ct.nii", tiny_case(2)[0]).read_bytes()
    path = tmp_path / "two_members.nii.gz"
    path.write_bytes(gzip.compress(plain[:1000]) + gzip.compress(plain[1000:]))
    try:
        expected = read_ct(path).array
    except LungNetInputError as e:
        with pytest.raises(LungNetInputError, match="^" + re.escape(str(e)) + "$"):
            read_stored(path)
    else:
        stored = read_stored(path)
        np.testing.assert_array_equal(
            stored.array.astype(np.float32) * stored.slope + stored.intercept, expected
        )


def _stored_as(codes: str, array_ras: np.ndarray, affine_ras: np.ndarray):
    """The same voxels stored in the voxel order ``codes`` (e.g. "LPI": head first)."""
    from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, ornt_transform

    transform = ornt_transform(axcodes2ornt("RAS"), axcodes2ornt(tuple(codes)))
    return (
        np.ascontiguousarray(apply_orientation(array_ras, transform)),
        affine_ras @ inv_ornt_aff(transform, array_ras.shape),
    )


@pytest.mark.parametrize("codes", ["RAS", "LPS", "LPI", "PRS", "ALI"])
def test_a_scan_stored_slice_by_slice_streams_the_voxels_read_stored_reads(tmp_path, codes):
    hu, _ = tiny_case(3)
    array, affine = _stored_as(codes, (hu + 1024).astype(np.uint16), RAS_AFFINE)
    path = save_nifti(tmp_path / "ct.nii.gz", array, affine, inter=-1024.0)
    stored, streamed = read_stored(path), open_streamed(path)
    assert streamed is not None and streamed.shape == stored.shape == hu.shape
    assert (streamed.slope, streamed.intercept, streamed.spacing) == (
        stored.slope,
        stored.intercept,
        stored.spacing,
    )
    assert streamed.geometry.as_dict() == stored.geometry.as_dict()
    rebuilt = np.zeros(stored.shape, stored.array.dtype)
    visits = np.zeros(stored.shape[2], int)
    for z, planes in streamed.planes(5):
        assert planes.shape[1:] == stored.shape[1::-1] and len(planes) <= 5
        rebuilt[:, :, z : z + len(planes)] = planes.transpose(2, 1, 0)
        visits[z : z + len(planes)] += 1
    assert (visits == 1).all()  # every slice once, whichever way the file runs
    np.testing.assert_array_equal(rebuilt, stored.array)


def test_slices_along_another_axis_or_an_uncompressed_file_are_read_whole(tmp_path):
    hu, _ = tiny_case(1)
    sagittal, affine = _stored_as("ASR", hu, RAS_AFFINE)
    assert open_streamed(save_nifti(tmp_path / "sagittal.nii.gz", sagittal, affine)) is None
    assert open_streamed(save_nifti(tmp_path / "plain.nii", hu)) is None
    assert open_streamed(save_nifti(tmp_path / "float.nii.gz", hu.astype(np.float32))) is None


@pytest.mark.parametrize("how", ["truncated", "bad-crc"])
def test_a_stream_that_breaks_after_its_header_says_so(tmp_path, how):
    good = save_nifti(tmp_path / "good.nii.gz", tiny_case(0)[0]).read_bytes()
    broken = bytearray(good[:-500] if how == "truncated" else good)
    if how == "bad-crc":
        broken[-8] ^= 0xFF  # the gzip trailer's CRC32
    path = tmp_path / f"{how}.nii.gz"
    path.write_bytes(bytes(broken))
    streamed = open_streamed(path)
    assert streamed is not None  # the header is sound: the damage shows while decoding
    with pytest.raises(StreamBroken):
        for _ in streamed.planes(4):
            pass
    with pytest.raises(LungNetInputError):
        read_stored(path)
