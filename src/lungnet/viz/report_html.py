"""The self-contained HTML page of the report: summary, tumor table, pictures, slice scroller.

Everything is inline (images as base64 data URLs, one inline script, no external
resource), so the file opens from disk with no network. The scroller holds every axial
slice as a grayscale WebP (JPEG where Pillow lacks WebP), cropped to the body and
scaled to at most :data:`SCROLLER_MAX_SIDE` pixels, and colours it in the browser with the CT colormap's
lookup table; masks are small transparent PNGs drawn over it, only for the slices they
touch. A 512 x 512 x 300 scan stays within a few MB this way: WebP frames were 6.4 kB
against 12.8 kB for JPEG of the same look (quality 82) on the benchmark phantom.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image, features
from scipy import ndimage

from lungnet.evaluation.lesions import Lesion
from lungnet.io.volume import CTVolume
from lungnet.viz.visualization import CT_CMAP, LUNG_WINDOW_HU, PROB_CMAP, to_radiological

__all__ = ["SCROLLER_MAX_SIDE", "build_html"]

#: Longest side of a scroller frame in pixels.
SCROLLER_MAX_SIDE = 320
_QUALITY = 75
_BODY_HU = -500.0  # air outside the body is below this; the crop keeps everything above


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
        rows.append(("Against ground truth", ", ".join(
            f"{k} {v}" for k, v in metrics.items()
        )))  # fmt: skip
    return "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)


def _tumor_rows(lesions: Sequence[Lesion]) -> str:
    if not lesions:
        return '<tr><td colspan="8">No tumor in the mask.</td></tr>'
    out = []
    for les in lesions:
        world = ", ".join(f"{c:.1f}" for c in les.centroid_world_mm)
        out.append(
            f'<tr class="tumor" data-slice="{les.long_axis_slice}" title="show slice {les.long_axis_slice}">'
            f"<td>{les.id}</td><td>{les.volume_ml:.2f}</td><td>{les.long_axis_mm:.1f}</td>"
            f"<td>{les.short_axis_mm:.1f}</td><td>{les.slice_range[0]}&ndash;{les.slice_range[1]}</td>"
            f"<td>{les.long_axis_slice}</td><td>({world})</td><td>{les.hu_mean:.0f} &plusmn; {les.hu_std:.0f}</td></tr>"
        )
    return "\n".join(out)


def build_html(
    ct: CTVolume,
    pred: np.ndarray,
    name: str,
    lesions: Sequence[Lesion],
    images: dict[str, Path],
    gt: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
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
    """
    from lungnet.evaluation.metrics import case_metrics
    from lungnet.viz.report import GT_COLOR, PRED_COLOR

    crop, size = _frame_geometry(ct)
    layers = [{"key": "pred", "label": "prediction", "color": PRED_COLOR, "on": True,
               "frames": _mask_frames(pred, crop, size, PRED_COLOR)}]  # fmt: skip
    metrics = None
    if gt is not None:
        layers.append({"key": "gt", "label": "ground truth", "color": GT_COLOR, "on": True,
                       "frames": _mask_frames(gt, crop, size, GT_COLOR)})  # fmt: skip
        m = case_metrics(pred, gt, ct.spacing)
        metrics = {
            "Dice": _num(m.dice, 3),
            "HD95": _num(m.hd95_mm, 2, " mm"),
            "ASSD": _num(m.assd_mm, 2, " mm"),
            "NSD (2 mm)": _num(m.nsd_2mm, 3),
        }
    if probabilities is not None:
        layers.append({"key": "prob", "label": "probability", "color": colormaps[PROB_CMAP](0.8)[:3],
                       "on": False, "frames": _prob_frames(np.asarray(probabilities), crop, size)})  # fmt: skip
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
        "n": ct.shape[2], "w": size[0], "h": size[1], "start": first, "mime": _frame_format()[1],
        "ct": _ct_frames(ct, crop, size), "layers": layers, "lut": lut.ravel().tolist(),
    }  # fmt: skip
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
    return (
        _PAGE.replace("%TITLE%", html.escape(f"LungNet report: {name}"))
        .replace("%SUMMARY%", _summary_rows(ct, name, lesions, metrics))
        .replace("%TUMORS%", _tumor_rows(lesions))
        .replace("%FIGURES%", figures)
        .replace("%TOGGLES%", toggles)
        .replace("%LAST%", str(ct.shape[2] - 1))
        .replace("%START%", str(first))
        # "</" cannot close the script element from inside JSON
        .replace("%DATA%", json.dumps(data, separators=(",", ":")).replace("</", "<\\/"))
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE%</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2em auto;max-width:1150px;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.4em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.92em}th,td{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}
#tumors tr.tumor{cursor:pointer}#tumors tr.tumor:hover{background:#fff3d6}
#scroller{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}#scroller>canvas{flex:none}
#view{background:#000;image-rendering:auto;max-width:100%}
#controls{flex:1 1 260px}#slice{width:100%}#strip{width:100%;height:10px;background:#eee;display:block}
figure{margin:.6em 0}figure img{max-width:100%}figcaption{font-size:.85em;color:#666}
.note{font-size:.85em;color:#666}
</style></head><body>
<h1>%TITLE%</h1>
<table id="summary">%SUMMARY%</table>
<h2>Tumors</h2>
<table id="tumors"><tr><th>id</th><th>volume (mL)</th><th>long axis (mm)</th><th>short axis (mm)</th>
<th>slices</th><th>measured on</th><th>centroid (RAS mm)</th><th>HU mean &plusmn; sd</th></tr>
%TUMORS%</table>
<p class="note">Long axis: longest in-plane diameter over the axial slices (RECIST); short axis: longest
diameter perpendicular to it on that slice. Click a tumor to show its slice.</p>
<h2>Slice scroller</h2>
<div id="scroller"><canvas id="view"></canvas>
<div id="controls"><p id="slice-label"></p>
<input type="range" id="slice" min="0" max="%LAST%" step="1" value="%START%" aria-label="axial slice">
<canvas id="strip" width="300" height="10"></canvas>
<p>%TOGGLES%</p>
<p class="note">Arrow keys or the mouse wheel over the image move one slice. Lung window; radiological
view: the patient's right on the image's left, anterior at the top. Marks under the slider: slices
with a tumor.</p></div></div>
<h2>Pictures</h2>
%FIGURES%
<script id="report-data" type="application/json">%DATA%</script>
<script>
"use strict";
(function () {
  const DISPLAY = 540;  // CSS pixels of the longest side of the shown slice
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const view = document.getElementById("view"), ctx = view.getContext("2d", {willReadFrequently: true});
  const slider = document.getElementById("slice"), label = document.getElementById("slice-label");
  view.width = D.w; view.height = D.h;
  // shown at a fixed size whatever the frame resolution; the browser scales it smoothly
  view.style.width = Math.round(D.w * DISPLAY / Math.max(D.w, D.h)) + "px";
  const cache = new Map();
  function image(src) {
    let img = cache.get(src);
    if (!img) { img = new Image(); img.src = src; cache.set(src, img); }
    return img;
  }
  function ready(img) { return img.decode ? img.decode().catch(function () {}) : Promise.resolve(); }
  function draw() {
    const z = Number(slider.value);
    label.textContent = "Axial slice " + z + " of 0\\u2013" + (D.n - 1);
    const ct = image("data:" + D.mime + ";base64," + D.ct[z]);
    const over = D.layers.filter(function (l) {
      return document.getElementById("show-" + l.key).checked && l.frames[z] !== undefined;
    }).map(function (l) { return image("data:image/png;base64," + l.frames[z]); });
    Promise.all([ct].concat(over).map(ready)).then(function () {
      if (Number(slider.value) !== z) return;  // a newer slice was asked for meanwhile
      ctx.drawImage(ct, 0, 0, D.w, D.h);
      try {  // colour the grayscale frame with the CT colormap
        const px = ctx.getImageData(0, 0, D.w, D.h), d = px.data;
        for (let i = 0; i < d.length; i += 4) {
          const g = d[i] * 3; d[i] = D.lut[g]; d[i + 1] = D.lut[g + 1]; d[i + 2] = D.lut[g + 2];
        }
        ctx.putImageData(px, 0, 0);
      } catch (e) { /* a browser refusing pixel access shows gray levels */ }
      over.forEach(function (img) { ctx.drawImage(img, 0, 0, D.w, D.h); });
      view.dataset.slice = String(z);
    });
  }
  function strip() {
    const s = document.getElementById("strip"), c = s.getContext("2d");
    c.clearRect(0, 0, s.width, s.height);
    D.layers.forEach(function (l, k) {
      if (l.key === "prob") return;
      c.fillStyle = l.css;
      Object.keys(l.frames).forEach(function (z) {
        c.fillRect(Math.floor(Number(z) / Math.max(D.n - 1, 1) * (s.width - 2)), k * 5, 2, 5);
      });
    });
  }
  slider.addEventListener("input", draw);
  D.layers.forEach(function (l) { document.getElementById("show-" + l.key).addEventListener("change", draw); });
  view.addEventListener("wheel", function (e) {
    e.preventDefault();
    slider.value = String(Math.min(D.n - 1, Math.max(0, Number(slider.value) + (e.deltaY > 0 ? -1 : 1))));
    draw();
  }, {passive: false});
  document.querySelectorAll("#tumors tr.tumor").forEach(function (row) {
    row.addEventListener("click", function () { slider.value = row.dataset.slice; draw(); slider.focus(); });
  });
  strip();
  draw();
})();
</script>
</body></html>
"""
