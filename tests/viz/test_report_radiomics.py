"""The report's radiomics panel, and the page template shipped as package data."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import pytest
from report_phantom import build_phantom

from lungnet.radiomics import RadiomicsBatch
from lungnet.viz.case_report import add_radiomics_panel, write_report
from lungnet.viz.report_html import PANEL_END, PANEL_START, page_template


@pytest.fixture(scope="module")
def with_radiomics(tmp_path_factory):
    """The viz phantom and, in the report folder, its radiomics tables for case ``c``."""
    folder = tmp_path_factory.mktemp("radiomics-report")
    phantom = build_phantom(folder / "inputs")
    RadiomicsBatch(folder / "out", say=lambda line: None).add(
        phantom.ct_path, phantom.mask_path, case="c"
    )
    return phantom, folder / "out"


def _panel(page: str) -> str:
    return page[page.index(PANEL_START) : page.index(PANEL_END)]


def test_report_shows_named_features_per_tumor_and_links_the_full_csv(with_radiomics):
    phantom, out = with_radiomics
    page = write_report(phantom.ct, phantom.mask, out, case_name="c", overwrite=True).read_text()
    panel = _panel(page)
    assert "<h2>Radiomics</h2>" in panel and panel.count('class="radiomics-tumor"') == 1
    for heading in (
        "sphericity",
        "max. 3D diameter (mm)",
        "GLCM joint entropy",
        "NGTDM coarseness",
    ):
        assert f">{heading}</th>" in panel
    assert 'title="Morphology (3D) - sphericity (IBSI QCFX; column morph_sphericity)"' in panel
    assert (
        "isotropic 1 mm" in panel and "fixed bin width 25 HU" in panel and "163 per tumor" in panel
    )
    link = re.search(r'download="c_radiomics.csv" href="data:text/csv;base64,([^"]+)"', panel)
    assert base64.b64decode(link.group(1)) == (out / "c_radiomics.csv").read_bytes()
    doc = json.loads((out / "c_radiomics.json").read_text())
    sphericity = doc["tumors"][0]["features"]["morph_sphericity"]
    assert f"<td>{sphericity:.3g}</td>" in panel
    # still self-contained: the link is a data URL, nothing is fetched
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)


def test_report_without_radiomics_tables_has_no_panel(phantom, tmp_path):
    page = write_report(phantom.ct, phantom.mask, tmp_path, case_name="plain").read_text()
    assert _panel(page) == PANEL_START and "Radiomics" not in page


def test_radiomics_of_other_tumors_are_not_shown(with_radiomics, tmp_path):
    phantom, out = with_radiomics
    doc = json.loads((out / "c_radiomics.json").read_text())
    doc["tumors"][0]["voxels"] += 1  # tables of another mask
    (tmp_path / "c_radiomics.json").write_text(json.dumps(doc))
    (tmp_path / "c_radiomics.csv").write_bytes((out / "c_radiomics.csv").read_bytes())
    page = write_report(phantom.ct, phantom.mask, tmp_path, case_name="c").read_text()
    assert "Radiomics" not in page


def test_a_panel_can_be_added_to_an_existing_report(with_radiomics, tmp_path):
    phantom, out = with_radiomics
    html = write_report(phantom.ct, phantom.mask, tmp_path, case_name="late")
    before = html.read_text()
    add_radiomics_panel(html, out / "c_radiomics.json")
    after = html.read_text()
    assert "Radiomics" not in before and "<h2>Radiomics</h2>" in _panel(after)
    assert after.replace(_panel(after), PANEL_START) == before
    add_radiomics_panel(html, out / "c_radiomics.json")  # renewing keeps one panel
    assert html.read_text().count("<h2>Radiomics</h2>") == 1


def test_page_template_is_package_data_with_every_placeholder():
    page = page_template()
    for name in ("TITLE", "SUMMARY", "TUMORS", "RADIOMICS", "FIGURES", "TOGGLES", "DATA"):
        assert f"%{name}%" in page
    assert "<script>" in page and "<style>" in page


def test_report_html_imports_without_report():
    """The colours live in their own module: no import cycle between the two report modules."""
    code = "import sys, lungnet.viz.report_html; print('lungnet.viz.report' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
