"""Which device runs the network, and whether it computes bf16 natively there."""

from __future__ import annotations

import logging

import torch

from lungnet.errors import LungNetInputError

__all__ = ["resolve_device", "native_bf16"]

log = logging.getLogger(__name__)


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; an unavailable GPU falls back to the CPU with a warning."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cuda" and not torch.cuda.is_available():
        log.warning("--device cuda was asked for but no CUDA GPU is available; running on the CPU")
        return torch.device("cpu")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
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
