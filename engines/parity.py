"""Parity of a built model against PyTorch FP32 on sample inputs: max abs error, PSNR, and the refusal."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from unmask_video.errors import ProcessingError
from unmask_video.reconstruct.generator.export import psnr

#: Generator outputs are in [-1, 1].
DATA_RANGE = 2.0
#: Default limits per precision: (max abs error, min PSNR in dB) on outputs in [-1, 1].
THRESHOLDS: dict[str, tuple[float, float]] = {"fp32": (0.01, 50.0), "fp16": (0.1, 30.0)}


@dataclass(frozen=True)
class Parity:
    max_abs_error: float
    psnr_db: float

    def as_dict(self) -> dict[str, float]:
        return {"max_abs_error": self.max_abs_error, "psnr_db": self.psnr_db}

    def __str__(self) -> str:
        return f"max abs error {self.max_abs_error:.2e}, PSNR {self.psnr_db:.1f} dB"


def measure(reference: np.ndarray, candidate: np.ndarray, data_range: float = DATA_RANGE) -> Parity:
    """Max abs error and PSNR of ``candidate`` against ``reference`` (same shape)."""
    if reference.shape != candidate.shape:
        raise ProcessingError(f"output shape {candidate.shape} differs from PyTorch's {reference.shape}: "
                              "the export is broken, report this")
    diff = candidate.astype(np.float64) - reference.astype(np.float64)
    if not np.all(np.isfinite(diff)):
        return Parity(math.inf, -math.inf)
    return Parity(float(np.max(np.abs(diff))), psnr(reference, candidate, data_range))


def check(parity: Parity, what: str, max_abs_error: float, min_psnr: float) -> None:
    """Raise ProcessingError when ``parity`` is past either limit."""
    if not (parity.max_abs_error <= max_abs_error and parity.psnr_db >= min_psnr):
        raise ProcessingError(f"{what} does not match PyTorch FP32 ({parity}; limits {max_abs_error:g} and "
                              f"{min_psnr:g} dB): refused; try --precision fp32, or loosen --max-abs-error/--min-psnr")


def sample_inputs(names: list[str], shapes: list[list[int]], batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic generator inputs: images in [-1, 1] for 3-channel inputs, {0, 1} maps for 1-channel ones."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in zip(names, shapes):
        full = (batch, *shape)
        if shape[0] == 1:
            out[name] = (rng.random(full) < 0.5).astype(np.float32)
        else:
            out[name] = (rng.random(full) * 2.0 - 1.0).astype(np.float32)
    return out
