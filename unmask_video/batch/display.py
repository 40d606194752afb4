"""What a batch shows: one live display over videos and frames with a line per worker (its video and fps), and a
summary table at the end. :class:`Observer` is what the executors report to; :class:`NullObserver` shows nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol, Sequence

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from unmask_video.batch.report import FAILED, OK, SKIPPED, VideoResult
from unmask_video.batch.worker import Task, WorkerProgress

#: Failed videos listed in the summary (the report has them all).
MAX_LISTED_FAILURES = 20
STARTING = "starting the workers: models load once per worker"


class Observer(Protocol):
    def workers(self, count: int) -> None: ...

    def started(self, task: Task) -> None: ...

    def update(self, snapshots: Sequence[tuple[WorkerProgress, float]]) -> None: ...

    def finished(self, result: VideoResult) -> None: ...


class NullObserver:
    def workers(self, count: int) -> None:
        pass

    def started(self, task: Task) -> None:
        pass

    def update(self, snapshots: Sequence[tuple[WorkerProgress, float]]) -> None:
        pass

    def finished(self, result: VideoResult) -> None:
        pass


class BatchDisplay:
    """The live display (rich, on stderr): videos done, frames and fps overall, and each worker's video and fps."""

    def __init__(self, videos: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._ready = False  # the workers have started and loaded their models
        self._videos = self._progress.add_task("videos", total=videos, info=STARTING)
        self._frames = self._progress.add_task("frames", total=None, info="")
        self._worker_tasks: dict[int, TaskID] = {}
        self._done: dict[str, int] = {OK: 0, FAILED: 0, SKIPPED: 0}
        self._frames_finished = 0  # frames of finished videos
        self._current: dict[int, int] = {}  # worker -> frames of its current video
        self._start = time.monotonic()
        self.last: dict[int, WorkerProgress] = {}

    def __enter__(self) -> "BatchDisplay":
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def workers(self, count: int) -> None:
        with self._lock:
            self._ready = True
            self._progress.update(self._videos, info=self._counts())
            for worker in range(count):
                if worker not in self._worker_tasks:
                    self._worker_tasks[worker] = self._progress.add_task(f"worker {worker + 1}", total=None, info="idle")

    def started(self, task: Task) -> None:
        pass

    def update(self, snapshots: Sequence[tuple[WorkerProgress, float]]) -> None:
        now = time.monotonic()
        with self._lock:
            for snap, elapsed in snapshots:
                self.last[snap.worker] = snap
                if snap.worker not in self._worker_tasks:
                    continue
                self._current[snap.worker] = snap.frames_done if snap.video else 0
                fps = snap.fps(now, now - elapsed)
                name = Path(snap.video).name if snap.video else "idle"
                self._progress.update(
                    self._worker_tasks[snap.worker],
                    completed=snap.frames_done,
                    # (an unknown count shows as the frames done: rich keeps the old total when given None)
                    total=snap.frames_total if snap.frames_total is not None else snap.frames_done,
                    info=f"{fps:5.1f} fps  {name}",
                )
            self._refresh_frames(now)

    def finished(self, result: VideoResult) -> None:
        with self._lock:
            self._done[result.status] = self._done.get(result.status, 0) + 1
            if result.status != SKIPPED:
                self._frames_finished += result.frames
            if result.worker is not None:
                self._current[result.worker] = 0
            self._progress.update(self._videos, advance=1, info=self._counts())
            self._refresh_frames(time.monotonic())

    def _counts(self) -> str:
        counts = f"ok {self._done[OK]}  failed {self._done[FAILED]}  skipped {self._done[SKIPPED]}"
        return counts if self._ready else f"{counts}  ({STARTING})"

    def _refresh_frames(self, now: float) -> None:
        frames = self._frames_finished + sum(self._current.values())
        fps = frames / (now - self._start) if now > self._start else 0.0
        self._progress.update(self._frames, completed=frames, info=f"{fps:5.1f} fps")


def summary_table(results: Sequence[VideoResult], seconds: float, workers: dict[int, WorkerProgress]) -> Group:
    """Totals, each worker's speed, and the failed videos with their errors."""
    count = {s: sum(r.status == s for r in results) for s in (OK, FAILED, SKIPPED)}
    ran = [r for r in results if r.status != SKIPPED]
    frames = sum(r.frames for r in ran)
    table = Table(title="unmask-video batch", show_header=True, header_style="bold")
    table.add_column("", style="bold")
    table.add_column("value", justify="right")
    table.add_row("videos", str(len(results)))
    table.add_row("  ok / failed / skipped", f"{count[OK]} / {count[FAILED]} / {count[SKIPPED]}")
    table.add_row("frames processed", str(frames))
    table.add_row("frames with a face", str(sum(r.frames_with_face for r in ran)))
    table.add_row("wall time", f"{seconds:.1f} s ({frames / seconds if seconds > 0 else 0.0:.1f} fps overall)")
    for worker in sorted(workers):
        snap = workers[worker]
        fps = snap.frames_all / snap.busy_s if snap.busy_s > 0 else 0.0
        table.add_row(f"  worker {worker + 1}", f"{snap.frames_all} frames, {fps:.1f} fps")
    parts: list[Table] = [table]
    failed = [r for r in results if r.status == FAILED]
    if failed:
        errors = Table(title="failed videos", show_header=True, header_style="bold")
        errors.add_column("input")
        errors.add_column("error", overflow="fold")
        for r in failed[:MAX_LISTED_FAILURES]:
            errors.add_row(Path(r.input).name, r.error or "")
        if len(failed) > MAX_LISTED_FAILURES:
            errors.add_row("...", f"and {len(failed) - MAX_LISTED_FAILURES} more in the report")
        parts.append(errors)
    return Group(*parts)
