"""Radiomics of many scans: pair scans with masks, process each, say one line per outcome.

Used by ``lungnet radiomics`` and ``lungnet predict --radiomics``. A scan whose mask is
missing, unreadable or on another grid gets one ``failed:`` line and the others go on; an
empty mask gets a row-less CSV and one line saying so; a tumor with undefined features gets
one line naming them. When every scan is done, the rows of all scans go into
:data:`~lungnet.radiomics.tables.DATASET_CSV` in the output folder.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lungnet.errors import LungNetInputError
from lungnet.io import check_same_grid, read_ct
from lungnet.naming import case_name, case_of_output, output_file_name
from lungnet.radiomics.config import DEFAULT_CONFIG, RadiomicsConfig
from lungnet.radiomics.extract import ScanRadiomics, extract_radiomics
from lungnet.radiomics.tables import (
    DATASET_CSV,
    radiomics_paths,
    write_dataset_csv,
    write_radiomics_csv,
    write_radiomics_json,
)

__all__ = ["RadiomicsBatch", "ScanMaskPair", "pair_scans_with_masks"]


@dataclass(frozen=True)
class ScanMaskPair:
    case: str
    scan: Path
    mask: Path


def _mask_for(case: str, folder: Path) -> list[Path]:
    """The masks of ``case`` in ``folder``: ``<case>_pred.nii.gz`` or ``<case>.nii.gz``."""
    names = [output_file_name(case, "mask", ext) for ext in (".nii.gz", ".nii")]
    names += [f"{case}.nii.gz", f"{case}.nii"]
    return [folder / n for n in names if (folder / n).is_file()]


def pair_scans_with_masks(
    scan: str | Path, mask: str | Path
) -> tuple[list[ScanMaskPair], list[str]]:
    """Pair a scan with its mask, or every scan of a folder with its mask in a mask folder.

    Args:
        scan: a NIfTI file, a DICOM series folder, or a folder of those.
        mask: the scan's mask file, or a folder holding ``<case>_pred.nii.gz`` (as
            ``lungnet predict`` writes) or ``<case>.nii.gz`` per scan.

    Returns:
        ``(pairs, problems)``: problems are one line each, for scans without a mask.

    Raises:
        LungNetInputError: a folder of scans was given with a single mask file.
    """
    from lungnet.inference.inputs import expand_inputs

    scan, mask = Path(scan), Path(mask)
    if not mask.is_dir():
        if scan.is_dir() and len(expand_inputs([scan])) > 1:
            raise LungNetInputError(
                mask, f"is one mask for the folder of scans {scan}; give a folder"
            )
        return [ScanMaskPair(case_name(scan), scan, mask)], []
    pairs, problems = [], []
    for found in expand_inputs([scan]):
        case = case_name(found)
        masks = _mask_for(case, mask)
        if len(masks) != 1:
            problem = (
                "no mask"
                if not masks
                else f"{len(masks)} masks ({', '.join(p.name for p in masks)})"
            )
            problems.append(
                f"{found}: {problem} for it in {mask} "
                f"(expected {output_file_name(case, 'mask')} or {case}.nii.gz)"
            )
            continue
        pairs.append(ScanMaskPair(case, found, masks[0]))
    return pairs, problems


class RadiomicsBatch:
    """Process scans one at a time and join their rows at the end.

    Args:
        output_dir: where ``<case>_radiomics.csv``/``.json`` and the per-dataset CSV go.
        config: the radiomics settings.
        say: prints a line for the user (stdout); ``warn`` prints failures (stderr).
    """

    def __init__(
        self,
        output_dir: str | Path,
        config: RadiomicsConfig = DEFAULT_CONFIG,
        say: Callable[[str], None] = print,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.config = config
        self.say = say
        self.warn = warn or (lambda line: print(line, file=sys.stderr))
        self.done: list[tuple[str, ScanRadiomics]] = []
        self.failed = 0

    def add(
        self,
        scan: str | Path,
        mask: str | Path,
        case: str | None = None,
        report: str | Path | None = None,
    ) -> ScanRadiomics | None:
        """Compute and write the tables of one scan; None (and a ``failed:`` line) if it failed.

        Args:
            scan: the CT scan (NIfTI or DICOM series folder).
            mask: its tumor mask, on the scan's grid.
            case: the name the tables carry (default: ``<case>`` of a ``<case>_pred`` mask,
                else the scan's name).
            report: an HTML report of this case whose radiomics panel should show the result.
        """
        # a mask written by `lungnet predict` names the case the way its report does
        case = case or case_of_output(Path(mask).name, "mask") or case_name(scan)
        try:
            ct = read_ct(scan)
            mask_volume = read_ct(mask)
            check_same_grid(mask_volume, ct, reference_role="scan")
            result = extract_radiomics(ct, mask_volume.array, self.config)
        except LungNetInputError as e:
            self.failed += 1
            self.warn(f"failed: {case}: {e}")
            return None
        paths = radiomics_paths(self.output_dir, case)
        write_radiomics_csv(result, paths["csv"])
        write_radiomics_json(result, paths["json"], ct=ct, mask_source=mask)
        self.done.append((case, result))
        if not result.tumors:
            self.say(f"empty:  {case}: the mask has no tumor; wrote {paths['csv']} without rows")
        else:
            per_tumor = sum(result.seconds_per_tumor) / len(result.tumors)
            self.say(
                f"done:   {case}: {len(result.tumors)} tumor(s) x {len(result.columns)} features "
                f"({per_tumor:.1f} s per tumor) -> {paths['csv']}"
            )
        for tumor in result.tumors:
            line = tumor.undefined_summary()
            if line is not None:
                self.say(f"        {line}")
        if report is not None and Path(report).is_file():
            from lungnet.viz.case_report import add_radiomics_panel

            add_radiomics_panel(report, paths["json"])
        return result

    def finish(self) -> Path | None:
        """Write the per-dataset CSV of every scan that succeeded; its path (None if none did)."""
        if not self.done:
            return None
        path = write_dataset_csv(self.done, self.output_dir / DATASET_CSV)
        rows = sum(len(result.tumors) for _, result in self.done)
        self.say(f"wrote {path} ({len(self.done)} scan(s), {rows} tumor row(s))")
        return path
