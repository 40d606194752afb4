"""The warp's control points steadied per face track: their shape averaged in the face's rigid frame, the rigid frame
itself filtered.

Under a mask FaceMesh guesses the mouth and jaw, and the guesses jitter; the control points' shape in the face's rigid
frame (eye corners and nose bridge: :func:`~unmask_video.face_shape.rigid_frame`) is averaged over the track's frames
(``WarpOptions.shape_smoothing``), and the rigid frame (position, size, roll) goes through a light exponential average
(``frame_smoothing``) and a speed-adaptive One-Euro filter (``frame_min_cutoff``, ``frame_beta``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from unmask_video.face_shape import rigid_frame
from unmask_video.one_euro import OneEuroFilter

if TYPE_CHECKING:
    from unmask_video.warp import WarpOptions

__all__ = ["NOMINAL_FPS", "ShapeSmoothing"]

#: The frame rate the rigid-frame filter assumes (``WarpOptions.frame_min_cutoff``).
NOMINAL_FPS = 25.0


class ShapeSmoothing:
    """Per face track, the control points' shape in the face's rigid frame and the rigid frame, smoothed."""

    def __init__(self, options: WarpOptions) -> None:
        self.options = options
        #: Per face track: the smoothed control-point shape in the face's rigid frame.
        self.shapes: dict[int, np.ndarray] = {}
        #: Per face track: the smoothed rigid frame (centre x, y, scale, cos, sin).
        self._frames: dict[int, np.ndarray] = {}
        #: Per face track: the One-Euro filter of the rigid frame, the track's first scale and its frame count.
        self._frame_filters: dict[int, tuple[OneEuroFilter, float, list[int]]] = {}

    def reset(self, track: int | None = None) -> None:
        """Forget one face track (``None``: every track)."""
        for per_track in (self.shapes, self._frames, self._frame_filters):
            for key in list(per_track) if track is None else [track]:
                per_track.pop(key, None)

    def __call__(self, landmarks: np.ndarray, points: np.ndarray, track: int) -> np.ndarray:
        """``points`` with their shape in the face's rigid frame averaged over the track's frames."""
        centre, scale, rotation = rigid_frame(landmarks)
        shape = (points - centre) @ rotation / scale  # rotation is orthonormal: R^T applied on the right
        weight = self.options.shape_smoothing
        previous = self.shapes.get(track)
        if previous is not None and previous.shape == shape.shape:
            shape = weight * previous + (1.0 - weight) * shape
        self.shapes[track] = shape
        frame = np.concatenate([centre, [scale], rotation[:, 0]])
        held = self._frames.get(track)
        if held is not None and self.options.frame_smoothing > 0:
            frame = self.options.frame_smoothing * held + (1.0 - self.options.frame_smoothing) * frame
        self._frames[track] = frame
        if self.options.frame_min_cutoff > 0:
            frame = self._filtered_frame(frame, track)
        centre, scale = frame[:2], float(frame[2])
        c, s_ = frame[3:] / max(float(np.hypot(*frame[3:])), 1e-9)
        rotation = np.array([[c, -s_], [s_, c]])
        return shape @ rotation.T * scale + centre

    def _filtered_frame(self, frame: np.ndarray, track: int) -> np.ndarray:
        """The rigid frame (centre x, y, scale, cos, sin) through the track's One-Euro filter, in face sizes."""
        held = self._frame_filters.get(track)
        if held is None:
            o = self.options
            held = (OneEuroFilter(o.frame_min_cutoff, o.frame_beta, 1.0, shared_speed=True), float(frame[2]), [0])
            self._frame_filters[track] = held
        one_euro, unit, count = held
        angle = float(np.arctan2(frame[4], frame[3]))
        state = np.array([frame[0] / unit, frame[1] / unit, np.log(frame[2] / unit), angle])
        out = one_euro(state, count[0] / NOMINAL_FPS)
        count[0] += 1
        return np.array([out[0] * unit, out[1] * unit, unit * np.exp(out[2]), np.cos(out[3]), np.sin(out[3])])
