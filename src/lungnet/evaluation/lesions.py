"""Tumors as 26-connected components: detection matching and per-tumor measurements.

All arrays are canonical RAS ``(X, Y, Z)`` (axis 0 towards the patient's right, axis 1
anterior, axis 2 superior; z index 0 is the most inferior slice). Lengths are in mm,
volumes in mL, intensities in HU.

Matching rule: a ground-truth lesion is detected (a true positive) when at least one
predicted component overlaps it by one voxel or more; a predicted component that
overlaps no ground-truth lesion is a false positive; an undetected ground-truth lesion
is a false negative.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from lungnet.io.atomic import atomic_path
from lungnet.io.volume import CTVolume
from lungnet.masks import (
    CONNECTIVITY,
    CONNECTIVITY_NEIGHBOURS,
    binarize,
    foreground_box,
    label_components,
)

__all__ = [
    "lesion_detections",
    "CONNECTIVITY",
    "Lesion",
    "LesionMatch",
    "label_lesions",
    "match_lesions",
    "measure_lesions",
    "write_lesions_csv",
    "write_lesions_json",
]


@dataclass(frozen=True)
class Lesion:
    """Measurements of one tumor (one 26-connected component of a mask).

    Attributes:
        id: 1-based, in order of decreasing volume.
        voxels: number of voxels.
        volume_ml: volume in mL (voxels x voxel volume).
        long_axis_mm: longest in-plane diameter over the axial slices (RECIST long axis).
        short_axis_mm: longest diameter perpendicular to it, on the same slice.
        long_axis_slice: canonical z index of the slice where the long axis was measured.
        centroid_voxel: centre of mass in canonical ``(x, y, z)`` voxel indices.
        centroid_world_mm: the same point in scanner coordinates (RAS+ mm, from the affine).
        slice_range: first and last canonical z index holding the lesion (inclusive).
        hu_mean: mean HU inside the lesion.
        hu_std: standard deviation of HU inside it (population, ddof 0).
    """

    id: int
    voxels: int
    volume_ml: float
    long_axis_mm: float
    short_axis_mm: float
    long_axis_slice: int
    centroid_voxel: tuple[float, float, float]
    centroid_world_mm: tuple[float, float, float]
    slice_range: tuple[int, int]
    hu_mean: float
    hu_std: float

    def as_dict(self) -> dict:
        d = asdict(self)
        for key in ("centroid_voxel", "centroid_world_mm", "slice_range"):
            d[key] = list(d[key])
        return d


@dataclass(frozen=True)
class LesionMatch:
    """Lesion-level detection counts of one case (see the module's matching rule)."""

    lesions_gt: int
    lesions_pred: int
    lesion_tp: int
    lesion_fp: int
    lesion_fn: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def label_lesions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the tumors of a mask: :func:`lungnet.masks.label_components` (26-connected).

    Args:
        mask: ``(X, Y, Z)`` bool or {0, 1} mask.

    Returns:
        ``(labels, count)``: int32 labels, 0 background and 1..count one per component.
    """
    return label_components(mask)


def match_lesions(pred: np.ndarray, gt: np.ndarray) -> LesionMatch:
    """Count detected, missed and spurious lesions between a prediction and its ground truth."""
    p, t = binarize(pred), binarize(gt)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from ground truth {t.shape}")
    box = foreground_box(p, t)
    if box is not None:  # every component lies inside the union's bounding box
        p, t = p[box], t[box]
    pred_labels, n_pred = label_lesions(p)
    gt_labels, n_gt = label_lesions(t)
    both = (pred_labels > 0) & (gt_labels > 0)
    detected_gt = np.unique(gt_labels[both]).size
    matched_pred = np.unique(pred_labels[both]).size
    return LesionMatch(
        lesions_gt=n_gt,
        lesions_pred=n_pred,
        lesion_tp=int(detected_gt),
        lesion_fp=int(n_pred - matched_pred),
        lesion_fn=int(n_gt - detected_gt),
    )


def lesion_detections(
    pred: np.ndarray, gt: np.ndarray, spacing: tuple[float, float, float]
) -> list[dict[str, float | bool]]:
    """Every ground-truth lesion: its equivalent-sphere diameter (mm), volume, and if it was found.

    A lesion is found when a predicted component overlaps it (the rule of :func:`match_lesions`).
    """
    p, t = binarize(pred), binarize(gt)
    box = foreground_box(t)
    if box is None:
        return []
    labels, count = label_lesions(t[box])
    p = p[box]
    voxel_mm3 = float(np.prod(spacing))
    voxels = np.bincount(labels.ravel(), minlength=count + 1)
    hit = np.zeros(count + 1, bool)
    hit[np.unique(labels[p & (labels > 0)])] = True
    found = []
    for i in range(1, count + 1):
        volume = float(voxels[i]) * voxel_mm3
        found.append(
            {
                "diameter_mm": (6.0 * volume / np.pi) ** (1.0 / 3.0),
                "volume_ml": volume / 1000.0,
                "detected": bool(hit[i]),
            }
        )
    return found


def _contour_points(region: np.ndarray, spacing_xy: tuple[float, float]) -> np.ndarray:
    """In-plane boundary points in mm of a 2D region, half a voxel outside each edge voxel.

    These are the vertices marching squares puts on a binary mask (as pyradiomics uses
    for Maximum2DDiameter), so a disc of radius r measures 2r and one voxel measures one
    voxel, where voxel centres would under-measure by up to a voxel.
    """
    padded = np.pad(region, 1)
    points = []
    for axis, step in ((0, 1), (0, -1), (1, 1), (1, -1)):
        outside = ~np.roll(padded, -step, axis=axis) & padded
        idx = np.argwhere(outside[1:-1, 1:-1]).astype(np.float64)
        idx[:, axis] += 0.5 * step
        points.append(idx)
    pts = np.concatenate(points)
    return pts * np.asarray(spacing_xy)


def _hull(points: np.ndarray) -> np.ndarray:
    if len(points) <= 4:
        return points
    try:
        return points[ConvexHull(points).vertices]
    except QhullError:  # collinear points: every point is on the "hull"
        return points


def _axial_diameters(points: np.ndarray, spacing_xy: tuple[float, float]) -> tuple[float, float]:
    """Long axis and the longest chord perpendicular to it, in mm, of one slice's contour points."""
    hull = _hull(points)
    diff = hull[:, None, :] - hull[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    long_axis = float(dist[i, j])
    if long_axis == 0.0:
        return 0.0, 0.0
    u = (hull[j] - hull[i]) / long_axis
    v = np.array([-u[1], u[0]])
    along, across = points @ u, points @ v
    # Chords perpendicular to the long axis: contour points grouped into strips of
    # half the finest pixel size along it; the widest strip is the short axis.
    strip = np.floor(along / (0.5 * min(spacing_xy))).astype(np.int64)
    order = np.argsort(strip, kind="stable")
    strip, across = strip[order], across[order]
    starts = np.flatnonzero(np.r_[True, strip[1:] != strip[:-1]])
    width = np.maximum.reduceat(across, starts) - np.minimum.reduceat(across, starts)
    return long_axis, float(width.max())


def _measure_one(lesion_id: int, coords: np.ndarray, hu: np.ndarray, ct: CTVolume) -> Lesion:
    sx, sy, sz = ct.spacing
    centroid = coords.mean(axis=0)
    world = ct.affine @ np.r_[centroid, 1.0]
    best = (0.0, 0.0, int(coords[0, 2]))
    for z in np.unique(coords[:, 2]):
        in_slice = coords[coords[:, 2] == z, :2]
        lo = in_slice.min(axis=0)
        region = np.zeros(tuple(in_slice.max(axis=0) - lo + 1), dtype=bool)
        region[tuple((in_slice - lo).T)] = True
        long_axis, short_axis = _axial_diameters(_contour_points(region, (sx, sy)), (sx, sy))
        if long_axis > best[0]:
            best = (long_axis, short_axis, int(z))
    return Lesion(
        id=lesion_id,
        voxels=int(len(coords)),
        volume_ml=float(len(coords) * sx * sy * sz / 1000.0),
        long_axis_mm=round(best[0], 3),
        short_axis_mm=round(best[1], 3),
        long_axis_slice=best[2],
        centroid_voxel=tuple(round(float(c), 3) for c in centroid),  # type: ignore[arg-type]
        centroid_world_mm=tuple(round(float(c), 3) for c in world[:3]),  # type: ignore[arg-type]
        slice_range=(int(coords[:, 2].min()), int(coords[:, 2].max())),
        hu_mean=round(float(hu.mean()), 3),
        hu_std=round(float(hu.std()), 3),
    )


def measure_lesions(mask: np.ndarray, ct: CTVolume) -> list[Lesion]:
    """Measure every tumor of a canonical mask on its scan.

    Args:
        mask: ``(X, Y, Z)`` mask on ``ct``'s canonical grid, bool or {0, 1} (uint8 from
            prediction, float32 from :func:`lungnet.io.read_ct`; values above
            lungnet.masks.THRESHOLD are tumor).
        ct: the scan; its spacing gives mm and mL, its affine world coordinates, its
            array the HU statistics.

    Returns:
        One :class:`Lesion` per 26-connected component, largest first (ids 1, 2, ...);
        an empty list for an empty mask.

    Raises:
        ValueError: the mask's shape differs from the scan's.
    """
    if tuple(np.shape(mask)) != ct.shape:
        raise ValueError(f"mask shape {tuple(np.shape(mask))} differs from the scan's {ct.shape}")
    binary = binarize(mask)
    crop = foreground_box(binary)
    if crop is None:
        return []
    labels, _ = label_lesions(binary[crop])
    origin = np.array([s.start for s in crop])
    hu_crop = ct.array[crop]
    found = []
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        local = labels[box] == label
        coords = np.argwhere(local) + origin + np.array([s.start for s in box])
        found.append((coords, hu_crop[box][local]))
    found.sort(key=lambda item: -len(item[0]))
    return [_measure_one(i, coords, hu, ct) for i, (coords, hu) in enumerate(found, start=1)]


_CSV_FIELDS = (
    "id",
    "voxels",
    "volume_ml",
    "long_axis_mm",
    "short_axis_mm",
    "long_axis_slice",
    "centroid_x",
    "centroid_y",
    "centroid_z",
    "world_x_mm",
    "world_y_mm",
    "world_z_mm",
    "slice_first",
    "slice_last",
    "hu_mean",
    "hu_std",
)


def write_lesions_csv(lesions: Sequence[Lesion], path: str | Path) -> Path:
    """Write one row per lesion (columns ``_CSV_FIELDS``; coordinates as in :class:`Lesion`)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(_CSV_FIELDS)
        for les in lesions:
            writer.writerow(
                [
                    les.id,
                    les.voxels,
                    f"{les.volume_ml:.4f}",
                    les.long_axis_mm,
                    les.short_axis_mm,
                    les.long_axis_slice,
                    *les.centroid_voxel,
                    *les.centroid_world_mm,
                    *les.slice_range,
                    les.hu_mean,
                    les.hu_std,
                ]
            )
    return path


def write_lesions_json(
    lesions: Sequence[Lesion], path: str | Path, ct: CTVolume | None = None
) -> Path:
    """Write the lesions, with units and coordinate conventions, as JSON.

    Args:
        lesions: from :func:`measure_lesions`.
        path: the ``.json`` file to write.
        ct: the scan, to record its source, canonical shape and spacing.
    """
    doc: dict = {
        "units": {"volume": "mL", "length": "mm", "intensity": "HU"},
        "coordinates": {
            "voxel": "canonical RAS (x, y, z) indices; axis 0 towards the patient's right, "
            "axis 1 anterior, axis 2 superior, z 0 the most inferior slice",
            "world": "scanner RAS+ mm, from the scan's affine",
        },
        "connectivity": CONNECTIVITY_NEIGHBOURS,
        "count": len(lesions),
        "total_volume_ml": round(float(sum(les.volume_ml for les in lesions)), 4),
        "lesions": [les.as_dict() for les in lesions],
    }
    if ct is not None:
        doc["scan"] = {
            "source": None if ct.source is None else str(ct.source),
            "shape": list(ct.shape),
            "spacing_mm": [round(s, 6) for s in ct.spacing],
            "file_axcodes": "".join(ct.geometry.axcodes),
        }
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
    return path
