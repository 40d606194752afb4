"""benchmarks.speed's CPU accounting: each thread's own CPU clock (not its stat's whole 10 ms ticks); the CPU per frame
after the run's start."""

from __future__ import annotations

import os
import threading
import time

import pytest

from benchmarks import speed
from benchmarks.speed import STEADY_FROM, FirstFrame, Measured, Result, ThreadCpu, _name_this_thread


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the threads of /proc/self/task (Linux)")
def test_a_threads_cpu_is_counted_in_its_group_to_the_millisecond() -> None:
    burnt: list[float] = []
    done, leave = threading.Event(), threading.Event()

    def work() -> None:
        _name_this_thread("encode")
        start = time.thread_time()
        while time.thread_time() - start < 0.025:  # 25 ms of CPU: 2.5 of the stat's ticks
            sum(range(1000))
        burnt.append(time.thread_time() - start)
        done.set()
        leave.wait(5.0)  # (alive at the last poll: nothing of it is lost to a thread that ended)

    with ThreadCpu() as threads:
        worker = threading.Thread(target=work)
        worker.start()
        assert done.wait(10.0)
    leave.set()
    worker.join()
    assert abs(threads.groups["encode"] - burnt[0]) < 0.002


def test_the_steady_cpu_starts_where_the_tenth_frame_was_handed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([1.0, 2.0, 3.0, 4.0, 5.0])
    monkeypatch.setattr(speed, "_cpu_s", lambda: next(clock))
    first = FirstFrame()
    for _ in range(STEADY_FROM - 1):
        first.advance(1)
    assert first.steady_mark is None
    first.advance(2)  # (a batch: the mark counts the frames written by then)
    assert first.steady_mark is not None and first.steady_mark[0] == 1.0 and first.steady_mark[2] == STEADY_FROM + 1
    summary = Measured(frames=60, frames_with_face=60, fps=10.0, stages={})
    result = Result(summary, True, cpu_s=6.0, groups={"face": 2.0}, steady_cpu_s=4.0, steady_frames=50)
    assert result.cpu_ms() == pytest.approx(100.0) and result.steady_cpu_ms() == pytest.approx(80.0)
    assert result.free_fps() == pytest.approx(20.0) and result.steady_free_fps() == pytest.approx(25.0)
    assert Result(summary, True, 6.0, {}).steady_free_fps() is None
