"""Post-processing of a predicted probability map, and how it is chosen on the validation cases.

The probabilities are thresholded (0.5 unless validation prefers a lower threshold, which
can find small tumors the network is unsure of), then two rules act on the connected
components:

- a minimum volume: specks smaller than any tumor worth reporting are dropped;
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
    "MIN_VOLUME_CANDIDATES_MM3",
    "THRESHOLD_CANDIDATES",
    "PostProcessing",
    "ValidationCase",
    "choose_postprocessing",
]

#: Minimum tumor volumes tried on validation: none, then a sphere of about 4, 6, 8 and 10 mm.
MIN_VOLUME_CANDIDATES_MM3 = (0.0, 30.0, 100.0, 250.0, 500.0)
#: Probability thresholds tried on validation.
THRESHOLD_CANDIDATES = (0.3, 0.4, THRESHOLD)


@dataclass(frozen=True)
class PostProcessing:
    """What is done to the thresholded prediction before it is written.

    Attributes:
        min_tumor_volume_mm3: drop components smaller than this.
        lung_constraint: drop components that neither overlap nor touch the lung field.
        threshold: a voxel is tumor when its probability is above this.
    """

    min_tumor_volume_mm3: float = 0.0
    lung_constraint: bool = False
    threshold: float = THRESHOLD

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold!r}")
        if not self.min_tumor_volume_mm3 >= 0:
            raise ValueError(
                f"min_tumor_volume_mm3 must be >= 0, got {self.min_tumor_volume_mm3!r}"
            )

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
        )

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
        if not binary.any() or (self.min_tumor_volume_mm3 <= 0 and not self.lung_constraint):
            return binary.astype(np.uint8)
        labels, count = label_components(binary)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:] * float(np.prod(spacing))
        keep = sizes >= self.min_tumor_volume_mm3
        if self.lung_constraint:
            if lungs is None:
                from lungnet.lungs import lung_field

                if hu is None:
                    raise ValueError("the lung constraint needs the scan's HU or its lung field")
                lungs = lung_field(hu, spacing)
            touching = np.zeros(count + 1, bool)
            touching[np.unique(labels[lungs])] = True
            keep &= touching[1:]
        return np.concatenate([[False], keep])[labels].astype(np.uint8)


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


def _score(cases: Sequence[ValidationCase], rule: PostProcessing) -> dict[str, float]:
    from lungnet.evaluation.lesions import match_lesions
    from lungnet.evaluation.metrics import dice_score

    tp = fp = fn = 0
    dice = []
    for case in cases:
        kept = rule.apply(case.prediction, case.spacing, lungs=case.lungs)
        match = match_lesions(kept, case.truth)
        tp, fp, fn = tp + match.lesion_tp, fp + match.lesion_fp, fn + match.lesion_fn
        if case.truth.any():
            dice.append(dice_score(kept > 0, case.truth > 0))
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
) -> tuple[PostProcessing, list[dict[str, Any]]]:
    """The post-processing with the best lesion-wise F1 on the validation cases.

    Lesion F1 (a true tumor counts as found when a kept component overlaps it; every other
    kept component is a false positive) weighs missed tumors and false alarms alike, which
    is what the rules trade. Ties go to the mean Dice over tumor-bearing cases, then to
    the lung constraint (it costs no validation tumor, and real scans hold look-alikes
    below the diaphragm that phantoms may lack), then to the threshold nearest 0.5, then to
    the smaller minimum volume.

    Returns:
        The chosen rule and one row per candidate (its settings and scores), for the record.
    """
    if not cases:
        raise ValueError("choosing post-processing needs at least one validation case")
    rows = []
    for threshold in thresholds:
        for lung in (False, True):
            for minimum in min_volumes_mm3:
                rule = PostProcessing(float(minimum), lung, float(threshold))
                rows.append({**rule.to_dict(), **_score(cases, rule)})

    def rank(row: dict[str, Any]) -> tuple:
        dice = row["dice_tumor_cases"]
        return (
            row["lesion_f1"],
            -1.0 if np.isnan(dice) else round(dice, 6),
            row["lung_constraint"],
            -abs(row["threshold"] - THRESHOLD),
            -row["min_tumor_volume_mm3"],
        )

    best = max(rows, key=rank)
    chosen = PostProcessing(
        best["min_tumor_volume_mm3"], best["lung_constraint"], best["threshold"]
    )
    return chosen, rows
