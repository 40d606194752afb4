"""Video I/O with PyAV: a streaming reader and a writer that keeps the source's timing, audio and tags.

Reading (:class:`VideoReader`) is one demux pass over the video stream and every audio stream: frames are
decoded one at a time (memory stays flat) with FFmpeg's threaded decoding, and audio packets are handed, in
demux order, to a callback (normally :meth:`VideoWriter.mux_audio`). A truncated or corrupt file decodes up
to the damage, then stops without raising; :attr:`VideoReader.report` says how much was lost.

Writing (:class:`VideoWriter`) re-encodes the video with each frame's source timestamp in the source time
base (so variable frame rate stays in sync with the audio), copies every audio stream packet for packet
(re-encoding to AAC only where the container cannot hold the codec), keeps the rotation tag and writes a
"processed by unmask-video" metadata tag. A file output goes to a hidden temporary file beside the output
and is renamed over it only by :meth:`VideoWriter.commit`: an error or Ctrl-C leaves nothing behind.

Odd frame sizes with a chroma-subsampled pixel format (yuv420p needs even width and height): the frame is
PADDED by one pixel on the right/bottom, repeating the last column/row. Every source pixel is kept (no
cropping of the picture) and the extra line is a copy of its neighbour, so it does not show as a border; the
output is one pixel wider/taller than the input.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import secrets
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from unmask_video import __version__
from unmask_video.errors import InputError, ProcessingError

log = logging.getLogger(__name__)

#: The container tags written on every output. ``comment`` is read by most players; the custom key is kept
#: by Matroska and (with ``movflags=use_metadata_tags``) by MP4/MOV. Matroska upper-cases keys on read.
PROCESSED_COMMENT = f"processed by unmask-video {__version__}"
METADATA_KEY = "unmask_video_version"

#: URL schemes of sources that are streams (no end known in advance) rather than files.
_LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "rtp", "udp", "tcp", "srt", "pipe"})
_URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(//|[^\\/])")
#: FFmpeg demuxers that read still images, not videos.
_IMAGE_DEMUXERS = ("image2", "_pipe")
#: FFmpeg demuxers that render text files (ANSI art) as "video": a text file is not a video.
_TEXT_DEMUXERS = frozenset({"tty", "bin", "xbin", "adf", "idf"})
#: AVColorSpace tag -> swscale matrix (SWS_CS_*): BT.709, FCC, BT.601 (BT470BG, SMPTE170M), SMPTE240M, BT.2020.
#: Untagged video uses swscale's default (BT.601) both ways, so the output looks like the input in any player.
_SWS_FROM_AVCOL = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
#: 8-bit 4:2:0 formats the reader converts to RGB itself (see VideoReader._to_rgb).
_YUV420 = frozenset({"yuv420p", "yuvj420p"})
#: Luma weights (Kr, Kb) of each swscale matrix: BT.709, FCC, BT.601, SMPTE240M, BT.2020.
_KR_KB = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 7: (0.212, 0.087), 9: (0.2627, 0.0593)}
#: swscale flags for other formats: full chroma interpolation, accurate rounding (decode); area-averaged
#: chroma, accurate rounding (encode). Both measured unbiased, unlike the defaults.
_SWS_DECODE = int(Interpolation.BILINEAR) | int(Interpolation.ACCURATE_RND) | int(Interpolation.FULL_CHR_H_INT)
_SWS_ENCODE = int(Interpolation.AREA) | int(Interpolation.ACCURATE_RND)
#: Container tags of the source that describe the source file itself and are not copied to the output.
_SKIPPED_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder", "comment", METADATA_KEY})


@dataclass
class EncodeOptions:
    """How the output video stream is encoded."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "veryfast"
    pix_fmt: str = "yuv420p"
    threads: int = 0  # 0 = auto


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


@dataclass
class DecodeReport:
    """What one pass of :meth:`VideoReader.frames` decoded; ``error`` is set when the source was damaged."""

    frames_decoded: int = 0
    frames_expected: int | None = None
    error: str | None = None
    expected_is_exact: bool = field(default=False, repr=False)

    @property
    def lost_fraction(self) -> float:
        """Share of the expected frames that were not decoded (0.0 when unknown or complete)."""
        if not self.frames_expected:
            return 0.0
        return max(0.0, 1.0 - self.frames_decoded / self.frames_expected)


def is_stream_url(source: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` and ``pipe:N`` sources/outputs; False for file paths (``C:\\x`` included)."""
    text = os.fspath(source)
    return bool(_URL_RE.match(text)) and not re.match(r"^[a-zA-Z]:[\\/]", text) and not text.startswith("file:")


def _url_scheme(source: str) -> str:
    return source.split(":", 1)[0].lower() if is_stream_url(source) else ""


def _strip_file_scheme(source: str) -> str:
    return source[len("file:") :] if source.startswith("file:") else source


def _sws_colorspace(avcol: int | None) -> int | None:
    """The swscale matrix (what PyAV's reformat takes) for a stream's AVColorSpace tag; None = swscale default."""
    return _SWS_FROM_AVCOL.get(int(avcol)) if avcol is not None else None


def _yuv_to_rgb_matrix(sws_colorspace: int, full_range: bool) -> np.ndarray:
    """3x4 matrix for cv2.transform: [R, G, B] = M @ [Y, U, V, 1] in 8-bit code values."""
    kr, kb = _KR_KB.get(sws_colorspace, _KR_KB[5])
    kg = 1.0 - kr - kb
    y_scale, c_scale, y_offset = (1 / 255, 1 / 255, 0.0) if full_range else (1 / 219, 1 / 224, 16.0)
    m = 255.0 * np.array(
        [
            [y_scale, 0.0, 2 * (1 - kr) * c_scale],
            [y_scale, -2 * kb * (1 - kb) / kg * c_scale, -2 * kr * (1 - kr) / kg * c_scale],
            [y_scale, 2 * (1 - kb) * c_scale, 0.0],
        ]
    )
    offset = -(m[:, 0] * y_offset + (m[:, 1] + m[:, 2]) * 128.0)
    return np.hstack([m, offset[:, None]]).astype(np.float32)


def _plane(frame: av.VideoFrame, index: int, width: int) -> np.ndarray:
    """One 8-bit plane of ``frame`` as an (h, width) view, without its line padding."""
    plane = frame.planes[index]
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :width]


def _normalize_rotation(degrees: float) -> int:
    return int(round(degrees / 90.0)) % 4 * 90


def _ffmpeg_message(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip().rstrip(".")


class VideoReader:
    """Streaming decoder for a file, a stream URL or a capture device (``input_format`` = v4l2/avfoundation/dshow).

    The first video frame is decoded when the reader opens (it carries the rotation tag and proves the source
    decodes); it is handed out first by :meth:`frames`, which may be called once.
    """

    def __init__(
        self, source: str, *, input_format: str | None = None, options: dict[str, str] | None = None
    ) -> None:
        self.source = os.fspath(source)
        self._device = input_format is not None
        url = self._device or is_stream_url(self.source)
        path = self.source if url else _strip_file_scheme(self.source)
        if not url:
            _check_readable_file(path, what="input video")
        try:
            self._container = av.open(path, mode="r", format=input_format, options=dict(options or {}))
        except av.error.InvalidDataError as exc:
            raise InputError(f"{self.source} is not a video FFmpeg can read ({_ffmpeg_message(exc)})") from exc
        except (av.FFmpegError, OSError, ValueError) as exc:
            kind = f"{input_format} device" if self._device else "input"
            raise InputError(f"cannot open {kind} {self.source}: {_ffmpeg_message(exc)}") from exc
        try:
            self._setup(url)
        except BaseException:
            self._container.close()
            raise

    # -- opening ---------------------------------------------------------------------------------------------

    def _setup(self, url: bool) -> None:
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
        self.video_stream.codec_context.thread_type = "AUTO"
        self.audio_streams = list(container.streams.audio)
        skipped = len(container.streams) - 1 - len(self.audio_streams)
        if skipped:
            log.info("%s: %d stream(s) other than the first video and the audio are not carried over", self.source, skipped)

        self._demux = container.demux(self.video_stream, *self.audio_streams)
        self._event_gen = self._events()
        self._reformatter = VideoReformatter()  # one swscale context for the whole stream, not one per frame
        self._matrices: dict[tuple[int, bool], np.ndarray] = {}
        self._queue: deque[tuple[str, object]] = deque()  # events read ahead while opening
        self._frames_started = False
        self._decoder_flushed = False
        self._index = 0
        self.report = DecodeReport()

        first = self._prime()
        if first is None:
            detail = f" ({self.report.error})" if self.report.error else ""
            raise InputError(f"no video frame could be decoded from {self.source}{detail}; the file may be damaged")

        stream = self.video_stream
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
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
        live = self._device or _url_scheme(self.source) in _LIVE_SCHEMES or (url and duration_s is None)
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
            rotation=_normalize_rotation(first.rotation),
            codec=stream.codec_context.name,
            audio_streams=len(self.audio_streams),
            is_live=bool(live),
        )
        log.debug("opened %s: %s", self.source, self.info)

    def _prime(self) -> av.VideoFrame | None:
        """Demux until the first video frame decodes; queue it and the audio packets seen before it."""
        for kind, item in self._event_gen:
            self._queue.append((kind, item))
            if kind == "frame":
                return item  # type: ignore[return-value]
        return None

    # -- decoding --------------------------------------------------------------------------------------------

    def _events(self) -> Iterator[tuple[str, object]]:
        """("audio", packet) and ("frame", av.VideoFrame) in demux order; stops (recording why) at damage."""
        while True:
            try:
                packet = next(self._demux)
            except StopIteration:
                break
            except av.FFmpegError as exc:
                self._damage(f"demuxing failed at frame {self._decoded_so_far()}: {_ffmpeg_message(exc)}")
                break
            if packet.stream.type == "audio":
                if packet.size:
                    yield "audio", packet
                continue
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                self._damage(f"decoding failed at frame {self._decoded_so_far()}: {_ffmpeg_message(exc)}")
                break
            for frame in frames:
                yield "frame", frame
            if packet.size == 0:  # the demuxer's end-of-stream packet: the decoder is flushed
                self._decoder_flushed = True
        if not self._decoder_flushed:
            self._decoder_flushed = True
            try:
                for frame in self.video_stream.decode(None):
                    yield "frame", frame
            except av.FFmpegError:
                pass

    def _decoded_so_far(self) -> int:
        return self.report.frames_decoded + sum(1 for kind, _ in self._queue if kind == "frame")

    def _damage(self, message: str) -> None:
        if self.report.error is None:
            self.report.error = message
            log.warning("%s: %s; keeping what decoded", self.source, message)

    def frames(self, on_audio_packet: Callable[[av.Packet], None] | None = None) -> Iterator[DecodedFrame]:
        """Yield every decodable frame once; audio packets go to ``on_audio_packet`` in demux order."""
        if self._frames_started:
            raise RuntimeError("VideoReader.frames() can be iterated only once; open a new reader")
        self._frames_started = True
        return self._iterate(on_audio_packet)

    def _iterate(self, on_audio_packet: Callable[[av.Packet], None] | None) -> Iterator[DecodedFrame]:
        def events() -> Iterator[tuple[str, object]]:
            while self._queue:
                yield self._queue.popleft()
            yield from self._event_gen

        for kind, item in events():
            if kind == "audio":
                if on_audio_packet is not None:
                    on_audio_packet(item)  # type: ignore[arg-type]
                continue
            decoded = self._convert(item)  # type: ignore[arg-type]
            self.report.frames_decoded += 1
            yield decoded
        self._check_complete()

    def _convert(self, frame: av.VideoFrame) -> DecodedFrame:
        image = self._to_rgb(frame)
        time_base = frame.time_base or self.info.time_base
        pts = frame.pts
        if pts is not None:
            time_s = float(pts * time_base)
        else:
            time_s = self._index / self.info.fps
        decoded = DecodedFrame(image=image, pts=pts, time_base=Fraction(time_base), time_s=time_s, index=self._index)
        self._index += 1
        return decoded

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """(H, W, 3) uint8 RGB with the frame's own matrix and range.

        swscale's fast yuv420p -> RGB path comes out about one level too dark on every channel (so each pass
        through the tool would darken the video); its accurate flags fix that at ~10x the cost. 4:2:0 frames
        (what H.264/HEVC decoders give) are converted here instead: chroma upsampled bilinearly with OpenCV,
        then one 3x4 colour matrix (cv2.transform), ~3 ms for 720p on one core, unbiased. Other pixel formats
        (10-bit, 4:2:2...) go through swscale with accurate rounding.
        """
        if frame.format.name in _YUV420:
            width, height = frame.width, frame.height
            full_range = frame.format.name == "yuvj420p" or int(frame.color_range) == 2  # AVCOL_RANGE_JPEG
            key = (_sws_colorspace(frame.colorspace) or 5, full_range)
            matrix = self._matrices.get(key)
            if matrix is None:
                matrix = self._matrices[key] = _yuv_to_rgb_matrix(*key)
            half = (width + 1) // 2
            planes = [_plane(frame, 0, width)] + [
                cv2.resize(_plane(frame, i, half), (width, height), interpolation=cv2.INTER_LINEAR) for i in (1, 2)
            ]
            return cv2.transform(cv2.merge(planes), matrix)
        rgb = self._reformatter.reformat(
            frame,
            format="rgb24",
            src_colorspace=_sws_colorspace(frame.colorspace),
            src_color_range=frame.color_range,
            interpolation=_SWS_DECODE,
        )
        return rgb.to_ndarray()

    def _check_complete(self) -> None:
        report = self.report
        if report.error is not None or not report.frames_expected:
            return
        missing = report.frames_expected - report.frames_decoded
        # A sample count can still include a few frames an edit list hides; a duration x rate estimate is rougher.
        share = 0.02 if report.expected_is_exact else 0.05
        tolerance = max(2, round(share * report.frames_expected))
        if missing > tolerance:
            self._damage(
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


class VideoWriter:
    """Encoder/muxer for one output; use as a context manager and call :meth:`commit` on success.

    Leaving the ``with`` block without :meth:`commit` (an exception, Ctrl-C) calls :meth:`abort`.
    """

    def __init__(
        self,
        path: str | Path,
        reader: VideoReader,
        options: EncodeOptions,
        *,
        output_format: str | None = None,
    ) -> None:
        self.options = options
        self._reader = reader
        self._url = isinstance(path, str) and is_stream_url(path)
        self.path: str | Path = path if self._url else Path(path)
        self._container: av.container.OutputContainer | None = None
        self._done = False
        self._frames_written = 0
        self._last_pts: int | None = None
        self._warned_size = False
        codec = _check_encoder(options)
        self._tmp: Path | None = None
        if self._url:
            target = str(path)
        else:
            final = Path(path)
            self._tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial{final.suffix}")
            target = str(self._tmp)
        fmt = output_format
        try:
            self._container = av.open(target, mode="w", format=fmt)
        except ValueError as exc:
            self._remove_tmp()
            if fmt is not None:
                raise InputError(f"unknown output format {fmt!r}; try mp4, matroska, mov or mpegts") from exc
            raise InputError(
                f"cannot tell the container format of {path} from its name; use .mp4, .mkv or .mov"
                + (" or give output_format" if self._url else "")
            ) from exc
        except (av.FFmpegError, OSError) as exc:
            self._remove_tmp()
            raise InputError(f"cannot write {path}: {_ffmpeg_message(exc)}") from exc
        try:
            self._setup(codec)
        except BaseException:
            self.abort()
            raise

    def _setup(self, codec: av.Codec) -> None:
        container = self._container
        assert container is not None
        info = self._reader.info
        src = self._reader.video_stream
        fmt_name = container.format.name
        if "mp4" in fmt_name or "mov" in fmt_name:
            # Keep custom metadata keys; put the index first so the file plays while it downloads.
            container.container_options["movflags"] = "+faststart+use_metadata_tags"
            # Edit lists (a start delay) are written in the movie timescale, 1/1000 s by default: use the video
            # time base's so a source's first timestamp comes back exact, not rounded to the millisecond.
            tb = self._reader.info.time_base
            if tb.numerator == 1 and 1000 < tb.denominator <= 1_000_000:
                container.container_options["movie_timescale"] = str(tb.denominator)
        for key, value in self._reader.container.metadata.items():
            if key.lower() not in _SKIPPED_TAGS:
                container.metadata[key] = value
        container.metadata["comment"] = PROCESSED_COMMENT
        container.metadata[METADATA_KEY] = __version__

        pix = av.VideoFormat(self.options.pix_fmt)
        # Round the size up to what the pixel format's chroma subsampling allows (see the module docstring).
        self.width = info.width + (pix.chroma_width(info.width) * _chroma_w_factor(pix) - info.width)
        self.height = info.height + (pix.chroma_height(info.height) * _chroma_h_factor(pix) - info.height)
        if (self.width, self.height) != (info.width, info.height):
            log.info(
                "%s needs even sizes: padding %dx%d to %dx%d by repeating the edge pixels",
                self.options.pix_fmt, info.width, info.height, self.width, self.height,
            )
        rate = Fraction(info.fps).limit_denominator(1001) if info.fps else Fraction(25)
        try:
            stream = container.add_stream(codec.name, rate=rate)
        except ValueError as exc:  # FFmpeg says the container cannot hold this codec
            raise InputError(
                f"the {fmt_name} container cannot hold {codec.name} video; choose another codec or extension"
            ) from exc
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = self.options.pix_fmt
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        stream.codec_context.thread_count = max(0, self.options.threads)
        for attr in ("colorspace", "color_primaries", "color_trc"):
            try:
                setattr(stream.codec_context, attr, getattr(src.codec_context, attr))
            except (AttributeError, ValueError, TypeError):
                pass
        stream.codec_context.color_range = 1  # MPEG (limited) range: what yuv420p encoders expect
        stream.codec_context.options = _encoder_options(codec, self.options)
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        self.video_stream = stream
        self._colorspace = _sws_colorspace(src.codec_context.colorspace)
        self._reformatter = VideoReformatter()

        # Audio: every stream of the reader, packet for packet (or re-encoded to AAC where needed).
        self._audio_map: dict[int, av.stream.Stream] = {}
        self._reencode: dict[int, av.audio.stream.AudioStream] = {}
        for src_audio in self._reader.audio_streams:
            ctx = src_audio.codec_context
            name = ctx.name if ctx is not None else "unknown"
            try:
                out = container.add_stream_from_template(src_audio)
            except ValueError:  # FFmpeg says the container cannot hold this codec
                if ctx is None:
                    log.warning("audio stream %d: %s cannot hold it and there is no decoder: dropped", src_audio.index, fmt_name)
                    continue
                log.info("%s cannot hold %s audio: re-encoding stream %d to AAC", fmt_name, name, src_audio.index)
                out = container.add_stream("aac", rate=ctx.sample_rate or 48000)
                if ctx.layout is not None and ctx.layout.nb_channels:
                    out.layout = ctx.layout if ctx.layout.nb_channels <= 2 else "stereo"
                self._reencode[src_audio.index] = out
            for key, value in src_audio.metadata.items():
                if key.lower() in ("language", "title", "handler_name"):
                    out.metadata[key] = value
            self._audio_map[src_audio.index] = out

    # -- writing ---------------------------------------------------------------------------------------------

    def write(self, frame: DecodedFrame, image: np.ndarray) -> None:
        """Encode ``image`` (H, W, 3) uint8 RGB at ``frame``'s source timestamp."""
        container = self._open_container()
        info = self._reader.info
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ProcessingError(f"frame {frame.index}: expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        if (width, height) != (info.width, info.height) and not self._warned_size:
            self._warned_size = True
            log.warning("frame %d is %dx%d, the stream is %dx%d: scaling", frame.index, width, height, info.width, info.height)
        if (width, height) == (info.width, info.height) and (self.width, self.height) != (width, height):
            image = np.pad(image, ((0, self.height - height), (0, self.width - width), (0, 0)), mode="edge")
        vframe = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        try:
            out = self._reformatter.reformat(
                vframe,
                width=self.width,
                height=self.height,
                format=self.options.pix_fmt,
                dst_colorspace=self._colorspace,
                dst_color_range=1,
                interpolation=_SWS_ENCODE,
            )
        except (ValueError, av.FFmpegError) as exc:
            raise ProcessingError(f"frame {frame.index}: cannot convert to {self.options.pix_fmt}: {exc}") from exc
        out.pts = self._pts_for(frame)
        out.time_base = info.time_base
        try:
            container.mux(self.video_stream.encode(out))
        except av.FFmpegError as exc:
            raise ProcessingError(f"encoding frame {frame.index} failed: {_ffmpeg_message(exc)}") from exc
        self._frames_written += 1

    def _pts_for(self, frame: DecodedFrame) -> int:
        info = self._reader.info
        if frame.pts is not None:
            pts = frame.pts
            if frame.time_base != info.time_base:
                pts = round(pts * frame.time_base / info.time_base)
        else:
            pts = round(Fraction(frame.index) / Fraction(info.fps).limit_denominator(1001) / info.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            log.debug("frame %d: timestamp %d not increasing, using %d", frame.index, pts, self._last_pts + 1)
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def mux_audio(self, packet: av.Packet) -> None:
        """Write one demuxed audio packet of the reader (the packet is consumed: its stream/timestamps change)."""
        container = self._open_container()
        out = self._audio_map.get(packet.stream.index)
        if out is None:
            return
        try:
            if packet.stream.index in self._reencode:
                for aframe in packet.decode():
                    self._encode_audio(out, aframe)
                return
            if packet.dts is None:
                return  # FFmpeg cannot mux a packet without a decode timestamp
            packet.stream = out
            container.mux(packet)
        except av.FFmpegError as exc:
            raise ProcessingError(f"writing audio failed: {_ffmpeg_message(exc)}") from exc

    def _encode_audio(self, out: av.audio.stream.AudioStream, aframe: av.AudioFrame | None) -> None:
        assert self._container is not None
        if aframe is not None:
            if aframe.pts is not None and aframe.time_base is not None:
                aframe.pts = round(aframe.pts * aframe.time_base * out.codec_context.sample_rate)
            aframe.time_base = Fraction(1, out.codec_context.sample_rate)
        self._container.mux(out.encode(aframe))

    def commit(self) -> None:
        """Flush the encoders, close the file and rename it over the output path."""
        container = self._open_container()
        try:
            if self._frames_written == 0:
                raise ProcessingError(f"no frame was written to {self.path}; nothing to save")
            try:
                container.mux(self.video_stream.encode(None))
                for index, out in self._reencode.items():
                    src = next(s for s in self._reader.audio_streams if s.index == index)
                    for aframe in src.codec_context.decode(None):
                        self._encode_audio(out, aframe)
                    self._encode_audio(out, None)
                container.close()
            except av.FFmpegError as exc:
                raise ProcessingError(f"finishing {self.path} failed: {_ffmpeg_message(exc)}") from exc
            self._container = None
            if self._tmp is not None:
                os.replace(self._tmp, self.path)
                self._tmp = None
            self._done = True
            log.info("wrote %s (%d frames)", self.path, self._frames_written)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the output: close without keeping anything; the output path is left untouched."""
        self._done = True
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except (av.FFmpegError, OSError, ValueError) as exc:  # the header may never have been written
                log.debug("closing an aborted output: %s", exc)
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            try:
                self._tmp.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not remove the temporary file %s: %s", self._tmp, exc)
            self._tmp = None

    def _open_container(self) -> av.container.OutputContainer:
        if self._container is None:
            raise ProcessingError(f"{self.path}: the writer is already closed")
        return self._container

    @property
    def frames_written(self) -> int:
        return self._frames_written

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._done:
            self.abort()


class BackgroundWriter:
    """Runs a :class:`VideoWriter`'s :meth:`~VideoWriter.write` and :meth:`~VideoWriter.mux_audio` on a worker thread.

    Encoding (colour conversion + libx264) then overlaps the caller's per-frame work: PyAV releases the GIL
    while FFmpeg works, so two cores run both. Calls are queued (at most ``depth`` waiting; the caller
    blocks beyond that) and run in call order, so frames and audio packets keep their order. An error in
    the worker is raised in the caller at its next call (or by :meth:`commit`); after one, nothing more
    is written. Use as a context manager: leaving the block without :meth:`commit` (an error, Ctrl-C)
    drops what is queued, waits for the worker and aborts the writer, so no output file is left.
    The images handed to :meth:`write` must not be modified afterwards.
    """

    _STOP = object()

    def __init__(self, writer: VideoWriter, depth: int = 3) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.writer = writer
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._done = False
        #: Seconds the worker spent writing (it runs alongside the caller: this is not wall time lost).
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._work, name="unmask-video-writer", daemon=True)
        self._thread.start()

    def write(self, frame: DecodedFrame, image: np.ndarray) -> None:
        """Queue ``image`` for encoding at ``frame``'s timestamp (see :meth:`VideoWriter.write`)."""
        self._put((self.writer.write, (frame, image)))

    def mux_audio(self, packet: av.Packet) -> None:
        """Queue one demuxed audio packet (see :meth:`VideoWriter.mux_audio`)."""
        self._put((self.writer.mux_audio, (packet,)))

    def _put(self, item: object) -> None:
        if self._done:
            raise ProcessingError(f"{self.writer.path}: the writer is already closed")
        while True:
            self._raise_error()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._STOP:
                return
            if self._error is not None:
                continue  # after a failure the rest is dropped
            call, args = item  # type: ignore[misc]
            start = time.perf_counter()
            try:
                call(*args)
            except BaseException as exc:  # noqa: BLE001 -- handed to the caller's thread
                self._error = exc
            self.busy_s += time.perf_counter() - start

    def _stop(self, drop: bool) -> None:
        if not self._thread.is_alive():
            return
        if drop:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
        self._queue.put(self._STOP)  # the worker takes items off: there is room for this one
        self._thread.join()

    def commit(self) -> None:
        """Wait for everything queued to be written, then :meth:`VideoWriter.commit`; raises the worker's error."""
        try:
            self._stop(drop=False)
            self._raise_error()
            self.writer.commit()
        except BaseException:
            self.abort()
            raise
        finally:
            self._done = True

    def abort(self) -> None:
        """Drop what is queued, wait for the worker, and drop the output."""
        self._done = True
        self._stop(drop=True)
        self.writer.abort()

    @property
    def frames_written(self) -> int:
        return self.writer.frames_written

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._done:
            self.abort()


def _chroma_w_factor(pix: av.VideoFormat) -> int:
    # chroma_width(w) = ceil(w / 2**log2_chroma_w): the factor is 2**log2_chroma_w, recovered from a power of 2.
    return 1024 // pix.chroma_width(1024) if pix.chroma_width(1024) else 1


def _chroma_h_factor(pix: av.VideoFormat) -> int:
    return 1024 // pix.chroma_height(1024) if pix.chroma_height(1024) else 1


def _check_encoder(options: EncodeOptions) -> av.Codec:
    try:
        codec = av.Codec(options.codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError) as exc:
        raise InputError(f"unknown video encoder {options.codec!r}; try libx264, libx265, mpeg4 or libvpx-vp9") from exc
    if codec.type != "video":
        raise InputError(f"{options.codec!r} is a {codec.type} encoder; give a video encoder such as libx264")
    names = {f.name for f in (codec.video_formats or ())}
    try:
        av.VideoFormat(options.pix_fmt)
    except (ValueError, av.FFmpegError) as exc:
        raise InputError(f"unknown pixel format {options.pix_fmt!r}; try yuv420p") from exc
    if names and options.pix_fmt not in names:
        raise InputError(f"{options.codec} cannot encode {options.pix_fmt}; it takes {', '.join(sorted(names))}")
    return codec


def _encoder_options(codec: av.Codec, options: EncodeOptions) -> dict[str, str]:
    """crf/preset for the encoders that have them (x264, x265, SVT-AV1...); others keep their defaults."""
    try:
        known = {opt.name for opt in av.CodecContext.create(codec.name, "w").supported_options.private}
    except (av.FFmpegError, ValueError, AttributeError):
        known = set()
    result: dict[str, str] = {}
    if "crf" in known:
        result["crf"] = str(options.crf)
    if "preset" in known:
        result["preset"] = str(options.preset)
    dropped = [name for name in ("crf", "preset") if name not in known]
    if dropped:
        log.info("%s has no %s option: using its defaults", codec.name, " or ".join(dropped))
    return result


def _check_readable_file(path: str, *, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {path}")
    if p.is_dir():
        raise InputError(f"{what} {path} is a folder; give a file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} {path} is not readable (check its permissions)")


def check_output_path(input_path: str, output_path: str) -> Path:
    """Validate a file output before any work is done; return it as an absolute path.

    Raises InputError when the output is the input (also through symlinks, hard links or a relative path),
    is a folder, or its folder is missing / not a folder / not writable. Stream URLs are not paths: write
    to them with ``VideoWriter(url, ..., output_format=...)`` without calling this.
    """
    if is_stream_url(output_path):
        raise ValueError(f"{output_path} is a stream URL, not a file path; check_output_path is for files")
    out = Path(_strip_file_scheme(os.fspath(output_path))).expanduser()
    out_abs = Path(os.path.abspath(out))
    if out_abs.is_dir():
        raise InputError(f"output {output_path} is a folder; give a file name such as {out / 'out.mp4'}")
    if not is_stream_url(input_path):
        inp = Path(_strip_file_scheme(os.fspath(input_path))).expanduser()
        same = out_abs.resolve() == inp.resolve()
        if not same and out_abs.exists() and inp.exists():
            try:
                same = os.path.samefile(out_abs, inp)
            except OSError:
                same = False
        if same:
            raise InputError(f"output {output_path} is the input video; give another output file name")
    parent = out_abs.parent
    if not parent.exists():
        raise InputError(f"output folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise InputError(f"output folder {parent} is a file, not a folder; give another output path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"output folder {parent} is not writable; choose another output path")
    if out_abs.suffix == "":
        raise InputError(f"output {output_path} has no extension; end it with .mp4, .mkv or .mov")
    return out_abs


def read_image(path: str | Path) -> np.ndarray:
    """Load a still (JPEG, PNG, WebP, BMP, TIFF...) as (H, W, 3) uint8 RGB, EXIF orientation applied."""
    text = os.fspath(path)
    _check_readable_file(text, what="image")
    try:
        data = np.fromfile(text, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {text}: {exc.strerror or exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"{text} is not an image OpenCV can read; give a JPEG or PNG photo")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def open_camera_source(device: str | None, platform: str | None = None) -> tuple[str, str]:
    """The (source, input_format) that opens a webcam with :class:`VideoReader` on this platform.

    Linux: v4l2, ``/dev/video0`` by default, a number N means ``/dev/videoN``. macOS: avfoundation, device
    index ``0`` by default (avfoundation usually also needs ``options={"framerate": "30"}``, see
    :func:`camera_options`). Windows: dshow, which names cameras: ``video=<name>`` (a bare name gets the
    prefix); there is no default, so ``device=None`` raises InputError with how to list them.
    """
    plat = platform or sys.platform
    if plat.startswith("linux"):
        if device is None:
            return "/dev/video0", "v4l2"
        return (f"/dev/video{device}" if device.isdigit() else device), "v4l2"
    if plat == "darwin":
        return ("0" if device is None else device), "avfoundation"
    if plat in ("win32", "cygwin"):
        if device is None or device.isdigit():
            raise InputError(
                "on Windows give the camera by name, e.g. unmask-video live \"video=Integrated Camera\" "
                "(list them with: ffmpeg -list_devices true -f dshow -i dummy)"
            )
        return (device if device.startswith("video=") else f"video={device}"), "dshow"
    raise InputError(f"no known camera input on platform {plat!r}; give a stream URL instead")


def camera_options(input_format: str) -> dict[str, str]:
    """Demuxer options a camera of ``input_format`` commonly needs to open."""
    if input_format == "avfoundation":
        return {"framerate": "30"}
    return {}
