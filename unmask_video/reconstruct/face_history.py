"""The reference composite's state per face from frame to frame.

A face is found again on the next frame by its landmarks' position (:func:`face_in_frame`, :class:`FaceHistory`: a
value kept per face of the last frames), and its colour correction field is averaged over its frames on a coarse grid
(:class:`FieldFilter`: only the field's slow, smooth part is held back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import cv2
import numpy as np

from unmask_video.stages import FaceROI

#: The colour-correction field is averaged over time on a grid of this many cells across the region.
_FIELD_GRID = 12

_T = TypeVar("_T")


def _resize_channels(field: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """``cv2.resize`` of an (h, w, c) float field to ``size`` (width, height) for any c (OpenCV takes at most 4
    channels at once: three at a time)."""
    if field.shape[2] <= 4:
        return cv2.resize(field, size, interpolation=interpolation).reshape(size[1], size[0], field.shape[2])
    parts = [cv2.resize(np.ascontiguousarray(field[..., i:i + 3]), size, interpolation=interpolation)
             for i in range(0, field.shape[2], 3)]
    return np.concatenate([p.reshape(size[1], size[0], -1) for p in parts], axis=2)


#: A face's place in the frame, what the per-face histories find it by (:func:`face_in_frame`: its landmarks in the
#: frame's pixels, their mean and its width): computed once per face and handed to each history's reader and keeper.
Located = tuple[np.ndarray, np.ndarray, float]


def face_in_frame(face: FaceROI) -> Located:
    """(landmarks, centre, size): the face's landmarks in the frame's pixels ((n, 2) float32), their mean and the
    face's width (px): what the per-face histories (:class:`FaceHistory`) find it by."""
    in_frame = face.landmarks + np.array([face.box.x0, face.box.y0], np.float32)
    return in_frame, in_frame.mean(axis=0), float(np.ptp(face.landmarks[:, 0]))


@dataclass
class FrameHold(Generic[_T]):
    """What one of the composite's rules laid on a face, from frame to frame: it decides on the frames that measure
    the colour fields (``CompositeOptions.field_refresh``) and sets ``held`` to what it laid (None: nothing); where
    ``reuse`` (the fields were reused), it lays ``held`` again and does not read the frame."""

    held: _T | None = None
    reuse: bool = False


class FaceHistory(Generic[_T]):
    """Per face of the last frames: a value (a colour shift or a coarse field), found again by position."""

    def __init__(self) -> None:
        self._entries: list[tuple[np.ndarray, float, _T]] = []

    def take(self, centre: np.ndarray, size: float) -> _T | None:
        """The array of the face nearest ``centre`` (within half a face), removed from the history."""
        distances = [float(np.linalg.norm(e[0] - centre)) for e in self._entries]
        near = [i for i, d in enumerate(distances) if d < 0.5 * max(size, self._entries[i][1])]
        return self._entries.pop(min(near, key=distances.__getitem__))[2] if near else None

    def put(self, centre: np.ndarray, size: float, value: _T) -> None:
        self._entries.append((centre, size, value))
        del self._entries[:-8]  # a few faces at most are followed


class FieldFilter:
    """A face's colour field averaged over its frames on a coarse grid (``_FIELD_GRID`` cells across the region):
    only the field's slow, smooth part is held back. Called with an (h, w, 3) field, it returns the field to apply."""

    def __init__(self, history: FaceHistory[np.ndarray], centre: np.ndarray, size: float, weight: float,
                 previous: np.ndarray | None) -> None:  # fmt: skip
        self._history, self._centre, self._size, self._weight, self._previous = history, centre, size, weight, previous

    def __call__(self, field: np.ndarray) -> np.ndarray:
        return self.with_constants(field, np.zeros(0, np.float32))[0]

    def restore(self) -> None:
        """Put the face's past back as it was, for a frame that did not go through the filter."""
        if self._previous is not None:
            self._history.put(self._centre, self._size, self._previous)

    def with_constants(self, field: np.ndarray, constants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (h, w, 3) field and ``constants`` ((k,), k <= 3: numbers averaged with it) to apply: the same numbers as
        the filter of the field with the constants as k more channels beside it (their mean over the pixels), without
        the (h, w, 3 + k) field: the constants' channels are resized on their own."""
        field, constants, _ = self.with_held(field, constants, np.zeros(0, np.float32))
        return field, constants

    def with_held(
        self, field: np.ndarray, constants: np.ndarray, held: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`with_constants`, and ``held`` ((m,)): more numbers averaged over the face's frames with the same
        weight, kept beside the grid's cells and read back from them (a constant channel's average over the pixels is
        its cells' value: nothing resized)."""
        h, w = field.shape[:2]
        grid = _resize_channels(field, (_FIELD_GRID, _FIELD_GRID), cv2.INTER_AREA)
        cells = grid
        constants = np.asarray(constants, np.float32)
        held = np.asarray(held, np.float32)
        extra = np.concatenate([constants, held])
        if len(extra):
            # (a constant channel's area average is the constant: no (h, w, k) image of it is built)
            flat_grid = np.broadcast_to(extra, (_FIELD_GRID, _FIELD_GRID, len(extra)))
            cells = np.concatenate([grid, flat_grid], axis=2)
        previous = self._previous
        if previous is None or previous.shape != cells.shape:
            self._history.put(self._centre, self._size, cells)
        else:
            smoothed = self._weight * previous + (1.0 - self._weight) * cells
            self._history.put(self._centre, self._size, smoothed)
            delta = smoothed - cells
            channels = field.shape[2]
            field = field + _resize_channels(delta[..., :channels], (w, h), cv2.INTER_LINEAR)
            k = len(constants)
            if k:
                # The constants' pixel mean after the change: theirs plus the mean of the change's field.
                change = _resize_channels(np.ascontiguousarray(delta[..., channels:channels + k]), (w, h),
                                          cv2.INTER_LINEAR)  # fmt: skip
                constants = constants + np.float32(cv2.mean(change)[:k])
            if len(held):
                held = smoothed[0, 0, channels + k:].astype(np.float32)
        return field, constants, held
