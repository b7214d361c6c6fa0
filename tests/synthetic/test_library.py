"""Nodule library: real nodules as tumors, each patient's nodules in one split only."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from helpers import REAL_CT
from lungnet.errors import LungNetInputError
from lungnet.synthetic import NoduleLibrary, make_phantom, write_msd_dataset
from lungnet.synthetic.insert import write_inserted_dataset
from lungnet.synthetic.library import SPLITS, patient_split
from lungnet.synthetic.msd import write_case

LIDC = REAL_CT.parent / "lidc_nodules"


@pytest.fixture(scope="module")
def toy_library(tmp_path_factory) -> Path:
    """30 patients with one or two round 6-14 mm nodules each, stored like the LIDC crops."""
    root = tmp_path_factory.mktemp("library")
    rng = np.random.default_rng(0)
    spacing = (0.7, 0.7, 1.25)
    z, y, x = np.mgrid[-12:12, -24:24, -24:24]
    for p in range(30):
        for k in range(1 + p % 2):
            r = rng.uniform(3, 7)
            dist = np.sqrt((x * spacing[0]) ** 2 + (y * spacing[1]) ** 2 + (z * spacing[2]) ** 2)
            mask = (dist <= r).transpose(2, 1, 0)
            hu = np.where(mask, 30, -850).astype(np.int16)
            for folder, data in (("image", hu), ("mask", mask.astype(np.int16))):
                img = nib.Nifti1Image(data, np.diag([*spacing, 1.0]))
                (root / folder).mkdir(exist_ok=True)
                nib.save(img, root / folder / f"LIDC-IDRI-{p:04d}_R_{k + 1}.nii.gz")
    return root


def test_patients_split_by_a_fixed_hash_into_all_three_splits(toy_library):
    library = NoduleLibrary(toy_library)
    by_split = {s: {t.patient for t in library.split(s)} for s in SPLITS}
    assert all(by_split.values())
    assert not (
        by_split["train"] & by_split["val"]
        or by_split["train"] & by_split["test"]
        or by_split["val"] & by_split["test"]
    )
    assert patient_split("LIDC-IDRI-0001") == patient_split("LIDC-IDRI-0001")
    assert sum(len(library.split(s)) for s in SPLITS) == len(library.templates) == 45


def test_synth_keeps_train_validation_and_test_patients_apart(toy_library, tmp_path):
    root = write_msd_dataset(
        tmp_path / "ds",
        cases=3,
        test_cases=1,
        val_cases=1,
        seed=2,
        size=64,
        slices=40,
        tumor_diameter_mm=(6, 14),
        tumor_count=(3, 3),
        nodule_library=toy_library,
        library_share=1.0,
    )
    cases = json.loads((root / "dataset.json").read_text())["lungnet_synthetic"]["cases"]
    expected = {"lung_001": "train", "lung_002": "train", "lung_003": "val", "lung_004": "test"}
    used = 0
    for name, info in cases.items():
        assert info["library_split"] == expected[name]
        for t in info["tumors"]:
            assert t["kind"] == "library"
            assert patient_split(t["template"].split("_R_")[0]) == expected[name]
            used += 1
    assert used >= 6


def test_library_tumors_carry_their_own_hu_and_an_exact_label(toy_library):
    p = make_phantom(
        1,
        size=96,
        tumor_count=(2, 2),
        tumor_diameter_mm=(8, 12),
        noise=False,
        nodule_library=NoduleLibrary(toy_library),
        library_share=1.0,
    )
    assert [t.kind for t in p.tumors] == ["library", "library"]
    assert p.label.sum() == sum(t.voxels for t in p.tumors)
    hu = p.hu[p.label == 1]
    assert (
        np.median(hu) == pytest.approx(30) and hu.min() >= -850 and hu.max() <= 30
    )  # edges: partial volume


def test_insert_uses_the_library_too(toy_library, tmp_path):
    scan = tmp_path / "healthy.nii.gz"
    write_case(
        make_phantom(21, size=96, tumor_count=(0, 0)), scan, tmp_path / "l.nii.gz", "RAS", "int16"
    )
    _, infos, errors = write_inserted_dataset(
        [scan],
        tmp_path / "ds",
        seed=1,
        tumor_count=(2, 2),
        tumor_diameter_mm=(6, 12),
        nodule_library=toy_library,
        library_share=1.0,
        library_split="test",
    )
    assert not errors
    templates = [t["template"] for t in infos["healthy"]["tumors"]]
    assert templates and all(patient_split(n.split("_R_")[0]) == "test" for n in templates)


def test_a_folder_that_is_not_a_library_is_refused(tmp_path):
    with pytest.raises(LungNetInputError, match="not a nodule library"):
        NoduleLibrary(tmp_path)


def test_the_shared_lidc_library_has_every_split_and_its_sizes():
    if not LIDC.is_dir():
        pytest.skip(f"LIDC nodule library not found at {LIDC}")
    library = NoduleLibrary(LIDC)
    assert len(library.templates) == 735
    sizes = np.array([t.equivalent_diameter_mm for t in library.templates])
    assert 3.5 < sizes.min() and sizes.max() < 34
    assert all(len(library.split(s)) > 50 for s in SPLITS)
