"""Per-thread scratch arrays for the composite's region-sized temporaries (kept from one face to the next).

A fresh array of a face region's size is new memory from the system: a page fault on every 4 KiB written, which on
this project's machine costs about 3.5 us of CPU (glibc hands arrays over 128 KiB to the system and back; about 1300
faults, 4-5 ms, for the fade beside the jaw of one 1080p face alone). The composite's fields, blurs and distance maps
are used and dropped within one call: written into buffers kept per name and thread, they fault once.
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["scratch"]


class _ScratchArrays(threading.local):
    """Per thread: the buffers :func:`scratch` hands out, by name."""

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}


_SCRATCH = _ScratchArrays()


def scratch(name: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` (float32 by default; contents undefined, contiguous) in memory kept from one
    call to the next (one buffer per ``name`` and thread, grown as needed). Whoever asks for a name owns it until the
    next request for that name: a caller never hands one out of the call that asked for it."""
    n = math.prod(shape)  # (numpy's prod of a tuple costs more than the rest of this call)
    buffer = _SCRATCH.buffers.get(name)
    if buffer is None or buffer.size < n or buffer.dtype != dtype:
        buffer = _SCRATCH.buffers[name] = np.empty(n + n // 4, dtype)  # (some room for the next, larger face)
    return buffer[:n].reshape(shape)
