"""What the reference warp reads off a face's landmarks.

The face oval drawn as a map (:func:`face_region`), how far the head is turned (:func:`yaw`), the face's rigid frame
(:func:`rigid_frame`: centre, size and roll from the upper face), a size that follows the face's scale
(:func:`spread_of`), and the check that an array is a face's landmarks (:func:`check_landmarks`).
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets

_FACE_OVAL = landmark_sets.index(landmark_sets.FACE_OVAL)
_UPPER_FACE = landmark_sets.index(landmark_sets.UPPER_FACE)
_YAW_PROBE = landmark_sets.index(landmark_sets.YAW_PROBE)
#: The two eye corners :func:`rigid_frame` reads the face's roll across (the right eye's second, the left eye's first).
_EYE_ENDS = landmark_sets.index((landmark_sets.RIGHT_EYE_CORNERS[1], landmark_sets.LEFT_EYE_CORNERS[0]))


def face_region(shape: tuple[int, int], landmarks: np.ndarray, antialiased: bool = True) -> np.ndarray:
    """(h, w) uint8 map, 255 inside the face oval drawn through ``landmarks``, 0 elsewhere (with ``antialiased``,
    the pixels its outline crosses in between)."""
    out = np.zeros(shape, dtype=np.uint8)
    poly = np.round(np.asarray(landmarks)[_FACE_OVAL] * 16).astype(np.int32)
    cv2.fillPoly(out, [poly], 255, lineType=cv2.LINE_AA if antialiased else cv2.LINE_8, shift=4)
    return out


def yaw(landmarks: np.ndarray) -> float:
    """How far the face is turned: where its nose bridge lies between its sides
    (:data:`~unmask_video.landmark_sets.YAW_PROBE`), along the line joining them, minus one half (0: frontal, about
    +-0.2 for a face turned to show one cheek)."""
    # (the three points taken first, then made float64: the same values, without converting all 468)
    left, bridge, right = np.asarray(landmarks)[_YAW_PROBE].astype(np.float64)
    across = right - left
    length2 = max(float(across @ across), 1e-9)
    return float((bridge - left) @ across / length2 - 0.5)


def rigid_frame(landmarks: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(centre, scale, 2x2 rotation) of the face's rigid frame, from the :data:`UPPER_FACE` points."""
    # (the points taken first, then made float64: the same values, without converting all 468)
    lm = np.asarray(landmarks)
    pts = lm[_UPPER_FACE].astype(np.float64)
    centre = pts.mean(axis=0)
    scale = max(float(np.sqrt(((pts - centre) ** 2).sum(axis=1).mean())), 1e-6)
    right, left = lm[_EYE_ENDS].astype(np.float64)
    d = right - left
    c, s_ = d / max(float(np.hypot(*d)), 1e-9)
    return centre, scale, np.array([[c, -s_], [s_, c]])


def spread_of(points: np.ndarray) -> float:
    """RMS distance of points from their centroid: a size that follows the face's scale."""
    p = np.asarray(points, dtype=np.float64)
    return float(np.sqrt(((p - p.mean(axis=0)) ** 2).sum(axis=1).mean()))


def check_landmarks(landmarks: np.ndarray, what: str) -> np.ndarray:
    """``landmarks`` as a (468, 2) float32 array; ValueError, naming them ``what``, where they are not that shape."""
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (landmark_sets.NUM_LANDMARKS, 2):
        raise ValueError(f"{what} must be ({landmark_sets.NUM_LANDMARKS}, 2), got {lm.shape}")
    return lm
