"""Synthetic tumors inserted into real CT scans, with exact labels and the rest left untouched.

The scan's lungs are found by their density; a tissue map derived from its HU lets the
same tumor generator as ``lungnet synth`` place and paint tumors (free, against the chest
wall or mediastinum, against a vessel). Each tumor is then blended in: blurred at its
edge like a standard reconstruction kernel (partial volume) and given noise of the level
measured in the scan. Voxels more than a few mm from every tumor keep their stored values
bit for bit, and the output keeps the input's geometry and data type.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

from lungnet.errors import LungNetInputError
from lungnet.io import CTVolume, atomic_path, is_nifti_path, read_ct, write_volume
from lungnet.lungs import MIN_LUNG_ML, lung_regions
from lungnet.synthetic.anatomy import Tissue
from lungnet.synthetic.library import NoduleLibrary
from lungnet.synthetic.phantom import check_tumor_args
from lungnet.synthetic.tubes import Grid
from lungnet.synthetic.tumors import Lungs, Tumor, place_and_paint_tumors, sample_tumor_specs

__all__ = ["Inserted", "case_name", "insert_into_scan", "lung_tissue_map", "write_inserted_dataset"]

log = logging.getLogger(__name__)

_BLEND_SIGMA_MM = 0.6  # edge blur of a standard reconstruction kernel (FWHM about 1.4 mm)
_KEEP_BELOW = 0.01  # blend weights below this leave the scan's voxel as it was


@dataclass
class Inserted:
    """A scan with synthetic tumors, in canonical RAS order.

    Attributes:
        hu: ``(X, Y, Z)`` float32 HU; equal to the input wherever ``changed`` is False.
        label: ``(X, Y, Z)`` uint8, 1 exactly on tumor voxels.
        changed: voxels whose value was replaced (tumors and their blended rim).
        tumors: the tumors inserted.
        noise_hu: the scan's noise level measured and given to the tumors.
    """

    hu: np.ndarray
    label: np.ndarray
    changed: np.ndarray
    tumors: list[Tumor]
    noise_hu: float


def check_is_ct(ct: CTVolume) -> None:
    """Raise LungNetInputError when ``ct`` does not look like a CT scan in HU (a label map, say)."""
    a = ct.array
    sample = a[:: max(1, a.shape[0] // 64), :: max(1, a.shape[1] // 64), :]
    distinct = np.unique(sample)
    if len(distinct) <= 16:
        raise LungNetInputError(
            ct.source,
            f"holds only {len(distinct)} distinct values: a label map or mask, not a CT scan",
        )
    low = float(np.percentile(sample, 1))
    if low > -500:
        raise LungNetInputError(
            ct.source, f"has no air or lung (1st percentile {low:.0f}): not a CT scan in HU"
        )


def lung_tissue_map(ct: CTVolume) -> tuple[np.ndarray, Lungs]:
    """Tissue codes of a real scan by density, and where tumors may go.

    Lungs are :func:`lungnet.lungs.lung_regions`, the rule post-processing uses too.

    Raises:
        LungNetInputError: no lungs are found.
    """
    hu = ct.array
    grid = Grid(ct.shape, ct.spacing)
    smooth = ndi.uniform_filter(hu, 3)
    lung = lung_regions(hu, ct.spacing)
    voxel_ml = float(np.prod(ct.spacing)) / 1000
    if lung.sum() * voxel_ml < MIN_LUNG_ML:
        raise LungNetInputError(
            ct.source,
            f"no lungs found (no region of {MIN_LUNG_ML:.0f} mL or more at lung density)",
        )
    filled = lung.copy()
    for k in range(hu.shape[2]):
        if lung[:, :, k].any():
            filled[:, :, k] = ndi.binary_fill_holes(lung[:, :, k])
    tissue = np.full(hu.shape, Tissue.MUSCLE, np.uint8)
    tissue[hu < -900] = Tissue.AIR
    tissue[(hu >= -200) & (hu < -30)] = Tissue.FAT
    tissue[hu >= 250] = Tissue.BONE_CORTEX
    tissue[filled & (smooth < -450)] = Tissue.LUNG
    tissue[filled & (smooth >= -450)] = Tissue.VESSEL
    tissue[lung & (smooth < -950)] = Tissue.AIRWAY_LUMEN  # trachea and bronchi: no tumor centres
    vessels = np.argwhere(tissue == Tissue.VESSEL)
    if len(vessels) > 4000:
        vessels = vessels[:: len(vessels) // 4000]
    centre = np.array([(grid.shape[0] - 1) / 2, (grid.shape[1] - 1) / 2, -0.5])
    vessel_mm = (vessels - centre) * np.asarray(grid.spacing)
    step = max(1, int(round(4.0 / min(grid.spacing))))
    lung_voxels = np.argwhere(tissue[::step, ::step, ::step] == Tissue.LUNG) * step
    midline = float(
        ((np.argwhere(lung[::step, ::step, ::step])[:, 0] * step).mean() - centre[0])
        * grid.spacing[0]
    )
    return tissue, Lungs(lung_voxels, vessel_mm, midline)


def noise_level(ct: CTVolume) -> float:
    """The scan's noise SD in HU: a low percentile of the in-plane local SD in soft tissue.

    Every 4th slice suffices and keeps a 512 x 512 x 300 scan to a few hundred MB.
    """
    h = ct.array[:, :, ::4].astype(np.float64)
    size = (5, 5, 1)
    mean = ndi.uniform_filter(h, size)
    sd = np.sqrt(np.maximum(ndi.uniform_filter(h * h, size) - mean * mean, 0))
    soft = (mean > -150) & (mean < 150)
    return float(np.percentile(sd[soft], 20)) if soft.any() else 10.0


def _blend(
    rng: np.random.Generator,
    scan: np.ndarray,
    painted: np.ndarray,
    label: np.ndarray,
    spacing,
    noise_hu: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The scan with each tumor blended in: edge blur, the scan's noise; returns (hu, changed)."""
    out = scan.copy()
    changed = np.zeros(scan.shape, bool)
    sigma = [_BLEND_SIGMA_MM / s for s in spacing]
    pad = [int(np.ceil(3 * s)) + 1 for s in sigma]
    components, _ = ndi.label(label)
    for box in ndi.find_objects(components):
        box = tuple(
            slice(max(0, b.start - p), min(n, b.stop + p))
            for b, p, n in zip(box, pad, scan.shape, strict=True)
        )
        m = (label[box] == 1).astype(np.float32)
        alpha = ndi.gaussian_filter(m, sigma, truncate=3)
        # Blur the tumor's own values within the tumor only (normalised convolution), so
        # the lung outside does not leak into its edge twice.
        inner = ndi.gaussian_filter(
            np.where(m > 0, painted[box], 0).astype(np.float32), sigma, truncate=3
        )
        inner /= np.maximum(alpha, 1e-6)
        grain = ndi.gaussian_filter(
            rng.standard_normal(m.shape).astype(np.float32), [0.7, 0.7, 0.3]
        )
        grain *= noise_hu / (grain.std() + 1e-6)
        near = alpha >= _KEEP_BELOW
        s = scan[box]
        blended = s + alpha * (inner + grain - s)
        o = out[box]
        o[near] = blended[near]
        changed[box] |= near
    return out, changed


def insert_into_scan(
    ct: CTVolume,
    seed: int,
    tumor_count: tuple[int, int] | None = None,
    tumor_diameter_mm: tuple[float, float] | None = None,
    nodule_library: NoduleLibrary | None = None,
    library_share: float = 0.5,
    library_split: str = "train",
) -> Inserted:
    """Insert synthetic tumors into the lungs of one real scan.

    Args:
        ct: the scan (canonical order, HU), as :func:`lungnet.io.read_ct` gives it.
        seed: the same seed and scan give the same result, bit for bit.
        tumor_count, tumor_diameter_mm: as for :func:`~lungnet.synthetic.make_phantom`
            (None: drawn like a lung-cancer cohort). Collapsed lung and effusion are not
            drawn, so that the scan away from the tumors stays as it was, and masses do
            not invade (HU alone cannot tell chest wall from heart).
        nodule_library, library_share, library_split: real nodules to use for some tumors.

    Raises:
        LungNetInputError: the scan is not CT or no lungs are found in it.
    """
    check_tumor_args(tumor_diameter_mm, tumor_count, library_share)
    check_is_ct(ct)
    tissue, lungs = lung_tissue_map(ct)
    rng = np.random.default_rng(seed)
    grid = Grid(ct.shape, ct.spacing)
    # Soft tissue by HU cannot tell chest wall from heart in a real scan, so masses here
    # abut the wall and mediastinum without growing into them.
    specs = sample_tumor_specs(
        rng, tumor_count, tumor_diameter_mm, neighbours=False, invasion=False
    )
    painter = None
    if nodule_library is not None:
        specs = nodule_library.assign(rng, specs, library_share, library_split)
        painter = nodule_library.painter(library_split)
    scan = np.asarray(ct.array, np.float32)
    painted = scan.copy()
    label = np.zeros(ct.shape, np.uint8)
    aorta_like = (
        np.percentile(scan[tissue == Tissue.MUSCLE], 90) if (tissue == Tissue.MUSCLE).any() else 0
    )
    contrast = bool(aorta_like > 150)
    tumors = place_and_paint_tumors(
        rng, grid, ct.affine, painted, tissue, label, specs, lungs, contrast, painter
    )
    noise_hu = noise_level(ct)
    hu, changed = _blend(rng, scan, painted, label, ct.spacing, noise_hu)
    return Inserted(hu, label, changed, tumors, noise_hu)


def case_name(path: Path) -> str:
    """A scan's case name: its file name without .nii/.nii.gz, or its folder's name."""
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _write_image(ct: CTVolume, inserted: Inserted, path: Path) -> None:
    """The scan's own file with only the changed voxels rewritten: same dtype, scaling, geometry."""
    if ct.source is not None and is_nifti_path(ct.source):
        source = nib.load(ct.source)
        header = source.header.copy()
        slope, inter = source.dataobj.slope, source.dataobj.inter
        stored = (
            np.asarray(source.dataobj.get_unscaled()).reshape(ct.geometry.shape, order="A").copy()
        )
        changed = ct.to_file_order(inserted.changed)
        values = (ct.to_file_order(inserted.hu)[changed] - inter) / slope
        dtype = stored.dtype
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            values = np.clip(np.rint(values), info.min, info.max)
        stored[changed] = values.astype(dtype)
        image = nib.Nifti1Image(stored, None, header=header)
        image.header.set_slope_inter(slope, inter)
        with atomic_path(path) as tmp:
            nib.save(image, tmp)
        return
    # A DICOM series: HU as int16 in the series' own geometry.
    write_volume(np.clip(np.rint(inserted.hu), -1024, 3071), ct, path, np.int16)


def _case_seed(seed: int, name: str) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])


def write_inserted_dataset(
    scans: list[str | Path],
    out_dir: str | Path,
    seed: int = 0,
    tumor_count: tuple[int, int] | None = None,
    tumor_diameter_mm: tuple[float, float] | None = None,
    nodule_library: str | Path | None = None,
    library_share: float = 0.5,
    library_split: str = "train",
    overwrite: bool = False,
    on_case=None,
) -> tuple[Path, dict[str, dict], list[LungNetInputError]]:
    """Insert tumors into each scan; write an MSD-layout dataset (imagesTr, labelsTr, dataset.json).

    A scan that cannot be used (unreadable, not CT, no lungs) is skipped and its error
    returned; the others are written. Case ``name`` is made from seed ``(seed, name)``, so a
    scan's result does not depend on the other scans given with it.

    Args:
        on_case: called with ``(name, info)`` after each case, or ``(path, error)`` on failure.

    Returns:
        ``(out_dir, infos by case name, errors)``.

    Raises:
        LungNetInputError: ``out_dir`` already holds a dataset and ``overwrite`` is False.
    """
    check_tumor_args(tumor_diameter_mm, tumor_count, library_share)
    library = None if nodule_library is None else NoduleLibrary(nodule_library)
    if library is not None:
        library.split(library_split)  # refuse a bad split name before any file is touched
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise LungNetInputError(out, "exists and is not a folder")
    if (out / "dataset.json").exists() and not overwrite:
        raise LungNetInputError(out, "already holds a dataset; pass --overwrite to replace it")
    (out / "imagesTr").mkdir(parents=True, exist_ok=True)
    (out / "labelsTr").mkdir(parents=True, exist_ok=True)
    infos: dict[str, dict] = {}
    errors: list[LungNetInputError] = []
    for scan in scans:
        path = Path(scan)
        name = case_name(path)
        if name in infos:
            name = f"{name}_{sum(n.startswith(name) for n in infos) + 1}"
        try:
            ct = read_ct(path)
            case_seed = _case_seed(seed, name)
            inserted = insert_into_scan(
                ct, case_seed, tumor_count, tumor_diameter_mm, library, library_share, library_split
            )
        except LungNetInputError as e:
            errors.append(e)
            if on_case is not None:
                on_case(path, e)
            continue
        _write_image(ct, inserted, out / "imagesTr" / f"{name}.nii.gz")
        write_volume(inserted.label, ct, out / "labelsTr" / f"{name}.nii.gz", np.uint8)
        infos[name] = {
            "source": str(path),
            "seed": case_seed,
            "shape": list(ct.geometry.shape),
            "noise_hu": round(inserted.noise_hu, 2),
            "changed_voxels": int(inserted.changed.sum()),
            "tumors": [t.as_dict() for t in inserted.tumors],
        }
        if on_case is not None:
            on_case(name, infos[name])
    dataset = {
        "name": "Lung",
        "description": "Real CT scans with synthetic lung tumors inserted by lungnet insert",
        "tensorImageSize": "3D",
        "modality": {"0": "CT"},
        "labels": {"0": "background", "1": "cancer"},
        "numTraining": len(infos),
        "numTest": 0,
        "training": [
            {"image": f"./imagesTr/{n}.nii.gz", "label": f"./labelsTr/{n}.nii.gz"} for n in infos
        ],
        "test": [],
        "lungnet_insert": {
            "seed": seed,
            "tumor_count": None if tumor_count is None else list(tumor_count),
            "tumor_diameter_mm": None if tumor_diameter_mm is None else list(tumor_diameter_mm),
            "nodule_library": None if library is None else str(library.folder),
            "library_share": library_share,
            "library_split": library_split,
            "cases": infos,
            "failed": [str(e) for e in errors],
        },
    }
    with atomic_path(out / "dataset.json") as tmp:
        tmp.write_text(json.dumps(dataset, indent=2))
    return out, infos, errors
