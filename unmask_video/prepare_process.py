"""The mask and warp stages (:meth:`FramePipeline.prepare`) in a forked process of their own: the second core.

In the threaded frame loop the mask and warp stages run one frame ahead of reconstruction and blend; on a thread they
share the GIL with the face stages, the landmarks and the encoder's Python side. Here they run in a child forked from
the run's process once the pipeline is ready (its segmenter, warper and their state are the child's copy: the output
is the in-process one, bit for bit), and the frames go there and back through shared memory:

- the parent writes each masked face's box of the frame (nothing else of it is read) into a slot of an anonymous
  shared mapping, made before the fork, at the place it has in the frame, and sends the frame's faces down a pipe;
- the child runs :meth:`FramePipeline.prepare` on the slot's frame-sized view, writes each face's mask, warped
  reference and its validity into the slot's result area and sends their places, boxes, landmarks, the frame counts
  and its stage times back (arrays that do not fit go down the pipe);
- the parent copies the results out (the stages after keep some of them from frame to frame), frees the slot and
  hands on a :class:`PreparedBatch` whose ROIs are views of its own frame, as :meth:`FramePipeline.prepare` makes.

Safety: the child is forked before the loop's own threads start (the pipeline's set-up threads waited for, so no
thread of ours is inside OpenCV at the fork); it ends with its parent (the parent-death signal on Linux, and it
checks its parent every second); an error in the child is raised in the parent (its own exception where it can be
pickled); a child that dies or gives no result within ``timeout_s`` is one line of :class:`ProcessingError`.
Without ``fork`` (Windows; macOS's Python defaults to spawn, fork is still there) the caller keeps the thread.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import mmap
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from unmask_video.errors import ProcessingError
from unmask_video.jaw_outline import JawProfile
from unmask_video.landmarks import face_box
from unmask_video.pipeline import PREPARE_COUNTS, FramePipeline, PreparedBatch
from unmask_video.reference_shade import ReferenceShade
from unmask_video.stages import Box, FaceROI, Image, Loops, WorkFace
from unmask_video.timing import name_os_thread

log = logging.getLogger(__name__)

_POLL_S = 0.05  # how often a wait checks whether the loop was stopped or the child died
_PARENT_CHECK_S = 1.0  # how often an idle child checks that its parent is alive
_ALIGN = 64


@dataclass
class ProcessOptions:
    """How the prepare process runs."""

    #: Frames between the parent and the child at once (each slot: one frame and its faces' results).
    slots: int = 4
    #: Seconds without a result from the child (while it has work) before the run stops with an error.
    timeout_s: float = 300.0
    #: Room per slot for the results, in frames' bytes (a face's mask as float32, reference and validity: at most
    #: 8 bytes per pixel of its box); what does not fit goes down the pipe.
    result_frames: float = 3.0


def fork_available() -> bool:
    """Whether this platform can fork (the prepare process needs the parent's pipeline as it is, not rebuilt)."""
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


@dataclass
class _Array:
    """An array of the result area of a slot: its byte offset, shape and dtype."""

    offset: int
    shape: tuple[int, ...]
    dtype: str


@dataclass
class _Job:
    index: int
    box: Box
    landmarks: np.ndarray
    mask_box: tuple[slice, slice] | None
    arrays: list[_Array | np.ndarray]  # mask, reference, valid: in the slot, or the array itself
    reference_yaw: float | None = None
    #: A face at a working size (``PipelineOptions.work_face_px``): its full-size face without its mask; the
    #: working-size image (not a view of the frame) is the fourth array, the full-size mask the fifth.
    full: WorkFace | None = None
    loops: Loops | None = None  # the mask's ear loops (small: sent down the pipe as they are)
    reference_jaw: JawProfile | None = None
    reference_shade: ReferenceShade | None = None
    reference_lips: np.ndarray | None = None  # (K, 2): small, sent down the pipe as they are


@dataclass
class _Done:
    seq: int
    first_frame: int
    repeats: list[bool]
    tracks: list[int]
    jobs: list[_Job]
    counts: dict[str, int]
    times: dict[str, tuple[float, int]]  # stage -> (seconds, calls) added by this frame


@dataclass
class _Error:
    error: BaseException


class Stopped(Exception):
    """The loop was stopped while a thread waited (on the child, a queue or a slot)."""


class PrepareProcess:
    """A forked child running ``pipeline.prepare`` frame by frame, in order (one frame per call: batch 1)."""

    def __init__(self, pipeline: FramePipeline, frame_shape: tuple[int, int], options: ProcessOptions | None = None,
                 stop: threading.Event | None = None) -> None:  # fmt: skip
        """Fork the child now (call it before starting other threads); ``frame_shape``: (height, width) of the
        frames (a frame of another size goes down the pipe whole); ``stop``: set by the caller to stop waits."""
        self.options = options or ProcessOptions()
        self.pipeline = pipeline
        self._stop = stop or threading.Event()
        height, width = frame_shape
        self._frame_shape = (int(height), int(width), 3)
        self._frame_bytes = _aligned(height * width * 3)
        self._result_bytes = _aligned(int(self.options.result_frames * height * width * 3))
        self._slot_bytes = self._frame_bytes + self._result_bytes
        slots = max(1, self.options.slots)
        self._buffer = mmap.mmap(-1, self._slot_bytes * slots)  # (anonymous, MAP_SHARED: the child sees it)
        self._free = threading.Semaphore(slots)
        self._slots = slots
        self._seq = 0
        self._received = 0
        self._margin = pipeline.options.box_margin
        pipeline.wait_for_reference()  # (no set-up thread of the pipeline's inside OpenCV at the fork)
        context = multiprocessing.get_context("fork")
        self._down_read, self._down = context.Pipe(duplex=False)
        self._up, self._up_write = context.Pipe(duplex=False)
        parent = os.getpid()
        self._process = context.Process(
            target=_child_main, name="unmask-video-prepare", daemon=True,
            args=(pipeline, self._down_read, self._up_write, (self._down, self._up), self._buffer, self._frame_shape,
                  self._frame_bytes, self._slot_bytes, parent),
        )  # fmt: skip
        # The objects alive now out of the cyclic collector's sight in both processes: its full passes write to
        # every object they visit, and each page written after the fork is copied (in the child, in the parent).
        gc.freeze()
        try:
            self._process.start()
        except BaseException:
            gc.unfreeze()
            raise
        self._down_read.close()
        self._up_write.close()
        self._closed = False

    # -- parent side: the sending thread ------------------------------------------------------------------------

    def submit(self, image: Image, faces: list[Any]) -> int:
        """Send one frame's faces (and their boxes' pixels) to the child; waits for a free slot. Its number."""
        while not self._free.acquire(timeout=_POLL_S):
            self._check_waiting()
        seq = self._seq
        self._seq += 1
        slot = seq % self._slots
        whole: np.ndarray | None = None
        if image.shape != self._frame_shape or image.dtype != np.uint8:
            whole = np.ascontiguousarray(image)  # (another size: the frame goes down the pipe)
        elif faces and not all(face.repeat for face in faces):
            view = self._frame_view(slot)
            for face in faces:
                rows, cols = face_box(face.landmarks, image.shape[:2], self._margin).slices
                view[rows, cols] = image[rows, cols]
        try:
            self._down.send((seq, slot, faces, whole))
        except OSError as exc:  # (BrokenPipeError: the child is gone)
            raise ProcessingError(f"the mask and warp process ended unexpectedly before frame {seq + 1}") from exc
        return seq

    # -- parent side: the receiving thread ----------------------------------------------------------------------

    def receive(self, image: Image) -> PreparedBatch:
        """The next frame's prepared batch (frames come back in the order they were sent), its ROIs views of
        ``image`` (the parent's frame); raises the child's error, or :class:`ProcessingError` when it died or gave
        no result within ``timeout_s``."""
        start = time.monotonic()
        while not self._up.poll(_POLL_S):
            if self._stop.is_set():
                raise Stopped
            if not self._process.is_alive() and not self._up.poll(0):
                raise ProcessingError(
                    f"the mask and warp process ended unexpectedly (exit code {self._process.exitcode}) at frame "
                    f"{self._received + 1}"
                )
            if time.monotonic() - start > self.options.timeout_s:
                self._kill()
                raise ProcessingError(
                    f"the mask and warp process gave no result for frame {self._received + 1} in "
                    f"{self.options.timeout_s:.0f} s: stopped it"
                )
        try:
            message = self._up.recv()
        except (EOFError, OSError) as exc:
            self._process.join(timeout=1.0)  # (its pipe closed as it ended: its exit code, where it has one)
            code = self._process.exitcode
            raise ProcessingError(
                f"the mask and warp process ended unexpectedly{'' if code is None else f' (exit code {code})'} at "
                f"frame {self._received + 1}"
            ) from exc
        if isinstance(message, _Error):
            raise message.error
        done: _Done = message
        if done.seq != self._received:  # (never: one pipe, one child, in order)
            raise ProcessingError(f"the mask and warp process answered frame {done.seq + 1} for {self._received + 1}")
        slot = done.seq % self._slots
        try:
            batch = PreparedBatch([image], [], done.first_frame, list(done.repeats), list(done.tracks))
            results = memoryview(self._buffer)[slot * self._slot_bytes + self._frame_bytes : (slot + 1) * self._slot_bytes]
            for job in done.jobs:
                arrays = [
                    a if isinstance(a, np.ndarray)
                    else np.frombuffer(results, a.dtype, int(np.prod(a.shape)), a.offset).reshape(a.shape).copy()
                    for a in job.arrays
                ]  # fmt: skip
                mask, reference, valid = arrays[:3]
                full = None if job.full is None else replace(job.full, mask=arrays[4])
                face = image[job.box.slices] if full is None else arrays[3]
                roi = FaceROI(job.box, face, job.landmarks, mask, reference, valid, job.mask_box, job.reference_yaw,
                              full, job.loops, job.reference_jaw, job.reference_shade, job.reference_lips)  # fmt: skip
                batch.jobs.append((job.index, roi, None))
            del results
        finally:
            self._free.release()
        self._received += 1
        stats = self.pipeline.stats
        for name, value in done.counts.items():
            setattr(stats, name, value)
        timer = self.pipeline.timer
        for stage, (seconds, calls) in done.times.items():
            timer.seconds[stage] += seconds
            timer.calls[stage] += calls
        return batch

    def _frame_view(self, slot: int) -> np.ndarray:
        return np.frombuffer(self._buffer, np.uint8, int(np.prod(self._frame_shape)), slot * self._slot_bytes).reshape(
            self._frame_shape
        )

    def _check_waiting(self) -> None:
        if self._stop.is_set():
            raise Stopped
        if not self._process.is_alive():
            raise ProcessingError(
                f"the mask and warp process ended unexpectedly (exit code {self._process.exitcode}) at frame "
                f"{self._received + 1}"
            )

    # -- ending -------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Tell the child to end, wait a little for it, kill it if it does not; free the shared memory."""
        if self._closed:
            return
        self._closed = True
        try:
            self._down.send(None)
        except (OSError, ValueError):
            pass
        self._process.join(timeout=2.0)
        if self._process.is_alive():
            self._kill()
        self._down.close()
        self._up.close()
        gc.unfreeze()
        try:
            self._buffer.close()
        except BufferError:  # (a view still held somewhere: the mapping goes with the last reference)
            log.debug("prepare process: shared memory still viewed at close")

    def _kill(self) -> None:
        self._process.kill()
        self._process.join(timeout=5.0)

    @property
    def pid(self) -> int | None:
        return self._process.pid


def _aligned(size: int) -> int:
    return (int(size) + _ALIGN - 1) // _ALIGN * _ALIGN


# -- the child ------------------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGKILL to this process when the thread that forked it ends (its parent's)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_main(
    pipeline: FramePipeline,
    down: Connection,
    up: Connection,
    parents_ends: tuple[Connection, Connection],
    buffer: mmap.mmap,
    frame_shape: tuple[int, int, int],
    frame_bytes: int,
    slot_bytes: int,
    parent: int,
) -> None:
    _die_with_parent()
    if os.getppid() != parent:  # (the parent ended before the signal was asked for)
        os._exit(1)
    for end in parents_ends:
        end.close()
    name_os_thread("prepare")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (Ctrl-C is the parent's to handle: it tells this one to end)
    frame_pixels = int(np.prod(frame_shape))
    try:
        while True:
            while not down.poll(_PARENT_CHECK_S):
                if os.getppid() != parent:
                    return
            message = down.recv()
            if message is None:
                return
            seq, slot, faces, whole = message
            image = whole if whole is not None else np.frombuffer(
                buffer, np.uint8, frame_pixels, slot * slot_bytes).reshape(frame_shape)  # fmt: skip
            before = {stage: (pipeline.timer.seconds.get(stage, 0.0), pipeline.timer.calls.get(stage, 0))
                      for stage in list(pipeline.timer.seconds)}  # fmt: skip
            try:
                batch = pipeline.prepare([image], [faces])
            except BaseException as exc:  # noqa: BLE001 -- handed to the parent
                up.send(_Error(_picklable(exc)))
                return
            results = memoryview(buffer)[slot * slot_bytes + frame_bytes : (slot + 1) * slot_bytes]
            offset = 0
            jobs = []
            for index, roi, _ in batch.jobs:
                arrays: list[_Array | np.ndarray] = []
                sent = (roi.mask, roi.reference, roi.valid)
                if roi.full is not None:
                    sent += (roi.image, roi.full.mask)
                for array in sent:
                    array = np.ascontiguousarray(array)
                    if offset + array.nbytes <= len(results):
                        np.frombuffer(results, array.dtype, array.size, offset).reshape(array.shape)[...] = array
                        arrays.append(_Array(offset, array.shape, array.dtype.str))
                        offset = _aligned(offset + array.nbytes)
                    else:
                        arrays.append(array)
                full = None if roi.full is None else replace(roi.full, mask=np.zeros((0, 0), np.float32))
                jobs.append(
                    _Job(index, roi.box, roi.landmarks, roi.mask_box, arrays, roi.reference_yaw, full, roi.loops,
                         roi.reference_jaw, roi.reference_shade, roi.reference_lips)
                )
            del results
            times = {}
            for stage, seconds in pipeline.timer.seconds.items():
                was_s, was_calls = before.get(stage, (0.0, 0))
                if seconds != was_s or pipeline.timer.calls[stage] != was_calls:
                    times[stage] = (seconds - was_s, pipeline.timer.calls[stage] - was_calls)
            counts = {name: getattr(pipeline.stats, name) for name in PREPARE_COUNTS}
            up.send(_Done(seq, batch.first_frame, batch.repeats, batch.tracks, jobs, counts, times))
    except (EOFError, OSError, BrokenPipeError):
        return  # the parent went away


def _picklable(error: BaseException) -> BaseException:
    """``error`` when it survives pickling, else a :class:`ProcessingError` with its one line."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001
        return ProcessingError(f"the mask and warp process failed: {type(error).__name__}: {error}")


__all__ = ["PrepareProcess", "ProcessOptions", "Stopped", "fork_available"]
