"""Report files: overlays, tumor tables and a self-contained HTML page (no browser needed)."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from lungnet.cli import main
from lungnet.errors import LungNetInputError
from lungnet.io import read_ct
from lungnet.viz.case_report import report_paths, write_report


def _scroller_data(html: str) -> dict:
    found = re.search(
        r'<script id="report-data" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1))


def _frame(data: dict, z: int) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data["ct"][z]))).convert("L"), float)


def test_report_writes_all_files_and_a_self_contained_page(phantom, tmp_path):
    html_path = write_report(
        phantom.ct, phantom.mask, tmp_path / "out", gt=phantom.gt, case_name="c1"
    )
    paths = report_paths(tmp_path / "out", "c1")
    assert html_path == paths["html"]
    for kind in ("montage", "orthogonal"):
        assert paths[kind].read_bytes()[:4] == b"\x89PNG"
    tumors = json.loads(paths["json"].read_text())
    assert tumors["count"] == 1
    assert paths["csv"].read_text().count("\n") == 2
    page = html_path.read_text()
    # nothing fetched from anywhere: no external script, stylesheet, image or font
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count('class="tumor"') == 1
    assert "Dice" in page  # scored against the ground truth
    data = _scroller_data(page)
    assert data["n"] == phantom.ct.shape[2] and len(data["ct"]) == data["n"]
    layers = {layer["key"]: layer for layer in data["layers"]}
    tumor_slices = {str(z) for z in np.flatnonzero(phantom.mask.any(axis=(0, 1)))}
    assert set(layers["pred"]["frames"]) == tumor_slices
    assert "gt" in layers


def _overlay_centre(data: dict, key: str, z: int) -> tuple[float, float]:
    layer = next(layer for layer in data["layers"] if layer["key"] == key)
    image = Image.open(io.BytesIO(base64.b64decode(layer["frames"][str(z)])))
    alpha = np.asarray(image)[..., 3]
    rows, cols = np.nonzero(alpha)
    return rows.mean() / alpha.shape[0], cols.mean() / alpha.shape[1]


def test_scroller_frames_are_radiological(phantom, tmp_path):
    """Patient's right on the image's left, anterior at the top, for CT and masks alike."""
    right_anterior = np.zeros_like(phantom.mask)
    right_anterior[50:56, 40:46, 10:13] = 1  # high x = patient's right, high y = anterior
    left_posterior = np.zeros_like(phantom.mask)
    left_posterior[8:14, 10:16, 10:13] = 1
    page = write_report(
        phantom.ct, right_anterior, tmp_path, gt=left_posterior, case_name="c"
    ).read_text()
    data = _scroller_data(page)
    row, col = _overlay_centre(data, "pred", 11)
    assert row < 0.4 and col < 0.4
    row, col = _overlay_centre(data, "gt", 11)
    assert row > 0.6 and col > 0.6
    # the CT frame goes through the same transform: the spine (posterior) is at the bottom
    ct = _frame(data, 11)
    top, bottom = ct[: ct.shape[0] // 4], ct[-ct.shape[0] // 4 :]
    assert bottom.max() > top.max() + 10


def test_empty_mask_makes_a_report_saying_so(phantom, tmp_path):
    empty = np.zeros_like(phantom.mask)
    page = write_report(phantom.ct, empty, tmp_path, gt=phantom.gt, case_name="none").read_text()
    assert "No tumor in the mask." in page
    # distances to an empty mask are undefined: said so, never shown as 0
    assert "Dice 0.000, HD95 undefined, ASSD undefined" in page
    # the scroller opens where the missed tumor is
    assert _scroller_data(page)["start"] == int(np.argmax(phantom.gt.sum(axis=(0, 1))))
    assert json.loads((tmp_path / "none_tumors.json").read_text())["count"] == 0


def test_probabilities_become_a_heatmap_layer(phantom, tmp_path):
    prob = phantom.mask * 0.9
    page = write_report(
        phantom.ct, phantom.mask, tmp_path, probabilities=prob, case_name="p"
    ).read_text()
    layers = {layer["key"]: layer for layer in _scroller_data(page)["layers"]}
    assert layers["prob"]["frames"] and layers["prob"]["on"] is False


def test_report_refuses_to_overwrite_and_wrong_shapes(phantom, tmp_path):
    write_report(phantom.ct, phantom.mask, tmp_path, case_name="c")
    with pytest.raises(LungNetInputError, match="already exists; pass --overwrite"):
        write_report(phantom.ct, phantom.mask, tmp_path, case_name="c")
    write_report(phantom.ct, phantom.mask, tmp_path, case_name="c", overwrite=True)
    with pytest.raises(ValueError, match="gt shape"):
        write_report(phantom.ct, phantom.mask, tmp_path, gt=phantom.mask[:-1], case_name="d")


def test_cli_report_measures_and_writes(phantom, tmp_path, capsys):
    out = tmp_path / "rep"
    args = [
        "report",
        "--ct",
        str(phantom.ct_path),
        "--mask",
        str(phantom.mask_path),
        "--gt",
        str(phantom.gt_path),
        "--output",
        str(out),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "1 tumor(s)" in printed and "long axis" in printed
    assert (out / "chest_report.html").is_file()
    assert main(args) == 1  # exists already
    assert "--overwrite" in capsys.readouterr().err


def test_cli_report_refuses_a_mask_of_another_geometry(phantom, tmp_path, capsys):
    other = tmp_path / "other.nii.gz"
    import nibabel as nib

    nib.save(nib.Nifti1Image(phantom.mask[:, :, :-2], np.eye(4)), other)
    code = main(
        ["report", "--ct", str(phantom.ct_path), "--mask", str(other), "--output", str(tmp_path)]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "other.nii.gz" in err and "differs from scan" in err
    assert read_ct(phantom.ct_path).shape == (64, 56, 24)
