"""Tubes (vessels, airways, ribs) rasterised with partial-volume edges, and branching trees.

Positions are in the phantom frame, in mm: x towards the patient's right, y anterior,
z superior, with x = y = 0 at the centre of the field of view and z = 0 at the lower
edge of the most inferior slice. Each segment is evaluated only inside its own
bounding box, so thousands of thin vessels cost a fraction of one full-volume pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "Segment", "segment_fraction", "iter_fractions", "polyline", "grow_tree"]


@dataclass(frozen=True)
class Grid:
    """Voxel grid of a phantom.

    Attributes:
        shape: ``(X, Y, Z)`` voxels in canonical RAS order.
        spacing: voxel size in mm along X, Y, Z.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]

    @property
    def x(self) -> np.ndarray:
        """Voxel-centre x positions in mm, shape ``(X,)``."""
        return ((np.arange(self.shape[0]) - (self.shape[0] - 1) / 2) * self.spacing[0]).astype(
            np.float32
        )

    @property
    def y(self) -> np.ndarray:
        """Voxel-centre y positions in mm, shape ``(Y,)``."""
        return ((np.arange(self.shape[1]) - (self.shape[1] - 1) / 2) * self.spacing[1]).astype(
            np.float32
        )

    @property
    def z(self) -> np.ndarray:
        """Voxel-centre z positions in mm above the volume's lower edge, shape ``(Z,)``."""
        return ((np.arange(self.shape[2]) + 0.5) * self.spacing[2]).astype(np.float32)

    def index(self, p: np.ndarray) -> np.ndarray:
        """Fractional voxel index of mm positions ``p`` (``(..., 3)``)."""
        p = np.asarray(p, dtype=np.float64)
        centre = np.array([(self.shape[0] - 1) / 2, (self.shape[1] - 1) / 2, -0.5])
        return p / np.asarray(self.spacing) + centre

    def voxel(self, p: np.ndarray) -> np.ndarray:
        """Nearest voxel index of mm positions ``p`` (``(..., 3)``), clipped into the grid."""
        idx = np.rint(self.index(p)).astype(np.int64)
        return np.clip(idx, 0, np.asarray(self.shape) - 1)


@dataclass(frozen=True)
class Segment:
    """A straight tube piece from ``p0`` to ``p1`` (mm) with radii ``r0`` -> ``r1`` (mm)."""

    p0: np.ndarray
    p1: np.ndarray
    r0: float
    r1: float


def segment_fraction(
    grid: Grid, seg: Segment, radius_scale: float = 1.0, radius_add: float = 0.0
) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
    """Partial-volume fraction of the tube ``seg`` in its bounding box.

    The edge is a one-voxel linear ramp. Tubes thinner than half a voxel are drawn half a
    voxel wide with their contrast scaled by the area ratio, so thin vessels fade instead
    of breaking into dots.

    Returns:
        ``(box, f)``: the bounding box as slices into the ``(X, Y, Z)`` volume and
        ``f`` float32 in [0, 1] with the box's shape; None when the box is empty.
    """
    w = float(grid.spacing[0])
    r0 = seg.r0 * radius_scale + radius_add
    r1 = seg.r1 * radius_scale + radius_add
    if max(r0, r1) <= 0:
        return None
    reach = max(r0, r1, 0.5 * w) + w
    lo = np.floor(grid.index(np.minimum(seg.p0, seg.p1) - reach)).astype(int)
    hi = np.ceil(grid.index(np.maximum(seg.p0, seg.p1) + reach)).astype(int) + 1
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, grid.shape)
    if np.any(hi <= lo):
        return None
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    vx = grid.x[box[0]][:, None, None] - np.float32(seg.p0[0])
    vy = grid.y[box[1]][None, :, None] - np.float32(seg.p0[1])
    vz = grid.z[box[2]][None, None, :] - np.float32(seg.p0[2])
    d = (seg.p1 - seg.p0).astype(np.float32)
    length2 = float(d @ d)
    t = (
        (vx * d[0] + vy * d[1] + vz * d[2]) / length2
        if length2 > 0
        else np.zeros_like(vx + vy + vz)
    )
    t = np.clip(t, 0, 1)
    dist = np.sqrt((vx - t * d[0]) ** 2 + (vy - t * d[1]) ** 2 + (vz - t * d[2]) ** 2)
    r = r0 + t * (r1 - r0)
    r_eff = np.maximum(r, 0.5 * w)
    f = np.clip((r_eff - dist) / w + 0.5, 0, 1) * np.minimum(1, (r / r_eff) ** 2)
    return box, f.astype(np.float32)  # type: ignore[return-value]


def polyline(points: np.ndarray, r0: float, r1: float | None = None) -> list[Segment]:
    """Segments along ``points`` (``(n, 3)`` mm), radius tapering linearly from ``r0`` to ``r1``."""
    points = np.asarray(points, dtype=np.float64)
    r1 = r0 if r1 is None else r1
    radii = np.linspace(r0, r1, len(points))
    return [
        Segment(points[i], points[i + 1], radii[i], radii[i + 1]) for i in range(len(points) - 1)
    ]


def _rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation of ``v`` about unit ``axis`` by ``angle`` radians."""
    return (
        v * np.cos(angle)
        + np.cross(axis, v) * np.sin(angle)
        + axis * (axis @ v) * (1 - np.cos(angle))
    )


def _perpendicular(rng: np.random.Generator, v: np.ndarray) -> np.ndarray:
    a = rng.standard_normal(3)
    a -= (a @ v) * v
    return a / (np.linalg.norm(a) + 1e-9)


def grow_tree(
    rng: np.random.Generator,
    root: np.ndarray,
    direction: np.ndarray,
    radius: float,
    inside: Callable[[np.ndarray], np.ndarray],
    min_radius: float,
    max_segments: int = 600,
    length_per_radius: tuple[float, float] = (5.0, 9.0),
) -> list[Segment]:
    """Grow a branching tube tree (vessels or bronchi) that stays inside a region.

    Each segment is ``length_per_radius`` times its radius long (2.5 to 20 mm) and splits
    asymmetrically, as pulmonary vessels do: a trunk that goes on almost as thick
    (radius x 0.84-0.94) and a thinner side branch (x 0.45-0.75) at a wider angle. A branch
    stops when it would leave the region or gets
    thinner than ``min_radius``.

    Args:
        root: start point in mm, ``(3,)``.
        direction: initial direction ``(3,)``; need not be normalised.
        radius: radius at the root in mm.
        inside: maps ``(n, 3)`` mm points to ``(n,)`` bool, True inside the allowed region.
        min_radius: branches thinner than this (mm) are not drawn.
        max_segments: cap on the number of segments.

    Returns:
        The segments, in breadth-first order.
    """
    segments: list[Segment] = []
    d0 = np.asarray(direction, dtype=np.float64)
    queue: list[tuple[np.ndarray, np.ndarray, float]] = [
        (np.asarray(root, float), d0 / np.linalg.norm(d0), radius)
    ]
    head = 0
    while head < len(queue) and len(segments) < max_segments:
        p, d, r = queue[head]
        head += 1
        length = float(np.clip(r * rng.uniform(*length_per_radius), 2.5, 20.0))
        end = None
        for scale in (1.0, 0.5):
            q = p + d * length * scale
            if inside(np.stack([q, p + d * length * scale * 0.5]))[0:2].all():
                end = q
                break
        if end is None:
            continue
        r_end = r * 0.97
        segments.append(Segment(p, end, r, r_end))
        if r_end * 0.6 < min_radius:
            continue
        # Children bend away from each other and slightly away from the root, so the tree
        # spreads through the region instead of doubling back; a child whose first choice
        # leaves the region tries a few other planes.
        outward = end - queue[0][0]
        outward = outward / (np.linalg.norm(outward) + 1e-9)
        a1, a2 = np.radians(rng.uniform(5, 25)), np.radians(rng.uniform(35, 70))
        for ratio, angle in ((rng.uniform(0.84, 0.94), a1), (rng.uniform(0.45, 0.75), -a2)):
            child_r = r_end * ratio
            if child_r < min_radius:
                continue
            for _try in range(4):
                c = _rotate(d, _perpendicular(rng, d), angle) + 0.4 * outward
                c /= np.linalg.norm(c)
                if inside(end[None] + c[None] * min(6.0, 3 * child_r))[0]:
                    queue.append((end, c, child_r))
                    break
    return segments


def iter_fractions(
    grid: Grid, segments: list[Segment], radius_scale: float = 1.0, radius_add: float = 0.0
) -> Iterator[tuple[tuple[slice, slice, slice], np.ndarray]]:
    """:func:`segment_fraction` for each segment, skipping empty boxes."""
    for seg in segments:
        out = segment_fraction(grid, seg, radius_scale, radius_add)
        if out is not None:
            yield out
