"""The composite's per-face averages over frames: its colour correction (the shift and the smooth field), the cloth's
bleed, and the colours the cloth's fringe is told by, held between the frames that read them.

Each is kept in a :class:`~unmask_video.reconstruct.face_history.FaceHistory` (a face is matched to the last frame's
by position) and handed to a frame's rebuild as a function that takes this frame's value and returns the average.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from unmask_video.reconstruct.cloth_bleed import Medians
from unmask_video.reconstruct.face_history import FaceHistory, FieldFilter, Located
from unmask_video.reconstruct.skin_grain import FrameGrain
from unmask_video.stages import FaceROI

if TYPE_CHECKING:
    from unmask_video.reconstruct.composite import CompositeOptions

__all__ = ["FaceAverages"]


class FaceAverages:
    """Per face, the composite's colour correction, cloth bleed and fringe colours, averaged or held over frames."""

    def __init__(self, options: CompositeOptions) -> None:
        self.options = options
        #: Per face of the last frame: its smoothed colour correction.
        self.history: FaceHistory[np.ndarray] = FaceHistory()
        #: Per face: the cloth's bleed (:attr:`CompositeOptions.bleed`), as a share of its reach, averaged over frames.
        self.bleeds: FaceHistory[float] = FaceHistory()
        #: Per face: the skin's and the cloth's colours the fringe is told by (:attr:`CompositeOptions.fringe`), read
        #: where the colour fields are measured and held between (a 1-tuple: a read that found none holds None).
        self.fringes: FaceHistory[tuple[Medians | None]] = FaceHistory()
        #: Per face: the frame skin's band amplitudes (:attr:`CompositeOptions.grain_refresh`) as last read (None: too
        #: little skin) and how many reads of them have been asked for since (a list: changed in place).
        self.grains: FaceHistory[list] = FaceHistory()

    def colour(
        self, face: FaceROI, steps: int = 1
    ) -> tuple[Callable[[np.ndarray], np.ndarray] | None, FieldFilter | None]:
        """(shift filter, field filter): temporal averages of this face's colour correction (the face is
        matched to the last frame's by position). The field is averaged on a coarse grid over the
        region, so only its slow, smooth part is held back. ``steps``: the frames since the last one that went through
        them (the fields reused on those between, :attr:`CompositeOptions.field_refresh`): the past weighs as much as
        it would have after as many frames measured alike."""
        weight = self.options.color_smoothing ** max(steps, 1)
        if weight <= 0:
            return None, None
        centre = face.landmarks.mean(axis=0) + np.array([face.box.x0, face.box.y0], np.float32)
        size = float(np.ptp(face.landmarks[:, 0]))
        previous = self.history.take(centre, size)

        def smooth_shift(measured: np.ndarray) -> np.ndarray:
            shift = measured if previous is None or previous.shape != measured.shape else weight * previous + (1.0 - weight) * measured
            self.history.put(centre, size, shift.astype(np.float32))
            return shift

        return smooth_shift, FieldFilter(self.history, centre, size, weight, previous)

    def bleed(self, located: Located) -> Callable[[float | None], float]:
        """The face's cloth bleed averaged over its frames: called with this frame's (a share of the reach looked in;
        None: not read), it returns the average (:attr:`CompositeOptions.bleed_smoothing`) and keeps it for the next.
        ``located``: :func:`face_in_frame` of the face."""
        _, centre, size = located
        last = self.bleeds.take(centre, size)
        weight = self.options.bleed_smoothing

        def smooth(read: float | None) -> float:
            if read is None:
                share = 0.0 if last is None else last
            else:
                share = read if last is None else weight * last + (1.0 - weight) * read
            self.bleeds.put(centre, size, share)
            return share

        return smooth

    def fringe(self, located: Located) -> Callable[[bool, Callable[[], Medians | None]], Medians | None]:
        """The colours the face's cloth fringe is told by (:func:`~unmask_video.reconstruct.cloth_bleed.fringe_medians`):
        called with whether this frame measures its colour fields and how to read them, it reads them on such frames
        (and on the face's first) and otherwise returns those held from the last read, and keeps them for the next.
        ``located``: :func:`face_in_frame` of the face."""
        _, centre, size = located
        held = self.fringes.take(centre, size)

        def reader(measured: bool, read: Callable[[], Medians | None]) -> Medians | None:
            value = (read(),) if measured or held is None else held
            self.fringes.put(centre, size, value)
            return value[0]

        return reader

    def grain(
        self, located: Located, read: Callable[[float], FrameGrain | None], face_px: float
    ) -> Callable[[float], FrameGrain | None]:
        """The frame skin's bands on the face (:func:`~unmask_video.reconstruct.skin_grain.frame_grain`): ``read`` (at a
        working scale) on the face's first ask and on one in :attr:`CompositeOptions.grain_refresh` of those after it
        (asked on the frames that measure the colour fields), held between (its skin's grain is the person's and the
        video's, steady from frame to frame) at the face's size now (``face_px``, in the frame's pixels) at the scale
        asked. ``located``: :func:`face_in_frame` of the face."""
        _, centre, size = located
        held = self.grains.take(centre, size)
        if held is not None:
            self.grains.put(centre, size, held)
        every = max(self.options.grain_refresh, 1)

        def reader(k: float) -> FrameGrain | None:
            if held is None:
                value = read(k)
                self.grains.put(centre, size, [None if value is None else value.amplitudes, 1])
                return value
            if held[1] % every == 0:
                value = read(k)
                held[0] = None if value is None else value.amplitudes
            else:
                value = None if held[0] is None else FrameGrain(held[0], face_px * k)
            held[1] += 1
            return value

        return reader
