"""BackgroundCall: a set-up call on a thread of its own, its result or error taken later."""

from __future__ import annotations

import threading

import pytest

from unmask_video.background import BackgroundCall


def test_the_result_is_the_calls_value_and_it_ran_on_another_thread() -> None:
    ran_on: list[str] = []

    def work() -> int:
        ran_on.append(threading.current_thread().name)
        return 42

    call = BackgroundCall(work, "test")
    assert call.result() == 42 and call.result() == 42
    assert call.done()
    assert ran_on == ["unmask-video-test"]


def test_the_calls_error_is_raised_by_result_each_time_not_by_wait() -> None:
    def fail() -> int:
        raise ValueError("no face")

    call = BackgroundCall(fail, "test")
    call.wait()  # (waits, raises nothing)
    for _ in range(2):
        with pytest.raises(ValueError, match="no face"):
            call.result()


def test_result_waits_for_the_call() -> None:
    release = threading.Event()
    call = BackgroundCall(lambda: release.wait(5.0), "test")
    assert not call.done()
    release.set()
    assert call.result() is True
