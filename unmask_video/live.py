"""Live mode: unmask a camera or a live stream with bounded delay, for video calls.

README section (draft)
======================

Live mode
---------
``unmask-video live --ref face.jpg`` shows the camera with the mask removed, in a window. The reference
and the models are loaded and warmed up before the first frame is shown; when the face is lost, frames pass
through unchanged until it returns.

- Camera: ``unmask-video live [DEVICE]``: v4l2 on Linux (``/dev/video0`` by default, ``live 1`` = ``/dev/video1``),
  avfoundation on macOS (``live 0``), dshow on Windows (``live "Integrated Camera"``).
  ``--video-size 1280x720``, ``--framerate 30`` and ``--input-format mjpeg`` are passed to the camera.
  ``--list-cameras`` shows the cameras there are.
- Any live stream PyAV opens is a source too: ``live rtsp://cam.local/stream``, ``live udp://0.0.0.0:5000``,
  or a named pipe (``live /tmp/cam.fifo --source-format mpegts``); it is opened with low-latency options
  (``--source-option KEY=VALUE`` adds FFmpeg options, e.g. ``rtsp_transport=tcp``).
- Outputs, one or several: the preview window (the default where there is a display; ``--no-window``),
  ``--virtual-cam`` (a camera other apps can pick), ``-o udp://127.0.0.1:5000 --format mpegts`` (a network
  stream: ``ffplay -fflags nobuffer udp://127.0.0.1:5000``), and ``--record session.mp4``.
- Latency first: only the newest camera frame is kept; frames that processing cannot keep up with are dropped, never
  queued, so the delay stays bounded. A frame that has already waited over half an interval when its turn comes is
  given up for the next one when that is due soon (within a fifth of an interval while processing cannot keep up
  with the camera), so a frame rarely starts its way most of an interval old. The next frame's landmarks, mask and
  warp run on a thread of their own while the current frame's reconstruction and blend run, started just in time to
  end when those do (more frames per second without a longer delay); the virtual camera, the stream and the
  recording are written on a third, in that order (the call app does not wait for the encoders), encoded from the
  camera's own picture with only the rebuilt face converted back. The status line shows processing fps, the
  capture-to-output delay (median and 95th percentile) and the dropped frames; the same figures are printed at the
  end.
- Ctrl-C or closing the window stops cleanly and finishes the recording so it plays. A camera that is
  unplugged mid-session ends the session the same way, with the recording kept.

Window keys: ``q`` or ``Esc`` quit, ``space`` turns the effect off and on, ``s`` saves a snapshot PNG
(into ``--snapshot-dir``, the current folder by default).

Virtual camera (``pip install 'unmask-video[virtualcam]'``):

- Linux: ``sudo apt install v4l2loopback-dkms`` then
  ``sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=unmask-video``; pick "unmask-video"
  as the camera in the call app (Chrome needs ``exclusive_caps=1``).
- macOS: install OBS Studio (28 or later), start its Virtual Camera once and stop it; then pick
  "OBS Virtual Camera" in the call app.
- Windows: install OBS Studio (26 or later); pick "OBS Virtual Camera" in the call app.

Measured delay is from the moment a frame is decoded to the moment every output has it; the camera's own
latency and the display's are not included.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, cast

import cv2
import numpy as np

from unmask_video.errors import InputError, ProcessingError
from unmask_video.io import handle_signals
from unmask_video.io.color import FrameToRGB
from unmask_video.frame_loop import switch_interval
from unmask_video.live_ahead import Ahead, LandmarksAhead
from unmask_video.prepare_process import PrepareProcess, ProcessOptions, fork_available
from unmask_video.live_output_thread import OutputThread
from unmask_video.live_capture import (
    CameraInfo,
    CapturedFrame,
    LatestFrameCapture,
    LiveSource,
    list_cameras,
    open_source,
    open_spec,
    raise_if_failed,
)
from unmask_video.live_outputs import (
    KeyAction,
    LiveEncodeOptions,
    LiveOutput,
    LiveWriter,
    SourcePlanes,
    VirtualCameraOutput,
    WindowOutput,
    display_problem,
    no_window_error,
    save_snapshot,
)
from unmask_video.live_stats import FrameMarks, LiveMeter, LiveStats, log_status
from unmask_video.pipeline import PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions
from unmask_video.timing import StageTimer

__all__ = [
    "CameraInfo",
    "FrameProcessor",
    "LiveOptions",
    "LiveSource",
    "LiveStats",
    "format_cameras",
    "list_cameras",
    "pipeline_options_for_live",
    "reconstructor_options_for_live",
    "run_live",
]

log = logging.getLogger(__name__)


class FrameProcessor(Protocol):
    """What live mode runs on every frame it shows (the pipeline satisfies it)."""

    def warmup(self) -> None:
        """Load and warm up everything, so that the first frame is not slow."""
        ...

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        """Return a new RGB uint8 image of the same shape; a frame with no face comes back unchanged.

        ``t`` is the frame's capture time in seconds since the session started (increasing).
        """
        ...


class SplitFrameProcessor(FrameProcessor, Protocol):
    """A processor whose landmarks stage can run apart from the rest (:class:`~unmask_video.pipeline.FramePipeline`):
    ``process(image, t)`` is ``rebuild([image], [t], [locate(image, t)])[0]``. Live mode then runs the next
    frame's ``locate`` on a thread of its own while the current frame's ``rebuild`` runs."""

    def locate(self, image: np.ndarray, t: float) -> Any:
        """The landmarks of one frame, in capture order."""
        ...

    def rebuild(self, images: Any, times: Any, faces_per_frame: Any, in_place: bool = False) -> list[np.ndarray]:
        """The stages after the landmarks for frames :meth:`locate` saw."""
        ...


class PreparingFrameProcessor(SplitFrameProcessor, Protocol):
    """A split processor whose mask and warp stages can also run apart from the reconstruction and blend
    (:class:`~unmask_video.pipeline.FramePipeline`): ``rebuild(images, times, faces, in_place)`` is
    ``finish(prepare(images, faces), in_place)``. Live mode then runs them with the landmarks on the worker."""

    def prepare(self, images: Any, faces_per_frame: Any) -> Any:
        """The stages after the landmarks that only read the frames (mask, warp), in capture order."""
        ...

    def finish(self, prepared: Any, in_place: bool = False) -> list[np.ndarray]:
        """The remaining stages (reconstruction, blend) of what :meth:`prepare` made."""
        ...


def _splits(processor: FrameProcessor) -> bool:
    return callable(getattr(processor, "locate", None)) and callable(getattr(processor, "rebuild", None))


def _prepares(processor: FrameProcessor) -> bool:
    return _splits(processor) and callable(getattr(processor, "prepare", None)) and callable(
        getattr(processor, "finish", None)
    )


@dataclass
class LiveOptions:
    """Where the processed frames go, and how the session runs."""

    window: bool | None = None  # None: a window where there is a display (required when nothing else is output)
    virtual_cam: bool = False
    virtual_cam_device: str | None = None  # e.g. /dev/video10; None = pyvirtualcam's choice
    record: Path | None = None  # a file: .mp4, .mkv, .ts ...
    overwrite: bool = False  # replace an existing recording file
    stream_url: str | None = None  # e.g. udp://127.0.0.1:5000
    stream_format: str | None = None  # container for stream_url; None = by scheme (udp -> mpegts)
    encode: LiveEncodeOptions = field(default_factory=LiveEncodeOptions)
    extra_outputs: list[LiveOutput] = field(default_factory=list)  # more sinks (embedding, tests)
    snapshot_dir: Path = Path(".")
    effect: bool = True  # start with the effect on (space toggles it in the window)
    max_frames: int | None = None  # stop after showing this many frames
    max_seconds: float | None = None  # stop after this long (from the first shown frame)
    status: Callable[[str], None] | None = log_status  # gets the status line; None = no status line
    status_interval_s: float = 1.0
    handle_signals: bool = True  # Ctrl-C / SIGTERM stop the session cleanly (main thread only)
    #: Recording, stream and virtual camera written on their own thread (unmask_video.live_output_thread), so the
    #: next frame's processing overlaps their encoding; False: written in turn on the processing thread.
    output_thread: bool = True
    #: With a processor that splits (:class:`SplitFrameProcessor`), the next frame's RGB conversion and landmarks
    #: on a thread of their own (unmask_video.live_ahead), overlapping the current frame's face stages and started
    #: just in time for them to end (``pace``); False: every stage in turn on the processing thread.
    landmarks_ahead: bool = True
    #: With a processor that also prepares apart (:class:`PreparingFrameProcessor`), the worker runs the mask and
    #: warp stages too, after the landmarks: the processing thread is left the reconstruction and blend, so the
    #: two threads' shares of a frame are closer (more frames per second for the same delay).
    prepare_ahead: bool = True
    #: With ``prepare_ahead`` and the pipeline as the processor, the worker hands each frame's mask and warp stages to
    #: a forked process of their own (:mod:`unmask_video.prepare_process`, the file loop's): they no longer take the
    #: GIL from the processing thread's reconstruction and blend (the same pictures, bit for bit). Only where the
    #: platform forks; frames up to ``prepare_process_max_pixels``.
    prepare_process: bool = False
    prepare_process_max_pixels: int = 1280 * 720
    pace: bool = True
    #: A captured frame that is older than this fraction of the source's frame interval when it is taken is
    #: stale: the next frame is waited for and processed instead (``LatestFrameCapture.get``; while processing
    #: takes an interval or more per frame, only when the next frame is due within a fifth of an interval), so that
    #: a frame's delay does not start with up to a whole interval spent in the capture's slot. None: the newest
    #: frame, as old as it is (before issue 14's live30 round, the default: at 0.5 without the short waits' bound,
    #: same-run comparisons ranged from p95 0.81x at the same fps to 0.78x the fps; benchmarks/README.md).
    stale_after: float | None = 0.5
    #: Gets the live stages' seconds ("decode" on the capture thread, "rgb", "output"); the benchmark passes the
    #: pipeline's timer, so that every stage is in one place.
    timer: StageTimer | None = None
    #: Python's thread switch interval (seconds) while the session runs; None: unchanged (5 ms). A thread whose
    #: native call (decode, MediaPipe, OpenCV) ends waits for the GIL at most about this long while another runs
    #: Python (:func:`unmask_video.frame_loop.switch_interval`).
    switch_interval_s: float | None = None


def pipeline_options_for_live(options: PipelineOptions) -> PipelineOptions:
    """``options`` (a file run's) as live mode runs the pipeline: no repeated-frame
    reuse (a repeated frame is given the faces of the last frame located before it, which live mode may have dropped:
    the newest located frame wins). ``options`` itself is left unchanged."""
    return replace(options, repeats=replace(options.repeats, enabled=False))


def reconstructor_options_for_live(options: ReconstructorOptions) -> ReconstructorOptions:
    """``options`` (a file run's) as live mode rebuilds faces: the reference composite's reads that go with a measure
    of its colour fields made one a frame in turn on the frames that reuse them (:attr:`CompositeOptions.reads_in_turn`:
    the measuring frames, the processing thread's slowest, carry less). ``options`` itself is left unchanged."""
    return replace(options, composite=replace(options.composite, reads_in_turn=True))


@dataclass
class _State:
    effect_on: bool = True
    stop_reason: str | None = None
    source_lost: bool = False
    last_image: np.ndarray | None = None


def _make_outputs(options: LiveOptions) -> tuple[list[LiveOutput], WindowOutput | None]:
    """Create (not open) every output; problems that are known up front fail here, before anything starts.

    In the order a frame is written to them (on the outputs thread, one after the other): what a viewer watches as it
    happens first, the virtual camera (a copy) and then the stream, the recording (an encode no one watches live)
    last, so that the call app does not wait for the encoders."""
    outputs: list[LiveOutput] = []
    if options.virtual_cam:
        outputs.append(VirtualCameraOutput(options.virtual_cam_device))
    if options.stream_url:
        outputs.append(LiveWriter(options.stream_url, options.stream_format, options.encode))
    if options.record is not None:
        outputs.append(LiveWriter(options.record, None, options.encode, overwrite=options.overwrite))
    outputs.extend(options.extra_outputs)
    window: WindowOutput | None = None
    problem = display_problem() if options.window is not False else None
    if options.window or (options.window is None and (problem is None or not outputs)):
        if problem:
            raise no_window_error(problem)
        window = WindowOutput(checked=True)
        outputs.insert(0, window)
    elif options.window is None:
        log.info("%s: no preview window", problem)
    if not outputs:
        raise InputError("live mode has no output: remove --no-window, or give --record FILE, -o URL or --virtual-cam")
    return outputs, window


#: Signals that stop a session cleanly (the recording is finished): Ctrl-C, kill, a closed terminal.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Signals:
    """Turns the first Ctrl-C / SIGTERM / SIGHUP into a clean stop; a second Ctrl-C interrupts at once."""

    def __init__(self, enabled: bool) -> None:
        self.requested = threading.Event()
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_Signals":
        if self.enabled:
            for sig in _STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("stopping (press Ctrl-C again to stop at once)")
        self.requested.set()

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if previous is None else previous)


def run_live(source: LiveSource, processor: FrameProcessor, options: LiveOptions | None = None) -> LiveStats:
    """Capture ``source``, run ``processor`` on the newest frame, send the result to the outputs; until stopped.

    Stops on Ctrl-C / SIGTERM, the quit key, a closed window, the end or loss of the source, or the
    ``max_frames`` / ``max_seconds`` limits; every output is finished in all these cases. Returns the
    session's figures (also logged). Raises :class:`InputError` when the source or an output cannot be opened.
    """
    options = options or LiveOptions()
    with handle_signals(terminate=options.handle_signals):
        return _run_live(source, processor, options)


def _run_live(source: LiveSource, processor: FrameProcessor, options: LiveOptions) -> LiveStats:
    outputs, window = _make_outputs(options)
    spec = open_spec(source)
    container = open_source(spec, source.open_timeout_s, source.read_timeout_s)  # Ctrl-C interrupts it
    capture = LatestFrameCapture(container, spec.label).start()
    meter = LiveMeter()
    state = _State(effect_on=options.effect)
    opened: list[LiveOutput] = []
    with _Signals(options.handle_signals) as signals, switch_interval(options.switch_interval_s):
        try:
            processor.warmup()
            meter.stats.frames_before_start = capture.reset_counts()
            log.info("live: %s, %dx%d; outputs: %s", spec.label, capture.width, capture.height,
                     ", ".join(o.name for o in outputs))  # fmt: skip
            _loop(capture, processor, options, outputs, opened, window, meter, state, signals, source)
        finally:
            capture.stop()
            _close_outputs(opened)
    stats = meter.finish(time.perf_counter())
    stats.frames_captured = capture.captured
    stats.frames_dropped = capture.dropped
    stats.frames_corrupt = capture.corrupt
    stats.fresher_waits = capture.stale_waits
    stats.source_lost = state.source_lost
    stats.end_reason = state.stop_reason or ""
    if stats.source_lost:
        log.warning("%s; the session ended%s", stats.end_reason, ", the recording was kept" if options.record else "")
    raise_if_failed(capture)
    log.info("live: %s", stats.summary())
    return stats


def _close_outputs(opened: list[LiveOutput]) -> None:
    for output in reversed(opened):
        try:
            output.close()
        except Exception as error:  # noqa: BLE001 - one failing output must not keep the others from finishing
            log.warning("closing the %s failed: %s", output.name, error)


class _Frames:
    """The captured frames as RGB images of the session's size (the first frame's: a source that changes size
    mid-session is resized), with their landmarks when the processor splits and the effect is on."""

    def __init__(
        self, processor: FrameProcessor, state: _State, timer: StageTimer, start: float, prepare: bool = False
    ) -> None:
        self.processor = processor
        self.state = state
        self.timer = timer
        self.start = start
        self.size: tuple[int, int] | None = None
        #: The processor when its landmarks can run apart (None: ``process`` runs every stage)
        self.split = cast(SplitFrameProcessor, processor) if _splits(processor) else None
        #: The processor when :meth:`locate` also runs its mask and warp stages (None: :meth:`process` does)
        self.preparing = cast(PreparingFrameProcessor, processor) if prepare and _prepares(processor) else None
        self._to_rgb = FrameToRGB()  # the file path's conversion (each frame's own matrix): the same pixels
        #: Where the worker's mask and warp run when not on its own thread (``LiveOptions.prepare_process``)
        self.child: PrepareProcess | None = None

    def image(self, item: Any) -> np.ndarray:
        with self.timer("rgb"):
            image = self._to_rgb(item.frame)
            if self.size is None:
                self.size = (image.shape[1], image.shape[0])
            elif (image.shape[1], image.shape[0]) != self.size:
                image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)  # the source changed size
        return image

    def locate(self, item: Any) -> tuple[np.ndarray, Any]:
        image = self.image(item)
        assert self.split is not None  # (only called when the processor splits)
        if not self.state.effect_on:
            return image, None
        faces = self.split.locate(image, item.captured_at - self.start)
        if self.child is not None:
            self.child.submit(image, faces)
            return image, _Prepared(self.child.receive(image))
        if self.preparing is not None:
            return image, _Prepared(self.preparing.prepare([image], [faces]))
        return image, faces

    def process(self, item: Any, image: np.ndarray, faces: Any) -> tuple[np.ndarray, SourcePlanes | None]:
        """The processed frame and, where known, the decoded frame with the boxes the stages changed (the
        encoders then convert only those boxes back: :class:`SourcePlanes`)."""
        if not self.state.effect_on:
            return image, SourcePlanes(item.frame, [])
        result = self._process(item, image, faces)
        changed = getattr(self.processor, "last_changed", None)  # (the pipeline's, set by this frame's stages)
        if changed is None or len(changed) != 1:
            return result, None
        return result, SourcePlanes(item.frame, list(changed[0]))

    def _process(self, item: Any, image: np.ndarray, faces: Any) -> np.ndarray:
        t = item.captured_at - self.start
        if isinstance(faces, _Prepared) and self.preparing is not None:
            # (prepared from this frame's own array on the worker, which no longer touches it: blended in place)
            result = self.preparing.finish(faces.batch, in_place=True)[0]
        elif faces is not None and self.split is not None:
            # (the image is this frame's own array, converted above: blended in place, no copy)
            result = self.split.rebuild([image], [t], [faces], in_place=True)[0]
        else:
            result = self.processor.process(image, t)
        if result.shape != image.shape or result.dtype != np.uint8:
            raise ProcessingError(
                f"the frame processor returned {result.dtype} {result.shape} for a {image.shape} frame"
            )
        return result


@dataclass
class _Prepared:
    """What the worker made of a frame when it also ran the processor's ``prepare`` (the faces were used there)."""

    batch: Any


class _TimedWrites:
    """The outputs written in turn as one, their time counted as the "output" stage."""

    def __init__(self, outputs: list[LiveOutput], timer: StageTimer) -> None:
        self.outputs = outputs
        self.timer = timer

    def write(self, image: np.ndarray, t: float, planes: SourcePlanes | None = None) -> None:
        with self.timer("output"):
            for output in self.outputs:
                if planes is not None and getattr(output, "takes_planes", False):
                    cast(LiveWriter, output).write(image, t, planes)
                else:
                    output.write(image, t)


def _loop(
    capture: LatestFrameCapture,
    processor: FrameProcessor,
    options: LiveOptions,
    outputs: list[LiveOutput],
    opened: list[LiveOutput],
    window: WindowOutput | None,
    meter: LiveMeter,
    state: _State,
    signals: _Signals,
    source: LiveSource,
) -> None:
    start = time.perf_counter()
    next_status = start + options.status_interval_s
    first_shown: float | None = None
    shown_count = 0
    meter_lock = threading.Lock()  # the output thread records into the meter while this thread reads it
    others = [output for output in outputs if output is not window]  # the window stays on this thread (GUI)
    timer = options.timer if options.timer is not None else StageTimer()
    writes = _TimedWrites(others, timer)
    worker: OutputThread | None = None
    frames = _Frames(processor, state, timer, start, prepare=options.landmarks_ahead and options.prepare_ahead)
    ahead: LandmarksAhead[Any, tuple[np.ndarray, Any]] | None = None

    def take(timeout: float) -> CapturedFrame | None:
        return capture.get(timeout, options.stale_after)

    child_stop = threading.Event()
    if options.prepare_process and frames.preparing is not None:
        frames.child = _prepare_process(processor, capture, options, child_stop)
    if options.landmarks_ahead and frames.split is not None:
        ahead = LandmarksAhead(take, frames.locate, lambda: capture.ended, pace=options.pace).start()

    def record(marks: FrameMarks, output_at: float) -> None:
        written = time.perf_counter()
        marks.output_at = output_at
        with meter_lock:
            meter.record_marks(marks, written)

    try:
        while state.stop_reason is None:
            if signals.requested.is_set():
                state.stop_reason = "interrupted"
                break
            located: Ahead[Any, tuple[np.ndarray, Any]] | None
            if ahead is not None:
                located = ahead.get(timeout=0.05)
                ended = ahead.finished
            else:
                raw = take(0.05)
                located = None if raw is None else Ahead(raw, (np.empty(0), None), time.perf_counter())
                ended = capture.ended
            if window is not None:
                _handle_key(window.poll(), state, options)
                if state.stop_reason:
                    break
            if located is None:
                if ended:
                    lost = capture.end_message()
                    state.source_lost = lost is not None
                    state.stop_reason = lost or "end of stream"
                elif options.status is not None and time.perf_counter() >= next_status + 1.0:
                    options.status(f"waiting for frames from {capture.label} ...")
                    next_status = time.perf_counter() + options.status_interval_s
                continue
            item = located.item
            picked = time.perf_counter()
            image, faces = located.result if ahead is not None else (frames.image(item), None)
            taken = located.started_at  # (without the worker: when this thread took the frame; no locate, no slot)
            marks = FrameMarks(item.index, item.captured_at, item.stream_time, taken, located.located_at or taken,
                               picked if ahead is not None else taken)  # fmt: skip
            if not opened:
                fps = capture.rate or (float(source.framerate) if source.framerate else 30.0)
                description = capture.description(image.shape[1], image.shape[0], fps)
                for output in outputs:
                    if hasattr(output, "open_stream"):
                        output.open_stream(description)  # the shared writer: colour tags from the capture
                    else:
                        output.open(image.shape[1], image.shape[0], fps)
                    opened.append(output)
            result, planes = frames.process(item, image, faces)
            now = time.perf_counter()
            if window is not None:
                window.write(result, now - start)
            marks.processed_at = time.perf_counter()
            if options.output_thread and others:
                if worker is None:
                    worker = OutputThread([writes], on_written=record)
                worker.submit(result, now - start, marks, planes)  # ``result``: this frame's own array, not reused
            else:
                writes.write(result, now - start, planes)
                record(marks, marks.processed_at)
            shown = time.perf_counter()
            shown_count += 1
            state.last_image = result
            first_shown = first_shown or shown
            if options.status is not None and shown >= next_status:
                with meter_lock:
                    line = meter.status_line(capture.dropped, state.effect_on)
                options.status(line)
                next_status = shown + options.status_interval_s
            if options.max_frames is not None and shown_count >= options.max_frames:
                state.stop_reason = "frame limit"
            elif options.max_seconds is not None and shown - first_shown >= options.max_seconds:
                state.stop_reason = "time limit"
    except BaseException:
        child_stop.set()
        if ahead is not None:
            ahead.close()
        if frames.child is not None:
            frames.child.close()
        if worker is not None:
            try:
                worker.close()
            except Exception as error:  # noqa: BLE001 - the error already in flight is the one to report
                log.debug("live outputs: %s", error)
        raise
    child_stop.set()
    if ahead is not None:
        ahead.close()
    if frames.child is not None:
        frames.child.close()
    if worker is not None:
        worker.close()  # the last frame reaches every output; an output's error is raised here
    timer.add("decode", capture.decode_s)


def _prepare_process(
    processor: FrameProcessor, capture: LatestFrameCapture, options: LiveOptions, stop: threading.Event
) -> PrepareProcess | None:
    """The forked mask-and-warp process for the session's frames, or None where it cannot be used (no fork, not the
    pipeline, a size not known yet or above ``prepare_process_max_pixels``)."""
    from unmask_video.pipeline import FramePipeline

    width, height = capture.width, capture.height
    if not isinstance(processor, FramePipeline) or not fork_available() or not width or not height:
        return None
    if width * height > options.prepare_process_max_pixels:
        return None
    # (two slots: the worker waits for each frame's result before it takes the next)
    return PrepareProcess(processor, (height, width), ProcessOptions(slots=2), stop)


def _handle_key(action: KeyAction | None, state: _State, options: LiveOptions) -> None:
    if action is KeyAction.QUIT:
        state.stop_reason = "window closed or quit key"
    elif action is KeyAction.TOGGLE:
        state.effect_on = not state.effect_on
        log.info("effect %s", "on" if state.effect_on else "off")
    elif action is KeyAction.SNAPSHOT and state.last_image is not None:
        log.info("snapshot: %s", save_snapshot(state.last_image, options.snapshot_dir))


def format_cameras(cameras: list[CameraInfo]) -> Iterator[str]:
    """Lines for ``--list-cameras``."""
    if not cameras:
        yield "no cameras found"
    for camera in cameras:
        yield f"{camera.device}\t{camera.name}" if camera.name else camera.device
