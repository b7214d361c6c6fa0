"""After training: choose the post-processing on the validation scans and store it in best.ckpt.

The validation cases' original scans and labels are found through the manifest (each case
records its source files), predicted whole with the best checkpoint exactly as ``lungnet
predict`` would (no post-processing yet; flips averaged if asked), and the rules of
:func:`lungnet.inference.postprocess.choose_postprocessing` are scored on them. The choice,
the score of every candidate and whether flips were averaged (``tta``) go into the
checkpoint's ``postprocess`` entry, so that ``lungnet predict`` applies them by default.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lungnet.errors import LungNetError
from lungnet.io.atomic import atomic_path

__all__ = ["tune_postprocessing"]

log = logging.getLogger(__name__)


def _sources(manifest: dict[str, Any], cases: Sequence[str]) -> list[tuple[Path, Path]] | None:
    pairs = []
    for case in cases:
        source = manifest["cases"].get(case, {}).get("source") or {}
        image, label = source.get("image"), source.get("label")
        if not image or not label or not Path(image).exists() or not Path(label).exists():
            return None
        pairs.append((Path(image), Path(label)))
    return pairs


def tune_postprocessing(
    checkpoint: str | Path,
    manifest: dict[str, Any],
    val_cases: Sequence[str],
    device: str = "auto",
    tta: bool = False,
) -> dict[str, Any] | None:
    """Choose the post-processing on ``val_cases`` and write it into ``checkpoint``.

    Args:
        checkpoint: the run's best checkpoint (rewritten in place, atomically).
        manifest: the preprocessed folder's manifest (for the cases' source scans).
        val_cases: names of the validation cases.
        device: where the network runs.
        tta: predict with test-time flips averaged (:class:`lungnet.inference.Predictor`),
            and store that choice so that ``lungnet predict`` averages them too.

    Returns:
        The stored ``postprocess`` entry, or None when a validation scan or label is no
        longer where the manifest says or cannot be read (the checkpoint is then left as it
        is, and the run still succeeds: its weights are not at fault).
    """
    from lungnet.inference import Predictor
    from lungnet.inference.postprocess import (
        PostProcessing,
        ValidationCase,
        choose_postprocessing,
    )
    from lungnet.io import read_ct
    from lungnet.lungs import lung_field
    from lungnet.masks import binarize

    pairs = _sources(manifest, val_cases)
    if not pairs:
        log.warning(
            "post-processing not tuned: the validation scans are not where the manifest "
            "says; predict thresholds at 0.5 and keeps every component unless told otherwise"
        )
        return None
    predictor = Predictor(
        checkpoint,
        device=device,
        tta=tta,
        min_tumor_volume_mm3=0,
        lung_constraint=False,
        min_peak_probability=0,
        min_depth_mm=0,
    )
    cases = []
    for image, label in pairs:
        try:
            ct = read_ct(image)
            truth = binarize(read_ct(label).array)
        except LungNetError as e:
            log.warning("post-processing not tuned: %s", e)
            return None
        probabilities = predictor.predict_volume(ct).probabilities.astype(np.float16)
        cases.append(
            ValidationCase(probabilities, truth, lung_field(ct.array, ct.spacing), ct.spacing)
        )
    chosen, rows = choose_postprocessing(cases)
    entry = {
        **chosen.to_dict(),
        "tta": predictor.tta,
        "chosen_on": sorted(val_cases),
        "candidates": rows,
    }
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    ckpt["hyper_parameters"]["postprocess"] = entry
    with atomic_path(Path(checkpoint)) as tmp:
        torch.save(ckpt, tmp)
    best = next(r for r in rows if PostProcessing.from_dict(r) == chosen)
    log.info(
        "post-processing chosen on %d val cases: threshold %g, min tumor volume %g mm3, "
        "min peak probability %g, min depth %g mm, lung constraint %s, flips averaged %s "
        "(lesion F1 %.3f)",
        len(cases),
        chosen.threshold,
        chosen.min_tumor_volume_mm3,
        chosen.min_peak_probability,
        chosen.min_depth_mm,
        "on" if chosen.lung_constraint else "off",
        "yes" if predictor.tta else "no",
        best["lesion_f1"],
    )
    return entry
