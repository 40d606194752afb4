"""``unmask-video build-engine``: the sub-command's parser and runner (wired in by unmask_video.cli)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_build_engine_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    """Add the ``build-engine`` sub-command to ``subparsers``; return its parser."""
    from .build import BUILDERS, PRECISIONS

    p = subparsers.add_parser(
        "build-engine",
        help="build a TensorRT engine for a generator checkpoint (NVIDIA GPU, TensorRT extra)",
        description="Export the checkpoint to ONNX, build a TensorRT engine for this GPU, check it against "
                    "PyTorch FP32 and write it with a metadata sidecar (ENGINE.json).")
    p.add_argument("weights", type=Path, metavar="WEIGHTS", help="generator checkpoint (.safetensors)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="ENGINE", help="engine file to write")
    p.add_argument("--precision", choices=PRECISIONS, default="fp16", help="engine precision (default: fp16)")
    p.add_argument("--batch", default="1:1:4", metavar="MIN:OPT:MAX",
                   help="batch sizes of the optimisation profile (default: 1:1:4)")
    p.add_argument("--builder", choices=BUILDERS, default="tensorrt",
                   help="tensorrt: ONNX + TensorRT's parser (default); torch-tensorrt: from PyTorch directly")
    p.add_argument("--timing-cache", type=Path, default=None, metavar="PATH",
                   help="TensorRT timing cache, reused between builds (default: in the user cache folder)")
    p.add_argument("--workspace-mib", type=int, default=4096, metavar="MIB", help="builder workspace limit")
    p.add_argument("--max-abs-error", type=float, default=None, metavar="X",
                   help="refuse the engine past this max abs error against PyTorch FP32 (default: per precision)")
    p.add_argument("--min-psnr", type=float, default=None, metavar="DB",
                   help="refuse the engine below this PSNR against PyTorch FP32 (default: per precision)")
    p.add_argument("--keep-onnx", type=Path, default=None, metavar="PATH", help="also save the ONNX built from")
    p.add_argument("--device", type=int, default=0, help="CUDA device index (default: 0)")
    p.set_defaults(func=run_build_engine)
    return p


def run_build_engine(args: argparse.Namespace) -> int:
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
    m = result.meta
    log.info("engine %s: TensorRT %s, %s, %s (compute %s), batch %d:%d:%d, parity %s", result.engine_path,
             m.tensorrt_version, m.precision, m.gpu_name, m.compute_capability, *m.batch, result.engine_parity)
    return 0
