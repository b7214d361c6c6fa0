"""`evaluate_folders` and `lungnet evaluate`: pairing, geometry checks, CSV, summary, plot."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from lungnet.cli import main
from lungnet.errors import LungNetInputError
from lungnet.evaluation.evaluate import METRIC_COLUMNS, evaluate_folders, pair_cases

SHAPE = (24, 20, 10)


def _box(x0: int, x1: int) -> np.ndarray:
    mask = np.zeros(SHAPE, np.uint8)
    mask[x0:x1, 5:10, 3:6] = 1
    return mask


@pytest.fixture
def three_cases(mask_folders):
    """a: perfect; b: half-overlapping prediction; c: tumor-free and predicted tumor-free."""
    empty = np.zeros(SHAPE, np.uint8)
    return mask_folders(
        {
            "gt/a.nii.gz": _box(2, 8),
            "pred/a_pred.nii.gz": _box(2, 8),
            "gt/b.nii.gz": _box(2, 8),
            "pred/b.nii.gz": _box(5, 11),
            "gt/c.nii.gz": empty,
            "pred/c_pred.nii.gz": empty,
        }
    )


def test_writes_metrics_summary_and_boxplot(three_cases, tmp_path):
    pred, gt = three_cases
    result = evaluate_folders(pred, gt, tmp_path / "out")
    assert result.failures == {}
    with open(tmp_path / "out" / "metrics.csv") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = {r[0]: dict(zip(header, r, strict=True)) for r in reader}
    assert header == ["case", *METRIC_COLUMNS]
    assert float(rows["a"]["dice"]) == 1.0 and float(rows["b"]["dice"]) == 0.5
    assert rows["c"]["dice"] == "1" and rows["c"]["hd95_mm"] == "" and rows["c"]["assd_mm"] == ""
    assert rows["b"]["lesion_tp"] == "1" and rows["c"]["lesions_gt"] == "0"

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["cases"], summary["tumor_bearing_cases"]) == (3, 2)
    dice = summary["metrics"]["dice"]
    assert dice["all"]["mean"] == pytest.approx(2.5 / 3)
    assert dice["all"]["median"] == pytest.approx(1.0)
    assert dice["all"]["std"] == pytest.approx(np.std([1.0, 0.5, 1.0], ddof=1))
    assert dice["tumor_bearing"]["mean"] == pytest.approx(0.75)
    hd = summary["metrics"]["hd95_mm"]
    assert hd["all"]["n"] == 2  # the tumor-free case has no distance, and is not counted as 0
    assert hd["all"]["mean"] == pytest.approx(hd["tumor_bearing"]["mean"])
    assert (tmp_path / "out" / "metrics_boxplot.png").read_bytes()[:4] == b"\x89PNG"


def test_pairing_reports_missing_duplicate_and_unmatched(mask_folders):
    pred, gt = mask_folders(
        {
            "gt/a.nii.gz": _box(2, 8),
            "pred/a_pred.nii.gz": _box(2, 8),
            "gt/b.nii.gz": _box(2, 8),
            "gt/d.nii.gz": _box(2, 8),
            "pred/d.nii.gz": _box(2, 8),
            "pred/d_pred.nii.gz": _box(2, 8),
            "pred/zz_prob.nii.gz": _box(2, 8),
            "pred/a_prob.nii.gz": _box(2, 8),
        }
    )
    pairs, failures, unmatched = pair_cases(pred, gt)
    assert [p.case for p in pairs] == ["a"]
    assert "no prediction b_pred.nii.gz or b.nii.gz" in failures["b"]
    assert "two predictions for case d" in failures["d"]
    assert [p.name for p in unmatched] == ["zz_prob.nii.gz"]


def test_nnunet_channel_suffixed_predictions_pair_with_their_case(mask_folders):
    pred, gt = mask_folders(
        {
            "gt/lung_001.nii.gz": _box(2, 8),
            "pred/lung_001_0000_pred.nii.gz": _box(2, 8),
            "gt/lung_002.nii.gz": _box(2, 8),
            "pred/lung_002_0000.nii.gz": _box(2, 8),
            "gt/lung_003.nii.gz": _box(2, 8),
            "pred/lung_003_pred.nii.gz": _box(2, 8),
        }
    )
    pairs, failures, unmatched = pair_cases(pred, gt)
    assert [(p.case, p.pred.name) for p in pairs] == [
        ("lung_001", "lung_001_0000_pred.nii.gz"),
        ("lung_002", "lung_002_0000.nii.gz"),
        ("lung_003", "lung_003_pred.nii.gz"),
    ]
    assert not failures and not unmatched


def test_geometry_mismatch_fails_that_case_and_names_both_values(mask_folders, tmp_path, save_mask):
    pred, gt = mask_folders({"gt/a.nii.gz": _box(2, 8), "pred/a.nii.gz": _box(2, 8)})
    shifted = np.diag([0.8, 0.8, 2.5, 1.0])  # another origin
    save_mask(gt / "b.nii.gz", _box(2, 8), shifted)
    save_mask(pred / "b.nii.gz", _box(2, 8), np.diag([0.8, 0.8, 3.0, 1.0]))
    save_mask(gt / "c.nii.gz", _box(2, 8), shifted)
    save_mask(pred / "c.nii.gz", np.zeros((24, 20, 11), np.uint8), shifted)
    result = evaluate_folders(pred, gt, tmp_path / "out")
    assert [r["case"] for r in result.rows] == ["a"]
    assert (
        "affine" in result.failures["b"]
        and "3.0" in result.failures["b"]
        and "2.5" in result.failures["b"]
    )
    assert "shape (24, 20, 11) differs from ground truth" in result.failures["c"]
    assert set(json.loads((tmp_path / "out" / "summary.json").read_text())["failed_cases"]) == {
        "b",
        "c",
    }


def test_lps_prediction_matches_ras_ground_truth_of_the_same_world(
    mask_folders, tmp_path, save_mask, ras_affine
):
    affine = ras_affine((0.8, 0.8, 2.5))
    pred, gt = mask_folders({"gt/a.nii.gz": _box(2, 8)})
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[0, 3], flip[1, 3] = SHAPE[0] - 1, SHAPE[1] - 1
    save_mask(pred / "a_pred.nii.gz", _box(2, 8)[::-1, ::-1, :], affine @ flip)
    result = evaluate_folders(pred, gt, tmp_path / "out")
    assert result.rows[0]["dice"] == 1.0


def test_refuses_to_overwrite_and_to_evaluate_nothing(three_cases, tmp_path, mask_folders):
    pred, gt = three_cases
    evaluate_folders(pred, gt, tmp_path / "out")
    with pytest.raises(LungNetInputError, match="already holds metrics.csv.*--overwrite"):
        evaluate_folders(pred, gt, tmp_path / "out")
    evaluate_folders(pred, gt, tmp_path / "out", overwrite=True)
    with pytest.raises(LungNetInputError, match="holds no prediction matching"):
        evaluate_folders(tmp_path, gt, tmp_path / "out2")
    with pytest.raises(LungNetInputError, match="is not a folder"):
        evaluate_folders(tmp_path / "nope", gt, tmp_path / "out3")


def test_cli_evaluate_prints_a_summary_and_exits_nonzero_on_failure(
    three_cases, tmp_path, capsys, save_mask
):
    pred, gt = three_cases
    assert (
        main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--output", str(tmp_path / "o")])
        == 0
    )
    out = capsys.readouterr().out
    assert "3 case(s) evaluated, 2 with tumor, 0 failed" in out and "dice" in out
    save_mask(gt / "e.nii.gz", _box(1, 3), np.eye(4))
    code = main(
        [
            "evaluate",
            "--pred",
            str(pred),
            "--gt",
            str(gt),
            "--output",
            str(tmp_path / "o"),
            "--overwrite",
        ]
    )
    assert code == 1
    assert "failed: e:" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                "--pred",
                str(tmp_path / "x"),
                "--gt",
                str(gt),
                "--output",
                str(tmp_path / "o2"),
            ]
        )
        == 1
    )
    assert "is not a folder" in capsys.readouterr().err


def test_a_mask_outside_zero_to_one_is_warned_about(mask_folders, tmp_path, caplog):
    labels = _box(2, 8) * 2  # a label map with label 2
    pred, gt = mask_folders({"gt/a.nii.gz": _box(2, 8), "pred/a.nii.gz": labels})
    with caplog.at_level("WARNING"):
        result = evaluate_folders(pred, gt, tmp_path / "out")
    assert result.rows[0]["dice"] == 1.0
    assert "values 0..2 are not a mask's 0..1" in caplog.text


def test_summary_has_sensitivity_by_size_and_false_positives_on_tumor_free_scans(
    mask_folders, ball, tmp_path
):
    shape, spacing = (80, 80, 40), (1.0, 1.0, 1.0)
    small = ball(shape, spacing, (20, 20, 20), 3)  # 6 mm: under 10 mm
    large = ball(shape, spacing, (55, 55, 20), 12)  # 24 mm: 20-50 mm
    free_pred = ball(shape, spacing, (40, 40, 20), 5)  # 0.52 mL on a tumor-free scan
    pred, gt = mask_folders(
        {
            "pred/t_pred.nii.gz": large,  # the large tumor found, the small one missed
            "gt/t.nii.gz": small | large,
            "pred/f_pred.nii.gz": free_pred,
            "gt/f.nii.gz": np.zeros(shape, bool),
        },
        affine=np.diag([*spacing, 1.0]),
    )
    summary = evaluate_folders(pred, gt, tmp_path / "out").summary
    by_size = summary["detection"]["by_size"]
    assert by_size["<10 mm"] == {"lesions": 1, "detected": 0, "sensitivity": 0.0}
    assert by_size["20-50 mm"] == {"lesions": 1, "detected": 1, "sensitivity": 1.0}
    assert by_size["10-20 mm"]["sensitivity"] is None and by_size[">50 mm"]["lesions"] == 0
    assert summary["detection"]["false_positive_components_per_scan"] == 0.5
    free = summary["tumor_free"]
    assert free["cases"] == 1 and free["scans_with_false_positive"] == 1
    assert free["false_positive_ml_mean"] == pytest.approx(free_pred.sum() / 1000)
    # metrics.csv keeps its columns; the per-lesion list lives in the summary only.
    header = (tmp_path / "out" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == ["case", *METRIC_COLUMNS]
