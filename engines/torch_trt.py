"""The torch-tensorrt route (``build-engine --builder torch-tensorrt``): PyTorch -> TensorRT engine bytes.

torch-tensorrt builds strongly typed engines from the dtypes in the exported program (its serialised-
engine API has no precision flag), so for FP16 the model itself is cast to half, with the numerically
fragile parts of the product's FP16 policy (:mod:`unmask_video.reconstruct.generator.fp16`) kept in FP32 by
:class:`Fp32Islands` while the model is exported: softmax and the normalisation functions take FP32 inputs
and hand FP16 back. Inputs and outputs stay float32 (the backend
contract) through :class:`HalfWithFloatIO`. The result is a plain serialised TensorRT engine, loaded by
the same runtime and checked by the same sidecar as the ONNX route's.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from unmask_video.reconstruct.generator.fp16 import FP32_OPS

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'unmask-video[torch-tensorrt]'"

_F = torch.nn.functional
#: The PyTorch functions behind the ONNX ops of the product's FP16 policy that a module calls directly.
FUNCTIONS_BY_OP: dict[str, tuple[Callable[..., Any], ...]] = {
    "Softmax": (torch.softmax, _F.softmax, torch.Tensor.softmax, _F.scaled_dot_product_attention),
    "LogSoftmax": (torch.log_softmax, _F.log_softmax, torch.Tensor.log_softmax),
    "BatchNormalization": (_F.batch_norm, torch.batch_norm),
    "InstanceNormalization": (_F.instance_norm, torch.instance_norm),
    "LayerNormalization": (_F.layer_norm, torch.layer_norm),
    "GroupNormalization": (_F.group_norm, torch.group_norm),
}
#: Functions that run in FP32 inside an FP16 model: those of the FP16 policy's FP32 ops (attention softmax,
#: normalisation). The policy's statistic ops (reductions, powers) are left to these fused functions here.
FP32_FUNCTIONS: frozenset[Callable[..., Any]] = frozenset(
    f for op, functions in FUNCTIONS_BY_OP.items() if op in FP32_OPS for f in functions
)


def unavailable_reason() -> str | None:
    if importlib.util.find_spec("torch_tensorrt") is None:
        return f"torch-tensorrt is not installed ({INSTALL_HINT})"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible to PyTorch"
    return None


def _up(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dtype in (torch.float16, torch.bfloat16):
        return value.float()
    if isinstance(value, (list, tuple)):
        return type(value)(_up(v) for v in value)
    return value


class Fp32Islands(TorchFunctionMode):
    """While active, the functions in FP32_FUNCTIONS compute in FP32 and return their input's dtype."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        if func in FP32_FUNCTIONS:
            low = next((a.dtype for a in args if isinstance(a, torch.Tensor)
                        and a.dtype in (torch.float16, torch.bfloat16)), None)
            if low is not None:
                kwargs = {k: _up(v) for k, v in kwargs.items()}
                if "dtype" in kwargs:
                    kwargs["dtype"] = torch.float32
                return func(*_up(tuple(args)), **kwargs).to(low)
        return func(*args, **kwargs)


class HalfWithFloatIO(nn.Module):
    """An FP16 copy of ``model`` that takes and returns float32 tensors (fragile parts in FP32)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.inner = copy.deepcopy(model).half().eval()

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        with Fp32Islands():
            out = self.inner(*(x.half() for x in inputs))
        return out.float()


def export_program(model: nn.Module, shapes: Sequence[Sequence[int]], batch: tuple[int, int, int],
                   precision: str, device: torch.device | str = "cpu") -> torch.export.ExportedProgram:
    """torch.export ``model`` (FP16 with FP32 islands when ``precision == "fp16"``), batch axis dynamic."""
    lo, opt, hi = batch
    module: nn.Module = HalfWithFloatIO(model) if precision == "fp16" else model.eval()
    module = module.to(device)
    example_batch = min(max(opt, 2), hi)  # torch.export specialises a size-1 axis
    example = tuple(torch.rand((example_batch, *s), device=device) for s in shapes)
    dynamic = None
    if hi > lo:
        dim = torch.export.Dim("batch", min=lo, max=hi)
        dynamic = tuple({0: dim} for _ in shapes)
        if isinstance(module, HalfWithFloatIO):
            dynamic = (dynamic,)  # HalfWithFloatIO.forward takes *inputs
    else:
        example = tuple(torch.rand((lo, *s), device=device) for s in shapes)
    return torch.export.export(module, example, dynamic_shapes=dynamic)


def build_serialized(model: nn.Module, shapes: Sequence[Sequence[int]], batch: tuple[int, int, int],
                     precision: str, timing_cache: Path, workspace_mib: int, device: int = 0) -> bytes:
    """Serialised TensorRT engine bytes for ``model`` through torch-tensorrt (needs a GPU)."""
    import torch_tensorrt

    dev = torch.device("cuda", device)
    program = export_program(model, shapes, batch, precision, dev)
    lo, opt, hi = batch
    inputs = [torch_tensorrt.Input(min_shape=(lo, *s), opt_shape=(opt, *s), max_shape=(hi, *s), dtype=torch.float32)
              for s in shapes]
    timing_cache.parent.mkdir(parents=True, exist_ok=True)
    log.info("torch-tensorrt %s: building a %s engine", torch_tensorrt.__version__, precision)
    engine = torch_tensorrt.dynamo.convert_exported_program_to_serialized_trt_engine(
        program, arg_inputs=inputs, device=dev, workspace_size=workspace_mib << 20,
        timing_cache_path=str(timing_cache), min_block_size=1, require_full_compilation=True)
    return bytes(engine)
