"""Lung tumors: what to draw (sizes, kinds, positions), where to put them, and exact painting.

:func:`sample_tumor_specs` draws a patient's tumors like a lung-cancer cohort by default;
:func:`place_and_paint_tumors` places them in the lungs of any tissue map (a phantom's or
one derived from a real scan) and paints HU, tissue codes and the label. The label is
the tumor as a radiologist draws a GTV: the whole outer contour, necrotic core and
cavity included; collapsed lung and pleural effusion drawn beside some tumors are not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from lungnet.masks import label_components
from lungnet.synthetic.anatomy import Tissue
from lungnet.synthetic.tubes import Grid

__all__ = [
    "TUMOR_KINDS",
    "TUMOR_POSITIONS",
    "Lungs",
    "Tumor",
    "TumorSpec",
    "cohort_diameter",
    "find_lungs",
    "one_piece",
    "place_and_paint_tumors",
    "sample_tumor_specs",
]

log = logging.getLogger(__name__)

#: What a tumor looks like inside.
TUMOR_KINDS = (
    "solid",
    "part_solid",
    "ground_glass",
    "spiculated",
    "necrotic",
    "cavitary",
    "library",
)
#: Where it sits: free in the parenchyma, against the chest wall, against the mediastinum,
#: or wrapped around a vessel.
TUMOR_POSITIONS = ("isolated", "pleural", "mediastinal", "juxtavascular")

# Cohort shares of the procedural kinds before the size limits below remove some of them.
_KIND_WEIGHTS = {
    "solid": 0.32,
    "part_solid": 0.12,
    "ground_glass": 0.08,
    "spiculated": 0.2,
    "necrotic": 0.15,
    "cavitary": 0.13,
}
# Counts of 0-4 tumors: about one patient in five is tumor-free, most have one.
_COUNT_P = (0.2, 0.42, 0.2, 0.11, 0.07)
_MAX_DIAMETER = 100.0

_IN_LUNG = np.zeros(256, bool)
_IN_LUNG[[Tissue.LUNG, Tissue.VESSEL]] = True
# A tumor fills the airways inside it too: a GTV has no holes where a bronchus ran.
_TUMOR_HOST = _IN_LUNG.copy()
_TUMOR_HOST[[Tissue.AIRWAY_WALL, Tissue.AIRWAY_LUMEN]] = True
_INVADABLE = np.zeros(256, bool)  # what a mass growing through the pleura takes with it
_INVADABLE[[Tissue.FAT, Tissue.MUSCLE, Tissue.AIRWAY_WALL]] = True
_GAP_MM = 4.0  # minimum distance between two tumors' nominal spheres, so labels never merge
_SOLID_RANGE = (-10.0, 100.0)
_GGO_RANGE = (-750.0, -250.0)


@dataclass(frozen=True)
class TumorSpec:
    """One tumor to place: drawn before the anatomy is known.

    Attributes:
        diameter_mm: nominal diameter (for a library nodule: its equivalent diameter).
        kind: one of :data:`TUMOR_KINDS`.
        position: one of :data:`TUMOR_POSITIONS`.
        invades: a mass at the chest wall or mediastinum grows some mm into it.
        atelectasis: collapsed lung is drawn beside it (not labelled).
        effusion: a pleural effusion is drawn on its side (not labelled).
        template: for ``kind == "library"``, the real nodule to paint.
    """

    diameter_mm: float
    kind: str
    position: str
    invades: bool = False
    atelectasis: bool = False
    effusion: bool = False
    template: str | None = None


@dataclass(frozen=True)
class Tumor:
    """One tumor of a phantom or of a scan it was inserted into.

    Attributes:
        center_voxel: ``(i, j, k)`` index of its nominal centre in the canonical array.
        center_mm: nominal centre in world RAS mm (through the volume's affine).
        diameter_mm: nominal diameter (mean diameter of the shape before clipping to the lung).
        equivalent_diameter_mm: diameter of the sphere with the labelled volume.
        kind: one of :data:`TUMOR_KINDS`.
        position: one of :data:`TUMOR_POSITIONS`.
        mean_hu: mean attenuation of its voxels before noise.
        voxels: labelled voxels.
        invades, atelectasis, effusion: see :class:`TumorSpec`.
        template: the library nodule it was made from, else None.
    """

    center_voxel: tuple[int, int, int]
    center_mm: tuple[float, float, float]
    diameter_mm: float
    equivalent_diameter_mm: float
    kind: str
    position: str
    mean_hu: float
    voxels: int
    invades: bool = False
    atelectasis: bool = False
    effusion: bool = False
    template: str | None = None

    def as_dict(self) -> dict:
        d = {
            "center_voxel": list(self.center_voxel),
            "center_mm": [round(v, 2) for v in self.center_mm],
            "diameter_mm": round(self.diameter_mm, 2),
            "equivalent_diameter_mm": round(self.equivalent_diameter_mm, 2),
            "kind": self.kind,
            "position": self.position,
            "mean_hu": round(self.mean_hu, 1),
            "voxels": self.voxels,
            "invades": self.invades,
            "atelectasis": self.atelectasis,
            "effusion": self.effusion,
        }
        if self.template is not None:
            d["template"] = self.template
        return d


# --------------------------------------------------------------------------- what to draw


def cohort_diameter(rng: np.random.Generator) -> float:
    """A nominal diameter in mm drawn like the primary tumors of a lung-cancer cohort.

    Mostly 15-50 mm (log-normal, median 24 mm), with 15 % masses of 50-100 mm (T3 starts
    above 50 mm, T4 above 70 mm) and about 5 % nodules under 10 mm.
    """
    if rng.random() < 0.15:
        return float(rng.uniform(50, _MAX_DIAMETER))
    return float(np.clip(np.exp(rng.normal(np.log(24.0), 0.55)), 5.0, _MAX_DIAMETER))


def _kind_for(rng: np.random.Generator, d: float) -> str:
    w = dict(_KIND_WEIGHTS)
    if d > 30:
        w["ground_glass"] = 0.0  # pure ground glass is a small-nodule finding
    if d > 45:
        w["part_solid"] = 0.0
    if d < 25:
        w["necrotic"] = 0.0  # necrosis needs a mass that outgrows its blood supply
    if d < 12:
        w["cavitary"] = 0.0
    names = list(w)
    p = np.array([w[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _position_for(rng: np.random.Generator, d: float) -> str:
    # Large masses almost always reach the chest wall or the mediastinum.
    p = (0.2, 0.45, 0.35, 0.0) if d >= 50 else (0.4, 0.3, 0.1, 0.2)
    return TUMOR_POSITIONS[int(rng.choice(len(TUMOR_POSITIONS), p=p))]


def sample_tumor_specs(
    rng: np.random.Generator,
    count: tuple[int, int] | None = None,
    diameter_mm: tuple[float, float] | None = None,
    neighbours: bool = True,
    invasion: bool = True,
) -> list[TumorSpec]:
    """Draw one patient's tumors.

    Args:
        count: inclusive range of the number of tumors, uniform in it; None draws 0-4 like
            a cohort (about one patient in five tumor-free).
        diameter_mm: range of nominal diameters, log-uniform in it; None draws
            :func:`cohort_diameter`.
        neighbours: allow atelectasis and effusion beside some tumors.
        invasion: allow masses to grow into the chest wall or mediastinum.
    """
    n = (
        int(rng.choice(5, p=_COUNT_P))
        if count is None
        else int(rng.integers(count[0], count[1] + 1))
    )
    specs = []
    for _ in range(n):
        if diameter_mm is None:
            d = cohort_diameter(rng)
        else:
            d = float(np.exp(rng.uniform(np.log(diameter_mm[0]), np.log(diameter_mm[1]))))
        kind = _kind_for(rng, d)
        position = _position_for(rng, d)
        invades = position in ("pleural", "mediastinal") and d >= 30 and rng.random() < 0.5
        invades = invades and invasion
        atelectasis = (
            neighbours and d >= 20 and rng.random() < (0.45 if position == "mediastinal" else 0.25)
        )
        effusion = neighbours and d >= 25 and rng.random() < 0.15
        specs.append(TumorSpec(d, kind, position, bool(invades), bool(atelectasis), bool(effusion)))
    return specs


# --------------------------------------------------------------------------- where


def _in_lung(grid: Grid, tissue: np.ndarray, p: np.ndarray) -> np.ndarray:
    idx = grid.voxel(p)
    inside = np.all(
        (grid.index(p) > -0.5) & (grid.index(p) < np.asarray(grid.shape) - 0.5), axis=-1
    )
    return inside & _IN_LUNG[tissue[idx[..., 0], idx[..., 1], idx[..., 2]]]


_DIRS = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
    + [[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)],
    dtype=float,
)
_DIRS /= np.linalg.norm(_DIRS, axis=1, keepdims=True)


@dataclass
class Lungs:
    """Where tumors may go in one volume.

    Attributes:
        lung_voxels: ``(n, 3)`` indices of lung parenchyma voxels to draw centres from.
        vessel_points: ``(m, 3)`` mm points on lung vessels 1.5-8 mm wide.
        midline_x: x (mm, grid frame) of the mediastinum's centre.
    """

    lung_voxels: np.ndarray
    vessel_points: np.ndarray
    midline_x: float


def find_lungs(
    grid: Grid, tissue: np.ndarray, vessel_points: np.ndarray, midline_x: float = 0.0
) -> Lungs:
    """:class:`Lungs` of a tissue map (a subsample of its LUNG voxels keeps this cheap)."""
    step = max(1, int(round(4.0 / min(grid.spacing))))  # one voxel in ~4 mm per axis suffices
    sub = tissue[::step, ::step, ::step] == Tissue.LUNG
    return Lungs(
        np.argwhere(sub) * step, np.asarray(vessel_points, float).reshape(-1, 3), midline_x
    )


def _to_mm(grid: Grid, ijk: np.ndarray) -> np.ndarray:
    centre = np.array([(grid.shape[0] - 1) / 2, (grid.shape[1] - 1) / 2, -0.5])
    return (np.asarray(ijk, float) - centre) * np.asarray(grid.spacing)


def _candidate(
    rng: np.random.Generator,
    grid: Grid,
    tissue: np.ndarray,
    spec: TumorSpec,
    radius: float,
    lungs: Lungs,
) -> np.ndarray | None:
    """A nominal centre (mm) for a tumor, or None when this draw failed."""
    if spec.position == "juxtavascular" and len(lungs.vessel_points):
        q = lungs.vessel_points[rng.integers(len(lungs.vessel_points))]
        v = rng.standard_normal(3)
        c = q + v / (np.linalg.norm(v) + 1e-9) * radius * rng.uniform(0.4, 0.9)
        return c if _in_lung(grid, tissue, c) else None
    if not len(lungs.lung_voxels):
        return None
    p = _to_mm(grid, lungs.lung_voxels[rng.integers(len(lungs.lung_voxels))])
    p = p + rng.uniform(-1.5, 1.5, 3) * np.asarray(grid.spacing)
    if not _in_lung(grid, tissue, p):
        return None
    if spec.position in ("isolated", "juxtavascular"):
        return p if _in_lung(grid, tissue, p + _DIRS * (radius + 2.0)).all() else None
    # Walk in-plane until the lung ends, then step back: outwards for the chest wall,
    # towards the midline for the mediastinum.
    toward_mid = np.sign(lungs.midline_x - p[0]) or 1.0
    if spec.position == "mediastinal":
        angle = rng.uniform(-0.5, 0.5) + (0.0 if toward_mid > 0 else np.pi)
    else:
        angle = rng.uniform(-1.9, 1.9) + (np.pi if toward_mid > 0 else 0.0)
    u = np.array([np.cos(angle), np.sin(angle), 0.0])
    step = 0.5 * min(grid.spacing)
    dist = np.arange(step, 4 * radius + 40, step)
    inside = _in_lung(grid, tissue, p + dist[:, None] * u)
    if inside.all():
        return None
    boundary = p + dist[int(np.argmin(inside))] * u
    depth = rng.uniform(0.3, 0.6) if spec.invades else rng.uniform(0.55, 0.85)
    c = boundary - u * radius * depth
    return c if _in_lung(grid, tissue, c) else None


# --------------------------------------------------------------------------- painting


def _box(grid: Grid, c: np.ndarray, reach: float) -> tuple[slice, slice, slice] | None:
    lo = np.maximum(np.floor(grid.index(c - reach)).astype(int), 0)
    hi = np.minimum(np.ceil(grid.index(c + reach)).astype(int) + 1, grid.shape)
    if np.any(hi <= lo):
        return None
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))  # type: ignore[return-value]


def _offsets(grid: Grid, box: tuple[slice, slice, slice], c: np.ndarray) -> tuple[np.ndarray, ...]:
    return (
        grid.x[box[0]][:, None, None] - np.float32(c[0]),
        grid.y[box[1]][None, :, None] - np.float32(c[1]),
        grid.z[box[2]][None, None, :] - np.float32(c[2]),
    )


def _bumps(rng: np.random.Generator, n: int, amp: tuple[float, float], kappa: tuple[float, float]):
    dirs = rng.standard_normal((n, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    # float32 throughout: a 90 mm mass at 512 px spans millions of voxels.
    f32 = np.float32
    return dirs.astype(f32), rng.uniform(*amp, n).astype(f32), rng.uniform(*kappa, n).astype(f32)


_COARSE_VOXELS = 200_000  # above this, smooth fields of a tumor are computed on every 2nd voxel


def _stride(shape) -> int:
    return 2 if np.prod(shape) > _COARSE_VOXELS else 1


def _upsample(a: np.ndarray, shape, stride: int) -> np.ndarray:
    """Nearest-neighbour upsampling of a field computed on every ``stride``-th voxel."""
    if stride == 1:
        return a
    for axis in range(3):
        a = np.repeat(a, stride, axis=axis)
    return a[: shape[0], : shape[1], : shape[2]]


def _surface(vx, vy, vz, rho, bumps) -> np.ndarray:
    """Radius factor of a bumpy sphere: bumps exp(k (u.n - 1)), less their mean, keep the mean
    radius."""
    surface = np.ones_like(rho)
    for n, a, k in zip(*bumps, strict=True):
        cos = (vx * n[0] + vy * n[1] + vz * n[2]) / rho
        surface += a * (np.exp(k * (cos - 1)) - (1 - np.exp(-2 * k)) / (2 * k))
    return surface


def _spicules(
    rng: np.random.Generator,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    radius: float,
    tip_mm: float = 0.3,
) -> np.ndarray:
    """Thin strands radiating from the margin, tapering to ``tip_mm``: a spiculated margin.

    On a coarse grid the strands fall between voxel centres, as thin ones do in a scan.
    """
    n = int(rng.integers(30, 50))
    dirs = rng.standard_normal((n, 3))
    dirs[:, 2] *= 0.5  # strands run mostly in-plane, where they show on an axial slice
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    out = np.zeros(np.broadcast_shapes(vx.shape, vy.shape, vz.shape), bool)
    axes = (vx.ravel(), vy.ravel(), vz.ravel())  # increasing voxel-centre offsets per axis
    for d in dirs:
        a, b = 0.7 * radius, radius * rng.uniform(1.25, 1.9)
        base = rng.uniform(1.0, 2.2)
        # Each strand only within its own bounding box: a few thousand voxels, not the tumor's box.
        lo, hi = np.minimum(d * a, d * b) - base, np.maximum(d * a, d * b) + base
        sub = tuple(slice(*np.searchsorted(ax, [lo[n], hi[n]])) for n, ax in enumerate(axes))
        sx, sy, sz = vx[sub[0], :, :], vy[:, sub[1], :], vz[:, :, sub[2]]
        t = np.clip((sx * d[0] + sy * d[1] + sz * d[2] - a) / (b - a), 0, 1)
        along = a + t * (b - a)
        dist2 = (sx - along * d[0]) ** 2 + (sy - along * d[1]) ** 2 + (sz - along * d[2]) ** 2
        out[sub] |= dist2 <= (base + t * (tip_mm - base)) ** 2
    return out


def _texture(rng: np.random.Generator, shape, spacing, mm: float) -> np.ndarray:
    """Unit-SD smooth noise with features of about ``mm`` (coarser sampling in large boxes)."""
    s = _stride(shape)
    coarse = tuple(-(-n // s) for n in shape)
    sigma = [max(0.5, mm / (sp * s)) for sp in spacing]
    tex = ndi.gaussian_filter(rng.standard_normal(coarse, dtype=np.float32), sigma)
    return _upsample(tex / (tex.std() + 1e-6), shape, s)


def one_piece(inside: np.ndarray) -> np.ndarray:
    """The largest 26-connected piece of one tumor's voxels.

    A strand thinner than a voxel, or a wall or vessel the tumor may not take, can leave
    islands of a voxel or two apart from the tumor. A radiologist's contour is one piece,
    and an island no network could find would count as a missed lesion of its own, so
    islands are neither painted nor labelled.
    """
    labels, count = label_components(inside)
    if count <= 1:
        return inside
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def _paint_one(
    rng: np.random.Generator,
    grid: Grid,
    hu: np.ndarray,
    tissue: np.ndarray,
    label: np.ndarray,
    c: np.ndarray,
    spec: TumorSpec,
    contrast: bool,
) -> tuple[int, float]:
    """Paint one procedural tumor; returns (voxels, mean HU).

    Only lung and vessel voxels are taken, plus chest wall or mediastinal fat and muscle
    within a few mm of the lung for a mass that invades.
    """
    radius = spec.diameter_mm / 2
    small = min(1.0, 2 * radius / 15)  # small nodules are rounder
    # Broad lobes plus a finer knobbliness: real masses are rarely smooth spheres.
    lobes = _bumps(rng, int(rng.integers(4, 9)), (0.08 * small, 0.32 * small), (2, 6))
    knobs = _bumps(rng, int(rng.integers(6, 14)), (0.03 * small, 0.12 * small), (10, 25))
    lobes = tuple(np.concatenate(pair) for pair in zip(lobes, knobs, strict=True))
    spiculated = spec.kind == "spiculated"
    reach = radius * (1 + lobes[1].sum() + (0.9 if spiculated else 0)) + 2 * max(grid.spacing)
    box = _box(grid, c, min(reach, 2.2 * radius + 2 * max(grid.spacing)))
    if box is None:
        return 0, 0.0
    vx, vy, vz = _offsets(grid, box, c)
    rho = np.sqrt(vx**2 + vy**2 + vz**2) + 1e-6
    s = _stride(rho.shape)
    cx, cy, cz = vx[::s], vy[:, ::s], vz[:, :, ::s]
    surface = _upsample(_surface(cx, cy, cz, rho[::s, ::s, ::s], lobes), rho.shape, s)
    shape = rho <= radius * surface
    if spiculated:
        shape |= _spicules(rng, vx, vy, vz, radius)
    tt = tissue[box]
    allowed = _TUMOR_HOST[tt]
    if spec.invades:
        depth = float(rng.uniform(4, 15))
        away = ~_IN_LUNG[tt[::s, ::s, ::s]]
        spacing = [sp * s for sp in grid.spacing]
        near = _upsample(ndi.distance_transform_edt(away, sampling=spacing) <= depth, tt.shape, s)
        allowed = allowed | (near & _INVADABLE[tt])
    inside = shape & allowed
    nearest = tuple(grid.voxel(c) - np.array([s.start for s in box]))
    if _IN_LUNG[tt[nearest]]:
        inside[nearest] = True  # a nodule smaller than a voxel still marks its centre voxel
    inside = one_piece(inside)
    voxels = int(inside.sum())
    if voxels == 0:
        return 0, 0.0

    h = hu[box]
    tex = _texture(rng, rho.shape, grid.spacing, 2.0)
    # Viable tumor enhances by 20-50 HU with contrast; necrosis and fluid do not.
    solid = (
        rng.uniform(15, 50) + (rng.uniform(20, 45) if contrast else 0.0) + rng.uniform(6, 14) * tex
    )
    rel = rho / (radius * surface)  # 0 at the centre, 1 at the margin
    if spec.kind in ("ground_glass", "part_solid"):
        ggo = rng.uniform(-680, -380) + 45 * tex
        ggo = np.where(rel > 0.8, ggo + (rel - 0.8) / 0.2 * (-820 - ggo) * 0.5, ggo)  # hazy margin
        # Vessels show through ground glass (up to the tumor range's top).
        values = np.clip(np.maximum(np.clip(ggo, *_GGO_RANGE), h), -1000, _SOLID_RANGE[1])
        if spec.kind == "part_solid":
            core = rel < rng.uniform(0.3, 0.6)
            values = np.where(core, np.clip(solid, *_SOLID_RANGE), values)
    else:
        values = np.clip(solid, *_SOLID_RANGE)
        if spec.kind == "necrotic":
            core = rel < rng.uniform(0.45, 0.75) * (
                1 + 0.15 * _texture(rng, rho.shape, grid.spacing, 4.0)
            )
            fluid = rng.uniform(0, 18) + 4 * tex
            values = np.where(core, fluid, values)
        elif spec.kind == "cavitary":
            wall_mm = float(rng.uniform(2.0, min(10.0, 0.35 * radius)))
            cavity = rho <= (radius * surface - wall_mm) * (
                1 + 0.1 * _texture(rng, rho.shape, grid.spacing, 3.0)
            )
            air = rng.uniform(-1000, -960) + 5 * tex
            if rng.random() < 0.3:  # an air-fluid level: fluid settles posteriorly (patient supine)
                air = np.where(
                    vy < -rng.uniform(0.2, 0.6) * (radius - wall_mm), rng.uniform(5, 20), air
                )
            values = np.where(cavity, air, values)
    h[inside] = values[inside]
    tt[inside] = Tissue.TUMOR
    label[box][inside] = 1
    return voxels, float(values[inside].mean())


def _paint_collapse(
    rng: np.random.Generator,
    grid: Grid,
    hu: np.ndarray,
    tissue: np.ndarray,
    c: np.ndarray,
    radius: float,
    midline_x: float,
    contrast: bool,
) -> None:
    """Collapsed lung in a cone from the tumor towards the periphery and the dependent lung."""
    side = np.sign(c[0] - midline_x) or 1.0
    u = np.array([side * rng.uniform(0.4, 1.0), rng.uniform(-0.9, 0.1), rng.uniform(-0.8, 0.2)])
    u /= np.linalg.norm(u)
    length = radius + float(rng.uniform(25, 60))
    half_angle = np.tan(np.radians(rng.uniform(22, 40)))
    value = rng.uniform(20, 45) + (rng.uniform(25, 60) if contrast else 0.0)
    # The cone's own bounding box, and its geometry only on the lung voxels in it: a mass's
    # cone spans a whole lobe, far more voxels than the tumor itself.
    wide = radius * 0.8 + length * half_angle
    ends = np.stack([c, c + u * length])
    lo = np.maximum(np.floor(grid.index(ends.min(axis=0) - wide)).astype(int), 0)
    hi = np.minimum(np.ceil(grid.index(ends.max(axis=0) + wide)).astype(int) + 1, grid.shape)
    if np.any(hi <= lo):
        return
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    tt = tissue[box]
    idx = np.nonzero(tt == Tissue.LUNG)  # vessels and airways stay: bronchograms, enhancing vessels
    if not len(idx[0]):
        return
    vx = grid.x[box[0]][idx[0]] - np.float32(c[0])
    vy = grid.y[box[1]][idx[1]] - np.float32(c[1])
    vz = grid.z[box[2]][idx[2]] - np.float32(c[2])
    along = vx * u[0] + vy * u[1] + vz * u[2]
    across2 = vx**2 + vy**2 + vz**2 - along**2
    m = (along > 0) & (along < length) & (across2 < (radius * 0.8 + along * half_angle) ** 2)
    if not m.any():
        return
    sel = tuple(i[m] for i in idx)
    grain = rng.standard_normal(int(m.sum())).astype(np.float32)
    hu[box][sel] = value + 6 * np.clip(grain, -2.5, 2.5)
    tt[sel] = Tissue.ATELECTASIS


def _paint_effusion(
    rng: np.random.Generator,
    grid: Grid,
    hu: np.ndarray,
    tissue: np.ndarray,
    c: np.ndarray,
    midline_x: float,
) -> None:
    """Pleural fluid layering posteriorly in the tumor's hemithorax, deepest at the base."""
    right = c[0] > midline_x
    xs = grid.x > midline_x if right else grid.x <= midline_x
    i0, i1 = (int(np.argmax(xs)), len(xs) - int(np.argmax(xs[::-1])))
    host = _IN_LUNG[tissue[i0:i1]]
    rows = np.flatnonzero(host.any(axis=(0, 1)))
    if not len(rows):
        return
    k_lo, k_hi = rows[0], rows[0] + max(1, int((rows[-1] - rows[0]) * rng.uniform(0.35, 0.7)))
    host = host[:, :, k_lo:k_hi]
    first = np.argmax(host, axis=1)  # most posterior lung voxel per (x, z) column
    height = 1 - (np.arange(k_hi - k_lo) / max(1, k_hi - k_lo - 1))
    depth_mm = rng.uniform(15, 45) * np.sqrt(height)  # a meniscus thinning upwards
    j = np.arange(host.shape[1])[None, :, None]
    fluid = host & (j < first[:, None, :] + (depth_mm / grid.spacing[1])[None, None, :])
    tt = tissue[i0:i1, :, k_lo:k_hi]
    h = hu[i0:i1, :, k_lo:k_hi]
    h[fluid] = rng.uniform(0, 20)
    tt[fluid] = Tissue.EFFUSION


#: Paints one library nodule: ``(rng, grid, hu, tissue, label, centre_mm, spec)`` ->
#: ``(voxels, mean HU, template name)``; see :mod:`lungnet.synthetic.library`.
TemplatePainter = Callable[..., tuple[int, float, str]]


def place_and_paint_tumors(
    rng: np.random.Generator,
    grid: Grid,
    affine: np.ndarray,
    hu: np.ndarray,
    tissue: np.ndarray,
    label: np.ndarray,
    specs: list[TumorSpec],
    lungs: Lungs,
    contrast: bool = False,
    library: TemplatePainter | None = None,
) -> list[Tumor]:
    """Place the tumors of ``specs`` in the lungs; paint them into ``hu``, ``tissue`` and ``label``.

    A tumor takes only lung and vessel voxels (plus wall fat and muscle when it invades),
    so one against the chest wall ends flat at the wall and one against a vessel
    swallows that vessel's piece; ``label`` is 1 exactly where a tumor was painted.
    A tumor that finds no place after 300 draws is left out.

    Args:
        hu, tissue, label: ``(X, Y, Z)`` canonical arrays, modified in place.
        affine: canonical voxel-to-world affine, for the reported centres.
        lungs: where tumors may go (see :func:`find_lungs`).
        contrast: whether the blood is enhanced (solid tumors and collapsed lung enhance too).
        library: paints ``kind == "library"`` specs from real nodules.
    """
    tumors: list[Tumor] = []
    placed: list[tuple[np.ndarray, float]] = []
    vox_mm3 = float(np.prod(grid.spacing))
    for spec in specs:
        r = spec.diameter_mm / 2
        for _attempt in range(300):
            c = _candidate(rng, grid, tissue, spec, r, lungs)
            if c is not None and all(
                np.linalg.norm(c - pc) > r + pr + _GAP_MM for pc, pr in placed
            ):
                break
        else:
            log.debug("no place found for a %.1f mm %s tumor", spec.diameter_mm, spec.kind)
            continue
        template = None
        if spec.kind == "library" and library is not None:
            voxels, mean, template = library(rng, grid, hu, tissue, label, c, spec)
        else:
            voxels, mean = _paint_one(rng, grid, hu, tissue, label, c, spec, contrast)
        if voxels == 0:
            continue
        placed.append((c, r))
        if spec.atelectasis:
            _paint_collapse(rng, grid, hu, tissue, c, r, lungs.midline_x, contrast)
        if spec.effusion:
            _paint_effusion(rng, grid, hu, tissue, c, lungs.midline_x)
        ijk = tuple(int(v) for v in grid.voxel(c))
        world = affine @ np.array([*ijk, 1.0])
        tumors.append(
            Tumor(
                center_voxel=ijk,  # type: ignore[arg-type]
                center_mm=tuple(float(v) for v in world[:3]),  # type: ignore[arg-type]
                diameter_mm=spec.diameter_mm,
                equivalent_diameter_mm=float((6 * voxels * vox_mm3 / np.pi) ** (1 / 3)),
                kind=spec.kind,
                position=spec.position,
                mean_hu=mean,
                voxels=voxels,
                invades=spec.invades,
                atelectasis=spec.atelectasis,
                effusion=spec.effusion,
                template=template,
            )
        )
    return tumors
