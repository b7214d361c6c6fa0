"""Tube-shaped anatomy: ribs, aortic arch and pulmonary arteries, airways, lung vessel trees."""

from __future__ import annotations

import numpy as np

from lungnet.synthetic.anatomy import Anatomy, Tissue
from lungnet.synthetic.tubes import Grid, Segment, grow_tree, iter_fractions, polyline

__all__ = [
    "TREE_HOST",
    "paint_hard",
    "paint_soft",
    "rib_segments",
    "great_vessels",
    "airways",
    "vessel_trees",
]


def _lut(*codes: Tissue) -> np.ndarray:
    lut = np.zeros(256, bool)
    lut[list(codes)] = True
    return lut


_NOT_AIR = ~_lut(Tissue.AIR)
_MEDIASTINUM = _lut(Tissue.FAT, Tissue.LUNG, Tissue.VESSEL, Tissue.MUSCLE)
_AIRWAY_HOST = _lut(Tissue.FAT, Tissue.LUNG, Tissue.VESSEL, Tissue.MUSCLE, Tissue.AIRWAY_WALL)
_LUNG_ONLY = _lut(Tissue.LUNG, Tissue.VESSEL)
TREE_HOST = _lut(Tissue.LUNG, Tissue.VESSEL, Tissue.FAT)


def paint_hard(grid: Grid, tissue: np.ndarray, parts: list[tuple[list[Segment], Tissue]]) -> None:
    """Set ``tissue`` to each part's code where its tube covers at least half a voxel."""
    for segments, code in parts:
        for box, f in iter_fractions(grid, segments):
            tt = tissue[box]
            tt[(f >= 0.5) & _NOT_AIR[tt]] = code


def paint_soft(
    grid: Grid,
    hu: np.ndarray,
    tissue: np.ndarray,
    segments: list[Segment],
    value: float,
    code: Tissue,
    host: np.ndarray = _MEDIASTINUM,
    radius_add: float = 0.0,
) -> None:
    """Blend ``value`` into ``hu`` by each voxel's partial-volume fraction, on host tissues only.

    Every touched voxel takes ``code``, so partial-volume voxels are never counted as
    pure lung or fat.
    """
    for box, f in iter_fractions(grid, segments, radius_add=radius_add):
        tt = tissue[box]
        m = (f > 0) & host[tt]
        if m.any():
            h = hu[box]
            h[m] += f[m] * (value - h[m])
            tt[m] = code


def rib_segments(rng: np.random.Generator, an: Anatomy) -> list[tuple[list[Segment], Tissue]]:
    """Twelve pairs of ribs (cortex around marrow) and the costal cartilages of the upper seven."""
    parts: list[tuple[list[Segment], Tissue]] = []
    z_top = an.z_apex - 6
    dz = (z_top - (an.z_base[0] - 45)) / 11
    a, b = an.a_cav + 4.5, an.b_cav + 4.5
    marrow: list[Segment] = []
    cortex: list[Segment] = []
    cartilage: list[Segment] = []
    radius = rng.uniform(4.5, 5.5)
    for k in range(12):
        z_post = z_top - k * dz
        scale = max(0.5, float(an.lung_scale(np.array(z_post - 15.0))))
        end = 62 if k < 7 else (40 if k < 10 else 15)
        theta = np.radians(np.linspace(-68, end, 18))
        drop = rng.uniform(35, 55) * (0.6 if k < 2 else 1.0)
        dz_rib = drop * (theta - theta[0]) / (np.radians(62) - theta[0])
        for side in (-1, 1):
            pts = np.stack(
                [side * a * scale * np.cos(theta), b * scale * np.sin(theta), z_post - dz_rib],
                axis=1,
            )
            pts[:, 0] += an.x_med * 0.5
            cortex += polyline(pts, radius)
            marrow += polyline(pts, radius - max(1.3, 0.5 * an.grid.spacing[0]))
            if k < 7:
                tip = np.array([side * 15.0, an.b_cav + 4, pts[-1, 2] + 6 + 2 * k])
                cartilage += polyline(np.stack([pts[-1], tip]), radius * 0.85)
    parts += [
        (cortex, Tissue.BONE_CORTEX),
        (marrow, Tissue.BONE_MARROW),
        (cartilage, Tissue.CARTILAGE),
    ]
    return parts


def _hila(an: Anatomy) -> dict[str, np.ndarray]:
    """Key points of the mediastinum in mm: carina, bronchus ends, pulmonary artery and vein
    ends."""
    xm, w, zc = an.x_med, an.w_med, an.z_carina
    hx, hy, hz, _, hry, hrz = an.heart
    return {
        "carina": np.array([xm, an.y_trachea, zc]),
        "bronchus_r": np.array([xm + w + 6, an.y_trachea + 2, zc - 22]),
        "bronchus_l": np.array([xm - w - 6, an.y_trachea, zc - 38]),
        "pa_root": np.array([hx + 12, hy + 0.35 * hry, hz + 0.55 * hrz]),
        "pa_bif": np.array([xm - 12, an.y_vb + 62, zc - 12]),
        "pa_r": np.array([xm + w + 6, an.y_vb + 52, zc - 30]),
        "pa_l": np.array([xm - w - 6, an.y_vb + 46, zc - 24]),
        "la": np.array([hx + 8, hy - 0.65 * hry, hz + 0.15 * hrz]),
        "pv_r": np.array([xm + w + 6, an.y_vb + 38, hz + 8]),
        "pv_l": np.array([xm - w - 6, an.y_vb + 38, hz + 10]),
    }


def great_vessels(an: Anatomy) -> list[Segment]:
    """Aortic arch, pulmonary trunk and arteries, pulmonary veins (mm segments)."""
    h = _hila(an)
    ax, ay, ar = an.desc_aorta
    sx, sy, sr = an.asc_aorta
    start, stop = np.array([sx, sy, an.z_arch - 12]), np.array([ax, ay, an.z_arch - 12])
    theta = np.linspace(0, np.pi, 10)
    arch = (
        (start + stop) / 2
        + np.outer(np.cos(theta), (start - stop) / 2)
        + np.outer(np.sin(theta), [0, 0, 20])
    )
    segs = polyline(arch, sr, ar)
    segs += polyline(np.stack([h["pa_root"], h["pa_bif"]]), 13)
    segs += polyline(np.stack([h["pa_bif"], h["pa_r"]]), 10, 8)
    segs += polyline(np.stack([h["pa_bif"], h["pa_l"]]), 10, 8)
    segs += polyline(np.stack([h["la"], h["pv_r"]]), 7, 6)
    segs += polyline(np.stack([h["la"], h["pv_l"]]), 7, 6)
    return segs


def _inside(an: Anatomy, tissue: np.ndarray, host: np.ndarray):
    grid = an.grid

    def inside(p: np.ndarray) -> np.ndarray:
        idx = grid.index(p)
        ok = np.all((idx > -0.5) & (idx < np.asarray(grid.shape) - 0.5), axis=-1)
        v = grid.voxel(p)
        return ok & host[tissue[v[..., 0], v[..., 1], v[..., 2]]]

    return inside


def _into_lung(an: Anatomy, tissue: np.ndarray, p: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """First lung point from ``p`` along ``d`` (within 60 mm), or None."""
    d = d / np.linalg.norm(d)
    steps = np.arange(0, 60, 1.0)
    ok = _inside(an, tissue, _lut(Tissue.LUNG))(p + steps[:, None] * d)
    return p + steps[int(np.argmax(ok))] * d if ok.any() else None


def _lobar_directions(side: int) -> list[np.ndarray]:
    return [
        np.array(v, float)
        for v in (
            (side * 0.5, 0.1, 0.85),
            (side * 1, 0.35, 0.1),
            (side * 0.8, -0.5, -0.2),
            (side * 0.45, 0.25, -0.85),
            (side * 0.5, 0.85, 0.0),
        )
    ]


def airways(
    rng: np.random.Generator, an: Anatomy, hu: np.ndarray, tissue: np.ndarray
) -> list[Segment]:
    """Trachea, main bronchi and bronchial trees: soft-tissue walls around air lumens."""
    h = _hila(an)
    grid = an.grid
    top = np.array([an.x_med, an.y_trachea, grid.shape[2] * grid.spacing[2] + 10])
    lumen = polyline(np.stack([top, h["carina"]]), 9)
    lumen += polyline(np.stack([h["carina"], h["bronchus_r"]]), 7, 6)
    lumen += polyline(np.stack([h["carina"], h["bronchus_l"]]), 6.5, 5.5)
    min_r = max(0.7, 0.3 * grid.spacing[0])
    inside = _inside(an, tissue, _lut(Tissue.LUNG))
    for side, key in ((1, "bronchus_r"), (-1, "bronchus_l")):
        for d in _lobar_directions(side)[:4]:
            start = _into_lung(an, tissue, h[key], d)
            if start is not None:
                lumen += [Segment(h[key], start, 5.0, 4.5)]
                lumen += grow_tree(
                    rng, start, d, 4.0, inside, min_r, max_segments=60, length_per_radius=(4, 7)
                )
    walls = [Segment(s.p0, s.p1, s.r0 * 1.25 + 0.6, s.r1 * 1.25 + 0.6) for s in lumen]
    paint_soft(grid, hu, tissue, walls, 45.0, Tissue.AIRWAY_WALL, _AIRWAY_HOST)
    paint_soft(
        grid,
        hu,
        tissue,
        lumen,
        -1000.0,
        Tissue.AIRWAY_LUMEN,
        _lut(Tissue.AIRWAY_WALL, Tissue.AIRWAY_LUMEN),
    )
    return lumen


def vessel_trees(rng: np.random.Generator, an: Anatomy, tissue: np.ndarray) -> list[Segment]:
    """Pulmonary artery and vein trees filling both lungs, from the hila outwards."""
    h = _hila(an)
    inside = _inside(an, tissue, _LUNG_ONLY)
    min_r = max(0.35, 0.2 * an.grid.spacing[0])
    segs: list[Segment] = []
    for side, pa, pv in ((1, "pa_r", "pv_r"), (-1, "pa_l", "pv_l")):
        # Lobar and segmental branches leave the hilum in all directions away from the midline.
        spread = [
            np.array([side * 1.0, 0, 0]) + rng.standard_normal(3) * [0.6, 0.9, 1.2]
            for _ in range(20)
        ]
        roots = [(h[pa], d, 4.5) for d in _lobar_directions(side) + spread]
        # Veins drain the lower lobes towards the left atrium, below the arteries.
        roots += [
            (h[pv], np.array([side, 0.0, -0.5]) + rng.standard_normal(3) * 0.7, 4.0)
            for _ in range(10)
        ]
        for p, d, r in roots:
            start = _into_lung(an, tissue, p, d)
            if start is None:
                continue
            segs.append(Segment(p, start, r * 1.1, r))
            segs += grow_tree(rng, start, d, r, inside, min_r, max_segments=2000)
    return segs
