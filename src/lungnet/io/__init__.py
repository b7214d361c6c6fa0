"""Reading CT scans and writing masks in the scan's own geometry."""

from lungnet.io.atomic import atomic_dir, atomic_path
from lungnet.io.volume import (
    CTVolume,
    SourceGeometry,
    is_nifti_path,
    read_ct,
    write_mask,
    write_volume,
)

__all__ = [
    "CTVolume",
    "SourceGeometry",
    "atomic_dir",
    "atomic_path",
    "is_nifti_path",
    "read_ct",
    "write_mask",
    "write_volume",
]
