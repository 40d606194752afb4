"""Flag groups more than one subcommand uses, and the options objects they become."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from unmask_video.errors import InputError

if TYPE_CHECKING:  # imported when a command runs (the pipeline loads MediaPipe): --help stays quick
    from unmask_video.pipeline import PipelineOptions
    from unmask_video.reconstruct.factory import ReconstructorOptions


def add_reference(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--ref", metavar="FACE.jpg", help="a photo of the same person without a mask")


def add_reconstruction(parser: argparse.ArgumentParser, batching: bool = True) -> None:
    """``--generator`` and where it runs; ``batching`` adds ``--batch`` (file processing only)."""
    from unmask_video.reconstruct.factory import GENERATOR_CHOICES

    group = parser.add_argument_group("reconstruction")
    group.add_argument(
        "--generator",
        default="auto",
        metavar="NAME|WEIGHTS",
        help=f"one of {', '.join(GENERATOR_CHOICES)} or a .safetensors file (default: auto = the shipped weights "
        "when their model card records a win over the composite, else none = the reference composite)",
    )
    group.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime", "tensorrt"))
    group.add_argument("--engine", default=None, metavar="FILE", help="TensorRT engine file from 'unmask-video build-engine'")
    group.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    if batching:
        group.add_argument(
            "--batch", type=int, default=1, metavar="N", help="faces from N consecutive frames per generator call"
        )


def add_tracking(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("faces and mask")
    group.add_argument("--max-faces", type=int, default=1, metavar="N", help="process up to N faces per frame (largest first)")
    group.add_argument(
        "--min-face-size", type=float, default=40.0, metavar="PX",
        help="faces narrower than PX pixels are left unchanged (default 40; smaller makes the face search slower)",
    )
    group.add_argument("--no-smoothing", action="store_true", help="turn off temporal smoothing of the landmarks")
    group.add_argument(
        "--mask-smoothing", action="store_true", help="also smooth the mask over time (face-aligned EMA; off by default)"
    )
    group.add_argument("--no-reuse", action="store_true", help="refit the mask clusters on every frame")
    group.add_argument("--debug-dir", type=Path, default=None, metavar="DIR", help="write stage overlays for a few frames here")


def add_encoding(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("encoding")
    group.add_argument("--codec", default="libx264", metavar="NAME", help="video encoder (default libx264)")
    group.add_argument("--crf", type=int, default=21, metavar="N", help="constant rate factor (lower = better, default 21)")
    group.add_argument("--preset", default="superfast", metavar="NAME",
                       help="encoder preset (default superfast; veryfast: smaller files, about 2x the encoder's CPU)")


def add_messages(parser: argparse.ArgumentParser, quiet_help: str = "no progress bar and no summary") -> None:
    group = parser.add_argument_group("messages")
    group.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    group.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")


def pipeline_options(args: argparse.Namespace) -> PipelineOptions:
    """The per-frame options from :func:`add_tracking`'s flags."""
    from unmask_video.io.paths import check_debug_dir
    from unmask_video.pipeline import PipelineOptions

    if args.max_faces < 1:
        raise InputError("--max-faces must be at least 1")
    options = PipelineOptions(debug_dir=check_debug_dir(args.debug_dir))
    options.tracker.max_faces = args.max_faces
    if not 8 <= args.min_face_size <= 4096:
        raise InputError("--min-face-size must be between 8 and 4096 pixels")
    options.tracker.min_face_size = args.min_face_size
    options.tracker.smoothing = not args.no_smoothing
    options.segment.temporal_smoothing = args.mask_smoothing
    options.segment.reuse = not args.no_reuse
    return options


def batch_size(args: argparse.Namespace) -> int:
    """``--batch`` (added by :func:`add_reconstruction` with ``batching``), checked."""
    if args.batch < 1:
        raise InputError("--batch must be at least 1")
    return args.batch


def reconstructor_options(args: argparse.Namespace) -> ReconstructorOptions:
    """The reconstruction options from :func:`add_reconstruction`'s flags."""
    from unmask_video.reconstruct.factory import ReconstructorOptions

    return ReconstructorOptions(generator=args.generator, backend=args.backend, engine=args.engine, device=args.device)


def require_reference(args: argparse.Namespace) -> str:
    if not args.ref:
        raise InputError("no reference photo given: pass --ref FACE.jpg (the same person without a mask)")
    return args.ref
