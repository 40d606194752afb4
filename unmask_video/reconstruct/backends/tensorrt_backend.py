"""The ``tensorrt`` generator backend: runs a checked engine with PyTorch CUDA tensors as its bindings.

Nothing here imports TensorRT at module level, so the module (and ``--backend auto``'s decision) works on
a machine without TensorRT or a GPU. :func:`open_for_auto` is what ``--backend auto`` calls: it returns a
backend, or ``None`` plus the reason, so that the caller logs the reason and falls back to the next
backend instead of stopping.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np

from unmask_video.errors import InputError, ProcessingError

from unmask_video.reconstruct.backends import engine_index as index
from unmask_video.reconstruct.backends.engine_sidecar import EngineMeta, EngineRefused, RuntimeInfo, check_engine

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'unmask-video[tensorrt]'"
#: The order of the arrays that Backend.run takes; engine inputs are bound in this order.
RUN_ARGS = ("image", "mask", "reference", "ref_valid")


def unavailable_reason() -> str | None:
    """Why the TensorRT backend cannot run here, or None when it can (TensorRT importable, CUDA GPU)."""
    if importlib.util.find_spec("tensorrt") is None:
        return f"TensorRT is not installed ({INSTALL_HINT})"
    try:
        import tensorrt  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - a broken install (missing CUDA libraries) is a reason, not a crash
        return f"TensorRT is installed but does not load ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]})"
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible to PyTorch (the installed torch is a CPU build, or no driver)"
    return None


def available() -> bool:
    return unavailable_reason() is None


def runtime_info(device: int = 0) -> RuntimeInfo:
    """TensorRT version, GPU name and compute capability of this machine (needs TensorRT and CUDA)."""
    import tensorrt as trt
    import torch

    major, minor = torch.cuda.get_device_capability(device)
    return RuntimeInfo(tensorrt_version=trt.__version__, gpu_name=torch.cuda.get_device_name(device),
                       compute_capability=f"{major}.{minor}")


def trt_logger() -> Any:
    """A tensorrt.ILogger that forwards TensorRT's messages to Python logging (its INFO as DEBUG)."""
    import tensorrt as trt

    sev = trt.ILogger.Severity
    levels = {sev.INTERNAL_ERROR: logging.ERROR, sev.ERROR: logging.ERROR, sev.WARNING: logging.WARNING,
              sev.INFO: logging.DEBUG}

    class Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            log.log(levels.get(severity, logging.DEBUG), "TensorRT: %s", msg)

    return Logger()


def _torch_dtype(trt_dtype: Any) -> Any:
    import tensorrt as trt
    import torch

    table = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16,
             trt.DataType.INT32: torch.int32, trt.DataType.INT64: torch.int64, trt.DataType.BOOL: torch.bool,
             trt.DataType.INT8: torch.int8, trt.DataType.UINT8: torch.uint8}
    if trt_dtype not in table:
        raise ProcessingError(f"engine tensor type {trt_dtype} is not supported by the tensorrt backend: "
                              "rebuild the engine with unmask-video build-engine")
    return table[trt_dtype]


class TensorRTEngine:
    """A deserialised engine plus one execution context and CUDA stream; runs torch CUDA tensors."""

    def __init__(self, engine_bytes: bytes, device: int = 0, source: str = "engine") -> None:
        import tensorrt as trt
        import torch

        self.device = torch.device("cuda", device)
        self._logger = trt_logger()
        self._runtime = trt.Runtime(self._logger)
        with torch.cuda.device(self.device):
            self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
            if self.engine is None:
                raise EngineRefused(f"{source} could not be deserialised by TensorRT {trt.__version__} (corrupt, "
                                    "or built by another TensorRT version): rebuild it with unmask-video build-engine")
            self.context = self.engine.create_execution_context()
            if self.context is None:
                raise ProcessingError(f"TensorRT could not create an execution context for {source} "
                                      "(out of GPU memory?): free GPU memory or use a smaller --batch range")
            self.stream = torch.cuda.Stream(self.device)
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.output_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self._dtypes = {n: _torch_dtype(self.engine.get_tensor_dtype(n)) for n in names}
        lo, _opt, hi = self.engine.get_tensor_profile_shape(self.input_names[0], 0)
        self.min_batch, self.max_batch = int(lo[0]), int(hi[0])

    def __call__(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Run one batch (within the profile's range) of CUDA tensors keyed by input name."""
        import torch

        with torch.cuda.device(self.device), torch.cuda.stream(self.stream):
            bound = {}
            for name in self.input_names:
                t = inputs[name].to(self.device, self._dtypes[name], non_blocking=True).contiguous()
                bound[name] = t
                if not self.context.set_input_shape(name, tuple(t.shape)):
                    raise ProcessingError(f"input {name} of shape {tuple(t.shape)} is outside the engine's "
                                          "profile: rebuild the engine with a matching --batch range")
                self.context.set_tensor_address(name, t.data_ptr())
            outputs = {}
            for name in self.output_names:
                shape = tuple(self.context.get_tensor_shape(name))
                out = torch.empty(shape, dtype=self._dtypes[name], device=self.device)
                outputs[name] = out
                self.context.set_tensor_address(name, out.data_ptr())
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise ProcessingError("TensorRT failed to run the engine (see the log above): rebuild it or "
                                      "use --backend onnxruntime")
        self.stream.synchronize()
        return outputs


def bind_inputs(input_names: list[str], arrays: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    """Map arrays given in :data:`RUN_ARGS` order to the engine's inputs: by name when the engine uses the
    generator's input names (the ONNX route), else by position (torch-tensorrt names them itself)."""
    if len(input_names) != len(arrays):
        raise ProcessingError(f"the engine takes {len(input_names)} inputs, {len(arrays)} were given: rebuild it "
                              "with unmask-video build-engine")
    if set(input_names) == set(RUN_ARGS[:len(arrays)]):
        return {name: arrays[RUN_ARGS.index(name)] for name in input_names}
    return dict(zip(input_names, arrays))


def run_batched(engine: TensorRTEngine, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Run NCHW float32 numpy inputs of any batch size through ``engine``; return its first output.

    Batches larger than the profile's maximum are split; smaller than its minimum are padded.
    """
    import torch

    n = next(iter(arrays.values())).shape[0]
    results = []
    for start in range(0, n, engine.max_batch):
        chunk = {k: torch.from_numpy(np.ascontiguousarray(v[start:start + engine.max_batch], np.float32))
                 for k, v in arrays.items()}
        size = next(iter(chunk.values())).shape[0]
        if size < engine.min_batch:
            chunk = {k: torch.cat([v, v[-1:].expand(engine.min_batch - size, *v.shape[1:])]) for k, v in chunk.items()}
        out = engine({k: v.pin_memory() for k, v in chunk.items()})[engine.output_names[0]]
        results.append(out[:size].float().cpu().numpy())
    return np.concatenate(results, axis=0)


class TensorRTBackend:
    """Generator backend over a checked TensorRT engine (the Backend protocol: name, provider, run)."""

    name = "tensorrt"

    def __init__(self, engine_path: Path | str, weights_sha256: str | None = None, device: int = 0) -> None:
        reason = unavailable_reason()
        if reason:
            raise InputError(f"the tensorrt backend cannot run here: {reason}; use --backend onnxruntime")
        self.engine_path = Path(engine_path)
        self.meta: EngineMeta = check_engine(self.engine_path, runtime_info(device), weights_sha256)
        self._engine = TensorRTEngine(self.engine_path.read_bytes(), device, source=f"engine {self.engine_path}")
        if len(self._engine.input_names) != len(RUN_ARGS):
            raise EngineRefused(f"engine {self.engine_path} has inputs {self._engine.input_names}, the generator "
                                f"backend passes {list(RUN_ARGS)}: rebuild it with `{self.meta.rebuild_command(self.engine_path)}`")
        self.provider = f"TensorRT {self.meta.tensorrt_version} {self.meta.precision} on {self.meta.gpu_name}"
        log.info("tensorrt backend: %s (%s, batch %s)", self.engine_path, self.provider, self.meta.batch)

    def run(self, image: np.ndarray, mask: np.ndarray, reference: np.ndarray, ref_valid: np.ndarray) -> np.ndarray:
        """NCHW float32 arrays in, NCHW float32 generator output out."""
        arrays = bind_inputs(self._engine.input_names, (image, mask, reference, ref_valid))
        return run_batched(self._engine, arrays)


def open_for_auto(weights_sha256: str, engine_path: Path | str | None = None,
                  device: int = 0) -> tuple[TensorRTBackend | None, str]:
    """The ``--backend auto`` decision for TensorRT: ``(backend, "")`` or ``(None, reason to log)``.

    Candidates are ``engine_path`` when given (the user pointed at it), else the engines recorded by
    ``build-engine`` for these weights. Never raises for a missing TensorRT or an unusable engine.
    """
    reason = unavailable_reason()
    if reason:
        return None, reason
    candidates = [Path(engine_path)] if engine_path else index.engines_for(weights_sha256)
    if not candidates:
        return None, ("no TensorRT engine was built for these weights "
                      "(build one with `unmask-video build-engine WEIGHTS -o generator.engine`)")
    reasons = []
    for path in candidates:
        try:
            return TensorRTBackend(path, weights_sha256, device), ""
        except (EngineRefused, ProcessingError, InputError) as exc:
            reasons.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken driver/TensorRT install must not stop the tool
            reasons.append(f"engine {path} could not be loaded ({type(exc).__name__}: {exc})")
        # An engine the user built or named and that cannot be used is worth a warning, not just a note.
        log.warning("not using the TensorRT engine: %s", reasons[-1])
    return None, "; ".join(reasons)
