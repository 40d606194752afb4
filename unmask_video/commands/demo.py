"""``unmask-video demo``: make a masked sample clip from a public-domain photo and unmask it."""

from __future__ import annotations

import argparse
from pathlib import Path

from unmask_video.commands import options
from unmask_video.errors import InputError


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo",
        usage="unmask-video demo [--out-dir DIR] [--frames N] [options]",
        help="make a masked sample clip and unmask it (no files needed)",
        description="Make a masked sample clip from a public-domain photo and unmask it; prints how much closer "
        "to the unmasked truth the output is than the masked input.",
    )
    files = parser.add_argument_group("demo")
    files.add_argument(
        "--out-dir", type=Path, default=Path("unmask-video-demo"), metavar="DIR", help="folder for the demo files"
    )
    files.add_argument("--frames", type=int, default=50, metavar="N", help="length of the sample clip (default 50)")
    options.add_reconstruction(parser)
    options.add_tracking(parser)
    options.add_messages(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from unmask_video.demo import run_demo

    if args.frames < 1:
        raise InputError("--frames must be at least 1")
    pipeline = options.pipeline_options(args)
    reconstructor = options.reconstructor_options(args)
    return run_demo(args.out_dir, args.frames, pipeline, reconstructor, options.batch_size(args), args.quiet)
