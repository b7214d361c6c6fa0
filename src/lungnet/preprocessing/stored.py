"""Reading a case's NIfTI file in the integer type it is stored in, for preprocessing.

:func:`lungnet.io.read_ct` returns float32 HU: for a 512 x 512 x 300 int16 scan that is a
300 MB conversion of which preprocessing keeps a quarter after resizing. Here the voxels
stay in the file's own integer type, canonically ordered by views, with the scaling
(HU = stored * slope + intercept) kept aside for the small resized result.

Any file that is not a plain integer NIfTI whose header and data are sound is handed to
``read_ct`` instead: it reports a broken file in the same one line as everywhere else,
and reads the unusual but valid ones (float voxels, say) as float32 HU.
"""

from __future__ import annotations

import mmap
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from isal import igzip_lib
from nibabel.orientations import apply_orientation, inv_ornt_aff

from lungnet.io import SourceGeometry, is_nifti_path, read_ct

__all__ = ["StoredVolume", "read_stored"]

_GZIP_MAGIC = b"\x1f\x8b"
# As lungnet.io: deflate cannot compress better than about 1032:1, so a larger claim is
# left for read_ct to refuse before anything is allocated.
_MAX_DEFLATE_RATIO = 1032
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class StoredVolume:
    """A scan in canonical RAS voxel order, in its stored dtype.

    Attributes:
        array: ``(X, Y, Z)`` stored values (often a view with negative strides).
        slope, intercept: HU = ``array * slope + intercept``, computed in float32.
        spacing: voxel size in mm along the canonical axes.
        geometry: the file's own geometry.
    """

    array: np.ndarray
    slope: float
    intercept: float
    spacing: tuple[float, float, float]
    geometry: SourceGeometry

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]


def read_stored(path: str | Path) -> StoredVolume:
    """Read a NIfTI scan or label without converting its voxels to float.

    Raises:
        LungNetInputError: exactly when (and as) :func:`lungnet.io.read_ct` would.
    """
    path = Path(path)
    stored = _plain_integer_nifti(path)
    if stored is None:
        ct = read_ct(path)  # reports the problem, or reads an unusual file as float HU
        return StoredVolume(ct.array, 1.0, 0.0, ct.spacing, ct.geometry)
    data, img = stored
    affine = img.affine.copy()
    geometry = SourceGeometry(
        shape=tuple(int(s) for s in data.shape),  # type: ignore[arg-type]
        affine=affine,
        axcodes=nib.aff2axcodes(affine),
        header=img.header.copy(),
    )
    transform = geometry.to_canonical()
    canonical_affine = affine @ inv_ornt_aff(transform, data.shape)
    spacing = tuple(float(s) for s in np.sqrt((canonical_affine[:3, :3] ** 2).sum(axis=0)))
    return StoredVolume(
        array=apply_orientation(data, transform),
        slope=float(img.dataobj.slope),
        intercept=float(img.dataobj.inter),
        spacing=spacing,  # type: ignore[arg-type]
        geometry=geometry,
    )


def _plain_integer_nifti(path: Path) -> tuple[np.ndarray, nib.Nifti1Image] | None:
    """``(stored voxels in file order, image)``, or None for anything read_ct must judge."""
    if not path.is_file() or not is_nifti_path(path) or path.stat().st_size == 0:
        return None
    gzipped = path.name.lower().endswith(".gz")
    if gzipped:
        with open(path, "rb") as f:
            if f.read(2) != _GZIP_MAGIC:
                return None
    try:
        img = nib.load(path)
    except Exception:  # nibabel raises many types for a bad header; read_ct words them
        return None
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        return None
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    proxy = img.dataobj
    dtype = np.dtype(proxy.dtype)
    if len(shape) != 3 or min(shape) < 1 or dtype.kind not in "iu":
        return None
    slope, inter = float(proxy.slope), float(proxy.inter)
    largest = max(abs(int(np.iinfo(dtype).min)), int(np.iinfo(dtype).max))
    if not largest * abs(slope) + abs(inter) < _FLOAT32_MAX:
        return None  # float32 HU could overflow to inf, which read_ct refuses
    count = int(np.prod(shape))
    needed = int(proxy.offset) + count * dtype.itemsize
    if gzipped and needed > path.stat().st_size * _MAX_DEFLATE_RATIO:
        return None
    try:
        if gzipped:
            # The compressed bytes are read through a memory map rather than copied, and
            # decoded into one buffer of the size the header promises: page faults and
            # copies cost more than decoding here. ISA-L checks the CRC and length; a
            # second gzip member (rare in NIfTI) comes out short and goes to read_ct.
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as gz:
                raw = igzip_lib.decompress(gz, flag=igzip_lib.DECOMP_GZIP, bufsize=needed)
        else:
            raw = path.read_bytes()
    except (EOFError, OSError, ValueError, zlib.error, igzip_lib.IsalError):
        return None
    if len(raw) < needed:
        return None
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=int(proxy.offset))
    return data.reshape(shape, order="F"), img
