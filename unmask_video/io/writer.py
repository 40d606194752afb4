"""Video writer (PyAV) for file mode and live mode, built from a :class:`~unmask_video.io.stream.StreamDescription`.

The video is re-encoded with each frame's timestamp in the description's time base (variable frame rate stays in
sync with the audio); every copied stream (audio, subtitles) is copied packet for packet where the container can
hold it, audio is re-encoded where it cannot (AAC, Opus for WebM, MP2 for MPEG-PS), subtitles are dropped with a
warning where no copy is possible. The rotation and colour tags are kept and a "processed by unmask-video" tag is
written (``comment`` + :data:`METADATA_KEY`; ``service_provider`` for MPEG-TS, which has no comment field).

Everything that can be checked is checked when the writer is built, before the first frame: the encoder, its
options (``--preset``, ``--crf``), the pixel format, the container/codec pairs; the header is written then, so a bad
combination is an :class:`InputError` (exit 2) in one line, never a failure halfway through.

A file output goes to a unique hidden temporary file beside the output and is put in place only by :meth:`commit`
with :func:`unmask_video.io.paths.publish`: an error, Ctrl-C or a signal leaves nothing behind, and a file that
appeared at the output path during the run is never replaced unless ``overwrite`` allows it.

Odd frame sizes with a chroma-subsampled pixel format (yuv420p needs even width and height): the frame is PADDED by
one pixel on the right/bottom, repeating the last column/row (no cropping); the output is one pixel wider/taller.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from unmask_video import __version__
from unmask_video.errors import InputError, ProcessingError
from unmask_video.io.color import RGBToFrame
from unmask_video.io.paths import is_stream_url, publish, remove_temp, temp_path_for, url_scheme
from unmask_video.io.reader import DecodedFrame, VideoReader, ffmpeg_message
from unmask_video.io.stream import AudioTrack, StreamDescription
from unmask_video.timing import name_os_thread, os_thread_named

log = logging.getLogger(__name__)

#: The container tags written on every output. ``comment`` is read by most players; the custom key is kept
#: by Matroska and (with ``movflags=use_metadata_tags``) by MP4/MOV. Matroska upper-cases keys on read.
PROCESSED_COMMENT = f"processed by unmask-video {__version__}"
METADATA_KEY = "unmask_video_version"
#: MPEG-TS keeps only its service tags: the provider says who wrote the stream.
TS_SERVICE_PROVIDER = f"unmask-video {__version__}"
#: Container tags of the source that describe the source file itself and are not copied to the output.
_SKIPPED_TAGS = frozenset(
    {"major_brand", "minor_version", "compatible_brands", "encoder", "comment", METADATA_KEY, "service_provider"}
)
#: Container formats for stream URLs, by scheme, when no format is given.
STREAM_FORMATS = {"udp": "mpegts", "tcp": "mpegts", "srt": "mpegts", "rtp": "rtp_mpegts", "rtmp": "flv", "rtsp": "rtsp"}
#: Containers that hold only some audio codecs: (the codecs they hold, the encoder to convert the others to).
_AUDIO_RULES = {
    "webm": (frozenset({"opus", "vorbis"}), "libopus"),
    "mpeg": (frozenset({"mp2", "mp3", "ac3", "dts", "pcm_s16be", "pcm_dvd"}), "mp2"),
    "vob": (frozenset({"mp2", "mp3", "ac3", "dts", "pcm_dvd"}), "ac3"),
    "mpegts": (frozenset({"aac", "mp2", "mp3", "ac3", "eac3", "opus", "dts", "truehd", "aac_latm"}), "aac"),
    "flv": (frozenset({"aac", "mp3"}), "aac"),
}
#: Sample rates the fallback audio encoders take (the nearest is used).
_ENCODER_RATES = {"libopus": (48000, 24000, 16000, 12000, 8000), "mp2": (48000, 44100, 32000, 24000, 22050, 16000)}
#: Subtitle codecs of containers that take only some (others are dropped with a warning).
_SUBTITLE_RULES = {"mp4": frozenset({"mov_text"}), "mov": frozenset({"mov_text"}), "webm": frozenset({"webvtt"})}
#: Encoders whose time base must be 1/frame rate.
_FIXED_RATE_CODECS = frozenset({"mpeg1video", "mpeg2video"})
#: x264/x265 presets, for the message about a wrong --preset.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


@dataclass
class EncodeOptions:
    """How the output video stream is encoded."""

    codec: str = "libx264"
    #: superfast crf 21 keeps the PSNR of veryfast crf 18 at about half the encoder's CPU, with larger files
    #: (benchmarks/encode_speed.py; figures in benchmarks/README.md).
    crf: int = 21
    preset: str = "superfast"
    pix_fmt: str = "yuv420p"
    #: x264's threads (0 = its own choice, 1.5x the cores plus look-ahead): 2 keeps the PSNR and the bitrate at
    #: 10-15 % less CPU than its own choice at 720p superfast on 2 cores, where the frame loop's threads share them
    #: (benchmarks/encode_speed.py).
    threads: int = 2
    tune: str | None = None  # e.g. "zerolatency" (live mode)
    #: The most B-frames in a row (libx264's ``bf``; None: the preset's own, 3 for superfast). 0 by default: x264's
    #: CPU 0.73-0.92x at 720p and 1080p on 2 threads, PSNR of the encoded frames -0.27 to +0.74 dB, bitrate
    #: 1.15-1.36x on the shared real clips (benchmarks/encode_speed.py; figures in benchmarks/README.md, iofast).
    #: Other encoders keep their own.
    bframes: int | None = 0
    keyframe_interval: int | None = None  # GOP length in frames; None = the encoder's default
    extra: dict[str, str] = field(default_factory=dict)  # more encoder options, passed through
    #: Encode a decoded frame from its own YUV planes, converting only the boxes the stages changed (see
    #: :meth:`VideoWriter.write`); False: every frame is converted from RGB as a whole (the path before issue 14).
    reuse_decoded_planes: bool = True


def check_encoder(options: EncodeOptions) -> av.Codec:
    """The encoder of ``options``; InputError (one line) for an unknown encoder, pixel format, preset or crf."""
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
    encoder_options(codec, options)  # raises for a value the encoder rejects
    return codec


@functools.lru_cache(maxsize=64)
def _rejects(codec_name: str, pix_fmt: str, name: str, value: str) -> bool:
    """Whether the encoder refuses to open with ``name=value`` (remembered: live mode opens writers mid-session)."""
    ctx = av.CodecContext.create(codec_name, "w")
    ctx.width, ctx.height, ctx.pix_fmt = 64, 64, pix_fmt
    ctx.time_base = Fraction(1, 25)
    ctx.options = {name: value}
    try:
        ctx.open()
    except (av.FFmpegError, OSError, ValueError):
        return True
    return False


def encoder_options(codec: av.Codec, options: EncodeOptions) -> dict[str, str]:
    """crf/preset/tune for the encoders that have them (x264, x265, SVT-AV1...), each checked by the encoder."""
    try:
        known = {opt.name for opt in av.CodecContext.create(codec.name, "w").supported_options.private}
    except (av.FFmpegError, ValueError, AttributeError):
        known = set()
    wanted: dict[str, tuple[str, str]] = {"crf": (str(options.crf), "--crf"), "preset": (str(options.preset), "--preset")}
    if options.tune:
        wanted["tune"] = (options.tune, "tune")
    result: dict[str, str] = {}
    for name, (value, flag) in wanted.items():
        if name not in known:
            log.info("%s has no %s option: using its default", codec.name, name)
            continue
        if _rejects(codec.name, options.pix_fmt, name, value):
            hint = ""
            if name == "preset" and codec.name in ("libx264", "libx265"):
                hint = f"; use one of {', '.join(X264_PRESETS)}"
            elif name == "crf":
                hint = "; use 0 (lossless) to 51 (smallest), 18 is visually lossless"
            raise InputError(f"{codec.name} rejects {flag} {value}{hint}")
        result[name] = value
    if options.bframes is not None and codec.name == "libx264":
        result["bf"] = str(max(0, int(options.bframes)))
    if options.bframes != 0 and codec.name == "libx264":
        # With B-frames, x264's macroblock-tree rate control reads memory it never wrote (this build): the same
        # frames encoded twice in one process differ. Without the tree the output depends on the frames alone
        # (superfast and ultrafast have no tree anyway). ``extra`` may turn it back on.
        result["mbtree"] = "0"
    if options.keyframe_interval:
        result["g"] = str(max(1, int(options.keyframe_interval)))
        if codec.name != "libx264":
            result["bf"] = "0"
    result.update(options.extra)
    return result


def _rate_for(encoder: str, rate: int | None) -> int:
    rate = rate or 48000
    allowed = _ENCODER_RATES.get(encoder)
    return min(allowed, key=lambda r: abs(r - rate)) if allowed else rate


class VideoWriter:
    """Encoder/muxer for one output; use as a context manager and call :meth:`commit` on success.

    ``stream`` is a :class:`StreamDescription` (or a :class:`VideoReader`, whose description is used). ``path`` is
    a file (written through a temporary file) or a stream URL (``output_format`` or the scheme's default).
    Leaving the ``with`` block without :meth:`commit` (an exception, Ctrl-C, a signal) calls :meth:`abort`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        stream: StreamDescription | VideoReader,
        options: EncodeOptions | None = None,
        *,
        output_format: str | None = None,
        overwrite: bool = False,
        url_options: dict[str, str] | None = None,
        mark_processed: bool = True,
    ) -> None:
        self.options = options or EncodeOptions()
        self.mark_processed = mark_processed  # False for clips the tool makes itself (test and demo inputs)
        self.stream = stream.description() if isinstance(stream, VideoReader) else stream
        self.overwrite = overwrite
        self._url = isinstance(path, str) and is_stream_url(path)
        self.path: str | Path = str(path) if self._url else Path(path)
        self._container: av.container.OutputContainer | None = None
        self._done = False
        self._frames_written = 0
        self._last_pts: int | None = None
        self._last_codec_pts: int | None = None
        self._warned_size = False
        self._tmp: Path | None = None
        self.dropped_streams: list[str] = []
        self._resamplers: dict[int, Any] = {}  # source index -> resampler of a re-encoded audio stream
        self._next_sample: dict[int, int] = {}  # source index -> pts (in samples) of the next re-encoded frame
        codec = check_encoder(self.options)
        fmt = output_format
        container_options = dict(url_options or {})
        if self._url:
            target = str(path)
            fmt = fmt or STREAM_FORMATS.get(url_scheme(target))
            if fmt is None:
                raise InputError(f"cannot tell the container format of {target}: give the format (e.g. mpegts)")
            if url_scheme(target) == "udp" and "pkt_size" not in target:
                target += ("&" if "?" in target else "?") + "pkt_size=1316"
        else:
            self._tmp = temp_path_for(Path(path))
            target = str(self._tmp)
        try:
            self._container = av.open(target, mode="w", format=fmt, options=container_options)
        except ValueError as exc:
            self._remove_tmp()
            if fmt is not None:
                raise InputError(f"unknown output format {fmt!r}; try mp4, matroska, mov or mpegts") from exc
            raise InputError(f"cannot tell the container format of {path} from its name; use .mp4, .mkv or .mov") from exc
        except (av.FFmpegError, OSError) as exc:
            self._remove_tmp()
            raise InputError(f"cannot write {path}: {ffmpeg_message(exc)}") from exc
        try:
            with os_thread_named("encode"):  # (the encoder's native threads start here: named for profilers)
                self._setup(codec)
        except BaseException:
            self.abort()
            raise

    def _setup(self, codec: av.Codec) -> None:
        container = self._container
        assert container is not None
        desc = self.stream
        fmt_name = container.format.name
        if "mp4" in fmt_name or "mov" in fmt_name:
            # Keep custom metadata keys; put the index first so the file plays while it downloads.
            container.container_options["movflags"] = "+faststart+use_metadata_tags"
            # Edit lists (a start delay) are written in the movie timescale, 1/1000 s by default: use the video
            # time base's so a source's first timestamp comes back exact, not rounded to the millisecond.
            tb = desc.time_base
            if tb.numerator == 1 and 1000 < tb.denominator <= 1_000_000:
                container.container_options["movie_timescale"] = str(tb.denominator)
        for key, value in desc.tags.items():
            if key.lower() not in _SKIPPED_TAGS:
                container.metadata[key] = value
        if self.mark_processed:
            container.metadata["comment"] = PROCESSED_COMMENT
            container.metadata[METADATA_KEY] = __version__
        if "mpegts" in fmt_name and self.mark_processed:
            container.metadata["service_provider"] = TS_SERVICE_PROVIDER
            container.metadata.setdefault("service_name", "unmask-video")

        pix = av.VideoFormat(self.options.pix_fmt)
        # Round the size up to what the pixel format's chroma subsampling allows (see the module docstring).
        self.width = pix.chroma_width(desc.width) * _chroma_factor(pix.chroma_width)
        self.height = pix.chroma_height(desc.height) * _chroma_factor(pix.chroma_height)
        self.width, self.height = max(self.width, desc.width), max(self.height, desc.height)
        if (self.width, self.height) != (desc.width, desc.height):
            log.info(
                "%s needs even sizes: padding %dx%d to %dx%d by repeating the edge pixels",
                self.options.pix_fmt, desc.width, desc.height, self.width, self.height,
            )  # fmt: skip
        try:
            stream = container.add_stream(codec.name, rate=desc.rate)
        except ValueError as exc:  # FFmpeg says the container cannot hold this codec
            raise InputError(
                f"the {fmt_name} container cannot hold {codec.name} video; choose another --codec "
                f"({'libvpx-vp9 for WebM' if 'webm' in fmt_name else 'e.g. libx264'}) or output extension (.mp4, .mkv)"
            ) from exc
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = self.options.pix_fmt
        # MPEG-1/2 video take only a standard frame rate as their time base; others keep the source's clock.
        self._codec_time_base = 1 / desc.rate if codec.name in _FIXED_RATE_CODECS else desc.time_base
        stream.time_base = self._codec_time_base
        stream.codec_context.time_base = self._codec_time_base
        stream.codec_context.thread_count = max(0, self.options.threads)
        for attr in ("colorspace", "color_primaries", "color_trc"):
            value = getattr(desc, attr)
            if value is not None:
                try:
                    setattr(stream.codec_context, attr, value)
                except (AttributeError, ValueError, TypeError):
                    pass
        stream.codec_context.color_range = 1  # MPEG (limited) range: what yuv420p encoders expect
        stream.codec_context.options = encoder_options(codec, self.options)
        if desc.rotation:
            stream.set_display_rotation(desc.rotation)
        self.video_stream = stream
        self._to_frame = RGBToFrame(self.width, self.height, self.options.pix_fmt, desc.colorspace)
        #: The last frame built from decoded planes (:meth:`RGBToFrame.patched`), written again for the next one.
        self._patch_frame: av.VideoFrame | None = None

        self._copy_map: dict[int, Any] = {}
        self._reencode: dict[int, tuple[Any, Any]] = {}  # source index -> (source stream, output stream)
        for src in desc.copied_streams:
            if src.type == "audio":
                self._add_audio(container, src)
            elif src.type == "subtitle":
                self._add_subtitle(container, src)
        self._tracks: list[Any] = []
        for track in desc.audio_tracks:
            try:
                self._tracks.append(container.add_stream(track.codec, rate=track.rate, layout=track.layout))
            except (ValueError, av.FFmpegError) as exc:
                raise InputError(f"{fmt_name} cannot hold {track.codec} audio: {exc}") from exc
        try:
            container.start_encoding()  # opens the encoders and writes the header: every mismatch shows now
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise InputError(
                f"cannot write {Path(str(self.path)).name}: the {fmt_name} container does not take {codec.name} video "
                f"with these settings ({ffmpeg_message(exc)}); choose another --codec or output extension (.mp4, .mkv)"
            ) from exc
        if self.dropped_streams:
            log.warning("%s: %s", Path(str(self.path)).name, "; ".join(self.dropped_streams))

    def _add_audio(self, container: Any, src: Any) -> None:
        fmt_name = container.format.name
        ctx = src.codec_context
        name = ctx.name if ctx is not None else "unknown"
        allowed, fallback = _AUDIO_RULES.get(fmt_name.split(",")[0], (None, "aac"))
        fits = name in allowed if allowed is not None else True
        out = None
        if fits:
            try:
                out = container.add_stream_from_template(src)
            except ValueError:  # FFmpeg says the container cannot hold this codec
                out = None
        if out is None:
            if ctx is None:
                self.dropped_streams.append(f"audio stream {src.index} ({name}) dropped: no decoder to convert it")
                return
            rate = _rate_for(fallback, ctx.sample_rate)
            log.info("%s cannot hold %s audio: re-encoding stream %d to %s", fmt_name, name, src.index, fallback)
            try:
                out = container.add_stream(fallback, rate=rate)
            except (ValueError, av.FFmpegError) as exc:
                raise InputError(f"{fmt_name} cannot hold {name} audio and {fallback} is not available: {exc}") from exc
            if ctx.layout is not None and ctx.layout.nb_channels:
                out.layout = ctx.layout if ctx.layout.nb_channels <= 2 else "stereo"
            self._reencode[src.index] = (src, out)
        for key, value in src.metadata.items():
            if key.lower() in ("language", "title", "handler_name"):
                out.metadata[key] = value
        self._copy_map[src.index] = out

    def _add_subtitle(self, container: Any, src: Any) -> None:
        fmt_name = container.format.name
        ctx = src.codec_context
        name = ctx.name if ctx is not None else "unknown"
        allowed = next((rule for key, rule in _SUBTITLE_RULES.items() if key in fmt_name.split(",")), None)
        out = None
        if allowed is None or name in allowed:
            try:
                out = container.add_stream_from_template(src)
            except ValueError:
                out = None
        if out is None:
            self.dropped_streams.append(
                f"subtitle stream {src.index} ({name}) dropped: {fmt_name} cannot hold it (use .mkv to keep subtitles)"
            )
            return
        for key, value in src.metadata.items():
            if key.lower() in ("language", "title", "handler_name"):
                out.metadata[key] = value
        self._copy_map[src.index] = out

    # -- writing ---------------------------------------------------------------------------------------------

    def write(self, frame: DecodedFrame, image: np.ndarray) -> None:
        """Encode ``image`` (H, W, 3) uint8 RGB at ``frame``'s source timestamp.

        Where ``frame.changed`` says which boxes of ``image`` the stages may have changed and ``frame.source``
        (the decoded frame) is already in the output's pixel format, size and matrix, the frame is encoded from
        ``frame.source``'s planes with only those boxes converted from ``image``: the rest goes out as decoded.
        """
        self.write_at(image, self._pts_for(frame), frame.index, frame)

    def write_at(
        self, image: np.ndarray, pts: int, index: int | None = None, frame: DecodedFrame | None = None
    ) -> None:
        """Encode ``image`` at ``pts`` (in the description's time base; made strictly increasing); ``frame``: the
        decoded frame it came from, whose planes are reused where they can be (see :meth:`write`)."""
        container = self._open_container()
        desc = self.stream
        label = f"frame {index if index is not None else self._frames_written}"
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ProcessingError(f"{label}: expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        if (width, height) != (desc.width, desc.height) and not self._warned_size:
            self._warned_size = True
            log.warning("%s is %dx%d, the stream is %dx%d: scaling", label, width, height, desc.width, desc.height)
        if self._last_pts is not None and pts <= self._last_pts:
            log.debug("%s: timestamp %d not increasing, using %d", label, pts, self._last_pts + 1)
            pts = self._last_pts + 1
        self._last_pts = pts
        try:
            out = None
            if (
                frame is not None and frame.source is not None and frame.changed is not None
                and self.options.reuse_decoded_planes
            ):  # fmt: skip
                out = self._to_frame.patched(frame.source, image, frame.changed, into=self._patch_frame)
                if out is not None:
                    self._patch_frame = out
            if out is None:
                out = self._to_frame(image)
        except (ValueError, av.FFmpegError) as exc:
            raise ProcessingError(f"{label}: cannot convert to {self.options.pix_fmt}: {exc}") from exc
        if self._codec_time_base != desc.time_base:
            pts = round(pts * desc.time_base / self._codec_time_base)
            if self._last_codec_pts is not None and pts <= self._last_codec_pts:
                pts = self._last_codec_pts + 1
            self._last_codec_pts = pts
        out.pts = pts
        out.time_base = self._codec_time_base
        try:
            container.mux(self.video_stream.encode(out))
        except (av.FFmpegError, OSError) as exc:
            raise ProcessingError(f"encoding {label} failed: {ffmpeg_message(exc)}") from exc
        self._frames_written += 1

    def _pts_for(self, frame: DecodedFrame) -> int:
        desc = self.stream
        if frame.pts is not None:
            pts = frame.pts
            if frame.time_base != desc.time_base:
                pts = round(pts * frame.time_base / desc.time_base)
            return pts
        return round(Fraction(frame.index) / desc.rate / desc.time_base)

    def write_audio(self, track: int, samples: np.ndarray, start: int) -> None:
        """Encode generated audio: ``samples`` (channels, n) float32 of ``audio_tracks[track]`` from sample ``start``."""
        container = self._open_container()
        stream = self._tracks[track]
        spec: AudioTrack = self.stream.audio_tracks[track]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format="fltp", layout=spec.layout)
        frame.sample_rate = spec.rate
        frame.pts = start
        frame.time_base = Fraction(1, spec.rate)
        try:
            container.mux(stream.encode(frame))
        except (av.FFmpegError, OSError) as exc:
            raise ProcessingError(f"writing audio failed: {ffmpeg_message(exc)}") from exc

    def mux_packet(self, packet: av.Packet) -> None:
        """Write one demuxed audio/subtitle packet of the source (consumed: its stream/timestamps change)."""
        container = self._open_container()
        index = packet.stream.index
        out = self._copy_map.get(index)
        if out is None:
            return
        try:
            if index in self._reencode:
                for aframe in packet.decode():
                    self._encode_audio(index, aframe)
                return
            if packet.dts is None:
                return  # FFmpeg cannot mux a packet without a decode timestamp
            packet.stream = out
            container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise ProcessingError(f"writing {packet.stream.type} failed: {ffmpeg_message(exc)}") from exc

    mux_audio = mux_packet  # the former name

    def _encode_audio(self, index: int, aframe: av.AudioFrame | None) -> None:
        assert self._container is not None
        _, out = self._reencode[index]
        ctx = out.codec_context
        if aframe is None:
            self._container.mux(out.encode(None))
            return
        resampler = self._resamplers.get(index)
        if resampler is None:
            resampler = self._resamplers[index] = av.AudioResampler(
                format=ctx.format, layout=ctx.layout, rate=ctx.sample_rate, frame_size=ctx.frame_size or None
            )
            start = 0
            if aframe.pts is not None and aframe.time_base is not None:
                start = round(aframe.pts * aframe.time_base * ctx.sample_rate)
            self._next_sample[index] = start
        self._encode_resampled(index, resampler.resample(aframe))

    def _encode_resampled(self, index: int, frames: list[av.AudioFrame]) -> None:
        assert self._container is not None
        _, out = self._reencode[index]
        rate = out.codec_context.sample_rate
        for converted in frames:
            converted.pts = self._next_sample[index]
            converted.time_base = Fraction(1, rate)
            self._next_sample[index] += converted.samples
            self._container.mux(out.encode(converted))

    def commit(self) -> Path | str:
        """Flush the encoders, close the file and put it at the output path; return where it went."""
        container = self._open_container()
        try:
            if self._frames_written == 0:
                raise ProcessingError(f"no frame was written to {self.path}; nothing to save")
            try:
                container.mux(self.video_stream.encode(None))
                for index, (src, _out) in self._reencode.items():
                    if src.codec_context is not None:
                        for aframe in src.codec_context.decode(None):
                            self._encode_audio(index, aframe)
                    resampler = self._resamplers.get(index)
                    if resampler is not None:
                        self._encode_resampled(index, resampler.resample(None))
                    self._encode_audio(index, None)
                for stream in self._tracks:
                    container.mux(stream.encode(None))
                container.close()
            except (av.FFmpegError, OSError) as exc:
                raise ProcessingError(f"finishing {self.path} failed: {ffmpeg_message(exc)}") from exc
            self._container = None
            final: Path | str = self.path
            if self._tmp is not None:
                tmp, self._tmp = self._tmp, None
                try:
                    final = publish(tmp, Path(self.path), replace=self.overwrite)
                finally:
                    if tmp.exists():
                        remove_temp(tmp)
            self._done = True
            log.info("wrote %s (%d frames)", final, self._frames_written)
            return final
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
            remove_temp(self._tmp)
            self._tmp = None

    def _open_container(self) -> av.container.OutputContainer:
        if self._container is None:
            raise ProcessingError(f"{self.path}: the writer is already closed")
        return self._container

    @property
    def frames_written(self) -> int:
        return self._frames_written

    @property
    def temp_path(self) -> Path | None:
        """The temporary file being written (None for a stream URL or once committed/aborted)."""
        return self._tmp

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._done:
            self.abort()


class BackgroundWriter:
    """Runs a :class:`VideoWriter`'s :meth:`~VideoWriter.write` and :meth:`~VideoWriter.mux_packet` on a worker thread.

    Encoding (colour conversion + libx264) then overlaps the caller's per-frame work: PyAV releases the GIL
    while FFmpeg works, so two cores run both. Calls are queued (at most ``depth`` waiting; the caller
    blocks beyond that) and run in call order, so frames and packets keep their order. An error in
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

    def write_audio(self, track: int, samples: np.ndarray, start: int) -> None:
        """Queue generated audio for encoding (see :meth:`VideoWriter.write_audio`)."""
        self._put((self.writer.write_audio, (track, samples, start)))

    def mux_packet(self, packet: av.Packet) -> None:
        """Queue one demuxed audio/subtitle packet (see :meth:`VideoWriter.mux_packet`)."""
        self._put((self.writer.mux_packet, (packet,)))

    mux_audio = mux_packet

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
        name_os_thread("encode")  # the encoder opens on its first frame, here: x264's threads take this name
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

    def commit(self) -> Path | str:
        """Wait for everything queued to be written, then :meth:`VideoWriter.commit`; raises the worker's error."""
        try:
            self._stop(drop=False)
            self._raise_error()
            return self.writer.commit()
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


def write_clip(
    path: str | os.PathLike[str],
    frames: Any,
    rate: int | Fraction,
    options: EncodeOptions | None = None,
    *,
    audio: tuple[AudioTrack, np.ndarray] | None = None,
) -> Path:
    """Encode generated RGB frames (an iterable of (H, W, 3) uint8, frame i at i / rate) to a file, with optional
    generated audio ``(track, samples (channels, n) float32)``; replaces ``path``; returns it. For clips the tool
    makes itself (tests, the demo, training examples): no "processed by" tag."""
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[:2]
    rate = Fraction(rate)
    desc = StreamDescription(width=width, height=height, rate=rate, time_base=1 / rate,
                             audio_tracks=(audio[0],) if audio else ())  # fmt: skip
    with VideoWriter(path, desc, options, overwrite=True, mark_processed=False) as writer:
        for i, image in enumerate(itertools.chain([first], frames)):
            writer.write_at(image, i)
        if audio is not None:
            track, samples = audio
            block = 1024
            for start in range(0, samples.shape[1], block):
                writer.write_audio(0, samples[:, start : start + block], start)
        return Path(writer.commit())


def _chroma_factor(chroma_size: Any) -> int:
    # chroma_size(w) = ceil(w / 2**log2_chroma): the factor 2**log2_chroma, recovered from a power of 2.
    return 1024 // chroma_size(1024) if chroma_size(1024) else 1

