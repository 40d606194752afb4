"""Signals: Ctrl-C, SIGTERM and SIGHUP always end the run, with no temporary file left behind.

:func:`handle_signals` (a context manager, main thread only) makes SIGTERM and SIGHUP (what ``kill``, ``timeout``,
container stops and a closed terminal send) raise :class:`Terminated`, a :class:`KeyboardInterrupt`, so the same
``with`` blocks that clean up after Ctrl-C clean up after them. Python runs signal handlers only between bytecodes:
a thread stuck inside FFmpeg (a read from a pipe nobody writes to) would never see them. So a watchdog thread
listens on the signal wake-up fd; when the process is still running ``grace_s`` after a signal, it removes every
registered temporary file (:data:`unmask_video.io.paths.TEMP_FILES`), says so on stderr and exits
(130 for Ctrl-C, 128 + N for signal N).

:func:`call_interruptibly` runs a blocking call (``av.open`` of a stream, a FIFO, a camera) in a worker thread and
waits for it in a way Ctrl-C interrupts at once, giving up after a timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Callable, Iterator, TypeVar

from unmask_video.io.paths import remove_all_temps

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Signals that end a run (those that exist on this platform).
TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """SIGTERM / SIGHUP: handled like Ctrl-C (cleanup), exit code 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


def exit_code_for(interrupt: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 128 + N for :class:`Terminated` by signal N."""
    return getattr(interrupt, "exit_code", 130)


#: The signal received inside :func:`handle_signals` (None: none yet).
_received: list[int] = []


def _raise_terminated(signum: int, frame: object) -> None:
    _received.append(signum)
    raise Terminated(signum)


def _raise_interrupt(signum: int, frame: object) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def raise_on_termination() -> None:
    """From now on SIGTERM and SIGHUP raise :class:`Terminated` (main thread of a program that owns its process)."""
    if threading.current_thread() is threading.main_thread():
        for sig in TERMINATING:
            signal.signal(sig, _raise_terminated)


class _Watchdog:
    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="unmask-video-signal-watchdog", daemon=True)

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self.read_fd, 16)
            except OSError:
                return
            if not data or self.stopped.is_set():
                return
            signum = data[-1]
            if self.stopped.wait(self.grace_s):
                return
            remove_all_temps()
            name = "interrupted" if signum == signal.SIGINT else f"terminated by {signal.Signals(signum).name}"
            try:
                os.write(2, f"unmask-video: {name}; no unfinished output file was left behind\n".encode())
            finally:
                os._exit(130 if signum == signal.SIGINT else 128 + signum)

    def close(self) -> None:
        self.stopped.set()
        try:
            os.write(self.write_fd, b"\0")
        except OSError:
            pass
        self.thread.join(timeout=1.0)
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


@contextlib.contextmanager
def handle_signals(*, terminate: bool = True, grace_s: float = 5.0) -> Iterator[None]:
    """SIGTERM/SIGHUP raise :class:`Terminated` (``terminate``), plus the watchdog; a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, object] = {}
    _received.clear()
    if terminate:
        for sig in TERMINATING:
            previous[sig] = signal.signal(sig, _raise_terminated)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _raise_interrupt)
    watchdog = _Watchdog(grace_s)
    try:
        old_fd = signal.set_wakeup_fd(watchdog.write_fd, warn_on_full_buffer=False)
    except ValueError:  # pragma: no cover - not the main thread of the main interpreter
        old_fd = None
    if old_fd is not None:
        watchdog.thread.start()
    try:
        yield
    except BaseException as exc:
        # A library may turn the KeyboardInterrupt raised inside it into its own error (an import that was
        # interrupted reads as "not installed"): after a signal, the signal is what ends the run.
        if _received and not isinstance(exc, KeyboardInterrupt):
            signum = _received[0]
            raise (KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)) from exc
        raise
    finally:
        if old_fd is not None:
            signal.set_wakeup_fd(old_fd)
            watchdog.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)  # type: ignore[arg-type]


def call_interruptibly(fn: Callable[[], T], *, timeout_s: float | None, on_abandon: Callable[[T], None] | None = None) -> T:
    """``fn()`` in a worker thread; Ctrl-C interrupts the wait at once; TimeoutError after ``timeout_s``.

    A call given up on (timeout or interrupt) keeps running in its daemon thread; if it returns later,
    ``on_abandon`` gets its result (to close it).
    """
    box: dict[str, object] = {}
    done = threading.Event()
    lock = threading.Lock()
    abandoned = [False]

    def work() -> None:
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        else:
            with lock:
                if abandoned[0]:
                    if on_abandon is not None:
                        with contextlib.suppress(Exception):
                            on_abandon(value)
                    return
                box["value"] = value
        finally:
            done.set()

    thread = threading.Thread(target=work, name="unmask-video-open", daemon=True)
    thread.start()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while not done.wait(0.05):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"no answer within {timeout_s:g} s")
    except BaseException:
        with lock:
            abandoned[0] = True
            value = box.pop("value", None)
        if value is not None and on_abandon is not None:
            with contextlib.suppress(Exception):
                on_abandon(value)  # type: ignore[arg-type]
        raise
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


