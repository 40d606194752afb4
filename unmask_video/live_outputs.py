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
from dataclasses import dataclass, replace
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from unmask_video.errors import InputError, ProcessingError
from unmask_video.io import (
    STREAM_FORMATS,
    DecodedFrame,
    EncodeOptions,
    StreamDescription,
    VideoWriter,
    check_encoder,
    is_stream_url,
)
from unmask_video.io.paths import check_output_path, url_scheme

log = logging.getLogger(__name__)


class LiveOutput(Protocol):
    """One destination of the processed frames."""

    name: str

    def open(self, width: int, height: int, fps: float) -> None: ...

    def write(self, image: np.ndarray, t: float) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SourcePlanes:
    """The decoded frame a processed image was converted from, and the boxes (x0, y0, x1, y1) outside which the
    stages left the image as converted. An encoding output (:class:`LiveWriter`) encodes from the frame's planes
    and converts only the boxes back from RGB, as file runs do (:meth:`VideoWriter.write`): less work per frame,
    and the rest of the picture goes out as the camera sent it."""

    frame: Any  # av.VideoFrame, never written to
    changed: list[tuple[int, int, int, int]]


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

    def encode_options(self, fps: float) -> EncodeOptions:
        """The :class:`EncodeOptions` of the shared writer at ``fps``."""
        return EncodeOptions(
            codec=self.codec,
            crf=self.crf,
            preset=self.preset,
            tune=self.tune if self.codec == "libx264" else None,
            keyframe_interval=max(1, round(fps * self.keyframe_s)),
        )


class LiveWriter:
    """The recording (a file) or the network stream (a URL): :class:`unmask_video.io.VideoWriter` with wall-clock
    timestamps.

    Timestamps are milliseconds since the session started: a recording plays at the pace the session ran at,
    whatever frames were dropped. A recording is checked when the session starts (an existing file is an error
    unless ``overwrite``), written to a unique temporary name, finished on ``close()`` even after an interruption
    and put in place without ever replacing a file that appeared meanwhile; one that got no frame is removed.
    """

    def __init__(self, target: str | os.PathLike[str], output_format: str | None = None,
                 encode: LiveEncodeOptions | None = None, *, overwrite: bool = False) -> None:  # fmt: skip
        self.target = os.fspath(target)
        self.is_url = is_stream_url(self.target)
        self.name = "stream" if self.is_url else "recording"
        self.encode = encode or LiveEncodeOptions()
        self.format = output_format
        self.overwrite = overwrite
        check_encoder(self.encode.encode_options(30.0))  # a bad codec or option fails before anything starts
        if self.is_url:
            if self.format is None and url_scheme(self.target) not in STREAM_FORMATS:
                raise InputError(f"cannot tell the container format of {self.target}: add --format (e.g. mpegts)")
        else:
            path = Path(self.target)
            if self.format is None and not path.suffix:
                self.format = "matroska"
            if not path.parent.exists():
                raise InputError(f"the folder for the recording does not exist: {path.parent}")
            self.target = str(check_output_path("", self.target, overwrite=overwrite, need_extension=False))
        self._writer: VideoWriter | None = None
        self._t0: float | None = None
        self.frames = 0
        self.path: Path | None = None  # where the recording went, once closed

    def open(self, width: int, height: int, fps: float) -> None:
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        self.open_stream(StreamDescription(width=width, height=height, rate=rate, time_base=Fraction(1, 1000)))

    def open_stream(self, stream: StreamDescription) -> None:
        """Open for frames of ``stream`` (from the capture: size, rate, colour); timestamps are in milliseconds."""
        stream = replace(stream, time_base=Fraction(1, 1000), rotation=0, copied_streams=())
        try:
            self._writer = VideoWriter(
                self.target, stream, self.encode.encode_options(float(stream.rate)), output_format=self.format,
                overwrite=self.overwrite, url_options={"flush_packets": "1"} if self.is_url else None,
            )  # fmt: skip
        except InputError as error:
            raise InputError(f"cannot open the {self.name} {self.target}: {error}") from error
        log.info("%s: %s (%dx%d)", self.name, self.target, self._writer.width, self._writer.height)

    #: :meth:`write` takes the frame's :class:`SourcePlanes`
    takes_planes = True

    def write(self, image: np.ndarray, t: float, planes: SourcePlanes | None = None) -> None:
        """Encode ``image`` at session time ``t``; with ``planes``, from the decoded frame's planes where the
        stages did not change it (the writer falls back to converting the whole image where it cannot)."""
        assert self._writer is not None, "open() first"
        if self._t0 is None:
            self._t0 = t  # the file starts at 0 with its first frame
        pts = int(round((t - self._t0) * 1000))
        decoded = None
        if planes is not None:
            decoded = DecodedFrame(image, pts, Fraction(1, 1000), t, self.frames, planes.frame, planes.changed)
        try:
            self._writer.write_at(image, pts, None, decoded)
        except ProcessingError as error:
            raise ProcessingError(f"writing the {self.name} {self.target} failed: {error}") from error
        self.frames += 1

    def close(self) -> None:
        """Flush and finish the file so it plays (also after Ctrl-C); put it in place."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if not self.frames:
            writer.abort()
            return
        result = writer.commit()
        if not self.is_url:
            self.path = Path(result)
            log.info("recording: %s (%d frames)", result, self.frames)


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
