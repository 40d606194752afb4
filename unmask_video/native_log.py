"""Keep MediaPipe's native (glog / TensorFlow Lite) start-up chatter off the user's terminal.

MediaPipe writes warnings such as "Feedback manager requires a model with a single signature" straight to file
descriptor 2 when a FaceMesh graph starts, where Python's logging cannot filter them. They say nothing a user can act
on, so the graph's construction and first calls run with fd 2 pointed at /dev/null. Errors still reach Python as
exceptions.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (a no-op where it cannot be done)."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
