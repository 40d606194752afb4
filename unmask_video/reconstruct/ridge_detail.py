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
    run = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(ridge, axis=0).T))))
    # (every half pixel along it, at once)
    at = np.linspace(0.0, run[-1], max(int(np.ceil(run[-1] * 2.0)), 1) + 1)
    xs, ys = np.interp(at, run, ridge[:, 0]), np.interp(at, run, ridge[:, 1])
    cols, rows = np.rint(xs).astype(np.intp), np.rint(ys).astype(np.intp)
    seen = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)
    inside = np.zeros(len(at), bool)
    inside[seen] = hole[rows[seen], cols[seen]]
    if inside[0] or not inside.any():
        return None
    k = int(np.argmax(inside))
    return np.array([xs[k], ys[k]], np.float32), float(run[-1] - at[k])


def carry_ridge_detail(
    out: np.ndarray,
    image: np.ndarray,
    hole: np.ndarray,
    rebuilt: np.ndarray,
    dist: np.ndarray,
    landmarks: np.ndarray,
    gap: float,
    band: float,
    face_px: float,
    options: RidgeDetailOptions,
) -> bool:
    """Lay the frame's narrow detail across the nose's ridge, read just above the mask's top edge, on the rebuilt
    pixels along the ridge (``out``, (h, w, 3) uint8, changed in place where ``rebuilt``).

    ``image``: the frame's region; ``hole``: the mask there; ``rebuilt``: the pixels the composite wrote; ``dist``:
    every pixel's distance to ``hole``; ``landmarks``: (468, 2) in the region's pixels; ``gap``: how far above the hole
    the frame's skin is clean of the cloth (its bleed and shade); ``band``: how far past the hole the composite rebuilt
    (the blend's band, laid over from there); ``face_px``: the face's size. Returns whether any
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
    # Everything is read on a grid along and across the ridge (1 px steps): the detail is what is narrower than
    # ``sigma`` across it, a 1-D high-pass along each of its rows.
    pad = int(np.ceil(2.0 * sigma)) + 1
    reach = int(np.ceil(half)) + pad
    along_px = np.arange(-int(np.ceil(max(top, band))), int(np.ceil(carry)) + 1, dtype=np.float32)
    across_px = np.arange(-reach, reach + 1, dtype=np.float32)
    grid_x = edge[0] + along_px[:, None] * down[0] + across_px[None, :] * across[0]
    grid_y = edge[1] + along_px[:, None] * down[1] + across_px[None, :] * across[1]
    h, w = hole.shape
    x0, y0 = max(int(np.floor(grid_x.min())), 0), max(int(np.floor(grid_y.min())), 0)
    x1, y1 = min(int(np.ceil(grid_x.max())) + 2, w), min(int(np.ceil(grid_y.max())) + 2, h)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return False
    box = (slice(y0, y1), slice(x0, x1))
    map_x, map_y = (grid_x - x0).astype(np.float32), (grid_y - y0).astype(np.float32)

    def on_grid(grey: np.ndarray) -> np.ndarray:
        return cv2.remap(grey, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)

    # The frame's skin: off the hole and past the gap (never the cloth, nor its bleed). The profile across the ridge:
    # its lightness on that skin just past the gap above the hole (the hole's top edge peaks over the ridge and falls
    # away to its sides: the same distance from it, not the same row), averaged down the ridge.
    near = (~hole[box] & (dist[box] > gap) & (dist[box] <= top)).view(np.uint8)
    source = cv2.remap(near, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    source &= (along_px <= 0)[:, None]
    frame_grey = on_grid(cv2.cvtColor(np.ascontiguousarray(image[box]), cv2.COLOR_RGB2GRAY))
    counts = source.sum(axis=0)
    have = counts > 0
    middle = np.abs(across_px) < half
    if np.count_nonzero(have & middle) < options.min_source * np.count_nonzero(middle):
        log.debug("ridge detail: the skin above the mask's edge over the nose not seen")
        return False
    seen = np.where(source, frame_grey, 0.0).sum(axis=0)[have] / counts[have]
    profile = np.interp(across_px, across_px[have], seen).astype(np.float32)[None, :]
    detail = profile - cv2.GaussianBlur(profile, (0, 0), sigmaX=sigma, sigmaY=0.0, borderType=cv2.BORDER_REPLICATE)
    # The rebuilt skin's own detail of that width, on the same grid.
    own_grey = on_grid(cv2.cvtColor(np.ascontiguousarray(out[box]), cv2.COLOR_RGB2GRAY))
    k = 2 * int(np.ceil(3.0 * sigma)) + 1
    own = own_grey - cv2.GaussianBlur(own_grey, (k, 1), sigmaX=sigma, sigmaY=0.0, borderType=cv2.BORDER_REPLICATE)
    # Where it is laid: from above the edge down to ``carry`` past it, fading down the ridge and towards its sides.
    fade = np.where(along_px <= 0, 1.0, np.clip(1.0 - along_px / carry, 0.0, 1.0)).astype(np.float32)
    taper = np.where(middle, 0.5 * (1.0 + np.cos(np.pi * across_px / half)), 0.0).astype(np.float32)
    change = fade[:, None] * taper[None, :] * (detail - own)
    # Back onto the region's pixels (each pixel's place on the grid), on the rebuilt ones only, in the box of the
    # stretch it is laid on.
    laid = np.abs(across_px) <= half
    lx, ly = grid_x[:, laid], grid_y[:, laid]
    lx0, ly0 = max(int(np.floor(lx.min())), 0), max(int(np.floor(ly.min())), 0)
    lx1, ly1 = min(int(np.ceil(lx.max())) + 1, w), min(int(np.ceil(ly.max())) + 1, h)
    if lx1 <= lx0 or ly1 <= ly0:
        return False
    xs = np.arange(lx0, lx1, dtype=np.float32)[None, :] - edge[0]
    ys = np.arange(ly0, ly1, dtype=np.float32)[:, None] - edge[1]
    at_s = xs * down[0] + ys * down[1] - along_px[0]
    at_t = xs * across[0] + ys * across[1] - across_px[0]
    delta = cv2.remap(change, at_t, at_s, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    delta *= rebuilt[ly0:ly1, lx0:lx1]
    if not delta.any():
        return False
    target = out[ly0:ly1, lx0:lx1]
    target[...] = np.clip(np.rint(target.astype(np.float32) + delta[..., None]), 0, 255).astype(np.uint8)
    return True
