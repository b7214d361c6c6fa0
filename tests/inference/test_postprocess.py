"""Post-processing: what each rule drops, and how validation chooses between the rules."""

from __future__ import annotations

import numpy as np
import pytest

from lungnet.inference.postprocess import PostProcessing, ValidationCase, choose_postprocessing

SPACING = (2.0, 2.0, 2.0)  # 8 mm3 voxels


def _scene():
    """A big component in the lung, a speck in the lung, and a big component off the lung."""
    mask = np.zeros((40, 40, 20), np.uint8)
    lungs = np.zeros(mask.shape, bool)
    lungs[:20] = True
    mask[5:10, 5:10, 5:10] = 1  # 125 voxels = 1000 mm3, in the lung
    mask[15, 30, 2] = 1  # 8 mm3 speck, in the lung
    mask[30:35, 5:10, 5:10] = 1  # 1000 mm3 outside the lung (bowel gas, say)
    return mask, lungs


def test_no_rule_keeps_every_component():
    mask, lungs = _scene()
    assert PostProcessing().apply(mask, SPACING).sum() == mask.sum()


def test_the_minimum_volume_drops_specks_only():
    mask, lungs = _scene()
    kept = PostProcessing(min_tumor_volume_mm3=100).apply(mask, SPACING)
    assert kept.dtype == np.uint8 and kept.sum() == 250 and kept[15, 30, 2] == 0


def test_the_lung_constraint_drops_components_that_do_not_touch_the_lungs():
    mask, lungs = _scene()
    kept = PostProcessing(lung_constraint=True).apply(mask, SPACING, lungs=lungs)
    assert kept[7, 7, 7] and kept[15, 30, 2] and not kept[32, 7, 7]


def test_the_lung_constraint_finds_the_lungs_from_hu_when_not_given():
    mask, _ = _scene()
    with pytest.raises(ValueError, match="needs the scan's HU"):
        PostProcessing(lung_constraint=True).apply(mask, SPACING)
    no_lung = np.full(mask.shape, 40.0, np.float32)  # soft tissue only: nothing touches a lung
    assert not PostProcessing(lung_constraint=True).apply(mask, SPACING, hu=no_lung).any()


def test_a_checkpoint_without_a_choice_means_no_post_processing():
    assert PostProcessing.from_dict(None) == PostProcessing()
    stored = {"min_tumor_volume_mm3": 250, "lung_constraint": True, "chosen_on": ["a"]}
    assert PostProcessing.from_dict(stored) == PostProcessing(250.0, True)
    with pytest.raises(ValueError):
        PostProcessing(min_tumor_volume_mm3=-1)


def test_validation_chooses_the_rules_that_remove_false_alarms_without_losing_tumors():
    mask, lungs = _scene()
    truth = np.zeros(mask.shape, np.uint8)
    truth[5:10, 5:10, 5:10] = 1  # only the big in-lung component is a tumor
    case = ValidationCase(mask, truth, lungs, SPACING)
    chosen, rows = choose_postprocessing(
        [case], min_volumes_mm3=(0.0, 100.0, 5000.0), thresholds=(0.5,)
    )
    assert chosen == PostProcessing(100.0, True)  # both false alarms gone, the tumor kept
    assert len(rows) == 6 and max(r["lesion_f1"] for r in rows) == 1.0
    too_big = next(r for r in rows if r["min_tumor_volume_mm3"] == 5000.0 and r["lung_constraint"])
    assert too_big["lesion_fn"] == 1  # a minimum above the tumor's volume loses it


def test_ties_go_to_the_lung_constraint_and_then_the_smaller_minimum():
    truth = np.zeros((40, 40, 20), np.uint8)
    truth[5:10, 5:10, 5:10] = 1
    lungs = np.zeros(truth.shape, bool)
    lungs[:20] = True
    perfect = ValidationCase(truth.copy(), truth, lungs, SPACING)
    chosen, _ = choose_postprocessing([perfect], min_volumes_mm3=(0.0, 100.0))
    assert chosen == PostProcessing(0.0, True, 0.5)


def test_a_lower_threshold_is_chosen_when_it_finds_a_tumor_the_network_is_unsure_of():
    truth = np.zeros((40, 40, 20), np.uint8)
    truth[5:10, 5:10, 5:10] = 1
    truth[25:30, 25:30, 5:10] = 1
    probabilities = truth * np.float32(0.9)
    probabilities[25:30, 25:30, 5:10] = 0.45  # found only below the default threshold
    lungs = np.ones(truth.shape, bool)
    case = ValidationCase(probabilities.astype(np.float16), truth, lungs, SPACING)
    chosen, rows = choose_postprocessing([case], min_volumes_mm3=(0.0,))
    assert chosen.threshold == 0.4  # 0.3 finds it too; the tie goes to the one nearer 0.5
    assert len(rows) == 6
    assert PostProcessing(threshold=0.4).apply(probabilities, SPACING).sum() == truth.sum()
    with pytest.raises(ValueError, match="threshold"):
        PostProcessing(threshold=1.0)
