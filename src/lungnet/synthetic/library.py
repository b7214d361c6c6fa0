"""Real lung nodules as tumor templates, split by patient so train, validation and test never meet.

A library folder holds ``image/NAME.nii.gz`` (a HU crop around one nodule) and
``mask/NAME.nii.gz`` (its mask on the same grid), with names like
``LIDC-IDRI-0001_R_1``: the patient is the part before ``_R_``. Each patient goes to one
split by a fixed hash of its id (about 70 % train, 15 % val, 15 % test), the same on
every machine and for every seed.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

from lungnet.errors import LungNetInputError
from lungnet.synthetic.tubes import Grid
from lungnet.synthetic.tumors import _IN_LUNG, TumorSpec, one_piece

__all__ = ["SPLITS", "NoduleLibrary", "NoduleTemplate", "patient_split"]

SPLITS = ("train", "val", "test")


def patient_split(patient: str) -> str:
    """The split of every nodule of ``patient``: a fixed hash, about 70/15/15 %."""
    bucket = zlib.crc32(patient.encode()) % 20
    return "train" if bucket < 14 else ("val" if bucket < 17 else "test")


@dataclass(frozen=True)
class NoduleTemplate:
    """One library nodule: where it is and its size."""

    name: str
    patient: str
    image: Path
    mask: Path
    equivalent_diameter_mm: float


@functools.lru_cache(maxsize=4)
def _scan(folder: str) -> tuple[NoduleTemplate, ...]:
    root = Path(folder)
    if not (root / "image").is_dir() or not (root / "mask").is_dir():
        raise LungNetInputError(root, "is not a nodule library (needs image/ and mask/ folders)")
    out = []
    for image in sorted((root / "image").glob("*.nii.gz")):
        mask = root / "mask" / image.name
        if not mask.is_file():
            continue
        m = nib.load(mask)
        volume = float(np.count_nonzero(np.asarray(m.dataobj)) * np.prod(m.header.get_zooms()[:3]))
        if volume <= 0:
            continue
        name = image.name[: -len(".nii.gz")]
        out.append(
            NoduleTemplate(
                name, name.split("_R_")[0], image, mask, float((6 * volume / np.pi) ** (1 / 3))
            )
        )
    if not out:
        raise LungNetInputError(root, "holds no image/mask pairs of nodules")
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _load(template: NoduleTemplate) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    img, msk = nib.load(template.image), nib.load(template.mask)
    hu = np.asarray(img.dataobj, dtype=np.float32)
    spacing = tuple(float(s) for s in img.header.get_zooms()[:3])
    return hu, np.asarray(msk.dataobj) > 0, spacing  # type: ignore[return-value]


class NoduleLibrary:
    """Real nodules with their masks, drawn as tumors into phantoms and scans.

    Args:
        folder: the library (``image/`` and ``mask/`` of the same names).

    Raises:
        LungNetInputError: the folder is not a library or holds no nodules.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.templates = _scan(str(self.folder.resolve()))

    def split(self, name: str) -> list[NoduleTemplate]:
        """The templates of split ``name`` ("train", "val" or "test")."""
        if name not in SPLITS:
            raise ValueError(f"library split must be one of {SPLITS}, got {name!r}")
        return [t for t in self.templates if patient_split(t.patient) == name]

    def assign(
        self, rng: np.random.Generator, specs: list[TumorSpec], share: float, split: str
    ) -> list[TumorSpec]:
        """Turn about ``share`` of the specs the library can match in size into real nodules.

        A matched spec takes one of the five templates nearest its diameter; masses larger
        than the split's largest nodule stay procedural.
        """
        pool = self.split(split)
        if not pool:
            return specs
        sizes = np.array([t.equivalent_diameter_mm for t in pool])
        out = []
        for spec in specs:
            if rng.random() < share and spec.diameter_mm <= sizes.max() * 1.1:
                nearest = np.argsort(np.abs(sizes - spec.diameter_mm))[:5]
                t = pool[int(nearest[rng.integers(len(nearest))])]
                position = "isolated" if spec.position == "mediastinal" else spec.position
                spec = TumorSpec(t.equivalent_diameter_mm, "library", position, template=t.name)
            out.append(spec)
        return out

    def painter(self, split: str):
        """A :data:`~lungnet.synthetic.tumors.TemplatePainter` for this library's ``split``."""
        by_name = {t.name: t for t in self.split(split)}

        def paint(rng, grid, hu, tissue, label, c, spec):
            return paint_template(rng, grid, hu, tissue, label, c, by_name[spec.template])

        return paint


def _resampled(
    rng: np.random.Generator, template: NoduleTemplate, spacing: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The template's HU and mask on ``spacing``, randomly mirrored (orientation is unknown)."""
    hu, mask, src = _load(template)
    factors = [s / d for s, d in zip(src, spacing, strict=True)]
    hu_r = ndi.zoom(hu, factors, order=1, mode="nearest", grid_mode=True)
    frac = ndi.zoom(mask.astype(np.float32), factors, order=1, mode="grid-constant", grid_mode=True)
    mask_r = frac >= 0.5
    if not mask_r.any():  # a nodule smaller than a voxel keeps its densest voxel
        mask_r[np.unravel_index(int(np.argmax(frac)), frac.shape)] = True
    for axis in range(3):
        if rng.random() < 0.5:
            hu_r, mask_r = np.flip(hu_r, axis), np.flip(mask_r, axis)
    return np.ascontiguousarray(hu_r), np.ascontiguousarray(mask_r)


def paint_template(
    rng: np.random.Generator,
    grid: Grid,
    hu: np.ndarray,
    tissue: np.ndarray,
    label: np.ndarray,
    c: np.ndarray,
    template: NoduleTemplate,
) -> tuple[int, float, str]:
    """Paint a real nodule centred on ``c`` (mm): its own HU inside its mask, exact label.

    Only lung and vessel voxels are taken; a one-voxel rim outside the mask takes half of
    the nodule's own margin, as partial volume, and is not labelled.
    """
    from lungnet.synthetic.anatomy import Tissue

    t_hu, t_mask = _resampled(rng, template, grid.spacing)
    centroid = np.rint(np.argwhere(t_mask).mean(axis=0)).astype(int)
    origin = grid.voxel(c) - centroid
    lo = np.maximum(origin, 0)
    hi = np.minimum(origin + np.array(t_mask.shape), grid.shape)
    if np.any(hi <= lo):
        return 0, 0.0, template.name
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    sub = tuple(slice(int(a - o), int(b - o)) for a, b, o in zip(lo, hi, origin, strict=True))
    m, values = t_mask[sub], np.clip(t_hu[sub], -1000, 100)  # TISSUE_HU's tumor range
    tt, h = tissue[box], hu[box]
    allowed = _IN_LUNG[tt]
    inside = one_piece(m & allowed)
    voxels = int(inside.sum())
    if voxels == 0:
        return 0, 0.0, template.name
    rim = ndi.binary_dilation(m) & ~m & allowed
    rim &= values > h
    h[rim] = 0.5 * (h[rim] + values[rim])
    h[inside] = values[inside]
    tt[inside] = Tissue.TUMOR
    label[box][inside] = 1
    return voxels, float(values[inside].mean()), template.name
