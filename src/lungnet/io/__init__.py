"""Reading CT scans and writing masks in the scan's own geometry."""

from lungnet.io.atomic import atomic_dir, atomic_path
from lungnet.io.grid import GRID_ATOL_MM, check_same_grid, same_grid
from lungnet.io.hounsfield import check_hounsfield
from lungnet.io.volume import (
    CTVolume,
    SourceGeometry,
    is_dicom_file,
    is_nifti_path,
    read_ct,
    write_mask,
    write_volume,
)

__all__ = [
    "CTVolume",
    "GRID_ATOL_MM",
    "check_hounsfield",
    "check_same_grid",
    "same_grid",
    "SourceGeometry",
    "atomic_dir",
    "atomic_path",
    "is_dicom_file",
    "is_nifti_path",
    "read_ct",
    "write_mask",
    "write_volume",
]
