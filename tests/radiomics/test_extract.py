"""Per-tumor extraction: the tumors of the tumor table, each alone, and undefined features named."""

from __future__ import annotations

import math

import numpy as np
import pytest
from radiomics_scans import write_scan

from lungnet.evaluation.lesions import measure_lesions
from lungnet.radiomics import extract_radiomics


def test_tumors_have_the_ids_and_order_of_the_tumor_table(chest, chest_features):
    assert [t.lesion for t in chest_features.tumors] == measure_lesions(chest.mask, chest.ct)
    assert [t.lesion.voxels for t in chest_features.tumors] == [257, 33, 1]


def test_each_tumor_is_measured_alone(chest_features):
    # 1 mm voxels and a 1 mm grid: the voxel-count volume is the tumor's own voxel count
    volumes = [t.features["morph_vol_approx"] for t in chest_features.tumors[:2]]
    assert volumes == [257.0, 33.0]
    assert chest_features.tumors[0].features["stat_mean"] > -200  # soft tissue, not lung


def test_a_tumor_too_small_for_features_says_which_are_undefined(chest_features):
    single = chest_features.tumors[2]
    assert single.undefined and all(math.isnan(single.features[c]) for c in single.undefined)
    line = single.undefined_summary()
    assert line.startswith("tumor 3 (1 voxel, 0.001 mL):")
    assert f"{len(single.undefined)} of 163 features undefined" in line and "GLCM" in line
    assert chest_features.tumors[0].undefined_summary() is None


def test_same_tumor_same_features_in_ras_and_lps_files(tmp_path, chest_features):
    lps = write_scan(tmp_path, lps=True)
    assert "".join(lps.ct.geometry.axcodes) == "LPS"
    result = extract_radiomics(lps.ct, lps.mask)
    for ras_tumor, lps_tumor in zip(chest_features.tumors[:2], result.tumors[:2], strict=True):
        assert ras_tumor.lesion == lps_tumor.lesion
        ras = np.array(list(ras_tumor.features.values()))
        np.testing.assert_allclose(list(lps_tumor.features.values()), ras, rtol=1e-9)
        assert list(lps_tumor.features) == list(ras_tumor.features)


def test_empty_mask_has_no_tumor_and_runs_nothing(chest):
    result = extract_radiomics(chest.ct, np.zeros(chest.ct.shape, np.uint8))
    assert result.tumors == [] and len(result.columns) == 163


def test_mask_of_another_shape_is_refused(chest):
    with pytest.raises(ValueError, match="differs from the scan's"):
        extract_radiomics(chest.ct, chest.mask[:-1])
