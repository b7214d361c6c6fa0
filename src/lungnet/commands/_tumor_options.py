"""The tumor options of the commands that draw synthetic tumors (`synth`, `insert`)."""

from __future__ import annotations

from dataclasses import dataclass

from lungnet.options import option

__all__ = ["TumorOptions"]


@dataclass(frozen=True)
class TumorOptions:
    """Which tumors are drawn; the defaults are the lung-cancer-like cohort."""

    tumor_diameter: tuple[float, float] | None = option(
        None,
        help="nominal tumor diameter range in mm, log-uniform (default: like a lung-cancer "
        "cohort, 5-100 mm, most 15-50 mm)",
        nargs=2,
        metavar=("MIN", "MAX"),
    )
    tumor_count: tuple[int, int] | None = option(
        None,
        help="tumors per scan, inclusive range (default: 0-4, about one scan in five tumor-free)",
        nargs=2,
        metavar=("MIN", "MAX"),
    )
    nodule_library: str | None = option(
        None,
        help="folder of real nodules (image/ and mask/) to draw some tumors from; patients "
        "are kept apart between train, validation and test",
        metavar="DIR",
    )
    library_share: float = option(
        0.5,
        help="with --nodule-library: share of the tumors the library can match in size that "
        "are real nodules",
        metavar="P",
    )
