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


def test_a_process_that_exits_while_the_warper_is_set_up_exits_with_its_own_status() -> None:
    """The warper's set-up thread (``FramePipeline``) still running when the process exits (an error or a signal before
    the pipeline was closed): the exit waits for it instead of aborting (a daemon thread inside OpenCV at the
    interpreter's exit: SIGABRT, status 134)."""
    import subprocess
    import sys

    script = (
        "import sys, cv2\n"
        "from skimage.data import astronaut\n"
        "from unmask_video.pipeline import FramePipeline\n"
        "from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor\n"
        "image = cv2.resize(astronaut(), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # (a long set-up)\n"
        "FramePipeline(image, build_reconstructor(ReconstructorOptions(generator='none')))\n"
        "sys.exit(3)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 3, run.stderr[-800:]
