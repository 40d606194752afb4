"""``unmask-video run`` (the default subcommand): rebuild the masked face in a video file."""

from __future__ import annotations

import argparse
import logging

from unmask_video.commands import options
from unmask_video.errors import InputError

log = logging.getLogger("unmask_video")

USAGE = "unmask-video [run] IN.mp4 --ref FACE.jpg -o OUT.mp4 [options]"


class _MovedToLive(argparse.Action):
    """``--webcam``/``--list-cameras`` given to ``run``: say where live mode is now, as a usage error."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        raise InputError(f"{option_string} belongs to live mode: use 'unmask-video live --help'")


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        usage=USAGE,
        help="rebuild the masked face in a video file (the default: 'run' may be left out)",
        description="Rebuild the masked face in a video file; audio and timestamps are copied unchanged.",
    )
    files = parser.add_argument_group("input and output")
    files.add_argument("input", nargs="?", metavar="IN.mp4", help="input video file or stream URL")
    options.add_reference(files)
    files.add_argument("-o", "--output", metavar="OUT.mp4", help="output video file")
    files.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    options.add_reconstruction(parser)
    options.add_tracking(parser)
    options.add_encoding(parser)
    options.add_messages(parser)
    for flag in ("--webcam", "--list-cameras"):
        parser.add_argument(flag, nargs="?", action=_MovedToLive, help=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace) -> int:
    from unmask_video.runner import RunOptions, run_file
    from unmask_video.summary import print_summary
    from unmask_video.io import EncodeOptions

    if not args.input:
        raise InputError(f"no input video given (usage: {USAGE})")
    reference = options.require_reference(args)
    if not args.output:
        raise InputError("no output file given: pass -o OUT.mp4")
    summary = run_file(
        RunOptions(
            input=args.input,
            output=args.output,
            reference=reference,
            encode=EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset),
            pipeline=options.pipeline_options(args),
            reconstructor=options.reconstructor_options(args),
            batch=options.batch_size(args),
            quiet=args.quiet,
            overwrite=args.overwrite,
        )
    )
    if not args.quiet:
        print_summary(summary)
    if summary.damage:
        lost = f"{summary.frames_lost} frames ({summary.lost_fraction:.0%})" if summary.frames_lost else "some frames"
        log.error(
            "the input is damaged (%s): %d frames decoded, %s lost; %s holds the frames that decoded",
            summary.damage,
            summary.frames,
            lost,
            summary.output,
        )
        return 1
    return 0
