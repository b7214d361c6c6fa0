"""lungnet.masks: one threshold and one connectivity for every module that counts tumors."""

from __future__ import annotations

import numpy as np

from lungnet.masks import (
    CONNECTIVITY,
    CONNECTIVITY_NEIGHBOURS,
    THRESHOLD,
    binarize,
    foreground_box,
    label_components,
)


def test_a_voxel_is_tumor_strictly_above_the_threshold():
    values = np.array([0.0, THRESHOLD, np.nextafter(np.float32(THRESHOLD), 1), 1.0], np.float32)
    assert binarize(values).tolist() == [False, False, True, True]
    flags = np.array([True, False])
    assert binarize(flags) is flags


def test_voxels_touching_only_by_a_corner_are_one_tumor():
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[0, 0, 0] = mask[1, 1, 1] = 1
    mask[3, 3, 3] = 1
    labels, count = label_components(mask)
    assert count == 2 and labels[0, 0, 0] == labels[1, 1, 1] != labels[3, 3, 3]
    assert CONNECTIVITY.sum() == CONNECTIVITY_NEIGHBOURS + 1


def test_an_empty_mask_has_no_components_and_no_box():
    labels, count = label_components(np.zeros((5, 5, 5)))
    assert count == 0 and not labels.any()
    assert foreground_box(np.zeros((5, 5, 5), bool)) is None


def test_the_foreground_box_grows_by_the_margin_and_stays_inside():
    mask = np.zeros((10, 10, 10), bool)
    mask[0, 4, 9] = True
    assert foreground_box(mask, margin=2) == (slice(0, 3), slice(2, 7), slice(7, 10))
