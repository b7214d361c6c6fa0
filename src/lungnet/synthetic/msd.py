"""Write phantoms as a Medical Segmentation Decathlon Task06-style dataset.

Layout::

    OUT/dataset.json
    OUT/imagesTr/lung_001.nii.gz   OUT/labelsTr/lung_001.nii.gz   (training cases)
    OUT/imagesTs/lung_0NN.nii.gz   OUT/labelsTs/lung_0NN.nii.gz   (test cases; labels kept apart)

Images vary per case like real scans do: voxel order RAS or LPS, and int16 stored either
as plain HU or as HU + 1024 with ``scl_inter = -1024``. A label has exactly its image's
shape, voxel order, affine and qform/sform.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, ornt_transform

from lungnet.errors import LungNetInputError
from lungnet.io import CTVolume, SourceGeometry, atomic_path, write_volume
from lungnet.synthetic.library import NoduleLibrary
from lungnet.synthetic.phantom import Phantom, check_phantom_args, make_phantom

__all__ = [
    "ORIENTATIONS",
    "STORAGES",
    "case_seed",
    "case_variant",
    "write_case",
    "write_msd_dataset",
]

log = logging.getLogger(__name__)

ORIENTATIONS = ("RAS", "LPS")
#: "int16": HU as they are, no scaling; "int16_scaled": HU + 1024 with scl_slope 1, scl_inter -1024.
STORAGES = ("int16", "int16_scaled")
_STAMP = ".lungnet-synth.json"
_INTERCEPT = -1024.0


def case_seed(seed: int, index: int) -> int:
    """Phantom seed of case ``index`` (0-based) of a dataset made with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def case_variant(phantom_seed: int) -> tuple[str, str]:
    """Voxel order and storage of the case made from ``phantom_seed``."""
    return ORIENTATIONS[phantom_seed % 2], STORAGES[(phantom_seed // 2) % 2]


def _reference(phantom: Phantom, orientation: str) -> CTVolume:
    """The phantom as a scan stored in ``orientation``: the geometry both its files get."""
    transform = ornt_transform(axcodes2ornt(("R", "A", "S")), axcodes2ornt(tuple(orientation)))
    affine = phantom.affine @ inv_ornt_aff(transform, phantom.hu.shape)
    shape = tuple(
        int(s) for s in apply_orientation(np.empty(phantom.hu.shape, bool), transform).shape
    )
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    header.set_xyzt_units("mm", "sec")
    geometry = SourceGeometry(shape, affine, nib.aff2axcodes(affine), header)  # type: ignore[arg-type]
    return CTVolume(phantom.hu, phantom.spacing, phantom.affine, None, geometry)


def write_case(
    phantom: Phantom, image_path: Path, label_path: Path, orientation: str, storage: str
) -> dict:
    """Write one phantom's image and label in the given voxel order and storage.

    Returns:
        The case's geometry and variant as a JSON-ready dict.
    """
    reference = _reference(phantom, orientation)
    hu = np.clip(np.rint(phantom.hu), -1024, 3071).astype(np.int16)
    if storage == "int16":
        write_volume(hu, reference, image_path, np.int16)
    else:
        # write_volume stores plain values; this variant needs the scl_inter of HU + 1024 files.
        stored = (hu.astype(np.int32) - int(_INTERCEPT)).astype(np.int16)
        header = reference.geometry.header.copy()
        header.set_data_dtype(np.int16)
        img = nib.Nifti1Image(
            np.asfortranarray(reference.to_file_order(stored)), None, header=header
        )
        img.header.set_slope_inter(1.0, _INTERCEPT)
        with atomic_path(image_path) as tmp:
            nib.save(img, tmp)
    write_volume(phantom.label != 0, reference, label_path, np.uint8)
    return {
        "orientation": orientation,
        "storage": storage,
        "shape": list(phantom.hu.shape),
        "spacing": [round(s, 6) for s in phantom.spacing],
        "affine": np.round(reference.geometry.affine, 6).tolist(),
    }


def _list(value) -> list | None:
    return None if value is None else list(value)


def _pair(value) -> tuple | None:
    return None if value is None else tuple(value)


def _make_case(job: dict) -> dict:
    library = job["nodule_library"]
    phantom = make_phantom(
        job["seed"],
        size=job["size"],
        slices=job["slices"],
        tumor_diameter_mm=_pair(job["tumor_diameter_mm"]),
        tumor_count=_pair(job["tumor_count"]),
        nodule_library=None if library is None else NoduleLibrary(library),
        library_share=job["library_share"],
        library_split=job["library_split"],
    )
    orientation, storage = case_variant(job["seed"])
    info = write_case(phantom, Path(job["image"]), Path(job["label"]), orientation, storage)
    info.update(
        seed=job["seed"],
        split=job["split"],
        contrast=phantom.contrast,
        noise_hu=round(phantom.noise_hu, 2),
        tumors=[t.as_dict() for t in phantom.tumors],
    )
    if library is not None:
        info["library_split"] = job["library_split"]
    return info


def write_msd_dataset(
    out_dir: str | Path,
    cases: int,
    test_cases: int = 0,
    seed: int = 0,
    size: int = 512,
    slices: int | None = None,
    tumor_diameter_mm: tuple[float, float] | None = None,
    tumor_count: tuple[int, int] | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    nodule_library: str | Path | None = None,
    library_share: float = 0.5,
    val_cases: int | None = None,
) -> Path:
    """Write ``cases`` training and ``test_cases`` test phantoms in the MSD Task06 layout.

    Case names are ``lung_001``, ``lung_002``, ... (training first, then test). Case ``i``
    is made from :func:`case_seed` ``(seed, i)``, so the same arguments write
    byte-identical files. A folder left by a killed run with the same arguments is
    completed (finished cases are kept); ``dataset.json`` is written last.

    Args:
        out_dir: dataset folder to create.
        cases, test_cases: number of training and test cases.
        seed, size, slices, tumor_diameter_mm, tumor_count, library_share: see
            :func:`make_phantom`; None for the diameters or the count draws them like a cohort.
        workers: parallel processes.
        overwrite: replace a finished dataset or one made with other arguments.
        progress: called with each case name as it is finished.
        nodule_library: a folder of real nodules (see :class:`NoduleLibrary`); training
            cases draw from its train patients, the last ``val_cases`` training cases
            (the validation split of ``lungnet preprocess``) from its val patients and
            test cases from its test patients, so no patient's nodules cross splits.
        val_cases: how many of the last training cases will be used for validation (as
            ``lungnet preprocess --val-split-count``); None: 6 like its default, or all
            training cases when there are fewer.

    Returns:
        The dataset folder (``out_dir``), ready for ``lungnet preprocess``.

    Raises:
        LungNetInputError: ``out_dir`` is a file, or holds a dataset and ``overwrite`` is False.
        ValueError: an argument is out of range.
    """
    if cases < 0 or test_cases < 0 or cases + test_cases < 1:
        raise ValueError(f"need at least one case, got cases={cases}, test_cases={test_cases}")
    if cases + test_cases > 999:
        raise ValueError(f"at most 999 cases fit the lung_NNN names, got {cases + test_cases}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if val_cases is None:
        val_cases = min(6, cases)  # lungnet preprocess --val-split-count's default
    if not 0 <= val_cases <= cases:
        raise ValueError(f"val_cases must be within 0..cases ({cases}), got {val_cases}")
    make_phantom_args = {
        "size": size,
        "slices": slices,
        "tumor_diameter_mm": _list(tumor_diameter_mm),
        "tumor_count": _list(tumor_count),
    }
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    check_phantom_args(
        size, slices, tumor_diameter_mm, tumor_count, library_share
    )  # before any file is touched
    library = None
    if nodule_library is not None:
        library = str(Path(nodule_library).resolve())
        NoduleLibrary(library)  # refuse a bad folder before any file is touched
        make_phantom_args.update(
            nodule_library=library, library_share=library_share, val_cases=val_cases
        )

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise LungNetInputError(out, "exists and is not a folder")
    stamp = {"seed": seed, "cases": cases, "test_cases": test_cases, **make_phantom_args}
    stamp_path = out / _STAMP
    previous = json.loads(stamp_path.read_text()) if stamp_path.is_file() else None
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        if (out / "dataset.json").exists() or previous != stamp:
            raise LungNetInputError(
                out,
                "already holds a dataset or other files; pass overwrite=True "
                "(--overwrite) to replace it",
            )
    out.mkdir(parents=True, exist_ok=True)
    if overwrite or previous != stamp:
        for sub in ("imagesTr", "labelsTr", "imagesTs", "labelsTs"):
            for f in (out / sub).glob("*.nii.gz"):
                f.unlink()
        (out / "dataset.json").unlink(missing_ok=True)
    with atomic_path(stamp_path) as tmp:
        tmp.write_text(json.dumps(stamp))

    jobs = []
    for i in range(cases + test_cases):
        name = f"lung_{i + 1:03d}"
        split = "train" if i < cases else "test"
        img_dir, lab_dir = (
            ("imagesTr", "labelsTr") if split == "train" else ("imagesTs", "labelsTs")
        )
        library_split = (
            "test" if split == "test" else ("val" if i >= cases - val_cases else "train")
        )
        jobs.append(
            {
                "name": name,
                "split": split,
                "seed": case_seed(seed, i),
                **make_phantom_args,
                "nodule_library": library,
                "library_share": library_share,
                "library_split": library_split,
                "image": str(out / img_dir / f"{name}.nii.gz"),
                "label": str(out / lab_dir / f"{name}.nii.gz"),
            }
        )
    infos: dict[str, dict] = {}
    pending = []
    for job in jobs:
        done = out / f".{job['name']}.json"
        if done.is_file() and Path(job["image"]).is_file() and Path(job["label"]).is_file():
            infos[job["name"]] = json.loads(done.read_text())
        else:
            pending.append(job)

    def finish(job: dict, info: dict) -> None:
        with atomic_path(out / f".{job['name']}.json") as tmp:
            tmp.write_text(json.dumps(info))
        infos[job["name"]] = info
        log.debug("wrote %s", job["name"])
        if progress is not None:
            progress(job["name"])

    if workers == 1 or len(pending) <= 1:
        for job in pending:
            finish(job, _make_case(job))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(pending))) as pool:
            for job, info in zip(pending, pool.map(_make_case, pending), strict=True):
                finish(job, info)

    train = [j for j in jobs if j["split"] == "train"]
    test = [j for j in jobs if j["split"] == "test"]
    dataset = {
        "name": "Lung",
        "description": "Synthetic chest CT phantoms with lung tumors, made by lungnet synth",
        "reference": "LungNet synthetic phantoms (no patient data)",
        "licence": "MIT",
        "release": "1.0",
        "tensorImageSize": "3D",
        "modality": {"0": "CT"},
        "labels": {"0": "background", "1": "cancer"},
        "numTraining": len(train),
        "numTest": len(test),
        "training": [
            {"image": f"./imagesTr/{j['name']}.nii.gz", "label": f"./labelsTr/{j['name']}.nii.gz"}
            for j in train
        ],
        "test": [f"./imagesTs/{j['name']}.nii.gz" for j in test],
        "lungnet_synthetic": {
            **stamp,
            "test_labels": {
                f"./imagesTs/{j['name']}.nii.gz": f"./labelsTs/{j['name']}.nii.gz" for j in test
            },
            "cases": {j["name"]: infos[j["name"]] for j in jobs},
        },
    }
    target = out / "dataset.json"
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(dataset, indent=2))
    for job in jobs:
        (out / f".{job['name']}.json").unlink(missing_ok=True)
    stamp_path.unlink(missing_ok=True)
    return out
