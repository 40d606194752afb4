"""One batch worker: the pipeline's heavy parts (reconstructor, FaceMesh tracker) built once, then one video after
another through the file-mode runner, each failure kept to its own video."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from unmask_video.batch.manifest import Job
from unmask_video.batch.report import FAILED, OK, VideoResult
from unmask_video.errors import UnmaskError
from unmask_video.landmarks import FaceTracker
from unmask_video.reconstruct.factory import build_reconstructor
from unmask_video.runner import PipelineParts, RunOptions, run_file

log = logging.getLogger(__name__)


@dataclass
class WorkerProgress:
    """A snapshot of one worker, read by the progress display while the worker runs."""

    worker: int
    pid: int
    video: str | None = None  # the input being processed (None: idle)
    frames_done: int = 0  # frames of the current video
    frames_total: int | None = None  # frame count of the current video, when the container says
    frames_all: int = 0  # frames of every video this worker processed
    busy_s: float = 0.0  # seconds spent on finished videos

    def fps(self, now: float, started: float | None) -> float:
        busy = self.busy_s + (now - started if started is not None and self.video else 0.0)
        return self.frames_all / busy if busy > 0 else 0.0


@dataclass
class Task:
    """A job as sent to a worker: the video, its fingerprint, whether its output may be replaced, which try."""

    job: Job
    fingerprint: str
    replace: bool = False
    attempt: int = 1


def limit_threads(threads: int) -> None:
    """Keep OpenCV's and torch's thread pools to ``threads``: several workers on one machine would otherwise each
    start a pool as large as the machine and fight over its cores. torch is limited only when already imported."""
    import cv2

    cv2.setNumThreads(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


class VideoWorker:
    """Processes videos with one reconstructor and one tracker for all of them (call :meth:`setup` first)."""

    def __init__(self, template: RunOptions, worker: int = 0, threads: int | None = None) -> None:
        self.template = template
        self.threads = threads  # CPU threads for OpenCV and torch (None: their defaults, all cores)
        self.parts: PipelineParts | None = None
        self._lock = threading.Lock()
        self._progress = WorkerProgress(worker=worker, pid=os.getpid())
        self._started: float | None = None

    def setup(self) -> None:
        """Load the models and FaceMesh; raises :class:`UnmaskError` for options no video can run with."""
        if self.parts is None:
            if self.threads:
                limit_threads(self.threads)
            reconstructor = build_reconstructor(self.template.reconstructor)
            reconstructor.warmup()
            if self.threads:
                limit_threads(self.threads)  # (again: building the reconstructor may have imported torch)
            self.parts = PipelineParts(reconstructor, FaceTracker(self.template.pipeline.tracker))

    def progress(self) -> tuple[WorkerProgress, float]:
        """(a copy of the worker's progress, seconds into its current video)."""
        with self._lock:
            elapsed = time.monotonic() - self._started if self._started is not None else 0.0
            return dataclasses.replace(self._progress), elapsed

    def process(self, task: Task) -> VideoResult:
        """Run one video; every error becomes a ``failed`` result with a one-line message."""
        self.setup()
        assert self.parts is not None
        job = task.job
        options = dataclasses.replace(
            self.template,
            input=str(job.input),
            output=str(job.output),
            reference=str(job.reference),
            quiet=True,
            overwrite=task.replace,
            # A worker given its share of the cores (Ray's, beside others) keeps the mask and warp stages in its own
            # process: a forked one would take another worker's core, and a Ray worker's gRPC threads make fork unsafe.
            loop=dataclasses.replace(self.template.loop, prepare_process=False) if self.threads else self.template.loop,
        )
        result = VideoResult(
            input=str(job.input),
            output=str(job.output),
            status=FAILED,
            fingerprint=task.fingerprint,
            attempts=task.attempt,
            worker=self._progress.worker,
        )
        with self._lock:
            self._progress.video, self._progress.frames_done, self._progress.frames_total = str(job.input), 0, None
            self._started = time.monotonic()
        start = time.perf_counter()
        try:
            summary = run_file(options, self.parts, progress=self._sink)
        except UnmaskError as exc:
            result.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one video's bug must not stop the batch
            log.debug("video %s failed", job.input, exc_info=True)
            result.error = f"internal error: {type(exc).__name__}: {exc}"
        else:
            result.frames, result.frames_with_face = summary.frames, summary.frames_with_face
            result.fps = round(summary.fps, 2)
            result.output_size = Path(summary.output).stat().st_size
            if summary.damage:
                result.error = (
                    f"the input is damaged ({summary.damage}): {summary.frames} frames decoded; "
                    f"the output holds the frames that decoded"
                )
            else:
                result.status = OK
        result.seconds = round(time.perf_counter() - start, 3)
        with self._lock:
            self._progress.busy_s += time.monotonic() - (self._started or time.monotonic())
            self._progress.video, self._started = None, None
        return result

    def close(self) -> None:
        if self.parts is not None:
            self.parts.tracker.close()
            self.parts = None

    @contextmanager
    def _sink(self, total: int | None) -> Iterator["VideoWorker"]:
        with self._lock:
            self._progress.frames_total = total
        yield self

    def advance(self, frames: int) -> None:
        with self._lock:
            self._progress.frames_done += frames
            self._progress.frames_all += frames
