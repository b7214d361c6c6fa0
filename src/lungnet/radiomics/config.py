"""The radiomics settings: one documented default, stated in every output, overridable from JSON.

The default follows the image processing of configuration C of the IBSI 1 reference manual
for chest CT (3D, trilinear interpolation of image and mask with a 0.5 partial-volume
threshold, re-segmentation to [-1000, 400] HU, fixed bin width of 25 HU, texture matrices
merged over the whole volume), at a 1 mm isotropic grid instead of 2 mm so that lung
nodules of a few millimetres keep enough voxels for texture features.

The override file is JSON because the standard library reads it on every Python LungNet
supports, and because the ``settings`` block of any radiomics JSON LungNet writes is itself
a valid override file: a study can rerun exactly the settings of an earlier output.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lungnet.errors import LungNetInputError

__all__ = ["AGGREGATION", "DEFAULT_CONFIG", "FEATURE_FAMILIES", "RadiomicsConfig", "load_config"]

#: The IBSI feature families computed, in MIRP's spelling.
FEATURE_FAMILIES = (
    "morphology",
    "local_intensity",
    "statistics",
    "intensity_histogram",
    "glcm",
    "glrlm",
    "glszm",
    "gldzm",
    "ngtdm",
    "ngldm",
)
#: How texture matrices are aggregated: one matrix over the whole 3D volume (IBSI "3D:mrg"
#: for GLCM and GLRLM, "3D" for the zone and neighbourhood matrices).
AGGREGATION = "3d_volume_merge"


@dataclass(frozen=True)
class RadiomicsConfig:
    """How intensities and the mask are prepared before the IBSI features are computed.

    Attributes:
        voxel_size_mm: isotropic voxel size the scan and mask are resampled to; None keeps
            the scan's own grid (the IBSI digital phantom's setting).
        bin_width_hu: fixed bin width in HU for the histogram and texture features; None
            uses the intensities as they are (only meaningful for integer-valued images).
        hu_range: re-segmentation range ``(low, high)`` in HU: mask voxels outside it are
            left out of intensity and texture features; None keeps every mask voxel.
        mask_threshold: partial-volume fraction above which a resampled mask voxel counts.
    """

    voxel_size_mm: float | None = 1.0
    bin_width_hu: float | None = 25.0
    hu_range: tuple[float, float] | None = (-1000.0, 400.0)
    mask_threshold: float = 0.5

    def settings(self) -> dict:
        """The settings as stated in every output (and accepted back by :func:`load_config`)."""
        d = asdict(self)
        d["hu_range"] = None if self.hu_range is None else list(self.hu_range)
        return d

    def description(self) -> dict:
        """Human-readable statement of every processing step, for the JSON outputs."""
        if self.voxel_size_mm is None:
            resampling = "none (the scan's own grid)"
        else:
            resampling = (
                f"isotropic {self.voxel_size_mm:g} mm, trilinear for the image, trilinear "
                f"with a {self.mask_threshold:g} partial-volume threshold for the mask, "
                "grid centres aligned; intensities rounded to whole HU"
            )
        return {
            "resampling": resampling,
            "discretisation": "none"
            if self.bin_width_hu is None
            else f"fixed bin width {self.bin_width_hu:g} HU",
            "resegmentation": "none"
            if self.hu_range is None
            else f"{self.hu_range[0]:g} to {self.hu_range[1]:g} HU",
            "aggregation": "3D: one matrix merged over all 13 directions of the volume "
            "(GLCM, GLRLM); 3D zones and neighbourhoods (GLSZM, GLDZM, NGTDM, NGLDM)",
            "glcm_distance_voxels": 1,
            "ngldm_distance_voxels": 1,
            "ngldm_coarseness": 0,
            "families": list(FEATURE_FAMILIES),
            "ibsi_compliant_only": True,
        }

    def mirp_arguments(self) -> dict:
        """Keyword arguments of :func:`mirp.extract_features` for this configuration."""
        args: dict = {
            "by_slice": False,
            "ibsi_compliant": True,
            "base_feature_families": list(FEATURE_FAMILIES),
            "glcm_spatial_method": AGGREGATION,
            "glrlm_spatial_method": AGGREGATION,
            "glszm_spatial_method": "3d",
            "gldzm_spatial_method": "3d",
            "ngtdm_spatial_method": "3d",
            "ngldm_spatial_method": "3d",
            "glcm_distance": 1.0,
            "ngldm_distance": 1.0,
            "ngldm_difference_level": 0.0,
        }
        if self.bin_width_hu is None:
            args["base_discretisation_method"] = "none"
        else:
            args["base_discretisation_method"] = "fixed_bin_size"
            args["base_discretisation_bin_width"] = float(self.bin_width_hu)
        if self.voxel_size_mm is not None:
            args.update(
                new_spacing=float(self.voxel_size_mm),
                spline_order=1,
                anti_aliasing=False,
                roi_spline_order=1,
                roi_interpolation_mask_inclusion_threshold=float(self.mask_threshold),
            )
        if self.hu_range is not None:
            args["resegmentation_intensity_range"] = [float(v) for v in self.hu_range]
        return args


DEFAULT_CONFIG = RadiomicsConfig()


def _positive_or_none(path: Path, key: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise LungNetInputError(path, f"{key} must be a positive number or null, not {value!r}")
    if not math.isfinite(value):
        raise LungNetInputError(path, f"{key} must be finite, not {value!r}")
    return float(value)


def _hu_range(path: Path, value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and math.isfinite(value[0])
        and math.isfinite(value[1])
        and value[0] < value[1]
    )
    if not ok:
        raise LungNetInputError(
            path, f"hu_range must be [low, high] with low < high, not {value!r}"
        )
    return float(value[0]), float(value[1])


def load_config(path: str | Path, base: RadiomicsConfig = DEFAULT_CONFIG) -> RadiomicsConfig:
    """Read a JSON override file; keys it leaves out keep ``base``'s values.

    Example file: ``{"voxel_size_mm": 2.0, "bin_width_hu": 25, "hu_range": [-1000, 400]}``.

    Raises:
        LungNetInputError: the file is missing, not JSON, or holds an unknown key or a bad value.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LungNetInputError(path, "radiomics settings file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LungNetInputError(path, f"is not a readable JSON file ({e})") from None
    if isinstance(doc, dict) and isinstance(doc.get("settings"), dict):
        doc = doc["settings"]  # a radiomics JSON written by LungNet: reuse its settings
    if not isinstance(doc, dict):
        raise LungNetInputError(path, "must hold a JSON object of settings")
    known = set(base.settings())
    unknown = sorted(set(doc) - known)
    if unknown:
        raise LungNetInputError(
            path, f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    changes: dict = {}
    for key in ("voxel_size_mm", "bin_width_hu"):
        if key in doc:
            changes[key] = _positive_or_none(path, key, doc[key])
    if "hu_range" in doc:
        changes["hu_range"] = _hu_range(path, doc["hu_range"])
    if "mask_threshold" in doc:
        value = doc["mask_threshold"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise LungNetInputError(path, f"mask_threshold must be between 0 and 1, not {value!r}")
        changes["mask_threshold"] = float(value)
    return replace(base, **changes)
