"""Chest anatomy of a phantom: random proportions per seed and the tissue map, slab by slab.

Every size is in mm in the phantom frame (see :mod:`lungnet.synthetic.tubes`), so a
128 px phantom shows the same anatomy as a 512 px one, only coarser. Shapes are
products of a 2D in-plane map and a 1D z profile, which keeps a slab of 16 slices at
512 x 512 to a few vectorised passes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy import ndimage as ndi

from lungnet.synthetic.tubes import Grid

__all__ = ["Tissue", "TISSUE_HU", "Anatomy", "draw_anatomy", "render_slab"]


class Tissue(IntEnum):
    """Tissue codes of :attr:`Phantom.tissue` (uint8)."""

    AIR = 0
    LUNG = 1
    FAT = 2
    MUSCLE = 3
    BONE_CORTEX = 4
    BONE_MARROW = 5
    BLOOD = 6
    MYOCARDIUM = 7
    VESSEL = 8
    AIRWAY_LUMEN = 9
    AIRWAY_WALL = 10
    LIVER = 11
    SPLEEN = 12
    KIDNEY = 13
    STOMACH = 14
    GAS = 15
    BOWEL = 16
    CORD = 17
    DISC = 18
    CARTILAGE = 19
    TUMOR = 20
    ATELECTASIS = 21
    EFFUSION = 22
    BLOOD_RIGHT = 23  # right heart and venae cavae: enhanced differently from the left


#: Noise-free HU range of each tissue over all seeds (before blur and noise). VESSEL and
#: the airway codes include partial-volume voxels, so they span from lung (or air) to blood.
TISSUE_HU: dict[Tissue, tuple[float, float]] = {
    Tissue.AIR: (-1000, -1000),
    Tissue.LUNG: (-915, -680),
    Tissue.FAT: (-130, -70),
    Tissue.MUSCLE: (20, 75),
    Tissue.BONE_CORTEX: (700, 1200),
    Tissue.BONE_MARROW: (400, 600),
    Tissue.BLOOD: (30, 500),
    Tissue.MYOCARDIUM: (30, 160),
    Tissue.VESSEL: (-920, 500),
    Tissue.AIRWAY_LUMEN: (-1000, 500),
    Tissue.AIRWAY_WALL: (-920, 500),
    Tissue.LIVER: (35, 150),
    Tissue.SPLEEN: (30, 160),
    Tissue.KIDNEY: (15, 205),
    Tissue.STOMACH: (0, 40),
    Tissue.GAS: (-1000, -1000),
    Tissue.BOWEL: (10, 60),
    Tissue.CORD: (20, 45),
    Tissue.DISC: (60, 110),
    Tissue.CARTILAGE: (100, 220),
    Tissue.TUMOR: (-1000, 100),  # ground glass, cavity air and necrotic fluid included
    Tissue.ATELECTASIS: (0, 120),
    Tissue.EFFUSION: (0, 20),
    Tissue.BLOOD_RIGHT: (30, 500),
}


@dataclass(frozen=True)
class Anatomy:
    """Proportions of one phantom, all in mm (phantom frame) or HU."""

    grid: Grid
    a_cav: float  # half width of the pleural cavity
    b_cav: float  # anterior-posterior half depth of the pleural cavity
    fat: float  # subcutaneous fat thickness
    muscle: float  # chest wall muscle thickness
    z_base: tuple[float, float]  # lowest lung point (right, left)
    dome: tuple[float, float]  # diaphragm dome height above z_base (right, left)
    z_apex: float
    x_med: float  # mediastinum centre line
    w_med: float  # mediastinum half width behind/between the lungs
    heart: tuple[float, float, float, float, float, float]  # centre xyz, radii xyz
    z_carina: float
    y_vb: float  # vertebral body centre (y)
    vert_period: float
    blood_hu: float
    liver_hu: float
    contrast: bool
    eso_air: tuple[float, float, float]  # z range and radius of air in the oesophagus (0: none)
    scapula: tuple[float, float]  # top z and height of the shoulder blades
    breast: float  # breast radius (0: none)
    med_curve: float  # sideways bow of the mediastinum
    stomach_level: float  # y of the stomach's air-fluid level, relative to its centre
    colon_gas: float  # share of the colon's height that is gas above the stool
    stool: np.ndarray = dataclasses.field(repr=False)  # tile: True where stool holds a gas bubble

    @property
    def y_trachea(self) -> float:
        return self.y_vb + 40.0

    @property
    def desc_aorta(self) -> tuple[float, float, float]:
        """x, y and radius of the descending aorta."""
        return -24.0, self.y_vb + 20.0, 11.0

    @property
    def asc_aorta(self) -> tuple[float, float, float]:
        return self.x_med + 14.0, self.y_vb + 78.0, 14.0

    @property
    def z_arch(self) -> float:
        return self.z_carina + 25.0

    def lung_scale(self, z: np.ndarray) -> np.ndarray:
        """In-plane scale (0..1) of the lungs at height ``z``: 1 below the apex dome."""
        r_apex = 70.0
        u = np.clip((z - (self.z_apex - r_apex)) / r_apex, 0, 1)
        return np.sqrt(np.clip(1 - u**2, 0, 1))


def draw_anatomy(rng: np.random.Generator, size: int, slices: int | None) -> Anatomy:
    """Draw one patient's proportions and the voxel grid that covers them.

    In-plane spacing follows the field of view (the body plus a margin) divided by
    ``size``; slice thickness is a scanner-like 1.0, 1.25 or 1.5 mm at 512 px, scaled by
    ``(512 / size) ** 0.6`` (2.3-3.5 mm at 128 px), unless ``slices`` fixes the count.
    """
    a_cav, b_cav = rng.uniform(112, 135), rng.uniform(78, 98)
    fat, muscle = rng.uniform(8, 28), rng.uniform(8, 14)
    half_width = a_cav + 9 + muscle + fat
    fov = 2 * half_width + rng.uniform(30, 60)
    z_base_r = rng.uniform(105, 125)
    z_base = (z_base_r, z_base_r - rng.uniform(5, 20))
    dome = (rng.uniform(35, 55), rng.uniform(25, 45))
    lung_height = rng.uniform(215, 250)
    z_apex = z_base_r + lung_height
    z_len = z_apex + rng.uniform(12, 35)
    sx = fov / size
    # Drawn even when ``slices`` is given, so the anatomy of a seed never depends on it.
    thickness_512 = float(rng.choice([1.0, 1.25, 1.5]))
    if slices is None:
        slices = max(8, int(round(z_len / (thickness_512 * (512 / size) ** 0.6))))
    sz = z_len / slices
    x_med = rng.uniform(-6, 6)
    rx, ry, rz = rng.uniform(52, 64), rng.uniform(42, 50), rng.uniform(48, 58)
    heart = (
        x_med - rng.uniform(14, 28),
        b_cav - ry - rng.uniform(2, 10),
        z_base_r + 0.5 * dome[0] + 0.75 * rz,
        rx,
        ry,
        rz,
    )
    contrast = bool(rng.random() < 0.6)
    blood_hu = rng.uniform(150, 420) if contrast else rng.uniform(32, 50)
    liver_hu = rng.uniform(95, 135) if contrast else rng.uniform(50, 70)
    w_med = rng.uniform(16, 24)
    z_carina = z_apex - rng.uniform(55, 75)
    vert_period = rng.uniform(24, 28)
    eso_z = np.sort(rng.uniform(z_base_r - 20, z_apex, 2))
    eso_r = float(rng.uniform(2, 6)) if rng.random() < 0.5 else 0.0
    scapula = (z_apex + rng.uniform(-20, 5), rng.uniform(120, 160))
    breast = float(rng.uniform(40, 70)) if rng.random() < 0.5 else 0.0
    med_curve, stomach_level, colon_gas = (
        rng.uniform(-9, 9),
        rng.uniform(-0.2, 0.7),
        rng.uniform(0.1, 0.6),
    )
    # Stool: a mottle of 2-6 mm gas bubbles, drawn once as a 40 mm tile repeated along the
    # colon; drawn last because its size follows the grid, and the rest must not.
    tile_shape = (max(4, int(40 / sx)), max(4, int(40 / sx)), max(4, int(40 / (z_len / slices))))
    tile_sigma = (1.2 / sx, 1.2 / sx, 1.2 / (z_len / slices))

    stool = ndi.gaussian_filter(rng.standard_normal(tile_shape), tile_sigma, mode="wrap")
    stool = stool > 1.1 * stool.std()
    return Anatomy(
        grid=Grid((size, size, slices), (sx, sx, sz)),
        a_cav=a_cav,
        b_cav=b_cav,
        fat=fat,
        muscle=muscle,
        z_base=z_base,
        dome=dome,
        z_apex=z_apex,
        x_med=x_med,
        w_med=w_med,
        heart=heart,
        z_carina=z_carina,
        y_vb=-b_cav + 14,
        vert_period=vert_period,
        blood_hu=blood_hu,
        liver_hu=liver_hu,
        contrast=contrast,
        eso_air=(float(eso_z[0]), float(eso_z[1]), eso_r),
        scapula=scapula,
        breast=breast,
        med_curve=float(med_curve),
        stomach_level=float(stomach_level),
        colon_gas=float(colon_gas),
        stool=stool,
    )


def _ell(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Squared normalised radius of an axis-aligned ellipse (< 1 inside), broadcast shape."""
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2


def _superellipse(
    x: np.ndarray, y: np.ndarray, a: float, b_ant: float, b_post: float, p: float = 2.5
) -> np.ndarray:
    b = np.where(y >= 0, b_ant, b_post)
    return (np.abs(x) / a) ** p + (np.abs(y) / b) ** p <= 1


def _put(t: np.ndarray, mask: np.ndarray, code: Tissue, zsel: np.ndarray | None = None) -> None:
    """Set ``t`` to ``code`` where ``mask`` is True.

    ``mask`` is 2D in-plane (optionally limited to the slices where ``zsel`` is True) or
    a 3D slab mask; the 2D form touches only the slices concerned.
    """
    if mask.ndim == 3:
        t[np.broadcast_to(mask, t.shape)] = code
        return
    for k in (
        range(t.shape[2]) if zsel is None else np.flatnonzero(np.broadcast_to(zsel, t.shape[2]))
    ):
        t[:, :, k][mask] = code


def _put_shifted(
    t: np.ndarray,
    mask: np.ndarray,
    code: Tissue,
    zsel: np.ndarray,
    g: Grid,
    dx: np.ndarray,
    dy: np.ndarray,
) -> None:
    """Set ``t`` to ``code`` on ``mask`` moved by ``(dx, dy)`` mm per slice: a curved tube."""
    for k in np.flatnonzero(zsel):
        shift = (int(round(dx[k] / g.spacing[0])), int(round(dy[k] / g.spacing[1])))
        t[:, :, k][np.roll(mask, shift, axis=(0, 1)) if any(shift) else mask] = code


def _put_ellipsoid(
    t: np.ndarray, q2d: np.ndarray, qz: np.ndarray, code: Tissue, within: np.ndarray | None = None
) -> None:
    """Set ``t`` inside the ellipsoid ``q2d + qz < 1`` (q2d in-plane, qz per slice), optionally
    within a 3D mask."""
    for k in np.flatnonzero(qz < 1):
        m = q2d < 1 - qz[k]
        if within is not None:
            m &= within[:, :, k]
        t[:, :, k][m] = code


def _put_colon(
    an: Anatomy, t: np.ndarray, x2, y2, z: np.ndarray, k0: int, abdomen: np.ndarray
) -> None:
    """Colon flexures and transverse colon: mottled stool with gas bubbles, gas to the front."""
    T = Tissue
    a, b = an.a_cav, an.b_cav
    sections = (  # centre x, centre y, half width, half depth, top z
        (a * 0.66, 12.0, 22.0, 20.0, an.z_base[0] - 15),  # hepatic flexure
        (-a * 0.66, 5.0, 20.0, 19.0, an.z_base[1] - 5),  # splenic flexure
        (0.0, b * 0.55, a * 0.5, 17.0, an.z_base[1] - 40),  # transverse colon
    )
    tile = an.stool
    n = tile.shape
    for cx, cy, rx, ry, top in sections:
        ks = np.flatnonzero(z < top)
        if not len(ks):
            continue
        lumen = _ell(x2, y2, cx, cy, rx, ry) < 1
        gas = lumen & (y2 > cy + ry * (1 - 2 * an.colon_gas))
        ix = np.flatnonzero(lumen.any(axis=1))
        iy = np.flatnonzero(lumen.any(axis=0))
        if not len(ix) or not len(iy):
            continue
        sub = np.ix_(ix, iy)
        for k in ks:
            inside = abdomen[:, :, k] & lumen
            bubbles = tile[np.ix_(ix % n[0], iy % n[1], [(k0 + k) % n[2]])][:, :, 0]
            slice_t = t[:, :, k]
            block = slice_t[sub]
            m = inside[sub]
            block[m] = T.BOWEL
            block[m & (bubbles | gas[sub])] = T.GAS
            slice_t[sub] = block


def render_slab(an: Anatomy, k0: int, k1: int, field: np.ndarray) -> np.ndarray:
    """Tissue codes of slices ``k0:k1``, shape ``(X, Y, k1 - k0)`` uint8 (see :class:`Tissue`).

    Args:
        an: the phantom's proportions.
        field: a smooth unit-variance field on the same slab, used to mix fat into the
            abdomen and the neck.
    """
    T = Tissue
    g = an.grid
    x2, y2 = g.x[:, None], g.y[None, :]
    z = g.z[k0:k1]
    t = np.zeros((g.shape[0], g.shape[1], k1 - k0), np.uint8)

    # Body wall, outside in: fat, muscle, the rib cage layer, then the pleural cavity.
    wall = 9.0 + an.muscle + an.fat
    post_extra = 28.0  # deep back muscles make the body deeper behind the spine
    body = _superellipse(x2, y2, an.a_cav + wall, an.b_cav + wall, an.b_cav + wall + post_extra)
    inner = _superellipse(
        x2,
        y2,
        an.a_cav + 9 + an.muscle,
        an.b_cav + 9 + an.muscle,
        an.b_cav + 9 + an.muscle + post_extra,
    )
    cage = _superellipse(x2, y2, an.a_cav + 9, an.b_cav + 9, an.b_cav + 9, 2.2)
    spine_zone = _ell(x2, y2, 0, -an.b_cav, 34, 36) < 1
    cavity = _superellipse(x2, y2, an.a_cav, an.b_cav, an.b_cav, 2.2) & ~spine_zone
    _put(t, body, T.FAT)
    _put(t, inner, T.MUSCLE)
    hx, hy, hz, hrx, hry, hrz = an.heart
    if an.breast:
        # Breasts: fat mounds on the anterior chest wall with glandular tissue in them.
        outside_wall = np.broadcast_to(~inner[..., None], t.shape)
        for side in (-1, 1):
            q2d = _ell(
                x2, y2, side * an.a_cav * 0.5, an.b_cav + wall - 10, an.breast, an.breast * 0.7
            )
            qz = ((z - hz - 0.2 * hrz) / (an.breast * 0.9)) ** 2
            _put_ellipsoid(t, q2d, qz, T.FAT, within=outside_wall)
            _put_ellipsoid(t, q2d * 1.6, qz * 1.6, T.MUSCLE, within=outside_wall & (field > 0.3))
    top, height = an.scapula
    if z[-1] > top - height and z[0] < top:
        # Shoulder blades: thin curved plates behind the ribs, narrowing to the inferior angle.
        for side in (-1, 1):
            cx, cy = side * an.a_cav * 0.5, -(an.b_cav + 9 + an.muscle + 6)
            ang = np.radians(side * 28)
            u = (x2 - cx) * np.cos(ang) + (y2 - cy) * np.sin(ang)
            # bowed to follow the back of the chest
            v = -(x2 - cx) * np.sin(ang) + (y2 - cy) * np.cos(ang) + 0.006 * u**2
            for k in np.flatnonzero((z > top - height) & (z < top)):
                frac = float((z[k] - (top - height)) / height)
                length = 18 + 42 * frac**0.6
                plate = (np.abs(v) < 3.5) & (u > -length * 0.4) & (u < length)
                t[:, :, k][plate & body] = T.BONE_CORTEX
                t[:, :, k][
                    (np.abs(v) < 1.8) & (u > -length * 0.4 + 2) & (u < length - 2) & body
                ] = T.BONE_MARROW

    # Diaphragm: one dome per side; below it the abdomen, above it the thorax.
    zd2 = np.where(
        x2 > an.x_med,
        an.z_base[0]
        + an.dome[0]
        * np.clip(1 - _ell(x2, y2, an.a_cav * 0.45, 5, an.a_cav * 0.62, an.b_cav * 1.05), 0, 1),
        an.z_base[1]
        + an.dome[1]
        * np.clip(1 - _ell(x2, y2, -an.a_cav * 0.45, 5, an.a_cav * 0.62, an.b_cav * 1.05), 0, 1),
    )
    zd = zd2[..., None]
    zd_min, zd_max = float(min(an.z_base)), float(zd2.max())
    thorax = cavity[..., None] & (z > zd)
    _put(t, thorax, T.FAT)
    abdomen = None
    if z[0] <= zd_max:
        abdomen = (cage & ~spine_zone)[..., None] & (z <= zd)
        _put(t, abdomen & (field <= 0.35) & (field >= -2.2), T.BOWEL)
        _put(t, abdomen & (field > 0.35), T.FAT)
        _put(t, abdomen & (field < -2.2), T.GAS)
        _put(t, cage[..., None] & (z > zd - 5) & (z <= zd), T.MUSCLE)  # diaphragm muscle
    if z[-1] > an.z_apex:
        _put(t, cage[..., None] & (z > an.z_apex) & (field > -0.2), T.MUSCLE)

    # Lungs: the cavity minus the mediastinum, narrowing to a dome at each apex.
    heart2 = _ell(x2, y2, hx, hy, hrx, hry)
    heart_z = ((z - hz) / hrz) ** 2
    ax, ay, ar = an.desc_aorta
    sx_, sy_, sr = an.asc_aorta
    # The mediastinum bows sideways and widens towards the front, where the heart sits;
    # behind it the lungs wrap closely round the oesophagus and the descending aorta.
    depth = np.clip((y2 - an.y_vb) / (2 * an.b_cav), 0, 1)
    bow = an.med_curve * np.sin(np.pi * (y2 - an.y_vb) / (2 * an.b_cav))
    med2 = np.abs(x2 - an.x_med - bow) < an.w_med * (0.4 + 0.9 * depth**0.6)
    med2 |= _ell(x2, y2, ax, ay, ar + 5, ar + 5) < 1
    med2 |= _ell(x2, y2, an.x_med - 6, an.y_vb + 24, 12, 10) < 1  # oesophagus and azygos
    asc2 = _ell(x2, y2, sx_, sy_, sr + 8, sr + 8) < 1
    sides = (
        _ell(x2, y2, an.x_med + an.a_cav * 0.5, -3, an.a_cav * 0.56, an.b_cav * 1.08),
        _ell(x2, y2, an.x_med - an.a_cav * 0.5, -3, an.a_cav * 0.56, an.b_cav * 1.08),
    )
    scale2 = an.lung_scale(z) ** 2
    for k in np.flatnonzero((z < an.z_apex) & (z > zd_min)):
        m = thorax[:, :, k] & ~med2 & ((sides[0] < scale2[k]) | (sides[1] < scale2[k]))
        if heart_z[k] < 1.25:
            m &= heart2 >= 1.25 - heart_z[k]
        if z[k] < an.z_arch:
            m &= ~asc2
        t[:, :, k][m] = T.LUNG

    # Heart: myocardium shell, blood-filled chambers split by a septum, epicardial fat.
    _put_ellipsoid(t, heart2 / 1.25, heart_z / 1.25, T.FAT, within=thorax & (t != T.LUNG))
    _put_ellipsoid(t, heart2, heart_z, T.MYOCARDIUM)
    across = (x2 - hx) * 0.8 + (y2 - hy) * 0.6  # > 0: the right heart, in front and to the right
    chambers = _ell(x2, y2, hx, hy, hrx - 11, hry - 9)
    chambers_z = ((z - hz) / (hrz - 10)) ** 2
    _put_ellipsoid(t, np.where(across > 5, chambers, 9.0), chambers_z, T.BLOOD_RIGHT)
    inner2 = np.where(across < -5, chambers, 9.0)
    _put_ellipsoid(t, inner2, ((z - hz) / (hrz - 10)) ** 2, T.BLOOD)

    # Great vessels running head to foot (the arch and pulmonary arteries are tubes).
    # The ascending aorta bulges to the right; the descending aorta drifts to the midline and
    # forward on its way to the hiatus. Both meet the arch unshifted.
    z_heart_top = hz + 0.5 * hrz
    top = an.z_arch - 10
    descent = np.clip((top - z) / (top - min(an.z_base) + 40), 0, 1)
    _put_shifted(
        t, _ell(x2, y2, ax, ay, ar, ar) < 1, T.BLOOD, z < top, g, 6 * descent, 10 * descent
    )
    bulge = 7 * np.sin(np.pi * np.clip((z - z_heart_top) / max(top - z_heart_top, 1), 0, 1))
    _put_shifted(
        t,
        _ell(x2, y2, sx_, sy_, sr, sr) < 1,
        T.BLOOD,
        (z > z_heart_top) & (z < top),
        g,
        bulge,
        np.zeros_like(bulge),
    )
    _put(
        t,
        _ell(x2, y2, an.x_med + 40, an.y_vb + 72, 10, 10) < 1,
        T.BLOOD_RIGHT,
        (z > hz) & (z < an.z_arch + 15),
    )  # SVC
    _put(
        t, _ell(x2, y2, an.x_med + 26, an.y_vb + 28, 11, 11) < 1, T.BLOOD_RIGHT, z < hz - 0.3 * hrz
    )  # IVC
    _put(
        t, _ell(x2, y2, an.x_med - 6, an.y_vb + 24, 7, 7) < 1, T.MUSCLE, z > zd_min - 30
    )  # oesophagus
    z0, z1, r_air = an.eso_air
    if r_air:  # swallowed air in the oesophagus over part of its length
        eso_air = _ell(x2, y2, an.x_med - 6, an.y_vb + 24, r_air, r_air * 0.7) < 1
        _put(t, eso_air, T.GAS, (z > z0) & (z < z1))
    for side in (-1, 1):  # carotid arteries and jugular veins in the neck
        _put(t, _ell(x2, y2, side * 24, an.y_vb + 50, 5, 5) < 1, T.BLOOD, z > an.z_arch)
        _put(t, _ell(x2, y2, side * 42, an.y_vb + 55, 7, 7) < 1, T.BLOOD, z > an.z_apex - 20)

    # Abdominal organs below the diaphragm.
    if abdomen is not None:
        st2, st_z = _ell(x2, y2, -55, 20, 48, 45), ((z - an.z_base[1] + 10) / 60) ** 2
        _put_ellipsoid(t, st2, st_z, T.STOMACH, within=abdomen)
        _put_ellipsoid(
            t, np.where(y2 > 20 + an.stomach_level * 45, st2, 9.0), st_z, T.GAS, within=abdomen
        )  # gas rises anteriorly: a flat air-fluid level (patient supine)
        _put_ellipsoid(
            t,
            _ell(x2, y2, -88, -40, 30, 45),
            ((z - an.z_base[1] + 20) / 55) ** 2,
            T.SPLEEN,
            within=abdomen,
        )
        liver_ok = abdomen & ((x2 > -20 - 50 * (y2 > 0))[..., None] | (z > zd - 25))
        _put_ellipsoid(
            t,
            _ell(x2, y2, 50, 0, 125, 110),
            ((z - an.z_base[0] - 5) / 100) ** 2,
            T.LIVER,
            within=liver_ok,
        )
        _put_colon(an, t, x2, y2, z, k0, abdomen)
        for side in (-1, 1):
            _put_ellipsoid(
                t,
                _ell(x2, y2, side * 62, an.y_vb + 2, 26, 30),
                ((z - an.z_base[0] + 75) / 52) ** 2,
                T.KIDNEY,
                within=abdomen,
            )

    # Spine: vertebral bodies with discs, the neural arch around the cord, back muscles.
    for side in (-1, 1):
        _put(t, body & (_ell(x2, y2, side * 30, an.y_vb - 42, 26, 24) < 1), T.MUSCLE)
    phase = np.mod(z, an.vert_period)
    disc = phase < 5.0
    vb = _ell(x2, y2, 0, an.y_vb, 19, 16)
    _put(t, vb < 1, T.BONE_CORTEX, ~disc)
    _put(t, vb < 0.7, T.BONE_MARROW, ~disc)
    _put(t, vb < 1, T.DISC, disc)
    y_canal = an.y_vb - 16 - 11
    arch = _ell(x2, y2, 0, y_canal, 16, 14) < 1
    arch |= _ell(x2, y2, 0, y_canal - 22, 5, 13) < 1  # spinous process
    arch |= (np.abs(y2 - y_canal) < 5) & (np.abs(x2) < 34)  # transverse processes
    gap = phase > an.vert_period - 4  # facet joints between neural arches
    _put(t, arch, T.BONE_CORTEX, ~gap)
    _put(t, arch & (_ell(x2, y2, 0, y_canal - 22, 3, 10) < 1), T.BONE_MARROW, ~gap)
    _put(t, _ell(x2, y2, 0, y_canal, 9, 8) < 1, T.CORD)

    # Sternum between the upper abdomen and the neck.
    st = _ell(x2, y2, 0, an.b_cav + 4, 17, 7)
    in_sternum = (z > hz - 0.6 * hrz) & (z < an.z_apex - 25)
    _put(t, st < 1, T.BONE_CORTEX, in_sternum)
    _put(t, st < 0.5, T.BONE_MARROW, in_sternum)
    return t
