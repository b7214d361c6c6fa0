"""NiftiPreprocessor: the seed's API, case finding, validation, manifest, resume."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import RAS_AFFINE, lps_twin, save_nifti, tiny_case
from lungnet import NiftiPreprocessor
from lungnet.preprocessing import find_cases


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_seed_snippet_writes_slices_masks_and_manifest(msd_dataset, tmp_path):
    out = tmp_path / "processed_data"
    processor = NiftiPreprocessor(target_size=(32, 32), clip_slices_min=10)
    processor.run(input_root=msd_dataset, output_root=out, val_split_count=1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["config"]["target_size"] == [32, 32]
        and manifest["config"]["clip_slices_min"] == 10
    )
    assert [manifest["cases"][c]["split"] for c in sorted(manifest["cases"])] == ["train"] * 3 + [
        "val"
    ]
    case = manifest["cases"]["lung_000"]
    assert case["num_slices"] == 24 - 10
    data = np.load(out / "train" / "lung_000" / "data" / "0.npy")
    mask = np.load(out / "train" / "lung_000" / "masks" / "0.npy")
    assert data.shape == (32, 32) and data.dtype == np.float32 and mask.dtype == np.uint8
    # The tiny case's tumor sits at z 16..19, i.e. slices 6..9 after clipping 10.
    assert case["tumor_slices"] == [6, 7, 8, 9]
    assert (out / "val" / "lung_003" / "masks" / "9.npy").exists()


def test_lps_copy_gives_the_same_slices_as_its_ras_original(tmp_path):
    hu, label = tiny_case(7)
    for name, affine_fn in (
        ("ras", lambda a: (a, RAS_AFFINE)),
        ("lps", lambda a: lps_twin(a, RAS_AFFINE)),
    ):
        img, aff = affine_fn(hu)
        lab, _ = affine_fn(label)
        save_nifti(tmp_path / name / "imagesTr" / "lung_001.nii.gz", img, aff)
        save_nifti(tmp_path / name / "labelsTr" / "lung_001.nii.gz", lab, aff)
        NiftiPreprocessor(target_size=(24, 20), clip_slices_min=2, workers=1).run(
            tmp_path / name, tmp_path / f"out_{name}", val_split_count=0
        )
    for kind in ("data", "masks"):
        for i in range(22):
            a = np.load(tmp_path / "out_ras" / "train" / "lung_001" / kind / f"{i}.npy")
            b = np.load(tmp_path / "out_lps" / "train" / "lung_001" / kind / f"{i}.npy")
            np.testing.assert_array_equal(a, b)


def test_non_cases_are_ignored(msd_dataset):
    (msd_dataset / "imagesTr" / "._lung_000.nii.gz").write_bytes(b"\x00\x05AppleDouble")
    (msd_dataset / "imagesTr" / ".hidden.nii.gz").write_bytes(b"x")
    (msd_dataset / "imagesTr" / "notes.txt").write_text("not a case")
    (msd_dataset / "imagesTr" / "subfolder").mkdir()
    assert [c.name for c in find_cases(msd_dataset)] == [
        "lung_000",
        "lung_001",
        "lung_002",
        "lung_003",
    ]


def test_nnunet_channel_suffix_pairs_with_the_plain_label(tmp_path):
    hu, label = tiny_case(0)
    save_nifti(tmp_path / "imagesTr" / "lung_009_0000.nii.gz", hu)
    save_nifti(tmp_path / "labelsTr" / "lung_009.nii.gz", label)
    (case,) = find_cases(tmp_path)
    assert case.name == "lung_009" and case.label.name == "lung_009.nii.gz"


@pytest.mark.parametrize("content", [None, "{not json"], ids=["missing", "malformed"])
def test_dataset_json_problems_are_warnings_not_stops(msd_dataset, tmp_path, content, caplog):
    if content is None:
        (msd_dataset / "dataset.json").unlink()
    else:
        (msd_dataset / "dataset.json").write_text(content)
    result = NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, tmp_path / "o", 1
    )
    assert not result.failed and "dataset.json" in caplog.text


def _break(root: Path, case: str, how: str) -> str:
    image, label = root / "imagesTr" / f"{case}.nii.gz", root / "labelsTr" / f"{case}.nii.gz"
    hu, lab = tiny_case(0)
    if how == "shape":
        save_nifti(label, np.zeros((48, 40, 23), np.uint8))
        return r"label shape \(48, 40, 23\) differs from image shape \(48, 40, 24\)"
    if how == "affine":
        save_nifti(label, lab, RAS_AFFINE + np.diag([0.1, 0, 0, 0]))
        return "label affine .* differs from image affine"
    if how == "values":
        save_nifti(label, (lab * 2).astype(np.uint8))
        return "not a binary mask: values found 0, 2"
    if how == "short":
        save_nifti(image, hu[:, :, :5])
        save_nifti(label, lab[:, :, :5])
        return "has 5 slices, not more than clip_slices_min=5"
    if how == "nolabel":
        label.unlink()
        return "has no label file"
    if how == "corrupt":
        image.write_bytes(image.read_bytes()[:200])
        return "truncated"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["shape", "affine", "values", "short", "nolabel", "corrupt"])
def test_a_bad_case_is_reported_in_one_line_and_the_others_still_run(msd_dataset, tmp_path, how):
    expected = _break(msd_dataset, "lung_001", how)
    clip = 5 if how == "short" else 0
    result = NiftiPreprocessor(target_size=(16, 16), clip_slices_min=clip, workers=1).run(
        msd_dataset, tmp_path / "o", 1
    )
    (failed,) = result.failed
    assert failed.name == "lung_001" and "\n" not in failed.message
    with pytest.raises(AssertionError, match=expected):  # the message says what is wrong
        raise AssertionError(failed.message)
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert sorted(manifest["cases"]) == ["lung_000", "lung_002", "lung_003"]


def test_an_image_whose_data_breaks_after_its_header_is_reported_as_read_ct_words_it(
    msd_dataset, tmp_path
):
    from lungnet.errors import LungNetInputError
    from lungnet.io import read_ct

    image = msd_dataset / "imagesTr" / "lung_001.nii.gz"
    image.write_bytes(image.read_bytes()[:-500])  # streaming finds this only when decoding
    with pytest.raises(LungNetInputError) as expected:
        read_ct(image)
    result = NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, tmp_path / "o", 1
    )
    (failed,) = result.failed
    assert failed.message == str(expected.value)
    assert not (tmp_path / "o" / "train" / "lung_001").exists()
    assert sorted(p.name for p in (tmp_path / "o" / "train").iterdir()) == ["lung_000", "lung_002"]


def test_a_scan_streamed_while_decoded_gives_the_files_of_one_read_whole(
    lps_phantoms, tmp_path, monkeypatch
):
    import lungnet.preprocessing.nifti_processor as processor

    settings = dict(target_size=(40, 48), clip_slices_min=4, workers=1)
    assert all(processor.open_streamed(p) for p in (lps_phantoms / "imagesTr").glob("*.nii.gz"))
    NiftiPreprocessor(**settings).run(lps_phantoms, tmp_path / "streamed", val_split_count=0)
    monkeypatch.setattr(processor, "open_streamed", lambda path: None)
    NiftiPreprocessor(**settings).run(lps_phantoms, tmp_path / "whole", val_split_count=0)
    streamed = sorted((tmp_path / "streamed" / "train").rglob("*.npy"))
    whole = sorted((tmp_path / "whole" / "train").rglob("*.npy"))
    assert [p.relative_to(tmp_path / "streamed") for p in streamed] == [
        p.relative_to(tmp_path / "whole") for p in whole
    ]
    assert len(streamed) > 0
    for a, b in zip(streamed, whole, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_rerun_skips_finished_cases_and_a_changed_config_redoes_them(msd_dataset, tmp_path):
    out = tmp_path / "o"
    first = NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, out, 1
    )
    assert first.count("done") == 4
    again = NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, out, 1
    )
    assert again.count("skipped") == 4
    changed = NiftiPreprocessor(target_size=(20, 20), clip_slices_min=0, workers=1).run(
        msd_dataset, out, 1
    )
    assert changed.count("done") == 4
    assert np.load(out / "train" / "lung_000" / "data" / "0.npy").shape == (20, 20)


def test_a_killed_run_resumes_to_identical_files(msd_dataset, tmp_path):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    NiftiPreprocessor(target_size=(16, 16), clip_slices_min=2, workers=2).run(msd_dataset, clean, 1)
    # Simulate a kill: a real run is started in a subprocess and killed once the first
    # case is in place; whatever it left must be finished by a plain rerun.
    script = (
        "import os, sys\n"
        "import lungnet.preprocessing.nifti_processor as m\n"
        "orig = m._preprocess_to\n"
        "calls = []\n"
        "def dying(*a, **k):\n"
        "    calls.append(1)\n"
        "    if len(calls) == 2:\n"
        "        os._exit(9)\n"
        "    return orig(*a, **k)\n"
        "m._preprocess_to = dying\n"
        "m.NiftiPreprocessor(target_size=(16, 16), clip_slices_min=2, workers=1)"
        f".run({str(msd_dataset)!r}, {str(killed)!r}, 1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == 9 and not (killed / "manifest.json").exists()
    NiftiPreprocessor(target_size=(16, 16), clip_slices_min=2, workers=1).run(
        msd_dataset, killed, 1
    )
    a, b = _tree(clean), _tree(killed)
    assert sorted(a) == sorted(b)
    for name in a:
        if name.endswith("case.json") or name == "manifest.json":
            continue  # these record the (different) output paths' neighbours by absolute path
        assert a[name] == b[name], name
    assert not list(killed.rglob(".lungnet-tmp-*"))


def test_the_input_folder_is_never_modified(msd_dataset, tmp_path):
    before = _tree(msd_dataset)
    NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, tmp_path / "o", 1
    )
    assert _tree(msd_dataset) == before


def test_cli_preprocess_reports_a_bad_case_and_exits_1(msd_dataset, tmp_path):
    _break(msd_dataset, "lung_002", "values")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lungnet",
            "preprocess",
            str(msd_dataset),
            str(tmp_path / "o"),
            "--target-size",
            "16",
            "16",
            "--clip-slices-min",
            "0",
            "--val-split-count",
            "1",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "lung_002.nii.gz: is not a binary mask" in proc.stderr and "Traceback" not in proc.stderr
    assert "4 case(s): 3 preprocessed, 0 already up to date, 1 failed" in proc.stdout


def test_cli_preprocess_usage_errors_exit_2(msd_dataset, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lungnet", "preprocess", str(msd_dataset)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lungnet",
            "preprocess",
            str(msd_dataset),
            str(tmp_path),
            "--workers",
            "0",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2


def test_a_folder_that_is_not_a_dataset_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lungnet", "preprocess", str(tmp_path), str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert (
        proc.returncode == 1
        and "has no imagesTr/ folder" in proc.stderr
        and "Traceback" not in proc.stderr
    )


# ------------------------------------------------------------ same files as the float pipeline


def _previous_pipeline(case_dir: Path, name: str, config) -> tuple[np.ndarray, np.ndarray]:
    """The slices as the float pipeline made them before the cheap order: float32 HU of the
    whole volume, normalized at full resolution, then resized (masks: torch nearest-exact)."""
    import torch
    import torch.nn.functional as F

    from lungnet.io import read_ct
    from lungnet.preprocessing import kept_slices, normalize

    image = read_ct(case_dir / "imagesTr" / f"{name}.nii.gz").array
    label = read_ct(case_dir / "labelsTr" / f"{name}.nii.gz").array > 0.5
    kept = kept_slices(image.shape[2], config)
    size_wh = config.target_size[::-1]
    hu = torch.from_numpy(np.ascontiguousarray(image[:, :, kept].transpose(2, 1, 0)))[:, None]
    data = F.interpolate(normalize(hu, config), size=size_wh, mode="bilinear", align_corners=False)
    mask = torch.from_numpy(np.ascontiguousarray(label[:, :, kept].transpose(2, 1, 0), np.uint8))
    masks = F.interpolate(mask[:, None], size=size_wh, mode="nearest-exact")
    return data[:, 0].transpose(1, 2).numpy(), masks[:, 0].transpose(1, 2).numpy()


@pytest.fixture(scope="module")
def lps_phantoms(tmp_path_factory) -> Path:
    """Two lungnet synth phantoms: int16 in LPS order with a -1024 intercept, as MSD ships."""
    from lungnet.synthetic import write_msd_dataset

    return write_msd_dataset(tmp_path_factory.mktemp("phantoms") / "d", cases=2, size=64, slices=24)


@pytest.mark.parametrize(
    "settings",
    [
        {"target_size": (40, 48), "clip_slices_min": 4},
        {"target_size": (64, 64), "clip_slices_min": 0},
        {
            "target_size": (24, 80),
            "clip_slices_min": 2,
            "normalization": "window",
            "hu_window": (-1000.0, 400.0),
        },
    ],
    ids=["downsize", "same-size", "window-upsize"],
)
def test_slices_match_the_float_pipeline_to_float32_rounding(lps_phantoms, tmp_path, settings):
    # Resizing before normalizing rounds differently in the last bit or two; masks are
    # picked pixels and identical, and without a resize the slices are identical too.
    NiftiPreprocessor(workers=1, **settings).run(lps_phantoms, tmp_path / "o", val_split_count=0)
    proc = NiftiPreprocessor(**settings)
    for name in ("lung_001", "lung_002"):
        data, masks = _previous_pipeline(lps_phantoms, name, proc.config)
        case = tmp_path / "o" / "train" / name
        for i in range(len(data)):
            written = np.load(case / "data" / f"{i}.npy")
            assert written.dtype == np.float32 and written.shape == proc.config.target_size
            if proc.config.target_size == (64, 64):
                np.testing.assert_array_equal(written, data[i])
            else:
                np.testing.assert_allclose(written, data[i], rtol=0, atol=4e-7)
            np.testing.assert_array_equal(np.load(case / "masks" / f"{i}.npy"), masks[i])


@pytest.mark.parametrize(
    "stored, scaling, problem",
    [
        (np.uint8, {"slope": 0.5}, None),  # stored 0 and 2, scaled to 0 and 1
        (np.int16, {}, None),
        (np.float32, {}, None),
        (np.uint8, {"inter": 1.0}, "values found 1, 2"),
        (np.int16, {"slope": 3.0}, "values found 0, 3"),
    ],
)
def test_labels_are_judged_on_their_scaled_values(msd_dataset, tmp_path, stored, scaling, problem):
    _, label = tiny_case(1)
    values = label * 2 if scaling.get("slope") == 0.5 else label
    save_nifti(msd_dataset / "labelsTr" / "lung_001.nii.gz", values.astype(stored), **scaling)
    result = NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, tmp_path / "o", 0
    )
    if problem is None:
        assert not result.failed
        masks = [
            np.load(tmp_path / "o" / "train" / "lung_001" / "masks" / f"{i}.npy") for i in range(24)
        ]
        assert np.stack(masks).sum() > 0 and np.stack(masks).max() == 1
    else:
        (failed,) = result.failed
        assert f"is not a binary mask: {problem} (expected 0 and 1)" in failed.message


# ------------------------------------------------------------ a case is done when all is there


def test_a_case_with_a_missing_or_cut_slice_file_is_made_again(msd_dataset, tmp_path):
    out = tmp_path / "o"
    NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(msd_dataset, out, 1)
    before = _tree(out)
    (out / "train" / "lung_001" / "masks" / "7.npy").unlink()
    cut = out / "train" / "lung_002" / "data" / "3.npy"
    cut.write_bytes(cut.read_bytes()[:100])
    again = NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, out, 1
    )
    assert {o.name: o.status for o in again.outcomes} == {
        "lung_000": "skipped",
        "lung_001": "done",
        "lung_002": "done",
        "lung_003": "skipped",
    }
    assert _tree(out) == before


# ------------------------------------------------------------ one writer per output folder


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lungnet", "preprocess", *args]


def test_a_second_run_into_a_folder_being_written_refuses_in_one_line(msd_dataset, tmp_path):
    from lungnet.preprocessing.output_lock import output_lock

    out = tmp_path / "o"
    with output_lock(out):
        proc = subprocess.run(
            _cli(str(msd_dataset), str(out), "--target-size", "16", "16"),
            capture_output=True,
            text=True,
        )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"lungnet preprocess: error: {out}: is being written by another lungnet preprocess run "
        f"(pid {os.getpid()}); rerun when it has finished"
    )
    assert not (out / "train").exists()


def test_a_waiting_run_starts_when_the_other_one_ends(msd_dataset, tmp_path):
    from lungnet.preprocessing.output_lock import output_lock

    out = tmp_path / "o"
    with output_lock(out):
        proc = subprocess.Popen(
            _cli(
                str(msd_dataset),
                str(out),
                "--target-size",
                "16",
                "16",
                "--clip-slices-min",
                "0",
                "--wait",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "4 case(s): 4 preprocessed" in stdout
    assert re.search(r"^workers: [1-9]\d*$", stdout, re.MULTILINE)  # chosen from cores and memory


@pytest.mark.slow
def test_two_runs_started_together_leave_a_complete_folder(msd_dataset, tmp_path):
    clean, shared = tmp_path / "clean", tmp_path / "shared"
    NiftiPreprocessor(target_size=(16, 16), clip_slices_min=2).run(msd_dataset, clean, 1)
    args = ["--target-size", "16", "16", "--clip-slices-min", "2", "--val-split-count", "1"]
    runs = [
        subprocess.Popen(
            _cli(str(msd_dataset), str(shared), *args, "--workers", str(w)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in (1, 2)
    ]
    finished = [(p.wait(timeout=120), *p.communicate()) for p in runs]
    for code, _, err in finished:
        # Each run either finished or refused, in one line naming the folder and the other run.
        assert code == 0 or (
            code == 1
            and "is being written by another lungnet preprocess run (pid" in err
            and str(shared) in err
        ), err
    assert any(code == 0 for code, _, _ in finished)
    a, b = _tree(clean), _tree(shared)
    assert sorted(a) == sorted(b)
    assert all(a[n] == b[n] for n in a if n.endswith(".npy") or n == "manifest.json")


def test_a_run_removes_only_temporaries_of_ended_processes(msd_dataset, tmp_path):
    # A temporary of a live process (this test's parent) stays; one of an ended process goes.
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    live = tmp_path / "o" / "train" / f".lungnet-tmp-{os.getppid()}-a"
    dead = tmp_path / "o" / "train" / f".lungnet-tmp-{ended.stdout.strip()}-b"
    for folder in (live, dead):
        (folder / "data").mkdir(parents=True)
    NiftiPreprocessor(target_size=(16, 16), clip_slices_min=0, workers=1).run(
        msd_dataset, tmp_path / "o", 1
    )
    assert live.is_dir() and not dead.exists()


def test_cli_takes_the_folders_as_i_and_o_too_and_says_how_many_workers(msd_dataset, tmp_path):
    proc = subprocess.run(
        _cli("-i", str(msd_dataset), "-o", str(tmp_path / "o"), "--clip-slices-min", "0"),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and (tmp_path / "o" / "manifest.json").is_file()
    assert re.search(r"^workers: [1-9]\d*$", proc.stdout, re.MULTILINE)
    assert re.search(r"preprocessing with \d+ worker\(s\) \(\d+ cores; ", proc.stderr)


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--hu-window", "400", "-1000"], "hu_window must be (low, high) with low < high"),
        (["-o", "elsewhere"], "give the output folder once"),
    ],
)
def test_cli_bad_settings_exit_2_in_one_line(msd_dataset, tmp_path, args, problem):
    proc = subprocess.run(
        _cli(str(msd_dataset), str(tmp_path / "o"), *args), capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert problem in proc.stderr.strip().splitlines()[-1]


def _preprocess_with_auto_pixel_mm(dataset, out) -> subprocess.CompletedProcess:
    """``lungnet preprocess`` of ``dataset`` into ``out`` at 32 x 32 with ``--pixel-mm auto``."""
    return subprocess.run(
        _cli("-i", str(dataset), "-o", str(out), "--clip-slices-min", "0")
        + ["--target-size", "32", "32", "--pixel-mm", "auto"],
        capture_output=True,
        text=True,
    )


def test_auto_pixel_size_is_planned_from_the_training_cases_field_of_view(msd_dataset, tmp_path):
    from lungnet.preprocessing.planning import field_of_view_mm

    scan = msd_dataset / "imagesTr" / "lung_000.nii.gz"
    assert field_of_view_mm(scan) == pytest.approx(48 * 0.8)  # the larger in-plane side
    out = tmp_path / "o"
    proc = _preprocess_with_auto_pixel_mm(msd_dataset, out)
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["pixel_mm"] == pytest.approx(48 * 0.8 / 32)  # every tiny case is 38.4 mm wide
    assert np.load(out / "val" / "lung_003" / "data" / "0.npy").shape == (32, 32)


def test_auto_pixel_size_skips_an_unreadable_image_which_fails_alone(msd_dataset, tmp_path):
    (msd_dataset / "imagesTr" / "lung_001.nii.gz").write_bytes(b"not a nifti")
    out = tmp_path / "o"
    proc = _preprocess_with_auto_pixel_mm(msd_dataset, out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"^failed: .*lung_001", proc.stderr, re.MULTILINE)
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["pixel_mm"] == pytest.approx(48 * 0.8 / 32)


def test_a_pixel_size_that_is_not_a_number_is_one_usage_line(msd_dataset, tmp_path):
    proc = subprocess.run(
        _cli("-i", str(msd_dataset), "-o", str(tmp_path / "o"), "--pixel-mm", "wide"),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "expected millimetres or auto, got 'wide'" in proc.stderr
