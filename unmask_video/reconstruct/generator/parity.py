"""How close an exported generator is to PyTorch FP32: sample inputs, one threshold table, the measure, the refusal.

Used by the ONNX export (:mod:`.export`, for the ONNX Runtime backend's cache) and by the TensorRT engine
builder, so an FP16 graph and an FP16 engine are held to the same limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from unmask_video.errors import ProcessingError
from unmask_video.metrics import psnr

#: Generator outputs are in [-1, 1].
DATA_RANGE = 2.0
#: Limits per precision: (max abs error, min PSNR in dB) against PyTorch FP32 on outputs in [-1, 1].
THRESHOLDS: dict[str, tuple[float, float]] = {"fp32": (0.01, 50.0), "fp16": (0.1, 30.0)}


@dataclass(frozen=True)
class Parity:
    max_abs_error: float
    psnr_db: float

    def as_dict(self) -> dict[str, float]:
        return {"max_abs_error": self.max_abs_error, "psnr_db": self.psnr_db}

    def __str__(self) -> str:
        return f"max abs error {self.max_abs_error:.2e}, PSNR {self.psnr_db:.1f} dB"


def limits(precision: str, max_abs_error: float | None = None, min_psnr: float | None = None) -> tuple[float, float]:
    """The limits for ``precision`` ("fp32" or "fp16"), each replaced where given."""
    default_abs, default_psnr = THRESHOLDS[precision]
    return (default_abs if max_abs_error is None else max_abs_error, default_psnr if min_psnr is None else min_psnr)


def measure(reference: np.ndarray, candidate: np.ndarray, data_range: float = DATA_RANGE) -> Parity:
    """Max abs error and PSNR of ``candidate`` against ``reference`` (same shape)."""
    if reference.shape != candidate.shape:
        raise ProcessingError(f"output shape {candidate.shape} differs from PyTorch's {reference.shape}: "
                              "the export is broken, report this")
    diff = candidate.astype(np.float64) - reference.astype(np.float64)
    if not np.all(np.isfinite(diff)):
        return Parity(math.inf, -math.inf)
    return Parity(float(np.max(np.abs(diff))), psnr(reference, candidate, peak=data_range))


def check(parity: Parity, what: str, max_abs_error: float, min_psnr: float,
          advice: str = "try FP32, or report the issue") -> None:
    """Raise ProcessingError (one line: what, the figures, the limits, ``advice``) when past either limit."""
    if not (parity.max_abs_error <= max_abs_error and parity.psnr_db >= min_psnr):
        raise ProcessingError(f"{what} disagrees with PyTorch FP32 ({parity}; limits {max_abs_error:g} and "
                              f"{min_psnr:g} dB): refused; {advice}")


def sample_inputs(size: int, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic, face-like generator inputs: smooth random images, a lower-half hole, a reference
    valid over most of the crop."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size

    def smooth() -> np.ndarray:
        out = np.zeros((3, size, size), np.float32)
        for c in range(3):
            a, b, p = rng.uniform(-1, 1, 3)
            out[c] = 0.6 * np.sin(6 * a * xx + 5 * b * yy + 3 * p) + rng.normal(0, 0.1, (size, size))
        return np.clip(out, -1, 1)

    image = np.stack([smooth() for _ in range(batch)])
    reference = np.stack([smooth() for _ in range(batch)])
    mask = np.zeros((batch, 1, size, size), np.float32)
    valid = np.ones((batch, 1, size, size), np.float32)
    for i in range(batch):
        top = int(size * rng.uniform(0.4, 0.6))
        mask[i, 0, top : int(size * 0.95), int(size * 0.15) : int(size * 0.85)] = 1.0
        valid[i, 0, :, : int(size * rng.uniform(0.0, 0.2))] = 0.0
    return {"image": image, "mask": mask, "reference": reference, "ref_valid": valid}


def run_onnx_cpu(path: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The first output of the ONNX file at ``path`` run by ONNX Runtime on the CPU, as float32."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0].astype(np.float32)
