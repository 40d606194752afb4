"""The jaw's outline under a mask, predicted from the face above it and a bare face's own proportions.

Under a worn mask FaceMesh's jaw is a guess: on the quality benchmark's drawn masks it puts the chin 0.05-0.1 face
sizes too high (a shorter, narrower jaw than the bare frame's), and widening the cheek to the mask's side edge cannot
tell a jaw that really reaches it from a mask standing past the face. What FaceMesh sees well is above the mask: the
eyes' outer corners. A bare face's landmarks (the reference still's: unmasked, its FaceMesh outline follows its real
jaw) give its jaw's width at levels from the eyes' line down to the chin, and the chin's depth below that line, each
over how far apart its eyes' outer corners lie (:func:`jaw_profile`); :func:`predicted_jaw` lays that profile on a
frame's face, scaled by the frame's eyes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.face_axes import face_axes

__all__ = ["JAW_LEVELS", "JawProfile", "jaw_profile", "predicted_jaw"]

#: The levels of :attr:`JawProfile.widths`: fractions of the way from the eyes' line (0) to the chin (1).
JAW_LEVELS = np.linspace(0.0, 1.0, 11)

_OVAL = landmark_sets.index(landmark_sets.FACE_OVAL)
_EYES = landmark_sets.index((landmark_sets.LEFT_EYE_CORNERS[0], landmark_sets.RIGHT_EYE_CORNERS[1]))


@dataclass(frozen=True)
class JawProfile:
    """A bare face's jaw, in units of how far apart its eyes' outer corners lie (across the face)."""

    #: (len(JAW_LEVELS),) float64: the face outline's width at each of :data:`JAW_LEVELS` (the last, the chin: 0).
    widths: np.ndarray
    #: How far below the eyes' line the chin lies (down the face).
    chin: float


def _face_coords(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(across, down, points): the face's unit vectors (across towards the image-right side, down to the chin; float64
    (2,)) and the (468, 2) ``landmarks`` in those coordinates (column 0 across, column 1 down)."""
    pts = np.asarray(landmarks, np.float64)
    down, _ = face_axes(pts)
    across = np.array([down[1], -down[0]])
    return across, down, np.stack([pts @ across, pts @ down], axis=1)


def _eyes(face: np.ndarray) -> tuple[float, float]:
    """(line, width): the eyes' line (their outer corners' mean, down the face) and how far apart the corners lie
    across it (``face``: the landmarks in face coordinates, :func:`_face_coords`)."""
    return float(face[_EYES, 1].mean()), float(face[_EYES[1], 0] - face[_EYES[0], 0])


def _span(polygon: np.ndarray, level: float) -> tuple[float, float] | None:
    """(first, last): where the closed ``polygon`` ((n, 2): across, down) crosses the line ``down == level`` first and
    last along it; None where it does not."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    cross = (np.minimum(a[:, 1], b[:, 1]) <= level) & (np.maximum(a[:, 1], b[:, 1]) > level)
    if not cross.any():
        return None
    t = (level - a[cross, 1]) / (b[cross, 1] - a[cross, 1])
    xs = a[cross, 0] + t * (b[cross, 0] - a[cross, 0])
    return float(xs.min()), float(xs.max())


def jaw_profile(landmarks: np.ndarray) -> JawProfile | None:
    """The jaw of the bare face whose (468, 2) ``landmarks`` are given (its FaceMesh outline, :class:`JawProfile`);
    None where the face is degenerate (the chin not below the eyes, the eyes' corners not apart)."""
    _, _, face = _face_coords(landmarks)
    top, eyes = _eyes(face)
    chin = float(face[landmark_sets.CHIN, 1])
    if eyes <= 0 or chin - top <= 1e-3 * eyes:
        return None
    polygon = face[_OVAL]
    # (the chin is the outline's lowest point: the last width is measured just above it, then set to 0)
    spans = [_span(polygon, top + u * (chin - top)) for u in np.minimum(JAW_LEVELS, 1.0 - 1e-6)]
    if any(s is None for s in spans):
        return None
    widths = np.array([(s[1] - s[0]) / eyes for s in spans])
    widths[-1] = 0.0
    return JawProfile(widths, (chin - top) / eyes)


def predicted_jaw(shape: tuple[int, int], landmarks: np.ndarray, profile: JawProfile) -> np.ndarray | None:
    """(h, w) bool: the jaw the ``profile`` (a bare face's, :func:`jaw_profile`) predicts for the frame's face (its
    (468, 2) ``landmarks``, in the same pixels): the chin the profile's depth below the frame's eyes' line, and at each
    level between them the profile's width, both times how far apart the frame's eyes' outer corners lie; shared
    between the sides as those corners lie about the nose bridge, about a line from the bridge to FaceMesh's chin.
    Everything above the eyes' line is in it (it limits the jaw only). None where the frame's face is degenerate."""
    across, down, face = _face_coords(landmarks)
    top, eyes = _eyes(face)
    if eyes <= 0:
        return None
    bridge = float(face[landmark_sets.NOSE_BRIDGE, 0])
    # (a turned face shows more of its near side: the eyes' corners tell how much; kept off the extremes)
    share = min(max((bridge - face[_EYES[0], 0]) / eyes, 0.2), 0.8)
    u = JAW_LEVELS
    middle = bridge + u * (float(face[landmark_sets.CHIN, 0]) - bridge)
    level = top + u * profile.chin * eyes
    width = np.asarray(profile.widths, np.float64) * eyes
    # The outline in face coordinates: up the image-left side from the chin, round far above, down the image-right.
    far = 4.0 * max(float(width.max()), profile.chin * eyes)
    outline = np.concatenate([
        np.stack([middle - share * width, level], axis=1)[::-1],
        [[bridge - far, top], [bridge - far, top - far], [bridge + far, top - far], [bridge + far, top]],
        np.stack([middle + (1.0 - share) * width, level], axis=1),
    ])
    pixels = outline[:, :1] * across[None, :] + outline[:, 1:] * down[None, :]
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(pixels).astype(np.int32)], 1)
    return out > 0
