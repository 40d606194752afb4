"""A light mask's blurred rim left past its outline beside the rebuilt face, filled after the blend.

A light mask's edge is blurred in the frame: the few pixels past the segmented outline mix the cloth with what lies
beside it (a finger laid along the mask's side, the hair, the neck). Where the composite gives the frame's own pixels
there (past the face's outline, the fill beside the face carries the frame's nearest pixels), the blend keeps them,
and once the mask is rebuilt they show as a thin pale line between the rebuilt cheek and the finger or the hair
(KF94's image-right fingers at frames 200-235, the mint mask's side edge). :func:`pale_rim` finds that line on the
blended frame: pixels just outside the mask (within ``depth`` blend widths), lighter than an opening of the blended
frame's lightness (its luma) leaves them (a thin light line across, by ``lighter`` levels) but not so in the frame before the
blend (the line is the rebuild's doing: the cloth beside it was lighter still; an earring's highlight is the frame's), darker than the cloth (a mix of it: a mask
lighter than the line), with no mask pixel straight below them within that depth (the mask's top edge: the lower lids
and the nose's ridge above it are the face's own), in pieces that reach the mask's edge and that the blend left as
the frame's on at least ``kept_share`` of their pixels. :func:`fill_pale_rim` fills them from their surroundings
(OpenCV's Telea inpainting, as the ear loops are filled): the rebuilt cheek meets the finger or the hair.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.stages import Box

__all__ = ["PaleRimOptions", "pale_rim", "box_pixels", "fill_pale_rim"]


@dataclass(frozen=True)
class PaleRimOptions:
    """Lengths in blend widths (the feather's reach past the mask, which scales with the face); levels of 8-bit luma
    (OpenCV's grey, 0-255)."""

    #: Off (the default): the blend's result is left as it is. On, it costs ~10 ms a frame on the 720p speed clip's
    #: threaded loop (0.84x its fps, 25.3 -> 21.2 on the thirtieth round's host) for a thin line a viewer sees only
    #: near fingers over a light mask: opt in with ``PipelineOptions(pale_rim=PaleRimOptions(enabled=True))``.
    enabled: bool = False
    #: The rim lies at most this far outside the mask ...
    depth: float = 0.35
    #: ... and is lighter than an opening of the lightness by a disk this wide (an odd number of pixels, at least 3:
    #: wider than the line, so it wipes the line out) by at least ``lighter`` levels.
    opening: float = 0.5
    #: ... but never wider than this (px): the line is a few pixels of the frame's blur, and an elliptic opening's
    #: cost grows with the disk's area (a 1080p face's 19 px disk cost ~7 ms a frame)
    opening_max_px: int = 9
    lighter: float = 8.0
    #: The blend changed a pixel left "as the frame's" by at most this many levels (any channel) ...
    kept: float = 8.0
    #: ... and a piece is filled only where at least this share of its pixels are such.
    kept_share: float = 0.5
    touch_px: float = 2.5  # a piece reaches the mask's edge: one of its pixels lies within this many pixels of it
    inpaint_radius: float = 3.0  # the Telea inpainting's radius (px)


def pale_rim(
    before: np.ndarray, after: np.ndarray, mask: np.ndarray, width_px: float, options: PaleRimOptions
) -> np.ndarray | None:
    """(h, w) uint8 {0, 1}: the pale rim's pixels (see the module docstring) on a box of a frame: ``before`` and
    ``after`` its pixels before and after the blend ((h, w, 3) uint8 RGB), ``mask`` the face's mask there ((h, w),
    >= 0.5: mask), ``width_px`` the blend width. None: none."""
    found = _rim_near_mask(before, after, mask, width_px, options)
    if found is None:
        return None
    out = np.zeros(np.shape(mask)[:2], np.uint8)
    out[found] = 1
    return out


def _rim_near_mask(
    before: np.ndarray, after: np.ndarray, mask: np.ndarray, width_px: float, options: PaleRimOptions
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`pale_rim` on the mask's box grown by the rim's depth and the opening's reach (the rim lies there; the
    opening and the distance read nothing further, so the pixels found are the same as on the whole box): the rim's
    pixels' rows and columns in the box. None: none."""
    m = (np.asarray(mask) >= 0.5).view(np.uint8)
    depth = options.depth * width_px
    if depth < 1.0:
        return None
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if not len(rows):
        return None
    k = max(min(int(round(options.opening * width_px)), options.opening_max_px) | 1, 3)
    # (the distance transform's 3x3 chamfer steps are at least 0.955 px: a pixel within the depth of the mask lies
    # within depth / 0.95 of its box)
    grow = int(np.ceil(depth / 0.95)) + k + 1
    h, w = m.shape
    top, left = max(int(rows[0]) - grow, 0), max(int(cols[0]) - grow, 0)
    bottom, right = min(int(rows[-1]) + grow + 1, h), min(int(cols[-1]) + grow + 1, w)
    m = m[top:bottom, left:right]
    before, after = before[top:bottom, left:right], after[top:bottom, left:right]
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    light = cv2.cvtColor(after, cv2.COLOR_RGB2GRAY)
    # (a mask pixel straight below, within the depth: the mask's top edge; the kernel's anchor at its top row makes
    # the dilation at a pixel the largest of it and the ``n`` pixels below it)
    n = int(np.ceil(depth)) + 1
    below = cv2.dilate(m, np.ones((n + 1, 1), np.uint8), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    candidate = ((outside > 0) & (outside <= depth) & (below == 0)
                 & (cv2.subtract(light, cv2.morphologyEx(light, cv2.MORPH_OPEN, disk)) > options.lighter))  # fmt: skip
    ys, xs = np.nonzero(candidate)
    if len(ys) == 0:
        return None
    was = cv2.cvtColor(before, cv2.COLOR_RGB2GRAY)
    cloth = cv2.mean(was, mask=m)[0]
    # (a line the rebuild made: lighter than its sides now, not in the frame, where the cloth beside it was lighter
    # still; a thin light thing of the frame's own beside the mask, an earring's or a strand's highlight, was; read
    # on the candidates' box grown by the opening's reach only)
    h, w = m.shape
    r0, c0 = max(int(ys.min()) - k, 0), max(int(xs.min()) - k, 0)
    part = was[r0 : min(int(ys.max()) + k + 1, h), c0 : min(int(xs.max()) + k + 1, w)]
    was_ridge = cv2.subtract(part, cv2.morphologyEx(part, cv2.MORPH_OPEN, disk))[ys - r0, xs - c0]
    diff = np.abs(after[ys, xs].astype(np.int16) - before[ys, xs].astype(np.int16)).max(axis=1)
    on = (was_ridge <= options.lighter) & (light[ys, xs] < cloth)
    ys, xs, kept = ys[on], xs[on], diff[on] <= options.kept
    if len(ys) == 0:
        return None
    # (the pieces on the remaining candidates' box only)
    r0, c0 = int(ys.min()), int(xs.min())
    candidate = np.zeros((int(ys.max()) - r0 + 1, int(xs.max()) - c0 + 1), np.uint8)
    candidate[ys - r0, xs - c0] = 1
    count, labels = cv2.connectedComponents(candidate, connectivity=8)
    of = labels[ys - r0, xs - c0]
    touches = np.zeros(count, bool)
    touches[of[outside[ys, xs] <= options.touch_px]] = True
    share = np.bincount(of[kept], minlength=count) >= options.kept_share * np.bincount(of, minlength=count)
    keep = touches & share
    keep[0] = False
    if not keep.any():
        return None
    on = keep[of]
    return ys[on] + top, xs[on] + left


def _clipped(box: Box, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``box`` (x0, y0, x1, y1) clipped to a frame of ``shape``."""
    return max(box.x0, 0), max(box.y0, 0), min(box.x1, int(shape[1])), min(box.y1, int(shape[0]))


def box_pixels(frame: np.ndarray, box: Box) -> np.ndarray:
    """A copy of ``frame``'s pixels on ``box`` clipped to the frame (what :func:`fill_pale_rim` reads as ``before``)."""
    x0, y0, x1, y1 = _clipped(box, frame.shape)
    return frame[y0:max(y1, y0), x0:max(x1, x0)].copy()


def fill_pale_rim(
    frame: np.ndarray, before: np.ndarray, box: Box, mask: np.ndarray, width_px: float, options: PaleRimOptions
) -> int:
    """Fill the pale rim (:func:`pale_rim`) in ``frame`` (uint8 RGB, in place, already blended) on ``box`` from its
    surroundings: ``before`` is the frame's pixels on ``box`` before the blend (:func:`box_pixels`), ``mask`` the
    face's mask on the whole ``box``. Returns how many pixels were filled."""
    x0, y0, x1, y1 = _clipped(box, frame.shape)
    if x1 <= x0 or y1 <= y0:
        return 0
    crop = frame[y0:y1, x0:x1]
    found = _rim_near_mask(before, crop, mask[y0 - box.y0 : y1 - box.y0, x0 - box.x0 : x1 - box.x0], width_px, options)
    if found is None:
        return 0
    ys, xs = found
    # (on the rim's box grown by the inpainting's reach: what it reads round the rim; the pixels changed are the rim's)
    pad = int(np.ceil(options.inpaint_radius)) + 2
    h, w = crop.shape[:2]
    r0, c0 = max(int(ys.min()) - pad, 0), max(int(xs.min()) - pad, 0)
    r1, c1 = min(int(ys.max()) + pad + 1, h), min(int(xs.max()) + pad + 1, w)
    rim = np.zeros((r1 - r0, c1 - c0), np.uint8)
    rim[ys - r0, xs - c0] = 1
    filled = cv2.inpaint(crop[r0:r1, c0:c1], rim, options.inpaint_radius, cv2.INPAINT_TELEA)
    crop[ys, xs] = filled[ys - r0, xs - c0]
    return len(ys)
