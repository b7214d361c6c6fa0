"""Reading a case's NIfTI file in the integer type it is stored in, for preprocessing.

:func:`lungnet.io.read_ct` returns float32 HU: for a 512 x 512 x 300 int16 scan that is a
300 MB conversion of which preprocessing keeps a quarter after resizing. Here the voxels
stay in the file's own integer type, canonically ordered by views, with the scaling
(HU = stored * slope + intercept) kept aside for the small resized result.

Any file that is not a plain integer NIfTI whose header and data are sound is handed to
``read_ct`` instead: it reports a broken file in the same one line as everywhere else,
and reads the unusual but valid ones (float voxels, say) as float32 HU.

A gzipped scan stored slice by slice (its third axis is the canonical z axis, as axial CT
is) can also be read as it is decoded, a block of slices at a time
(:func:`open_streamed`): the slices are preprocessed while they are still in the
processor's cache, and the full-resolution volume is never held.
"""

from __future__ import annotations

import mmap
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from isal import igzip_lib
from nibabel.orientations import apply_orientation, inv_ornt_aff

from lungnet.io import SourceGeometry, is_nifti_path, read_ct
from lungnet.preprocessing.slices import array_planes

__all__ = ["StreamBroken", "StoredVolume", "StreamedVolume", "open_streamed", "read_stored"]

_GZIP_MAGIC = b"\x1f\x8b"
# As lungnet.io: deflate cannot compress better than about 1032:1, so a larger claim is
# left for read_ct to refuse before anything is allocated.
_MAX_DEFLATE_RATIO = 1032
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Compressed bytes handed to the decoder at a time: small enough to stay in cache.
_FEED = 1 << 20


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

    def planes(self, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(z, planes)``: ``chunk`` canonical slices at a time as ``(n, Y, X)`` views."""
        return array_planes(self.array, chunk)


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
    geometry = _geometry(img, data.shape)
    transform = geometry.to_canonical()
    return StoredVolume(
        array=apply_orientation(data, transform),
        slope=float(img.dataobj.slope),
        intercept=float(img.dataobj.inter),
        spacing=_canonical_spacing(geometry, transform),  # type: ignore[arg-type]
        geometry=geometry,
    )


@dataclass(frozen=True)
class _PlainHeader:
    """A gzipped or plain integer NIfTI whose header promises a sound 3D volume."""

    img: nib.Nifti1Image
    shape: tuple[int, int, int]
    dtype: np.dtype
    offset: int
    gzipped: bool

    @property
    def needed(self) -> int:
        return self.offset + int(np.prod(self.shape)) * self.dtype.itemsize


def _plain_integer_header(path: Path) -> _PlainHeader | None:
    """The header of a plain integer NIfTI, or None for anything read_ct must judge."""
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
    header = _PlainHeader(img, shape, dtype, int(proxy.offset), gzipped)  # type: ignore[arg-type]
    if gzipped and header.needed > path.stat().st_size * _MAX_DEFLATE_RATIO:
        return None
    return header


def _plain_integer_nifti(path: Path) -> tuple[np.ndarray, nib.Nifti1Image] | None:
    """``(stored voxels in file order, image)``, or None for anything read_ct must judge."""
    header = _plain_integer_header(path)
    if header is None:
        return None
    try:
        if header.gzipped:
            # The compressed bytes are read through a memory map rather than copied, and
            # decoded into one buffer of the size the header promises: page faults and
            # copies cost more than decoding here. ISA-L checks the CRC and length; a
            # second gzip member (rare in NIfTI) comes out short and goes to read_ct.
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as gz:
                raw = igzip_lib.decompress(gz, flag=igzip_lib.DECOMP_GZIP, bufsize=header.needed)
        else:
            raw = path.read_bytes()
    except (EOFError, OSError, ValueError, zlib.error, igzip_lib.IsalError):
        return None
    if len(raw) < header.needed:
        return None
    count = int(np.prod(header.shape))
    data = np.frombuffer(raw, dtype=header.dtype, count=count, offset=header.offset)
    return data.reshape(header.shape, order="F"), header.img


def _geometry(img: nib.Nifti1Image, shape: tuple[int, ...]) -> SourceGeometry:
    affine = img.affine.copy()
    return SourceGeometry(
        shape=tuple(int(s) for s in shape),  # type: ignore[arg-type]
        affine=affine,
        axcodes=nib.aff2axcodes(affine),
        header=img.header.copy(),
    )


def _canonical_spacing(geometry: SourceGeometry, transform: np.ndarray) -> tuple[float, ...]:
    canonical_affine = geometry.affine @ inv_ornt_aff(transform, geometry.shape)
    return tuple(float(s) for s in np.sqrt((canonical_affine[:3, :3] ** 2).sum(axis=0)))


class StreamBroken(Exception):
    """A streamed scan turned out truncated or corrupt after its header was read."""


@dataclass
class StreamedVolume:
    """A gzipped scan read a block of slices at a time, in its stored dtype.

    The same fields as :class:`StoredVolume` without ``array``: the voxels come from
    :meth:`planes`, which decodes the file once, front to back.
    """

    path: Path
    shape: tuple[int, int, int]  # canonical (X, Y, Z)
    slope: float
    intercept: float
    spacing: tuple[float, float, float]
    geometry: SourceGeometry
    _header: _PlainHeader
    _transform: np.ndarray

    def planes(self, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(z, planes)``: canonical slices ``z .. z + n - 1`` as ``(n <= chunk, Y, X)`` views.

        The views are into the block just decoded and last until the next one is asked for.
        Blocks come in file order, which is descending z for a file stored head first.

        Raises:
            StreamBroken: the data ends early, or its CRC or length does not match.
        """
        header, transform = self._header, self._transform
        nx, ny, nz = header.shape
        plane_bytes = nx * ny * header.dtype.itemsize
        # One buffer for every slab: fresh memory per slab costs page faults.
        buffer = np.empty(chunk * plane_bytes, np.uint8)
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as gz:
            source = memoryview(gz)
            try:
                reader = _GzipReader(source)
                reader.read_into(np.empty(header.offset, np.uint8))
                for first in range(0, nz, chunk):
                    n = min(chunk, nz - first)
                    raw = reader.read_into(buffer[: n * plane_bytes])
                    # (n, Y, X) in file order: C order of the Fortran-ordered (X, Y, n) slab.
                    slab = raw.view(header.dtype).reshape(n, ny, nx).transpose(2, 1, 0)
                    planes = apply_orientation(slab, transform).transpose(2, 1, 0)
                    if transform[2, 1] < 0:  # stored head first: canonical z runs backwards
                        yield nz - first - n, planes
                    else:
                        yield first, planes
                    del slab, planes
                reader.finish()
            except (EOFError, OSError, ValueError, zlib.error, igzip_lib.IsalError) as e:
                raise StreamBroken(str(e)) from e
            finally:
                source.release()


class _GzipReader:
    """One gzip member decoded front to back into the caller's buffers."""

    def __init__(self, source: memoryview) -> None:
        self.source = source
        self.fed = 0
        self.decoder = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)

    def _piece(self, limit: int) -> bytes:
        if self.decoder.eof:
            raise StreamBroken("the data ends before the header's volume is complete")
        if not self.decoder.needs_input:
            return self.decoder.decompress(b"", limit)
        if self.fed >= len(self.source):
            raise StreamBroken("the compressed data ends early")
        piece = self.decoder.decompress(self.source[self.fed : self.fed + _FEED], limit)
        self.fed += _FEED
        return piece

    def read_into(self, out: np.ndarray) -> np.ndarray:
        """Fill the uint8 array ``out`` with the next decoded bytes; returns it."""
        got = 0
        while got < len(out):
            piece = self._piece(len(out) - got)
            out[got : got + len(piece)] = np.frombuffer(piece, np.uint8)
            got += len(piece)
        return out

    def finish(self) -> None:
        """Decode the rest, so that ISA-L checks the CRC and the length."""
        while not self.decoder.eof:
            self._piece(_FEED)


def open_streamed(path: str | Path) -> StreamedVolume | None:
    """A gzipped plain integer NIfTI stored slice by slice, to read as it is decoded.

    None for anything else (an uncompressed file, slices along another axis, anything
    :func:`read_stored` hands to ``read_ct``): read it with :func:`read_stored`.
    """
    path = Path(path)
    header = _plain_integer_header(path)
    if header is None or not header.gzipped:
        return None
    geometry = _geometry(header.img, header.shape)
    transform = geometry.to_canonical()
    if transform[2, 0] != 2:
        return None  # the file's slices are not axial: a block of them is no block of z
    proxy = header.img.dataobj
    return StreamedVolume(
        path=path,
        shape=tuple(int(header.shape[int(axis)]) for axis in np.argsort(transform[:, 0])),  # type: ignore[arg-type]
        slope=float(proxy.slope),
        intercept=float(proxy.inter),
        spacing=_canonical_spacing(geometry, transform),  # type: ignore[arg-type]
        geometry=geometry,
        _header=header,
        _transform=transform,
    )
