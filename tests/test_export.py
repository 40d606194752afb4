"""ONNX export: parity with PyTorch (freshly initialised weights, every path active), graph contents,
fp16, refusal past the threshold, and the hash-keyed cache in the user's cache folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from unmask_video.errors import ProcessingError
from unmask_video.reconstruct.generator import create_generator
from unmask_video.reconstruct.generator.export import (
    EXPORTER_VERSION,
    INPUT_NAMES,
    cached_onnx,
    check_onnx_parity,
    export_onnx,
    prepare_for_export,
)
from unmask_video.reconstruct.generator.parity import sample_inputs
from unmask_video.reconstruct.generator.layers import init_weights
from unmask_video.reconstruct.generator.weights import file_sha256, save_weights


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(name: str = "tiny", seed: int = 0, **overrides):
    torch.manual_seed(seed)
    model = init_weights(create_generator(name, **overrides), zero_heads=False)
    if model.config.norm == "batch":  # non-trivial running statistics, so BN fusion is exercised
        model.train()
        with torch.no_grad():
            model(*(torch.from_numpy(v) for v in sample_inputs(model.config.size, 4, seed=5).values()))
    return model.eval()


def _ort(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    model = _model(norm="batch")
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    return model, export_onnx(model, path)


def test_export_parity_with_pytorch(exported) -> None:
    model, report = exported
    assert report.path.is_file()
    assert report.max_abs_err < 1e-4 and report.psnr > 80
    # another batch size than the export's (dynamic batch axis) and other inputs
    inputs = sample_inputs(64, batch=3, seed=7)
    got = _ort(report.path).run(None, inputs)[0]
    with torch.no_grad():
        want = model(*(torch.from_numpy(inputs[n]) for n in INPUT_NAMES)).refined.numpy()
    assert got.shape == (3, 3, 64, 64)
    assert np.abs(got - want).max() < 1e-4
    assert np.abs(want).max() > 0.05  # the output is not trivially zero


def test_exported_graph_is_inference_only(exported) -> None:
    model, report = exported
    graph = onnx.load(str(report.path)).graph
    assert [i.name for i in graph.input] == list(INPUT_NAMES)
    assert [o.name for o in graph.output] == ["refined"]  # coarse and feature dropped
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    ops = {n.op_type for n in graph.node}
    assert "BatchNormalization" not in ops  # fused into the convolutions
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in prepare_for_export(model).modules())
    props = {p.key: p.value for p in onnx.load(str(report.path)).metadata_props}
    assert props["unmask_video.exporter"] == EXPORTER_VERSION


def test_original_variant_parity(tmp_path: Path) -> None:
    report = export_onnx(_model("tiny-original"), tmp_path / "orig.onnx", batch_dynamic=False)
    assert report.max_abs_err < 1e-4
    graph = onnx.load(str(report.path)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1


def test_fp16_export_stays_within_its_threshold(tmp_path: Path) -> None:
    report = export_onnx(_model(), tmp_path / "half.onnx", fp16=True)
    assert 0 < report.max_abs_err < 0.1 and report.psnr > 30
    graph = onnx.load(str(report.path)).graph
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in graph.initializer)
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_parity_check_refuses_a_model_that_disagrees(exported) -> None:
    _, report = exported
    other = _model(seed=1, norm="batch")
    with pytest.raises(ProcessingError) as exc:
        check_onnx_parity(other, report.path)
    assert "disagrees with PyTorch" in str(exc.value) and "\n" not in str(exc.value)


def test_cache_in_the_user_cache_keyed_by_hash_and_exporter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights = tmp_path / "g.safetensors"
    digest = save_weights(_model(), weights)
    first = cached_onnx(weights)
    assert not first.cached and first.path.parent == tmp_path / "cache" / "unmask-video" / "onnx"
    assert not list(tmp_path.glob("*.onnx"))  # nothing beside the weights (an installed package may be read-only)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o666 & ~umask  # readable by others, not mkstemp's 0600
    assert digest[:16] in first.path.name and f"x{EXPORTER_VERSION}" in first.path.name
    assert first.weights_sha256 == file_sha256(weights)
    mtime = first.path.stat().st_mtime_ns
    second = cached_onnx(weights)
    assert second.cached and second.path == first.path and second.path.stat().st_mtime_ns == mtime
    assert second.max_abs_err == pytest.approx(first.max_abs_err)
    save_weights(_model(seed=3), weights)  # new weights: a new key, a new export
    third = cached_onnx(weights)
    assert not third.cached and third.path != first.path
