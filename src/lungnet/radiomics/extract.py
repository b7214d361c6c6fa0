"""IBSI features of every tumor of a mask, computed by MIRP, one tumor at a time.

A tumor is a 26-connected component of the mask, labelled by
:func:`lungnet.evaluation.lesions.label_lesions` and numbered like
:func:`lungnet.evaluation.lesions.measure_lesions` (1 the largest), so the radiomics rows and
the per-tumor table share their ids. Each tumor is cut out of the canonical scan with a
margin (the local-intensity features look 6.2 mm around each voxel, the resampling one voxel
further), handed to MIRP with only its own voxels in the mask (a neighbouring tumor stays
in the image, out of the region) and processed with the settings of
:class:`~lungnet.radiomics.config.RadiomicsConfig`.

A feature MIRP cannot define for a tumor (a texture matrix of a tumor with a single grey
level, a tumor that vanishes at the resampled grid) is NaN in :attr:`TumorRadiomics.features`
and listed in :attr:`TumorRadiomics.undefined`, never silently.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from lungnet.evaluation.lesions import Lesion, label_lesions, measure_lesions
from lungnet.io.volume import CTVolume
from lungnet.masks import binarize
from lungnet.radiomics.catalogue import FeatureInfo, family_of, feature_catalogue
from lungnet.radiomics.config import DEFAULT_CONFIG, RadiomicsConfig

__all__ = ["MARGIN_MM", "ScanRadiomics", "TumorRadiomics", "extract_radiomics"]

log = logging.getLogger(__name__)

#: Context kept around each tumor: the 1 cm^3 local-intensity sphere (radius 6.2 mm) plus
#: room for the interpolation kernel at the resampled grid.
MARGIN_MM = 10.0


@dataclass(frozen=True)
class TumorRadiomics:
    """The features of one tumor.

    Attributes:
        lesion: the tumor's row of the per-tumor table (id, volume, centroid...).
        features: feature column -> value, every column of the catalogue; NaN where undefined.
        problem: why MIRP gave no features at all for this tumor, if it gave none.
    """

    lesion: Lesion
    features: dict[str, float]
    problem: str | None = None

    @property
    def undefined(self) -> list[str]:
        """The feature columns without a value for this tumor."""
        return [k for k, v in self.features.items() if v is None or math.isnan(v)]

    def undefined_summary(self) -> str | None:
        """One line naming the families with undefined features, or None when all are defined."""
        missing = self.undefined
        if not missing:
            return None
        counts: dict[str, int] = {}
        for column in missing:
            counts[family_of(column)] = counts.get(family_of(column), 0) + 1
        families = ", ".join(f"{family} {n}" for family, n in counts.items())
        les = self.lesion
        why = self.problem or "too few voxels or grey levels in the tumor for them"
        voxels = f"{les.voxels} voxel{'' if les.voxels == 1 else 's'}"
        return (
            f"tumor {les.id} ({voxels}, {les.volume_ml:.3f} mL): {len(missing)} of "
            f"{len(self.features)} features undefined ({why}): {families}"
        )


@dataclass
class ScanRadiomics:
    """The features of every tumor of one scan, with the settings that produced them."""

    config: RadiomicsConfig
    catalogue: tuple[FeatureInfo, ...]
    tumors: list[TumorRadiomics] = field(default_factory=list)
    seconds_per_tumor: list[float] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [info.column for info in self.catalogue]


@contextlib.contextmanager
def _quiet_mirp() -> Iterator[list[warnings.WarningMessage]]:
    """Keep MIRP's progress lines off the console and collect its warnings.

    MIRP calls ``logging.basicConfig(level=INFO)`` and logs through the root logger; a
    handler already on the root logger makes that call a no-op, and INFO records are
    dropped while MIRP runs.
    """
    root = logging.getLogger()
    mute_handler = None
    if not root.handlers:
        mute_handler = logging.NullHandler()
        root.addHandler(mute_handler)
    previous = root.manager.disable
    logging.disable(logging.INFO)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        logging.disable(previous)
        if mute_handler is not None:
            root.removeHandler(mute_handler)


def _save(array: np.ndarray, affine: np.ndarray, path: Path) -> str:
    img = nib.Nifti1Image(array, affine)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    nib.save(img, path)
    return str(path)


def _tumor_features(
    ct: CTVolume,
    region: np.ndarray,
    box: tuple[slice, ...],
    config: RadiomicsConfig,
    catalogue: Sequence[FeatureInfo],
    folder: Path,
) -> tuple[dict[str, float], str | None]:
    """Run MIRP on one tumor: ``region`` is its bool mask inside ``box`` of the canonical grid."""
    # ITK's SWIG types warn once more at interpreter exit, after any catch_warnings is gone.
    warnings.filterwarnings("ignore", "builtin type swig", DeprecationWarning)
    from mirp import extract_features

    margin = [math.ceil(MARGIN_MM / s) for s in ct.spacing]
    crop = tuple(
        slice(max(b.start - m, 0), min(b.stop + m, n))
        for b, m, n in zip(box, margin, ct.shape, strict=True)
    )
    roi = np.zeros([c.stop - c.start for c in crop], np.uint8)
    inner = tuple(
        slice(b.start - c.start, b.stop - c.start) for b, c in zip(box, crop, strict=True)
    )
    roi[inner] = region
    affine = ct.affine.copy()
    affine[:3, 3] = ct.affine[:3, :3] @ [c.start for c in crop] + ct.affine[:3, 3]
    image_path = _save(np.ascontiguousarray(ct.array[crop], np.float32), affine, folder / "i.nii")
    mask_path = _save(roi, affine, folder / "m.nii")
    empty = dict.fromkeys((info.column for info in catalogue), math.nan)
    with _quiet_mirp() as caught:
        try:
            tables = extract_features(
                image=image_path,
                mask=mask_path,
                image_modality="CT",
                export_features=True,
                write_features=False,
                **config.mirp_arguments(),
            )
        except Exception as e:  # MIRP's own failure on one region must not stop the others
            return empty, f"MIRP stopped on it: {type(e).__name__}: {e}"
    for w in caught:
        log.debug("MIRP: %s", w.message)
    if not tables:
        where = "at the resampled grid" if config.voxel_size_mm is not None else "in the region"
        return empty, f"no voxel left {where}"
    row = tables[0].iloc[0]
    values = {}
    for column in empty:
        value = row.get(column, math.nan)
        values[column] = float(value) if value is not None else math.nan
    return values, None


def _ordered_components(
    binary: np.ndarray,
) -> tuple[np.ndarray, list[tuple[int, tuple[slice, ...]]]]:
    """Labels, and ``(label, box)`` per tumor in :func:`measure_lesions`'s order (largest first)."""
    labels, count = label_lesions(binary)
    boxes = ndimage.find_objects(labels, max_label=count)
    sizes = [int(np.count_nonzero(labels[b] == k)) for k, b in enumerate(boxes, start=1)]
    # the same stable order by decreasing size as measure_lesions
    order = sorted(range(count), key=lambda i: -sizes[i])
    return labels, [(i + 1, boxes[i]) for i in order]


def extract_radiomics(
    ct: CTVolume, mask: np.ndarray, config: RadiomicsConfig = DEFAULT_CONFIG
) -> ScanRadiomics:
    """Compute the IBSI features of every tumor of ``mask`` on ``ct``.

    Args:
        ct: the scan (canonical RAS, HU).
        mask: ``(X, Y, Z)`` mask on ``ct``'s canonical grid (tumor as
            :func:`lungnet.masks.binarize` says).
        config: the settings; the default is :data:`~lungnet.radiomics.config.DEFAULT_CONFIG`.

    Returns:
        One :class:`TumorRadiomics` per tumor, in the ids and order of the per-tumor table;
        none for an empty mask.

    Raises:
        ValueError: the mask's shape differs from the scan's.
    """
    if tuple(np.shape(mask)) != ct.shape:
        raise ValueError(f"mask shape {tuple(np.shape(mask))} differs from the scan's {ct.shape}")
    binary = binarize(mask)
    result = ScanRadiomics(config=config, catalogue=feature_catalogue(config))
    lesions = measure_lesions(binary, ct)
    if not lesions:
        return result
    labels, components = _ordered_components(binary)
    with tempfile.TemporaryDirectory(prefix="lungnet-radiomics-") as tmp:
        for lesion, (label, box) in zip(lesions, components, strict=True):
            region = labels[box] == label
            if int(region.sum()) != lesion.voxels:  # the two numberings must agree
                raise RuntimeError(f"tumor {lesion.id}: labelling differs from measure_lesions")
            start = time.perf_counter()
            values, problem = _tumor_features(ct, region, box, config, result.catalogue, Path(tmp))
            result.seconds_per_tumor.append(time.perf_counter() - start)
            result.tumors.append(TumorRadiomics(lesion, values, problem))
    return result
