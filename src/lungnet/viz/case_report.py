"""PNG overlays and the self-contained HTML report of one scan and its tumor mask.

Pictures follow the shared display conventions of :mod:`lungnet.viz.visualization`:
CT in the lung window and its CT colormap, ground truth in its colormap, the
prediction in the probability heatmap's colour for 1.0, radiological orientation
(patient's right on the image's left, anterior at the top; coronal and sagittal views
with superior at the top, sagittal with anterior on the left).

Files written for a case ``NAME`` into the output folder:
``NAME_report.html`` (opens from disk, no network), ``NAME_montage.png``,
``NAME_orthogonal.png``, ``NAME_tumors.json`` and ``NAME_tumors.csv``. When the folder
also holds ``NAME_radiomics.json`` and ``NAME_radiomics.csv`` for the same tumors (written
by ``lungnet radiomics`` or ``lungnet predict --radiomics``), the page shows a radiomics
panel per tumor; :func:`add_radiomics_panel` adds or renews it in an existing report.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lungnet.errors import LungNetInputError
from lungnet.evaluation.lesions import (
    Lesion,
    measure_lesions,
    write_lesions_csv,
    write_lesions_json,
)
from lungnet.io.atomic import atomic_path
from lungnet.io.volume import CTVolume
from lungnet.masks import binarize
from lungnet.naming import case_name, output_file_name
from lungnet.radiomics.tables import radiomics_paths
from lungnet.viz.colors import GT_COLOR, PRED_COLOR
from lungnet.viz.report_html import (
    PANEL_END,
    PANEL_START,
    build_html,
    radiomics_matches,
    radiomics_panel,
)
from lungnet.viz.visualization import CT_CMAP, LUNG_WINDOW_HU, to_radiological

__all__ = [
    "GT_COLOR",
    "add_radiomics_panel",
    "PRED_COLOR",
    "case_name_of",
    "montage_figure",
    "orthogonal_figure",
    "report_paths",
    "write_report",
]

log = logging.getLogger(__name__)

#: At most this many slices in the axial montage (evenly chosen among tumor slices).
MONTAGE_SLICES = 16


def case_name_of(path: str | Path | None) -> str:
    """``lung_001`` for ``.../lung_001.nii.gz`` (or a DICOM folder's name)."""
    return "scan" if path is None else case_name(path)


def report_paths(output_dir: str | Path, case_name: str) -> dict[str, Path]:
    """The files :func:`write_report` writes, by kind."""
    out = Path(output_dir)
    return {
        "html": out / output_file_name(case_name, "report", ".html"),
        "montage": out / f"{case_name}_montage.png",
        "orthogonal": out / f"{case_name}_orthogonal.png",
        "json": out / f"{case_name}_tumors.json",
        "csv": out / f"{case_name}_tumors.csv",
    }


def _radiomics_of(json_path: Path, lesions: Sequence[Lesion]) -> tuple[dict, Path] | None:
    """The radiomics JSON and its CSV when both exist and describe these very tumors."""
    csv_path = json_path.with_suffix(".csv")
    if not (json_path.is_file() and csv_path.is_file()):
        return None
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("%s: not shown in the report (%s)", json_path, e)
        return None
    if not radiomics_matches(doc, lesions):
        log.warning("%s: describes other tumors than the mask; not shown in the report", json_path)
        return None
    return doc, csv_path


def add_radiomics_panel(html_path: str | Path, radiomics_json: str | Path) -> Path:
    """Put (or renew) the radiomics panel of ``radiomics_json`` into an existing report.

    Args:
        html_path: a report written by :func:`write_report`.
        radiomics_json: the case's radiomics JSON; its CSV (same name, ``.csv``) is linked.

    Raises:
        LungNetInputError: the report has no place for the panel (written by another version).
    """
    html_path, json_path = Path(html_path), Path(radiomics_json)
    page = html_path.read_text(encoding="utf-8")
    start, end = page.find(PANEL_START), page.find(PANEL_END)
    if start < 0 or end < start:
        raise LungNetInputError(html_path, "has no radiomics panel slot; write the report again")
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    panel = radiomics_panel(doc, json_path.with_suffix(".csv"))
    with atomic_path(html_path) as tmp:
        tmp.write_text(page[:start] + panel + page[end + len(PANEL_END) :], encoding="utf-8")
    return html_path


def _show(
    ax: Axes, hu: np.ndarray, outlines: Sequence[tuple[np.ndarray, tuple]], aspect: float
) -> None:
    """Draw a 2D canonical section (in display orientation) with its mask outlines."""
    low, high = LUNG_WINDOW_HU
    ax.imshow(
        to_radiological(hu),
        cmap=CT_CMAP,
        vmin=low,
        vmax=high,
        aspect=aspect,
        interpolation="bilinear",
    )
    for mask, color in outlines:
        shown = to_radiological(mask)
        if shown.any():
            ax.contour(shown.astype(np.float32), levels=[0.5], colors=[color], linewidths=1.3)
    ax.set_xticks([])
    ax.set_yticks([])


def _outlines(
    pred: np.ndarray, gt: np.ndarray | None, index: tuple
) -> list[tuple[np.ndarray, tuple]]:
    found = [(pred[index], PRED_COLOR)]
    if gt is not None:
        found.append((gt[index], GT_COLOR))
    return found


def montage_figure(ct: CTVolume, mask: np.ndarray, gt: np.ndarray | None = None) -> Figure:
    """Axial montage of tumor-bearing slices, cropped around the tumors, masks outlined.

    Args:
        ct: the scan.
        mask: ``(X, Y, Z)`` bool predicted mask on ``ct``'s canonical grid.
        gt: optional ``(X, Y, Z)`` bool ground truth, outlined too (its slices included).

    Returns:
        A matplotlib Figure of up to :data:`MONTAGE_SLICES` panels, inferior to superior;
        evenly spaced full slices titled "no tumor" when both masks are empty.
    """
    union = mask if gt is None else (mask | gt)
    z_tumor = np.flatnonzero(union.any(axis=(0, 1)))
    sx, sy, _ = ct.spacing
    if z_tumor.size:
        zs = z_tumor[
            np.unique(np.linspace(0, z_tumor.size - 1, MONTAGE_SLICES).round().astype(int))
        ]
        xs = np.flatnonzero(union.any(axis=(1, 2)))
        ys = np.flatnonzero(union.any(axis=(0, 2)))
        # keep at least 40 mm of context around the tumors so the anatomy is recognisable
        mx, my = int(max(40 / sx, xs.size)), int(max(40 / sy, ys.size))
        crop = (
            slice(max(xs[0] - mx, 0), xs[-1] + mx + 1),
            slice(max(ys[0] - my, 0), ys[-1] + my + 1),
        )
    else:
        zs = np.linspace(0, ct.shape[2] - 1, min(8, ct.shape[2])).round().astype(int)
        crop = (slice(None), slice(None))
    cols = min(4, len(zs))
    rows = int(np.ceil(len(zs) / cols))
    nx = len(range(*crop[0].indices(ct.shape[0])))
    ny = len(range(*crop[1].indices(ct.shape[1])))
    panel_h = 2.6 * min(max((ny * sy) / (nx * sx), 0.4), 2.0)  # shown rows are y, columns x
    fig = Figure(figsize=(2.6 * cols, (panel_h + 0.3) * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, z in zip(axes, zs, strict=False):
        index = (crop[0], crop[1], int(z))
        _show(ax, ct.array[index], _outlines(mask, gt, index) if z_tumor.size else [], sy / sx)
        ax.set_title(f"z {z}", fontsize=9)
    for ax in axes[len(zs) :]:
        ax.set_axis_off()
    legend = "prediction: red" + (", ground truth: yellow" if gt is not None else "")
    title = f"Tumor-bearing axial slices ({legend})" if z_tumor.size else "No tumor found"
    fig.suptitle(title, fontsize=11)
    return fig


def orthogonal_figure(
    ct: CTVolume,
    mask: np.ndarray,
    point: Sequence[float],
    gt: np.ndarray | None = None,
    title: str = "Through the largest tumor",
) -> Figure:
    """Axial, coronal and sagittal sections through ``point`` with the masks outlined.

    Args:
        ct: the scan.
        mask: ``(X, Y, Z)`` bool predicted mask.
        point: canonical ``(x, y, z)`` voxel position (e.g. the largest tumor's centroid).
        gt: optional ``(X, Y, Z)`` bool ground truth.
        title: figure title.
    """
    x, y, z = (int(round(float(c))) for c in point)
    sx, sy, sz = ct.spacing
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    views = (
        ("axial", (slice(None), slice(None), z), sy / sx, f"z {z}"),
        ("coronal", (slice(None), y, slice(None)), sz / sx, f"y {y}"),
        ("sagittal", (x, slice(None), slice(None)), sz / sy, f"x {x}"),
    )
    for ax, (name, index, aspect, where) in zip(axes, views, strict=True):
        # The radiological transform of an (X, Y) slice also orients (X, Z) and (Y, Z)
        # sections: superior at the top, patient's right / anterior on the left.
        _show(ax, ct.array[index], _outlines(mask, gt, index), aspect)
        ax.set_title(f"{name} ({where})", fontsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    """Save as a 256-colour PNG: the CT colormap is a 256-entry table, so this looks the
    same and halves the file (and the HTML that embeds it): 506 kB -> 254 kB measured on
    the montage of the 1.5 mm real test scan."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format="png")
    image = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return path


def write_report(
    ct: CTVolume,
    mask: np.ndarray,
    output_dir: str | Path,
    gt: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    case_name: str | None = None,
    lesions: Sequence[Lesion] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the PNG overlays, tumor tables and the self-contained HTML report of one scan.

    Args:
        ct: the scan (canonical RAS, HU).
        mask: ``(X, Y, Z)`` predicted mask on ``ct``'s canonical grid (uint8 or bool).
        output_dir: folder for the files (created).
        gt: optional ``(X, Y, Z)`` ground-truth mask on the same grid.
        probabilities: optional ``(X, Y, Z)`` float tumor probabilities in [0, 1].
        case_name: file name prefix; defaults to the scan's file name without extension.
        lesions: measurements of ``mask`` if already computed (else measured here).
        overwrite: replace this case's report files if they exist.

    Returns:
        The path of ``<case_name>_report.html``.

    Raises:
        LungNetInputError: the report exists and ``overwrite`` is false.
        ValueError: an array's shape differs from the scan's.
    """
    name = case_name or case_name_of(ct.source)
    paths = report_paths(output_dir, name)
    if paths["html"].exists() and not overwrite:
        raise LungNetInputError(paths["html"], "already exists; pass --overwrite to replace it")
    arrays = {"mask": mask, "gt": gt, "probabilities": probabilities}
    for key, value in arrays.items():
        if value is not None and tuple(np.shape(value)) != ct.shape:
            raise ValueError(
                f"{key} shape {tuple(np.shape(value))} differs from the scan's {ct.shape}"
            )
    pred = binarize(mask)
    truth = None if gt is None else binarize(gt)
    found = list(lesions) if lesions is not None else measure_lesions(pred, ct)
    # through the largest predicted tumor, else the largest missed one, else the centre
    radiomics = _radiomics_of(radiomics_paths(output_dir, name)["json"], found)
    gt_found = [] if found or truth is None else measure_lesions(truth, ct)
    if found:
        point, title = found[0].centroid_voxel, "Through the largest tumor"
    elif gt_found:
        point, title = gt_found[0].centroid_voxel, "Through the largest ground-truth tumor"
    else:
        point, title = tuple((n - 1) / 2 for n in ct.shape), "Through the scan centre (no tumor)"
    _save(montage_figure(ct, pred, truth), paths["montage"])
    _save(orthogonal_figure(ct, pred, point, truth, title), paths["orthogonal"])
    write_lesions_json(found, paths["json"], ct)
    write_lesions_csv(found, paths["csv"])
    html = build_html(
        ct,
        pred,
        name,
        found,
        images={"Axial montage": paths["montage"], "Orthogonal views": paths["orthogonal"]},
        gt=truth,
        probabilities=probabilities,
        radiomics=radiomics,
    )
    with atomic_path(paths["html"]) as tmp:
        tmp.write_text(html, encoding="utf-8")
    log.debug("report of %s: %s (%d tumor(s))", name, paths["html"], len(found))
    return paths["html"]
