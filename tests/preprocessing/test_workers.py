"""The default worker count: no more than the cores, the cases, or the memory allow."""

from __future__ import annotations

import numpy as np

import lungnet.preprocessing.workers as workers
from helpers import save_nifti
from lungnet.preprocessing import PreprocessConfig, find_cases


def _dataset(tmp_path, cases: int):
    for i in range(cases):
        save_nifti(tmp_path / "imagesTr" / f"c{i}.nii.gz", np.zeros((64, 64, 40), np.int16))
        save_nifti(tmp_path / "labelsTr" / f"c{i}.nii.gz", np.zeros((64, 64, 40), np.uint8))
    return find_cases(tmp_path)


def test_a_worker_needs_its_decoded_volumes_and_its_slices(tmp_path):
    (case,) = _dataset(tmp_path, 1)
    config = PreprocessConfig(target_size=(32, 32), clip_slices_min=8)
    files = case.image.stat().st_size + case.label.stat().st_size
    slices = 32 * 32 * 32 * (4 + 1)
    expected = workers._PROCESS_BASE_BYTES + 64 * 64 * 40 * (2 + 1) + files + slices
    assert workers.worker_memory(case, config) == expected


def test_memory_bounds_the_count_below_the_cores(tmp_path, monkeypatch):
    cases = _dataset(tmp_path, 8)
    config = PreprocessConfig(target_size=(32, 32), clip_slices_min=0)
    per_worker = workers.worker_memory(cases[0], config)
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(workers, "available_memory", lambda: int(3.5 * per_worker))
    plan = workers.plan_workers(cases, config)
    assert (plan.workers, plan.cores, plan.per_worker_bytes) == (3, 64, per_worker)
    assert plan.describe().startswith("3 worker(s) (64 cores; ")
    monkeypatch.setattr(workers, "available_memory", lambda: 0)
    assert workers.plan_workers(cases, config).workers == 1  # always at least one


def test_cores_and_cases_bound_the_count_when_memory_is_plenty(tmp_path, monkeypatch):
    config = PreprocessConfig(target_size=(32, 32), clip_slices_min=0)
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(workers, "available_memory", lambda: 2**40)
    assert workers.plan_workers(_dataset(tmp_path / "a", 5), config).workers == 2
    assert workers.plan_workers(_dataset(tmp_path / "b", 1), config).workers == 1


def test_available_memory_is_known_here():
    assert workers.available_memory() > 0
