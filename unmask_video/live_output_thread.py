"""Live outputs on their own thread: the encoders of the recording and the stream, and the virtual camera,
work on frame N while the processing thread already works on frame N+1.

At most one processed frame waits for the outputs: :meth:`OutputThread.submit` blocks while one is waiting, so
every processed frame reaches every output (none is dropped here; live mode drops frames before processing, at
the capture) and the delay stays bounded. libx264 and swscale release the GIL, so on 2 cores the encoding
overlaps the face stages. An output's error is raised in the processing thread at its next call.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from unmask_video.timing import name_os_thread


class _Output(Protocol):
    def write(self, image: np.ndarray, t: float, *planes: Any) -> None: ...


class OutputThread:
    """Writes each submitted frame to ``outputs`` in order on a worker thread, then calls
    ``on_written(token, started_at)`` there (e.g. to record the frame's delay once every output has it;
    ``started_at``: ``time.perf_counter()`` when the worker took the frame, the end of its wait in the queue)."""

    _STOP = object()

    def __init__(self, outputs: Sequence[_Output], on_written: Callable[[Any, float], None]) -> None:
        self.outputs = list(outputs)
        self.on_written = on_written
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="unmask-video-live-outputs", daemon=True)
        self._thread.start()

    def submit(self, image: np.ndarray, t: float, token: Any, planes: Any = None) -> None:
        """Queue ``image`` (not modified afterwards) for every output at session time ``t`` (with ``planes``, each
        output gets ``write(image, t, planes)``); blocks while a frame is already waiting; raises the error of an
        output that failed on an earlier frame."""
        while True:
            self._raise_error()
            try:
                self._queue.put((image, t, token, planes), timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait until the queued frame is written, stop the worker; raises an output's error."""
        if self._thread.is_alive():
            while self._thread.is_alive():
                try:
                    self._queue.put(self._STOP, timeout=0.1)
                    break
                except queue.Full:
                    continue
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        name_os_thread("outputs")  # an encoder opened on this thread starts its threads under this name
        while True:
            item = self._queue.get()
            if item is self._STOP:
                return
            image, t, token, planes = item
            started = time.perf_counter()
            try:
                for output in self.outputs:
                    if planes is None:
                        output.write(image, t)
                    else:
                        output.write(image, t, planes)
                self.on_written(token, started)
            except BaseException as exc:  # noqa: BLE001 -- handed to the processing thread
                self._error = exc
                return


__all__ = ["OutputThread"]
