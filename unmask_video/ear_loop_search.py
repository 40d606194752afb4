"""The ear loops' full search (:mod:`unmask_video.ear_loops`): on a worn mask's final mask, the zones between its
side edges and the ears, the mask's colour, the strokes of that colour chained to the side edges and grown."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.blend import grow_box, mask_bbox
from unmask_video.ear_loop_options import EarLoopOptions, Look
from unmask_video.ear_loop_pixels import (
    CORNERS, chain_strokes, grow_loops, grown_back, half_hull, long_strokes, samples, shrunk, stroke_pixels,
    work_scale,
)
from unmask_video.face_units import face_size_px
from unmask_video.order_stats import byte_median

__all__ = ["loop_strokes", "search_loops"]


def loop_strokes(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, options: EarLoopOptions | None = None,
    before: np.ndarray | None = None,
) -> np.ndarray:
    """uint8 {0, 1} (h, w): the ear loops past ``mask`` ((h, w) float or uint8, > 0.5 the mask) in ``image``
    ((h, w, 3) uint8 RGB; its (468, 2) ``landmarks``); ``before``: the last frame's loops (grown into). A face wider
    than ``work_face_px`` is looked at shrunk to that size."""
    return search_loops(image, landmarks, mask, options or EarLoopOptions(), before)[0]


def search_loops(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, options: EarLoopOptions, before: np.ndarray | None,
    within: tuple[slice, slice] | None = None,
) -> tuple[np.ndarray, np.ndarray, Look | None]:
    """:func:`loop_strokes`, the strokes it chained to the mask (uint8 {0, 1}, the loops' core) and the colours it
    read (None: none, no mask colour found). ``within``: a box of ``mask`` outside which it is 0 (its box is found
    there; None: the whole mask)."""
    size = face_size_px(landmarks)
    out = np.zeros(mask.shape[:2], np.uint8)
    strokes = out.copy()
    # (only around the mask: its box grown past the ears' zones)
    box = inside_box(mask, int(np.ceil((options.ear_radius + 0.15) * size)), within)
    if box is None:
        return out, strokes, None
    origin = np.array([box[1].start or 0, box[0].start or 0], np.float32)
    scale = work_scale(size, options)
    image_s, mask_s, before_s = shrunk(scale, image[box], mask[box], [] if before is None else [before[box]])
    found, chained, look = _loops_at(image_s, (np.asarray(landmarks, np.float32) - origin) * scale, mask_s,
                                     size * scale, options, before_s[0] if before_s else None)  # fmt: skip
    out[box] = grown_back(found, scale, mask[box])
    strokes[box] = grown_back(chained, scale, mask[box])
    return out, strokes, None if look is None else look.moved(origin, 1.0 / scale)


def inside_box(mask: np.ndarray, margin: int, within: tuple[slice, slice] | None = None) -> tuple[slice, slice] | None:
    """``mask_bbox(mask > 0.5, margin, mask.shape[:2])``, read only in ``within`` (a box of ``mask`` outside which it is
    0: the same box, at the cost of that box's pixels; None: the whole mask)."""
    if within is None:
        return mask_bbox(mask > 0.5, margin, mask.shape[:2])
    inner = mask_bbox(mask[within] > 0.5, 0, mask.shape[:2])
    if inner is None:
        return None
    (rows, cols), (r0, c0) = inner, (within[0].start or 0, within[1].start or 0)
    return grow_box((slice(rows.start + r0, rows.stop + r0), slice(cols.start + c0, cols.stop + c0)), margin,
                    mask.shape[:2])  # fmt: skip


def _loops_at(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, size: float, options: EarLoopOptions,
    before: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, Look | None]:
    """:func:`loop_strokes` at the image's own size (``size``: its face's), the strokes it chained to the mask and
    the colours it read."""
    inside = (mask > 0.5).astype(np.uint8)
    zone, rim, hulls, starts, upper = _zones(inside, landmarks, size, options)
    box = mask_bbox(zone > 0, 0, zone.shape)
    out = np.zeros(inside.shape, np.uint8)
    strokes = out.copy()
    # (the colours read on the zones as they are above the side edges' lowest third: ``low_side`` does not move them)
    at = mask_bbox(upper > 0, 0, upper.shape) if options.low_side is not None else box
    if box is None or at is None:
        return out, strokes, None
    look = _look(image[at], inside[at], upper[at])
    if look is None:
        return out, strokes, None
    look = replace(look, hulls=hulls, starts=starts)
    # (each side on its own box: the pixels between the sides are never read; the filters' output is the same as on
    # the zones' joint box, its edges kept)
    for part in _side_boxes(zone, hulls, box, _reach(size, options)) if _area(box) > options.split_px else [box]:
        lab = cv2.cvtColor(image[part], cv2.COLOR_RGB2Lab)
        strong, weak, dark = stroke_pixels(lab, zone[part], look, size, options)
        strokes[part] = chain_strokes(long_strokes(strong, size, options), rim[part], size, options, dark)
        grown = grow_loops(strokes[part], weak, None if before is None else before[part], size, options)
        if grown.any():
            out[part] = cv2.dilate(grown, np.ones((3, 3), np.uint8)) & (1 - inside[part])  # (their anti-aliased edges)
    return out, strokes, look


def _area(box: tuple[slice, slice]) -> int:
    """px: the area of ``box``."""
    return (box[0].stop - (box[0].start or 0)) * (box[1].stop - (box[1].start or 0))


def _reach(size: float, options: EarLoopOptions) -> int:
    """px: how far from a zone's pixel the search's steps read (the background's and the colour patch's openings,
    the chain's gap, the growth's opening and the last dilation)."""
    k = max(int(round(options.background * size)) | 1, 3)
    w = max(int(round(options.patch * size)) | 1, 3)
    g = max(int(round(options.gap * size)) | 1, 3)
    return max(2 * (k // 2), 2 * (w // 2) + 2, g // 2 + 1) + 1


def _side_boxes(
    zone: np.ndarray, hulls: tuple[np.ndarray, ...], box: tuple[slice, slice], reach: int
) -> list[tuple[slice, slice]]:
    """Each side's box: the ``zone``'s pixels inside its hull's box (of ``hulls``) grown by ``reach``, inside the
    zones' joint ``box``; one box round both where they would meet."""
    (r0, r1), (c0, c1) = ((sl.start or 0, sl.stop) for sl in box)
    parts = []
    for hull in hulls:
        hx, hy, hw, hh = cv2.boundingRect(hull.astype(np.int32))
        x0, y0, x1, y1 = max(hx, c0), max(hy, r0), min(hx + hw, c1), min(hy + hh, r1)
        x, y, w, h = cv2.boundingRect(zone[y0:y1, x0:x1]) if x1 > x0 and y1 > y0 else (0, 0, 0, 0)
        if w > 0:
            x, y = x + x0, y + y0
            parts.append((max(x - reach, c0), max(y - reach, r0), min(x + w + reach, c1), min(y + h + reach, r1)))
    if len(parts) == 2 and parts[0][0] < parts[1][2] and parts[1][0] < parts[0][2] and (
        parts[0][1] < parts[1][3] and parts[1][1] < parts[0][3]
    ):
        a, b = parts
        parts = [(min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))]
    return [(slice(y0, y1), slice(x0, x1)) for x0, y0, x1, y1 in parts]


def _zones(
    inside: np.ndarray, landmarks: np.ndarray, size: float, options: EarLoopOptions
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...], np.ndarray]:
    """uint8 (h, w): where loops may lie (both sides' zones, outside the mask) and the mask's side edges they start
    from (its rim there); each side's hull (before the eye's corner cuts it) and the box of its side edge
    ((x0, y0), (x1, y1); (0, 2): none); the zones with their hulls taking the side edges above their lowest third only
    (the zones themselves, the same array, where ``low_side`` is None)."""
    lowered = options.low_side is not None  # (the zones' hulls take the side edges lower down: ``above`` their own)
    zone = np.zeros(inside.shape, np.uint8)
    starts = np.zeros(inside.shape, np.uint8)
    near = mask_bbox(inside > 0, 1, inside.shape)
    if near is None:
        return zone, starts, (), (), zone
    rows, cols = near
    (top, left) = (rows.start or 0, cols.start or 0)
    sub = inside[near]
    rim = cv2.dilate(sub, np.ones((3, 3), np.uint8)) - sub
    x, y, w, h = cv2.boundingRect(sub)
    ry, rx = np.divmod(np.flatnonzero(rim != 0), rim.shape[1])  # (as np.nonzero lists them, several times faster)
    band = options.side * w
    upper = ry <= y + h - h / 3.0
    sides = ((rx <= x + band) & upper, (rx >= x + w - 1 - band) & upper)
    lows = sides
    if lowered:
        low = ry <= y + h - options.low_side * h
        lows = ((rx <= x + band) & low, (rx >= x + w - 1 - band) & low)
    above = np.zeros(inside.shape, np.uint8) if lowered else zone
    rx, ry = rx + left, ry + top
    pts = np.asarray(landmarks, np.float32)
    radius = options.ear_radius * size
    hulls, boxes = [], []
    for ear_ids, corner, at_side, at_low in zip(ls.OUTLINE_SIDES, CORNERS, sides, lows):
        ear = pts[list(ear_ids)].mean(axis=0)
        circle = cv2.ellipse2Poly((int(round(ear[0])), int(round(ear[1]))), (int(radius), int(radius)), 0, 0, 360, 10)
        edge = np.stack([rx[at_side], ry[at_side]], axis=1).astype(np.int32)
        hull = cv2.convexHull(np.concatenate([circle.astype(np.int32), edge]) if len(edge) else circle)
        if lowered:  # (the hull taking the side edge lower down: the zone; the one above: the colours')
            half_hull(above, hull, pts[corner], ear - pts[corner], options.eye_clear * size)
            down = np.stack([rx[at_low], ry[at_low]], axis=1).astype(np.int32)
            hull = cv2.convexHull(np.concatenate([circle.astype(np.int32), down]) if len(down) else circle)
        half_hull(zone, hull, pts[corner], ear - pts[corner], options.eye_clear * size)
        starts[ry[at_side], rx[at_side]] = 1
        hulls.append(hull.reshape(-1, 2).astype(np.float32))
        boxes.append(np.float32([edge.min(axis=0), edge.max(axis=0) + 1]) if len(edge) else np.zeros((0, 2), np.float32))
    zone &= 1 - inside
    if lowered:
        above &= 1 - inside
    return zone, starts, tuple(hulls), tuple(boxes), above


def _look(image: np.ndarray, inside: np.ndarray, zone: np.ndarray) -> Look | None:
    """The colours of RGB image ``image`` that the stroke pixels are read against: the mask's (``inside``) and, per
    Lab channel, whether it lies above the ``zone``'s median; None: no mask pixels."""
    core = cv2.erode(inside, np.ones((5, 5), np.uint8))
    cloth = samples(image, core if core.any() else inside)
    if not len(cloth):
        return None
    m = byte_median(cloth).astype(np.float32)
    where = samples(image, zone)
    typical = byte_median(where) if len(where) else m
    return Look(m, (bool(m[0] >= typical[0]), bool(m[1] >= typical[1]), bool(m[2] >= typical[2])))
