"""The ear loops past the mask: thin strokes of the mask's colour from its side edges towards the ears (issue 10).

The segmenter adds the loops' ends on the cheeks (:func:`~unmask_video.mask_refine.ear_loops`), but the rest of each
loop, over the cheek's edge, the hair, a hand and around the ear, stayed in the output: a thin white or pale line
from where the mask's side edge was, read as a mask with no mask. Here, on the final mask of a worn mask, the strokes
that leave the mask's side edges for the ear beside them are followed, and after the blend they are filled in the
frame from their surroundings (OpenCV's Telea inpainting: a loop is a few pixels wide, over hair, skin or a hand).
They are not added to the mask: the rebuilt face's composite reads the mask's shape (its edge, its box), and the
reference's warped face has nothing to give over the hair or the ear.

A stroke pixel is one pulled from its local background (each Lab channel opened or closed, towards the mask's value,
by a square wider than a loop: it wipes a loop out) towards the mask's colour, outside a patch of that colour thick
enough to survive an opening (a collar, a wall); the strokes kept are thin, elongated, in the zone between the mask's
side edge and the ear (past the eye's outer corner), and chained to the mask's side edge through gaps no wider than
a finger's edge. They are grown a little into thin weaker stroke pixels next to them and, to stay put from one frame
to the next, into those next to the last frame's loops (held, not grown from: they do not creep).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.blend import mask_bbox
from unmask_video.face_units import face_size_px
from unmask_video.stages import Box, Image, Loops

__all__ = ["EarLoopOptions", "EarLoops", "loop_strokes", "inpaint_box", "erase_loops"]


@dataclass(frozen=True)
class EarLoopOptions:
    """Lengths as fractions of the face's size (:func:`~unmask_video.face_units.face_size_px`)."""

    #: Off: the mask is returned as the segmenter made it.
    enabled: bool = True
    #: The zone where loops are looked for on each side: a disc of this radius around the face outline at the ear
    #: (``landmark_sets.OUTLINE_SIDES``), joined (convex hull) to the mask's side edge there.
    ear_radius: float = 0.3
    #: The mask's side edges: its outer ``side`` of its width on either side, above its lowest third.
    side: float = 0.2
    #: The local background's square (odd, at least 3 px): wider than a loop, so it wipes one out.
    background: float = 0.05
    #: A stroke pixel lies at least this far (a fraction: the projection) from its background towards the mask's
    #: colour, by at least ``floor`` Lab units, where background and mask differ by ``contrast`` Lab units.
    towards: float = 0.5
    floor: float = 12.0
    contrast: float = 20.0
    #: The weaker stroke pixels a kept stroke and the last frame's loops grow into (``towards`` and ``floor``
    #: times this).
    weak: float = 0.6
    #: Within this many Lab units of the mask's colour in each channel, a patch that an opening of ``patch`` keeps is
    #: that colour's own area (a collar, a wall, the mask's wing), never a loop; weak stroke pixels are grown into
    #: where such an opening of them leaves none (thin, not a pale patch).
    same_colour: float = 18.0
    patch: float = 0.03
    #: A loop is thinner than this (its area over its length) ...
    width: float = 0.02
    #: ... and each stroke is at least this long (its outline's half).
    min_length: float = 0.03
    #: A stroke joins the loop when it comes within this distance of the mask's side edge or of a stroke already
    #: joined (a loop broken by a finger, a strand of hair).
    gap: float = 0.03
    #: A kept stroke grows this far into the weaker stroke pixels next to it (its blurred ends and sides).
    grow: float = 0.01
    #: How many times strokes are joined to the chain (each time, those within ``gap`` of it).
    links: int = 4
    #: Faces wider than this (px) are looked at shrunk to this size (their loops are as many pixels wide as a 720p
    #: face's, or more); None: at the frame's size.
    work_face_px: float | None = 320.0
    #: The radius (px) of OpenCV's Telea inpainting that fills the loops from what surrounds them.
    inpaint_radius: float = 3.0


class EarLoops:
    """Adds the ear loops to the masks of face tracks, frame after frame (each track's last loops kept)."""

    def __init__(self, options: EarLoopOptions | None = None) -> None:
        self.options = options or EarLoopOptions()
        self._last: dict[int, Loops] = {}  # track -> its last frame's loops

    def find(self, image: Image, landmarks: np.ndarray, mask: np.ndarray, track: int, box: Box) -> Loops | None:
        """The loops past ``mask`` (float32 (h, w) in [0, 1], a worn mask's) in ROI ``image`` (uint8 RGB; its
        ``landmarks``; ``box``: the ROI's box in the frame), in frame coordinates; None: none (or an empty mask)."""
        if not self.options.enabled or not (mask > 0.5).any():
            self.reset(track)
            return None
        last = self._last.get(track)
        before = None if last is None else _placed(last, box, mask.shape)
        loops = loop_strokes(image, landmarks, mask, self.options, before)
        tight = mask_bbox(loops > 0, 0, loops.shape)
        if tight is None:
            self.reset(track)
            return None
        rows, cols = tight
        at = Box(box.x0 + cols.start, box.y0 + rows.start, box.x0 + cols.stop, box.y0 + rows.stop)
        self._last[track] = Loops(at, loops[tight].copy(), self.options.inpaint_radius)
        return self._last[track]

    def reset(self, track: int) -> None:
        """Forget a track's loops (the face was lost, or wears no mask)."""
        self._last.pop(track, None)


def _placed(loops: Loops, box: Box, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 {0, 1} of ``shape``: ``loops`` (frame coordinates) on the ROI whose box in the frame is ``box``."""
    out = np.zeros(shape[:2], np.uint8)
    b = loops.box
    x0, y0 = max(b.x0 - box.x0, 0), max(b.y0 - box.y0, 0)
    x1, y1 = min(b.x1 - box.x0, out.shape[1]), min(b.y1 - box.y0, out.shape[0])
    dy, dx = box.y0 - b.y0, box.x0 - b.x0
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = loops.pixels[y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    return out


def loop_strokes(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, options: EarLoopOptions | None = None,
    before: np.ndarray | None = None,
) -> np.ndarray:
    """uint8 {0, 1} (h, w): the ear loops past ``mask`` ((h, w) float or uint8, > 0.5 the mask) in ``image``
    ((h, w, 3) uint8 RGB; its (468, 2) ``landmarks``); ``before``: the last frame's loops (grown into). A face wider
    than ``work_face_px`` is looked at shrunk to that size."""
    options = options or EarLoopOptions()
    size = face_size_px(landmarks)
    out = np.zeros(mask.shape[:2], np.uint8)
    # (only around the mask: its box grown past the ears' zones)
    box = mask_bbox(mask > 0.5, int(np.ceil((options.ear_radius + 0.15) * size)), mask.shape[:2])
    if box is None:
        return out
    origin = np.array([box[1].start or 0, box[0].start or 0], np.float32)
    out[box] = _loops_near(image[box], np.asarray(landmarks, np.float32) - origin, mask[box], size, options,
                           None if before is None else before[box])  # fmt: skip
    return out


def _loops_near(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, size: float, options: EarLoopOptions,
    before: np.ndarray | None,
) -> np.ndarray:
    """:func:`loop_strokes` on the box around the mask (``size``: the face's)."""
    scale = options.work_face_px / size if options.work_face_px else 1.0
    if scale >= 1.0:
        return _loops_at(image, landmarks, mask, size, options, before)
    h, w = mask.shape[:2]
    small = (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1))
    found = _loops_at(
        cv2.resize(image, small, interpolation=cv2.INTER_LINEAR), landmarks * scale,
        cv2.resize(mask.astype(np.float32), small, interpolation=cv2.INTER_LINEAR), size * scale, options,
        None if before is None else cv2.resize(before, small, interpolation=cv2.INTER_NEAREST),
    )
    out = np.zeros((h, w), np.uint8)
    part = mask_bbox(found > 0, 1, found.shape)
    if part is None:
        return out
    # (grown back on the loops' box only, its edges mapped to the full size's pixels)
    (r0, r1), (c0, c1) = ((sl.start or 0, sl.stop) for sl in part)
    y0, y1 = int(np.floor(r0 / scale)), min(int(np.ceil(r1 / scale)), h)
    x0, x1 = int(np.floor(c0 / scale)), min(int(np.ceil(c1 / scale)), w)
    up = cv2.resize(found[part] * np.uint8(255), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) > 0
    out[y0:y1, x0:x1] = up & (mask[y0:y1, x0:x1] <= 0.5)
    return out


def _loops_at(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, size: float, options: EarLoopOptions,
    before: np.ndarray | None,
) -> np.ndarray:
    """:func:`loop_strokes` at the image's own size (``size``: its face's)."""
    inside = (mask > 0.5).astype(np.uint8)
    zone, rim = _zones(inside, landmarks, size, options)
    box = mask_bbox(zone > 0, 0, zone.shape)
    out = np.zeros(inside.shape, np.uint8)
    if box is None:
        return out
    strong, weak = _stroke_pixels(image[box], inside[box], zone[box], size, options)
    chained = _chain(_strokes(strong, size, options), rim[box], size, options)
    # (only into weak pixels that are thin themselves: not into a pale patch beside a loop, an ear's lit rim)
    w = max(int(round(options.patch * size)) | 1, 3)
    weak &= (cv2.morphologyEx(weak, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (w, w))) == 0)
    grown = _grow_into(chained, weak, max(int(round(options.grow * size)), 1))
    if before is not None:  # (held where they were, not grown from there: they do not creep along a hair's edge)
        grown |= cv2.dilate(before[box], np.ones((3, 3), np.uint8)) & weak
    if not grown.any():
        return out
    out[box] = cv2.dilate(grown, np.ones((3, 3), np.uint8)) & (1 - inside[box])  # (their anti-aliased edges)
    return out


def _zones(
    inside: np.ndarray, landmarks: np.ndarray, size: float, options: EarLoopOptions
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (h, w): where loops may lie (both sides' zones, outside the mask) and the mask's side edges they start
    from (its rim there)."""
    zone = np.zeros(inside.shape, np.uint8)
    starts = np.zeros(inside.shape, np.uint8)
    near = mask_bbox(inside > 0, 1, inside.shape)
    if near is None:
        return zone, starts
    rows, cols = near
    (top, left) = (rows.start or 0, cols.start or 0)
    sub = inside[near]
    rim = cv2.dilate(sub, np.ones((3, 3), np.uint8)) - sub
    x, y, w, h = cv2.boundingRect(sub)
    ry, rx = np.nonzero(rim)
    band = options.side * w
    upper = ry <= y + h - h / 3.0
    sides = ((rx <= x + band) & upper, (rx >= x + w - 1 - band) & upper)
    rx, ry = rx + left, ry + top
    pts = np.asarray(landmarks, np.float32)
    radius = options.ear_radius * size
    corners = (ls.LEFT_EYE_CORNERS[0], ls.RIGHT_EYE_CORNERS[1])  # (the eyes' outer corners, on each side)
    for ear_ids, corner, at_side in zip(ls.OUTLINE_SIDES, corners, sides):
        ear = pts[list(ear_ids)].mean(axis=0)
        circle = cv2.ellipse2Poly((int(round(ear[0])), int(round(ear[1]))), (int(radius), int(radius)), 0, 0, 360, 10)
        edge = np.stack([rx[at_side], ry[at_side]], axis=1).astype(np.int32)
        hull = cv2.convexHull(np.concatenate([circle.astype(np.int32), edge]) if len(edge) else circle)
        _half_hull(zone, hull, pts[corner], ear - pts[corner])
        starts[ry[at_side], rx[at_side]] = 1
    return zone & (1 - inside), starts


def _half_hull(zone: np.ndarray, hull: np.ndarray, corner: np.ndarray, out: np.ndarray) -> None:
    """Set the pixels of ``zone`` inside the convex ``hull`` and past ``corner`` in the direction ``out`` (the
    eye's outer corner, towards the ear: not the eye's white, nor the nose)."""
    x, y, w, h = cv2.boundingRect(hull)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, zone.shape[1]), min(y + h, zone.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    part = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(part, hull - np.array([x0, y0], np.int32), 1)
    gx = np.arange(x0, x1, dtype=np.float32)[None, :] - corner[0]
    gy = np.arange(y0, y1, dtype=np.float32)[:, None] - corner[1]
    part &= (gx * out[0] + gy * out[1] > 0).astype(np.uint8)
    zone[y0:y1, x0:x1] |= part


def _stroke_pixels(
    image: np.ndarray, inside: np.ndarray, zone: np.ndarray, size: float, options: EarLoopOptions
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 {0, 1}: the pixels of ``image`` (RGB) in ``zone`` pulled from their local background towards the colour
    of the mask (``inside``), strongly and weakly, outside the mask's colour's thick patches."""
    empty = np.zeros(inside.shape, np.uint8)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
    core = cv2.erode(inside, np.ones((5, 5), np.uint8))
    cloth = _samples(lab, core if core.any() else inside)
    if not len(cloth):
        return empty, empty
    m = np.median(cloth, axis=0).astype(np.float32)
    bg = _background(lab, zone, m, max(int(round(options.background * size)) | 1, 3))
    # (a loose first pass on 8 bits: the largest channel's step is at least the weak floor over the root of 3)
    step = cv2.absdiff(lab, bg)
    rough = cv2.max(cv2.max(step[:, :, 0], step[:, :, 1]), step[:, :, 2])
    w = max(int(round(options.patch * size)) | 1, 3)
    t = options.same_colour
    near = cv2.inRange(lab, np.clip(m - t, 0, 255), np.clip(m + t, 0, 255))
    patch = cv2.morphologyEx(near, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (w, w)))
    free = (cv2.dilate(patch, np.ones((5, 5), np.uint8)) == 0) & (zone > 0)
    idx = np.flatnonzero(free & (rough >= options.weak * options.floor / np.sqrt(3.0)))
    if not len(idx):
        return empty, empty
    o = bg.reshape(-1, 3)[idx].astype(np.float32)
    po, mo = lab.reshape(-1, 3)[idx].astype(np.float32) - o, m[None, :] - o
    mo2 = _dot(mo, mo)
    along = _dot(po, mo) / np.maximum(mo2, 1e-3)
    far2 = _dot(po, po)  # (the distance squared: no root per pixel)
    pulled = mo2 >= options.contrast**2
    low = options.weak * options.floor
    strong, weak = empty.copy(), empty.copy()
    strong.reshape(-1)[idx] = pulled & (along >= options.towards) & (far2 >= options.floor**2)
    weak.reshape(-1)[idx] = pulled & (along >= options.weak * options.towards) & (far2 >= low * low)
    return strong, weak


def _samples(lab: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(n, 3): every 7th pixel of (h, w, 3) ``lab`` where ``where`` > 0, in raster order (by flat index: a boolean
    mask over three channels gathers several times slower)."""
    return lab.reshape(-1, 3)[np.flatnonzero(where)[::7]]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,): the row-wise dot products of (n, 3) ``a`` and ``b``, channel by channel (a product and a sum over
    axis 1 are ten times slower on thin rows)."""
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def _background(lab: np.ndarray, zone: np.ndarray, cloth: np.ndarray, k: int) -> np.ndarray:
    """Each Lab channel with its thin strokes that lean towards the ``cloth``'s value (above the ``zone``'s median:
    brighter, an opening; below: a closing, by a ``k`` x ``k`` square) wiped out: a loop's local background."""
    where = _samples(lab, zone)
    typical = np.median(where, axis=0) if len(where) else cloth
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    channels = [
        cv2.morphologyEx(lab[:, :, c], cv2.MORPH_OPEN if cloth[c] >= typical[c] else cv2.MORPH_CLOSE, square)
        for c in range(3)
    ]
    return cv2.merge(channels)


def _strokes(strong: np.ndarray, size: float, options: EarLoopOptions) -> np.ndarray:
    """uint8 {0, 1}: the thin elongated components of ``strong``."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    out = np.zeros(strong.shape, np.uint8)
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if max(w, h) < options.min_length * size:
            continue
        part = (comp[y : y + h, x : x + w] == i).astype(np.uint8)
        contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        length = sum(cv2.arcLength(c, True) for c in contours) / 2.0
        if length >= options.min_length * size and area <= options.width * size * length:
            out[y : y + h, x : x + w] |= part
    return out


def _chain(strokes: np.ndarray, rim: np.ndarray, size: float, options: EarLoopOptions) -> np.ndarray:
    """uint8 {0, 1}: the ``strokes`` within ``gap`` of the mask's side edges (``rim``), or of those, in turn."""
    n, comp = cv2.connectedComponents(strokes, connectivity=8)
    if n <= 1:
        return np.zeros_like(strokes)
    g = max(int(round(options.gap * size)) | 1, 3)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (g, g))
    kept = np.zeros(n, bool)
    reach = cv2.dilate(rim, disc)
    for _ in range(max(options.links, 1)):
        near = np.unique(comp[(reach > 0) & (comp > 0)])
        if kept[near].all():
            break
        kept[near] = True
        reach = cv2.dilate(kept[comp].astype(np.uint8), disc)
    kept[0] = False
    return kept[comp].astype(np.uint8)


def _grow_into(seed: np.ndarray, weak: np.ndarray, steps: int) -> np.ndarray:
    """``seed`` grown into the ``weak`` pixels next to it, a pixel a step."""
    grown = seed.copy()
    cross = np.ones((3, 3), np.uint8)
    for _ in range(steps):
        grown = (cv2.dilate(grown, cross) & weak) | seed
    return grown


def inpaint_box(loops: Loops, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The frame box (x0, y0, x1, y1) that :func:`erase_loops` reads and changes in a frame of ``shape``: the loops'
    box grown by the inpainting's reach, inside the frame."""
    pad = int(np.ceil(loops.radius)) + 2
    b = loops.box
    return max(b.x0 - pad, 0), max(b.y0 - pad, 0), min(b.x1 + pad, int(shape[1])), min(b.y1 + pad, int(shape[0]))


def erase_loops(frame: Image, loops: Loops) -> None:
    """Fill ``loops`` (their box inside the frame) in ``frame`` (uint8 RGB, in place) from what surrounds them
    (OpenCV's Telea inpainting), within :func:`inpaint_box`."""
    x0, y0, x1, y1 = inpaint_box(loops, frame.shape)
    b = loops.box
    hole = np.zeros((y1 - y0, x1 - x0), np.uint8)
    hole[b.y0 - y0 : b.y1 - y0, b.x0 - x0 : b.x1 - x0] = loops.pixels
    crop = frame[y0:y1, x0:x1]
    filled = cv2.inpaint(crop, hole, loops.radius, cv2.INPAINT_TELEA)
    np.copyto(crop, filled, where=hole[:, :, None] > 0)
