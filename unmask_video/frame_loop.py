"""The threaded frame loop of a file run: decode, landmarks and the face stages overlap, frames stay in order.

Threads hand frames on through bounded queues (``depth`` frames each, so memory stays flat however long the video
is):

- the landmarks thread pulls each frame out of the reader (PyAV decodes with the GIL released, and the YUV -> RGB
  conversion is OpenCV, which releases it too), with the audio packets demuxed before it, then runs
  :meth:`FramePipeline.locate` on it (MediaPipe's graph runs in its own native threads); with
  ``decode_thread`` the decode has a thread of its own (one more thread to schedule on 2 cores; the two ways
  measured the same within the noise, benchmarks/README.md);
- with ``split_face_stages`` the mask and warp stages (:meth:`FramePipeline.prepare`) run one frame ahead of the
  rest: in a forked process of their own (:mod:`unmask_video.prepare_process`; a thread sends the frames, another
  takes the results) where ``process`` is given, else on a thread;
- the calling thread runs the rest of :meth:`FramePipeline.rebuild` (reconstruction, blend) and hands each frame
  and its audio packets to the writer (which encodes on its own thread when it is a ``BackgroundWriter``).

Each stage sees the frames in capture order, one thread per stage, so the tracker's and the segmenter's state
evolve exactly as in the serial loop and the output is the same. An error in a worker thread is raised in the
calling thread; an error or Ctrl-C in the calling thread stops the workers (they give up waiting on a full
queue within ``_POLL_S``) and waits for them before returning, so the reader and the pipeline can be closed
safely afterwards and the writer aborts as before.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Iterator, Protocol, TypeVar

import cv2
import numpy as np

from unmask_video.pipeline import FramePipeline, PreparedBatch
from unmask_video.prepare_process import PrepareProcess, ProcessOptions, Stopped, fork_available
from unmask_video.progress import FrameProgress
from unmask_video.timing import StageTimer, name_os_thread

log = logging.getLogger(__name__)
T = TypeVar("T")

_POLL_S = 0.05  # how often a worker blocked on a queue checks whether the loop was stopped


@dataclass
class FrameLoopOptions:
    """How the frames of a file run are scheduled."""

    #: Decode and landmarks on their own threads, overlapping the face stages (False: one thread, in turn).
    threads: bool = True
    #: Frames waiting between two threads (decode -> landmarks -> mask and warp -> reconstruction and blend).
    depth: int = 3
    #: The mask and warp stages on a thread of their own, one batch ahead of reconstruction and blend (False:
    #: all face stages on the calling thread). Off while debug overlays are written.
    split_face_stages: bool = True
    #: On a machine with at most this many cores OpenCV runs one thread while the loop runs (its pool's threads
    #: spin waiting for work and take the cores the loop's own threads need: measured on 2 cores); 0: never.
    single_opencv_cores: int = 4
    #: The decode on a thread of its own (False: on the landmarks thread, before each frame's landmarks).
    decode_thread: bool = False
    #: The mask and warp stages in a forked process (:mod:`unmask_video.prepare_process`) when split, one frame at
    #: a time (``batch`` 1), fork is there and the frames have at most ``process_max_pixels`` pixels (the copies to
    #: and from the process grow with the face; an earlier, lost measurement found no gain left at 1080p).
    #: Off by default: on 2 cores the run is bound by its CPU, not by the GIL, and the process's copies and page
    #: faults (+7 to +15 ms of CPU per 720p frame) left it behind the thread in four same-run measurements of five
    #: (benchmarks/README.md, helper speed25).
    prepare_process: bool = False
    process_max_pixels: int = 1280 * 720
    process: ProcessOptions = field(default_factory=ProcessOptions)
    #: Python's thread switch interval (seconds, ``sys.setswitchinterval``) while the loop runs; None: unchanged
    #: (5 ms). A thread that waits for the GIL gets it after at most this long.
    switch_interval_s: float | None = None

    def process_for(self, width: int, height: int, batch: int) -> ProcessOptions | None:
        """The prepare process's options for a run of ``width`` x ``height`` frames, ``batch`` at a time; None: the
        mask and warp stages stay in this process."""
        use = (
            self.threads and self.split_face_stages and self.prepare_process and batch == 1
            and 0 < width * height <= self.process_max_pixels and fork_available()
        )  # fmt: skip
        return self.process if use else None

    def opencv_threads(self) -> int | None:
        """The OpenCV thread count to hold while the loop runs on this machine (None: leave it as it is)."""
        return 1 if self.threads and 0 < usable_cores() <= self.single_opencv_cores else None


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS reports it, else the machine's count)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


@contextmanager
def _held(value: T | None, get: Callable[[], T], put: Callable[[T], object]) -> Iterator[None]:
    """A process-wide setting (read by ``get``, written by ``put``) held at ``value`` inside the block, its previous
    value restored after (None: unchanged)."""
    if value is None:
        yield
        return
    before = get()
    put(value)
    try:
        yield
    finally:
        put(before)


def switch_interval(seconds: float | None) -> ContextManager[None]:
    """Python's thread switch interval held at ``seconds`` inside the block, restored after (None: unchanged)."""
    return _held(seconds, sys.getswitchinterval, sys.setswitchinterval)


def opencv_threads(count: int | None) -> ContextManager[None]:
    """OpenCV held to ``count`` threads inside the block, its previous count restored after (None: unchanged)."""
    return _held(count, cv2.getNumThreads, cv2.setNumThreads)


class FrameSource(Protocol):
    """What the loop reads: ``frames(on_packet)`` yields decoded frames once (``VideoReader.frames``)."""

    def frames(self, on_packet: Callable[[Any], None] | None = None) -> Iterator[Any]: ...


class FrameSink(Protocol):
    """What the loop writes to: ``VideoWriter`` or ``BackgroundWriter``."""

    def write(self, frame: Any, image: np.ndarray) -> None: ...

    def mux_packet(self, packet: Any) -> None: ...


@dataclass
class _Failure:
    error: BaseException


@dataclass
class _End:
    audio: list[Any]  # audio packets demuxed after the last frame


_Stopped = Stopped  # the loop was stopped while a worker waited on a queue


class _Handoff:
    """A bounded queue whose blocking calls give up (raise :class:`_Stopped`) once ``stop`` is set."""

    def __init__(self, depth: int, stop: threading.Event) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._stop = stop

    def put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue
        raise _Stopped

    def get(self) -> Any:
        while not self._stop.is_set():
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        raise _Stopped


def run_threaded(
    source: FrameSource,
    sink: FrameSink,
    pipeline: FramePipeline,
    timer: StageTimer,
    *,
    batch: int = 1,
    progress: FrameProgress | None = None,
    write_stage: str = "encode",
    depth: int = 3,
    split_face_stages: bool = False,
    opencv: int | None = None,
    decode_thread: bool = False,
    process: ProcessOptions | None = None,
    frame_shape: tuple[int, int] | None = None,
    switch_s: float | None = None,
) -> None:
    """Process every frame of ``source`` into ``sink`` with decode and landmarks on their own threads.

    ``batch`` consecutive frames go through :meth:`FramePipeline.rebuild` together (their faces are one
    reconstructor batch); with ``split_face_stages``, its :meth:`~FramePipeline.prepare` (mask, warp) runs on a
    thread of its own and its :meth:`~FramePipeline.finish` (reconstruction, blend) on the calling thread. Frames
    are blended in place (the decoded arrays belong to this loop). Timer stages: "decode", "landmarks" (and
    "segment", "loops", "warp" when split) are the worker threads' own time (they overlap the rest); "input wait" is the
    time the calling thread waited for its input; ``write_stage`` the time it spent handing frames to ``sink``.
    ``opencv``: OpenCV's thread count while the loop runs (:meth:`FrameLoopOptions.opencv_threads`; None: unchanged).
    ``decode_thread``: the decode on a thread of its own (else on the landmarks thread). ``process``: the mask and
    warp stages in a forked process (:meth:`FrameLoopOptions.process_for`; used when split, ``batch`` is 1 and
    ``frame_shape``, the frames' (height, width), is given). ``switch_s``: Python's thread switch interval while
    the loop runs (:attr:`FrameLoopOptions.switch_interval_s`; None: unchanged).
    """
    if process is not None and (not split_face_stages or pipeline.debug is not None or batch > 1 or frame_shape is None):
        process = None
    with opencv_threads(opencv), switch_interval(switch_s):
        _run_threaded(source, sink, pipeline, timer, batch, progress, write_stage, depth, split_face_stages,
                      decode_thread, process, frame_shape)  # fmt: skip


def _run_threaded(
    source: FrameSource,
    sink: FrameSink,
    pipeline: FramePipeline,
    timer: StageTimer,
    batch: int,
    progress: FrameProgress | None,
    write_stage: str,
    depth: int,
    split_face_stages: bool,
    decode_thread: bool,
    process_options: ProcessOptions | None,
    frame_shape: tuple[int, int] | None,
) -> None:
    stop = threading.Event()
    decoded = _Handoff(depth, stop)
    located = _Handoff(depth, stop)
    split = split_face_stages and pipeline.debug is None  # (the debug writer is not shared between threads)
    prepared = _Handoff(depth, stop) if split else located
    size = max(1, batch)

    def decoded_frames(out: _Handoff, then: Callable[[Any, list[Any]], Any]) -> None:
        """Decode every frame, putting ``then(frame, its audio packets)`` in ``out``, then the end."""
        audio: list[Any] = []
        frames = source.frames(on_packet=audio.append)
        try:
            while True:
                with timer("decode"):
                    frame = next(frames, None)
                if frame is None:
                    break
                packets, audio[:] = list(audio), []
                out.put(then(frame, packets))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        out.put(_End(list(audio)))

    def decode() -> None:
        # (libavcodec's frame threads are named after their codec, not after this thread)
        decoded_frames(decoded, lambda frame, packets: (frame, packets))

    def decode_and_locate() -> None:
        # (MediaPipe's threads and libavcodec's are named after this thread)
        decoded_frames(located, lambda frame, packets: (frame, packets, pipeline.locate(frame.image, frame.time_s)))

    def locate() -> None:
        # (MediaPipe graphs built here start their threads under this thread's name)
        while True:
            item = decoded.get()
            if isinstance(item, (_End, _Failure)):
                located.put(item)
                return
            frame, packets = item
            located.put((frame, packets, pipeline.locate(frame.image, frame.time_s)))

    def prepare() -> None:
        waiting: list[tuple[Any, list[Any], list[Any]]] = []
        while True:
            item = located.get()
            if isinstance(item, _Failure):
                prepared.put(item)
                return
            if isinstance(item, _End) or len(waiting) + 1 >= size:
                if not isinstance(item, _End):
                    waiting.append(item)
                if waiting:
                    ready = pipeline.prepare([f.image for f, _, _ in waiting], [faces for _, _, faces in waiting])
                    prepared.put((list(waiting), ready))
                    waiting.clear()
                if isinstance(item, _End):
                    prepared.put(item)
                    return
            else:
                waiting.append(item)

    child: PrepareProcess | None = None
    sent = _Handoff(depth, stop)

    def send() -> None:
        """Hand each located frame to the prepare process (its faces' boxes into a slot of shared memory)."""
        assert child is not None
        while True:
            item = located.get()
            if not isinstance(item, (_End, _Failure)):
                frame, _, faces = item
                child.submit(frame.image, faces)
            sent.put(item)
            if isinstance(item, (_End, _Failure)):
                return

    def collect() -> None:
        """Take the prepare process's results, in order, as the prepare thread would give them."""
        assert child is not None
        while True:
            item = sent.get()
            if isinstance(item, (_End, _Failure)):
                prepared.put(item)
                return
            prepared.put(([item], child.receive(item[0].image)))

    def thread_for(name: str, out: _Handoff, body: Callable[[], None]) -> threading.Thread:
        return threading.Thread(target=_stage(name, out, body), name=f"unmask-video-{name}", daemon=True)

    workers = [thread_for("landmarks", located, locate)]
    if decode_thread:
        workers.insert(0, thread_for("decode", decoded, decode))
    else:
        workers = [thread_for("landmarks", located, decode_and_locate)]
    if split and process_options is not None and frame_shape is not None and size == 1:
        # (forked before the loop's threads start: none of them is inside a library at the fork)
        child = PrepareProcess(pipeline, frame_shape, process_options, stop)
        workers.append(thread_for("prepare-send", sent, send))
        workers.append(thread_for("prepare-get", prepared, collect))
    elif split:
        workers.append(thread_for("prepare", prepared, prepare))
    try:
        for thread in workers:
            thread.start()
    except BaseException:
        stop.set()
        if child is not None:
            child.close()
        raise
    pending: list[tuple[Any, list[Any], list[Any]]] = []

    def flush(ready: PreparedBatch | None = None) -> None:
        if ready is None:
            outputs = pipeline.rebuild(
                [f.image for f, _, _ in pending], [f.time_s for f, _, _ in pending],
                [faces for _, _, faces in pending], in_place=True,
            )  # fmt: skip
        else:
            outputs = pipeline.finish(ready, in_place=True)
        with timer(write_stage):
            for (frame, packets, _), image, changed in zip(pending, outputs, pipeline.last_changed):
                for packet in packets:
                    sink.mux_packet(packet)
                frame.changed = changed  # the writer converts only these boxes back to YUV
                sink.write(frame, image)
        if progress is not None:
            progress.advance(len(pending))
        pending.clear()

    try:
        while True:
            with timer("input wait"):
                item = prepared.get()
            if isinstance(item, _Failure):
                raise item.error
            if isinstance(item, _End):
                if pending:
                    flush()
                with timer(write_stage):
                    for packet in item.audio:
                        sink.mux_packet(packet)
                break
            if split:
                frames, ready = item
                pending.extend(frames)
                flush(ready)
                continue
            pending.append(item)
            if len(pending) >= size:
                flush()
    finally:
        stop.set()
        for worker in workers:
            if worker.ident is not None:
                worker.join()
        if child is not None:
            child.close()


def _stage(name: str, out: _Handoff, body: Callable[[], None]) -> Callable[[], None]:
    """A worker thread's target: ``body`` under the OS thread name ``name``; a stop ends it quietly, and what it
    raises goes to ``out`` for the calling thread."""

    def run() -> None:
        name_os_thread(name)
        try:
            body()
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 -- handed to the calling thread
            _hand_over(out, exc)

    return run


def _hand_over(handoff: _Handoff, error: BaseException) -> None:
    try:
        handoff.put(_Failure(error))
    except _Stopped:
        log.debug("frame loop stopped; dropped a worker error: %r", error)


__all__ = ["FrameLoopOptions", "opencv_threads", "run_threaded", "usable_cores"]
