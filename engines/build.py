"""Build a TensorRT engine for a generator checkpoint (``unmask-video build-engine``).

TensorRT route (default): the product's one export path (:mod:`unmask_video.reconstruct.generator.export`):
the ONNX export the ONNX Runtime backend uses, made mixed-precision FP16 by the one FP16 policy
(:mod:`unmask_video.reconstruct.generator.fp16`) when asked (TensorRT 11 builds strongly typed networks
only: the precision is in the graph, there is no FP16 builder flag) and checked with ONNX Runtime against
PyTorch FP32 with the one threshold table (:mod:`unmask_video.reconstruct.generator.parity`); then
TensorRT's ONNX parser (every error logged), one optimisation profile over the batch range, a
timing cache reused between builds, ``build_serialized_network`` (None is a failure). The built engine is
run on sample inputs and refused past the parity limits; then it is written with its sidecar and recorded
for ``--backend auto``. The torch-tensorrt route (:mod:`engines.torch_trt`) replaces the ONNX/parser steps.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import unmask_video
from unmask_video.errors import InputError, ProcessingError
from unmask_video.reconstruct.backends import engine_index as index
from unmask_video.reconstruct.backends.engine_sidecar import EngineMeta, atomic_write, sidecar_path, write_engine
from unmask_video.reconstruct.generator import parity

from .choices import BUILDERS, PRECISIONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchRange:
    """The optimisation profile's batch sizes."""

    min: int = 1
    opt: int = 1
    max: int = 4

    @classmethod
    def parse(cls, text: str) -> "BatchRange":
        """``"MIN:OPT:MAX"`` (or one number N for N:N:N); InputError when malformed or out of order."""
        parts = text.split(":")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            values = []
        if len(values) == 1:
            values = values * 3
        if len(values) != 3 or not 1 <= values[0] <= values[1] <= values[2]:
            raise InputError(f"--batch {text!r} is not MIN:OPT:MAX with 1 <= MIN <= OPT <= MAX (e.g. 1:2:8)")
        return cls(*values)

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.min, self.opt, self.max)


@dataclass
class BuildOptions:
    precision: str = "fp16"
    batch: BatchRange = field(default_factory=BatchRange)
    builder: str = "tensorrt"
    timing_cache: Path | None = None  # None: index.default_timing_cache()
    workspace_mib: int = 4096
    max_abs_error: float | None = None  # None: parity.THRESHOLDS[precision]
    min_psnr: float | None = None
    opset: int | None = None  # None: the generator exporter's default
    keep_onnx: Path | None = None  # also save the ONNX that was built from
    device: int = 0

    def limits(self) -> tuple[float, float]:
        return parity.limits(self.precision, self.max_abs_error, self.min_psnr)


@dataclass
class BuildResult:
    engine_path: Path
    sidecar_path: Path
    meta: EngineMeta
    onnx_parity: parity.Parity | None
    engine_parity: parity.Parity


#: The end of a parity refusal's message: what the user can do.
PARITY_ADVICE = "try --precision fp32, or loosen --max-abs-error/--min-psnr"


def build_serialized_onnx(onnx_path: Path, names: list[str], shapes: list[list[int]], batch: BatchRange,
                          timing_cache: Path, workspace_mib: int) -> bytes:
    """TensorRT engine bytes from an ONNX file: parser, one optimisation profile, timing cache reused."""
    import tensorrt as trt

    from unmask_video.reconstruct.backends import tensorrt_backend as runtime

    logger = runtime.trt_logger()
    builder = trt.Builder(logger)
    flags = 0
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if strongly_typed is not None:  # required for strong typing on 10.x, accepted (always on) on 11.x
        flags |= 1 << int(strongly_typed)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    ok = parser.parse(onnx_path.read_bytes(), str(onnx_path))
    for i in range(parser.num_errors):
        log.error("TensorRT ONNX parser: %s", parser.get_error(i))
    if not ok:
        raise ProcessingError(f"TensorRT's ONNX parser rejected the generator graph ({parser.num_errors} errors, "
                              "logged above): try --precision fp32 or --builder torch-tensorrt")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    profile = builder.create_optimization_profile()
    for name, shape in zip(names, shapes):
        profile.set_shape(name, (batch.min, *shape), (batch.opt, *shape), (batch.max, *shape))
    config.add_optimization_profile(profile)
    cache_bytes = timing_cache.read_bytes() if timing_cache.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
        log.warning("timing cache %s is unusable (another TensorRT version or GPU?): starting a new one", timing_cache)
        cache_bytes = b""
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    log.info("TensorRT %s: building (timing cache %s, %s)", trt.__version__, timing_cache,
             "reused" if cache_bytes else "new")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ProcessingError("TensorRT returned no engine (its errors are logged above): try --precision fp32, "
                              "a smaller --batch range or a larger --workspace-mib")
    atomic_write(timing_cache, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


def _require(options: BuildOptions) -> None:
    from unmask_video.reconstruct.backends import tensorrt_backend as runtime

    from . import torch_trt

    if options.precision not in PRECISIONS:
        raise InputError(f"--precision {options.precision!r} is not one of {', '.join(PRECISIONS)}")
    if options.builder not in BUILDERS:
        raise InputError(f"--builder {options.builder!r} is not one of {', '.join(BUILDERS)}")
    reason = runtime.unavailable_reason()
    if reason is None and options.builder == "torch-tensorrt":
        reason = torch_trt.unavailable_reason()
    if reason:
        raise InputError(f"cannot build a TensorRT engine on this machine: {reason}")


def build_engine(weights: Path | str, out_path: Path | str, options: BuildOptions | None = None) -> BuildResult:
    """Build, check and write ``out_path`` (+ sidecar) for the checkpoint ``weights``; see the module doc."""
    from unmask_video.reconstruct.backends import tensorrt_backend as runtime

    from unmask_video.reconstruct.generator.export import DEFAULT_OPSET, PytorchReference, export_onnx
    from unmask_video.reconstruct.generator.weights import file_sha256, load_weights

    from . import torch_trt

    options = options or BuildOptions()
    weights, out_path = Path(weights), Path(out_path)
    if not weights.is_file():
        raise InputError(f"weights file {weights} does not exist: pass a generator checkpoint (.safetensors)")
    _require(options)
    max_abs, min_psnr = options.limits()
    timing_cache = options.timing_cache or index.default_timing_cache()
    t0 = time.perf_counter()
    weights_sha = file_sha256(weights)
    model = load_weights(weights)
    ref = PytorchReference(model)
    names, shapes = list(ref.input_shapes), list(ref.input_shapes.values())
    onnx_parity = None
    with tempfile.TemporaryDirectory(prefix="unmask-engine-") as tmp:
        if options.builder == "tensorrt":
            onnx_path = Path(tmp) / "generator.onnx"
            fp16 = options.precision == "fp16"
            report = export_onnx(model, onnx_path, batch_dynamic=True, fp16=fp16, opset=options.opset or DEFAULT_OPSET,
                                 max_abs=max_abs, min_psnr=min_psnr, advice=PARITY_ADVICE)
            if fp16:
                onnx_parity = parity.Parity(report.max_abs_err, report.psnr)
                log.info("FP16 ONNX vs PyTorch FP32 (ONNX Runtime, CPU): %s", onnx_parity)
            if options.keep_onnx:
                options.keep_onnx.write_bytes(onnx_path.read_bytes())
            import torch

            with torch.cuda.device(options.device):  # TensorRT builds for the current CUDA device
                engine = build_serialized_onnx(onnx_path, names, shapes, options.batch, timing_cache,
                                               options.workspace_mib)
        else:
            engine = torch_trt.build_serialized(ref.module, shapes, options.batch.as_tuple(), options.precision,
                                                timing_cache, options.workspace_mib, options.device)
    built = runtime.TensorRTEngine(engine, options.device, source="the freshly built engine")
    inputs = ref.samples(options.batch.opt)
    got = runtime.run_batched(built, runtime.bind_inputs(built.input_names, tuple(inputs[n] for n in names)))
    engine_parity = parity.measure(ref.expected(inputs), got)
    log.info("engine vs PyTorch FP32 (batch %d): %s", options.batch.opt, engine_parity)
    parity.check(engine_parity, f"the {options.precision} TensorRT engine", max_abs, min_psnr, PARITY_ADVICE)
    info = runtime.runtime_info(options.device)
    meta = EngineMeta(
        tensorrt_version=info.tensorrt_version, gpu_name=info.gpu_name, compute_capability=info.compute_capability,
        weights_sha256=weights_sha, precision=options.precision, builder=options.builder,
        batch=options.batch.as_tuple(), inputs=dict(ref.input_shapes),
        outputs={"refined": [3, ref.size, ref.size]}, engine_sha256="", engine_bytes=0,
        build_time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - t0, 1), weights_path=str(weights),
        parity=engine_parity.as_dict(), tool_version=unmask_video.__version__)
    side = write_engine(out_path, engine, meta)
    index.record_engine(weights_sha, out_path)
    log.info("wrote %s and %s in %.1f s", out_path, side.name, meta.build_seconds)
    return BuildResult(out_path, sidecar_path(out_path), meta, onnx_parity, engine_parity)
