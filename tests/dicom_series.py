"""Tiny DICOM CT series written with pydicom, and copies of real ones given their UIDs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

SPACING_MM = (0.8, 0.7, 2.5)  # column, row, slice
ORIGIN_LPS = (-10.0, -20.0, -100.0)


def write_ct_series(folder: Path, hu: np.ndarray) -> Path:
    """Write ``hu`` (slices, rows, columns; int16) as an axial CT series, one file per slice.

    Slice ``k`` lies at ``ORIGIN_LPS[2] + k * SPACING_MM[2]``; the file names run against
    the slice order, so only a reader that sorts by position gets the volume right.
    """
    folder.mkdir(parents=True, exist_ok=True)
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    n_slices, rows, columns = hu.shape
    for k in range(n_slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID = frame_of_reference
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 3, k + 1
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = (
            "Tiny^Phantom",
            "0",
            "",
            "",
        )
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20260101", "120000", "1", ""
        ds.ReferringPhysicianName = ""
        ds.ImagePositionPatient = [ORIGIN_LPS[0], ORIGIN_LPS[1], ORIGIN_LPS[2] + k * SPACING_MM[2]]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [SPACING_MM[1], SPACING_MM[0]]  # row spacing, then column spacing
        ds.SliceThickness = SPACING_MM[2]
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = np.ascontiguousarray(hu[k], dtype="<i2").tobytes()
        ds.save_as(folder / f"slice_{n_slices - k:03d}.dcm", enforce_file_format=True)
    return folder


def copy_with_uids(source: Path, folder: Path) -> Path:
    """Copy a series whose Study and Series UIDs were blanked, giving it fresh ones.

    The pixel data is copied as stored (compressed or not); nothing else changes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.save_as(folder / path.name)
    return folder
