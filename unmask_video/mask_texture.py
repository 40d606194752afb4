"""Cloth against mesh: the fine texture that tells a hood's lining or a knitted collar from a smooth mask.

A hood's white lining beside the jaw can have nearly a pale mask's colour, close enough that the colour model takes
it as cloth and the rim cut finds no colour step between them. What still tells them apart is the surface: the
lining is a mesh (small dark holes a few pixels apart at a 1080p face), the mask's cloth is smooth, its pleats and
seams thin lines far apart. At the segmenter's working size the mesh is gone, so the texture is measured at the
frame's own resolution: the density of small dark dots (a black top-hat by a disk the size of a hole, averaged over a
box), brought down to the working size and compared with the sure cloth's own.

:func:`textured` marks the pixels of a region (the mask beside the jaw and the neck) whose dot density is well
above the cloth's; :func:`without_foreign` then takes off the pieces of the mask there whose colour is not the cloth's
and that hold such marks: the lining goes, the cloth (its colour, however its pleats or print are textured) stays.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.blend import disk_morph, mask_bbox
from unmask_video.colour_model import free_chroma_of
from unmask_video.mask_pixels import pixels_of
from unmask_video.order_stats import median

__all__ = ["dot_density", "textured", "without_foreign"]


def dot_density(gray: np.ndarray, dot_px: int, box_px: int, within: np.ndarray | None = None) -> np.ndarray:
    """float32 (h, w): how much of ``gray`` (uint8) is small dark dots and lines: its black top-hat by an elliptic
    kernel ``dot_px`` across (what a closing by it fills: holes and lines thinner than it, not a step), averaged over a
    ``box_px`` box; with ``within`` (bool, the same shape) over its pixels in the box only (0 where it has none)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (dot_px, dot_px))
    hat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    # (box filters straight from uint8 into float32: their sums are whole numbers, summed exactly in integers; a float
    # image's box filter sums in float and is slower)
    if within is None:
        return cv2.boxFilter(hat, cv2.CV_32F, (box_px, box_px))
    weight = np.ascontiguousarray(within).view(np.uint8)  # (bool -> {0, 1}, no copy)
    # (the mean over ``within``'s pixels: the sum of the top-hat there over their count, both exact; 0 where the box
    # holds none of them, whose sum is 0 too)
    count = cv2.boxFilter(weight, cv2.CV_32F, (box_px, box_px), normalize=False)
    sums = cv2.boxFilter(hat * weight, cv2.CV_32F, (box_px, box_px), normalize=False)
    return np.divide(sums, np.maximum(count, np.float32(1.0), out=count), out=sums)


def textured(
    window: np.ndarray,
    where: np.ndarray,
    cloth: np.ndarray,
    scale: tuple[float, float],
    face_px: float,
    ratio: float,
    floor: float,
    dot: float = 0.01,
    box: float = 0.03,
    piece: float = 0.08,
) -> np.ndarray | None:
    """bool at the working size, or None when nothing is: the pixels of ``where`` whose dot density (:func:`dot_density`
    of the frame-resolution ``window``, uint8 RGB, that the working size shows at ``scale`` (x, y) working pixels per
    window pixel) is above ``ratio`` times the ``cloth``'s median (the sure mask near them) and above ``floor`` (grey
    levels: the noise of a smooth surface in compressed video), the density over the pixels of ``where`` and ``cloth``
    only. ``face_px``: the face's size in window pixels; the dots are ``dot`` faces across (3 to 9 px), the box ``box``
    faces, and so are the marked pieces at least, whose area is at least ``piece`` faces squared (a seam's stitches, an
    ear loop's knot on the cloth mark less). Measured only on the box around ``where`` grown by a tenth of the
    face (which holds the cloth beside it); None also when that box holds too little cloth (20 px)."""
    sx, sy = scale
    h, w = where.shape
    region = mask_bbox(where, int(round(0.1 * face_px * sx)), (h, w))
    if region is None:
        return None
    rows, cols = region
    near_cloth = cloth[region]
    if np.count_nonzero(near_cloth) < 20:
        return None
    # (the same box in window pixels: working pixel x covers window pixels x / sx to (x + 1) / sx)
    wy0, wy1 = int(rows.start / sy), min(int(np.ceil(rows.stop / sy)), window.shape[0])
    wx0, wx1 = int(cols.start / sx), min(int(np.ceil(cols.stop / sx)), window.shape[1])
    gray = cv2.cvtColor(window[wy0:wy1, wx0:wx1], cv2.COLOR_RGB2GRAY)  # (a view's rows as they lie: no copy)
    dot_px = int(np.clip(round(dot * face_px), 3, 9)) | 1
    box_px = max(int(round(box * face_px)), 3)
    # (over the mask's own pixels only: the lining or the shadow line just past the cloth's edge is no dot of it)
    inside = (where | cloth)[region].astype(np.uint8)
    inside = cv2.resize(inside, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    density = dot_density(gray, dot_px, box_px, inside)
    shape = (rows.stop - rows.start, cols.stop - cols.start)
    density = cv2.resize(density, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    level = max(floor, ratio * float(median(density[near_cloth])))
    marks = where[region] & (density > level)
    # (in pieces at least ``box`` faces across: the thin dark line along the mask's own rim, a shadow under it, is
    # dense in dots over a band only a box wide)
    k = max(int(round(box * face_px * sx)) | 1, 3)
    marks = _large_pieces(disk_morph(marks.astype(np.uint8), cv2.MORPH_OPEN, k), (piece * face_px) ** 2 * sx * sy)
    if marks is None:
        return None
    out = np.zeros((h, w), bool)
    out[region] = marks
    return out


def _large_pieces(marks: np.ndarray, least: float) -> np.ndarray | None:
    """bool: the 8-connected pieces of ``marks`` (uint8 {0, 1}) of ``least`` pixels or more; None when there are none."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    large = stats[:, cv2.CC_STAT_AREA] >= least
    large[0] = False
    if not large.any():
        return None
    return large[labels]


def without_foreign(
    mask: np.ndarray, foreign: np.ndarray, zone: np.ndarray, lab: np.ndarray, cloth: np.ndarray, tolerance: float
) -> np.ndarray:
    """``mask`` (uint8 {0, 1}) less its pieces in ``zone`` (bool) whose colour is not the ``cloth``'s (bool: the sure
    mask) and that hold a ``foreign`` mark (bool: :func:`textured`). Not the cloth's: in the uint8 Lab ``lab`` (a 3 x 3
    median of it), a chroma over lightness (:func:`colour_model.shading_free_chroma`) farther than ``tolerance`` from
    the cloth's median one, and lighter than the cloth's median (a white lining or collar beside a pale mask; the
    cloth's own shaded side by the ear, its colour deeper where its pleats and loops are textured, stays). What the
    removal leaves apart from the mask outside ``zone`` goes too."""
    region = mask_bbox(mask, 1, mask.shape)
    if region is None or not cloth.any():
        return mask
    smooth = cv2.medianBlur(np.ascontiguousarray(lab[region]), 3)
    # (the chroma over lightness only at the pixels read, the sure cloth's and the candidates' (the mask's in the
    # zone), by the table of free_chroma_of: the same float32 values as shading_free_chroma over the whole box)
    cloth_px = pixels_of(smooth, cloth[region])
    sure = np.empty((3, len(cloth_px)), np.float32)
    sure[:2] = free_chroma_of(cloth_px).T
    sure[2] = cloth_px[:, 0]
    colour = median(sure)  # (the cloth's chroma over lightness, and its lightness)
    idx = np.flatnonzero((mask[region] > 0) & zone[region])
    px = np.take(smooth.reshape(-1, 3), idx, axis=0)
    far = ((free_chroma_of(px) - colour[:2]) ** 2).sum(axis=1) > tolerance**2
    far &= px[:, 0].astype(np.float32) > colour[2]
    off = np.zeros(smooth.shape[:2], np.uint8)
    off.reshape(-1)[idx[far]] = 1
    n, pieces = cv2.connectedComponents(off, connectivity=8)
    marked = np.unique(pieces[foreign[region] & (off > 0)])
    marked = marked[marked > 0]
    if marked.size == 0:
        return mask
    out = mask.copy()
    out[region][np.isin(pieces, marked)] = 0
    n, parts = cv2.connectedComponents(out, connectivity=8)
    kept = np.unique(parts[(out > 0) & ~zone])
    return np.isin(parts, kept[kept > 0]).astype(np.uint8)
