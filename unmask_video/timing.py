"""Per-stage time accounting (wall clock by default), shared by the command's summary and the benchmarks."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Prefix of the OS-level names given by :func:`name_os_thread` (profilers and /proc show them).
OS_THREAD_PREFIX = "uv-"


@dataclass
class StageTimer:
    """Accumulates seconds and call counts per named stage."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: What a stage's seconds are read from: the wall clock, or e.g. ``time.thread_time`` (the calling thread's CPU
    #: time, which a shared machine's load does not inflate).
    clock: Callable[[], float] = time.perf_counter

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = self.clock()
        try:
            yield
        finally:
            self.seconds[stage] += self.clock() - start
            self.calls[stage] += 1

    def wrap(self, stage: str, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` with every call's time counted in ``stage`` (a benchmark patches a module's function with it; a
        call inside another wrapped one counts in both)."""

        def timed(*args: Any, **kwargs: Any) -> T:
            with self(stage):
                return fn(*args, **kwargs)

        return timed

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds
        self.calls[stage] += 1

    def ms_per(self, stage: str, count: int) -> float:
        """Milliseconds spent in ``stage`` per unit of ``count`` (for example per frame)."""
        return 1000.0 * self.seconds.get(stage, 0.0) / max(count, 1)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def _comm_path() -> str:
    return f"/proc/self/task/{threading.get_native_id()}/comm"


def name_os_thread(name: str) -> None:
    """Give the calling thread an OS-level name, ``OS_THREAD_PREFIX + name`` cut to 15 bytes (Linux:
    /proc/self/task/<tid>/comm; a no-op where that does not exist).

    Python's thread names stay inside Python; native threads inherit the OS name of the thread that starts
    them (x264's threads that of the thread that opens the encoder, OpenCV's pool that of the thread whose
    call first runs in parallel, MediaPipe's that of the thread that builds a graph), so naming our threads
    lets a profiler or ``benchmarks.speed`` tell whose work each native thread does.
    """
    try:
        with open(_comm_path(), "w") as comm:
            comm.write((OS_THREAD_PREFIX + name)[:15])
    except OSError as exc:  # not Linux, or /proc not writable: only the names are lost
        log.debug("could not name the OS thread %r: %s", name, exc)


@contextmanager
def os_thread_named(name: str) -> Iterator[None]:
    """The calling thread carries the OS name ``name`` (:func:`name_os_thread`) inside the block, its own name
    again after it: native threads started inside the block (a MediaPipe graph's) are named after ``name``."""
    try:
        with open(_comm_path()) as comm:
            before: str | None = comm.read().strip()
    except OSError:
        before = None
    name_os_thread(name)
    try:
        yield
    finally:
        if before is not None:
            try:
                with open(_comm_path(), "w") as comm:
                    comm.write(before)
            except OSError:
                pass
