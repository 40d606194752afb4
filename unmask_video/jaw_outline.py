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

__all__ = ["JAW_LEVELS", "JawProfile", "jaw_profile", "predicted_jaw", "side_scales"]

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


def _sides(face: np.ndarray, profile: JawProfile) -> tuple[float, float, float, float, float]:
    """(top, eyes, bridge, chin, share): the frame's eyes' line and span (:func:`_eyes`), its nose bridge and FaceMesh's
    chin across the face (``face``: the landmarks in face coordinates), and the share of the ``profile``'s width that
    lies on the image-left side of the line from the bridge to the chin."""
    top, eyes = _eyes(face)
    bridge = float(face[landmark_sets.NOSE_BRIDGE, 0])
    # (a turned face shows more of its near side: the eyes' corners tell how much; kept off the extremes)
    share = min(max((bridge - face[_EYES[0], 0]) / max(eyes, 1e-9), 0.2), 0.8)
    return top, eyes, bridge, float(face[landmark_sets.CHIN, 0]), share


def predicted_jaw(
    shape: tuple[int, int], landmarks: np.ndarray, profile: JawProfile, scale: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray | None:
    """(h, w) bool: the jaw the ``profile`` (a bare face's, :func:`jaw_profile`) predicts for the frame's face (its
    (468, 2) ``landmarks``, in the same pixels): the chin the profile's depth below the frame's eyes' line, and at each
    level between them the profile's width, both times how far apart the frame's eyes' outer corners lie; shared
    between the sides as those corners lie about the nose bridge, about a line from the bridge to FaceMesh's chin;
    each side's width times its ``scale`` (image-left, image-right: :func:`side_scales`).
    Everything above the eyes' line is in it (it limits the jaw only). None where the frame's face is degenerate."""
    across, down, face = _face_coords(landmarks)
    top, eyes, bridge, chin, share = _sides(face, profile)
    if eyes <= 0:
        return None
    u = JAW_LEVELS
    middle = bridge + u * (chin - bridge)
    level = top + u * profile.chin * eyes
    width = np.asarray(profile.widths, np.float64) * eyes
    # The outline in face coordinates: up the image-left side from the chin, round far above, down the image-right.
    far = 4.0 * max(float(width.max()), profile.chin * eyes)  # (past any side scaled by at most 4)
    outline = np.concatenate([
        np.stack([middle - share * width * scale[0], level], axis=1)[::-1],
        [[bridge - far, top], [bridge - far, top - far], [bridge + far, top - far], [bridge + far, top]],
        np.stack([middle + (1.0 - share) * width * scale[1], level], axis=1),
    ])
    pixels = outline[:, :1] * across[None, :] + outline[:, 1:] * down[None, :]
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(pixels).astype(np.int32)], 1)
    return out > 0


def side_scales(
    landmarks: np.ndarray, profile: JawProfile, seen: np.ndarray, most: float = 1.5
) -> tuple[float, float]:
    """(image-left, image-right): how much wider than the ``profile`` predicts (:func:`predicted_jaw`) the frame's
    face is on each side where it is seen (``seen``: (N, 2) pixels of its skin, in the landmarks' pixels: the cheeks
    just above a mask), at the level of the outermost of them on that side: that side's half of the predicted width
    there against how far that pixel lies from the line from the nose bridge to the chin; at least 1 (a face seen
    narrower is left to the prediction), at most ``most``; 1 where nothing is seen on a side or the face is
    degenerate. A stand-in reference's narrower face, laid on the frame's eyes, predicts a jaw inside the frame's
    cheeks; scaled by these, its outline passes through the cheeks the frame shows and keeps the stand-in's shape
    below them."""
    across, down, face = _face_coords(landmarks)
    top, eyes, bridge, chin, share = _sides(face, profile)
    pts = np.asarray(seen, np.float64).reshape(-1, 2)
    if eyes <= 0 or profile.chin <= 0 or not len(pts):
        return 1.0, 1.0
    x, y = pts @ across, pts @ down
    u = np.clip((y - top) / (profile.chin * eyes), 0.0, 1.0)
    middle = bridge + u * (chin - bridge)
    out = []
    for side, half in ((-1.0, share), (1.0, 1.0 - share)):
        reach = side * (x - middle)  # (how far past the middle line, on this side)
        if not (reach > 0).any():
            out.append(1.0)
            continue
        i = int(np.argmax(reach))
        predicted = half * float(np.interp(u[i], JAW_LEVELS, profile.widths)) * eyes
        out.append(min(max(float(reach[i]) / max(predicted, 1e-9), 1.0), most))
    return out[0], out[1]
