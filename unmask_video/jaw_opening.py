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

import cv2
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


def mouth_opening(landmarks: np.ndarray) -> float:
    """The gap between the inner lips at the middle of the mouth, over the mouth's width (corner to corner)."""
    pts = np.asarray(landmarks, np.float64)
    upper, lower = (pts[i] for i in landmark_sets.INNER_LIPS_MIDDLE)
    left, right = (pts[i] for i in landmark_sets.MOUTH_CORNERS)
    return float(np.hypot(*(lower - upper)) / max(float(np.hypot(*(right - left))), 1e-9))


def _down(pts: np.ndarray) -> np.ndarray:
    """The unit vector down the face (forehead's top to chin) of landmarks ``pts`` ((468, 2) float64)."""
    top, chin = (pts[i] for i in landmark_sets.FACE_HEIGHT)
    down = chin - top
    return down / max(float(np.hypot(*down)), 1e-9)


#: Inside the outer lips, a pixel is the open mouth's (teeth, the dark inside) where its Lab a (red) is below this
#: share of the lips' (their upper quartile)...
_MOUTH_RED = 0.75
#: ... or its lightness below this share of the lips' lower quartile (the dark inside) or above this share (teeth in
#: the lips' own red, as a warm light makes them)...
_MOUTH_DARK = 0.6
_MOUTH_LIGHT = 1.4
#: ... grown by a disc of this share of the mouth's width (the blend of teeth and lips at their edge).
_MOUTH_GROW = 0.02
#: The mouth's top and bottom edges are smoothed over this share of its width (:func:`_envelope`).
_MOUTH_SMOOTH = 0.06
#: Past the open mouth's ends its squeeze fades out over this share of the mouth's width.
_MOUTH_TAPER = 0.5


def _open_mouth(lab: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(h, w) bool: the open mouth of a face photo (``lab``, (h, w, 3) float32 Lab; ``pts`` its landmarks): inside the
    inner lips, and inside the outer lips what is not lip-red (teeth) or is dark (FaceMesh's inner lips often run
    along the teeth's edge, not the lips')."""
    h, w = lab.shape[:2]
    outer, inner = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    cv2.fillPoly(outer, [np.round(pts[landmark_sets.index(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 255)
    cv2.fillPoly(inner, [np.round(pts[landmark_sets.index(landmark_sets.LIPS_INNER)]).astype(np.int32)], 255)
    lips = (outer > 0) & (inner == 0)
    if np.count_nonzero(lips) < 10:
        return inner > 0
    red = float(np.percentile(lab[..., 1][lips], 75))
    # (the lips' darker half: light teeth between the lips the landmarks give often fill much of that band)
    light = float(np.percentile(lab[..., 0][lips], 25))
    pale = (lab[..., 1] < _MOUTH_RED * red) | (lab[..., 0] < _MOUTH_DARK * light) | (lab[..., 0] > _MOUTH_LIGHT * light)
    mouth = ((inner > 0) | ((outer > 0) & pale)).view(np.uint8)
    width = float(np.hypot(*(pts[landmark_sets.MOUTH_CORNERS[1]] - pts[landmark_sets.MOUTH_CORNERS[0]])))
    side = 2 * max(int(round(_MOUTH_GROW * width)), 1) + 1
    return cv2.dilate(mouth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))).view(bool) & (outer > 0)


def _mouth_extent(mouth: np.ndarray, across: np.ndarray, down: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The open ``mouth``'s ((h, w) bool) extent down the face per unit step across it: (the steps' across
    coordinates, the topmost and the lowest down coordinate of its pixels there), float64 each, steps without any
    left out."""
    ys, xs = np.nonzero(mouth)
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    u, v = np.round(pts @ across).astype(np.int64), pts @ down
    steps = np.unique(u)
    top = np.full(len(steps), np.inf)
    bottom = np.full(len(steps), -np.inf)
    at = np.searchsorted(steps, u)
    np.minimum.at(top, at, v)
    np.maximum.at(bottom, at, v)
    return steps.astype(np.float64), top, bottom


@dataclass(frozen=True)
class _Closing:
    """How a face photo's open mouth closes, along each line down the face (``down``; ``across`` the lines' across
    coordinate): the open mouth's extent there (``steps`` across, its ``top`` and ``bottom`` down, tapered to the
    corners' line past its ends), the lips' gap it is squeezed into, the lower jaw's ``lift`` under the chin, the
    mouth's ``width`` (corner to corner), the open ``mouth`` itself ((h, w) bool, :func:`_open_mouth`)."""

    down: np.ndarray
    across: np.ndarray
    steps: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    gap: float
    lift: float
    chin: float
    width: float
    landmarks: np.ndarray
    mouth: np.ndarray

    def along(self, points: np.ndarray) -> tuple[np.ndarray, ...]:
        """For ``points`` ((..., 2) float64): their down coordinate, the mouth's top and bottom on their line, how far
        its bottom rises (the mouth squeezed), how far the jaw rises below it, and where that is reached."""
        u, v = points @ self.across, points @ self.down
        a = np.interp(u, self.steps, self.top)
        b = np.maximum(np.interp(u, self.steps, self.bottom), a)
        shape = points.shape[:-1]
        full = self.lift * _side_share(self.landmarks, points.reshape(-1, 2)).reshape(shape)
        first = np.clip(b - a - self.gap, 0.0, full)
        end = np.maximum(self.chin, b + (full - first) / 0.8)
        return v, a, b, first, full, end

    def forward(self, points: np.ndarray) -> np.ndarray:
        """Where ``points`` ((N, 2) float64, the photo's) lie once the mouth is closed."""
        v, a, b, first, full, end = self.along(points)
        squeezed = a + (v - a) * (b - a - first) / np.maximum(b - a, 1e-6)
        ramp = (b - first) + (v - b) * ((end - full) - (b - first)) / np.maximum(end - b, 1e-6)
        moved = np.where(v <= a, v, np.where(v <= b, squeezed, np.where(v <= end, ramp, v - full)))
        return points + (moved - v)[..., None] * self.down

    def backward(self, points: np.ndarray) -> np.ndarray:
        """The photo's point each of ``points`` ((..., 2) float64, the closed picture's) shows (the inverse of
        :meth:`forward`: piecewise linear and increasing along each line)."""
        v, a, b, first, full, end = self.along(points)
        squeezed = a + (v - a) * (b - a) / np.maximum(b - a - first, 1e-6)
        ramp = b + (v - (b - first)) * (end - b) / np.maximum((end - full) - (b - first), 1e-6)
        source = np.where(v <= a, v, np.where(v <= b - first, squeezed, np.where(v <= end - full, ramp, v + full)))
        return points + (source - v)[..., None] * self.down


def _envelope(steps: np.ndarray, top: np.ndarray, bottom: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """The mouth's ``top`` and ``bottom`` per step across (``steps``) as smooth envelopes: the topmost and the lowest
    within ``reach`` steps either side, then averaged over as many (a mouth's edge pixel by pixel is ragged: the lips'
    line it leaves would be)."""
    r = max(int(round(reach)), 1)
    dense = np.arange(steps[0], steps[-1] + 1)
    at = np.searchsorted(dense, steps)
    lo, hi = np.full(len(dense), np.inf), np.full(len(dense), -np.inf)
    lo[at], hi[at] = top, bottom
    lo = np.interp(dense, steps, top) if np.isinf(lo).any() else lo
    hi = np.interp(dense, steps, bottom) if np.isinf(hi).any() else hi
    pad_lo, pad_hi = np.pad(lo, r, mode="edge"), np.pad(hi, r, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view
    lo, hi = windows(pad_lo, 2 * r + 1).min(axis=1), windows(pad_hi, 2 * r + 1).max(axis=1)
    kernel = np.ones(2 * r + 1) / (2 * r + 1)
    lo = np.convolve(np.pad(lo, r, mode="edge"), kernel, mode="valid")
    hi = np.convolve(np.pad(hi, r, mode="edge"), kernel, mode="valid")
    return lo[at], hi[at]


def _closing(image: np.ndarray, pts: np.ndarray, lips_gap: float) -> _Closing | None:
    """How the open mouth of the photo ``image`` (landmarks ``pts``, float64) closes to ``lips_gap`` of its width
    (None: it is no more open than that where the inner lips' middle is)."""
    down = _down(pts)
    across = np.array([-down[1], down[0]])
    left, right = (pts[i] for i in landmark_sets.MOUTH_CORNERS)
    width = float(np.hypot(*(right - left)))
    lab = cv2.cvtColor(image.astype(np.float32) * np.float32(1.0 / 255.0), cv2.COLOR_RGB2Lab)
    mouth = _open_mouth(lab, pts)
    if not mouth.any():
        return None
    steps, top, bottom = _mouth_extent(mouth, across, down)
    top, bottom = _envelope(steps, top, bottom, _MOUTH_SMOOTH * width)
    # (tapered to the corners' line past the mouth's ends, over a share of its width: no step in the move there)
    corner_v = float(np.mean([left @ down, right @ down]))
    taper = max(_MOUTH_TAPER * width, 1.0)
    steps = np.concatenate([[steps[0] - taper], steps, [steps[-1] + taper]])
    top, bottom = np.concatenate([[corner_v], top, [corner_v]]), np.concatenate([[corner_v], bottom, [corner_v]])
    middle = pts[list(landmark_sets.INNER_LIPS_MIDDLE)].mean(axis=0) @ across
    gap = lips_gap * width
    lift = float(np.interp(middle, steps, bottom - top)) - gap
    if lift <= 0:
        return None
    chin = float(pts[landmark_sets.FACE_HEIGHT[1]] @ down)
    return _Closing(down, across, steps, top, bottom, gap, lift, chin, width, pts, mouth)


def closed_mouth_picture(
    image: np.ndarray, landmarks: np.ndarray, open_past: float, lips_gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """A face photo whose mouth is open past ``open_past`` (:func:`mouth_opening`) with the mouth closed: (the picture,
    (h, w, 3) uint8 like ``image``; its landmarks, (468, 2) like ``landmarks``, moved with it). Along each line down
    the face, the open mouth there (:func:`_open_mouth`: teeth, the dark inside) is squeezed into ``lips_gap`` of the
    mouth's width and what lies below it rises with it, by more down to the chin's level (the lower jaw's lift under
    the chin, by :func:`_side_share` across the face), by as much below (the neck, the collar: the border's row
    repeated at the bottom); the squeezed mouth is then painted over from the lips around it, with a soft darker line
    of their colour along it (:func:`_lip_line`: closed lips meet in a shade, not in a thin line of teeth). Otherwise
    both as they are."""
    pts = np.asarray(landmarks, np.float64)
    if mouth_opening(pts) <= open_past:
        return image, landmarks
    closing = _closing(image, pts, lips_gap)
    if closing is None:
        return image, landmarks
    h, w = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    grid = np.stack([xs, ys], axis=-1)
    source = closing.backward(grid)
    closed = cv2.remap(image, source[..., 0].astype(np.float32), source[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    mouth = cv2.remap(closing.mouth.astype(np.float32), source[..., 0].astype(np.float32),
                      source[..., 1].astype(np.float32), cv2.INTER_LINEAR)  # fmt: skip
    closed = _lip_line(closed, mouth, grid @ closing.across, closing)
    moved = closing.forward(pts).astype(np.asarray(landmarks).dtype)
    log.debug("reference: the open mouth closed, the lower jaw lifted %.1f px", closing.lift)
    return closed, moved


#: The squeezed mouth (a thin band of teeth and the dark inside, their outline) is painted over from the lips around
#: it, from this far (a share of the mouth's width; the inpainting's radius and its edge's feather)...
_LIP_REACH = 0.03
#: ... and shaded along it (the line where closed lips meet: soft, of the lips' colour, not the teeth's white) this far
#: towards its colour squared (darker and deeper in hue).
_LIP_SHADE = 0.5
#: The darker line fades out over this share of the mouth's width towards its ends.
_LIP_LINE_ENDS = 0.15


def _lip_line(closed: np.ndarray, mouth: np.ndarray, across: np.ndarray, closing: _Closing) -> np.ndarray:
    """``closed`` ((h, w, 3) uint8, the picture with the mouth squeezed; ``mouth`` where its squeezed open mouth lies,
    (h, w) float32 in [0, 1]; ``across`` its pixels' coordinate across the face) with that mouth painted from the lips
    around it (feathered over :data:`_LIP_REACH`) and shaded along it (a soft line of the lips' colour, fading towards
    the mouth's ends)."""
    reach = max(_LIP_REACH * closing.width, 1.5)
    # (with a pixel's rim: the squeeze's edge blends the mouth's outline into the lips)
    paint = cv2.dilate((mouth > 0.1).view(np.uint8), np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(closed, paint, reach, cv2.INPAINT_TELEA).astype(np.float32)
    past = np.maximum(closing.steps[1] - across, across - closing.steps[-2]) / max(_LIP_LINE_ENDS * closing.width, 1.0)
    soft = cv2.GaussianBlur(mouth, (0, 0), max(closing.gap / 4.0, 0.7))
    shade = (_LIP_SHADE * soft * np.clip(-past, 0.0, 1.0))[..., None].astype(np.float32)
    # (darker and deeper in hue, as the lips' shadow where they meet: each channel scaled by its own share of white)
    colour = filled + shade * (filled * filled * np.float32(1.0 / 255.0) - filled)
    weight = np.clip(2.0 * cv2.GaussianBlur(paint.astype(np.float32), (0, 0), reach / 3.0), 0.0, 1.0)[..., None]
    painted = closed.astype(np.float32) * (1.0 - weight) + colour * weight
    return np.clip(np.round(painted), 0, 255).astype(closed.dtype)


def _side_share(landmarks: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K,) float64: the share of the jaw's move that ``points`` ((K, 2)) take by how far across the face they lie
    from the chin: 1 under the chin, 0.3 from a mouth's width either side (the jaw's angles, near its hinge)."""
    lm = np.asarray(landmarks, np.float64)
    down = _down(lm)
    across = np.array([-down[1], down[0]])
    chin = lm[landmark_sets.FACE_HEIGHT[1]]
    corners = lm[landmark_sets.index(landmark_sets.MOUTH_CORNERS)]
    # (the jaw's angles lie about a mouth's width either side of the chin)
    half = max(float(abs((corners[1] - corners[0]) @ across)), 1e-6)
    side = np.clip(np.abs((np.asarray(points, np.float64) - chin) @ across) / half, 0.0, 1.0)
    return 1.0 - 0.7 * side


def jaw_weights(landmarks: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K,) float64 in [0, 1]: how much of the chin's drop each of ``points`` ((K, 2), the same coordinates as the
    face's ``landmarks``, mouth closed) takes when the jaw opens. Nothing above the mouth's corners moves; below them
    the weight grows to 1 a third of the way down to the chin, and falls towards the jaw's angles (near the hinge)."""
    lm = np.asarray(landmarks, np.float64)
    chin = lm[landmark_sets.FACE_HEIGHT[1]]
    down = _down(lm)
    corners = lm[landmark_sets.index(landmark_sets.MOUTH_CORNERS)]
    corner_v = float(np.mean(corners @ down))
    span = max(float(chin @ down) - corner_v, 1e-6)
    pts = np.asarray(points, np.float64)
    vertical = np.clip((pts @ down - corner_v) / (0.35 * span), 0.0, 1.0)
    return vertical * _side_share(lm, pts)


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
    # Each column covered at the chin: its first uncovered sample from the chin down (all columns at once), counted
    # only where that sample lies in the picture (else the edge runs past the searched depth or the picture).
    open_below = ~covered[:, at_chin:]
    first = at_chin + open_below.argmax(axis=1)
    rows = np.arange(len(first))
    edge = covered[:, at_chin] & open_below.any(axis=1) & inside[rows, first]
    bottoms = ts[first[edge]]
    if len(bottoms) < (_COLUMNS + 1) // 2:
        return None
    return float(np.median(bottoms))


__all__ = ["JawOpening", "JawOptions", "closed_mouth_picture", "jaw_weights", "mask_drop", "mouth_opening"]
