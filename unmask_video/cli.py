"""The `unmask-video` command.

    unmask-video IN.mp4 --ref FACE.jpg -o OUT.mp4     rebuild the masked face in a video file
    unmask-video demo                                 make a masked sample clip and unmask it
    unmask-video build-engine WEIGHTS -o X.engine     build a TensorRT engine (NVIDIA GPUs)
    unmask-video --webcam [DEVICE] --ref FACE.jpg     live mode

Exit codes: 0 success, 2 bad usage or input, 1 failure while processing, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from unmask_video import __version__
from unmask_video.errors import InputError, UnmaskError
from unmask_video.native_log import filter_native_stderr

log = logging.getLogger("unmask_video")
PROG = "unmask-video"
SUBCOMMANDS = ("demo", "build-engine")


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see '{self.prog} --help')")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")


def _add_processing(parser: argparse.ArgumentParser) -> None:
    from unmask_video.reconstruct.factory import GENERATOR_CHOICES

    group = parser.add_argument_group("reconstruction")
    group.add_argument(
        "--generator",
        default="auto",
        metavar="NAME|WEIGHTS",
        help=f"one of {', '.join(GENERATOR_CHOICES)} or a .safetensors file (default: auto = shipped weights "
        "if installed, else none = the reference composite)",
    )
    group.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime", "tensorrt"))
    group.add_argument("--engine", default=None, help="TensorRT engine file from 'unmask-video build-engine'")
    group.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    group.add_argument("--batch", type=int, default=1, help="faces from N consecutive frames per generator call")
    group.add_argument("--max-faces", type=int, default=1, help="process up to N faces per frame (largest first)")
    group.add_argument("--no-smoothing", action="store_true", help="turn off temporal smoothing of the landmarks")
    group.add_argument(
        "--mask-smoothing", action="store_true", help="also smooth the mask over time (face-aligned EMA; off by default)"
    )
    group.add_argument("--no-reuse", action="store_true", help="refit the mask clusters on every frame")
    group.add_argument("--debug-dir", type=Path, default=None, help="write stage overlays for a few frames here")


def _add_encoding(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("encoding")
    group.add_argument("--codec", default="libx264", help="video encoder (default libx264)")
    group.add_argument("--crf", type=int, default=18, help="constant rate factor (lower = better, default 18)")
    group.add_argument("--preset", default="veryfast", help="encoder preset (default veryfast)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Remove a surgical face mask from a person in a video, using one photo of them without it.",
        epilog="Subcommands: 'unmask-video demo', 'unmask-video build-engine' (see their --help).",
    )
    parser.add_argument("input", nargs="?", help="input video file or stream URL")
    parser.add_argument("--ref", help="a photo of the same person without a mask")
    parser.add_argument("-o", "--output", help="output video file")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    from unmask_video.live import add_live_arguments

    add_live_arguments(parser)
    _add_processing(parser)
    _add_encoding(parser)
    _add_common(parser)
    return parser


def build_demo_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} demo", description="Make a masked sample clip from a public-domain photo and unmask it.")
    parser.add_argument("--out-dir", type=Path, default=Path("unmask-video-demo"), help="folder for the demo files")
    parser.add_argument("--frames", type=int, default=50)
    _add_processing(parser)
    _add_common(parser)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    from rich.logging import RichHandler

    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.ERROR if quiet else logging.WARNING
    handler = RichHandler(show_path=False, show_time=False, rich_tracebacks=verbose > 1)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)


def _pipeline_options(args: argparse.Namespace):  # -> PipelineOptions
    from unmask_video.pipeline import PipelineOptions

    if args.max_faces < 1:
        raise InputError("--max-faces must be at least 1")
    if args.batch < 1:
        raise InputError("--batch must be at least 1")
    options = PipelineOptions(debug_dir=args.debug_dir)
    options.tracker.max_faces = args.max_faces
    options.tracker.smoothing = not args.no_smoothing
    options.segment.temporal_smoothing = args.mask_smoothing
    options.segment.reuse = not args.no_reuse
    return options


def _reconstructor_options(args: argparse.Namespace):  # -> ReconstructorOptions
    from unmask_video.reconstruct.factory import ReconstructorOptions

    return ReconstructorOptions(generator=args.generator, backend=args.backend, engine=args.engine, device=args.device)


def _run_file(args: argparse.Namespace) -> int:
    from unmask_video.runner import RunOptions, run_file
    from unmask_video.summary import print_summary
    from unmask_video.video import EncodeOptions

    if not args.input:
        raise InputError("no input video given (usage: unmask-video IN.mp4 --ref FACE.jpg -o OUT.mp4)")
    if not args.ref:
        raise InputError("no reference photo given: pass --ref FACE.jpg (the same person without a mask)")
    if not args.output:
        raise InputError("no output file given: pass -o OUT.mp4")
    options = RunOptions(
        input=args.input,
        output=args.output,
        reference=args.ref,
        encode=EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset),
        pipeline=_pipeline_options(args),
        reconstructor=_reconstructor_options(args),
        batch=args.batch,
        quiet=args.quiet,
        overwrite=args.overwrite,
    )
    summary = run_file(options)
    if not args.quiet:
        print_summary(summary)
    if summary.damage:
        lost = f"about {summary.lost_fraction:.0%} of the video" if summary.lost_fraction else "the rest of the video"
        log.error(
            "the input is damaged (%s): %d frames decoded, %s lost; %s holds the frames that decoded",
            summary.damage,
            summary.frames,
            lost,
            summary.output,
        )
        return 1
    return 0


def _run_live(args: argparse.Namespace) -> int:
    from unmask_video.live import live_from_args, run_live
    from unmask_video.live_stats import terminal_status
    from unmask_video.pipeline import FramePipeline
    from unmask_video.reconstruct.factory import build_reconstructor
    from unmask_video.video import read_image

    if not args.ref:
        raise InputError("no reference photo given: pass --ref FACE.jpg (the same person without a mask)")
    source, live = live_from_args(args)
    live.status = None if args.quiet else terminal_status()
    options = _pipeline_options(args)
    pipeline = FramePipeline(read_image(args.ref), build_reconstructor(_reconstructor_options(args)), options)
    try:
        stats = run_live(source, pipeline, live)
    finally:
        pipeline.close()
    if not args.quiet:
        print(file=sys.stderr)
        print(stats.summary(), file=sys.stderr)
    return 1 if stats.source_lost else 0


def _list_cameras() -> int:
    from unmask_video.live import format_cameras
    from unmask_video.live_capture import list_cameras

    for line in format_cameras(list_cameras()):
        print(line)
    return 0


def _run_demo(argv: Sequence[str]) -> int:
    from unmask_video.demo import run_demo

    args = build_demo_parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    return run_demo(args.out_dir, args.frames, _pipeline_options(args), _reconstructor_options(args), args.batch, args.quiet)


def _run_build_engine(argv: Sequence[str]) -> int:
    from unmask_video.engines.cli import add_build_engine_parser, run_build_engine

    parser = _Parser(prog=PROG)
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    add_build_engine_parser(subparsers)
    args = parser.parse_args(["build-engine", *argv])
    _configure_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False))
    return run_build_engine(args)


def _run_batch(argv: Sequence[str]) -> int:
    from unmask_video.batch import cli as batch_cli

    parser = _Parser(prog=PROG)
    batch_cli.add_parser(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(["batch", *argv])
    _configure_logging(args.verbose, args.quiet)
    return batch_cli.run(args)


def _dispatch(argv: Sequence[str]) -> int:
    if argv and argv[0] == "batch":
        return _run_batch(argv[1:])
    if argv and argv[0] == "demo":
        return _run_demo(argv[1:])
    if argv and argv[0] == "build-engine":
        return _run_build_engine(argv[1:])
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    if args.list_cameras:
        return _list_cameras()
    if args.webcam is not None:
        return _run_live(args)
    return _run_file(args)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # run as a program: this process owns the terminal
        filter_native_stderr()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except UnmaskError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        # File mode: the writer removed its temporary file. Live mode handles the first Ctrl-C itself (the
        # recording is finished); only a second one lands here.
        print(f"{PROG}: interrupted; no unfinished output file was left behind", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if "-vv" in argv or argv.count("-v") > 1:
            raise
        print(f"{PROG}: internal error: {type(error).__name__}: {error} (run again with -vv for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
