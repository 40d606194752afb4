"""The jaw's opening under a worn mask, read off the mask's outline, for the reference warp.

Under a mask FaceMesh cannot see the mouth, and the warp carries the reference's jaw rigidly (its mouth closed).
A person talking under the mask opens the jaw: the chin goes down, and so does the mask's lower edge, which is
stretched over it. :class:`JawOpening` measures, per face track, how far below the carried (closed) chin the mask's
lower edge lies under the chin, in face heights; the opening is that distance less the smallest the track has shown
(the mouth closed), and the jaw's control points (lower lip, chin, the jaw line towards its angles) are moved down the
face by it, each by :func:`jaw_weights` of it (the mandible turns about a hinge near the ears: the chin and lower lip
move most, the jaw's angles little, the upper lip not at all). What the neck below does is the warp's choice
(:mod:`unmask_video.warp`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from unmask_video import landmark_sets

log = logging.getLogger(__name__)

#: The mask's lower edge is looked for in columns this far (face heights) either side of the chin...
_ACROSS = 0.12
_COLUMNS = 9
#: ... from this far above the chin to this far below it, in steps of _STEP face heights.
_FROM, _TO, _STEP = -0.1, 0.6, 0.005


@dataclass
class JawOptions:
    """How the jaw's opening is applied."""

    #: The opening's fraction applied to the jaw (0: off).
    gain: float = 1.0
    #: At most this opening, in face heights (a mask pulled down or mis-segmented does not drag the chin far).
    max_opening: float = 0.12
    #: Openings below this (face heights) are noise: taken off.
    slack: float = 0.01
    #: The closed-mouth baseline (the smallest drop of the mask's edge the track has shown) rises towards the drop
    #: by this fraction per frame while the drop is above it (a one-frame dip of the segmentation does not open the
    #: jaw for good).
    rise: float = 0.02


def jaw_weights(landmarks: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K,) float64 in [0, 1]: how much of the chin's drop each of ``points`` ((K, 2), the same coordinates as the
    face's ``landmarks``, mouth closed) takes when the jaw opens. Nothing above the mouth's corners moves; below them
    the weight grows to 1 a third of the way down to the chin, and falls towards the jaw's angles (near the hinge)."""
    lm = np.asarray(landmarks, np.float64)
    top, chin = (lm[i] for i in landmark_sets.FACE_HEIGHT)
    down = chin - top
    down /= max(float(np.hypot(*down)), 1e-9)
    across = np.array([-down[1], down[0]])
    corners = lm[landmark_sets.index(landmark_sets.MOUTH_CORNERS)]
    corner_v = float(np.mean(corners @ down))
    span = max(float(chin @ down) - corner_v, 1e-6)
    # (the jaw's angles lie about a mouth's width either side of the chin)
    half = max(float(abs((corners[1] - corners[0]) @ across)), 1e-6)
    pts = np.asarray(points, np.float64)
    vertical = np.clip((pts @ down - corner_v) / (0.35 * span), 0.0, 1.0)
    side = np.clip(np.abs((pts - chin) @ across) / half, 0.0, 1.0)
    return vertical * (1.0 - 0.7 * side)


class JawOpening:
    """Per face track, the jaw's opening (face heights) read off the mask's lower edge under the chin."""

    def __init__(self, options: JawOptions | None = None) -> None:
        self.options = options or JawOptions()
        self._closed: dict[int, float] = {}

    def reset(self, track: int | None = None) -> None:
        if track is None:
            self._closed.clear()
        else:
            self._closed.pop(track, None)

    def __call__(self, mask: np.ndarray, chin: np.ndarray, down: np.ndarray, height: float, track: int) -> float:
        """The opening in face heights (0: closed or unknown). ``mask``: (h, w), > 0 covered; ``chin``: the carried
        (closed) chin in its pixels, ``down`` the unit vector down the face, ``height`` the face height in pixels."""
        drop = mask_drop(mask, chin, down, height)
        if drop is None:
            return 0.0
        o = self.options
        closed = self._closed.get(track)
        closed = drop if closed is None else min(drop, closed + o.rise * max(drop - closed, 0.0))
        self._closed[track] = closed
        opening = float(np.clip(drop - closed - o.slack, 0.0, o.max_opening))
        log.debug("jaw: mask edge %.3f below the chin, closed %.3f, opening %.3f", drop, closed, opening)
        return o.gain * opening


def mask_drop(mask: np.ndarray, chin: np.ndarray, down: np.ndarray, height: float) -> float | None:
    """How far below ``chin`` (face heights along ``down``) the mask's lower edge lies, the median over columns
    beside the chin; None where the mask does not cover the chin or its edge is not seen (past the picture or the
    searched depth)."""
    h, w = mask.shape[:2]
    across = np.array([-down[1], down[0]])
    ts = np.arange(_FROM, _TO + 1e-9, _STEP)
    offsets = np.linspace(-_ACROSS, _ACROSS, _COLUMNS)
    pts = (np.asarray(chin, np.float64)[None, None, :] + height * (offsets[:, None, None] * across[None, None, :]
           + ts[None, :, None] * down[None, None, :]))  # fmt: skip
    xs, ys = np.rint(pts[..., 0]).astype(np.intp), np.rint(pts[..., 1]).astype(np.intp)
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    covered = np.zeros(inside.shape, bool)
    covered[inside] = mask[ys[inside], xs[inside]] > 0
    at_chin = int(round(-_FROM / _STEP))
    bottoms = []
    for col, seen in zip(covered, inside, strict=True):
        if not col[at_chin]:
            continue
        below = np.flatnonzero(~col[at_chin:])
        if len(below) == 0 or not seen[at_chin + below[0]]:
            continue  # (the edge runs past the searched depth or the picture)
        bottoms.append(ts[at_chin + below[0]])
    if len(bottoms) < (_COLUMNS + 1) // 2:
        return None
    return float(np.median(bottoms))


__all__ = ["JawOpening", "JawOptions", "jaw_weights", "mask_drop"]
