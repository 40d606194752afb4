"""TensorRT engines: everything around TensorRT on a CPU, and the real build/run where TensorRT and a GPU are.

FP16 ONNX checks run with ONNX Runtime on the CPU against PyTorch FP32. Sidecar refusals and the
``--backend auto`` fallback are tested with fakes standing in for TensorRT only where a decision is tested;
no test pretends an engine was built.
"""

from __future__ import annotations

import argparse
import io
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto
from onnx.reference import ReferenceEvaluator

from unmask_video.reconstruct.generator import parity
from unmask_video.reconstruct.backends import engine_index as index
from unmask_video.reconstruct.backends import engine_sidecar as sidecar
from unmask_video.reconstruct.backends import tensorrt_backend as runtime
from unmask_video.engines.build import BatchRange
from unmask_video.cli import build_parser
from unmask_video.engines.cli import run as run_build_engine
from unmask_video.reconstruct.generator.fp16 import FP32_OPS, block_list, convert_to_fp16, node_precisions
from unmask_video.reconstruct.backends.engine_sidecar import EngineMeta, EngineRefused, RuntimeInfo
from unmask_video.errors import InputError, ProcessingError

HAS_TRT = runtime.available()
needs_trt = [pytest.mark.tensorrt, pytest.mark.gpu,
             pytest.mark.skipif(not HAS_TRT, reason=f"needs TensorRT and a CUDA GPU: {runtime.unavailable_reason()}")]


# ---------------------------------------------------------------------------------------------- helpers
class ToyNet(torch.nn.Module):
    """Conv, GroupNorm, LayerNorm, attention softmax, a hand-written (decomposed) normalisation, resize."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.gn = torch.nn.GroupNorm(2, 8)
        self.ln = torch.nn.LayerNorm(8)
        self.out = torch.nn.Conv2d(8, 3, 1)

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        y = self.gn(self.conv(torch.cat([x, m], 1)))
        b, c, h, w = y.shape
        q = self.ln(y.flatten(2).transpose(1, 2))
        attn = torch.softmax(q @ q.transpose(1, 2) / 8, dim=-1)
        mu = y.mean(dim=(2, 3), keepdim=True)
        var = ((y - mu) ** 2).mean(dim=(2, 3), keepdim=True)
        y = (attn @ q).transpose(1, 2).reshape(b, c, h, w) + (y - mu) / torch.sqrt(var + 1e-5)
        y = torch.nn.functional.interpolate(y, scale_factor=2, mode="bilinear")
        return torch.tanh(self.out(y))


class DecomposedNorm(torch.nn.Module):
    """A normalisation written out by hand: its variance overflows FP16 for inputs of a few hundred."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(dim=(2, 3), keepdim=True)
        var = ((x - mu) ** 2).mean(dim=(2, 3), keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-5)


def export(model: torch.nn.Module, args: tuple[torch.Tensor, ...], names: list[str]) -> onnx.ModelProto:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args, buf, dynamo=False, input_names=names, output_names=["y"],
                          dynamic_axes={n: {0: "b"} for n in [*names, "y"]}, opset_version=17)
    return onnx.load_from_string(buf.getvalue())


def ort_run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def naive_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Everything FP16 (what a plain ``.half()`` export gives), float32 at the edges: the thing to avoid."""
    from onnx import helper, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in g.node:
        if node.op_type == "Constant" and node.attribute[0].t.data_type == TensorProto.FLOAT:
            node.attribute[0].t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(node.attribute[0].t).astype(np.float16)))
    first = helper.make_node("Cast", [g.input[0].name], ["x16"], to=TensorProto.FLOAT16)
    for node in g.node:
        node.input[:] = ["x16" if i == g.input[0].name else i for i in node.input]
        node.output[:] = ["y16" if o == "y" else o for o in node.output]
    nodes = [first, *g.node, helper.make_node("Cast", ["y16"], ["y"], to=TensorProto.FLOAT)]
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]
    return m


def meta_for(engine_path: Path, **over: object) -> EngineMeta:
    fields = dict(tensorrt_version="11.0.0.114", gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0",
                  weights_sha256="a" * 64, precision="fp16", builder="tensorrt", batch=(1, 2, 4),
                  inputs={"image": [3, 64, 64]}, outputs={"refined": [3, 64, 64]}, engine_sha256="",
                  engine_bytes=0, build_time="2026-01-01T00:00:00+00:00", build_seconds=1.0,
                  weights_path="gen.safetensors")
    fields.update(over)
    return EngineMeta(**fields)  # type: ignore[arg-type]


HERE = RuntimeInfo("11.0.0.114", "NVIDIA H100 80GB HBM3", "9.0")


@pytest.fixture
def tiny_weights(tmp_path: Path) -> Path:
    from unmask_video.reconstruct.generator.networks import create_generator
    from unmask_video.reconstruct.generator.layers import init_weights
    from unmask_video.reconstruct.generator.weights import save_weights

    torch.manual_seed(0)
    model = init_weights(create_generator("tiny"), "kaiming", zero_heads=False).eval()
    path = tmp_path / "tiny.safetensors"
    save_weights(model, path)
    return path


# ---------------------------------------------------------------------------------------------- FP16 ONNX
def test_fp16_onnx_keeps_fragile_ops_fp32_and_matches_pytorch() -> None:
    torch.manual_seed(0)
    net = ToyNet().eval()
    x, m = torch.rand(2, 3, 16, 16) * 2 - 1, (torch.rand(2, 1, 16, 16) > 0.5).float()
    converted, report = convert_to_fp16(export(net, (x, m), ["x", "m"]))

    precisions = node_precisions(converted)
    for op in ("Softmax", "InstanceNormalization", "LayerNormalization", "ReduceMean", "Pow", "Sqrt"):
        assert precisions[op] == {TensorProto.FLOAT}, op
    for op in ("Conv", "MatMul", "Resize", "Tanh"):
        assert precisions[op] == {TensorProto.FLOAT16}, op
    assert report.fp16_nodes > report.fp32_nodes // 2
    assert [i.type.tensor_type.elem_type for i in converted.graph.input] == [TensorProto.FLOAT] * 2
    assert converted.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert any(i.data_type == TensorProto.FLOAT16 for i in converted.graph.initializer)

    expected = net(x, m).detach().numpy()
    got = ort_run(converted, {"x": x.numpy(), "m": m.numpy()})
    assert got.dtype == np.float32 and got.shape == (2, 3, 32, 32)
    p = parity.measure(expected, got)
    assert p.max_abs_error < 1e-2 and p.psnr_db > 50, p
    # and computed strictly in the declared types (FP16 where the graph says so)
    strict = parity.measure(expected, ReferenceEvaluator(converted).run(None, {"x": x.numpy(), "m": m.numpy()})[0])
    assert 0 < strict.max_abs_error < 2e-2 and strict.psnr_db > 45, strict


def test_fp16_statistics_stay_fp32_where_fp16_would_overflow() -> None:
    net = DecomposedNorm()
    x = torch.rand(1, 2, 16, 16) * 600.0  # squared deviations reach ~9e4 > 65504 (FP16 max)
    model = export(net, (x,), ["x"])
    expected = net(x).numpy()
    # ONNX's reference evaluator computes in the graph's declared types, as a strongly typed TensorRT
    # engine does (ONNX Runtime's CPU provider quietly runs FP16 ops that lack FP16 kernels in FP32).
    with np.errstate(all="ignore"):
        naive = ReferenceEvaluator(naive_fp16(model)).run(None, {"x": x.numpy()})[0]
    assert not np.all(np.isfinite(naive))  # the failure the conversion guards against
    converted, _ = convert_to_fp16(model)
    got = ReferenceEvaluator(converted).run(None, {"x": x.numpy()})[0]
    assert np.all(np.isfinite(got))
    assert np.abs(got - expected).max() < 0.02


def test_fp16_block_list_covers_the_fragile_ops() -> None:
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST

    assert {"Softmax", "LayerNormalization", "InstanceNormalization", "ReduceMean"} <= FP32_OPS
    assert FP32_OPS | set(DEFAULT_OP_BLOCK_LIST) == set(block_list())
    assert not {"Conv", "MatMul", "Add", "Mul", "Resize"} & set(block_list())  # the heavy ops do run in FP16
    from unmask_video.engines.torch_trt import FP32_FUNCTIONS, FUNCTIONS_BY_OP  # the torch-tensorrt route's islands

    assert set(FUNCTIONS_BY_OP) <= FP32_OPS and torch.softmax in FP32_FUNCTIONS and torch.layer_norm in FP32_FUNCTIONS


def test_fp16_refuses_control_flow() -> None:
    from onnx import helper

    then = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1])])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=then)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                                            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    with pytest.raises(ProcessingError, match="control flow"):
        convert_to_fp16(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def test_generator_export_fp16_variant_matches_pytorch_fp32(tiny_weights: Path, tmp_path: Path) -> None:
    """The generator's checked export, made FP16 for a strongly typed build, run by ONNX Runtime."""
    from unmask_video.reconstruct.generator.export import PytorchReference, export_onnx, measure_onnx
    from unmask_video.reconstruct.generator.weights import load_weights

    fp32 = export_onnx(tiny_weights, tmp_path / "g.onnx", batch_dynamic=True).path
    fp16 = export_onnx(tiny_weights, tmp_path / "g16.onnx", batch_dynamic=True, fp16=True).path
    precisions = node_precisions(onnx.load(str(fp16)))
    assert precisions["Softmax"] == {TensorProto.FLOAT}
    assert TensorProto.FLOAT16 in precisions["Conv"]
    ref = PytorchReference(load_weights(tiny_weights))
    p16 = measure_onnx(ref, fp16, batch=2)
    p32 = measure_onnx(ref, fp32, batch=2)
    max_abs, min_psnr = parity.THRESHOLDS["fp16"]
    parity.check(p16, "fp16 onnx", max_abs, min_psnr)
    assert p32.max_abs_error < p16.max_abs_error  # FP16 really is in the graph
    assert p16.psnr_db > 35, p16


def test_torch_tensorrt_route_exports_half_model_with_fp32_islands() -> None:
    from unmask_video.engines.torch_trt import export_program

    torch.manual_seed(0)
    net = ToyNet().eval()
    program = export_program(net, [(3, 16, 16), (1, 16, 16)], (1, 2, 4), "fp16")
    calls = [n for n in program.graph.nodes if n.op == "call_function"]

    def dtypes(word: str) -> set[torch.dtype]:
        return {n.meta["val"].dtype for n in calls if word in str(n.target) and "val" in n.meta}

    assert dtypes("softmax") == {torch.float32}
    assert dtypes("group_norm") == {torch.float32} and dtypes("layer_norm") == {torch.float32}
    assert dtypes("conv") == {torch.float16} and torch.float16 in dtypes("bmm") | dtypes("matmul")
    x, m = torch.rand(3, 3, 16, 16) * 2 - 1, (torch.rand(3, 1, 16, 16) > 0.5).float()
    with torch.no_grad():
        got = program.module()(x, m)
        expected = net(x, m)
    assert got.dtype == torch.float32 and got.shape == (3, 3, 32, 32)
    p = parity.measure(expected.numpy(), got.numpy())
    assert 0 < p.max_abs_error < 2e-2 and p.psnr_db > 45, p


# ---------------------------------------------------------------------------------------------- parity
def test_parity_measure_and_refusal() -> None:
    a = np.zeros((1, 3, 4, 4), np.float32)
    assert parity.measure(a, a).psnr_db == float("inf")
    b = a.copy()
    b[0, 0, 0, 0] = 0.5
    p = parity.measure(a, b)
    assert p.max_abs_error == pytest.approx(0.5) and p.psnr_db == pytest.approx(10 * np.log10(4 / (0.25 / 48)))
    b[0, 0, 0, 1] = np.nan
    assert parity.measure(a, b).max_abs_error == float("inf")
    with pytest.raises(ProcessingError, match="refused"):
        parity.check(p, "engine", max_abs_error=0.1, min_psnr=20)
    with pytest.raises(ProcessingError, match="refused"):
        parity.check(p, "engine", max_abs_error=0.6, min_psnr=30)
    parity.check(p, "engine", max_abs_error=0.6, min_psnr=25)


# ---------------------------------------------------------------------------------------------- batch range
@pytest.mark.parametrize("text,expected", [("1:2:8", (1, 2, 8)), ("4", (4, 4, 4)), ("2:2:2", (2, 2, 2))])
def test_batch_range_parses(text: str, expected: tuple[int, int, int]) -> None:
    assert BatchRange.parse(text).as_tuple() == expected


@pytest.mark.parametrize("text", ["0:1:2", "4:2:8", "1:2", "a:b:c", "1:9:4", ""])
def test_batch_range_refuses(text: str) -> None:
    with pytest.raises(InputError, match="MIN:OPT:MAX"):
        BatchRange.parse(text)


# ---------------------------------------------------------------------------------------------- sidecar
def test_sidecar_roundtrip_and_accept(tmp_path: Path) -> None:
    engine = tmp_path / "g.engine"
    side = sidecar.write_engine(engine, b"engine-bytes", meta_for(engine))
    assert side == tmp_path / "g.engine.json" and engine.read_bytes() == b"engine-bytes"
    data = json.loads(side.read_text())
    for key in ("tensorrt_version", "gpu_name", "compute_capability", "weights_sha256", "precision", "inputs",
                "batch", "build_time", "engine_sha256"):
        assert key in data
    meta = sidecar.check_engine(engine, HERE, "a" * 64)
    assert meta.batch == (1, 2, 4) and meta.engine_bytes == len(b"engine-bytes")
    assert sidecar.check_engine(engine, HERE, None).precision == "fp16"  # weights check skipped


@pytest.mark.parametrize("runtime_info,weights,match", [
    (RuntimeInfo("10.16.1.11", HERE.gpu_name, "9.0"), "a" * 64, "TensorRT 11.0.0.114, this machine has TensorRT 10.16"),
    (RuntimeInfo(HERE.tensorrt_version, "NVIDIA GeForce RTX 4090", "8.9"), "a" * 64, "GPU NVIDIA H100.*RTX 4090"),
    (HERE, "b" * 64, "weights aaaaaaaaaaaa, the weights in use are bbbbbbbbbbbb"),
])
def test_sidecar_refuses_other_machine_or_weights(tmp_path: Path, runtime_info: RuntimeInfo, weights: str,
                                                  match: str) -> None:
    engine = tmp_path / "g.engine"
    sidecar.write_engine(engine, b"x" * 10, meta_for(engine))
    with pytest.raises(EngineRefused, match=match) as err:
        sidecar.check_engine(engine, runtime_info, weights)
    msg = str(err.value)
    assert "unmask-video build-engine gen.safetensors -o" in msg and "--precision fp16 --batch 1:2:4" in msg
    assert "\n" not in msg and err.value.exit_code == 2


def test_sidecar_refuses_corrupt_or_missing(tmp_path: Path) -> None:
    engine = tmp_path / "g.engine"
    with pytest.raises(EngineRefused, match="does not exist"):
        sidecar.check_engine(engine, HERE, None)
    engine.write_bytes(b"stray engine")
    with pytest.raises(EngineRefused, match="no metadata file g.engine.json"):
        sidecar.check_engine(engine, HERE, None)
    sidecar.write_engine(engine, b"good engine bytes", meta_for(engine))
    engine.write_bytes(b"good engine bytez")  # same size, other bytes
    with pytest.raises(EngineRefused, match="corrupt or was changed"):
        sidecar.check_engine(engine, HERE, None)
    engine.write_bytes(b"trunc")
    with pytest.raises(EngineRefused, match="corrupt"):
        sidecar.check_engine(engine, HERE, None)
    sidecar.sidecar_path(engine).write_text("{not json")
    with pytest.raises(EngineRefused, match="unreadable"):
        sidecar.check_engine(engine, HERE, None)
    sidecar.sidecar_path(engine).write_text(json.dumps({"precision": "fp16"}))
    with pytest.raises(EngineRefused, match="missing fields"):
        sidecar.check_engine(engine, HERE, None)


# ---------------------------------------------------------------------------------------------- index + auto
def test_index_records_built_engines_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(index.CACHE_ENV, str(tmp_path / "cache"))
    assert index.engines_for("a" * 64) == []
    e1, e2 = tmp_path / "one.engine", tmp_path / "two.engine"
    e1.write_bytes(b"1")
    e2.write_bytes(b"2")
    (tmp_path / "stray.engine").write_bytes(b"3")  # never recorded: never picked
    index.record_engine("a" * 64, e1)
    index.record_engine("a" * 64, e2)
    index.record_engine("b" * 64, e1)
    assert index.engines_for("a" * 64) == [e2.resolve(), e1.resolve()]
    e2.unlink()
    assert index.engines_for("a" * 64) == [e1.resolve()]
    assert index.default_timing_cache().is_relative_to(tmp_path / "cache")


@pytest.mark.skipif(HAS_TRT, reason="checks the behaviour where TensorRT is missing")
def test_auto_falls_back_when_tensorrt_is_missing(tmp_path: Path) -> None:
    assert not runtime.available()
    backend, reason = runtime.open_for_auto("a" * 64, tmp_path / "g.engine")
    assert backend is None and ("TensorRT is not installed" in reason or "CUDA" in reason)
    with pytest.raises(InputError, match="tensorrt backend cannot run here"):
        runtime.TensorRTBackend(tmp_path / "g.engine")


@pytest.mark.skipif(HAS_TRT, reason="simulates a broken TensorRT install where none is installed")
def test_auto_falls_back_when_tensorrt_is_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    fake = tmp_path / "site" / "tensorrt"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise OSError("libnvinfer.so.11: cannot open shared object file")\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    reason = runtime.unavailable_reason()
    assert reason is not None and "installed but does not load" in reason and "libnvinfer" in reason
    backend, why = runtime.open_for_auto("a" * 64, tmp_path / "g.engine")
    assert backend is None and why == reason


def test_auto_tries_recorded_engines_then_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The decision logic only: TensorRT's presence and the backend are stand-ins here."""
    monkeypatch.setenv(index.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(runtime, "unavailable_reason", lambda: None)
    assert runtime.open_for_auto("a" * 64)[1].startswith("no TensorRT engine was built")
    bad, good = tmp_path / "bad.engine", tmp_path / "good.engine"
    for p in (bad, good):
        p.write_bytes(b"x")
    index.record_engine("a" * 64, good)
    index.record_engine("a" * 64, bad)  # newest first: tried first

    class FakeBackend:
        def __init__(self, path: Path, weights_sha256: str | None, device: int) -> None:
            if Path(path).name == "bad.engine":
                raise EngineRefused(f"engine {path} was built for GPU X")
            self.path = Path(path)

    monkeypatch.setattr(runtime, "TensorRTBackend", FakeBackend)
    backend, reason = runtime.open_for_auto("a" * 64)
    assert backend is not None and backend.path == good.resolve() and reason == ""
    good.unlink()
    with caplog.at_level("WARNING", logger="unmask_video.reconstruct.backends.tensorrt_backend"):
        backend, reason = runtime.open_for_auto("a" * 64)
    assert backend is None and "built for GPU X" in reason
    assert any("not using the TensorRT engine" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)

    def crash(*_a: object, **_k: object) -> None:
        raise RuntimeError("CUDA driver too old")

    monkeypatch.setattr(runtime, "TensorRTBackend", crash)
    backend, reason = runtime.open_for_auto("a" * 64, bad)  # an engine the user named
    assert backend is None and "CUDA driver too old" in reason


# ---------------------------------------------------------------------------------------------- CLI
def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["build-engine", *argv])


def test_cli_parses_options() -> None:
    args = parse("w.safetensors", "-o", "g.engine", "--precision", "fp32", "--batch", "1:4:8",
                 "--builder", "torch-tensorrt", "--min-psnr", "40")
    assert (args.precision, args.batch, args.builder, args.min_psnr) == ("fp32", "1:4:8", "torch-tensorrt", 40.0)
    assert args.run is run_build_engine
    with pytest.raises(InputError, match="invalid choice"):
        parse("w.safetensors", "-o", "g.engine", "--precision", "int8")
    with pytest.raises(InputError, match="required"):
        parse("w.safetensors")  # -o is required


def test_cli_errors_are_input_errors(tmp_path: Path, tiny_weights: Path) -> None:
    out = str(tmp_path / "g.engine")
    with pytest.raises(InputError, match="does not exist"):
        run_build_engine(parse(str(tmp_path / "missing.safetensors"), "-o", out))
    with pytest.raises(InputError, match="MIN:OPT:MAX"):
        run_build_engine(parse(str(tiny_weights), "-o", out, "--batch", "8:1:2"))
    with pytest.raises(InputError, match="is a folder"):
        run_build_engine(parse(str(tiny_weights), "-o", str(tmp_path)))
    if not HAS_TRT:
        with pytest.raises(InputError, match="cannot build a TensorRT engine on this machine: TensorRT is not installed"):
            run_build_engine(parse(str(tiny_weights), "-o", out))
        assert not Path(out).exists()


# ---------------------------------------------------------------------------------------------- TensorRT + GPU
@pytest.mark.parametrize("precision", ["fp16", "fp32"])
@pytest.mark.tensorrt
@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TRT, reason=f"needs TensorRT and a CUDA GPU: {runtime.unavailable_reason()}")
def test_build_and_run_engine(tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch,
                              precision: str) -> None:
    from unmask_video.engines.build import BuildOptions, build_engine
    from unmask_video.reconstruct.generator.export import INPUT_NAMES, PytorchReference
    from unmask_video.reconstruct.generator.weights import load_weights

    monkeypatch.setenv(index.CACHE_ENV, str(tmp_path / "cache"))
    out = tmp_path / f"g-{precision}.engine"
    result = build_engine(tiny_weights, out, BuildOptions(precision=precision, batch=BatchRange(1, 2, 3)))
    assert out.is_file() and result.sidecar_path.is_file()
    assert (tmp_path / "cache" / "tensorrt" / "timing.cache").is_file()
    assert index.engines_for(result.meta.weights_sha256) == [out.resolve()]
    backend, reason = runtime.open_for_auto(result.meta.weights_sha256)
    assert backend is not None, reason
    ref = PytorchReference(load_weights(tiny_weights))
    inputs = ref.samples(5)  # more than the profile's max: split into batches
    got = backend.run(*(inputs[n] for n in INPUT_NAMES))
    parity.check(parity.measure(ref.expected(inputs), got), "engine", *parity.THRESHOLDS[precision])
    out.write_bytes(out.read_bytes()[:-7])
    assert runtime.open_for_auto(result.meta.weights_sha256)[0] is None


def test_unmask_video_build_engine_command_exits_2_with_one_line(tmp_path: Path, tiny_weights: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from unmask_video.cli import main

    code = main(["build-engine", str(tmp_path / "missing.safetensors"), "-o", str(tmp_path / "g.engine")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "does not exist" in err and "\n" not in err
    code = main(["build-engine", str(tiny_weights), "-o", str(tmp_path / "g.engine"), "--batch", "2:1:1"])
    assert code == 2 and "MIN:OPT:MAX" in capsys.readouterr().err
    if not HAS_TRT:
        code = main(["build-engine", str(tiny_weights), "-o", str(tmp_path / "g.engine")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and "unmask-video[tensorrt]" in err and "\n" not in err


def test_build_summary_reports_parity(tmp_path: Path) -> None:
    from unmask_video.engines.build import BuildResult
    from unmask_video.engines.cli import summary

    engine = tmp_path / "g.engine"
    meta = meta_for(engine, engine_bytes=3 * 2**20, weights_sha256="c" * 64)
    text = summary(BuildResult(engine, sidecar.sidecar_path(engine), meta, parity.Parity(0.012, 41.5),
                               parity.Parity(0.02, 39.25)))
    assert "FP16 ONNX (ONNX Runtime) vs PyTorch FP32: max abs error 1.20e-02, PSNR 41.5 dB" in text
    assert "engine vs PyTorch FP32: max abs error 2.00e-02, PSNR 39.2 dB" in text
    assert "NVIDIA H100 80GB HBM3 (compute 9.0), TensorRT 11.0.0.114, fp16, batch 1:2:4, weights cccccccccccc" in text
