"""Live mode's landmarks one frame ahead: the next frame's landmarks (with a pipeline, its mask and warp too) run on
a thread of their own while the processing thread runs the current frame's remaining face stages.

One worker thread takes the newest captured frame, converts it to RGB and runs the landmarks on it, then holds
it in a slot of one frame until the processing thread takes it. It starts the next frame only once the slot is
taken, so at most one frame is located ahead and none queue up: frames that arrive meanwhile are dropped by the
capture (it holds only the newest one), and the frame located next is the newest there is. With ``pace`` the
worker also waits, after the slot is taken, about as long as the face stages take minus its own time (both
measured as moving averages), so that its frame is as fresh as it can be when the processing thread needs it
(throughput without adding delay). Frames come out in capture order (one worker, taking frames in order).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from unmask_video.timing import name_os_thread

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_MARGIN_S = 0.004  # the worker aims to be done this long before the processing thread asks
_SMOOTH = 0.2  # weight of the newest sample in the moving averages


@dataclass
class Ahead(Generic[T, R]):
    """A frame located ahead: what ``take`` gave, what ``locate`` made of it, when locating started."""

    item: T
    result: R
    started_at: float  # time.perf_counter() when the worker took the frame
    located_at: float = 0.0  # time.perf_counter() when ``locate`` was done (0: not known)


class LandmarksAhead(Generic[T, R]):
    """Runs ``locate`` on the frames ``take`` gives (the newest one, or None after a timeout) one frame ahead.

    ``take(timeout)`` returns the newest frame not yet taken or None; ``ended()`` says no frame will come any
    more. :meth:`get` returns the located frames in order; an error in ``locate`` is raised there.
    """

    def __init__(
        self,
        take: Callable[[float], T | None],
        locate: Callable[[T], R],
        ended: Callable[[], bool],
        pace: bool = True,
    ) -> None:
        self._take = take
        self._locate = locate
        self._ended = ended
        self.pace = pace
        self._cond = threading.Condition()
        self._slot: Ahead[T, R] | None = None
        self._want = True  # the slot is free and the worker may fill it
        self._taken_at = time.perf_counter()
        self._stop = False
        self._error: BaseException | None = None
        self.finished = False  # the source ended and every located frame was taken
        self.locate_s: float | None = None  # moving average of the worker's time per frame
        self.busy_s: float | None = None  # moving average of the processing thread's time between two takes
        self._last_get: float | None = None
        self._thread = threading.Thread(target=self._work, name="unmask-video-live-landmarks", daemon=True)

    def start(self) -> "LandmarksAhead[T, R]":
        self._thread.start()
        return self

    def get(self, timeout: float) -> Ahead[T, R] | None:
        """The next located frame, waiting up to ``timeout`` s; None when none is ready (see :attr:`finished`)."""
        now = time.perf_counter()
        with self._cond:
            if self._last_get is not None:
                self.busy_s = _average(self.busy_s, now - self._last_get)
            if self._slot is None and self._error is None and not self.finished:
                self._cond.wait(timeout)
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            item, self._slot = self._slot, None
            if item is not None:
                self._want = True
                self._taken_at = time.perf_counter()
                self._cond.notify_all()
            self._last_get = time.perf_counter() if item is not None else None
            return item

    def close(self) -> None:
        """Stop the worker and wait for it (it gives up within one ``take`` timeout)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _lead_s(self) -> float:
        """How long to wait after the slot was taken before taking the next frame."""
        if not self.pace or self.busy_s is None or self.locate_s is None:
            return 0.0
        return max(0.0, self.busy_s - self.locate_s - _MARGIN_S)

    def _work(self) -> None:
        name_os_thread("landmarks")  # MediaPipe's native threads started from here carry this name
        try:
            while True:
                with self._cond:
                    while not self._want and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    until = self._taken_at + self._lead_s()
                    while not self._stop and time.perf_counter() < until:
                        self._cond.wait(until - time.perf_counter())
                    if self._stop:
                        return
                item = self._take(0.05)
                if item is None:
                    if self._ended():
                        with self._cond:
                            self.finished = True
                            self._cond.notify_all()
                        return
                    continue
                started = time.perf_counter()
                result = self._locate(item)
                located = time.perf_counter()
                self.locate_s = _average(self.locate_s, located - started)
                with self._cond:
                    self._slot = Ahead(item, result, started, located)
                    self._want = False
                    self._cond.notify_all()
        except BaseException as error:  # noqa: BLE001 - raised in the processing thread by get()
            with self._cond:
                self._error = error
                self._cond.notify_all()


def _average(current: float | None, sample: float) -> float:
    return sample if current is None else (1.0 - _SMOOTH) * current + _SMOOTH * sample


__all__ = ["Ahead", "LandmarksAhead"]
