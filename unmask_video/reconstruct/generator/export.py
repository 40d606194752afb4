"""ONNX export of a generator, with a parity check against PyTorch and a cache in the user's cache folder.

The exported graph has four inputs ``image``, ``mask``, ``reference``, ``ref_valid`` (NCHW float32,
see :mod:`.card`) and one output ``refined`` (NCHW float32 in [-1,1]); the batch axis is dynamic
unless ``batch_dynamic=False``. Before export the model is put in eval mode, spectral-norm
parametrisations are removed, BatchNorm is folded into the convolutions, and the training-only
outputs (coarse image, contrastive feature) are dropped.

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)`` — it handles the gated
convolutions, explicit Pad nodes and batched attention, needs no extra package (``onnxscript``),
and gives a dynamic batch axis directly.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask_video.errors import ProcessingError

if TYPE_CHECKING:
    import torch

    from unmask_video.reconstruct.generator.networks import Generator

log = logging.getLogger(__name__)

#: Bumped whenever the exported graph would change for the same weights (part of the cache key).
EXPORTER_VERSION = "1"
DEFAULT_OPSET = 17
INPUT_NAMES = ("image", "mask", "reference", "ref_valid")
OUTPUT_NAMES = ("refined",)
#: Parity thresholds (outputs in [-1,1]; PSNR with a peak-to-peak of 2).
FP32_MAX_ABS, FP32_MIN_PSNR = 1e-2, 50.0
FP16_MAX_ABS, FP16_MIN_PSNR = 0.1, 30.0


@dataclass
class ExportReport:
    path: Path
    max_abs_err: float
    psnr: float
    opset: int
    fp16: bool
    batch_dynamic: bool
    cached: bool = False
    seconds: float = 0.0
    weights_sha256: str | None = None

    def summary(self) -> str:
        src = "cached" if self.cached else f"exported in {self.seconds:.1f} s"
        return (
            f"ONNX {self.path.name} ({src}, opset {self.opset}, {'fp16' if self.fp16 else 'fp32'}): "
            f"parity vs PyTorch max abs err {self.max_abs_err:.2e}, PSNR {self.psnr:.1f} dB"
        )


def _export_module(model: "Generator") -> "torch.nn.Module":
    import torch

    class RefinedOnly(torch.nn.Module):
        """Inference graph: four inputs, the refined image out."""

        def __init__(self, generator: "Generator") -> None:
            super().__init__()
            self.generator = generator

        def forward(self, image, mask, reference, ref_valid):  # type: ignore[no-untyped-def]
            return self.generator(image, mask, reference, ref_valid).refined

    return RefinedOnly(model)


def fuse_batchnorm(model: "torch.nn.Module") -> "torch.nn.Module":
    """Fold every BatchNorm that follows a convolution in a :class:`ConvBlock` into it (eval mode)."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    from unmask_video.reconstruct.generator.layers import ConvBlock

    for m in model.modules():
        if isinstance(m, ConvBlock) and isinstance(m.norm, nn.BatchNorm2d):
            m.conv = fuse_conv_bn_eval(m.conv.eval(), m.norm.eval())
            m.norm = nn.Identity()
    return model


def prepare_for_export(model: "Generator") -> "Generator":
    """A copy of ``model`` ready for inference export: eval, float32 on CPU, no parametrisations,
    BatchNorm fused."""
    from unmask_video.reconstruct.generator.weights import strip_parametrizations

    m = copy.deepcopy(model).cpu().float().eval()
    strip_parametrizations(m)
    fuse_batchnorm(m)
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def sample_inputs(size: int, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic, face-like sample inputs: smooth random images, a lower-half hole, a reference
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


def psnr(a: np.ndarray, b: np.ndarray, peak_to_peak: float = 2.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak_to_peak**2 / mse)


def _ort_session(path: str | Path, providers: list[str] | None = None):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=providers or ["CPUExecutionProvider"])


def check_onnx_parity(
    model: "Generator",
    onnx_path: str | Path,
    *,
    batch: int = 2,
    seed: int = 0,
    fp16: bool = False,
    max_abs: float | None = None,
    min_psnr: float | None = None,
) -> tuple[float, float]:
    """Run PyTorch (float32, CPU) and ONNX Runtime (CPU) on sample inputs; return (max abs error,
    PSNR dB). Raises ProcessingError when the error passes the threshold (fp32: 1e-2 / 50 dB;
    fp16: 0.1 / 30 dB)."""
    import torch

    max_abs = max_abs if max_abs is not None else (FP16_MAX_ABS if fp16 else FP32_MAX_ABS)
    min_psnr = min_psnr if min_psnr is not None else (FP16_MIN_PSNR if fp16 else FP32_MIN_PSNR)
    ref_model = prepare_for_export(model)
    inputs = sample_inputs(model.config.size, batch, seed)
    with torch.no_grad():
        expected = ref_model(*(torch.from_numpy(inputs[k]) for k in INPUT_NAMES)).refined.numpy()
    if not np.isfinite(expected).all():  # the weights themselves are broken: no backend can help
        raise ProcessingError(
            "the generator weights give NaN or infinite outputs in PyTorch too; they are broken "
            "(retrain or re-download them), or use --generator none"
        )
    sess = _ort_session(onnx_path)
    got = sess.run(list(OUTPUT_NAMES), inputs)[0].astype(np.float32)
    if got.shape != expected.shape:
        raise ProcessingError(
            f"exported ONNX model {onnx_path} gives shape {got.shape}, PyTorch {expected.shape}; re-export it"
        )
    err = float(np.max(np.abs(got - expected)))
    quality = psnr(got, expected)
    log.info("ONNX parity %s: max abs err %.3g, PSNR %.1f dB", Path(onnx_path).name, err, quality)
    if not np.isfinite(err) or err > max_abs or quality < min_psnr:
        raise ProcessingError(
            f"exported ONNX model {onnx_path} disagrees with PyTorch (max abs err {err:.3g} > {max_abs:g} "
            f"or PSNR {quality:.1f} dB < {min_psnr:g}); use --backend torch or report the issue"
        )
    return err, quality


def _to_fp16(path: Path) -> None:
    """Convert an fp32 ONNX file in place to fp16 weights and compute, keeping float32 inputs/outputs."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    # Resize's roi / scales must stay float32
    keep = {name for node in graph.node if node.op_type == "Resize" for name in list(node.input)[1:]}
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and init.name not in keep:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in graph.node:
        if node.op_type == "Constant" and not (set(node.output) & keep):
            for attr in node.attribute:
                if attr.t.data_type == TensorProto.FLOAT:
                    attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16)))
        if node.op_type == "Cast":
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT:
                    attr.i = TensorProto.FLOAT16
    # float32 graph edges: cast inputs down and the output up
    casts_in, renames = [], {}
    for inp in graph.input:
        new = f"{inp.name}__fp16"
        casts_in.append(helper.make_node("Cast", [inp.name], [new], to=TensorProto.FLOAT16, name=f"cast_{inp.name}"))
        renames[inp.name] = new
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
    casts_out = []
    for out in graph.output:
        old = f"{out.name}__fp16"
        for node in graph.node:
            for i, name in enumerate(node.output):
                if name == out.name:
                    node.output[i] = old
        casts_out.append(helper.make_node("Cast", [old], [out.name], to=TensorProto.FLOAT, name=f"cast_{out.name}"))
    nodes = casts_in + list(graph.node) + casts_out
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _load_source(source: "str | Path | Generator") -> tuple["Generator", str | None]:
    from unmask_video.reconstruct.generator.weights import file_sha256, load_weights

    if isinstance(source, (str, Path)):
        return load_weights(source), file_sha256(source)
    return source, None


def export_onnx(
    source: "str | Path | Generator",
    out_path: str | Path,
    *,
    batch_dynamic: bool = True,
    fp16: bool = False,
    opset: int = DEFAULT_OPSET,
    check: bool = True,
    parity_batch: int = 2,
) -> ExportReport:
    """Export a generator (a weights file or a model) to ONNX at ``out_path`` and check it.

    The parity check against PyTorch runs before the file is written to ``out_path`` (it is written
    to a temporary file first); past the threshold a ProcessingError is raised and nothing is left.
    """
    import onnx
    import torch

    t0 = time.perf_counter()
    model, digest = _load_source(source)
    ready = prepare_for_export(model)
    wrapper = _export_module(ready).eval()
    s = model.config.size
    batch = 2 if batch_dynamic else 1
    dummy = tuple(
        torch.zeros(batch, 1 if name in ("mask", "ref_valid") else 3, s, s) for name in INPUT_NAMES
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".onnx", dir=str(out_path.parent))
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        dynamic = {n: {0: "batch"} for n in INPUT_NAMES + OUTPUT_NAMES} if batch_dynamic else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.no_grad():
                torch.onnx.export(
                    wrapper,
                    dummy,
                    str(tmp),
                    dynamo=False,
                    input_names=list(INPUT_NAMES),
                    output_names=list(OUTPUT_NAMES),
                    dynamic_axes=dynamic,
                    opset_version=opset,
                    do_constant_folding=True,
                )
        if fp16:
            _to_fp16(tmp)
        err, quality = (0.0, math.inf)
        if check:
            err, quality = check_onnx_parity(model, tmp, batch=parity_batch if batch_dynamic else 1, fp16=fp16)
        onnx_model = onnx.load(str(tmp))
        props = {
            "unmask_video.exporter": EXPORTER_VERSION,
            "unmask_video.config": model.config.to_json(),
            "unmask_video.max_abs_err": repr(err),
            "unmask_video.psnr": repr(quality),
            "unmask_video.weights_sha256": digest or "",
            "unmask_video.torch": torch.__version__,
        }
        for k, v in props.items():
            entry = onnx_model.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(onnx_model, str(tmp))
        tmp.replace(out_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    report = ExportReport(
        path=out_path,
        max_abs_err=err,
        psnr=quality,
        opset=opset,
        fp16=fp16,
        batch_dynamic=batch_dynamic,
        cached=False,
        seconds=time.perf_counter() - t0,
        weights_sha256=digest,
    )
    log.info("%s", report.summary())
    return report


def cache_key(weights_sha256: str, *, fp16: bool, batch_dynamic: bool, opset: int) -> str:
    import torch

    tv = re.sub(r"[^0-9A-Za-z.]+", "_", torch.__version__)
    return (
        f"{weights_sha256[:16]}.x{EXPORTER_VERSION}-torch{tv}-op{opset}"
        f"-{'fp16' if fp16 else 'fp32'}-{'dyn' if batch_dynamic else 'b1'}"
    )


def _cache_dirs(weights_path: Path) -> list[Path]:
    from unmask_video.cache import cache_dir

    return [cache_dir("onnx")]  # the user's cache (never the installed package), or a folder for this run only


def read_export_report(path: Path) -> ExportReport | None:
    """The report stored in an exported file's metadata (None if unreadable or not ours)."""
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return None
    props = {p.key: p.value for p in model.metadata_props}
    if props.get("unmask_video.exporter") != EXPORTER_VERSION:
        return None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), DEFAULT_OPSET)
    return ExportReport(
        path=path,
        max_abs_err=float(props.get("unmask_video.max_abs_err", "nan")),
        psnr=float(props.get("unmask_video.psnr", "nan")),
        opset=int(opset),
        fp16=".fp16-" in path.name,
        batch_dynamic="-dyn" in path.name,
        cached=True,
        weights_sha256=props.get("unmask_video.weights_sha256") or None,
    )


def cached_onnx(
    weights_path: str | Path,
    *,
    fp16: bool = False,
    batch_dynamic: bool = True,
    opset: int = DEFAULT_OPSET,
    cache_dir: str | Path | None = None,
) -> ExportReport:
    """The checked ONNX export of ``weights_path``, exported on first use and cached in the user's cache
    folder (:mod:`unmask_video.cache`; a folder for this run only where none is writable) under a key of the
    weights' SHA-256 and the exporter's version."""
    from unmask_video.cache import make_readable
    from unmask_video.reconstruct.generator.weights import file_sha256, read_metadata

    weights_path = Path(weights_path)
    read_metadata(weights_path)  # one-line errors for missing / corrupt files before anything else
    digest = file_sha256(weights_path)
    name = f"{weights_path.stem}.{cache_key(digest, fp16=fp16, batch_dynamic=batch_dynamic, opset=opset)}.onnx"
    dirs = [Path(cache_dir)] if cache_dir is not None else _cache_dirs(weights_path)
    for d in dirs:
        candidate = d / name
        if candidate.is_file():
            report = read_export_report(candidate)
            if report is not None and report.weights_sha256 == digest:
                log.info("%s", report.summary())
                return report
            log.warning("ignoring unusable cached export %s; exporting again", candidate)
    last: Exception | None = None
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            if not os.access(d, os.W_OK):
                continue
            report = export_onnx(weights_path, d / name, batch_dynamic=batch_dynamic, fp16=fp16, opset=opset)
            make_readable(report.path)
            return report
        except PermissionError as exc:
            last = exc
    raise ProcessingError(f"cannot write the ONNX export of {weights_path} anywhere ({last}); set XDG_CACHE_HOME")


def export_summary(report: ExportReport) -> dict[str, Any]:
    return {
        "path": str(report.path),
        "max_abs_err": report.max_abs_err,
        "psnr": report.psnr,
        "cached": report.cached,
    }
