"""The reference warp's control points below the jaw.

FaceMesh has no landmarks below the jaw, yet a worn mask reaches onto the neck: :func:`below_jaw_points` extrapolates
rings of points from the lower jaw line (the underside of the jaw and the upper neck, at fractions of the face height),
alike on the reference and on each frame, so the spline carries the reference's neck with its jaw;
:func:`neck_region` is the region between the jaw line and the outer ring.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.face_axes import face_axes

#: Fractions of ``neck_reach`` at which the rings of extrapolated control points lie below the jaw.
NECK_RINGS = (0.4, 1.0)
#: Points of the lower jaw line the extrapolated control points grow from (every other one).
NECK_ROOTS = landmark_sets.LOWER_JAW[::2]
_MOUTH = landmark_sets.index(landmark_sets.MOUTH)
_LOWER_JAW = landmark_sets.index(landmark_sets.LOWER_JAW)
_NECK_ROOTS_INDEX = landmark_sets.index(NECK_ROOTS)


def below_jaw_points(landmarks: np.ndarray, reach: float, rings: tuple[float, ...] = NECK_RINGS) -> np.ndarray:
    """Points below the lower jaw line extrapolated from the face geometry: (len(rings) * R, 2) float64.

    Each root point of the lower jaw is moved ``ring * reach`` face heights along a direction between
    "away from the mouth" and "down the face": the underside of the jaw and the upper neck. Computed
    alike on the reference and on each frame, they make the spline carry the reference's neck along
    with its jaw. ``rings`` go from the jaw outwards.
    """
    pts = np.asarray(landmarks, np.float64)
    down, height = face_axes(pts)
    roots = pts[_NECK_ROOTS_INDEX]
    mouth = pts[_MOUTH].mean(axis=0)
    radial = roots - mouth
    radial /= np.maximum(np.hypot(radial[:, 0], radial[:, 1]), 1e-9)[:, None]
    direction = radial + down
    direction /= np.maximum(np.hypot(direction[:, 0], direction[:, 1]), 1e-9)[:, None]
    return np.concatenate([roots + direction * (r * reach * height) for r in rings])


def neck_region(shape: tuple[int, int], landmarks: np.ndarray, reach: float) -> np.ndarray:
    """(h, w) uint8, 255 between the lower jaw line and the outer ring of :func:`below_jaw_points`."""
    out = np.zeros(shape, dtype=np.uint8)
    if reach <= 0:
        return out
    jaw = np.asarray(landmarks, np.float64)[_LOWER_JAW]
    outer = below_jaw_points(landmarks, reach, (1.0,))
    poly = np.round(np.concatenate([jaw, outer[::-1]]) * 16).astype(np.int32)
    cv2.fillPoly(out, [poly], 255, lineType=cv2.LINE_AA, shift=4)
    return out
