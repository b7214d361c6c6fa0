"""Shared display conventions: radiological orientation and the three-panel sample figure."""

from __future__ import annotations

import numpy as np
import pytest

from lungnet.viz import CT_CMAP, GT_CMAP, PROB_CMAP, sample_figure, to_radiological


def test_radiological_view_puts_patient_right_on_image_left_and_anterior_on_top():
    s = np.zeros((4, 3))  # canonical (X, Y): x grows toward patient right, y toward anterior
    s[3, 0] = 1  # patient's far right, most posterior
    s[0, 2] = 2  # patient's far left, most anterior
    view = to_radiological(s)
    assert view.shape == (3, 4)
    assert view[2, 0] == 1  # bottom-left of the image
    assert view[0, 3] == 2  # top-right of the image


def test_radiological_view_refuses_non_2d_input():
    with pytest.raises(ValueError, match=r"expected a 2D \(X, Y\) slice"):
        to_radiological(np.zeros((2, 2, 2)))


def test_sample_figure_has_ct_ground_truth_and_heatmap_panels():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(32, 24)).astype(np.float32)
    mask = np.zeros((32, 24), np.uint8)
    mask[10:14, 5:9] = 1
    prob = rng.random((32, 24))
    fig = sample_figure(image, mask, prob, title="case 1 slice 3")
    ct, gt, pred = fig.axes[:3]
    assert [ax.get_title() for ax in (ct, gt, pred)] == ["CT", "ground truth", "prediction"]
    assert ct.images[0].get_cmap().name == CT_CMAP
    assert gt.images[0].get_cmap().name == CT_CMAP and gt.images[1].get_cmap().name == GT_CMAP
    assert pred.images[0].get_cmap().name == PROB_CMAP
    assert pred.images[0].get_array().shape == (24, 32)  # drawn in radiological orientation
    assert np.array_equal(np.asarray(ct.images[0].get_array()), to_radiological(image))
    overlay = gt.images[1].get_array()
    assert int((~overlay.mask).sum()) == 16  # only tumor pixels are drawn
