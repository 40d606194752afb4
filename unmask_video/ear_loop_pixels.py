"""The ear loops' pixel steps, shared by their search and their follow (:mod:`unmask_video.ear_loops`): the stroke
pixels pulled towards the mask's colour, the long thin strokes among them, chained to the mask's side edge and grown
into weaker pixels; the eyes' corners that bound their zones; the shrinking of a large face and the growing back."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.blend import grow_box, mask_bbox
from unmask_video.ear_loop_options import EarLoopOptions, Look
from unmask_video.stages import Box, Loops

__all__ = [
    "CORNERS", "chain_strokes", "dot", "grow_loops", "grown_back", "half_hull", "long_strokes", "placed", "samples",
    "shrunk", "stroke_pixels", "work_scale",
]


def placed(loops: Loops | None, box: Box, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 {0, 1} of ``shape``: ``loops`` (frame coordinates; None: none) on the ROI whose box in the frame is
    ``box``."""
    out = np.zeros(shape[:2], np.uint8)
    if loops is None:
        return out
    b = loops.box
    x0, y0 = max(b.x0 - box.x0, 0), max(b.y0 - box.y0, 0)
    x1, y1 = min(b.x1 - box.x0, out.shape[1]), min(b.y1 - box.y0, out.shape[0])
    dy, dx = box.y0 - b.y0, box.x0 - b.x0
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = loops.pixels[y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    return out


def work_scale(size: float, options: EarLoopOptions) -> float:
    """The scale a face of ``size`` px is looked at (``work_face_px``; never grown)."""
    return min(options.work_face_px / size, 1.0) if options.work_face_px else 1.0


def shrunk(
    scale: float, image: np.ndarray, mask: np.ndarray, loops: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``image``, ``mask`` and the ``loops`` (uint8 {0, 1}) at ``scale`` (as they are at 1)."""
    if scale >= 1.0:
        return image, mask, loops
    h, w = mask.shape[:2]
    small = (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1))
    values = mask if mask.dtype == np.float32 else mask.astype(np.float32)  # (no copy of a float32 mask)
    return (
        cv2.resize(image, small, interpolation=cv2.INTER_LINEAR),
        cv2.resize(values, small, interpolation=cv2.INTER_LINEAR),
        [cv2.resize(part, small, interpolation=cv2.INTER_NEAREST) for part in loops],
    )


def grown_back(found: np.ndarray, scale: float, mask: np.ndarray) -> np.ndarray:
    """uint8 {0, 1} of ``mask``'s size: the loops ``found`` at ``scale``, grown back (outside ``mask``)."""
    if scale >= 1.0:
        return found
    h, w = mask.shape[:2]
    out = np.zeros((h, w), np.uint8)
    part = mask_bbox(found, 1, found.shape)  # (uint8 {0, 1}: its non-zero pixels read as they are)
    if part is None:
        return out
    # (grown back on the loops' box only, its edges mapped to the full size's pixels)
    (r0, r1), (c0, c1) = ((sl.start or 0, sl.stop) for sl in part)
    y0, y1 = int(np.floor(r0 / scale)), min(int(np.ceil(r1 / scale)), h)
    x0, x1 = int(np.floor(c0 / scale)), min(int(np.ceil(c1 / scale)), w)
    up = cv2.resize(found[part] * np.uint8(255), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) > 0
    out[y0:y1, x0:x1] = up & (mask[y0:y1, x0:x1] <= 0.5)
    return out


def _thin(weak: np.ndarray, w: int) -> np.ndarray:
    """The ``weak`` pixels that are thin themselves (an opening by a ``w`` px square leaves none there): not a pale
    patch beside a loop, an ear's lit rim."""
    return weak & (cv2.morphologyEx(weak, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (w, w))) == 0)


def grow_loops(
    seed: np.ndarray, weak: np.ndarray, before: np.ndarray | None, size: float, options: EarLoopOptions
) -> np.ndarray:
    """``seed`` (the strokes kept) grown ``grow`` into the thin ``weak`` pixels, and into those next to the last
    frame's loops ``before`` (held where they were, not grown from there: they do not creep along a hair's edge)."""
    steps = max(int(round(options.grow * size)), 1)
    w = max(int(round(options.patch * size)) | 1, 3)
    held = seed if before is None else seed | before
    out = np.zeros_like(seed)
    # (on the box they can grow into; the thin pixels there read on it grown by the opening's reach)
    box = mask_bbox(held, steps + 2 * (w // 2) + 1, held.shape)
    if box is None:
        return out
    part = _thin(weak[box], w)
    grown = _grow_into(seed[box], part, steps)
    if before is not None:
        grown |= cv2.dilate(before[box], np.ones((3, 3), np.uint8)) & part
    out[box] = grown
    return out


#: The eyes' outer corners, on each side (``OUTLINE_SIDES``' order): a zone lies past it, towards the ear.
CORNERS = (ls.LEFT_EYE_CORNERS[0], ls.RIGHT_EYE_CORNERS[1])


def half_hull(zone: np.ndarray, hull: np.ndarray, corner: np.ndarray, out: np.ndarray, clear: float = 0.0) -> None:
    """Set the pixels of ``zone`` inside the convex ``hull`` and past ``corner`` in the direction ``out`` (the
    eye's outer corner, towards the ear: not the eye's white, nor the nose), farther than ``clear`` px from it (the
    eye's corner itself: its lid's pale skin, its lashes)."""
    x, y, w, h = cv2.boundingRect(hull)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, zone.shape[1]), min(y + h, zone.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    part = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(part, hull - np.array([x0, y0], np.int32), 1)
    gx = np.arange(x0, x1, dtype=np.float32)[None, :] - corner[0]
    gy = np.arange(y0, y1, dtype=np.float32)[:, None] - corner[1]
    past = gx * out[0] + gy * out[1] > 0
    if clear > 0:
        past &= gx * gx + gy * gy >= clear * clear
    part &= past.astype(np.uint8)
    zone[y0:y1, x0:x1] |= part


def stroke_pixels(
    lab: np.ndarray, zone: np.ndarray, look: Look, size: float, options: EarLoopOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 {0, 1}: the pixels of ``lab`` (a Lab image) in ``zone`` pulled from their local background towards the
    mask's colour (``look``), strongly and weakly, outside the mask's colour's thick patches; and the weak ones whose
    background is darker than the mask's colour by ``bridge_dark`` (a loop over dark hair: ``bridge``)."""
    empty = np.zeros(zone.shape, np.uint8)
    m = look.cloth
    planes = cv2.split(lab)  # (contiguous planes: a channel's view is copied by each call it is passed to)
    bg = _background(lab, look.opened, max(int(round(options.background * size)) | 1, 3))
    # (a loose first pass on 8 bits: the largest channel's step is at least the weak floor over the root of 3)
    steps = [cv2.absdiff(plane, back) for plane, back in zip(planes, bg)]
    rough = cv2.max(cv2.max(steps[0], steps[1]), steps[2])
    w = max(int(round(options.patch * size)) | 1, 3)
    t = options.same_colour
    near = cv2.inRange(lab, np.clip(m - t, 0, 255), np.clip(m + t, 0, 255))
    patch = cv2.morphologyEx(near, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (w, w)))
    free = (cv2.dilate(patch, np.ones((5, 5), np.uint8)) == 0) & (zone > 0)
    idx = np.flatnonzero(free & (rough >= options.weak * options.floor / np.sqrt(3.0)))
    if not len(idx):
        return empty, empty, empty
    # (per channel, gathered from the planes by flat index)
    o = [back.reshape(-1)[idx].astype(np.float32) for back in bg]
    po = [plane.reshape(-1)[idx].astype(np.float32) - oc for plane, oc in zip(planes, o)]
    mo = [mc - oc for mc, oc in zip(m, o)]
    mo2 = dot(mo, mo)
    along = dot(po, mo) / np.maximum(mo2, 1e-3)
    far2 = dot(po, po)  # (the distance squared: no root per pixel)
    pulled = mo2 >= options.contrast**2
    low = options.weak * options.floor
    strong, weak, dark = empty.copy(), empty.copy(), empty.copy()
    strong.reshape(-1)[idx] = pulled & (along >= options.towards) & (far2 >= options.floor**2)
    is_weak = pulled & (along >= options.weak * options.towards) & (far2 >= low * low)
    weak.reshape(-1)[idx] = is_weak
    if options.bridge:
        dark.reshape(-1)[idx] = is_weak & (o[0] < m[0] - options.bridge_dark)
    return strong, weak, dark


def samples(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(n, 3) uint8: the Lab colours of every 7th pixel of (h, w, 3) RGB ``image`` where ``where`` > 0, in raster
    order (only those pixels converted; listed from a boolean image: numpy lists a uint8 one's several times slower)."""
    rows, cols = np.divmod(np.flatnonzero(where != 0)[::7], where.shape[1])
    if not len(rows):
        return np.zeros((0, 3), np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(image[rows, cols][:, None]), cv2.COLOR_RGB2Lab).reshape(-1, 3)


def dot(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """(n,): the dot products of ``a`` and ``b``, each three (n,) channels, channel by channel (a product and a sum
    over axis 1 of (n, 3) rows are ten times slower)."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _background(lab: np.ndarray, opened: tuple[bool, bool, bool], k: int) -> list[np.ndarray]:
    """Each channel's plane of Lab image ``lab`` with its thin strokes that lean towards the mask's colour (an opening
    where ``opened``: the mask is brighter there than the zone's typical pixel; else a closing, by a ``k`` x ``k``
    square) wiped out: a loop's local background, plane by plane."""
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    # (one opening of the three channels, the closed ones flipped (255 - x): a closing is the flipped opening of the
    # flipped plane, and one call on three channels costs about two thirds of three calls on one; a flip as OpenCV's
    # scalar: numpy's broadcast over three channels costs more than the opening)
    flip = tuple(0.0 if up else 255.0 for up in opened) + (0.0,)
    return cv2.split(cv2.bitwise_xor(cv2.morphologyEx(cv2.bitwise_xor(lab, flip), cv2.MORPH_OPEN, square), flip))


def long_strokes(strong: np.ndarray, size: float, options: EarLoopOptions) -> np.ndarray:
    """uint8 {0, 1}: the thin elongated components of ``strong``."""
    _, comp, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    out = np.zeros(strong.shape, np.uint8)
    long = np.flatnonzero(np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= options.min_length * size)
    for i in long + 1:  # (the long ones only: most are specks)
        x, y, w, h, area = (int(v) for v in stats[i])
        part = (comp[y : y + h, x : x + w] == i).astype(np.uint8)
        contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        length = sum(cv2.arcLength(c, True) for c in contours) / 2.0
        if length >= options.min_length * size and area <= options.width * size * length:
            out[y : y + h, x : x + w] |= part
    return out


def chain_strokes(
    strokes: np.ndarray, rim: np.ndarray, size: float, options: EarLoopOptions, weak: np.ndarray | None = None
) -> np.ndarray:
    """uint8 {0, 1}: the ``strokes`` within ``gap`` of the mask's side edges (``rim``), or of those, in turn; with
    ``weak`` (weaker stroke pixels: those over dark hair), strokes joined by a run of its thin pixels are one stroke
    (``bridge``)."""
    g = max(int(round(options.gap * size)) | 1, 3)
    out = np.zeros_like(strokes)
    # (on the strokes' box grown by the disc's reach: no rim farther away reaches a stroke)
    tight = mask_bbox(strokes, 0, strokes.shape)
    if tight is None:
        return out
    box = grow_box(tight, g // 2 + 1, strokes.shape)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (g, g))
    reach = cv2.dilate(rim[box], disc)
    out[box] = _chained(strokes[box], reach, disc, options.links)
    if weak is None or not options.bridge or np.array_equal(out[box], strokes[box]) or not weak.any():
        return out  # (no stroke left out, or nothing to bridge it with)
    w = max(int(round(options.patch * size)) | 1, 3)
    # (chained again with the strokes joined by the thin bridge pixels as one: on the strokes' box grown by the
    # disc's reach and the opening's: the bridges between them and to the rim's reach; the rim's reach is the first
    # chain's where the box is the same, as it is unless the opening is the wider)
    wide = grow_box(tight, max(g, w) // 2 + 1, strokes.shape)
    if wide != box:
        box, reach = wide, cv2.dilate(rim[wide], disc)
    out[box] = _chained(strokes[box], reach, disc, options.links, _thin(weak[box], w) | strokes[box])
    return out


def _chained(
    strokes: np.ndarray, reach: np.ndarray, disc: np.ndarray, links: int, joined: np.ndarray | None = None
) -> np.ndarray:
    """:func:`chain_strokes` with the gap's ``disc`` (its structuring element), joined ``links`` times, ``reach`` the
    rim dilated by it; the strokes' components read on ``joined`` (the strokes and the pixels that join them) where
    given."""
    n, comp = cv2.connectedComponents(strokes if joined is None else joined, connectivity=8)
    kept = np.zeros(n, bool)
    for _ in range(max(links, 1)):
        near = np.unique(comp[(reach > 0) & (comp > 0)])
        if kept[near].all():
            break
        kept[near] = True
        reach = cv2.dilate(kept[comp].astype(np.uint8), disc)
    kept[0] = False
    return kept[comp].astype(np.uint8) & strokes


def _grow_into(seed: np.ndarray, weak: np.ndarray, steps: int) -> np.ndarray:
    """``seed`` grown into the ``weak`` pixels next to it, a pixel a step."""
    grown = seed.copy()
    cross = np.ones((3, 3), np.uint8)
    for _ in range(steps):
        grown = (cv2.dilate(grown, cross) & weak) | seed
    return grown
