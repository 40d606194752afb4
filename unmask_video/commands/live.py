"""``unmask-video live``: unmask a camera or a live stream (see :mod:`unmask_video.live`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from unmask_video.commands import options
from unmask_video.errors import InputError

if TYPE_CHECKING:
    from unmask_video.live import LiveOptions
    from unmask_video.live_capture import LiveSource

USAGE = "unmask-video live [DEVICE|URL] --ref FACE.jpg [-o URL|FILE] [options]"


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "live",
        usage=USAGE,
        help="unmask a camera or a live stream, with bounded delay",
        description="Unmask a camera or a live stream with bounded delay: a preview window, a virtual camera, "
        "a network stream and/or a recording.",
    )
    add_live_arguments(parser)
    options.add_reconstruction(parser, batching=False)
    options.add_tracking(parser)
    options.add_messages(parser, quiet_help="no status line and no summary")
    return parser


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    """The source, the reference and the outputs of live mode."""
    source = parser.add_argument_group("source and reference")
    source.add_argument("source", nargs="?", default=None, metavar="DEVICE|URL",
                        help="a camera (default /dev/video0, '0' on macOS, a name on Windows), "
                        "a stream URL or a named pipe")  # fmt: skip
    options.add_reference(source)
    source.add_argument("--list-cameras", action="store_true", help="list the cameras and exit")
    source.add_argument("--video-size", metavar="WxH", help="camera frame size, e.g. 1280x720")
    source.add_argument("--framerate", metavar="FPS", help="camera frame rate, e.g. 30")
    source.add_argument("--input-format", metavar="FMT", help="camera pixel/codec format, e.g. mjpeg or yuyv422")
    source.add_argument("--source-format", metavar="FMT", help="demuxer of a stream source (mpegts for a named pipe)")
    source.add_argument("--source-option", action="append", default=[], metavar="KEY=VALUE",
                        help="an FFmpeg option for the source (repeatable), e.g. rtsp_transport=tcp")  # fmt: skip
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("-o", "--output", metavar="URL|FILE", help="a stream URL (udp://...) or a file to record to")
    outputs.add_argument("--format", dest="stream_format", metavar="FMT",
                         help="container format of the -o stream URL (default by scheme: udp -> mpegts)")  # fmt: skip
    outputs.add_argument("--record", type=Path, metavar="FILE", help="also record the session to FILE")
    outputs.add_argument("--overwrite", action="store_true", help="replace the recording file if it exists")
    outputs.add_argument("--window", dest="window", action="store_true", default=None, help="show the preview window")
    outputs.add_argument("--no-window", dest="window", action="store_false", help="no preview window")
    outputs.add_argument("--virtual-cam", action="store_true", help="send to a virtual camera (pyvirtualcam)")
    outputs.add_argument("--virtual-cam-device", metavar="DEV", help="virtual camera device, e.g. /dev/video10")
    outputs.add_argument("--snapshot-dir", type=Path, default=Path("."), metavar="DIR", help="folder for snapshots (key s)")
    outputs.add_argument("--max-seconds", type=float, default=None, metavar="S", help="stop after this many seconds")


def live_from_args(args: argparse.Namespace) -> "tuple[LiveSource, LiveOptions]":
    """Turn the parsed flags into ``run_live`` arguments; ``-o`` is a stream URL or, for a path, a recording."""
    from unmask_video.live import LiveOptions
    from unmask_video.io import is_stream_url
    from unmask_video.live_capture import LiveSource, is_live_source

    options_extra: dict[str, str] = {}
    for item in args.source_option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--source-option wants KEY=VALUE, got {item!r}")
        options_extra[key] = value
    target = args.source or None
    live_source = bool(target) and is_live_source(target)
    source = LiveSource(
        device=None if live_source else target,
        url=target if live_source else None,
        source_format=args.source_format,
        input_format=args.input_format,
        video_size=args.video_size,
        framerate=args.framerate,
        options=options_extra,
    )
    record = args.record
    stream_url = None
    if args.output:
        if is_stream_url(args.output):
            stream_url = args.output
        elif record is None:
            record = Path(args.output)
        else:
            raise InputError("give the recording once: either -o FILE or --record FILE")
    live = LiveOptions(
        window=args.window,
        virtual_cam=args.virtual_cam,
        virtual_cam_device=args.virtual_cam_device,
        record=record,
        overwrite=args.overwrite,
        stream_url=stream_url,
        stream_format=args.stream_format,
        snapshot_dir=args.snapshot_dir,
        max_seconds=args.max_seconds,
    )
    return source, live


def run(args: argparse.Namespace) -> int:
    if args.list_cameras:
        return _list_cameras()
    from unmask_video.live import pipeline_options_for_live, reconstructor_options_for_live, run_live
    from unmask_video.live_stats import terminal_status
    from unmask_video.pipeline import FramePipeline
    from unmask_video.reconstruct.factory import build_reconstructor
    from unmask_video.io import read_image

    reference = options.require_reference(args)
    source, live = live_from_args(args)
    live.status = None if args.quiet else terminal_status()
    pipeline_options = pipeline_options_for_live(options.pipeline_options(args))
    face = read_image(reference)
    reconstructor = build_reconstructor(reconstructor_options_for_live(options.reconstructor_options(args)))
    pipeline = FramePipeline(face, reconstructor, pipeline_options)
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
