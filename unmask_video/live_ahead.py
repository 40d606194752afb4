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

import numpy as np
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

    def stop(self) -> Ahead[T, R] | None:
        """Stop the worker (it finishes the frame it is on) and return the located frame nobody took, if any; an
        error of the worker's is raised here."""
        self.close()
        with self._cond:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            item, self._slot = self._slot, None
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


@dataclass
class AheadChoice:
    """How live mode chooses between the worker ahead and every stage in turn, by measuring both in the session.

    The worker ahead gives more frames where a core is idle for it, but where the cores are taken (by the call app,
    by other programs) the two Python-heavy threads wait for each other and for the GIL, and every frame's stages
    take longer than in turn: on the project's loaded 2-core machine the serial loop had 0.4-0.7x the pipelined
    p95 delay at 640x480 at about the same fps (benchmarks/README.md, livedelay). The session starts ahead; after
    a window of frames it tries the other way for one window, keeps the one with the lower delay (the serial way
    only when it is at least ``margin`` better in delay and loses less than that in fps), holds it for
    ``hold_windows`` windows, then tries the other way again.
    """

    window_frames: int = 45  # frames measured per window (about 1.5-3 s)
    settle_frames: int = 5  # frames after a switch that are not measured (the worker's slot filling or emptying)
    hold_windows: int = 6  # windows in the chosen way before the other is tried again
    margin: float = 0.9


@dataclass
class _Window:
    delay_s: float  # 90th percentile of the frames' decode-to-processed times
    fps: float


class AheadChooser:
    """Measures the frames of each way (:class:`AheadChoice`) and says which way the next frame goes."""

    def __init__(self, choice: AheadChoice | None = None) -> None:
        self.choice = choice or AheadChoice()
        self.ahead = True  # the way the next frames go
        self._chosen = True  # the way kept between tries
        self._trying = False  # this window tries the other way
        self._held = 0  # windows measured in the chosen way since the last try
        self._skip = self.choice.settle_frames
        self._delays: list[float] = []
        self._times: list[float] = []
        self.last: dict[bool, _Window] = {}  # the last window measured each way
        self.switches = 0

    def record(self, captured_at: float, processed_at: float) -> None:
        """One processed frame (``time.perf_counter()`` marks) of the way :attr:`ahead` says."""
        if self._skip > 0:
            self._skip -= 1
            return
        self._delays.append(processed_at - captured_at)
        self._times.append(processed_at)
        if len(self._delays) < self.choice.window_frames:
            return
        span = self._times[-1] - self._times[0]
        fps = (len(self._times) - 1) / span if span > 0 else 0.0
        self.last[self.ahead] = _Window(float(np.percentile(self._delays, 90)), fps)
        self._delays, self._times = [], []
        self._next()

    def _next(self) -> None:
        if self._trying:  # both ways measured: keep the better
            self._trying = False
            self._chosen = self._better()
            self._held = 0
        else:
            self._held += 1
            if self._held >= self.choice.hold_windows or (self._held == 1 and len(self.last) < 2):
                self._trying = True
        ahead = (not self._chosen) if self._trying else self._chosen
        if ahead != self.ahead:
            self.ahead = ahead
            self.switches += 1
            self._skip = self.choice.settle_frames
            log.debug("live: %s", "the worker ahead" if ahead else "every stage in turn")

    def _better(self) -> bool:
        """True: the worker ahead (see :class:`AheadChoice`)."""
        ahead, serial = self.last.get(True), self.last.get(False)
        if ahead is None or serial is None:
            return True
        margin = self.choice.margin
        return not (serial.delay_s <= margin * ahead.delay_s and serial.fps >= margin * ahead.fps)


def _average(current: float | None, sample: float) -> float:
    return sample if current is None else (1.0 - _SMOOTH) * current + _SMOOTH * sample


__all__ = ["Ahead", "AheadChoice", "AheadChooser", "LandmarksAhead"]
