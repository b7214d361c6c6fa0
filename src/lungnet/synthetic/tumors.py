"""Lung tumors: placement (free, against the chest wall, against a vessel) and exact painting."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from lungnet.synthetic.anatomy import Tissue
from lungnet.synthetic.tubes import Grid, Segment

__all__ = ["Tumor", "TUMOR_KINDS", "place_and_paint_tumors"]

log = logging.getLogger(__name__)

#: Where a tumor sits: free in the parenchyma, touching the chest wall (or mediastinum),
#: or wrapped around a vessel.
TUMOR_KINDS = ("isolated", "pleural", "juxtavascular")
_KIND_P = (0.4, 0.35, 0.25)
_IN_LUNG = np.zeros(256, bool)
_IN_LUNG[[Tissue.LUNG, Tissue.VESSEL]] = True
_GAP_MM = 4.0  # minimum distance between two tumors' nominal spheres, so labels never merge


@dataclass(frozen=True)
class Tumor:
    """One tumor of a phantom.

    Attributes:
        center_voxel: ``(i, j, k)`` index of its nominal centre in the canonical array.
        center_mm: nominal centre in world RAS mm (through the phantom's affine).
        diameter_mm: nominal diameter (mean diameter of the lobulated shape before
            clipping to the lung), within the requested range.
        equivalent_diameter_mm: diameter of the sphere with the labelled volume.
        kind: one of :data:`TUMOR_KINDS`.
        mean_hu: mean attenuation of its voxels before noise, within 0..80 HU.
        voxels: labelled voxels.
    """

    center_voxel: tuple[int, int, int]
    center_mm: tuple[float, float, float]
    diameter_mm: float
    equivalent_diameter_mm: float
    kind: str
    mean_hu: float
    voxels: int

    def as_dict(self) -> dict:
        return {
            "center_voxel": list(self.center_voxel),
            "center_mm": [round(v, 2) for v in self.center_mm],
            "diameter_mm": round(self.diameter_mm, 2),
            "equivalent_diameter_mm": round(self.equivalent_diameter_mm, 2),
            "kind": self.kind,
            "mean_hu": round(self.mean_hu, 1),
            "voxels": self.voxels,
        }


def _in_lung(grid: Grid, tissue: np.ndarray, p: np.ndarray) -> np.ndarray:
    idx = grid.voxel(p)
    inside = np.all((grid.index(p) > -0.5) & (grid.index(p) < np.asarray(grid.shape) - 0.5), axis=-1)
    return inside & _IN_LUNG[tissue[idx[..., 0], idx[..., 1], idx[..., 2]]]


_DIRS = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
    + [[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)],
    dtype=float,
)
_DIRS /= np.linalg.norm(_DIRS, axis=1, keepdims=True)


def _candidate(
    rng: np.random.Generator, grid: Grid, tissue: np.ndarray, kind: str, radius: float, vessels: list[Segment]
) -> np.ndarray | None:
    """A nominal centre (mm) for a tumor of ``kind``, or None when this draw failed."""
    if kind == "juxtavascular":
        fitting = [s for s in vessels if 0.8 <= s.r0 <= 4.0]
        if not fitting:
            return None
        seg = fitting[rng.integers(len(fitting))]
        q = seg.p0 + (seg.p1 - seg.p0) * rng.uniform(0.2, 0.8)
        v = np.cross(seg.p1 - seg.p0, rng.standard_normal(3))
        c = q + v / (np.linalg.norm(v) + 1e-9) * radius * rng.uniform(0.4, 0.9)
        return c if _in_lung(grid, tissue, c) else None
    ijk = rng.integers(0, grid.shape)
    if tissue[tuple(ijk)] != Tissue.LUNG:
        return None
    p = (ijk - np.array([(grid.shape[0] - 1) / 2, (grid.shape[1] - 1) / 2, -0.5])) * np.asarray(grid.spacing)
    if kind == "isolated":
        return p if _in_lung(grid, tissue, p + _DIRS * (radius + 2.0)).all() else None
    # pleural: walk outwards in-plane until the lung ends, then step back less than a radius.
    angle = rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(angle), np.sin(angle), 0.0])
    step = 0.5 * min(grid.spacing)
    dist = np.arange(step, 4 * radius + 40, step)
    inside = _in_lung(grid, tissue, p + dist[:, None] * u)
    if inside.all():
        return None
    boundary = p + dist[int(np.argmin(inside))] * u
    c = boundary - u * radius * rng.uniform(0.55, 0.85)
    return c if _in_lung(grid, tissue, c) else None


def _shape(rng: np.random.Generator, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lobulation bumps: unit directions ``(n, 3)``, amplitudes ``(n,)``, sharpness ``(n,)``."""
    n = int(rng.integers(3, 7))
    dirs = rng.standard_normal((n, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    amp = rng.uniform(0.08, 0.3, n) * min(1.0, 2 * radius / 15)  # small nodules are rounder
    return dirs, amp, rng.uniform(2, 6, n)


def _paint_one(
    rng: np.random.Generator,
    grid: Grid,
    hu: np.ndarray,
    tissue: np.ndarray,
    label: np.ndarray,
    c: np.ndarray,
    radius: float,
) -> tuple[int, float]:
    """Paint one tumor; returns (voxels, mean HU). Only lung and vessel voxels are taken."""
    dirs, amp, kappa = _shape(rng, radius)
    reach = radius * (1 + amp.sum()) + 2 * max(grid.spacing)
    lo = np.maximum(np.floor(grid.index(c - reach)).astype(int), 0)
    hi = np.minimum(np.ceil(grid.index(c + reach)).astype(int) + 1, grid.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    vx = grid.x[box[0]][:, None, None] - c[0]
    vy = grid.y[box[1]][None, :, None] - c[1]
    vz = grid.z[box[2]][None, None, :] - c[2]
    rho = np.sqrt(vx**2 + vy**2 + vz**2) + 1e-6
    # Bumps exp(k (u.n - 1)) have mean (1 - exp(-2k)) / (2k) over the sphere; subtracting it
    # keeps the mean radius equal to the nominal one.
    surface = np.ones_like(rho)
    for n, a, k in zip(dirs, amp, kappa, strict=True):
        cos = (vx * n[0] + vy * n[1] + vz * n[2]) / rho
        surface += a * (np.exp(k * (cos - 1)) - (1 - np.exp(-2 * k)) / (2 * k))
    tt = tissue[box]
    inside = (rho <= radius * surface) & _IN_LUNG[tt]
    nearest = tuple(grid.voxel(c) - lo)
    if _IN_LUNG[tt[nearest]]:
        inside[nearest] = True  # a nodule smaller than a voxel still marks its centre voxel
    voxels = int(inside.sum())
    if voxels == 0:
        return 0, 0.0
    mean = rng.uniform(10, 70)
    sigma_vox = [max(0.5, 2.0 / s) for s in grid.spacing]
    tex = ndi.gaussian_filter(rng.standard_normal(rho.shape).astype(np.float32), sigma_vox)
    tex /= tex.std() + 1e-6
    values = mean + rng.uniform(5, 14) * tex
    if radius > 15 and rng.random() < 0.3:  # a darker necrotic core in some large tumors
        values -= 30 * np.clip(1 - rho / (0.6 * radius), 0, 1)
    values = np.clip(values, *_TUMOR_RANGE)
    h = hu[box]
    h[inside] = values[inside]
    tt[inside] = Tissue.TUMOR
    label[box][inside] = 1
    return voxels, float(values[inside].mean())


_TUMOR_RANGE = (0.0, 80.0)


def place_and_paint_tumors(
    rng: np.random.Generator,
    grid: Grid,
    affine: np.ndarray,
    hu: np.ndarray,
    tissue: np.ndarray,
    label: np.ndarray,
    vessels: list[Segment],
    count: int,
    diameter_mm: tuple[float, float],
) -> list[Tumor]:
    """Place up to ``count`` tumors in the lungs and paint them into ``hu``, ``tissue`` and ``label``.

    Diameters are log-uniform in ``diameter_mm`` (small nodules are the common ones).
    A tumor takes only lung and vessel voxels, so one against the chest wall ends flat at
    the wall and one against a vessel swallows that vessel's piece; ``label`` is 1 exactly
    where a tumor was painted. A tumor that finds no place after 300 draws is left out.

    Args:
        hu, tissue, label: ``(X, Y, Z)`` canonical arrays, modified in place.
        affine: canonical voxel-to-world affine, for the reported centres.
    """
    tumors: list[Tumor] = []
    placed: list[tuple[np.ndarray, float]] = []
    for _ in range(count):
        d = float(np.exp(rng.uniform(np.log(diameter_mm[0]), np.log(diameter_mm[1]))))
        kind = str(rng.choice(TUMOR_KINDS, p=_KIND_P))
        for _attempt in range(300):
            c = _candidate(rng, grid, tissue, kind, d / 2, vessels)
            if c is not None and all(np.linalg.norm(c - pc) > d / 2 + pr + _GAP_MM for pc, pr in placed):
                break
        else:
            log.debug("no place found for a %.1f mm %s tumor", d, kind)
            continue
        voxels, mean = _paint_one(rng, grid, hu, tissue, label, c, d / 2)
        if voxels == 0:
            continue
        placed.append((c, d / 2))
        ijk = tuple(int(v) for v in grid.voxel(c))
        world = affine @ np.array([*ijk, 1.0])
        vox_mm3 = float(np.prod(grid.spacing))
        tumors.append(
            Tumor(
                center_voxel=ijk,  # type: ignore[arg-type]
                center_mm=tuple(float(v) for v in world[:3]),  # type: ignore[arg-type]
                diameter_mm=d,
                equivalent_diameter_mm=float((6 * voxels * vox_mm3 / np.pi) ** (1 / 3)),
                kind=kind,
                mean_hu=mean,
                voxels=voxels,
            )
        )
    return tumors
