"""Mixed-precision FP16 ONNX for strongly typed TensorRT builds.

TensorRT 11 builds only strongly typed networks: the precision of every layer is the precision of its
tensors in the ONNX graph, and the FP16 builder flag no longer exists. This module rewrites a checked FP32
export into a mixed-precision graph:

- the compute-heavy, numerically tame ops (convolutions, matrix products, element-wise arithmetic,
  activations, data movement) run in FP16;
- everything else stays FP32, in particular the numerically fragile parts: the attention softmax,
  exponentials, and normalisation statistics (``*Normalization`` ops, reductions, powers, square roots),
  which overflow or lose their small differences in FP16;
- graph inputs and outputs keep their FP32 type (the backend contract is float32 NCHW); casts are inserted
  at the boundaries.

An op of the FP16 list runs in FP16 only when one of its inputs is an *activation* (a tensor computed from
the graph inputs other than through a statistic: a reduction, a power, a square root), so the arithmetic on
FP32 statistics (``var + eps`` in a decomposed layer norm, say) stays FP32, while the output of an FP32
normalisation or softmax goes back to FP16 for the next convolution.
Graphs with control flow (If/Loop/Scan) are refused: the generator is a plain feed-forward network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from unmask_video.errors import ProcessingError

log = logging.getLogger(__name__)

FLOAT = TensorProto.FLOAT
FLOAT16 = TensorProto.FLOAT16
_FP16_MAX = float(np.finfo(np.float16).max)

#: Ops that run in FP16. Anything not listed (including unknown ops) keeps FP32.
FP16_OPS: frozenset[str] = frozenset({
    "Conv", "ConvTranspose", "MatMul", "Gemm", "Einsum",
    "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Max", "Min", "Clip", "Where",
    "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Gelu", "Erf",
    "Concat", "Split", "Slice", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Expand", "Tile",
    "Gather", "Identity", "Dropout", "Pad", "MaxPool", "AveragePool", "Resize", "DepthToSpace", "SpaceToDepth",
})

#: The numerically fragile ops that must stay FP32 (documentation and a guard: none may be in FP16_OPS).
FRAGILE_FP32_OPS: frozenset[str] = frozenset({
    "Softmax", "LogSoftmax", "Exp", "Log",
    "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
    "RMSNormalization", "MeanVarianceNormalization", "LpNormalization",
    "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "Pow", "Sqrt",
    "Reciprocal", "GlobalAveragePool",
})
assert not FP16_OPS & FRAGILE_FP32_OPS

#: FP32 ops whose output is a statistic of the activations, not an activation (see the module docstring).
_STATISTIC_OPS: frozenset[str] = frozenset({
    "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceMax",
    "ReduceMin", "ReduceProd", "Pow", "Sqrt", "Reciprocal", "GlobalAveragePool", "Shape", "Size",
})

#: Ops whose FP16 version takes only some of its float inputs in FP16 (the others are scales, a region
#: of interest...). Every other op takes all of its float inputs in its own precision.
_DATA_INPUTS: dict[str, tuple[int, ...]] = {"Resize": (0,), "Pad": (0, 2), "Where": (1, 2)}

_CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})
#: Ops that read only the shape of their input: they take it in whatever precision it comes.
_SHAPE_ONLY_OPS = frozenset({"Shape", "Size"})


@dataclass
class Fp16Report:
    """What the conversion did: how many nodes run in each precision, and which ops stayed FP32."""

    fp16_nodes: int = 0
    fp32_nodes: int = 0
    casts_inserted: int = 0
    fp32_op_types: list[str] = field(default_factory=list)


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor that shape inference can type."""
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
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


def convert_to_fp16(model: onnx.ModelProto) -> tuple[onnx.ModelProto, Fp16Report]:
    """Return a mixed-precision copy of ``model`` (FP32 in, FP32 out) and a report.

    Raises ProcessingError when the graph holds control flow or the converted graph fails the ONNX checker.
    """
    src = onnx.ModelProto()
    src.CopyFrom(model)
    g = src.graph
    if any(n.op_type in _CONTROL_FLOW for n in g.node):
        raise ProcessingError("the generator's ONNX graph has control flow (If/Loop/Scan), which the FP16 "
                              "conversion does not handle: build with --precision fp32")
    types = _elem_types(src)
    inits = {t.name: t for t in g.initializer}
    graph_inputs = {i.name for i in g.input} - set(inits)

    # Current precision of each float tensor as the rewritten graph produces it.
    dtype: dict[str, int] = {name: FLOAT for name, t in types.items() if t == FLOAT}
    activations: set[str] = set(graph_inputs)
    casts: dict[tuple[str, int], str] = {}
    new_inits: list[TensorProto] = []
    new_nodes: list[onnx.NodeProto] = []
    report = Fp16Report()
    fp32_types: set[str] = set()

    def as_type(name: str, to: int) -> str:
        """Name of a tensor holding ``name`` converted to ``to``, creating it on first use."""
        key = (name, to)
        if key in casts:
            return casts[key]
        new_name = f"{name}__{'fp16' if to == FLOAT16 else 'fp32'}"
        if name in inits and to == FLOAT16:
            arr = numpy_helper.to_array(inits[name]).astype(np.float32)
            arr = np.clip(arr, -_FP16_MAX, _FP16_MAX).astype(np.float16)
            new_inits.append(numpy_helper.from_array(arr, new_name))
        else:
            new_nodes.append(helper.make_node("Cast", [name], [new_name], to=to, name=f"cast_{new_name}"))
            report.casts_inserted += 1
        casts[key] = new_name
        dtype[new_name] = to
        return new_name

    for node in g.node:
        float_inputs = [i for i, name in enumerate(node.input) if name and dtype.get(name) is not None]
        data_idx = _DATA_INPUTS.get(node.op_type)
        data_inputs = [i for i in float_inputs if data_idx is None or i in data_idx]
        is_activation = node.op_type not in _STATISTIC_OPS and any(
            node.input[i] in activations for i in data_inputs)
        runs_fp16 = node.op_type in FP16_OPS and is_activation
        target = FLOAT16 if runs_fp16 else FLOAT
        for i in [] if node.op_type in _SHAPE_ONLY_OPS else float_inputs:
            want = target if i in data_inputs else FLOAT
            name = node.input[i]
            if dtype[name] != want:
                node.input[i] = as_type(name, want)
        for out in node.output:
            if types.get(out) == FLOAT or (out not in types and runs_fp16 and out == node.output[0]):
                dtype[out] = target
                if is_activation:
                    activations.add(out)
        if runs_fp16:
            report.fp16_nodes += 1
        elif node.op_type != "Constant" and float_inputs:
            report.fp32_nodes += 1
            fp32_types.add(node.op_type)
        new_nodes.append(node)

    # Graph outputs keep FP32: rename an FP16 producer's output and cast it back under the public name.
    for out in g.output:
        if dtype.get(out.name) == FLOAT16:
            internal = f"{out.name}__fp16_out"
            for n in new_nodes:
                for k, name in enumerate(n.output):
                    if name == out.name:
                        n.output[k] = internal
                for k, name in enumerate(n.input):
                    if name == out.name:
                        n.input[k] = internal
            new_nodes.append(helper.make_node("Cast", [internal], [out.name], to=FLOAT, name=f"cast_{out.name}"))
            report.casts_inserted += 1

    del g.node[:]
    g.node.extend(new_nodes)
    g.initializer.extend(new_inits)
    del g.value_info[:]  # stale types; shape inference below recomputes them
    used = {name for n in g.node for name in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    try:
        onnx.checker.check_model(src)
        src = onnx.shape_inference.infer_shapes(src, strict_mode=True)
    except Exception as exc:  # noqa: BLE001 - any checker failure means the conversion is wrong
        raise ProcessingError(f"the FP16 ONNX conversion produced an invalid graph ({exc}); "
                              "build with --precision fp32 and report this") from exc
    report.fp32_op_types = sorted(fp32_types)
    log.info("FP16 ONNX: %d nodes in FP16, %d in FP32 (%s), %d casts", report.fp16_nodes, report.fp32_nodes,
             ", ".join(report.fp32_op_types) or "none", report.casts_inserted)
    return src, report


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
