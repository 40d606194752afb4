"""ONNX export of a generator, with a parity check against PyTorch and a cache in the user's cache folder.

The one export path: the ONNX Runtime backend's cache and the TensorRT engine builder both export here,
make FP16 graphs with the one FP16 policy (:mod:`.fp16`) and check them against PyTorch FP32 with the one
threshold table (:mod:`.parity`).

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
from unmask_video.reconstruct.generator import parity

if TYPE_CHECKING:
    import torch

    from unmask_video.reconstruct.generator.networks import Generator

log = logging.getLogger(__name__)

#: Bumped whenever the exported graph would change for the same weights (part of the cache key).
EXPORTER_VERSION = "1"
DEFAULT_OPSET = 17
INPUT_NAMES = ("image", "mask", "reference", "ref_valid")
OUTPUT_NAMES = ("refined",)


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


class PytorchReference:
    """What every export is checked against: the generator's inference module in PyTorch FP32 on the CPU."""

    def __init__(self, model: "Generator") -> None:
        self.size = model.config.size
        self.input_shapes = {n: [1 if n in ("mask", "ref_valid") else 3, self.size, self.size] for n in INPUT_NAMES}
        self.module = _export_module(prepare_for_export(model)).eval()

    def samples(self, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
        return parity.sample_inputs(self.size, batch, seed)

    def expected(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        with torch.no_grad():
            expected = self.module(*(torch.from_numpy(inputs[n]) for n in INPUT_NAMES)).numpy()
        if not np.isfinite(expected).all():  # the weights themselves are broken: no backend can help
            raise ProcessingError(
                "the generator weights give NaN or infinite outputs in PyTorch too; they are broken "
                "(retrain or re-download them), or use --generator none"
            )
        return expected


def measure_onnx(reference: PytorchReference, onnx_path: str | Path, batch: int = 2, seed: int = 0) -> parity.Parity:
    """Parity of the ONNX file run by ONNX Runtime (CPU) with PyTorch FP32 on sample inputs."""
    inputs = reference.samples(batch, seed)
    got = parity.run_onnx_cpu(str(onnx_path), inputs)
    result = parity.measure(reference.expected(inputs), got)
    log.info("ONNX parity %s: %s", Path(onnx_path).name, result)
    return result


def check_onnx_parity(
    model: "Generator",
    onnx_path: str | Path,
    *,
    batch: int = 2,
    seed: int = 0,
    fp16: bool = False,
    max_abs: float | None = None,
    min_psnr: float | None = None,
    advice: str = "use --backend torch or report the issue",
) -> tuple[float, float]:
    """Run PyTorch (float32, CPU) and ONNX Runtime (CPU) on sample inputs; return (max abs error, PSNR dB).

    Raises ProcessingError past the limits (:data:`parity.THRESHOLDS` for the precision unless given)."""
    limits = parity.limits("fp16" if fp16 else "fp32", max_abs, min_psnr)
    result = measure_onnx(PytorchReference(model), onnx_path, batch, seed)
    parity.check(result, f"exported ONNX model {onnx_path}", *limits, advice=advice)
    return result.max_abs_error, result.psnr_db


def _to_fp16(path: Path) -> None:
    """Rewrite the FP32 ONNX file at ``path`` with the FP16 policy of :mod:`.fp16` (float32 inputs/outputs)."""
    import onnx

    from unmask_video.reconstruct.generator.fp16 import convert_to_fp16

    converted, _report = convert_to_fp16(onnx.load(str(path)))
    onnx.save(converted, str(path))


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
    max_abs: float | None = None,
    min_psnr: float | None = None,
    advice: str = "use --backend torch or report the issue",
) -> ExportReport:
    """Export a generator (a weights file or a model) to ONNX at ``out_path`` and check it.

    The parity check against PyTorch runs before the file is written to ``out_path`` (it is written
    to a temporary file first); past the limits (``max_abs``/``min_psnr``, by default the threshold
    table's for the precision) a ProcessingError ending in ``advice`` is raised and nothing is left.
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
            err, quality = check_onnx_parity(model, tmp, batch=parity_batch if batch_dynamic else 1, fp16=fp16,
                                             max_abs=max_abs, min_psnr=min_psnr, advice=advice)
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
