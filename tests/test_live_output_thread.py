"""Live outputs on their own thread: every frame, in order, to every output; errors reach the processing thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from unmask_video.live_output_thread import OutputThread


class Recorder:
    def __init__(self, name: str, log: list, fail_at: int | None = None, delay_s: float = 0.0) -> None:
        self.name, self.log, self.fail_at, self.delay_s = name, log, fail_at, delay_s
        self.threads: set[str] = set()

    def write(self, image: np.ndarray, t: float) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        if int(image[0, 0]) == self.fail_at:
            raise OSError(f"{self.name} failed at frame {self.fail_at}")
        self.log.append((self.name, int(image[0, 0]), t))


def test_every_frame_reaches_every_output_in_order_then_is_recorded() -> None:
    log: list = []
    first, second = Recorder("a", log, delay_s=0.002), Recorder("b", log)
    worker = OutputThread([first, second], on_written=lambda token, started: log.append(("done", token)))
    for i in range(12):
        worker.submit(np.full((2, 2), i, np.uint8), i / 30, token=i)
    worker.close()
    expected = []
    for i in range(12):
        expected += [("a", i, i / 30), ("b", i, i / 30), ("done", i)]
    assert log == expected
    assert first.threads == second.threads == {"unmask-video-live-outputs"}


def test_at_most_one_frame_waits() -> None:
    log: list = []
    worker = OutputThread([Recorder("slow", log, delay_s=0.05)], on_written=lambda token, started: None)
    start = time.perf_counter()
    for i in range(4):
        worker.submit(np.full((2, 2), i, np.uint8), 0.0, token=i)
    submitted = time.perf_counter() - start
    worker.close()
    assert len(log) == 4
    assert submitted >= 0.09  # the 3rd and 4th submits waited for the outputs (one in progress, one queued)


def test_an_output_error_is_raised_in_the_caller() -> None:
    log: list = []
    worker = OutputThread([Recorder("rec", log, fail_at=3)], on_written=lambda token, started: None)
    with pytest.raises(OSError, match="failed at frame 3"):
        for i in range(50):
            worker.submit(np.full((2, 2), i, np.uint8), 0.0, token=i)
            time.sleep(0.005)
        worker.close()
    worker.close()  # closing after the error is harmless
    assert [frame for _, frame, _ in log] == [0, 1, 2]
