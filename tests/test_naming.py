"""lungnet.naming: case names from scan names and the names of what is written for a case."""

from __future__ import annotations

from pathlib import Path

import pytest

from lungnet.naming import (
    case_name,
    case_of_output,
    is_nifti_name,
    output_file_name,
    strip_nifti_suffix,
)


@pytest.mark.parametrize(
    ("path", "strip_channel", "expected"),
    [
        ("/d/lung_001.nii.gz", False, "lung_001"),
        ("/d/lung_001.NII.GZ", False, "lung_001"),
        ("/d/lung_001.nii", False, "lung_001"),
        ("/d/series_1", False, "series_1"),
        ("/d/lung_001_0000.nii.gz", False, "lung_001_0000"),
        ("/d/lung_001_0000.nii.gz", True, "lung_001"),
        ("/d/lung_001_000.nii.gz", True, "lung_001_000"),  # not a 4-digit channel
        ("/d/lung_001_0001.nii.gz", True, "lung_001_0001"),  # a second channel is no CT
        ("/d/.nii.gz", False, "scan"),
    ],
)
def test_case_names_come_from_the_last_path_component(path, strip_channel, expected):
    assert case_name(Path(path), strip_channel=strip_channel) == expected


def test_outputs_add_one_suffix_per_kind_and_give_their_case_back():
    assert output_file_name("lung_001", "mask") == "lung_001_pred.nii.gz"
    assert output_file_name("lung_001", "probabilities") == "lung_001_prob.nii.gz"
    assert output_file_name("lung_001", "report", ".html") == "lung_001_report.html"
    assert case_of_output("lung_001_pred.nii.gz", "mask") == "lung_001"
    assert case_of_output("lung_001_report.html", "report") == "lung_001"
    assert case_of_output("lung_001.nii.gz", "mask") is None
    assert case_of_output("_pred.nii.gz", "mask") is None


def test_nifti_names_are_recognised_in_any_case():
    assert is_nifti_name("a.nii") and is_nifti_name("a.Nii.Gz") and not is_nifti_name("a.npy")
    assert strip_nifti_suffix("a.b.nii.gz") == "a.b" and strip_nifti_suffix("a.txt") == "a.txt"
