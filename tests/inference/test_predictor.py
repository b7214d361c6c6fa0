"""Predictor: masks in the scan's own geometry, training's preprocessing, safe checkpoints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from helpers import RAS_AFFINE, assert_same_geometry, lps_twin, save_nifti, tiny_case
from lungnet.errors import CheckpointError
from lungnet.inference import Predictor, expand_inputs, find_scans, load_checkpoint, output_name
from lungnet.io import read_ct
from lungnet.preprocessing import PreprocessConfig, preprocess_image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "inference.py"


def test_mask_has_the_scans_exact_geometry_dtype_and_values(checkpoint, tmp_path):
    hu, _ = tiny_case(1)
    scan = save_nifti(tmp_path / "in" / "patient_ct.nii.gz", hu)
    outcome = Predictor(checkpoint, device="cpu").predict_file(scan, tmp_path / "out")
    assert (
        outcome.status == "done"
        and outcome.mask_path == tmp_path / "out" / "patient_ct_pred.nii.gz"
    )
    assert_same_geometry(scan, outcome.mask_path)
    stored = np.asanyarray(nib.load(outcome.mask_path).dataobj)
    assert stored.dtype == np.uint8 and set(np.unique(stored)) <= {0, 1}


def test_clipped_inferior_slices_are_zero(checkpoint, tmp_path):
    hu, _ = tiny_case(2)
    predictor = Predictor(checkpoint, device="cpu")
    pred = predictor.predict_volume(read_ct(save_nifti(tmp_path / "s.nii.gz", hu)))
    assert pred.mask.any(), "the tiny model should mark something, or this test proves nothing"
    assert not pred.mask[:, :, :2].any() and not pred.probabilities[:, :, :2].any()


def test_lps_and_ras_copies_give_the_same_mask_up_to_reorientation(checkpoint, tmp_path):
    hu, _ = tiny_case(3)
    lps, lps_affine = lps_twin(hu, RAS_AFFINE)
    ras_scan = save_nifti(tmp_path / "ras.nii.gz", hu)
    lps_scan = save_nifti(tmp_path / "lps.nii.gz", lps, lps_affine)
    predictor = Predictor(checkpoint, device="cpu")
    for scan in (ras_scan, lps_scan):
        predictor.predict_file(scan, tmp_path / "out", save_probabilities=True)
    ras_mask = np.asanyarray(nib.load(tmp_path / "out" / "ras_pred.nii.gz").dataobj)
    lps_mask = np.asanyarray(nib.load(tmp_path / "out" / "lps_pred.nii.gz").dataobj)
    assert ras_mask.any()
    np.testing.assert_array_equal(ras_mask, lps_mask[::-1, ::-1, :])
    ras_p = nib.load(tmp_path / "out" / "ras_prob.nii.gz").get_fdata()
    lps_p = nib.load(tmp_path / "out" / "lps_prob.nii.gz").get_fdata()
    np.testing.assert_allclose(ras_p, lps_p[::-1, ::-1, :], atol=1e-6)


def test_inference_uses_the_checkpoint_preprocessing(checkpoint, tmp_path):
    hu, _ = tiny_case(4)
    ct = read_ct(save_nifti(tmp_path / "s.nii.gz", hu))
    predictor = Predictor(checkpoint, device="cpu", precision="fp32")
    assert predictor.preprocess == PreprocessConfig(target_size=(32, 32), clip_slices_min=2)
    slices = preprocess_image(ct.array, predictor.preprocess)
    x = torch.from_numpy(slices)[:, None]
    # context 1: channels are (i-1, i, i+1) with edges repeated
    first = torch.cat([x[0:1], x[0:1], x[1:2]], dim=1)
    with torch.no_grad():
        expected = torch.sigmoid(predictor.model(first))[0, 0]
    np.testing.assert_allclose(
        predictor.predict_slices(slices)[0].numpy(), expected.numpy(), atol=1e-5
    )


def test_bf16_masks_agree_with_float32(checkpoint, tmp_path):
    hu, _ = tiny_case(5)
    ct = read_ct(save_nifti(tmp_path / "s.nii.gz", hu))
    a = Predictor(checkpoint, device="cpu", precision="fp32").predict_volume(ct).mask
    b = Predictor(checkpoint, device="cpu", precision="bf16").predict_volume(ct).mask
    dice = 2 * np.sum(a & b) / max(1, a.sum() + b.sum())
    assert dice >= 0.95


def _with_hyper_parameters(checkpoint: Path, path: Path, **hyper) -> Path:
    stored = torch.load(checkpoint, weights_only=True)
    stored["hyper_parameters"].update(hyper)
    torch.save(stored, path)
    return path


def test_tta_averages_a_mirror_trained_model_over_its_left_right_flip(checkpoint, tmp_path):
    mirrored = _with_hyper_parameters(checkpoint, tmp_path / "mirrored.ckpt", mirror=0.5)
    hu, _ = tiny_case(6)
    ct = read_ct(save_nifti(tmp_path / "s.nii.gz", hu))
    predictor = Predictor(mirrored, device="cpu", precision="fp32", tta=True, batch_size=3)
    slices = preprocess_image(ct.array, predictor.preprocess)
    plain = Predictor(mirrored, device="cpu", precision="fp32", tta=False)
    # Left-right is the slices' first axis (H): the flipped prediction is flipped back.
    expected = (
        plain.predict_slices(slices) + plain.predict_slices(slices[:, ::-1].copy()).flip(1)
    ) / 2
    averaged = predictor.predict_slices(slices)
    torch.testing.assert_close(averaged, expected, atol=1e-5, rtol=0)
    assert not torch.allclose(averaged, plain.predict_slices(slices), atol=1e-4)
    pred = predictor.predict_volume(ct)
    assert pred.mask.shape == ct.shape
    assert 0 <= pred.probabilities.min() <= pred.probabilities.max() <= 1


def test_tta_leaves_a_model_trained_without_flips_as_it_is_and_says_so(
    checkpoint, tmp_path, caplog
):
    hu, _ = tiny_case(6)
    ct = read_ct(save_nifti(tmp_path / "s.nii.gz", hu))
    with caplog.at_level("WARNING", logger="lungnet.inference.predictor"):
        with_tta = Predictor(checkpoint, device="cpu", tta=True).predict_volume(ct)
    assert "trained without mirrored slices" in caplog.text
    without = Predictor(checkpoint, device="cpu", tta=False).predict_volume(ct)
    np.testing.assert_array_equal(with_tta.probabilities, without.probabilities)


def test_tta_follows_the_checkpoint_unless_told(checkpoint, tmp_path):
    tuned = _with_hyper_parameters(
        checkpoint, tmp_path / "tuned.ckpt", mirror=0.5, postprocess={"tta": True}
    )
    assert Predictor(tuned, device="cpu").tta is True
    assert Predictor(tuned, device="cpu", tta=False).tta is False
    assert Predictor(checkpoint, device="cpu").tta is False


def test_min_tumor_volume_drops_small_components(checkpoint, tmp_path):
    hu, _ = tiny_case(7)
    ct = read_ct(save_nifti(tmp_path / "s.nii.gz", hu))
    full = Predictor(checkpoint, device="cpu").predict_volume(ct).mask
    voxel_mm3 = float(np.prod(ct.spacing))
    pruned = Predictor(checkpoint, device="cpu", min_tumor_volume_mm3=1e9).predict_volume(ct).mask
    assert full.sum() * voxel_mm3 < 1e9 and not pruned.any()


def test_the_checkpoints_post_processing_applies_by_default_and_flags_override_it(
    checkpoint, tmp_path
):
    import torch

    hu, _ = tiny_case(7)
    ct = read_ct(save_nifti(tmp_path / "s.nii.gz", hu))
    full = Predictor(checkpoint, device="cpu").predict_volume(ct).mask
    assert full.any()
    stored = torch.load(checkpoint, weights_only=True)
    stored["hyper_parameters"]["postprocess"] = {"min_tumor_volume_mm3": 1e9}
    tuned = tmp_path / "tuned.ckpt"
    torch.save(stored, tuned)
    assert not Predictor(tuned, device="cpu").predict_volume(ct).mask.any()
    kept = Predictor(tuned, device="cpu", min_tumor_volume_mm3=0).predict_volume(ct).mask
    np.testing.assert_array_equal(kept, full)
    sure = Predictor(tuned, device="cpu", min_peak_probability=0.9, min_depth_mm=5).postprocessing
    assert sure.min_peak_probability == 0.9 and sure.min_depth_mm == 5.0
    assert sure.min_tumor_volume_mm3 == 1e9


def test_existing_outputs_are_kept_unless_overwrite(checkpoint, tmp_path):
    scan = save_nifti(tmp_path / "s.nii.gz", tiny_case(0)[0])
    predictor = Predictor(checkpoint, device="cpu")
    assert predictor.predict_file(scan, tmp_path / "o").status == "done"
    assert predictor.predict_file(scan, tmp_path / "o").status == "skipped"
    assert predictor.predict_file(scan, tmp_path / "o", overwrite=True).status == "done"


def test_bad_scan_fails_alone_with_one_line(checkpoint, tmp_path):
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"\x1f\x8bnot really")
    outcome = Predictor(checkpoint, device="cpu").predict_file(bad, tmp_path / "o")
    assert (
        outcome.status == "failed" and str(bad) in outcome.message and "\n" not in outcome.message
    )
    assert not list((tmp_path / "o").glob("*")) if (tmp_path / "o").exists() else True


def test_a_scan_shorter_than_the_clip_gives_an_empty_mask_of_its_shape_and_says_why(
    checkpoint, tmp_path
):
    hu, _ = tiny_case(0, shape=(48, 40, 2))  # the checkpoint clips 2 slices
    scan = save_nifti(tmp_path / "short.nii.gz", hu)
    outcome = Predictor(checkpoint, device="cpu").predict_file(scan, tmp_path / "o")
    assert outcome.status == "done" and outcome.tumor_voxels == 0
    assert "has 2 slices and the checkpoint drops the 2 most inferior" in outcome.note
    mask = nib.load(outcome.mask_path)
    assert mask.shape == (48, 40, 2) and not np.asarray(mask.dataobj).any()


def test_a_scan_that_is_not_ct_in_hu_fails_alone_with_the_likely_fix(checkpoint, tmp_path):
    hu, _ = tiny_case(0)
    offset = save_nifti(tmp_path / "offset.nii.gz", (hu.astype(np.int32) + 1024).astype(np.uint16))
    outcome = Predictor(checkpoint, device="cpu").predict_file(offset, tmp_path / "o")
    assert outcome.status == "failed" and "offset by about +1024" in outcome.message
    assert not (tmp_path / "o" / "offset_pred.nii.gz").exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("patient_ct.nii.gz", "patient_ct_pred.nii.gz"),
        ("a.nii", "a_pred.nii.gz"),
        ("series1", "series1_pred.nii.gz"),
        ("..", "scan_pred.nii.gz"),
        ("lung_001_0000.nii.gz", "lung_001_pred.nii.gz"),
    ],
)
def test_output_names_come_from_the_input_name_only(name, expected):
    assert output_name(Path("/data/x") / name) == expected


def test_real_lps_scan_and_dicom_series_give_masks_in_their_exact_geometry(
    checkpoint, real_ct, tmp_path
):
    predictor = Predictor(checkpoint, device="cpu")
    nifti = real_ct / "chest_ct_lps_1p5mm.nii.gz"
    out = predictor.predict_file(nifti, tmp_path)
    assert_same_geometry(nifti, out.mask_path)
    series = predictor.predict_file(real_ct / "dicom_series", tmp_path)
    assert series.mask_path.name == "dicom_series_pred.nii.gz"
    back = read_ct(series.mask_path)
    ct = read_ct(real_ct / "dicom_series")
    assert back.shape == ct.shape
    np.testing.assert_allclose(back.affine, ct.affine, atol=1e-4)


# ------------------------------------------------------------------ checkpoints


class _Payload:
    """Unpickling this runs os.system: a checkpoint carrying it must never be loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_with_pickled_code_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    torch.save(
        {"state_dict": {}, "hyper_parameters": {"lungnet_checkpoint": 1}, "x": _Payload(marker)},
        evil,
    )
    with pytest.raises(CheckpointError, match="could run arbitrary code; refused"):
        load_checkpoint(evil)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "does not exist"),
        (b"garbage bytes, not a zip", "corrupt or not a PyTorch checkpoint"),
        ({"state_dict": {}}, "not a LungNet checkpoint"),
        (
            {
                "state_dict": {},
                "hyper_parameters": {
                    "lungnet_checkpoint": 1,
                    "model": {"base_channels": 4},
                    "preprocess": {},
                },
            },
            "incomplete or mismatched",
        ),
    ],
    ids=["missing", "corrupt", "foreign", "incomplete"],
)
def test_bad_checkpoints_give_one_line(tmp_path, content, match):
    path = tmp_path / "c.ckpt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ inputs and entry points


def test_folder_inputs_expand_to_scans_and_a_dicom_folder_stays_one_series(tmp_path, real_ct):
    batch = tmp_path / "batch"
    save_nifti(batch / "a.nii.gz", tiny_case(0)[0])
    save_nifti(batch / "b.nii", tiny_case(1)[0])
    (batch / ".hidden.nii.gz").write_bytes(b"")
    first_slice = sorted((real_ct / "dicom_series").iterdir())[0]
    (batch / "series").mkdir()
    (batch / "series" / first_slice.name).write_bytes(first_slice.read_bytes())
    assert expand_inputs([batch]) == [batch / "a.nii.gz", batch / "b.nii", batch / "series"]
    assert expand_inputs([real_ct / "dicom_series"]) == [real_ct / "dicom_series"]


def test_stray_files_in_a_folder_of_scans_are_skipped_one_line_each(tmp_path):
    batch = tmp_path / "batch"
    save_nifti(batch / "a.nii.gz", tiny_case(0)[0])
    (batch / "README").write_text("notes")
    (batch / "a.json").write_text("{}")
    (batch / ".DS_Store").write_bytes(b"\0")
    (batch / "empty").mkdir()
    found = find_scans([batch])
    assert found.scans == [batch / "a.nii.gz"]
    assert [(p.name, why) for p, why in found.skipped] == [
        ("README", "is neither a NIfTI file nor a DICOM series"),
        ("a.json", "is neither a NIfTI file nor a DICOM series"),
        ("empty", "is a folder without DICOM files"),
    ]


def test_a_dataset_folder_stands_for_its_test_or_training_scans(tmp_path):
    task = tmp_path / "Task06_Lung"
    save_nifti(task / "imagesTr" / "lung_001_0000.nii.gz", tiny_case(0)[0])
    save_nifti(task / "imagesTs" / "lung_002_0000.nii.gz", tiny_case(1)[0])
    (task / "dataset.json").write_text("{}")
    assert find_scans([task]).scans == [task / "imagesTs" / "lung_002_0000.nii.gz"]
    assert find_scans([task], split="imagesTr").scans == [
        task / "imagesTr" / "lung_001_0000.nii.gz"
    ]
    (task / "imagesTs" / "lung_002_0000.nii.gz").unlink()
    (task / "imagesTs").rmdir()
    assert find_scans([task]).skipped == [(task, "is a dataset folder without imagesTs/")]


def test_predict_on_a_folder_with_a_readme_predicts_the_scans_and_names_the_rest(
    checkpoint, tmp_path
):
    batch = tmp_path / "batch"
    save_nifti(batch / "lung_001_0000.nii.gz", tiny_case(0)[0])
    (batch / "README.md").write_text("two scans")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lungnet",
            "predict",
            "-i",
            str(batch),
            "--checkpoint",
            str(checkpoint),
            "-o",
            str(tmp_path / "out"),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"skipped: {batch / 'README.md'}: is neither a NIfTI file" in proc.stderr
    assert "1 scan(s): 1 ok, 0 failed" in proc.stdout
    assert (tmp_path / "out" / "lung_001_pred.nii.gz").is_file()


def test_seed_inference_command_writes_the_pred_file(checkpoint, tmp_path):
    scan = save_nifti(tmp_path / "patient_ct.nii.gz", tiny_case(2)[0])
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--input_nifti",
            str(scan),
            "--checkpoint",
            str(checkpoint),
            "--output_dir",
            str(tmp_path / "predictions"),
            "--device",
            "cuda" if torch.cuda.is_available() else "cpu",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "predictions" / "patient_ct_pred.nii.gz").exists()


def test_batch_with_one_bad_file_runs_the_rest_and_exits_1(checkpoint, tmp_path):
    batch = tmp_path / "batch"
    save_nifti(batch / "good1.nii.gz", tiny_case(0)[0])
    save_nifti(batch / "good2.nii.gz", tiny_case(1)[0])
    (batch / "bad.nii.gz").write_bytes(b"")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lungnet",
            "predict",
            "--input",
            str(batch),
            "--checkpoint",
            str(checkpoint),
            "--output-dir",
            str(tmp_path / "out"),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "bad.nii.gz: is empty" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "good1_pred.nii.gz",
        "good2_pred.nii.gz",
    ]


def test_a_bad_checkpoint_on_the_command_line_is_one_line_exit_1(tmp_path):
    scan = save_nifti(tmp_path / "s.nii.gz", tiny_case(0)[0])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lungnet",
            "predict",
            "--input",
            str(scan),
            "--checkpoint",
            str(tmp_path / "no.ckpt"),
        ],
        capture_output=True,
        text=True,
    )
    assert (
        proc.returncode == 1
        and "no.ckpt: does not exist" in proc.stderr
        and "Traceback" not in proc.stderr
    )


def test_predict_report_writes_tumor_tables_and_html_beside_the_mask(checkpoint, tmp_path):
    scan = save_nifti(tmp_path / "patient.nii.gz", tiny_case(3)[0])
    outcome = Predictor(checkpoint, device="cpu").predict_file(scan, tmp_path / "o", report=True)
    assert outcome.report_path == tmp_path / "o" / "patient_report.html"
    names = {p.name for p in (tmp_path / "o").iterdir()}
    assert {
        "patient_pred.nii.gz",
        "patient_report.html",
        "patient_tumors.csv",
        "patient_tumors.json",
    } <= names
    assert "<html" in outcome.report_path.read_text().lower()


def test_seed_inference_command_on_a_lungnet_synth_scan_gives_a_mask_on_its_grid(
    checkpoint, tmp_path
):
    from lungnet.synthetic import write_msd_dataset

    data = write_msd_dataset(tmp_path / "data", cases=0, test_cases=2, seed=3, size=48, slices=40)
    for scan in sorted(
        (data / "imagesTs").glob("*.nii.gz")
    ):  # seeds give RAS and LPS storage alike
        proc = subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                "--input_nifti",
                str(scan),
                "--checkpoint",
                str(checkpoint),
                "--output_dir",
                str(tmp_path / "predictions"),
                "--device",
                "cpu",
            ],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        mask = tmp_path / "predictions" / scan.name.replace(".nii.gz", "_pred.nii.gz")
        assert_same_geometry(scan, mask)
        assert_same_geometry(data / "labelsTs" / scan.name, mask)


def test_a_spacing_aware_checkpoint_gives_a_mask_on_the_scans_own_grid(tmp_path):
    import torch

    from lungnet.checkpoints import checkpoint_dict
    from lungnet.models import UNet
    from lungnet.preprocessing import PreprocessConfig

    torch.manual_seed(0)
    model = UNet(in_channels=1, base_channels=4, depth=2)
    with torch.no_grad():
        model.outc.bias.fill_(0.05)
    config = PreprocessConfig(target_size=(32, 32), clip_slices_min=2, pixel_mm=1.5)
    path = tmp_path / "spacing.ckpt"
    torch.save(checkpoint_dict(model, config), path)
    hu, _ = tiny_case(3)  # 48 x 40 voxels of 0.8 mm: 26 x 21 px at 1.5 mm, padded to 32
    ct = read_ct(save_nifti(tmp_path / "s.nii.gz", hu))
    prediction = Predictor(path, device="cpu").predict_volume(ct)
    assert prediction.mask.shape == ct.shape == prediction.probabilities.shape
    assert not prediction.probabilities[:, :, :2].any()  # the clipped slices
    assert prediction.mask.any()
