"""Tumors: the cohort-like default distribution, every kind as a radiologist would draw it."""

from __future__ import annotations

import numpy as np
import pytest

from lungnet.masks import label_components
from lungnet.synthetic import TUMOR_KINDS, Tissue, TumorSpec, make_phantom, sample_tumor_specs


@pytest.fixture(scope="module")
def cohort() -> list[list[TumorSpec]]:
    rng = np.random.default_rng(0)
    return [sample_tumor_specs(rng) for _ in range(2000)]


def test_default_sizes_span_5_to_over_90_mm_weighted_like_a_cancer_cohort(cohort):
    d = np.array([s.diameter_mm for patient in cohort for s in patient])
    assert d.min() >= 5 and d.max() >= 90
    assert 0.5 < np.mean((d >= 15) & (d <= 50)) < 0.8  # most are 15-50 mm
    assert 0.08 < np.mean(d > 60) < 0.25  # a real tail of masses
    assert 0.02 < np.mean(d < 10) < 0.12  # some small nodules


def test_default_counts_are_0_to_4_with_one_patient_in_five_tumor_free(cohort):
    counts = np.array([len(p) for p in cohort])
    assert set(counts.tolist()) == {0, 1, 2, 3, 4}
    assert 0.16 < np.mean(counts == 0) < 0.24


def test_every_kind_position_and_neighbour_occurs_and_only_where_it_fits(cohort):
    specs = [s for patient in cohort for s in patient]
    assert {s.kind for s in specs} == set(TUMOR_KINDS) - {"library"}
    assert {s.position for s in specs} == {"isolated", "pleural", "mediastinal", "juxtavascular"}
    assert (
        any(s.invades for s in specs)
        and any(s.atelectasis for s in specs)
        and any(s.effusion for s in specs)
    )
    assert all(s.diameter_mm <= 30 for s in specs if s.kind == "ground_glass")
    assert all(s.diameter_mm >= 25 for s in specs if s.kind == "necrotic")
    assert all(s.position in ("pleural", "mediastinal") for s in specs if s.invades)


def test_narrowing_options_keep_their_ranges():
    rng = np.random.default_rng(1)
    for _ in range(200):
        specs = sample_tumor_specs(rng, count=(2, 3), diameter_mm=(10, 14))
        assert 2 <= len(specs) <= 3
        assert all(10 <= s.diameter_mm <= 14 for s in specs)


def _one(kind: str, diameter: float, position: str = "isolated", seed: int = 3, **flags):
    p = make_phantom(
        seed, size=96, tumor_specs=[TumorSpec(diameter, kind, position, **flags)], noise=False
    )
    assert len(p.tumors) == 1, kind
    return p


def test_solid_tumors_are_soft_tissue_with_texture():
    p = _one("solid", 30)
    hu = p.hu[p.label == 1]
    assert -10 <= hu.min() and hu.max() <= 100 and hu.std() > 3


@pytest.mark.parametrize("kind", ["ground_glass", "part_solid"])
def test_ground_glass_is_minus_700_to_minus_300_and_part_solid_has_a_solid_core(kind):
    p = _one(kind, 24)
    hu = p.hu[p.label == 1]
    assert -760 <= np.median(hu) <= -250 or kind == "part_solid"
    assert np.mean((hu > -760) & (hu < -240)) > 0.3
    if kind == "part_solid":
        assert np.mean(hu > -10) > 0.02


def test_necrotic_core_and_cavity_are_inside_the_label():
    necrotic = _one("necrotic", 60, seed=5)
    t = necrotic.tumors[0]
    core = necrotic.hu[t.center_voxel]
    assert necrotic.label[t.center_voxel] == 1 and core < 20
    cavitary = _one("cavitary", 40)
    hu = cavitary.hu[cavitary.label == 1]
    assert (hu < -900).any() and (hu > -10).any()  # air inside, soft-tissue wall, one label


def test_an_invading_mass_crosses_into_the_chest_wall_and_stays_one_label():
    p = _one("solid", 60, position="pleural", seed=4, invades=True)
    assert p.tumors[0].invades
    wall = (p.tissue == Tissue.TUMOR) & (p.label == 1)
    assert wall.sum() == p.label.sum()
    clean = make_phantom(4, size=96, tumor_count=(0, 0), noise=False)
    taken = np.unique(clean.tissue[p.label == 1])
    assert set(taken.tolist()) & {Tissue.FAT, Tissue.MUSCLE}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_spiculated_tumor_on_a_coarse_grid_is_one_labelled_piece_with_nothing_painted_apart(
    seed,
):
    # At 96 px (~3.5 mm voxels) strands thinner than a voxel break into islands; an island
    # would be a lesion of its own that nobody could find.
    p = _one("spiculated", 25, seed=seed)
    _, pieces = label_components(p.label)
    assert pieces == 1
    assert ((p.tissue == Tissue.TUMOR) == (p.label == 1)).all()


def test_atelectasis_and_effusion_are_drawn_but_not_labelled():
    p = _one("solid", 45, position="mediastinal", seed=6, atelectasis=True, effusion=True)
    collapse, fluid = p.tissue == Tissue.ATELECTASIS, p.tissue == Tissue.EFFUSION
    assert collapse.sum() > 20 and fluid.sum() > 20
    assert not p.label[collapse | fluid].any()
    assert 0 <= np.median(p.hu[collapse]) <= 120 and 0 <= np.median(p.hu[fluid]) <= 20
