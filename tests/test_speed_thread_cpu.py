"""benchmarks.speed's per-thread CPU: each thread's own CPU clock, not its stat's whole 10 ms ticks."""

from __future__ import annotations

import os
import threading
import time

import pytest

from benchmarks.speed import ThreadCpu, _name_this_thread


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
