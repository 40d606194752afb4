"""The frame's own narrow detail along the nose's ridge, carried a little way down past the mask's top edge.

A bridge lit from one side shows a narrow highlight along the ridge (3-5 px on a 720p face). Where the mask's top edge
crosses the ridge, the blend's band just above the edge and the hole below it are rebuilt from the warped reference,
whose ridge (a stand-in's, or the same face in other light) has its own, wider and duller, and the seam field, smooth,
does not carry a streak that narrow: the frame's highlight ended in a step at the edge (the white-mask woman with a
frontal stand-in, benchmarks/README.md, helpers nose and ridge). :func:`carry_ridge_detail` reads the frame's
high-passed lightness across the ridge on the skin just above the edge (past the cloth's bleed, never the hole) and
lays that profile along the ridge's direction over the rebuilt pixels, from the band above the edge down into the hole
for a short, face-scaled length, fading out down the ridge and towards its sides; there it takes the place of the
rebuilt skin's own detail of the same width.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.face_units import FaceLength
from unmask_video.landmark_sets import NOSE_RIDGE, index

log = logging.getLogger(__name__)

__all__ = ["RidgeDetailOptions", "carry_ridge_detail"]


@dataclass(frozen=True)
class RidgeDetailOptions:
    """Lengths are :class:`~unmask_video.face_units.FaceLength` values (pixels on a face of
    ``face_units.REFERENCE_FACE_PX``)."""

    #: How far down the ridge past the mask's top edge the frame's detail is carried, fading linearly to nothing
    #: (never past the nose's tip region). ``FaceLength(0.0)``: off.
    carry: FaceLength = FaceLength(24.0, 4.0)
    #: How far to each side of the ridge the detail is read and laid (a raised cosine: full on the ridge line, nothing
    #: at this distance).
    half_width: FaceLength = FaceLength(14.0, 4.0)
    #: The high-pass's Gaussian: the detail carried is what is narrower than about this.
    sigma: FaceLength = FaceLength(10.0, 1.5)
    #: How far past the clean skin's start above the hole (past the cloth's bleed) the profile is read.
    source: FaceLength = FaceLength(5.0, 2.0)
    #: The share of the whole pixels across the ridge the profile must be read on (the frame's skin seen there, off the
    #: hole, past the gap) to carry anything.
    min_source: float = 0.8


def _crossing(ridge: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(point, left): where the ridge polyline ((k, 2) x, y, root first) first enters ``hole`` and how long the ridge
    runs on from there to its last point; None where its first point is already in the hole or it never enters."""
    h, w = hole.shape
    travelled = 0.0
    lengths = np.linalg.norm(np.diff(ridge, axis=0), axis=1)
    total = float(lengths.sum())
    for (a, b), seg in zip(zip(ridge[:-1], ridge[1:]), lengths):
        steps = max(int(np.ceil(seg * 2.0)), 1)
        for k in range(steps + 1):
            p = a + (b - a) * (k / steps)
            x, y = int(round(float(p[0]))), int(round(float(p[1])))
            if not (0 <= x < w and 0 <= y < h):
                continue
            if hole[y, x]:
                if travelled == 0.0 and k == 0:
                    return None
                return p, total - (travelled + seg * k / steps)
        travelled += float(seg)
    return None


def carry_ridge_detail(
    out: np.ndarray,
    image: np.ndarray,
    hole: np.ndarray,
    rebuilt: np.ndarray,
    dist: np.ndarray,
    landmarks: np.ndarray,
    gap: float,
    face_px: float,
    options: RidgeDetailOptions,
) -> bool:
    """Lay the frame's narrow detail across the nose's ridge, read just above the mask's top edge, on the rebuilt
    pixels along the ridge (``out``, (h, w, 3) uint8, changed in place where ``rebuilt``).

    ``image``: the frame's region; ``hole``: the mask there; ``rebuilt``: the pixels the composite wrote; ``dist``:
    every pixel's distance to ``hole``; ``landmarks``: (468, 2) in the region's pixels; ``gap``: how far above the hole
    the frame's skin is clean of the cloth (its bleed and shade); ``face_px``: the face's size. Returns whether any
    pixel changed (False where the ridge does not cross the hole's top edge or the skin above it is not seen)."""
    carry = options.carry.px(face_px)
    if carry <= 0:
        return False
    ridge = np.asarray(landmarks, np.float32)[index(NOSE_RIDGE)]
    crossing = _crossing(ridge, hole)
    if crossing is None:
        return False
    edge, left = crossing
    # (not over the tip: the ridge's last stretch before it is the bulb, not the bridge)
    carry = min(carry, 0.5 * left)
    if carry <= 1.0:
        return False
    down = edge - ridge[0]
    norm = float(np.hypot(*down))
    if norm < 1.0:
        return False
    down = down / norm  # (the bridge's direction above the mask: the root to the crossing, both the frame's)
    across = np.array([-down[1], down[0]], np.float32)
    half = options.half_width.px(face_px)
    sigma = options.sigma.px(face_px)
    top = gap + options.source.px(face_px)
    # The box of the (along, across) rectangle, padded for the blur.
    pad = int(np.ceil(3.0 * sigma)) + 1
    corners = np.array([edge + s * down + t * across for s in (-top, carry) for t in (-half, half)])
    h, w = hole.shape
    x0, y0 = (np.floor(corners.min(axis=0)).astype(int) - pad).clip(0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + pad + 1, (w, h))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return False
    box = (slice(y0, y1), slice(x0, x1))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    s = (xs - edge[0]) * down[0] + (ys - edge[1]) * down[1]
    t = (xs - edge[0]) * across[0] + (ys - edge[1]) * across[1]
    inside = np.abs(t) < half
    # The frame's skin: off the hole and past the gap (its low-pass from those pixels alone, a normalised
    # convolution: the cloth below the edge does not darken or lighten the detail next to it).
    skin = (~hole[box] & (dist[box] > gap)).astype(np.float32)
    frame_grey = cv2.cvtColor(np.ascontiguousarray(image[box]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    low = cv2.GaussianBlur(frame_grey * skin, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(skin, (0, 0), sigma), 1e-3)
    frame_detail = frame_grey - low
    # The profile across the ridge: the frame's detail on its skin just past the gap above the hole (the hole's top
    # edge peaks over the ridge and falls away to its sides: the same distance from it, not the same row).
    source = inside & (s <= 0) & (skin > 0) & (dist[box] <= top)
    bins = int(np.ceil(half))
    slot = np.clip(np.round(t[source]).astype(np.intp) + bins, 0, 2 * bins)
    counts = np.bincount(slot, minlength=2 * bins + 1)
    sums = np.bincount(slot, weights=frame_detail[source], minlength=2 * bins + 1)
    have = counts > 0
    if np.count_nonzero(have) < options.min_source * len(have):
        log.debug("ridge detail: the skin above the mask's edge over the nose not seen")
        return False
    at = np.arange(-bins, bins + 1, dtype=np.float32)
    profile = np.interp(at, at[have], sums[have] / counts[have]).astype(np.float32)
    # Where it is laid: the rebuilt pixels from above the edge down to ``carry`` past it, fading down and across.
    weight = np.where(s <= 0, 1.0, np.clip(1.0 - s / carry, 0.0, 1.0)).astype(np.float32)
    weight *= np.where(inside, 0.5 * (1.0 + np.cos(np.pi * t / half)), 0.0).astype(np.float32)
    weight *= rebuilt[box]
    if not weight.any():
        return False
    sub = out[box]
    grey = cv2.cvtColor(np.ascontiguousarray(sub), cv2.COLOR_RGB2GRAY).astype(np.float32)
    own = grey - cv2.GaussianBlur(grey, (0, 0), sigma)
    laid = np.interp(t, at, profile).astype(np.float32)
    delta = weight * (laid - own)
    sub[...] = np.clip(np.rint(sub.astype(np.float32) + delta[..., None]), 0, 255).astype(np.uint8)
    return True
