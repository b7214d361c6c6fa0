"""The self-contained HTML page of the report: summary, tumor table, pictures, slice scroller.

Everything is inline (images as base64 data URLs, one inline script, no external
resource), so the file opens from disk with no network. The scroller holds every axial
slice as a grayscale WebP (JPEG where Pillow lacks WebP), cropped to the body and
scaled to at most :data:`SCROLLER_MAX_SIDE` pixels, and colours it in the browser with the
CT colormap's lookup table; masks are small transparent PNGs drawn over it, only for the slices they
touch. A 512 x 512 x 300 scan stays within a few MB this way: WebP frames were 6.4 kB
against 12.8 kB for JPEG of the same look (quality 82) on the benchmark phantom.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image, features
from scipy import ndimage

from lungnet.evaluation.lesions import Lesion
from lungnet.io.volume import CTVolume
from lungnet.viz.colors import GT_COLOR, PRED_COLOR
from lungnet.viz.visualization import CT_CMAP, LUNG_WINDOW_HU, PROB_CMAP, to_radiological

__all__ = [
    "PANEL_FEATURES",
    "SCROLLER_MAX_SIDE",
    "build_html",
    "radiomics_panel",
    "radiomics_matches",
]

#: Longest side of a scroller frame in pixels.
SCROLLER_MAX_SIDE = 320
_QUALITY = 75
_BODY_HU = -500.0  # air outside the body is below this; the crop keeps everything above
#: Feature columns (MIRP/IBSI tag without its distance, aggregation and discretisation
#: suffix) shown in the report's radiomics panel, with the panel's column heading.
PANEL_FEATURES = (
    ("morph_sphericity", "sphericity"),
    ("morph_diam", "max. 3D diameter (mm)"),
    ("stat_skew", "HU skewness"),
    ("ih_entropy", "histogram entropy"),
    ("cm_joint_entr", "GLCM joint entropy"),
    ("ngt_coarseness", "NGTDM coarseness"),
)
#: The panel sits between these comments, so a report can get its panel after the fact.
PANEL_START, PANEL_END = "<!-- radiomics panel -->", "<!-- /radiomics panel -->"


@functools.lru_cache(maxsize=1)
def page_template() -> str:
    """The page's HTML, CSS and script with ``%NAME%`` placeholders (package data)."""
    page = resources.files("lungnet.viz").joinpath("templates", "report.html")
    return page.read_text(encoding="utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _png(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return _b64(buf.getvalue())


def _frame_geometry(ct: CTVolume) -> tuple[tuple[slice, slice], tuple[int, int]]:
    """In-plane crop to the body (canonical x, y) and the frame size (width, height) in px."""
    body = (ct.array > _BODY_HU).any(axis=2)
    if body.any():
        xs, ys = np.flatnonzero(body.any(axis=1)), np.flatnonzero(body.any(axis=0))
        crop = (slice(xs[0], xs[-1] + 1), slice(ys[0], ys[-1] + 1))
    else:
        crop = (slice(None), slice(None))
    nx = len(range(*crop[0].indices(ct.shape[0])))
    ny = len(range(*crop[1].indices(ct.shape[1])))
    width_mm, height_mm = nx * ct.spacing[0], ny * ct.spacing[1]
    scale = min(
        SCROLLER_MAX_SIDE / max(width_mm, height_mm), max(nx, ny) / max(width_mm, height_mm)
    )
    return crop, (max(1, round(width_mm * scale)), max(1, round(height_mm * scale)))


def _resize(section_xy: np.ndarray, size: tuple[int, int], resample: int) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(to_radiological(section_xy))).resize(size, resample)


def _frame_format() -> tuple[str, str, int]:
    """Pillow format, MIME type and quality of the CT frames."""
    if features.check("webp"):
        return "WEBP", "image/webp", _QUALITY
    return "JPEG", "image/jpeg", 82


def _ct_frames(ct: CTVolume, crop: tuple[slice, slice], size: tuple[int, int]) -> list[str]:
    low, high = LUNG_WINDOW_HU
    fmt, _, quality = _frame_format()
    frames = []
    for z in range(ct.shape[2]):
        hu = ct.array[crop[0], crop[1], z]
        gray = np.clip((hu - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        _resize(gray, size, Image.Resampling.BILINEAR).save(buf, fmt, quality=quality)
        frames.append(_b64(buf.getvalue()))
    return frames


def _mask_frames(mask: np.ndarray, crop, size, rgb: Sequence[float]) -> dict[int, str]:
    """Outline (opaque) and fill (faint) of the mask, per slice it touches, as RGBA PNGs."""
    color = np.array([round(255 * c) for c in rgb[:3]], np.uint8)
    frames = {}
    for z in np.flatnonzero(mask.any(axis=(0, 1))):
        img = _resize(
            mask[crop[0], crop[1], z].astype(np.uint8) * 255, size, Image.Resampling.NEAREST
        )
        inside = np.asarray(img) > 127
        edge = inside & ~ndimage.binary_erosion(inside)
        rgba = np.zeros((*inside.shape, 4), np.uint8)
        rgba[inside] = (*color, 50)
        rgba[edge] = (*color, 255)
        frames[int(z)] = _png(Image.fromarray(rgba, "RGBA"))
    return frames


def _prob_frames(prob: np.ndarray, crop, size) -> dict[int, str]:
    """Heatmap of probabilities >= 0.1, opacity growing with the probability."""
    lut = (colormaps[PROB_CMAP](np.linspace(0, 1, 256)) * 255).astype(np.uint8)
    frames = {}
    for z in np.flatnonzero((prob >= 0.1).any(axis=(0, 1))):
        p = np.clip(prob[crop[0], crop[1], z], 0, 1)
        img = np.asarray(_resize((p * 255).astype(np.uint8), size, Image.Resampling.BILINEAR))
        rgba = lut[img].copy()
        rgba[..., 3] = np.where(img >= 26, (img.astype(np.float32) * 0.7).astype(np.uint8), 0)
        frames[int(z)] = _png(Image.fromarray(rgba, "RGBA"))
    return frames


def _num(value: float, digits: int = 1, unit: str = "") -> str:
    """A number for the page; NaN (undefined, see the empty-mask rules) as a word, never 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    return f"{value:.{digits}f}{unit}"


def _summary_rows(ct: CTVolume, name: str, lesions: Sequence[Lesion], metrics: dict | None) -> str:
    g = ct.geometry
    rows = [
        ("Case", html.escape(name)),
        ("Source", html.escape(str(ct.source or "-"))),
        ("File shape / orientation", f"{tuple(g.shape)} / {''.join(g.axcodes)}"),
        ("Voxel spacing (mm)", " x ".join(f"{s:.3g}" for s in ct.spacing)),
        ("Slices (axial)", f"{ct.shape[2]} (slice 0 = most inferior)"),
        ("Tumors", str(len(lesions))),
        ("Total tumor volume (mL)", _num(sum(les.volume_ml for les in lesions), 2)),
    ]
    if lesions:
        rows.append(("Largest tumor, long axis (mm)", _num(lesions[0].long_axis_mm)))
    if metrics:
        rows.append(("Against ground truth", ", ".join(f"{k} {v}" for k, v in metrics.items())))
    return "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)


def _tumor_rows(lesions: Sequence[Lesion]) -> str:
    if not lesions:
        return '<tr><td colspan="8">No tumor in the mask.</td></tr>'
    out = []
    for les in lesions:
        world = ", ".join(f"{c:.1f}" for c in les.centroid_world_mm)
        out.append(
            f'<tr class="tumor" data-slice="{les.long_axis_slice}" '
            f'title="show slice {les.long_axis_slice}">'
            f"<td>{les.id}</td><td>{les.volume_ml:.2f}</td><td>{les.long_axis_mm:.1f}</td>"
            f"<td>{les.short_axis_mm:.1f}</td>"
            f"<td>{les.slice_range[0]}&ndash;{les.slice_range[1]}</td>"
            f"<td>{les.long_axis_slice}</td><td>({world})</td>"
            f"<td>{les.hu_mean:.0f} &plusmn; {les.hu_std:.0f}</td></tr>"
        )
    return "\n".join(out)


def _panel_column(doc: dict, tag: str) -> dict | None:
    """The feature entry of a radiomics JSON whose column is ``tag`` or ``tag_<suffix>``."""
    for feature in doc.get("features", []):
        if feature["column"] == tag or feature["column"].startswith(tag + "_"):
            return feature
    return None


def radiomics_matches(doc: dict, lesions: Sequence[Lesion]) -> bool:
    """Whether a radiomics JSON describes exactly these tumors (same ids and voxel counts)."""
    tumors = doc.get("tumors", [])
    return len(tumors) == len(lesions) and all(
        t.get("id") == les.id and t.get("voxels") == les.voxels
        for t, les in zip(tumors, lesions, strict=True)
    )


def radiomics_panel(doc: dict, csv_path: Path) -> str:
    """The radiomics section of the page: a few named IBSI features per tumor, the settings,
    and the full CSV as a download link (a data URL, so the page stays self-contained).

    Args:
        doc: a radiomics JSON as written by :func:`lungnet.radiomics.write_radiomics_json`.
        csv_path: its CSV, embedded whole behind the link.
    """
    shown = [(tag, label, _panel_column(doc, tag)) for tag, label in PANEL_FEATURES]
    shown = [(label, f) for _, label, f in shown if f is not None]
    head = "".join(
        f'<th title="{html.escape(f["name"])} (IBSI {html.escape(str(f["ibsi_id"]))}; '
        f'column {html.escape(f["column"])})">{html.escape(label)}</th>'
        for label, f in shown
    )
    rows = []
    for tumor in doc.get("tumors", []):
        cells = []
        for _, f in shown:
            value = tumor["features"].get(f["column"])
            # + 0.0 shows MIRP's -0.0 (the entropy of a single bin) as 0
            cells.append("<td>undefined</td>" if value is None else f"<td>{value + 0.0:.3g}</td>")
        rows.append(f'<tr class="radiomics-tumor"><td>{tumor["id"]}</td>{"".join(cells)}</tr>')
    if not rows:
        rows.append(f'<tr><td colspan="{len(shown) + 1}">No tumor in the mask.</td></tr>')
    undefined = [
        f"tumor {t['id']}: {len(t['undefined'])} undefined"
        for t in doc.get("tumors", [])
        if t.get("undefined")
    ]
    s, p = doc.get("settings", {}), doc.get("processing", {})
    voxel = "none" if s.get("voxel_size_mm") is None else f"isotropic {s['voxel_size_mm']:g} mm"
    software = doc.get("software", {})
    link = (
        f'<a id="radiomics-csv" download="{html.escape(csv_path.name)}" '
        f'href="data:text/csv;base64,{_b64(csv_path.read_bytes())}">{html.escape(csv_path.name)}</a>'
    )
    note = (
        f"IBSI features computed by MIRP {html.escape(str(software.get('mirp')))}, "
        f"{doc.get('feature_count', 0)} per tumor. Resampling: {html.escape(voxel)}; "
        f"discretisation: {html.escape(str(p.get('discretisation')))}; re-segmentation: "
        f"{html.escape(str(p.get('resegmentation')))}; aggregation: 3D, merged. "
        + (
            f"Undefined features ({html.escape('; '.join(undefined))}) are listed in the table. "
            if undefined
            else ""
        )
        + f"Full table (every feature, IBSI names): {link}, also written beside this report."
    )
    return (
        f'{PANEL_START}<h2>Radiomics</h2>\n<table id="radiomics"><tr><th>id</th>{head}</tr>\n'
        + "\n".join(rows)
        + f'</table>\n<p class="note">{note}</p>{PANEL_END}'
    )


def build_html(
    ct: CTVolume,
    pred: np.ndarray,
    name: str,
    lesions: Sequence[Lesion],
    images: dict[str, Path],
    gt: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    radiomics: tuple[dict, Path] | None = None,
) -> str:
    """The report page as one string.

    Args:
        ct: the scan.
        pred: ``(X, Y, Z)`` bool predicted mask.
        name: case name shown in the title.
        lesions: measurements of ``pred``.
        images: caption -> PNG file to embed.
        gt: optional ``(X, Y, Z)`` bool ground truth (a scroller layer and metrics).
        probabilities: optional ``(X, Y, Z)`` float probabilities (a scroller layer).
        radiomics: optional radiomics JSON document and its CSV, shown as the radiomics panel.
    """
    from lungnet.evaluation.metrics import case_metrics

    crop, size = _frame_geometry(ct)
    layers = [
        {
            "key": "pred",
            "label": "prediction",
            "color": PRED_COLOR,
            "on": True,
            "frames": _mask_frames(pred, crop, size, PRED_COLOR),
        }
    ]
    metrics = None
    if gt is not None:
        layers.append(
            {
                "key": "gt",
                "label": "ground truth",
                "color": GT_COLOR,
                "on": True,
                "frames": _mask_frames(gt, crop, size, GT_COLOR),
            }
        )
        m = case_metrics(pred, gt, ct.spacing)
        metrics = {
            "Dice": _num(m.dice, 3),
            "HD95": _num(m.hd95_mm, 2, " mm"),
            "ASSD": _num(m.assd_mm, 2, " mm"),
            "NSD (2 mm)": _num(m.nsd_2mm, 3),
        }
    if probabilities is not None:
        layers.append(
            {
                "key": "prob",
                "label": "probability",
                "color": colormaps[PROB_CMAP](0.8)[:3],
                "on": False,
                "frames": _prob_frames(np.asarray(probabilities), crop, size),
            }
        )
    for layer in layers:
        layer["css"] = "rgb({},{},{})".format(*(round(255 * c) for c in layer.pop("color")))
    lut = (colormaps[CT_CMAP](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(int)
    # open on the largest tumor's slice, else the slice with most ground truth, else the middle
    if lesions:
        first = lesions[0].long_axis_slice
    elif gt is not None and gt.any():
        first = int(np.argmax(gt.sum(axis=(0, 1))))
    else:
        first = ct.shape[2] // 2
    data = {
        "n": ct.shape[2],
        "w": size[0],
        "h": size[1],
        "start": first,
        "mime": _frame_format()[1],
        "ct": _ct_frames(ct, crop, size),
        "layers": layers,
        "lut": lut.ravel().tolist(),
    }
    figures = "\n".join(
        f'<figure><img alt="{html.escape(c)}" src="data:image/png;base64,{_b64(p.read_bytes())}">'
        f"<figcaption>{html.escape(c)}</figcaption></figure>"
        for c, p in images.items()
    )
    toggles = "\n".join(
        f'<label style="color:{lay["css"]}"><input type="checkbox" id="show-{lay["key"]}"'
        f"{' checked' if lay['on'] else ''}> {lay['label']}</label>"
        for lay in layers
    )
    panel = "" if radiomics is None else radiomics_panel(*radiomics)
    return (
        page_template()
        .replace("%TITLE%", html.escape(f"LungNet report: {name}"))
        .replace("%SUMMARY%", _summary_rows(ct, name, lesions, metrics))
        .replace("%TUMORS%", _tumor_rows(lesions))
        .replace("%RADIOMICS%", panel or PANEL_START + PANEL_END)
        .replace("%FIGURES%", figures)
        .replace("%TOGGLES%", toggles)
        .replace("%LAST%", str(ct.shape[2] - 1))
        .replace("%START%", str(first))
        # "</" cannot close the script element from inside JSON
        .replace("%DATA%", json.dumps(data, separators=(",", ":")).replace("</", "<\\/"))
    )
