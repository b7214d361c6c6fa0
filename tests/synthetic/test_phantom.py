"""make_phantom: tissue HU, exact labels, tumor ranges, determinism, geometry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from lungnet.synthetic import TISSUE_HU, TUMOR_KINDS, TUMOR_POSITIONS, Tissue, make_phantom


def test_every_tissue_stays_within_its_documented_hu_range(clean_phantom):
    p = clean_phantom
    present = np.unique(p.tissue)
    for code in present:
        lo, hi = TISSUE_HU[Tissue(code)]
        values = p.hu[p.tissue == code]
        assert values.min() >= lo - 1e-3 and values.max() <= hi + 1e-3, (
            Tissue(code).name,
            values.min(),
            values.max(),
        )
    for needed in (
        Tissue.LUNG,
        Tissue.FAT,
        Tissue.MUSCLE,
        Tissue.BONE_CORTEX,
        Tissue.BONE_MARROW,
        Tissue.BLOOD,
        Tissue.VESSEL,
        Tissue.AIRWAY_LUMEN,
        Tissue.LIVER,
        Tissue.TUMOR,
    ):
        assert needed in present, Tissue(needed).name


def test_bone_is_400_to_1500_hu_and_lung_about_minus_850(clean_phantom):
    p = clean_phantom
    bone = p.hu[(p.tissue == Tissue.BONE_CORTEX) | (p.tissue == Tissue.BONE_MARROW)]
    assert bone.min() >= 400 and bone.max() <= 1500
    assert -900 < np.median(p.hu[p.tissue == Tissue.LUNG]) < -800


def test_label_is_exactly_the_tumor_voxels(clean_phantom):
    p = clean_phantom
    assert p.label.dtype == np.uint8 and set(np.unique(p.label)) <= {0, 1}
    np.testing.assert_array_equal(p.label == 1, p.tissue == Tissue.TUMOR)
    assert p.label.sum() == sum(t.voxels for t in p.tumors) > 0
    for t in p.tumors:
        assert t.kind in TUMOR_KINDS and t.position in TUMOR_POSITIONS


def test_each_tumor_lies_within_its_lobulated_sphere(clean_phantom):
    p = clean_phantom
    spacing = np.asarray(p.spacing)
    idx = np.argwhere(p.label == 1)
    owner = np.full(len(idx), -1)
    for n, t in enumerate(p.tumors):
        dist = np.linalg.norm((idx - np.asarray(t.center_voxel)) * spacing, axis=1)
        # lobulation and spicules stay within 2.2 radii; one voxel for rasterisation
        owner[dist <= t.diameter_mm / 2 * 2.2 + 2 * spacing.max()] = n
    assert (owner >= 0).all()


def test_tumor_count_and_sizes_follow_the_requested_ranges():
    for seed in range(2):
        p = make_phantom(
            seed, size=48, slices=32, tumor_diameter_mm=(10, 14), tumor_count=(2, 3), noise=False
        )
        assert 2 <= len(p.tumors) <= 3
        for t in p.tumors:
            assert 10 <= t.diameter_mm <= 14
            assert t.equivalent_diameter_mm <= 14 * 1.4 + 2 * max(p.spacing)  # a voxel either side
            assert t.kind in TUMOR_KINDS
    none = make_phantom(4, size=48, slices=16, tumor_count=(0, 0), noise=False)
    assert none.tumors == [] and none.label.sum() == 0


def test_pleural_tumors_touch_the_wall_and_juxtavascular_ones_a_vessel():
    seen = set()
    for seed in range(8):
        if len(seen) == 2:
            break
        p = make_phantom(
            seed, size=64, slices=64, tumor_diameter_mm=(12, 30), tumor_count=(4, 4), noise=False
        )
        components, _ = ndi.label(p.label)
        for t in p.tumors:
            comp = components[tuple(t.center_voxel)]
            if comp == 0:
                continue
            ring = ndi.binary_dilation(components == comp) & (components != comp)
            around = set(np.unique(p.tissue[ring]).tolist())
            if t.position == "pleural" and around - {
                Tissue.LUNG,
                Tissue.VESSEL,
                Tissue.AIRWAY_WALL,
                Tissue.AIRWAY_LUMEN,
            }:
                seen.add("pleural")
            if t.position == "juxtavascular" and Tissue.VESSEL in around:
                seen.add("juxtavascular")
    assert seen == {"pleural", "juxtavascular"}


def test_noise_keeps_each_tissue_median_in_range(clean_phantom, noisy_phantom):
    assert noisy_phantom.noise_hu > 0 and clean_phantom.noise_hu == 0
    for code in (Tissue.LUNG, Tissue.FAT, Tissue.MUSCLE, Tissue.LIVER):
        lo, hi = TISSUE_HU[code]
        median = np.median(noisy_phantom.hu[noisy_phantom.tissue == code])
        assert lo <= median <= hi, (code.name, median)
    residual = noisy_phantom.hu - clean_phantom.hu
    assert (
        0.6 * noisy_phantom.noise_hu
        < residual[clean_phantom.tissue == Tissue.LIVER].std()
        < 1.6 * noisy_phantom.noise_hu
    )


def test_same_seed_gives_the_same_phantom_and_another_seed_another():
    a = make_phantom(7, size=48, slices=24)
    b = make_phantom(7, size=48, slices=24)
    c = make_phantom(8, size=48, slices=24)
    assert a.hu.tobytes() == b.hu.tobytes() and a.label.tobytes() == b.label.tobytes()
    assert a.hu.tobytes() != c.hu.tobytes()


def test_small_size_covers_the_same_field_of_view_and_slices_vary_by_seed():
    small = make_phantom(3, size=64, slices=16, noise=False)
    large = make_phantom(3, size=128, slices=16, noise=False)
    assert small.hu.shape[:2] == (64, 64) and large.hu.shape[:2] == (128, 128)
    assert small.spacing[0] * 64 == pytest.approx(large.spacing[0] * 128)
    assert 300 < large.spacing[0] * 128 < 420
    counts = {
        make_phantom(s, size=32, noise=False, tumor_count=(0, 0)).hu.shape[2] for s in range(3)
    }
    assert len(counts) > 1
    free = make_phantom(3, size=32, noise=False, tumor_count=(0, 0))
    fixed = make_phantom(3, size=32, slices=12, noise=False, tumor_count=(0, 0))
    assert free.spacing[2] * free.hu.shape[2] == pytest.approx(
        fixed.spacing[2] * 12
    )  # same patient height


def test_lowest_30_slices_are_abdomen_without_lung_at_demo_size():
    p = make_phantom(5, size=128, noise=False, tumor_count=(0, 0))
    assert 90 <= p.hu.shape[2] <= 200
    assert not (p.tissue[:, :, :30] == Tissue.LUNG).any()
    assert (p.tissue[:, :, :30] == Tissue.LIVER).any()
    assert (p.tissue == Tissue.LUNG).any(axis=(0, 1)).sum() > p.hu.shape[2] // 2


def test_affine_is_canonical_ras_with_the_spacing(clean_phantom):
    p = clean_phantom
    np.testing.assert_allclose(np.diag(p.affine)[:3], p.spacing)
    assert np.count_nonzero(p.affine[:3, :3] - np.diag(np.diag(p.affine[:3, :3]))) == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 16}, "size"),
        ({"slices": 3}, "slices"),
        ({"tumor_diameter_mm": (20, 5)}, "tumor_diameter_mm"),
        ({"tumor_count": (3, 1)}, "tumor_count"),
    ],
)
def test_out_of_range_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_phantom(0, **kwargs)


def test_negative_seed_is_refused():
    with pytest.raises(ValueError, match="seed"):
        make_phantom(-1)
