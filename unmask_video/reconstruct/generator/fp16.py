"""The one FP16 policy for exported generators: ONNX Runtime's float16 converter with a block list.

Used by the FP16 ONNX Runtime export (:mod:`.export`) and by the TensorRT engine builder (TensorRT 11 builds
strongly typed networks only: the precision of every layer is the precision of its tensors in the graph).

- Everything runs in FP16 except the ops of :data:`FP32_OPS`: the numerically fragile ones (the attention
  softmax, exponentials and logarithms, normalisation ops and their statistics: reductions, powers, square
  roots), which overflow or lose their small differences in FP16; plus ONNX Runtime's own default block list.
- A value passed from one FP32 op to another stays FP32: the converter casts it down and up again between
  two blocked ops, and that round trip is removed (a sum of squares overflows FP16 long before its mean).
- Graph inputs and outputs keep their FP32 type (the backend contract is float32 NCHW).

Graphs with control flow (If/Loop/Scan) are refused: the generator is a plain feed-forward network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import onnx
from onnx import TensorProto

from unmask_video.errors import ProcessingError

log = logging.getLogger(__name__)

FLOAT = TensorProto.FLOAT
FLOAT16 = TensorProto.FLOAT16

#: The numerically fragile ops that stay FP32 (with ONNX Runtime's default block list, see :func:`block_list`).
FP32_OPS: frozenset[str] = frozenset({
    "Softmax", "LogSoftmax", "Exp", "Log",
    "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
    "RMSNormalization", "MeanVarianceNormalization", "LpNormalization",
    "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "Pow", "Sqrt",
    "Reciprocal", "GlobalAveragePool",
})  # fmt: skip

_CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})
_NO_COMPUTE = frozenset({"Cast", "Constant", "Shape", "Size"})


@dataclass
class Fp16Report:
    """What the conversion gave: how many nodes compute in each precision, and which ops stayed FP32."""

    fp16_nodes: int = 0
    fp32_nodes: int = 0
    casts: int = 0
    fp32_op_types: list[str] = field(default_factory=list)


def block_list() -> list[str]:
    """The ops the converter keeps in FP32: :data:`FP32_OPS` and ONNX Runtime's defaults."""
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST

    return sorted(FP32_OPS | set(DEFAULT_OP_BLOCK_LIST))


def convert_to_fp16(model: onnx.ModelProto) -> tuple[onnx.ModelProto, Fp16Report]:
    """Return the mixed-precision copy of ``model`` (FP32 in, FP32 out) and a report.

    Raises ProcessingError when the graph holds control flow or the converted graph fails the ONNX checker.
    """
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    if any(n.op_type in _CONTROL_FLOW for n in model.graph.node):
        raise ProcessingError("the generator's ONNX graph has control flow (If/Loop/Scan), which the FP16 "
                              "conversion does not handle: use FP32 (--precision fp32)")
    source = onnx.ModelProto()
    source.CopyFrom(model)
    converted = convert_float_to_float16(source, keep_io_types=True, op_block_list=block_list())
    _drop_round_trips(converted)
    wrapper = OnnxModel(converted)
    wrapper.topological_sort()  # the converter appends its casts after their consumers
    converted = wrapper.model
    del converted.graph.value_info[:]  # stale types; shape inference below recomputes them
    try:
        onnx.checker.check_model(converted)
        converted = onnx.shape_inference.infer_shapes(converted, strict_mode=True)
    except Exception as exc:  # noqa: BLE001 - any checker failure means the conversion is wrong
        raise ProcessingError(f"the FP16 ONNX conversion produced an invalid graph ({exc}); "
                              "use FP32 and report this") from exc
    report = _report(converted)
    log.info("FP16 ONNX: %d nodes in FP16, %d in FP32 (%s), %d casts", report.fp16_nodes, report.fp32_nodes,
             ", ".join(report.fp32_op_types) or "none", report.casts)
    return converted, report


def _cast_to(node: onnx.NodeProto) -> int | None:
    return next((a.i for a in node.attribute if a.name == "to"), None) if node.op_type == "Cast" else None


def _drop_round_trips(model: onnx.ModelProto) -> None:
    """Remove FP32 -> FP16 -> FP32 cast pairs: the value goes from one FP32 op to the next unrounded."""
    g = model.graph
    types = _elem_types(model)
    producer = {out: node for node in g.node for out in node.output}
    graph_outputs = {o.name for o in g.output}
    rename: dict[str, str] = {}
    dropped: set[int] = set()
    for node in g.node:
        up = producer.get(node.input[0]) if node.input else None
        if (_cast_to(node) == FLOAT and up is not None and _cast_to(up) == FLOAT16
                and types.get(up.input[0]) == FLOAT and node.output[0] not in graph_outputs):
            rename[node.output[0]] = up.input[0]
            dropped.add(id(node))
    kept = [n for n in g.node if id(n) not in dropped]
    for node in kept:
        node.input[:] = [rename.get(name, name) for name in node.input]
    used = {name for n in kept for name in n.input} | graph_outputs
    kept = [n for n in kept if _cast_to(n) != FLOAT16 or any(out in used for out in n.output)]
    del g.node[:]
    g.node.extend(kept)


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor that shape inference can type."""
    g = onnx.shape_inference.infer_shapes(model).graph
    types: dict[str, int] = {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type:
            types[vi.name] = vi.type.tensor_type.elem_type
    for init in g.initializer:
        types[init.name] = init.data_type
    for node in g.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    types[node.output[0]] = attr.t.data_type
    return types


def _report(model: onnx.ModelProto) -> Fp16Report:
    types = _elem_types(model)
    report = Fp16Report()
    fp32_types: set[str] = set()
    for node in model.graph.node:
        if node.op_type == "Cast":
            report.casts += 1
        if node.op_type in _NO_COMPUTE:
            continue
        floats = {types.get(name) for name in node.input if name} & {FLOAT, FLOAT16}
        if FLOAT16 in floats:
            report.fp16_nodes += 1
        elif FLOAT in floats:
            report.fp32_nodes += 1
            fp32_types.add(node.op_type)
    report.fp32_op_types = sorted(fp32_types)
    return report


def node_precisions(model: onnx.ModelProto) -> dict[str, set[int]]:
    """For each op type, the set of element types its first input has (after shape inference).

    Used by tests and logs to show which ops run in which precision.
    """
    types = _elem_types(model)
    result: dict[str, set[int]] = {}
    for node in model.graph.node:
        if node.input and node.input[0] in types:
            result.setdefault(node.op_type, set()).add(types[node.input[0]])
    return result
