"""Live-mode outputs: a preview window, a virtual camera, a network stream and a recording.

Every output gets RGB uint8 frames with the wall-clock time (seconds since the session started) they are
sent at; the recording and the stream are timestamped with that clock, so a file plays at the pace the
session ran at, however many frames were dropped.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from unmask_video.errors import InputError, ProcessingError

log = logging.getLogger(__name__)

#: Container formats for stream URLs, by scheme, when ``--format`` is not given.
STREAM_FORMATS = {"udp": "mpegts", "tcp": "mpegts", "srt": "mpegts", "rtp": "rtp_mpegts", "rtmp": "flv", "rtsp": "rtsp"}


class LiveOutput(Protocol):
    """One destination of the processed frames."""

    name: str

    def open(self, width: int, height: int, fps: float) -> None: ...

    def write(self, image: np.ndarray, t: float) -> None: ...

    def close(self) -> None: ...


class KeyAction(Enum):
    QUIT = "quit"
    TOGGLE = "toggle"
    SNAPSHOT = "snapshot"


#: Window keys: q or Esc quit, space toggles the effect, s saves a snapshot PNG.
KEYS = {ord("q"): KeyAction.QUIT, ord("Q"): KeyAction.QUIT, 27: KeyAction.QUIT, ord(" "): KeyAction.TOGGLE,
        ord("s"): KeyAction.SNAPSHOT, ord("S"): KeyAction.SNAPSHOT}  # fmt: skip


def key_action(key: int) -> KeyAction | None:
    """The action of a key code from ``cv2.waitKey`` (-1 = no key)."""
    if key < 0:
        return None
    return KEYS.get(key & 0xFF)


#: Opens and closes an OpenCV window: run in a child process, because OpenCV's Qt backend aborts the whole
#: process (no exception) when it cannot reach the display.
_WINDOW_PROBE = "import cv2; cv2.namedWindow('probe'); cv2.waitKey(1); cv2.destroyAllWindows()"


def display_problem(env: dict[str, str] | None = None, system: str | None = None, probe: bool = True) -> str | None:
    """Why no preview window can be shown here, or None when one can.

    On Linux OpenCV's window needs X11 (or XWayland): DISPLAY must be set, and with ``probe`` a child
    process checks that a window really opens there.
    """
    env = dict(os.environ) if env is None else env
    system = system or platform.system()
    if system == "Linux" and not env.get("DISPLAY"):
        return "no display is available for the preview window (DISPLAY is not set)"
    if not probe:
        return None
    try:
        result = subprocess.run([sys.executable, "-c", _WINDOW_PROBE], env=env, capture_output=True, text=True,
                                timeout=20)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "the preview window did not open within 20 s"
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        detail = next((line for line in lines if "display" in line.lower()), lines[0] if lines else "")
        where = f" on display {env['DISPLAY']}" if env.get("DISPLAY") else ""
        return f"the preview window cannot open{where}" + (f" ({detail})" if detail else "")
    return None


def no_window_error(problem: str) -> InputError:
    """The error for a window that cannot be shown, with what to do instead."""
    return InputError(
        f"{problem}: run it in a desktop session, or use --no-window with --record, -o URL or --virtual-cam"
    )


class WindowOutput:
    """A ``cv2.imshow`` window; ``poll()`` returns the key actions and notices when the window was closed."""

    name = "window"

    def __init__(self, title: str = "unmask-video (q quit, space on/off, s snapshot)", checked: bool = False) -> None:
        """Raises :class:`InputError` where no window can open (``checked``: the caller already made sure)."""
        problem = None if checked else display_problem()
        if problem:
            raise no_window_error(problem)
        import cv2

        self._cv2 = cv2
        self.title = title
        self.closed = False
        self._opened = False

    def open(self, width: int, height: int, fps: float) -> None:
        try:
            self._cv2.namedWindow(self.title, self._cv2.WINDOW_NORMAL)
            self._cv2.resizeWindow(self.title, width, height)
        except self._cv2.error as error:
            raise InputError(f"cannot open the preview window ({error.msg.strip()}): use --no-window") from error
        self._opened = True

    def write(self, image: np.ndarray, t: float) -> None:
        if self._opened and not self.closed:
            self._cv2.imshow(self.title, image[:, :, ::-1])

    def poll(self) -> KeyAction | None:
        """Process window events (call often); a closed window reads as QUIT."""
        if not self._opened or self.closed:
            return None
        action = key_action(self._cv2.waitKey(1))
        try:
            visible = self._cv2.getWindowProperty(self.title, self._cv2.WND_PROP_VISIBLE)
        except self._cv2.error:
            visible = 0
        if visible < 1:
            self.closed = True
            return KeyAction.QUIT
        return action

    def close(self) -> None:
        if self._opened:
            try:
                self._cv2.destroyWindow(self.title)
                self._cv2.waitKey(1)
            except self._cv2.error:
                pass
        self._opened = False


class VirtualCameraOutput:
    """A virtual camera through pyvirtualcam (v4l2loopback on Linux, OBS Virtual Camera on macOS and Windows)."""

    name = "virtual camera"

    def __init__(self, device: str | None = None) -> None:
        try:
            import pyvirtualcam
        except ImportError as error:
            raise InputError("the virtual camera needs pyvirtualcam: pip install 'unmask-video[virtualcam]'") from error
        self._pyvirtualcam = pyvirtualcam
        self.device = device
        self._camera: Any = None

    def open(self, width: int, height: int, fps: float) -> None:
        try:
            self._camera = self._pyvirtualcam.Camera(
                width, height, fps, fmt=self._pyvirtualcam.PixelFormat.RGB, device=self.device
            )
        except RuntimeError as error:
            hint = (
                "load v4l2loopback: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=unmask-video"
                if platform.system() == "Linux"
                else "install OBS Studio and start its virtual camera once"
            )
            raise InputError(f"no virtual camera is available ({error}): {hint}") from error
        log.info("virtual camera: %s", self._camera.device)

    def write(self, image: np.ndarray, t: float) -> None:
        # No sleep_until_next_frame(): pacing comes from the capture, and waiting would only add delay.
        self._camera.send(np.ascontiguousarray(image))

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None


@dataclass
class LiveEncodeOptions:
    """Encoder settings for the recording and the stream: tuned for low latency, not for size."""

    codec: str = "libx264"
    preset: str = "ultrafast"
    tune: str | None = "zerolatency"
    crf: int = 23
    keyframe_s: float = 1.0  # a key frame this often, so a viewer can join a stream quickly


class LiveWriter:
    """Encodes frames with wall-clock timestamps to a file (written to a temp name, renamed when done) or a URL.

    Timestamps are milliseconds since the session started: a recording plays at the pace the session ran
    at, whatever frames were dropped. A file is finished on ``close()`` even after an interruption; a file
    that got no frame is removed.
    """

    def __init__(self, target: str | os.PathLike[str], output_format: str | None = None,
                 encode: LiveEncodeOptions | None = None) -> None:  # fmt: skip
        self.target = str(target)
        self.is_url = "://" in self.target
        self.name = "stream" if self.is_url else "recording"
        self.encode = encode or LiveEncodeOptions()
        self.format = output_format
        if self.is_url and self.format is None:
            self.format = STREAM_FORMATS.get(self.target.split("://", 1)[0].lower())
            if self.format is None:
                raise InputError(f"cannot tell the container format of {self.target}: add --format (e.g. mpegts)")
        if not self.is_url:
            path = Path(self.target)
            if not path.parent.exists():
                raise InputError(f"the folder for the recording does not exist: {path.parent}")
            self._partial = path.with_name(f".{path.stem}.partial{path.suffix or '.mkv'}")
            if self.format is None and not path.suffix:
                self.format = "matroska"
        self._container: Any = None
        self._stream: Any = None
        self._last_pts = -1
        self._t0: float | None = None
        self.frames = 0

    def open(self, width: int, height: int, fps: float) -> None:
        destination = self.target if self.is_url else str(self._partial)
        options = {"flush_packets": "1"} if self.is_url else {}
        if self.is_url and self.target.startswith("udp://") and "pkt_size" not in self.target:
            destination += ("&" if "?" in destination else "?") + "pkt_size=1316"
        try:
            self._container = av.open(destination, "w", format=self.format, options=options)
        except (av.error.FFmpegError, OSError, ValueError) as error:
            raise InputError(f"cannot open the {self.name} {self.target}: {error}") from error
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        try:
            stream = self._container.add_stream(self.encode.codec, rate=rate)
        except (av.error.FFmpegError, ValueError) as error:
            self._container.close()
            raise InputError(f"encoder {self.encode.codec} is not available: {error}") from error
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        options = {"g": str(max(1, round(float(rate) * self.encode.keyframe_s)))}
        if self.encode.codec == "libx264":
            options.update({"preset": self.encode.preset, "crf": str(self.encode.crf)})
            if self.encode.tune:
                options["tune"] = self.encode.tune
        else:
            options["bf"] = "0"
        stream.options = options
        self._stream = stream
        log.info("%s: %s (%s, %dx%d)", self.name, self.target, self._container.format.name, stream.width, stream.height)

    def write(self, image: np.ndarray, t: float) -> None:
        height, width = self._stream.height, self._stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="rgb24")
        if self._t0 is None:
            self._t0 = t  # the file starts at 0 with its first frame
        pts = max(int(round((t - self._t0) * 1000)), self._last_pts + 1)  # strictly increasing, milliseconds
        frame.pts, frame.time_base = pts, Fraction(1, 1000)
        self._last_pts = pts
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as error:
            raise ProcessingError(f"writing the {self.name} {self.target} failed: {error}") from error
        self.frames += 1

    def close(self) -> None:
        """Flush and finish the file so it plays (also after Ctrl-C); rename it into place."""
        if self._container is None:
            return
        container, self._container = self._container, None
        try:
            for packet in self._stream.encode():
                container.mux(packet)
        except (av.error.FFmpegError, OSError) as error:
            log.warning("flushing the %s failed: %s", self.name, error)
        finally:
            try:
                container.close()
            except (av.error.FFmpegError, OSError) as error:
                log.warning("closing the %s failed: %s", self.name, error)
        if not self.is_url:
            if self.frames:
                os.replace(self._partial, self.target)
                log.info("recording: %s (%d frames)", self.target, self.frames)
            else:
                self._partial.unlink(missing_ok=True)


def save_snapshot(image: np.ndarray, folder: Path) -> Path:
    """Save an RGB frame as a PNG named by the time; returns its path."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"unmask-snapshot-{stamp}.png"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"unmask-snapshot-{stamp}-{n}.png"
    if not cv2.imwrite(str(path), image[:, :, ::-1]):
        raise ProcessingError(f"cannot write the snapshot {path}: check the folder")
    return path
