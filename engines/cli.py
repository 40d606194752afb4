"""``unmask-video build-engine``: the subcommand's ``add_parser`` and ``run`` (listed in unmask_video.cli)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .build import BuildResult

log = logging.getLogger(__name__)


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    """Add the ``build-engine`` sub-command to ``subparsers``; return its parser."""
    from .choices import BUILDERS, PRECISIONS

    p = subparsers.add_parser(
        "build-engine",
        usage="unmask-video build-engine WEIGHTS -o ENGINE [options]",
        help="build a TensorRT engine for a generator checkpoint (NVIDIA GPU, TensorRT extra)",
        description="Export the checkpoint to ONNX, build a TensorRT engine for this GPU, check it against "
                    "PyTorch FP32 and write it with a metadata sidecar (ENGINE.json).")
    files = p.add_argument_group("input and output")
    files.add_argument("weights", type=Path, metavar="WEIGHTS", help="generator checkpoint (.safetensors)")
    files.add_argument("-o", "--output", type=Path, required=True, metavar="ENGINE", help="engine file to write")
    files.add_argument("--keep-onnx", type=Path, default=None, metavar="PATH", help="also save the ONNX built from")
    build = p.add_argument_group("engine")
    build.add_argument("--precision", choices=PRECISIONS, default="fp16", help="engine precision (default: fp16)")
    build.add_argument("--batch", default="1:1:4", metavar="MIN:OPT:MAX",
                       help="batch sizes of the optimisation profile (default: 1:1:4)")
    build.add_argument("--builder", choices=BUILDERS, default="tensorrt",
                       help="tensorrt: ONNX + TensorRT's parser (default); torch-tensorrt: from PyTorch directly")
    build.add_argument("--timing-cache", type=Path, default=None, metavar="PATH",
                       help="TensorRT timing cache, reused between builds (default: in the user cache folder)")
    build.add_argument("--workspace-mib", type=int, default=4096, metavar="MIB", help="builder workspace limit")
    build.add_argument("--device", type=int, default=0, help="CUDA device index (default: 0)")
    limits = p.add_argument_group("accuracy against PyTorch FP32")
    limits.add_argument("--max-abs-error", type=float, default=None, metavar="X",
                        help="refuse the engine past this max abs error (default: per precision)")
    limits.add_argument("--min-psnr", type=float, default=None, metavar="DB",
                        help="refuse the engine below this PSNR (default: per precision)")
    messages = p.add_argument_group("messages")
    messages.add_argument("-q", "--quiet", action="store_true", help="no summary")
    messages.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: TensorRT's too)")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``build-engine``; returns 0. Raises InputError / ProcessingError with a one-line message."""
    from unmask_video.errors import InputError

    from .build import BatchRange, BuildOptions, build_engine

    if args.workspace_mib < 64:
        raise InputError(f"--workspace-mib {args.workspace_mib} is too small: give at least 64")
    if args.output.is_dir():
        raise InputError(f"-o {args.output} is a folder: give the engine's file name, e.g. {args.output}/generator.engine")
    options = BuildOptions(
        precision=args.precision, batch=BatchRange.parse(args.batch), builder=args.builder,
        timing_cache=args.timing_cache, workspace_mib=args.workspace_mib, max_abs_error=args.max_abs_error,
        min_psnr=args.min_psnr, keep_onnx=args.keep_onnx, device=args.device)
    result = build_engine(args.weights, args.output, options)
    if not args.quiet:
        sys.stdout.write(summary(result) + "\n")
    return 0


def summary(result: "BuildResult") -> str:
    """The lines ``build-engine`` prints: what was built, for what, and its parity with PyTorch FP32."""
    m = result.meta
    lines = [f"engine    {result.engine_path} ({m.engine_bytes / 2**20:.1f} MiB, built in {m.build_seconds:.0f} s "
             f"with {m.builder})",
             f"metadata  {result.sidecar_path}",
             f"for       {m.gpu_name} (compute {m.compute_capability}), TensorRT {m.tensorrt_version}, "
             f"{m.precision}, batch {m.batch[0]}:{m.batch[1]}:{m.batch[2]}, weights {m.weights_sha256[:12]}"]
    if result.onnx_parity is not None:
        lines.append(f"parity    FP16 ONNX (ONNX Runtime) vs PyTorch FP32: {result.onnx_parity}")
    lines.append(f"parity    engine vs PyTorch FP32: {result.engine_parity}")
    return "\n".join(lines)
