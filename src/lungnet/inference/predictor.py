"""Predictor: a CT scan in, a tumor mask in the scan's own geometry out."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lungnet.checkpoints import load_checkpoint
from lungnet.devices import inference_autocast_dtype, resolve_device
from lungnet.errors import CheckpointError, ConfigError, LungNetInputError
from lungnet.inference.postprocess import PostProcessing
from lungnet.inference.settings import PredictSettings
from lungnet.io import CTVolume, check_hounsfield, read_ct, write_mask, write_volume
from lungnet.naming import case_name, output_file_name
from lungnet.preprocessing import (
    LEFT_RIGHT_DIM,
    context_indices,
    preprocess_image,
    restore_probabilities,
)

__all__ = ["Predictor", "Prediction", "PredictOutcome", "resolve_device", "output_name"]

log = logging.getLogger(__name__)


def _trained_flips(hyper_parameters: dict) -> tuple[int, ...]:
    """The flips a checkpoint's model was trained with: left-right if it saw mirrored slices."""
    return (LEFT_RIGHT_DIM,) if float(hyper_parameters.get("mirror", 0.0)) > 0 else ()


def output_name(source: Path, kind: str = "mask") -> str:
    """``patient.nii.gz`` -> ``patient_pred.nii.gz``; a DICOM folder ``s1`` -> ``s1_pred.nii.gz``.

    nnU-Net's channel suffix goes (``lung_001_0000.nii.gz`` -> ``lung_001_pred.nii.gz``),
    so the mask pairs with ``labelsTr/lung_001.nii.gz``. Only the last path component is
    used, so the output can never land outside the output folder.
    """
    return output_file_name(case_name(source, strip_channel=True), kind)


@dataclass
class Prediction:
    """Canonical ``(X, Y, Z)`` results for one scan."""

    probabilities: np.ndarray  # float32 in [0, 1]
    mask: np.ndarray  # uint8 {0, 1}


@dataclass
class PredictOutcome:
    """What happened to one input: ``status`` is "done", "skipped" (output exists) or "failed"."""

    source: Path
    status: str
    mask_path: Path | None = None
    message: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    tumor_voxels: int = 0
    report_path: Path | None = None
    dicom_seg_path: Path | None = None
    note: str = ""  # why a mask is empty when the scan could not be segmented as a whole


class Predictor:
    """Segment lung tumors with a trained LungNet checkpoint, or an ensemble of them.

    The preprocessing (clip, normalization, size) comes from the checkpoint, so the scan is
    prepared exactly as the training slices were. With several checkpoints (for instance the
    folds of a cross-validation) their probabilities are averaged; they must share one
    preprocessing, and each gets the context slices it was trained with.

    Args:
        checkpoint: path to a ``.ckpt`` written by ``lungnet train``, or a list of them.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        batch_size: slices per forward pass (default: 64 on GPU, 8 on CPU).
        tta: average the prediction over the flips each model was trained with (left-right
            for one trained with mirrored slices, :data:`lungnet.preprocessing.LEFT_RIGHT_DIM`);
            None: as the checkpoint's post-processing says (chosen on validation), else off.
        min_tumor_volume_mm3: drop connected components smaller than this; None: the
            checkpoint's post-processing (chosen on validation), else none.
        lung_constraint: keep only components touching the lung field; None: the
            checkpoint's choice. An ensemble takes the first checkpoint's post-processing.
        threshold: probability above which a voxel is tumor; None: the checkpoint's choice
            (0.5 without one).
        min_peak_probability: drop components whose highest probability is below this;
            None: the checkpoint's choice, else none.
        min_depth_mm: drop components spanning fewer mm of slices; None: the checkpoint's
            choice, else none.
        precision: ``auto`` (bf16 where native, else float32), ``bf16``, ``fp16`` or ``fp32``.

    Raises:
        ConfigError: a setting out of its range (see :class:`PredictSettings`).
        CheckpointError: a checkpoint cannot be used, or the ensemble's preprocessing differs.
    """

    def __init__(
        self,
        checkpoint: str | Path | Sequence[str | Path],
        device: str = "auto",
        batch_size: int | None = None,
        tta: bool | None = None,
        min_tumor_volume_mm3: float | None = None,
        precision: str = "auto",
        lung_constraint: bool | None = None,
        threshold: float | None = None,
        min_peak_probability: float | None = None,
        min_depth_mm: float | None = None,
    ) -> None:
        settings = PredictSettings(
            device=device,
            batch_size=batch_size,
            precision=precision,
            tta=tta,
            min_tumor_volume_mm3=min_tumor_volume_mm3,
            lung_constraint=lung_constraint,
            threshold=threshold,
            min_peak_probability=min_peak_probability,
            min_depth_mm=min_depth_mm,
        )
        paths = [checkpoint] if isinstance(checkpoint, str | Path) else list(checkpoint)
        if not paths:
            raise ConfigError("checkpoint (--checkpoint) needs at least one checkpoint")
        loaded = [load_checkpoint(p) for p in paths]
        for path, other in zip(paths[1:], loaded[1:], strict=True):
            if other.preprocess != loaded[0].preprocess:
                raise CheckpointError(
                    path,
                    f"was trained on other preprocessing than {paths[0]} "
                    f"({other.preprocess.to_dict()} vs {loaded[0].preprocess.to_dict()}); "
                    "an ensemble needs one preprocessing",
                )
        self.device = resolve_device(settings.device)
        self.preprocess = loaded[0].preprocess
        self.context_slices = loaded[0].context_slices
        self.hyper_parameters = loaded[0].hyper_parameters
        self.batch_size = settings.batch_size or (64 if self.device.type == "cuda" else 8)
        stored = self.hyper_parameters.get("postprocess") or {}
        self.tta = bool(stored.get("tta", False)) if settings.tta is None else settings.tta
        # The checkpoint's post-processing (chosen on validation), with what was given here.
        given = {
            name: getattr(settings, name)
            for name in (
                "min_tumor_volume_mm3",
                "lung_constraint",
                "threshold",
                "min_peak_probability",
                "min_depth_mm",
            )
            if getattr(settings, name) is not None
        }
        self.postprocessing = dataclasses.replace(
            PostProcessing.from_dict(self.hyper_parameters.get("postprocess")), **given
        )
        self.autocast_dtype = inference_autocast_dtype(settings.precision, self.device)
        self.members = [
            (
                item.model.to(self.device, memory_format=torch.channels_last),
                item.context_slices,
                _trained_flips(item.hyper_parameters),
            )
            for item in loaded
        ]
        self.model = self.members[0][0]
        if self.tta and not any(flips for _, _, flips in self.members):
            # A flip the model never saw in training shows it an anatomy it does not know
            # (for instance a chest with the spine in front): averaging it in would blur.
            log.warning(
                "test-time augmentation: %s trained without mirrored slices, so no flip is "
                "averaged",
                "the model was" if len(paths) == 1 else "no model of the ensemble was",
            )
            self.tta = False

    # ------------------------------------------------------------------ arrays

    def predict_volume(self, ct: CTVolume) -> Prediction:
        """Probabilities and mask for a scan already read with :func:`lungnet.io.read_ct`."""
        return self._timed_predict(ct, {})

    @torch.inference_mode()
    def predict_slices(self, slices: np.ndarray) -> torch.Tensor:
        """``(Z, H, W)`` preprocessed slices -> ``(Z, H, W)`` float32 tumor probabilities.

        They stay on the device so that resizing them back to the scan's size runs there too.
        """
        n = len(slices)
        out = torch.empty((n, *slices.shape[1:]), dtype=torch.float32, device=self.device)
        if n == 0:
            return out
        stack = torch.from_numpy(np.ascontiguousarray(slices))
        autocast = (
            torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            total = None
            for model, k, flips in self.members:
                if k:
                    channels = torch.tensor([context_indices(i, n, k) for i in range(start, stop)])
                    batch = stack[channels]  # (B, 1 + 2k, H, W)
                else:
                    batch = stack[start:stop, None]
                batch = batch.to(self.device, non_blocking=True)
                batch = batch.contiguous(memory_format=torch.channels_last)
                with autocast:
                    prob = self._probabilities(model, batch, flips if self.tta else ())
                total = prob if total is None else total + prob
            out[start:stop] = (total / len(self.members))[:, 0].float()
        return out

    @staticmethod
    def _probabilities(
        model: torch.nn.Module, batch: torch.Tensor, flips: tuple[int, ...]
    ) -> torch.Tensor:
        """The model's probabilities, averaged with those of the batch flipped along ``flips``."""
        prob = torch.sigmoid(model(batch).float())
        for dim in flips:
            prob = prob + torch.sigmoid(model(batch.flip(dim)).float()).flip(dim)
        return prob / (1 + len(flips))

    # ------------------------------------------------------------------- files

    def predict_file(
        self,
        source: str | Path,
        output_dir: str | Path,
        overwrite: bool = False,
        save_probabilities: bool = False,
        report: bool = False,
        dicom_seg: bool = False,
    ) -> PredictOutcome:
        """Segment one scan file or DICOM folder and write ``<name>_pred.nii.gz`` atomically.

        With ``report``, the per-tumor tables, overlay PNGs and the HTML report
        (:func:`lungnet.viz.case_report.write_report`) are written beside the mask. With
        ``dicom_seg``, a DICOM series input also gets ``<name>_seg.dcm``, a DICOM SEG
        referencing it (:func:`lungnet.io.dicom_seg.write_dicom_seg`); a NIfTI input fails.
        A complete existing output is kept (status "skipped") unless ``overwrite``.
        Bad input gives status "failed" with a one-line message; nothing is written.
        """
        source, output_dir = Path(source), Path(output_dir)
        case = case_name(source, strip_channel=True)
        mask_path = output_dir / output_file_name(case, "mask")
        prob_path = output_dir / output_file_name(case, "probabilities")
        report_html = output_dir / output_file_name(case, "report", ".html")
        seg_path = output_dir / output_file_name(case, "dicom_seg", ".dcm")
        wanted = [mask_path] + [prob_path] * save_probabilities + [report_html] * report
        wanted += [seg_path] * dicom_seg
        if not overwrite and all(p.exists() for p in wanted):
            return PredictOutcome(source, "skipped", mask_path=mask_path)
        seconds: dict[str, float] = {}
        try:
            t = time.perf_counter()
            ct = read_ct(source)
            check_hounsfield(ct)
            if dicom_seg:
                from lungnet.io.dicom_seg import source_slices, write_dicom_seg

                # Read before the model runs, so a scan that cannot get a SEG gets no mask either.
                seg_source = source_slices(ct)
            seconds["read"] = time.perf_counter() - t
            prediction = self._timed_predict(ct, seconds)
            t = time.perf_counter()
            write_mask(prediction.mask, ct, mask_path)
            if save_probabilities:
                write_volume(prediction.probabilities, ct, prob_path, np.float32)
            if dicom_seg:
                write_dicom_seg(prediction.mask, ct, seg_path, source=seg_source)
            seconds["write"] = time.perf_counter() - t
            report_path = None
            if report:
                from lungnet.viz.case_report import write_report

                t = time.perf_counter()
                report_path = write_report(
                    ct,
                    prediction.mask,
                    output_dir,
                    probabilities=prediction.probabilities,
                    case_name=case,
                    overwrite=True,
                )
                seconds["report"] = time.perf_counter() - t
        except LungNetInputError as e:
            return PredictOutcome(source, "failed", message=str(e))
        seconds["total"] = sum(seconds.values())
        return PredictOutcome(
            source,
            "done",
            mask_path=mask_path,
            seconds=seconds,
            tumor_voxels=int(prediction.mask.sum()),
            report_path=report_path,
            dicom_seg_path=seg_path if dicom_seg else None,
            note=self.unsegmentable_reason(ct),
        )

    def unsegmentable_reason(self, ct: CTVolume) -> str:
        """Why this scan cannot be segmented with this checkpoint, or "" when it can."""
        clip = self.preprocess.clip_slices_min
        if ct.shape[2] <= clip:
            return (
                f"the scan has {ct.shape[2]} slices and the checkpoint drops the {clip} most "
                "inferior ones, so no slice is left to segment; the mask is empty"
            )
        return ""

    def _timed_predict(self, ct: CTVolume, seconds: dict[str, float]) -> Prediction:
        if self.unsegmentable_reason(ct):
            empty = np.zeros(ct.shape, np.float32)
            return Prediction(probabilities=empty, mask=empty.astype(np.uint8))
        t = time.perf_counter()
        slices = preprocess_image(ct.array, self.preprocess, spacing=ct.spacing)
        seconds["preprocess"] = time.perf_counter() - t
        t = time.perf_counter()
        probs = self.predict_slices(slices)
        seconds["model"] = time.perf_counter() - t
        t = time.perf_counter()
        volume = restore_probabilities(probs, ct.shape, self.preprocess, spacing=ct.spacing)
        mask = self.postprocessing.apply(volume, ct.spacing, hu=ct.array)
        seconds["postprocess"] = time.perf_counter() - t
        return Prediction(probabilities=volume, mask=mask)
