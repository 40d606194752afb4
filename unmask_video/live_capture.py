"""Live sources for live mode: cameras and streams opened with PyAV, read by a thread that keeps only the newest frame.

A camera is opened through FFmpeg's device demuxer of the platform (v4l2 on Linux, avfoundation on macOS,
dshow on Windows); any URL or named pipe PyAV can open (rtsp, udp, http, srt, a FIFO) is a live source too,
opened with low-latency demuxer options. :class:`LatestFrameCapture` decodes in its own thread and holds at
most one frame: a frame that the processing loop has not taken when the next one arrives is dropped (and
counted), never queued, so the delay cannot grow.
"""

from __future__ import annotations

import errno
import logging
import platform
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from unmask_video.errors import InputError, ProcessingError
from unmask_video.io import StreamDescription, camera_format, camera_options, is_named_pipe, is_stream_url, open_camera_source
from unmask_video.io.reader import open_input
from unmask_video.timing import name_os_thread

log = logging.getLogger(__name__)

#: Demuxer options that keep FFmpeg from buffering ahead of the newest frame on a network or pipe source. Not
#: ``fflags=nobuffer``: it drops the packets read while probing, and with them the only key frame of a stream
#: whose key frames are far apart (nothing could be shown until the next one).
LOW_LATENCY_OPTIONS = {"flags": "low_delay", "probesize": "32", "analyzeduration": "100000"}
#: Damaged packets in a row after which the source counts as failed.
_MAX_DEMUX_ERRORS = 50
#: Extra options for UDP sources: a read thread with a bounded buffer that drops instead of failing.
UDP_OPTIONS = {"overrun_nonfatal": "1", "fifo_size": "50000"}
#: Arrival intervals that must have been seen before :meth:`LatestFrameCapture.get` waits for a fresher frame, and
#: how many of the last ones the frame interval (their median) and the wait's deadline are estimated from.
_STEADY_FRAMES = 9
_INTERVALS_KEPT = 30
#: A fresher frame is waited for until the 90th percentile of the recent arrival intervals after the stale one
#: arrived, kept between these multiples of their median (a late next frame makes the stale one older still).
_DUE_RANGE = (1.1, 1.5)
#: A fresher frame is waited for only while the taker's own time per frame (from one ``get`` returning a frame to its
#: next call, the median of the last few) is under this fraction of the frame interval: a taker that cannot keep up
#: with the source would spend the wait's time idle and process fewer frames (at 1280x720, 0.78x the frames and a
#: longer p95 delay, 1.16x, in `benchmarks.live_latency`'s same-run comparison).
_MAX_BUSY = 1.0
#: A taker that cannot keep up (``_MAX_BUSY``) still waits for the next frame when it is due within this fraction of
#: the frame interval (its stale frame is then at least ``1 - _SHORT_WAIT`` of an interval old): it gives up at most
#: about that long of its own time, never a frame, for a frame that starts its way up to a whole interval younger.
#: The wait then ends at most this fraction of an interval after the next frame was due. 0.2: such a wait mostly
#: fits in the worker's pacing margin (``live_ahead._MARGIN_S``, 4 ms of a 33 ms interval); at 0.25 a sleeping
#: stand-in processor (locate 30 ms, rebuild 40) lost 5 % of its frames, at 0.15 the capture's p95 fell less
#: (benchmarks/README.md, live30).
_SHORT_WAIT = 0.2


@dataclass
class LiveSource:
    """What to capture from: a camera (``device``) or a stream URL / named pipe (``url``)."""

    device: str | None = None  # camera: "/dev/video0", "0", "video=Integrated Camera"; None = the default camera
    url: str | None = None  # a stream URL or a named pipe; takes precedence over ``device``
    source_format: str | None = None  # demuxer, e.g. "mpegts" for a named pipe; None = FFmpeg's guess
    input_format: str | None = None  # camera pixel/codec format, e.g. "mjpeg", "yuyv422" (v4l2 input_format)
    video_size: str | None = None  # "640x480"
    framerate: str | None = None  # "30"
    options: dict[str, str] = field(default_factory=dict)  # more demuxer/protocol options, passed through
    low_latency: bool = True  # add LOW_LATENCY_OPTIONS to URL and pipe sources
    open_timeout_s: float = 10.0  # give up opening after this long
    read_timeout_s: float = 5.0  # no frame for this long = the source is gone


@dataclass(frozen=True)
class OpenSpec:
    """The arguments given to ``av.open`` for a :class:`LiveSource`."""

    target: str
    format: str | None
    options: dict[str, str]
    is_camera: bool
    label: str  # for messages


@dataclass(frozen=True)
class CameraInfo:
    """A camera that can be given to ``unmask-video live``."""

    device: str
    name: str


@dataclass
class CapturedFrame:
    """A decoded frame, stamped when it was decoded."""

    frame: av.VideoFrame
    index: int  # capture order, 0-based, counting every decoded frame (dropped ones included)
    captured_at: float  # time.perf_counter() when the frame was decoded
    stream_time: float | None  # the frame's own timestamp in seconds, if it has one


def is_live_source(text: str) -> bool:
    """True for stream URLs and for existing named pipes (a camera otherwise)."""
    return is_stream_url(text) or is_named_pipe(text)


def open_spec(source: LiveSource, platform_name: str | None = None) -> OpenSpec:
    """Turn a :class:`LiveSource` into the target, demuxer and options for ``av.open``.

    Cameras are resolved by :func:`unmask_video.io.open_camera_source` (``platform_name`` is a
    ``sys.platform`` value, for tests).
    """
    options: dict[str, str] = {}
    if source.url or (source.device and is_live_source(source.device)):
        target = source.url or source.device or ""
        if source.low_latency:
            options.update(LOW_LATENCY_OPTIONS)
            if target.startswith("udp://"):
                options.update(UDP_OPTIONS)
        for key, value in (("video_size", source.video_size), ("framerate", source.framerate)):
            if value:
                options[key] = value
        if source.input_format:
            options["input_format"] = source.input_format
        options.update(source.options)
        return OpenSpec(target, source.source_format, options, False, target)
    target, demuxer = open_camera_source(source.device or None, platform_name)
    options.update(camera_options(demuxer))
    if source.video_size:
        options["video_size"] = source.video_size
    if source.framerate:
        options["framerate"] = source.framerate
    if source.input_format:
        options["input_format" if demuxer == "v4l2" else "pixel_format"] = source.input_format
    options.update(source.options)
    return OpenSpec(target, source.source_format or demuxer, options, True, f"camera {target} ({demuxer})")


def open_source(spec: OpenSpec, open_timeout_s: float = 10.0, read_timeout_s: float = 5.0) -> Any:
    """Open ``spec`` with PyAV; every failure becomes an :class:`InputError` that says what to do."""
    what = spec.label
    try:
        container = open_input(
            spec.target, format=spec.format, options=spec.options, open_timeout_s=open_timeout_s,
            read_timeout_s=read_timeout_s,
        )  # fmt: skip
    except TimeoutError as error:
        raise InputError(f"{what} sent nothing within {open_timeout_s:g} s: check that it is running") from error
    except av.error.ExitError as error:
        raise InputError(f"{what} sent nothing within {open_timeout_s:g} s: check that it is running") from error
    except (FileNotFoundError, av.error.FileNotFoundError) as error:
        hint = (
            "plug it in or pick another with unmask-video live DEVICE (see --list-cameras)"
            if spec.is_camera
            else "check the path or URL"
        )
        raise InputError(f"{what} does not exist: {hint}") from error
    except (PermissionError, av.error.PermissionError) as error:
        hint = "add yourself to the 'video' group" if spec.is_camera else "check its permissions"
        raise InputError(f"no permission to open {what}: {hint}") from error
    except (av.error.FFmpegError, OSError) as error:
        code = getattr(error, "errno", None)
        if code == errno.EBUSY:
            raise InputError(f"{what} is busy: close the other program that uses it and try again") from error
        if code in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise InputError(
                f"cannot connect to {what}: check that the sender is running and the address is right"
            ) from error
        hint = "check --video-size, --framerate and --input-format"
        if not spec.is_camera:
            hint = "check the URL and --source-format"
        raise InputError(f"cannot open {what}: {_reason(error)}; {hint}") from error
    if not container.streams.video:
        container.close()
        raise InputError(f"{what} has no video stream")
    return container


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def list_cameras(
    system: str | None = None, dev_root: Path = Path("/dev"), sysfs_root: Path = Path("/sys/class/video4linux")
) -> list[CameraInfo]:
    """Cameras that ``unmask-video live`` can open. Linux: /dev/video* with their v4l2 names; elsewhere FFmpeg's device list."""
    system = system or platform.system()
    if system == "Linux":
        cameras = []
        for path in sorted(dev_root.glob("video*"), key=lambda p: (len(p.name), p.name)):
            name_file = sysfs_root / path.name / "name"
            try:
                name = name_file.read_text(errors="replace").strip()
            except OSError:
                name = ""
            cameras.append(CameraInfo(str(path), name))
        return cameras
    demuxer = camera_format(system)
    if demuxer is None:
        raise InputError(f"cannot list cameras on {system}: give a stream URL or a named pipe as the live source")
    return _ffmpeg_device_list(demuxer)


def _ffmpeg_device_list(demuxer: str) -> list[CameraInfo]:
    """Ask FFmpeg's device demuxer for its devices (avfoundation and dshow print them to the log)."""
    import av.logging as av_logging

    target = "" if demuxer == "avfoundation" else "dummy"
    options = {"list_devices": "true"}
    with av_logging.Capture() as logs:
        try:
            av.open(target, format=demuxer, options=options).close()
        except (av.error.FFmpegError, OSError):
            pass  # listing always "fails" to open: the list is in the log
    cameras: list[CameraInfo] = []
    in_video = demuxer == "dshow"
    for _level, _name, message in logs:
        text = message.strip()
        lowered = text.lower()
        if "video devices" in lowered:
            in_video = True
            continue
        if "audio devices" in lowered:
            in_video = False
            continue
        if demuxer == "avfoundation" and in_video and text.startswith("[") and "]" in text:
            index, _, name = text[1:].partition("]")
            cameras.append(CameraInfo(index.strip(), name.strip()))
        elif demuxer == "dshow" and text.startswith('"') and "(video)" in lowered:
            cameras.append(CameraInfo(f"video={text.split(chr(34))[1]}", text.split(chr(34))[1]))
    return cameras


class LatestFrameCapture:
    """Decodes a live source in a thread and holds only the newest frame for the processing loop.

    ``get()`` returns each frame at most once, always newer than the previous one (capture order). When a new
    frame arrives before the previous one was taken, the previous one is dropped and counted in ``dropped``.
    """

    def __init__(self, container: Any, label: str = "the source") -> None:
        self.container = container
        self.label = label
        self.stream = container.streams.video[0]
        # Slice threads only: frame threads would hold several frames back inside the decoder.
        self.stream.thread_type = "SLICE"
        self._lock = threading.Condition()
        self._slot: CapturedFrame | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-capture", daemon=True)
        self.captured = 0  # frames decoded
        self.dropped = 0  # frames replaced before the loop took them
        self.corrupt = 0  # packets that did not decode (lost network packets); skipped
        self.decode_s = 0.0  # seconds spent decoding packets (this thread's own time, all frames)
        self.ended = False  # the source ended or failed; no more frames will come
        self.stale_waits = 0  # times ``get(fresh=...)`` waited for a newer frame than the stale one there was
        self._last_arrival: float | None = None
        self._intervals: deque[float] = deque(maxlen=_INTERVALS_KEPT)  # the last frames' arrival intervals
        self._returned_at: float | None = None  # when ``get`` last returned a frame
        self._busy: deque[float] = deque(maxlen=_STEADY_FRAMES)  # the taker's last times from a frame to its next call
        self.error: BaseException | None = None  # why it ended, when it was not a normal end of stream

    @property
    def width(self) -> int:
        return int(self.stream.codec_context.width or 0)

    @property
    def height(self) -> int:
        return int(self.stream.codec_context.height or 0)

    @property
    def rate(self) -> float | None:
        rate = self.stream.average_rate or self.stream.guessed_rate
        return float(rate) if rate else None

    def description(self, width: int, height: int, fps: float) -> StreamDescription:
        """The stream the outputs get: the frame size, the rate and the source's colour tags."""
        ctx = self.stream.codec_context

        def tag(name: str) -> int | None:
            value = getattr(ctx, name, None)
            return int(value) if value is not None else None

        return StreamDescription(
            width=width, height=height, rate=Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30),
            time_base=Fraction(1, 1000), colorspace=tag("colorspace"), color_primaries=tag("color_primaries"),
            color_trc=tag("color_trc"),
        )  # fmt: skip

    def start(self) -> "LatestFrameCapture":
        self._thread.start()
        return self

    @property
    def period_s(self) -> float | None:
        """The source's frame interval as it arrives (the median of the last few), None before two frames."""
        with self._lock:
            return float(np.median(self._intervals)) if self._intervals else None

    def get(self, timeout: float, fresh: float | None = None) -> CapturedFrame | None:
        """The newest frame not yet taken, waiting up to ``timeout`` seconds; None if none came or the source ended.

        With ``fresh`` (a fraction of the frame interval, 0.5 or more): a frame older than that is stale; the next
        one is then waited for and taken instead, and the stale one is dropped: at ``fresh`` >= 0.5 the wait is
        shorter than the age it saves. The wait ends, and the stale frame is taken as old as it is, when no newer
        one came within the 90th percentile of the recent arrival intervals (1.1-1.5 times their median) after it;
        a frame is taken at once before the source has sent a few. While the taker's own time per frame is
        ``_MAX_BUSY`` of the interval or more (it cannot keep up: a long wait would cost frames), the next frame is
        waited for only when it is due within ``_SHORT_WAIT`` of an interval, and at most that long past its due time.
        """
        with self._lock:
            if self._returned_at is not None:
                self._busy.append(time.perf_counter() - self._returned_at)
            if self._slot is None and not self.ended:
                self._lock.wait(timeout)
            if fresh is not None and self._slot is not None:
                self._wait_fresher(self._slot, fresh)
            item, self._slot = self._slot, None
            self._returned_at = None if item is None else time.perf_counter()
            return item

    def _wait_fresher(self, stale: CapturedFrame, fresh: float) -> None:
        """(with the lock held) Wait for a frame newer than ``stale`` when ``stale`` is older than ``fresh``
        frame intervals (see :meth:`get`)."""
        if len(self._intervals) < _STEADY_FRAMES:
            return
        period, late = (float(v) for v in np.percentile(self._intervals, (50, 90)))
        now = time.perf_counter()
        if now - stale.captured_at <= fresh * period:
            return
        due = stale.captured_at + min(max(late, _DUE_RANGE[0] * period), _DUE_RANGE[1] * period)
        if self._busy and float(np.median(self._busy)) >= _MAX_BUSY * period:
            expected = stale.captured_at + period
            if expected - now > _SHORT_WAIT * period:
                return
            due = min(due, expected + _SHORT_WAIT * period)
        self.stale_waits += 1
        while self._slot is stale and not self.ended and not self._stop.is_set():
            left = due - time.perf_counter()
            if left <= 0:
                return
            self._lock.wait(left)

    def reset_counts(self) -> int:
        """Start counting afresh (after warm-up); returns how many frames were decoded before."""
        with self._lock:
            before = self.captured
            pending = 1 if self._slot is not None else 0
            self.captured, self.dropped = pending, 0
            return before - pending

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to stop and wait for it a little; it is a daemon, so a blocked read cannot hang the exit."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not self._thread.is_alive():
            try:
                self.container.close()
            except (av.error.FFmpegError, OSError):  # pragma: no cover - closing a failed source
                pass

    def _publish(self, frame: av.VideoFrame) -> None:
        now = time.perf_counter()
        stream_time = frame.time
        with self._lock:
            if self._last_arrival is not None:
                self._intervals.append(now - self._last_arrival)
            self._last_arrival = now
            if self._slot is not None:
                self.dropped += 1
                log.debug("dropped frame %d", self._slot.index)
            stream_s = float(stream_time) if stream_time is not None else None
            self._slot = CapturedFrame(frame, self.captured, now, stream_s)
            self.captured += 1
            self._lock.notify_all()

    def _run(self) -> None:
        name_os_thread("capture")
        demux_errors = 0
        try:
            while not self._stop.is_set():
                try:
                    for packet in self.container.demux(self.stream):
                        demux_errors = 0
                        if self._stop.is_set():
                            break
                        decoding = time.perf_counter()
                        try:
                            frames = packet.decode()
                        except av.error.InvalidDataError:
                            self.corrupt += 1
                            continue
                        finally:
                            self.decode_s += time.perf_counter() - decoding
                        for frame in frames:
                            self._publish(frame)
                    break  # the source ended
                except av.error.InvalidDataError:
                    # A damaged packet in the stream (not its end): skip it and go on reading.
                    self.corrupt += 1
                    demux_errors += 1
                    if demux_errors >= _MAX_DEMUX_ERRORS:
                        raise
        except av.error.EOFError:
            pass
        except av.error.ExitError as error:
            # PyAV's read timeout: nothing arrived for read_timeout_s.
            self.error = error
        except (av.error.FFmpegError, OSError) as error:
            self.error = error
        except Exception as error:  # noqa: BLE001 - reported by the loop, never lost in a thread
            self.error = error
        finally:
            with self._lock:
                self.ended = True
                self._lock.notify_all()

    def end_message(self) -> str | None:
        """A one-line description of why the source ended abnormally, or None after a normal end or a stop."""
        if self.error is None or self._stop.is_set():
            return None
        if isinstance(self.error, av.error.ExitError):
            return f"{self.label} sent nothing for a while: it was disconnected or stopped"
        if isinstance(self.error, (av.error.FFmpegError, OSError)):
            return f"{self.label} stopped delivering frames ({_reason(self.error)}): it was unplugged or failed"
        return f"reading {self.label} failed: {type(self.error).__name__}: {self.error}"


def raise_if_failed(capture: LatestFrameCapture) -> None:
    """Raise a :class:`ProcessingError` when the capture thread died of a programming error (not a lost source)."""
    if capture.error is not None and not isinstance(capture.error, (av.error.FFmpegError, OSError)):
        raise ProcessingError(capture.end_message() or "the capture thread failed")
