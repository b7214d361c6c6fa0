"""Anatomy that real scans turn into false alarms is in the phantoms, and never labelled."""

from __future__ import annotations

import numpy as np
import pytest

from lungnet.synthetic import Tissue, make_phantom
from lungnet.synthetic.anatomy import draw_anatomy


def _anatomy(seed: int, size: int = 96):
    return draw_anatomy(np.random.default_rng(np.random.SeedSequence(seed).spawn(5)[0]), size, None)


@pytest.fixture(scope="module")
def phantom():
    """Seed 6 has breasts and air in the oesophagus (see test_seed_6_is_the_one_described)."""
    return make_phantom(6, size=96, tumor_count=(0, 0), noise=False)


def test_seed_6_is_the_one_described():
    an = _anatomy(6)
    assert an.breast > 0 and an.eso_air[2] > 0


def test_oesophagus_holds_air_behind_the_trachea(phantom):
    an = _anatomy(6)
    g = phantom.tissue
    x = int(round((an.x_med - 6) / phantom.spacing[0] + 47.5))
    y = int(round((an.y_vb + 24) / phantom.spacing[1] + 47.5))
    thorax = (g == Tissue.LUNG).any(axis=(0, 1))
    assert (g[x - 1 : x + 2, y - 1 : y + 2, thorax] == Tissue.GAS).any()


def test_upper_abdomen_has_stomach_with_an_air_fluid_level_and_bowel_gas_in_stool(phantom):
    t = phantom.tissue
    below = ~(t == Tissue.LUNG).any(axis=(0, 1))
    abdomen = t[:, :, below]
    assert (
        (abdomen == Tissue.STOMACH).any()
        and (abdomen == Tissue.GAS).any()
        and (abdomen == Tissue.BOWEL).any()
    )
    # Supine: in every slice the stomach's gas lies in front of (above) its fluid.
    for k in np.flatnonzero(
        ((t == Tissue.STOMACH).any(axis=(0, 1))) & ((t == Tissue.GAS).any(axis=(0, 1)))
    ):
        fluid_y = np.argwhere(t[:, :, k] == Tissue.STOMACH)[:, 1]
        assert fluid_y.min() < np.argwhere(t[:, :, k] == Tissue.GAS)[:, 1].max()


def test_scapulae_lie_behind_the_ribs_and_breasts_in_front_of_the_chest_wall(phantom):
    t = phantom.tissue
    ny = t.shape[1]
    bone = (t == Tissue.BONE_CORTEX) | (t == Tissue.BONE_MARROW)
    lung_rows = (t == Tissue.LUNG).any(axis=(0, 1))
    an = _anatomy(6)
    y_mm = (np.arange(ny) - (ny - 1) / 2) * phantom.spacing[1]
    back = bone[:, y_mm < -(an.b_cav + 9 + 6)][:, :, lung_rows]  # behind the rib cage
    spine = np.abs((np.arange(t.shape[0]) - (t.shape[0] - 1) / 2) * phantom.spacing[0]) < 40
    assert back[
        ~spine & (np.arange(t.shape[0]) < t.shape[0] // 2)
    ].any()  # both sides, beyond the spine
    assert back[~spine & (np.arange(t.shape[0]) > t.shape[0] // 2)].any()
    front_fat = (t[:, -ny // 6 :, lung_rows] == Tissue.FAT).sum()
    no_breast = make_phantom(4, size=96, tumor_count=(0, 0), noise=False)
    assert _anatomy(4).breast == 0
    rows = (no_breast.tissue == Tissue.LUNG).any(axis=(0, 1))
    assert front_fat > (no_breast.tissue[:, -ny // 6 :, rows] == Tissue.FAT).sum()


def test_none_of_it_is_labelled(phantom):
    assert phantom.label.sum() == 0 and not (phantom.tissue == Tissue.TUMOR).any()
