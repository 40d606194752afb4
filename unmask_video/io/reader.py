"""Streaming video reader (PyAV): one demux pass over the video, audio and subtitle streams.

Frames are decoded one at a time (memory stays flat) with FFmpeg's slice threads (frame threads above 1080p: see
:func:`decode_thread_type`); audio and subtitle packets
are handed, in demux order, to a callback (normally :meth:`unmask_video.io.writer.VideoWriter.mux_packet`). A packet
that cannot be decoded or demuxed is skipped and decoding goes on; :attr:`VideoReader.report` says how many frames
were lost and where. Opening a stream, a named pipe or a device runs in a worker thread: it times out, and Ctrl-C
interrupts it at once.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterator

import av
import cv2
import numpy as np

from unmask_video.errors import InputError
from unmask_video.io.color import FrameToRGB
from unmask_video.io.paths import LIVE_SCHEMES, check_readable_file, is_named_pipe, is_stream_url, strip_file_scheme, url_scheme
from unmask_video.io.signals import call_interruptibly
from unmask_video.io.stream import StreamDescription

log = logging.getLogger(__name__)

#: FFmpeg demuxers that read still images, not videos.
_IMAGE_DEMUXERS = ("image2", "_pipe")
#: FFmpeg demuxers that render text files (ANSI art) as "video": a text file is not a video.
_TEXT_DEMUXERS = frozenset({"tty", "bin", "xbin", "adf", "idf"})
#: Consecutive demux errors after which the rest of the source is taken as unreadable.
_MAX_DEMUX_ERRORS = 64
#: Frames of at most this many pixels (1080p) are decoded with slice threads only, larger ones with frame threads too.
_SLICE_ONLY_MAX_PIXELS = 1920 * 1088


def decode_thread_type(width: int, height: int) -> str:
    """libavcodec's threading for a video of this size. Up to 1080p: "SLICE" (a single-slice H.264 stream then
    decodes on the calling thread: the reader already has a thread of its own, and frame threads cost CPU to hand
    frames between them; the decoded frames are the same bit for bit). Larger frames: "AUTO" (frame threads too),
    where one core might not keep up with a 30 fps source."""
    return "SLICE" if 0 < width * height <= _SLICE_ONLY_MAX_PIXELS else "AUTO"


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float  # average frame rate, for display (timestamps are what count)
    time_base: Fraction
    frame_count: int | None  # the container's estimate
    duration_s: float | None
    rotation: int  # display rotation tag in degrees counter-clockwise: 0, 90, 180 or 270
    codec: str
    audio_streams: int
    is_live: bool


@dataclass
class DecodedFrame:
    image: np.ndarray  # (H, W, 3) uint8 RGB, as decoded (rotation NOT applied; it is kept as a tag)
    pts: int | None
    time_base: Fraction
    time_s: float
    index: int
    #: The frame as the decoder gave it (YUV; never written to). The writer encodes from its planes where the
    #: stages changed ``image`` only inside ``changed`` (see :meth:`VideoWriter.write`).
    source: av.VideoFrame | None = None
    #: Boxes (x0, y0, x1, y1) of ``image`` outside which the stages left it exactly as decoded, set by the frame
    #: loop after the stages; None: not known (the whole image is converted back from RGB).
    changed: list[tuple[int, int, int, int]] | None = None


@dataclass
class DecodeReport:
    """What one pass of :meth:`VideoReader.frames` decoded; ``error`` is set when the source was damaged."""

    frames_decoded: int = 0
    frames_expected: int | None = None
    error: str | None = None
    packets_skipped: int = 0  # packets that did not decode or demux and were skipped
    damaged_at_s: list[float] = field(default_factory=list)  # source times of the skipped packets
    expected_is_exact: bool = field(default=False, repr=False)
    timestamps_repaired: int = 0  # frames whose timestamp did not come after the previous one's (re-timed)

    @property
    def frames_lost(self) -> int | None:
        """Expected minus decoded (None when the expected count is unknown)."""
        if not self.frames_expected:
            return None
        return max(0, self.frames_expected - self.frames_decoded)

    @property
    def lost_fraction(self) -> float:
        """Share of the expected frames that were not decoded (0.0 when unknown or complete)."""
        if not self.frames_expected:
            return 0.0
        return max(0.0, 1.0 - self.frames_decoded / self.frames_expected)

    def where(self) -> str:
        """Where the damage is, for a message: "at 1.2 s", "at 1.2-3.4 s" ("" when unknown)."""
        if not self.damaged_at_s:
            return ""
        lo, hi = min(self.damaged_at_s), max(self.damaged_at_s)
        return f"at {lo:.1f} s" if hi - lo < 0.05 else f"between {lo:.1f} s and {hi:.1f} s"


def normalize_rotation(degrees: float) -> int:
    return int(round(degrees / 90.0)) % 4 * 90


def ffmpeg_message(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip().rstrip(".")


def open_input(
    target: str,
    *,
    format: str | None = None,
    options: dict[str, str] | None = None,
    open_timeout_s: float | None = 10.0,
    read_timeout_s: float | None = 10.0,
) -> Any:
    """``av.open`` for reading that Ctrl-C interrupts and that gives up after ``open_timeout_s`` (TimeoutError).

    ``read_timeout_s`` bounds each later read of a network stream (FFmpeg's interrupt callback).
    """
    timeout = None if open_timeout_s is None else (open_timeout_s, read_timeout_s)

    def do_open() -> Any:
        return av.open(target, mode="r", format=format, options=dict(options or {}), timeout=timeout)

    return call_interruptibly(do_open, timeout_s=open_timeout_s, on_abandon=lambda c: c.close())


class VideoReader:
    """Streaming decoder for a file, a stream URL, a named pipe or a capture device (``input_format``).

    The first video frame is decoded when the reader opens (it carries the rotation tag and proves the source
    decodes); it is handed out first by :meth:`frames`, which may be called once. Sources that are not regular
    files (URLs, pipes, devices) must answer within ``open_timeout_s``.
    """

    def __init__(
        self,
        source: str,
        *,
        input_format: str | None = None,
        options: dict[str, str] | None = None,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.source = os.fspath(source)
        self._device = input_format is not None
        url = self._device or is_stream_url(self.source)
        path = self.source if url else strip_file_scheme(self.source)
        if not url:
            check_readable_file(path, what="input video")
        waits = url or is_named_pipe(path)
        try:
            self._container = open_input(
                path, format=input_format, options=options, open_timeout_s=open_timeout_s if waits else None,
                read_timeout_s=open_timeout_s,
            )  # fmt: skip
        except (TimeoutError, av.error.ExitError) as exc:  # ours, or FFmpeg's own timeout
            raise InputError(
                f"{self.source} sent nothing within {open_timeout_s:g} s: check that the sender is running"
            ) from exc
        except av.error.InvalidDataError as exc:
            raise InputError(f"{self.source} is not a video FFmpeg can read ({ffmpeg_message(exc)})") from exc
        except (av.FFmpegError, OSError, ValueError) as exc:
            kind = f"{input_format} device" if self._device else "input"
            raise InputError(f"cannot open {kind} {self.source}: {ffmpeg_message(exc)}") from exc
        try:
            self._setup(bool(url or waits))
        except BaseException:
            self._container.close()
            raise

    # -- opening ---------------------------------------------------------------------------------------------

    def _setup(self, stream_source: bool) -> None:
        container = self._container
        fmt = container.format.name
        if not self._device and fmt in _TEXT_DEMUXERS:
            raise InputError(f"{self.source} is not a video FFmpeg can read (it looks like text); give a video file")
        if not self._device and any(part in fmt for part in _IMAGE_DEMUXERS):
            raise InputError(f"{self.source} is a still image, not a video; give a video file (mp4, mkv, mov...)")
        if not container.streams.video:
            raise InputError(f"{self.source} has no video stream (audio only?); give a video file")
        self.video_stream = container.streams.video[0]
        if self.video_stream.codec_context is None:
            raise InputError(f"{self.source}: FFmpeg has no decoder for its video stream; convert it to H.264 first")
        context = self.video_stream.codec_context
        context.thread_type = decode_thread_type(int(context.width or 0), int(context.height or 0))
        self.audio_streams = list(container.streams.audio)
        self.subtitle_streams = list(container.streams.subtitles)
        skipped = len(container.streams) - 1 - len(self.audio_streams) - len(self.subtitle_streams)
        if skipped:
            log.info("%s: %d data/attachment stream(s) are not carried over", self.source, skipped)

        self._demux_streams = (self.video_stream, *self.audio_streams, *self.subtitle_streams)
        self._demux = container.demux(*self._demux_streams)
        self._event_gen = self._events()
        self._to_rgb = FrameToRGB()
        self._queue: deque[tuple[str, object]] = deque()  # events read ahead while opening
        self._frames_started = False
        self._index = 0
        self._last_time_s = 0.0
        self._last_pts: tuple[int, Fraction] | None = None  # the previous frame's (pts, time base), as repaired
        self.report = DecodeReport()

        first = self._prime()
        if first is None:
            detail = f" ({self.report.error})" if self.report.error else ""
            raise InputError(f"no video frame could be decoded from {self.source}{detail}; the file may be damaged")

        stream = self.video_stream
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if rate and stream.guessed_rate and rate > 1.01 * stream.guessed_rate:
            # an average above the rate every timestamp fits (FFmpeg's guess) comes from timestamps that stand still
            rate = stream.guessed_rate
        fps = float(rate) if rate else 0.0
        duration_s: float | None = None
        if stream.duration:
            duration_s = float(stream.duration * time_base)
        elif container.duration:
            duration_s = container.duration / av.time_base
        frame_count: int | None = stream.frames or None
        exact = frame_count is not None
        if frame_count is None and duration_s and fps:
            frame_count = max(1, round(duration_s * fps))
        live = self._device or url_scheme(self.source) in LIVE_SCHEMES or (stream_source and duration_s is None)
        if live:
            frame_count, duration_s, exact = None, None, False
        self.report.frames_expected = frame_count
        self.report.expected_is_exact = exact
        self.info = VideoInfo(
            width=first.width,
            height=first.height,
            fps=fps or 25.0,
            time_base=Fraction(time_base),
            frame_count=frame_count,
            duration_s=duration_s,
            rotation=normalize_rotation(first.rotation),
            codec=stream.codec_context.name,
            audio_streams=len(self.audio_streams),
            is_live=bool(live),
        )
        log.debug("opened %s: %s", self.source, self.info)

    def description(self) -> StreamDescription:
        """What a writer needs to encode this video with the same size, timing, rotation, colour, tags and streams."""
        info = self.info
        ctx = self.video_stream.codec_context
        rate = Fraction(info.fps).limit_denominator(1001) if info.fps else Fraction(25)
        return StreamDescription(
            width=info.width,
            height=info.height,
            rate=rate,
            time_base=info.time_base,
            rotation=info.rotation,
            colorspace=_tag(ctx, "colorspace"),
            color_primaries=_tag(ctx, "color_primaries"),
            color_trc=_tag(ctx, "color_trc"),
            tags=dict(self._container.metadata),
            copied_streams=(*self.audio_streams, *self.subtitle_streams),
        )

    def _prime(self) -> av.VideoFrame | None:
        """Demux until the first video frame decodes; queue it and the packets seen before it."""
        for kind, item in self._event_gen:
            self._queue.append((kind, item))
            if kind == "frame":
                return item  # type: ignore[return-value]
        return None

    # -- decoding --------------------------------------------------------------------------------------------

    def _events(self) -> Iterator[tuple[str, object]]:
        """("packet", audio/subtitle packet) and ("frame", av.VideoFrame) in demux order; damage is skipped."""
        demux_errors = 0
        flushed = False
        while True:
            try:
                packet = next(self._demux)
            except StopIteration:
                break
            except av.FFmpegError as exc:
                demux_errors += 1
                self._skip(f"demuxing failed: {ffmpeg_message(exc)}")
                if demux_errors >= _MAX_DEMUX_ERRORS:
                    self._stop(f"the source could not be read past {self._last_time_s:.1f} s ({ffmpeg_message(exc)})")
                    break
                self._demux = self._container.demux(*self._demux_streams)  # go on after the damage
                continue
            demux_errors = 0
            if packet.stream.type != "video":
                if packet.size:
                    yield "packet", packet
                continue
            if packet.pts is not None and packet.time_base is not None:
                self._last_time_s = float(packet.pts * packet.time_base)
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                self._skip(f"a damaged video packet was skipped ({ffmpeg_message(exc)})")
                continue
            for frame in frames:
                yield "frame", frame
            if packet.size == 0:  # the demuxer's end-of-stream packet: the decoder is flushed
                flushed = True
        if not flushed:
            try:
                for frame in self.video_stream.decode(None):
                    yield "frame", frame
            except av.FFmpegError:
                pass

    def _skip(self, message: str) -> None:
        report = self.report
        report.packets_skipped += 1
        report.damaged_at_s.append(self._last_time_s)
        if report.packets_skipped == 1:
            log.debug("%s: %s at %.2f s; going on", self.source, message, self._last_time_s)

    def _stop(self, message: str) -> None:
        if self.report.error is None:
            self.report.error = message

    def frames(
        self,
        on_packet: Callable[[av.Packet], None] | None = None,
        *,
        on_audio_packet: Callable[[av.Packet], None] | None = None,
    ) -> Iterator[DecodedFrame]:
        """Yield every decodable frame once; audio and subtitle packets go to ``on_packet`` in demux order.

        (``on_audio_packet`` is the former name of ``on_packet``.)
        """
        if self._frames_started:
            raise RuntimeError("VideoReader.frames() can be iterated only once; open a new reader")
        self._frames_started = True
        return self._iterate(on_packet or on_audio_packet)

    def _iterate(self, on_packet: Callable[[av.Packet], None] | None) -> Iterator[DecodedFrame]:
        def events() -> Iterator[tuple[str, object]]:
            while self._queue:
                yield self._queue.popleft()
            yield from self._event_gen

        for kind, item in events():
            if kind == "packet":
                if on_packet is not None:
                    on_packet(item)  # type: ignore[arg-type]
                continue
            decoded = self._convert(item)  # type: ignore[arg-type]
            self.report.frames_decoded += 1
            yield decoded
        self._check_complete()

    def _convert(self, frame: av.VideoFrame) -> DecodedFrame:
        image = self._to_rgb(frame)
        time_base = frame.time_base or self.info.time_base
        pts = self._repaired_pts(frame.pts, Fraction(time_base))
        time_s = float(pts * time_base) if pts is not None else self._index / self.info.fps
        decoded = DecodedFrame(
            image=image, pts=pts, time_base=Fraction(time_base), time_s=time_s, index=self._index, source=frame
        )
        self._index += 1
        return decoded

    def _repaired_pts(self, pts: int | None, time_base: Fraction) -> int | None:
        """``pts``, or one frame period (at the nominal rate) after the previous frame's when it does not come after
        it: a file whose timestamps stand still or go back (a bad muxer) would otherwise look like one instant to
        the time filters and be written as one burst of frames."""
        last = self._last_pts
        if pts is not None and last is not None and last[1] == time_base and pts <= last[0]:
            step = max(1, round(1 / (Fraction(self.info.fps).limit_denominator(1001) * time_base)))
            if not self.report.timestamps_repaired:
                log.warning(
                    "%s: the timestamps stop increasing at frame %d; timing the frames at %.3g fps from there",
                    self.source, self._index, self.info.fps,
                )
            self.report.timestamps_repaired += 1
            pts = last[0] + step
        if pts is not None:
            self._last_pts = (pts, time_base)
        return pts

    def _check_complete(self) -> None:
        report = self.report
        if report.error is not None or not report.frames_expected:
            if report.packets_skipped and report.error is None:
                report.error = f"{report.packets_skipped} damaged packet(s) skipped {report.where()}".strip()
            return
        missing = report.frames_expected - report.frames_decoded
        # A sample count can still include a few frames an edit list hides; a duration x rate estimate is rougher.
        share = 0.02 if report.expected_is_exact else 0.05
        tolerance = max(2, round(share * report.frames_expected))
        if report.packets_skipped:
            report.error = f"{report.packets_skipped} damaged packet(s) skipped {report.where()}".strip()
        elif missing > tolerance:
            report.error = (
                f"the video ended after {report.frames_decoded} of {report.frames_expected} frames (file truncated?)"
            )

    # -- lifetime --------------------------------------------------------------------------------------------

    @property
    def container(self) -> av.container.InputContainer:
        return self._container

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tag(ctx: Any, name: str) -> int | None:
    try:
        value = getattr(ctx, name)
    except (AttributeError, ValueError):
        return None
    return int(value) if value is not None else None


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Load a still (JPEG, PNG, WebP, BMP, TIFF...) as (H, W, 3) uint8 RGB, EXIF orientation applied."""
    text = os.fspath(path)
    check_readable_file(text, what="image")
    try:
        data = np.fromfile(text, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {text}: {exc.strerror or exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"{text} is not an image OpenCV can read; give a JPEG or PNG photo")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
