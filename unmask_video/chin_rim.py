"""The pale rim under a light mask's lower edge joined to the mask, so that the rebuilt chin reaches past it.

Below a white or pale mask's lower edge the frame shows a few pixels lighter than the neck further down: the cloth's
blurred edge, and the neck lit by the cloth beside it. The segmenter's outline ends where the cloth's colour step is
sharpest, so those pixels stay the frame's; once the mask is rebuilt they are a pale line along the rebuilt chin's
lower edge, following the mask's outline (the white-mask woman). :func:`join_chin_rim` reads, in each column of the
mask's lower edge below the mouth and above the neck, the frame's lightness down from the edge: the pixels lighter than
the neck a little further down (its median there) by ``lighter`` levels, from the edge on, no deeper than ``depth``,
where the cloth is lighter than that neck too (a band that runs on into the neck's rows only where it fades on the
way); the mask's edge profile there is moved down by that many pixels (the columns' depths smoothed along the edge). A
neck in the chin's shade (darker just under the mask than further down), a dark or coloured cloth, a collar of the
neck's lightness: nothing joins.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.face_axes import face_axes
from unmask_video.face_units import face_size_px

__all__ = ["ChinRimOptions", "join_chin_rim"]


@dataclass(frozen=True)
class ChinRimOptions:
    """Lengths as fractions of the face's size (:func:`~unmask_video.face_units.face_size_px`); levels on 8-bit Lab
    L (0-255)."""

    #: Off: the mask is returned as it is.
    enabled: bool = True
    #: The rim joins at most this deep below the mask's lower edge (at least one pixel).
    depth: float = 0.03
    #: The neck's lightness: the median of the column this far below the edge (from, to).
    neck: tuple[float, float] = (0.06, 0.1)
    #: A rim pixel is lighter than that neck by at least this many levels ...
    lighter: float = 8.0
    #: ... and by at most this many: a lit neck is not much lighter than itself further down (a hand or skin over dark
    #: hair or a dark collar is).
    at_most: float = 48.0
    #: ... where the cloth (its median just inside the edge) is lighter than the neck by at least this many (8: a neck
    #: lit nearly as light as the cloth still shows the band, the white-mask woman's image-right side; 24 left it).
    cloth_above: float = 8.0
    #: A rim that runs on into the neck's rows is a collar or a hood's lining, unless it fades: its lead over the neck
    #: in its last row before them is at most this share of its lead at the edge (the cloth's light on the neck, fading
    #: down; 0: no such run joins).
    fade: float = 0.6
    #: The rim joins where it runs along the edge for at least this width (a line under the chin, not a spot beside
    #: a hand or the hair at the jaw's corner).
    width: float = 0.1
    #: ... and goes down at its ends by a pixel every this many columns.
    taper: int = 2
    #: The columns' depths are smoothed by a running median of this many columns (odd).
    smooth: int = 5


def join_chin_rim(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, options: ChinRimOptions | None = None
) -> np.ndarray:
    """``mask`` (float32 (h, w) in [0, 1], > 0.5 the mask) of ROI ``image`` (uint8 RGB; its ``landmarks``) with its
    lower edge below the mouth moved down over the pale rim under it; ``mask`` itself where nothing joins."""
    options = options or ChinRimOptions()
    h, w = mask.shape
    pts = np.asarray(landmarks, np.float64)
    mouth = float(pts[list(landmark_sets.MOUTH_CORNERS), 1].max())
    start = min(max(int(np.floor(mouth)) + 1, 0), h)
    inside = mask[start:] > 0.5  # (the rows below the mouth only)
    if not options.enabled or not inside.any():
        return mask
    size = face_size_px(landmarks)
    deep = max(int(round(options.depth * size)), 1)
    n0 = max(int(round(options.neck[0] * size)), deep + 1)
    n1 = max(int(round(options.neck[1] * size)), n0 + 1)
    # (each column's lowest mask pixel: the edge, where it lies below the mouth, above the neck (between the lines
    # down the face through the neck's sides: beside it lie a hood's lining, a hand, the hair) and the neck's rows are
    # in the image)
    cols = np.flatnonzero(inside.any(axis=0))
    bottom = h - 1 - np.argmax(inside[::-1, cols], axis=0)  # (rows of the mask: ``inside`` ends where it ends)
    down, _ = face_axes(pts)
    across = cols * down[1] - bottom * down[0]
    a, b = sorted(float(pts[i][0] * down[1] - pts[i][1] * down[0]) for i in landmark_sets.NECK_SIDES)
    keep = (bottom > mouth) & (bottom + n1 < h) & (across >= a) & (across <= b)
    cols, bottom = cols[keep], bottom[keep]
    if not len(cols):
        return mask
    # (the lightness of each column's pixels from 5 above its edge to the neck's last row, converted alone)
    rows = bottom[None, :] + np.arange(-5, n1 + 1)[:, None]
    picked = np.ascontiguousarray(image[np.maximum(rows, 0), cols[None, :]])
    light = cv2.cvtColor(picked, cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32)  # (row d of the column: edge + d - 5)
    neck = np.median(light[5 + n0 : 5 + n1 + 1], axis=0)
    cloth = np.median(light[5 - 5 : 5 - 1], axis=0)  # (2 to 5 rows inside the edge)
    below = light[5 + 1 : 5 + n0]
    rim = (below >= neck + options.lighter) & (below <= neck + options.at_most)
    # (the rim's pixels from the edge on: a run that starts at the edge, and ends before the neck's rows or fades
    # before them: a thin band or the cloth's light spilling down, not a pale collar or a hood's lining under the mask)
    run = np.cumprod(rim, axis=0).sum(axis=0)
    depth = np.minimum(run, deep)
    collar = (run >= n0 - 1) & (below[-1] - neck > options.fade * (below[0] - neck))
    depth[(cloth < neck + options.cloth_above) | collar] = 0
    if not depth.any():
        return mask
    if options.smooth > 1 and len(depth) >= options.smooth:
        depth = _running_median(depth, options.smooth | 1)
    runs = _long_runs(depth > 0, cols, options.width * size)
    depth[runs == 0] = 0
    if not depth.any():
        return mask
    # (the edge slopes in at a run's ends, a pixel down every ``taper`` columns: no step)
    depth = np.minimum(depth, (runs // max(options.taper, 1)).astype(depth.dtype))
    # (each moved column's edge profile, from just inside the edge down, moved down by its depth: the mask there is
    # the largest of itself and its copies moved down by 1 .. depth pixels)
    top, r1 = max(int(bottom.min()) - 3, 0), int(bottom.max()) + n1 + 1
    part = mask[top:r1, cols]
    rows = np.arange(top, r1)[:, None]
    moved = part.copy()
    for d in range(1, int(depth.max()) + 1):
        shifted = np.zeros_like(part)
        shifted[d:] = part[:-d]
        moved = np.where((rows >= bottom - 3 + d) & (depth >= d), np.maximum(moved, shifted), moved)
    out = mask.copy()
    out[top:r1, cols] = moved
    return out


def _long_runs(on: np.ndarray, cols: np.ndarray, width: float) -> np.ndarray:
    """int like ``on``: in its runs of neighbouring ``cols`` (ascending column numbers) at least ``width`` columns
    long, each column's distance (1 at the ends) to the run's nearer end; 0 elsewhere."""
    # (a run breaks where ``on`` is off or the columns skip one)
    starts = np.flatnonzero(on & ~np.r_[False, on[:-1] & (np.diff(cols) == 1)])
    out = np.zeros(on.shape, np.int64)
    for start in starts:
        stop = start + 1
        while stop < len(on) and on[stop] and cols[stop] == cols[stop - 1] + 1:
            stop += 1
        if stop - start >= width:
            at = np.arange(stop - start)
            out[start:stop] = np.minimum(at, stop - start - 1 - at) + 1
    return out


def _running_median(values: np.ndarray, k: int) -> np.ndarray:
    """The running median of ``values`` over ``k`` (odd) neighbours, the ends padded with their own values."""
    pad = np.pad(values, k // 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, k), axis=1).round().astype(values.dtype)
