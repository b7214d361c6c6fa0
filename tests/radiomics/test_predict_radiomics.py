"""`lungnet predict --radiomics`: tables beside each mask, the joined CSV, the report's panel.

The segmentation itself is not under test here: a stand-in predictor writes a known mask
(and the real report when asked), so the test sees exactly what the flag adds.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from radiomics_scans import write_scan

import lungnet.inference
from lungnet.cli import main
from lungnet.inference.predictor import PredictOutcome
from lungnet.io import read_ct


class KnownMaskPredictor:
    """Writes ``<case>_pred.nii.gz`` from the ``<case>_known.nii.gz`` beside each scan."""

    def __init__(self, checkpoint, **settings) -> None:
        self.settings = settings  # predict's options reach the predictor as they would

    def predict_file(self, scan, output_dir, report=False, **options):
        from lungnet.viz.case_report import write_report

        scan, output_dir = Path(scan), Path(output_dir)
        case = scan.name.removesuffix(".nii.gz")
        mask_path = output_dir / f"{case}_pred.nii.gz"
        output_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(scan.with_name(f"{case}_known.nii.gz"), mask_path)
        report_path = None
        if report:
            ct = read_ct(scan)
            report_path = write_report(ct, read_ct(mask_path).array, output_dir, case_name=case)
        return PredictOutcome(
            scan, "done", mask_path=mask_path, seconds={"total": 0.0}, report_path=report_path
        )


@pytest.fixture
def scans(tmp_path, monkeypatch):
    folder = tmp_path / "scans"
    write_scan(folder, "chest").mask_path.rename(folder / "chest_known.nii.gz")
    monkeypatch.setattr(lungnet.inference, "Predictor", KnownMaskPredictor)
    return folder / "chest.nii.gz"


def test_predict_radiomics_writes_tables_beside_the_mask_and_fills_the_report(
    scans, tmp_path, capsys
):
    out = tmp_path / "pred"
    code = main(
        [
            "predict",
            "-i",
            str(scans),
            "--checkpoint",
            "unused.ckpt",
            "-o",
            str(out),
            "--report",
            "--radiomics",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "done:   chest: 3 tumor(s) x 163 features" in printed
    assert {
        "chest_pred.nii.gz",
        "chest_radiomics.csv",
        "chest_radiomics.json",
        "radiomics.csv",
    } <= {p.name for p in out.iterdir()}
    with open(out / "radiomics.csv", newline="") as f:
        assert [(r["case"], r["id"]) for r in csv.DictReader(f)] == [
            ("chest", "1"),
            ("chest", "2"),
            ("chest", "3"),
        ]
    page = (out / "chest_report.html").read_text()
    assert "<h2>Radiomics</h2>" in page and 'download="chest_radiomics.csv"' in page


def test_predict_without_the_flag_writes_no_radiomics(scans, tmp_path):
    out = tmp_path / "pred"
    assert main(["predict", "-i", str(scans), "--checkpoint", "unused.ckpt", "-o", str(out)]) == 0
    assert not any("radiomics" in p.name for p in out.iterdir())
