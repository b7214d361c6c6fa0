"""The settings of ``lungnet predict``, declared once for the command line and the API."""

from __future__ import annotations

from dataclasses import dataclass

from lungnet.choices import DEVICE_CHOICES, PRECISION_CHOICES
from lungnet.options import check_options, option

__all__ = ["PredictSettings"]


@dataclass(frozen=True)
class PredictSettings:
    """How scans are segmented; the preprocessing itself comes from the checkpoint."""

    device: str = option("auto", help="where the network runs", choices=DEVICE_CHOICES)
    batch_size: int | None = option(
        None, help="slices per forward pass (default: 64 on GPU, 8 on CPU)", metavar="N", minimum=1
    )
    precision: str = option(
        "auto",
        help="auto: bf16 where the hardware runs it natively, else fp32",
        choices=PRECISION_CHOICES,
    )
    tta: bool | None = option(
        None,
        help="average the prediction over the flips the model was trained with (left-right, "
        "for a model trained with mirrored slices: 2x slower; a model trained without flips "
        "gets none) (default: as chosen on validation and stored in the checkpoint)",
    )
    min_tumor_volume_mm3: float | None = option(
        None,
        help="drop connected components smaller than MM3 cubic millimetres "
        "(default: the value chosen on validation and stored in the checkpoint; 0 keeps all)",
        flag="--min-tumor-volume",
        metavar="MM3",
        minimum=0,
    )
    threshold: float | None = option(
        None,
        help="probability above which a voxel is tumor (default: the value chosen on "
        "validation and stored in the checkpoint, else 0.5)",
        metavar="P",
        above=0,
        below=1,
    )
    min_peak_probability: float | None = option(
        None,
        help="drop connected components whose highest probability is below P (default: the "
        "value chosen on validation and stored in the checkpoint; 0 keeps all)",
        flag="--min-peak-probability",
        metavar="P",
        minimum=0,
        maximum=1,
    )
    min_depth_mm: float | None = option(
        None,
        help="drop connected components spanning less than MM millimetres of slices "
        "(default: the value chosen on validation and stored in the checkpoint; 0 keeps all)",
        flag="--min-depth",
        metavar="MM",
        minimum=0,
    )
    lung_constraint: bool | None = option(
        None,
        help="keep only components that overlap or touch the lungs found from the scan's HU "
        "(default: as chosen on validation and stored in the checkpoint)",
    )

    def __post_init__(self) -> None:
        check_options(self)
