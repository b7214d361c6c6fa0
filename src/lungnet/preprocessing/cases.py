"""Finding the image/label pairs of a Medical Segmentation Decathlon style dataset folder."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from lungnet import naming
from lungnet.errors import LungNetInputError
from lungnet.io import is_nifti_path

__all__ = ["Case", "find_cases", "case_name", "read_dataset_json"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Case:
    """One training case: an image and (maybe) its label file."""

    name: str
    image: Path
    label: Path | None


def case_name(path: Path) -> str:
    """``lung_001.nii.gz`` and ``lung_001_0000.nii.gz`` -> ``lung_001``."""
    return naming.case_name(path, strip_channel=True)


def _is_candidate(path: Path) -> bool:
    # Hidden files include the AppleDouble "._lung_001.nii.gz" twins the real Task06 archive ships.
    return not path.name.startswith(".") and is_nifti_path(path) and not path.is_dir()


def read_dataset_json(root: Path) -> dict | None:
    """The dataset's ``dataset.json``, or None (with a warning) when missing or malformed."""
    path = root / "dataset.json"
    if not path.exists():
        log.warning("%s: no dataset.json; cases are found from imagesTr/ and labelsTr/ alone", root)
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        log.warning("%s: dataset.json is not valid JSON (%s); ignoring it", path, e)
        return None
    if not isinstance(data, dict):
        log.warning("%s: dataset.json is not a JSON object; ignoring it", path)
        return None
    return data


def find_cases(root: str | Path, images: str = "imagesTr", labels: str = "labelsTr") -> list[Case]:
    """Pair every image in ``root/images`` with the same-named file in ``root/labels``.

    Files that are not cases (hidden files, AppleDouble ``._*`` files, other extensions)
    are ignored. An image without a label is returned with ``label=None`` so the caller
    can report it as a failed case.

    Raises:
        LungNetInputError: ``root`` or ``root/images`` does not exist.
    """
    root = Path(root)
    if not root.is_dir():
        raise LungNetInputError(
            root, "is not a folder (expected a dataset with imagesTr/ and labelsTr/)"
        )
    image_dir = root / images
    if not image_dir.is_dir():
        raise LungNetInputError(
            root, f"has no {images}/ folder (expected the Medical Segmentation Decathlon layout)"
        )
    read_dataset_json(root)

    label_dir = root / labels
    label_files = {}
    if label_dir.is_dir():
        label_files = {case_name(p): p for p in label_dir.iterdir() if _is_candidate(p)}
    cases: dict[str, Case] = {}
    for image in sorted(image_dir.iterdir()):
        if not _is_candidate(image):
            continue
        name = case_name(image)
        if name in cases:
            raise LungNetInputError(
                image, f"is a second image of case {name!r} (multi-channel input is not supported)"
            )
        cases[name] = Case(name=name, image=image, label=label_files.get(name))
    return [cases[n] for n in sorted(cases)]
