"""One call run on a thread of its own, its result (or error) taken later: set-up work overlapping other work."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

from unmask_video.timing import name_os_thread

T = TypeVar("T")


class BackgroundCall(Generic[T]):
    """``fn()`` started on a daemon thread at construction; :meth:`result` waits for it and returns its value, or
    raises the error it raised (each time it is asked)."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        """``name``: the thread's name (``unmask-video-NAME``; its OS name too, :func:`timing.name_os_thread`)."""
        self._fn = fn
        self._name = name
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"unmask-video-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        name_os_thread(self._name)
        try:
            self._value = self._fn()
        except BaseException as exc:  # noqa: BLE001 -- raised by result()
            self._error = exc
        finally:
            self._fn = None  # type: ignore[assignment]  # (what it held is released once it is done)

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def wait(self) -> None:
        """Wait for the call to end, whatever it gave (its error stays for :meth:`result`)."""
        self._thread.join()


__all__ = ["BackgroundCall"]
