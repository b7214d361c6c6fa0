"""The device and precision policy of training and inference, in one place.

Which device runs the network (``auto`` picks CUDA, then Apple MPS, then the CPU), which
arithmetic it uses (bf16 only where the hardware computes it natively), and the loader,
memory-format and determinism defaults that follow from the device. Commands spell these
the same way everywhere: ``--device auto|cpu|cuda|mps``, ``--precision auto|bf16|fp16|fp32``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch

from lungnet.choices import DEVICE_CHOICES, PRECISION_CHOICES
from lungnet.errors import ConfigError, LungNetInputError

__all__ = [
    "DEVICE_CHOICES",
    "PRECISION_CHOICES",
    "resolve_device",
    "native_bf16",
    "canonical_precision",
    "TrainingDevice",
    "training_device",
    "devices_from_gpus",
    "inference_autocast_dtype",
]

# Lightning's precision strings, and the older spellings it still accepts.
_LIGHTNING_PRECISION = {"bf16": "bf16-mixed", "fp16": "16-mixed", "fp32": "32-true"}
_FROM_LIGHTNING = {
    "bf16-mixed": "bf16",
    "bf16": "bf16",
    "16-mixed": "fp16",
    "16": "fp16",
    "32-true": "fp32",
    "32": "fp32",
}

log = logging.getLogger(__name__)


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an unavailable GPU falls back to the
    CPU with a warning."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cuda" and not torch.cuda.is_available():
        log.warning("--device cuda was asked for but no CUDA GPU is available; running on the CPU")
        return torch.device("cpu")
    if device == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        log.warning("--device mps was asked for but Apple MPS is not available; running on the CPU")
        return torch.device("cpu")
    if device not in ("cpu", "cuda", "mps"):
        raise LungNetInputError(None, f"unknown device {device!r} (choose auto, cpu, cuda or mps)")
    return torch.device(device)


def native_bf16(device: torch.device) -> bool:
    """bf16 only where the hardware runs it natively (CUDA Ampere+, CPUs with AMX or AVX512-BF16).

    Emulated bf16 is slower than float32, so callers fall back to float32 elsewhere.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return False


def canonical_precision(value: str | None) -> str:
    """One of :data:`PRECISION_CHOICES` from a user's spelling (Lightning's strings too).

    Raises:
        ConfigError: an unknown precision.
    """
    if value is None:
        return "auto"
    text = str(value).lower()
    if text in PRECISION_CHOICES:
        return text
    if text in _FROM_LIGHTNING:
        return _FROM_LIGHTNING[text]
    raise ConfigError(
        f"precision (--precision) must be one of {', '.join(PRECISION_CHOICES)}, got {value!r}"
    )


@dataclass(frozen=True)
class TrainingDevice:
    """How a training run uses its hardware, every "auto" resolved."""

    accelerator: str  # Lightning's "cpu" or "gpu"
    precision: str  # Lightning's precision string
    channels_last: bool
    loader_workers: int
    deterministic: bool


def training_device(
    device: str = "auto",
    precision: str | None = "auto",
    channels_last: bool | None = None,
    loader_workers: int | None = None,
    deterministic: bool | None = None,
) -> TrainingDevice:
    """Resolve a training run's device settings; ``None``/``"auto"`` pick by the device.

    On CUDA: bf16 mixed precision where supported (else fp16 mixed), channels_last, up to 4
    loader workers, non-deterministic kernels. On the CPU: loading in the main process and
    deterministic algorithms (the same seed gives the same losses on the same machine),
    with bf16 + channels_last where the CPU computes bf16 natively (AMX or AVX512-BF16):
    on such a CPU training runs 2.9x faster end to end than in float32
    (benchmarks/results/train_bench_cpu.json); elsewhere emulated bf16 loses to float32.

    Raises:
        LungNetInputError: CUDA asked for but not available.
        ConfigError: an unknown device or precision.
    """
    choice = {"gpu": "cuda"}.get(device, device)
    if choice not in DEVICE_CHOICES:
        raise ConfigError(
            f"device (--device) must be one of {', '.join(DEVICE_CHOICES)}, got {device!r}"
        )
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "mps":
        raise ConfigError("training on Apple MPS is not supported; use --device cpu")
    on_cuda = choice == "cuda"
    if on_cuda and not torch.cuda.is_available():
        raise LungNetInputError(
            None, f"device {device!r} asked for, but no CUDA device is available"
        )
    fast_bf16 = native_bf16(torch.device(choice))
    wanted = canonical_precision(precision)
    if wanted == "auto":
        wanted = "bf16" if fast_bf16 else ("fp16" if on_cuda else "fp32")
    if loader_workers is None:
        # Augmentation runs on the device, so loader workers only read .npy files: few suffice.
        loader_workers = min(4, max(1, (os.cpu_count() or 2) // 2)) if on_cuda else 0
    return TrainingDevice(
        accelerator="gpu" if on_cuda else "cpu",
        precision=_LIGHTNING_PRECISION[wanted],
        channels_last=(on_cuda or fast_bf16) if channels_last is None else channels_last,
        loader_workers=loader_workers,
        deterministic=(not on_cuda) if deterministic is None else deterministic,
    )


def devices_from_gpus(gpus: int) -> tuple[str, int]:
    """``(device, count)`` for the original's ``--gpus N``: 0 is the CPU, as is a machine
    without CUDA (with a warning)."""
    if gpus == 0:
        return "cpu", 1
    if not torch.cuda.is_available():
        log.warning("--gpus %d asked for, but CUDA is not available; training on the CPU", gpus)
        return "cpu", 1
    return "cuda", gpus


def inference_autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of inference, or None for float32.

    ``auto`` picks bf16 only where the hardware computes it natively (:func:`native_bf16`).
    """
    choice = canonical_precision(precision)
    if choice == "auto":
        choice = "bf16" if native_bf16(device) else "fp32"
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[choice]
