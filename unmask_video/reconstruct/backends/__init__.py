"""Generator backends: one protocol, a registry, and ``select_backend`` (``--backend``).

Every backend takes NCHW float32 numpy arrays ``image`` (B,3,S,S) and ``reference`` in [-1,1],
``mask`` and ``ref_valid`` (B,1,S,S) in {0,1}, and returns the refined crops (B,3,S,S) float32 in
[-1,1]. ``name`` is the registry name, ``provider`` says what really runs (device, precision,
execution provider), for the run summary.

``auto`` picks: a TensorRT engine built for the weights > PyTorch on CUDA > ONNX Runtime (CUDA /
TensorRT execution providers where present, else CPU).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from unmask_video.errors import InputError

log = logging.getLogger(__name__)

BACKEND_CHOICES = ("auto", "torch", "onnxruntime", "tensorrt")
DEVICE_CHOICES = ("auto", "cpu", "cuda")


class Backend(Protocol):
    name: str
    provider: str

    def run(
        self, image: np.ndarray, mask: np.ndarray, reference: np.ndarray, ref_valid: np.ndarray
    ) -> np.ndarray:
        """A batch of crops in, the refined batch out (NCHW float32, [-1,1])."""
        ...


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return False
    return bool(torch.cuda.is_available())


def _check_device(device: str) -> str:
    if device not in DEVICE_CHOICES:
        raise InputError(f"unknown --device {device!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if device == "cuda" and not cuda_available():
        raise InputError("--device cuda was asked but no CUDA GPU is visible to PyTorch; use --device cpu")
    return device


def _torch(weights_path: Path, device: str, **kw: Any) -> Backend:
    from unmask_video.reconstruct.backends.torch_backend import TorchBackend

    dev = "cuda" if device == "cuda" or (device == "auto" and cuda_available()) else "cpu"
    return TorchBackend(weights_path, device=dev, **kw)


def _onnxruntime(weights_path: Path, device: str, **kw: Any) -> Backend:
    from unmask_video.reconstruct.backends.onnx_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(weights_path, gpu=device != "cpu", **kw)


def _tensorrt(weights_path: Path, device: str, engine: str | Path | None = None, **kw: Any) -> Backend:
    if device == "cpu":
        raise InputError("--backend tensorrt needs a CUDA GPU; drop --device cpu or use --backend onnxruntime")
    try:
        from unmask_video.reconstruct.backends.tensorrt_backend import TensorRTBackend, open_for_auto  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"--backend tensorrt is not available in this installation ({exc}); use --backend onnxruntime"
        ) from None
    from unmask_video.reconstruct.generator.weights import file_sha256

    digest = file_sha256(weights_path)
    if engine is None:
        backend, reason = open_for_auto(digest)
        if backend is None:
            raise InputError(f"--backend tensorrt cannot run here: {reason}; use --backend onnxruntime or auto")
        return backend
    return TensorRTBackend(engine, digest)


#: name -> factory(weights_path, device, **options)
REGISTRY: dict[str, Callable[..., Backend]] = {
    "torch": _torch,
    "onnxruntime": _onnxruntime,
    "tensorrt": _tensorrt,
}


def _auto(weights_path: Path, device: str, engine: str | Path | None = None, **kw: Any) -> Backend:
    if device != "cpu":
        try:
            from unmask_video.reconstruct.backends.tensorrt_backend import open_for_auto

            from unmask_video.reconstruct.generator.weights import file_sha256

            backend, reason = open_for_auto(file_sha256(weights_path), engine)
            if backend is not None:
                return backend
            log.info("backend auto: no TensorRT (%s)", reason)
        except ImportError as exc:
            log.info("backend auto: no TensorRT (%s)", exc)
        if cuda_available():
            return _torch(weights_path, "cuda", **kw)
    return _onnxruntime(weights_path, device, **kw)


def select_backend(
    name: str,
    weights_path: str | Path,
    device: str = "auto",
    engine: str | Path | None = None,
    **options: Any,
) -> Backend:
    """The backend ``name`` (one of :data:`BACKEND_CHOICES`) for ``weights_path`` on ``device``.

    Unknown names, unavailable devices and an unusable ``tensorrt`` give one-line InputErrors.
    ``options`` go to the backend's constructor (e.g. ``threads`` for onnxruntime).
    """
    if name not in BACKEND_CHOICES:
        raise InputError(f"unknown --backend {name!r}; choose one of {', '.join(BACKEND_CHOICES)}")
    device = _check_device(device)
    from unmask_video.reconstruct.generator.weights import read_metadata

    weights_path = Path(weights_path)
    read_metadata(weights_path)  # one-line error for a missing / corrupt file, before any backend work
    if name == "auto":
        backend = _auto(weights_path, device, engine, **options)
    elif name == "tensorrt":
        backend = _tensorrt(weights_path, device, engine)
    else:
        backend = REGISTRY[name](weights_path, device, **options)
    log.info("generator backend: %s (%s)", backend.name, backend.provider)
    return backend
