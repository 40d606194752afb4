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
    if not options.enabled:
        return mask
    h, w = mask.shape
    pts = np.asarray(landmarks, np.float64)
    mouth = float(pts[list(landmark_sets.MOUTH_CORNERS), 1].max())
    start = min(max(int(np.floor(mouth)) + 1, 0), h)
    size = face_size_px(landmarks)
    deep = max(int(round(options.depth * size)), 1)
    n0 = max(int(round(options.neck[0] * size)), deep + 1)
    n1 = max(int(round(options.neck[1] * size)), n0 + 1)
    down, _ = face_axes(pts)
    a, b = sorted(float(pts[i][0] * down[1] - pts[i][1] * down[0]) for i in landmark_sets.NECK_SIDES)
    # (each column's lowest mask pixel: the edge, where it lies below the mouth, above the neck (between the lines
    # down the face through the neck's sides: beside it lie a hood's lining, a hand, the hair) and the neck's rows are
    # in the image; only the columns those lines can cross at such an edge are read)
    c0, c1 = _neck_span(down, a, b, start, h - n1 - 1, w)
    if start >= h or c1 <= c0:
        return mask
    # (each column's lowest mask row at or below ``start``: the first mask pixel of its row read upwards, the columns
    # as rows (OpenCV's transpose and flip, then NumPy's first largest); no mask pixel: none)
    up = cv2.flip(cv2.transpose(cv2.compare(mask[start:, c0:c1], 0.5, cv2.CMP_GT)), 1)
    low = up.argmax(axis=1)
    cols = np.flatnonzero(up[np.arange(len(up)), low])
    if not len(cols):
        return mask
    bottom = h - 1 - low[cols]
    cols += c0
    across = cols * down[1] - bottom * down[0]
    keep = (bottom > mouth) & (bottom + n1 < h) & (across >= a) & (across <= b)
    cols, bottom = cols[keep], bottom[keep]
    if not len(cols):
        return mask
    # (the lightness of each column's pixels, converted alone: first the cloth's rows (2 to 5 inside the edge), the
    # first row past the edge and the neck's, which tell where a rim may start; the rows between only where such
    # columns may make a run long enough)
    light = _lightness(image, bottom, cols, np.concatenate((np.arange(-5, -1), [1], np.arange(n0, n1 + 1))))
    cloth, first, neck = _median_rows(light[:, :4]), light[:, 4].astype(np.float32), _median_rows(light[:, 5:])
    may = (first >= neck + options.lighter) & (first <= neck + options.at_most)
    may &= cloth >= neck + options.cloth_above
    if not _may_join(may, cols, options.width * size, options.smooth):
        return mask
    below = np.concatenate([first[None], _lightness(image, bottom, cols, np.arange(2, n0)).T.astype(np.float32)])
    depth = _rim_depth(below, cloth, neck, deep, n0, options)
    return _moved_down(mask, cols, bottom, depth, size, n1, options) if depth.any() else mask


def _rim_depth(
    below: np.ndarray, cloth: np.ndarray, neck: np.ndarray, deep: int, n0: int, options: ChinRimOptions
) -> np.ndarray:
    """Each column's rim depth in pixels (0: nothing joins there) from its lightness ``below`` the edge (rows 1 to
    ``n0`` - 1 past it, one column a column), its ``cloth``'s and its ``neck``'s (medians), at most ``deep``."""
    rim = (below >= neck + options.lighter) & (below <= neck + options.at_most)
    # (the rim's pixels from the edge on: a run that starts at the edge, and ends before the neck's rows or fades
    # before them: a thin band or the cloth's light spilling down, not a pale collar or a hood's lining under the mask)
    run = np.cumprod(rim, axis=0).sum(axis=0)
    depth = np.minimum(run, deep)
    collar = (run >= n0 - 1) & (below[-1] - neck > options.fade * (below[0] - neck))
    depth[(cloth < neck + options.cloth_above) | collar] = 0
    return depth


def _moved_down(
    mask: np.ndarray, cols: np.ndarray, bottom: np.ndarray, depth: np.ndarray, size: float, n1: int,
    options: ChinRimOptions,
) -> np.ndarray:
    """``mask`` with the lower edge of columns ``cols`` (each's lowest mask row ``bottom``) moved down by ``depth``
    (smoothed along the edge, kept in runs at least ``width`` long, sloped in at their ends); ``mask`` itself where
    no such run is left."""
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


def _neck_span(down: np.ndarray, a: float, b: float, top: int, low: int, w: int) -> tuple[int, int]:
    """The columns (first, past the last) in which a point of rows ``top`` .. ``low`` may lie between the lines down the
    face (unit vector ``down``) at ``a`` and ``b`` (x down_y - y down_x), a column or two wider; all ``w`` columns on a
    face turned far from upright."""
    if down[1] < 0.1 or low < top:
        return 0, w
    ends = (top * down[0], low * down[0])
    c0 = int(np.floor((a + min(ends)) / down[1])) - 2
    c1 = int(np.ceil((b + max(ends)) / down[1])) + 3
    return min(max(c0, 0), w), min(max(c1, 0), w)


def _lightness(image: np.ndarray, bottom: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """uint8 (len(cols), len(rows)): 8-bit Lab L of each column's pixels ``rows`` (offsets, int) below its edge
    ``bottom`` (rows above the image read at its first row)."""
    ys = np.maximum(bottom[:, None] + rows[None, :], 0).astype(np.float32)
    xs = np.empty_like(ys)
    xs[:] = cols[:, None]
    picked = cv2.remap(image, xs, ys, cv2.INTER_NEAREST)  # (whole pixels: a gather)
    return cv2.cvtColor(picked, cv2.COLOR_RGB2Lab)[..., 0]


def _median_rows(values: np.ndarray) -> np.ndarray:
    """float32: the median of each row of ``values`` (uint8; as ``np.median`` gives it on them as float32)."""
    n = values.shape[1]
    k = n // 2
    if n % 2:
        return np.partition(values, k, axis=1)[:, k].astype(np.float32)
    part = np.partition(values, (k - 1, k), axis=1)
    return (part[:, k - 1].astype(np.float32) + part[:, k].astype(np.float32)) / np.float32(2.0)


def _may_join(may: np.ndarray, cols: np.ndarray, width: float, smooth: int) -> bool:
    """Whether the columns whose rim may start at the edge (``may``: the first row past the edge and the cloth
    pass) can hold a run :func:`_long_runs` keeps after the running median: a bound (a column's depth is 0 where
    ``may`` is off, and the running median and the runs only grow with it), so the rows between are read only there."""
    if not may.any():
        return False
    on = may
    if smooth > 1 and len(on) >= smooth:
        # (:func:`_running_median` of 0s and 1s: 1 where at least half the window is)
        k = smooth | 1
        padded = np.concatenate((np.repeat(on[:1], k // 2), on, np.repeat(on[-1:], k // 2))).astype(np.int32)
        on = np.convolve(padded, np.ones(k, np.int32), mode="valid") > k // 2
    # (the runs of neighbouring columns, as :func:`_long_runs` splits them: their first and last indices)
    step = np.diff(cols) == 1
    joined = np.zeros(len(on) + 1, bool)  # (index i: column i - 1 runs on into column i)
    joined[1:-1] = on[:-1] & on[1:] & step
    starts = np.flatnonzero(on & ~joined[:-1])
    ends = np.flatnonzero(on & ~joined[1:])
    return bool((ends - starts + 1 >= width).any())


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
