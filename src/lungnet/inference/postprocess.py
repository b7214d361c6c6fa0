"""Post-processing of a predicted probability map, and how it is chosen on the validation cases.

The probabilities are thresholded (0.5 unless validation prefers a lower threshold, which
can find small tumors the network is unsure of), then four rules act on the connected
components:

- a minimum volume: specks smaller than any tumor worth reporting are dropped;
- a minimum peak probability: a component is kept only where the network is sure of it
  somewhere (hysteresis, as in Canny edges: the outline comes from the threshold, the
  decision from the peak), so a small tumor the network is sure of survives while the
  faint specks that a minimum volume would otherwise have to remove do not;
- a minimum depth: a component must reach across this many mm of slices. A slice model's
  false alarms are mostly flat, one or two slices deep (a vessel seen end-on, a rib's
  cortex, the edge of an effusion), while a tumor is about as deep as it is wide, so a
  depth rule removes them where a volume rule would also remove small tumors;
- a lung-field constraint: a component must overlap or touch the lungs found from the
  scan's own HU (:func:`lungnet.lungs.lung_field`), so that gas in the
  bowel or the stomach, which a slice model can take for a cavitating mass, is dropped
  while a tumor against the chest wall survives.

Which rules help depends on the model, so training chooses them on its validation cases
(:func:`choose_postprocessing`, as nnU-Net chooses its post-processing on
cross-validation) and stores the choice in the checkpoint; ``lungnet predict`` applies it by
default, so a prediction reproduces the benchmark without extra flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lungnet.masks import THRESHOLD, binarize, label_components

__all__ = [
    "Components",
    "MIN_DEPTH_CANDIDATES_MM",
    "MIN_PEAK_CANDIDATES",
    "MIN_VOLUME_CANDIDATES_MM3",
    "THRESHOLD_CANDIDATES",
    "PostProcessing",
    "ValidationCase",
    "choose_postprocessing",
]

#: Minimum tumor volumes tried on validation: none, then a sphere of about 4, 6, 8 and 10 mm.
MIN_VOLUME_CANDIDATES_MM3 = (0.0, 30.0, 100.0, 250.0, 500.0)
#: Minimum peak probabilities tried on validation: none, then a component must reach these.
MIN_PEAK_CANDIDATES = (0.0, 0.7, 0.9)
#: Minimum depths across slices tried on validation: none, then about a 5 and an 8 mm tumor.
MIN_DEPTH_CANDIDATES_MM = (0.0, 5.0, 8.0)
#: Probability thresholds tried on validation.
THRESHOLD_CANDIDATES = (0.3, 0.4, THRESHOLD)


@dataclass(frozen=True)
class PostProcessing:
    """What is done to the thresholded prediction before it is written.

    Attributes:
        min_tumor_volume_mm3: drop components smaller than this.
        lung_constraint: drop components that neither overlap nor touch the lung field.
        threshold: a voxel is tumor when its probability is above this.
        min_peak_probability: drop components whose highest probability is below this.
        min_depth_mm: drop components whose extent across the slices (the canonical third
            axis, along which a slice model sees the scan) is below this.
    """

    min_tumor_volume_mm3: float = 0.0
    lung_constraint: bool = False
    threshold: float = THRESHOLD
    min_peak_probability: float = 0.0
    min_depth_mm: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold!r}")
        if not self.min_tumor_volume_mm3 >= 0:
            raise ValueError(
                f"min_tumor_volume_mm3 must be >= 0, got {self.min_tumor_volume_mm3!r}"
            )
        if not 0.0 <= self.min_peak_probability <= 1.0:
            raise ValueError(
                f"min_peak_probability must be in [0, 1], got {self.min_peak_probability!r}"
            )
        if not self.min_depth_mm >= 0:
            raise ValueError(f"min_depth_mm must be >= 0, got {self.min_depth_mm!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> PostProcessing:
        """From a checkpoint's ``postprocess`` entry; a checkpoint without one gets none."""
        if not values:
            return cls()
        return cls(
            min_tumor_volume_mm3=float(values.get("min_tumor_volume_mm3", 0.0)),
            lung_constraint=bool(values.get("lung_constraint", False)),
            threshold=float(values.get("threshold", THRESHOLD)),
            min_peak_probability=float(values.get("min_peak_probability", 0.0)),
            min_depth_mm=float(values.get("min_depth_mm", 0.0)),
        )

    @property
    def drops_components(self) -> bool:
        return (
            self.min_tumor_volume_mm3 > 0
            or self.lung_constraint
            or self.min_peak_probability > self.threshold
            or self.min_depth_mm > 0
        )

    def keeps(self, components: Components) -> np.ndarray:
        """bool per component: does it survive the rules?"""
        keep = components.volume_mm3 >= self.min_tumor_volume_mm3
        if self.lung_constraint:
            keep &= components.touches_lungs
        if self.min_peak_probability > self.threshold:
            keep &= components.peak >= self.min_peak_probability
        if self.min_depth_mm > 0:
            keep &= components.depth_mm >= self.min_depth_mm
        return keep

    def apply(
        self,
        mask: np.ndarray,
        spacing: tuple[float, float, float],
        *,
        hu: np.ndarray | None = None,
        lungs: np.ndarray | None = None,
    ) -> np.ndarray:
        """uint8 mask: the thresholded prediction without the dropped components.

        Args:
            mask: the probabilities (or a mask), ``(X, Y, Z)``.
            spacing: voxel size in mm.
            hu: the scan in HU on the same grid, to find the lungs (``lung_constraint`` only).
            lungs: the scan's lung field if already found; then ``hu`` is not needed.
        """
        binary = binarize(mask, self.threshold)
        if not binary.any() or not self.drops_components:
            return binary.astype(np.uint8)
        if self.lung_constraint and lungs is None:
            from lungnet.lungs import lung_field

            if hu is None:
                raise ValueError("the lung constraint needs the scan's HU or its lung field")
            lungs = lung_field(hu, spacing)
        labels, count = label_components(binary)
        components = Components.measure(
            mask,
            labels,
            count,
            spacing,
            lungs=lungs if self.lung_constraint else None,
            peaks=self.min_peak_probability > self.threshold,
            depths=self.min_depth_mm > 0,
        )
        return np.concatenate([[False], self.keeps(components)])[labels].astype(np.uint8)


@dataclass(frozen=True)
class Components:
    """What the rules read of each connected component of a thresholded prediction.

    Attributes:
        volume_mm3: volume of each component.
        peak: its highest probability (NaN when not measured).
        touches_lungs: whether it overlaps or touches the lung field (False when not measured).
        depth_mm: its extent across the slices: slices spanned times their spacing (NaN
            when not measured).
    """

    volume_mm3: np.ndarray
    peak: np.ndarray
    touches_lungs: np.ndarray
    depth_mm: np.ndarray

    @classmethod
    def measure(
        cls,
        probabilities: np.ndarray,
        labels: np.ndarray,
        count: int,
        spacing: tuple[float, float, float],
        *,
        lungs: np.ndarray | None = None,
        peaks: bool = True,
        depths: bool = True,
    ) -> Components:
        """Components ``1..count`` of ``labels``; the lungs, peaks and depths when asked for.

        Each costs a pass over the scan, so :meth:`PostProcessing.apply` asks only for what
        its rules read.
        """
        from scipy import ndimage

        voxels = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        touching = np.zeros(count + 1, bool)
        if lungs is not None:
            touching[np.unique(labels[lungs])] = True
        peak = np.full(count, np.nan)
        if peaks and count:
            peak = np.asarray(
                ndimage.maximum(probabilities, labels, np.arange(1, count + 1)), float
            )
        depth = np.full(count, np.nan)
        if depths and count:
            boxes = ndimage.find_objects(labels, max_label=count)
            depth = np.array([(box[2].stop - box[2].start) * spacing[2] for box in boxes], float)
        return cls(voxels * float(np.prod(spacing)), peak, touching[1:], depth)


@dataclass(frozen=True)
class ValidationCase:
    """One validation scan as the choice needs it: probabilities, truth, lungs.

    Probabilities may be float16: the choice needs them to about 0.001, and a Task06-sized
    validation set (13 scans of 512 x 512 x 250) then holds about 1.7 GB instead of 3.4.
    """

    prediction: np.ndarray
    truth: np.ndarray
    lungs: np.ndarray  # lung_field() of the scan
    spacing: tuple[float, float, float]


@dataclass(frozen=True)
class _ThresholdedCase:
    """One validation case thresholded once, with what every rule's score needs.

    Each rule keeps or drops whole components, so the kept mask's lesion matches and Dice
    follow from per-component counts: the case is labelled once per threshold instead of
    once per candidate.
    """

    components: Components
    overlap_voxels: np.ndarray  # voxels each component shares with the truth
    voxels: np.ndarray  # voxels of each component
    pairs: tuple[np.ndarray, np.ndarray]  # (component, true lesion) index pairs that overlap
    lesions: int  # true lesions
    truth_voxels: int

    @classmethod
    def of(cls, case: ValidationCase, threshold: float) -> _ThresholdedCase:
        from lungnet.evaluation.lesions import label_lesions

        binary = binarize(case.prediction, threshold)
        labels, count = label_components(binary)
        truth = binarize(case.truth)
        truth_labels, lesions = label_lesions(truth)
        components = Components.measure(
            case.prediction, labels, count, case.spacing, lungs=case.lungs
        )
        voxels = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        overlap_voxels = np.bincount(labels[truth].ravel(), minlength=count + 1)[1:]
        both = (labels > 0) & (truth_labels > 0)
        pairs = np.unique(np.stack([labels[both], truth_labels[both]]), axis=1)
        return cls(
            components,
            overlap_voxels,
            voxels,
            (pairs[0] - 1, pairs[1] - 1),
            int(lesions),
            int(np.count_nonzero(truth)),
        )

    def score(self, rule: PostProcessing) -> tuple[int, int, int, float | None]:
        """``(lesion tp, fp, fn, Dice)`` of the rule's kept mask; Dice None without tumor."""
        kept = rule.keeps(self.components)
        found = np.unique(self.pairs[1][kept[self.pairs[0]]]).size
        false = int(np.count_nonzero(kept & (self.overlap_voxels == 0)))
        dice = None
        if self.truth_voxels:
            total = int(self.voxels[kept].sum()) + self.truth_voxels
            dice = 2.0 * int(self.overlap_voxels[kept].sum()) / total
        return found, false, self.lesions - found, dice


def _score(cases: Sequence[_ThresholdedCase], rule: PostProcessing) -> dict[str, float]:
    tp = fp = fn = 0
    dice = []
    for case in cases:
        found, false, missed, case_dice = case.score(rule)
        tp, fp, fn = tp + found, fp + false, fn + missed
        if case_dice is not None:
            dice.append(case_dice)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return {
        "lesion_f1": f1,
        "dice_tumor_cases": float(np.mean(dice)) if dice else float("nan"),
        "lesion_tp": tp,
        "lesion_fp": fp,
        "lesion_fn": fn,
    }


def choose_postprocessing(
    cases: Sequence[ValidationCase],
    min_volumes_mm3: Sequence[float] = MIN_VOLUME_CANDIDATES_MM3,
    thresholds: Sequence[float] = THRESHOLD_CANDIDATES,
    min_peaks: Sequence[float] = MIN_PEAK_CANDIDATES,
    min_depths_mm: Sequence[float] = MIN_DEPTH_CANDIDATES_MM,
) -> tuple[PostProcessing, list[dict[str, Any]]]:
    """The post-processing with the best lesion-wise F1 on the validation cases.

    Lesion F1 (a true tumor counts as found when a kept component overlaps it; every other
    kept component is a false positive) weighs missed tumors and false alarms alike, which
    is what the rules trade. Ties go to the mean Dice over tumor-bearing cases, then to
    the lung constraint (it costs no validation tumor, and real scans hold look-alikes
    below the diaphragm that phantoms may lack), then to the threshold nearest 0.5, then to
    the smaller minimum volume (it is the rule that loses small tumors), then to the
    smaller minimum peak, then to the smaller minimum depth.

    Returns:
        The chosen rule and one row per candidate (its settings and scores), for the record.
    """
    if not cases:
        raise ValueError("choosing post-processing needs at least one validation case")
    rows = []
    for threshold in thresholds:
        thresholded = [_ThresholdedCase.of(case, float(threshold)) for case in cases]
        for lung in (False, True):
            for minimum in min_volumes_mm3:
                for peak in min_peaks:
                    for depth in min_depths_mm:
                        rule = PostProcessing(
                            float(minimum), lung, float(threshold), float(peak), float(depth)
                        )
                        rows.append({**rule.to_dict(), **_score(thresholded, rule)})

    def rank(row: dict[str, Any]) -> tuple:
        dice = row["dice_tumor_cases"]
        return (
            row["lesion_f1"],
            -1.0 if np.isnan(dice) else round(dice, 6),
            row["lung_constraint"],
            -abs(row["threshold"] - THRESHOLD),
            -row["min_tumor_volume_mm3"],
            -row["min_peak_probability"],
            -row["min_depth_mm"],
        )

    best = max(rows, key=rank)
    return PostProcessing.from_dict(best), rows
