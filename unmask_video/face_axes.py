"""The line down a face, the neck's column along it and the face oval's map, from the FaceMesh landmarks alone.

The warp grows its control points under the jaw along the line down the face and keeps its matte's neck within the
neck's column; the segmenter leaves that column alone when it takes a hood's lining off beside the jaw. Both take
them from here (the segmenter cannot import the warp). The line runs from the forehead's top to the chin
(:data:`~unmask_video.landmark_sets.FACE_HEIGHT`): under a worn mask the chin is FaceMesh's guess, and the farther
the line's other end, the less a chin placed wrong turns it (the nose bridge is half as far).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from unmask_video import landmark_sets

__all__ = ["column_between", "face_axes", "neck_column", "oval_map"]

_FACE_HEIGHT = landmark_sets.index(landmark_sets.FACE_HEIGHT)
_FACE_OVAL = landmark_sets.index(landmark_sets.FACE_OVAL)


def face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """The unit vector down the face (forehead top to chin, float64 (2,)) and the face height in pixels."""
    top, chin = np.asarray(landmarks)[_FACE_HEIGHT].astype(np.float64)
    down = chin - top
    height = float(np.hypot(*down))
    return down / max(height, 1e-9), height


def neck_column(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """(h, w) uint8, 255 between the lines down the face (:func:`face_axes`) through the
    :data:`~unmask_video.landmark_sets.NECK_SIDES` points (the neck's width, and the chin above it), 0 beside them."""
    return column_between(shape, landmarks, landmark_sets.NECK_SIDES)


def column_between(shape: tuple[int, int], landmarks: np.ndarray, points: Sequence[int]) -> np.ndarray:
    """(h, w) uint8, 255 between the lines down the face (:func:`face_axes`) through the outermost of the landmarks
    ``points`` across the face, 0 beside them: a band that turns with a tilted head."""
    pts = np.asarray(landmarks, np.float64)
    down, _ = face_axes(pts)
    across = np.array([-down[1], down[0]])
    along = pts[list(points)] @ across
    a, b = float(along.min()), float(along.max())
    h, w = shape
    coord = np.arange(w, dtype=np.float64)[None, :] * across[0] + np.arange(h, dtype=np.float64)[:, None] * across[1]
    return ((coord >= a) & (coord <= b)).astype(np.uint8) * 255


def oval_map(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) uint8 {0, 1} of ``shape``: inside FaceMesh's face oval through ``landmarks`` (rounded to whole pixels;
    :func:`~unmask_video.warp.face_region` draws it to a sixteenth of a pixel, antialiased or not)."""
    outline = np.round(np.asarray(landmarks)[_FACE_OVAL]).astype(np.int32)
    oval = np.zeros(shape, np.uint8)
    cv2.fillPoly(oval, [outline], 1)
    return oval
