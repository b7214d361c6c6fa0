"""Cross-validation folds: every case validates exactly once, the same way on every machine."""

from __future__ import annotations

import json

import pytest

from lungnet.data.folds import kfold_splits, read_splits, write_splits
from lungnet.errors import LungNetInputError

CASES = [f"lung_{i:03d}" for i in range(11)]


def test_each_case_is_in_exactly_one_validation_fold_and_trains_in_the_others():
    splits = kfold_splits(CASES, 5)
    assert len(splits) == 5
    assert sorted(c for fold in splits for c in fold["val"]) == CASES
    assert {len(fold["val"]) for fold in splits} == {2, 3}
    for fold in splits:
        assert sorted(fold["train"] + fold["val"]) == CASES


def test_the_folds_depend_only_on_the_case_names():
    assert kfold_splits(CASES, 3) == kfold_splits(list(reversed(CASES)), 3)


def test_too_few_cases_for_the_folds_is_one_line():
    with pytest.raises(LungNetInputError, match="5-fold cross-validation needs at least 5 cases"):
        kfold_splits(CASES[:3], 5)


def test_a_splits_file_round_trips_in_nnunets_layout_and_is_checked(tmp_path):
    path = write_splits(tmp_path / "splits_final.json", kfold_splits(CASES, 2))
    assert set(json.loads(path.read_text())[0]) == {"train", "val"}
    assert read_splits(path, CASES) == kfold_splits(CASES, 2)
    with pytest.raises(LungNetInputError, match=r"fold 0 names cases the data does not have"):
        read_splits(path, CASES[:5])
