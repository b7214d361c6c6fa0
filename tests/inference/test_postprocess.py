"""Post-processing: what each rule drops, and how validation chooses between the rules."""

from __future__ import annotations

import numpy as np
import pytest

from lungnet.evaluation.lesions import match_lesions
from lungnet.evaluation.metrics import dice_score
from lungnet.inference.postprocess import (
    PostProcessing,
    ValidationCase,
    _score,
    _ThresholdedCase,
    choose_postprocessing,
)

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
        [case],
        min_volumes_mm3=(0.0, 100.0, 5000.0),
        thresholds=(0.5,),
        min_peaks=(0.0,),
        min_depths_mm=(0.0,),
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
    chosen, rows = choose_postprocessing(
        [case], min_volumes_mm3=(0.0,), min_peaks=(0.0,), min_depths_mm=(0.0,)
    )
    assert chosen.threshold == 0.4  # 0.3 finds it too; the tie goes to the one nearer 0.5
    assert len(rows) == 6
    assert PostProcessing(threshold=0.4).apply(probabilities, SPACING).sum() == truth.sum()
    with pytest.raises(ValueError, match="threshold"):
        PostProcessing(threshold=1.0)


def _faint_speck_and_small_sure_tumor():
    """A faint 1000 mm3 false alarm and a sure 64 mm3 tumor (a sphere of about 5 mm)."""
    probabilities = np.zeros((40, 40, 20), np.float32)
    probabilities[5:10, 5:10, 5:10] = 0.6  # faint: never above 0.6
    probabilities[25:27, 25:27, 5:7] = 0.95  # small, and the network is sure of it
    truth = np.zeros(probabilities.shape, np.uint8)
    truth[25:27, 25:27, 5:7] = 1
    return probabilities, truth


def test_the_minimum_peak_drops_faint_components_and_keeps_small_sure_ones():
    probabilities, truth = _faint_speck_and_small_sure_tumor()
    kept = PostProcessing(min_peak_probability=0.9).apply(probabilities, SPACING)
    assert (kept == truth).all()
    # The outline still comes from the threshold: a sure core keeps its fainter rim.
    probabilities[24, 25:27, 5:7] = 0.55
    kept = PostProcessing(min_peak_probability=0.9).apply(probabilities, SPACING)
    assert kept[24, 25, 5] and not kept[7, 7, 7]
    # No minimum volume can do the same: the false alarm is the bigger component.
    assert PostProcessing(min_tumor_volume_mm3=100).apply(probabilities, SPACING)[7, 7, 7]
    with pytest.raises(ValueError, match="min_peak_probability"):
        PostProcessing(min_peak_probability=1.5)


def test_validation_chooses_a_minimum_peak_when_it_removes_a_false_alarm_the_volume_cannot():
    probabilities, truth = _faint_speck_and_small_sure_tumor()
    case = ValidationCase(
        probabilities.astype(np.float16), truth, np.ones(truth.shape, bool), SPACING
    )
    chosen, rows = choose_postprocessing([case], thresholds=(0.5,), min_depths_mm=(0.0,))
    assert chosen.min_peak_probability == 0.7 and chosen.min_tumor_volume_mm3 == 0.0
    assert len(rows) == 2 * 5 * 3
    assert PostProcessing.from_dict(chosen.to_dict()) == chosen


def test_scores_from_component_counts_equal_scores_of_the_kept_mask():
    """Each candidate is scored from one labelling per threshold; that must equal the slow way."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        probabilities = rng.random((24, 24, 12)).astype(np.float32) ** 6
        truth = (rng.random(probabilities.shape) > 0.97).astype(np.uint8)
        truth[3:8, 3:8, 3:8] = 1
        lungs = rng.random(probabilities.shape) > 0.5
        case = ValidationCase(probabilities, truth, lungs, SPACING)
        for rule in (
            PostProcessing(0.0, False, 0.3, 0.0),
            PostProcessing(30.0, True, 0.4, 0.7),
            PostProcessing(100.0, True, 0.5, 0.9),
            PostProcessing(0.0, False, 0.5, 0.0, 5.0),
        ):
            fast = _score([_ThresholdedCase.of(case, rule.threshold)], rule)
            kept = rule.apply(probabilities, SPACING, lungs=lungs)
            slow = match_lesions(kept, truth)
            assert (fast["lesion_tp"], fast["lesion_fp"], fast["lesion_fn"]) == (
                slow.lesion_tp,
                slow.lesion_fp,
                slow.lesion_fn,
            )
            assert fast["dice_tumor_cases"] == pytest.approx(dice_score(kept > 0, truth > 0))


def test_the_minimum_depth_drops_flat_components_and_keeps_small_round_ones():
    mask = np.zeros((40, 40, 20), np.uint8)
    mask[5:15, 5:15, 8] = 1  # 800 mm3 on one slice: a vessel seen end-on, say (2 mm deep)
    mask[25:28, 25:28, 5:8] = 1  # 216 mm3, 6 mm across and 6 mm deep: a small tumor
    kept = PostProcessing(min_depth_mm=5.0).apply(mask, SPACING)
    assert not kept[10, 10, 8] and kept[26, 26, 6]
    # A minimum volume that drops the flat one drops the tumor first.
    assert not PostProcessing(min_tumor_volume_mm3=300).apply(mask, SPACING)[26, 26, 6]
    assert PostProcessing.from_dict({"min_depth_mm": 5}) == PostProcessing(min_depth_mm=5.0)
    with pytest.raises(ValueError, match="min_depth_mm"):
        PostProcessing(min_depth_mm=-1)


def test_validation_chooses_a_minimum_depth_when_the_false_alarms_are_flat():
    mask = np.zeros((40, 40, 20), np.uint8)
    mask[5:15, 5:15, 8] = 1
    mask[25:28, 25:28, 5:8] = 1
    truth = np.zeros(mask.shape, np.uint8)
    truth[25:28, 25:28, 5:8] = 1
    case = ValidationCase(mask, truth, np.ones(mask.shape, bool), SPACING)
    chosen, rows = choose_postprocessing([case], thresholds=(0.5,), min_peaks=(0.0,))
    assert chosen == PostProcessing(0.0, True, 0.5, 0.0, 5.0)  # 8 mm would lose the tumor
    assert len(rows) == 2 * 5 * 3
