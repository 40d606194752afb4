"""The ear loops looked for on a thread of their own, beside the warp and the reconstruction.

A face's loops (:class:`~unmask_video.ear_loops.EarLoops`) are read off its ROI and its mask, and used only after
the rebuilt face is blended (they are filled then): nothing between the mask and the blend needs them. Live mode
runs the frame's stages one after the other on its critical path (landmarks, mask, loops, warp on the worker, then
reconstruction and blend), so the loops' search and follow (a few ms a face, more on a full search's frames) add to
every frame's delay. Here they run on one thread of their own while the warp and the reconstruction run, and the
blend waits for them: the same loops, off the frame's chain.

Every call of the tracks' :class:`EarLoops` goes through the one thread in the order it is made (a track's reset
after the finds before it), so their per-track state sees what it saw before. The ROI image and mask a find reads
must not be written until its loops are taken (the blend writes the frame only after that).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import numpy as np

from unmask_video.ear_loops import EarLoops
from unmask_video.stages import Box, Image, Loops
from unmask_video.timing import StageTimer, name_os_thread

log = logging.getLogger(__name__)

T = TypeVar("T")


class EarLoopsApart:
    """:class:`EarLoops` calls run in order on a thread of their own (started on first use)."""

    def __init__(self, loops: EarLoops, timer: StageTimer) -> None:
        self.loops = loops
        self.timer = timer
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0  # the process that started the pool's thread

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        if self._pool is None or self._pid != os.getpid():
            # (not a daemon: joined at exit, never left inside OpenCV while the interpreter finalizes; a forked
            # process, :mod:`unmask_video.prepare_process`, has none of its parent's threads: it starts its own)
            self._pool = ThreadPoolExecutor(1, "unmask-video-loops", initializer=name_os_thread, initargs=("loops",))
            self._pid = os.getpid()
        return self._pool.submit(fn, *args)

    def find(
        self, image: Image, landmarks: np.ndarray, mask: np.ndarray, track: int, box: Box
    ) -> Future[Loops | None]:
        """:meth:`EarLoops.find` on the thread: its loops (or None) later, from the returned future."""
        return self._submit(self._find, image, landmarks, mask, track, box)

    def _find(self, image: Image, landmarks: np.ndarray, mask: np.ndarray, track: int, box: Box) -> Loops | None:
        with self.timer("loops"):
            return self.loops.find(image, landmarks, mask, track, box)

    def reset(self, track: int) -> None:
        """:meth:`EarLoops.reset` on the thread, after the finds asked for before it."""
        self._submit(self.loops.reset, track)

    def close(self) -> None:
        """Wait for what was asked and end the thread."""
        if self._pool is not None and self._pid == os.getpid():
            self._pool.shutdown(wait=True)
        self._pool = None


__all__ = ["EarLoopsApart"]
