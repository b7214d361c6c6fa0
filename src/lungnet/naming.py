"""Case names and the names of the files LungNet writes for a case.

A case is named after its scan: ``lung_001.nii.gz`` and a DICOM folder ``lung_001`` are
case ``lung_001``, and so is nnU-Net's channel-suffixed ``lung_001_0000.nii.gz`` when the
caller asks for the channel suffix to go. Outputs add one suffix each: ``_pred`` (mask),
``_prob`` (probabilities), ``_report`` (HTML report), ``_seg`` (DICOM SEG).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "NIFTI_SUFFIXES",
    "OUTPUT_SUFFIXES",
    "is_nifti_name",
    "strip_nifti_suffix",
    "case_name",
    "output_file_name",
    "case_of_output",
]

#: File name endings of NIfTI volumes, longest first so ``.nii.gz`` wins over ``.nii``.
NIFTI_SUFFIXES = (".nii.gz", ".nii")
#: What each kind of output adds to its case name.
OUTPUT_SUFFIXES = {
    "mask": "_pred",
    "probabilities": "_prob",
    "report": "_report",
    "dicom_seg": "_seg",
}
# nnU-Net names each input channel <case>_<4 digits>; a CT has one, channel 0000.
_CHANNEL_SUFFIX = re.compile(r"_0000$")


def is_nifti_name(name: str) -> bool:
    """Whether a file name ends like a NIfTI volume (``.nii`` or ``.nii.gz``, any case)."""
    return name.lower().endswith(NIFTI_SUFFIXES)


def strip_nifti_suffix(name: str) -> str:
    """``lung_001.nii.gz`` -> ``lung_001``; a name without a NIfTI suffix stays as it is."""
    lower = name.lower()
    for suffix in NIFTI_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def case_name(path: str | Path, *, strip_channel: bool = False) -> str:
    """The case a scan file or DICOM folder holds, from its last path component.

    Args:
        path: a NIfTI file or a DICOM series folder.
        strip_channel: also drop nnU-Net's ``_0000`` channel suffix.

    Path separators cannot occur in the result, so an output named after it can never
    land outside its folder; a name that would be empty or a dot becomes ``scan``.
    """
    name = strip_nifti_suffix(Path(path).name)
    if strip_channel:
        name = _CHANNEL_SUFFIX.sub("", name)
    name = name.replace("/", "_").replace("\\", "_").strip()
    return "scan" if name in ("", ".", "..") else name


def output_file_name(case: str, kind: str, extension: str = ".nii.gz") -> str:
    """``("lung_001", "mask")`` -> ``lung_001_pred.nii.gz``; kinds: see :data:`OUTPUT_SUFFIXES`."""
    return f"{case}{OUTPUT_SUFFIXES[kind]}{extension}"


def case_of_output(file_name: str, kind: str) -> str | None:
    """The case of an output file of ``kind`` (``lung_001_pred.nii.gz`` -> ``lung_001``), else None.

    The extension is whatever follows the suffix (``.nii.gz``, ``.html``, ...).
    """
    stem = strip_nifti_suffix(file_name)
    if stem == file_name and "." in file_name:
        stem = file_name.rsplit(".", 1)[0]
    suffix = OUTPUT_SUFFIXES[kind]
    return stem[: -len(suffix)] if stem.endswith(suffix) and len(stem) > len(suffix) else None
