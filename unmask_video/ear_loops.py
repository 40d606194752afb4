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

That search runs every ``search_every`` frames of a track (and when the face moved, its mask changed, or the track
holds no loops); between, each side's loops are followed in their own small box (:func:`follow_loops`): the stroke
pixels read with the search's colours in its zones (moved with the ear), the strokes chained to the mask's edge or to
the search's strokes, grown as the search grows them; a search runs instead when they no longer fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.blend import mask_bbox
from unmask_video.face_units import face_size_px
from unmask_video.stages import Box, Image, Loops

__all__ = ["EarLoopOptions", "EarLoops", "loop_strokes", "follow_loops", "inpaint_box", "erase_loops"]


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
    #: The full search runs at least every this many frames of a track (1: every frame); on the frames between, the
    #: last frame's loops are followed (:func:`follow_loops`): looked for only near where they were, moved with
    #: the ear beside them, in their own box, with the colours the search found.
    search_every: int = 4
    #: ... and again as soon as the face moved more than this (the landmarks' mean shift since the search) ...
    moved: float = 0.05
    #: ... or the mask's area changed by more than this fraction of its area at the search ...
    mask_change: float = 0.1
    #: ... or fewer than this share of the searched loops, moved with their ear, lie on or next to thin weak stroke
    #: pixels.
    kept_share: float = 0.6
    #: Followed loops are the searched ones, moved with their ear, and the thin weak stroke pixels within this
    #: distance of them.
    follow_reach: float = 0.01


@dataclass(frozen=True)
class _Look:
    """What a search read: the mask's colour (Lab) and, per Lab channel, whether the loops are brighter there than
    their zone's typical pixel (their background is an opening, else a closing); its zones' hulls and starts."""

    cloth: np.ndarray
    opened: tuple[bool, bool, bool]
    #: Per side (``OUTLINE_SIDES``' order): the convex hull (n, 2) float32 of its zone, before the eye's corner cuts
    #: it (:func:`_zones`), in the searched image's pixels (then the ROI's, then the frame's).
    hulls: tuple[np.ndarray, ...] = ()
    #: Per side: the box ((x0, y0), (x1, y1)) float32 of the mask's side edge the loops start from ((0, 2): none).
    starts: tuple[np.ndarray, ...] = ()


@dataclass
class _Held:
    """A track's state from frame to frame: its last frame's loops, what its last search found."""

    loops: Loops | None  # its last frame's loops (frame coordinates)
    landmarks: np.ndarray  # its last frame's landmarks (frame coordinates)
    strokes: Loops | None  # the strokes its last search chained to the mask (frame coordinates)
    look: _Look | None  # the colours its last search read (None: the search found no mask colour)
    searched: np.ndarray  # its landmarks at the last search (frame coordinates)
    area: int  # its mask's pixels at the last search
    age: int = 0  # frames since the last search


class EarLoops:
    """Adds the ear loops to the masks of face tracks, frame after frame (each track's last loops kept): a full
    search every ``search_every`` frames or when the face or its mask changed, the loops followed between."""

    def __init__(self, options: EarLoopOptions | None = None) -> None:
        self.options = options or EarLoopOptions()
        self._held: dict[int, _Held] = {}  # track -> its last frame's loops and its last search's strokes

    def find(self, image: Image, landmarks: np.ndarray, mask: np.ndarray, track: int, box: Box) -> Loops | None:
        """The loops past ``mask`` (float32 (h, w) in [0, 1], a worn mask's) in ROI ``image`` (uint8 RGB; its
        ``landmarks``; ``box``: the ROI's box in the frame), in frame coordinates; None: none (or an empty mask)."""
        inside = mask > 0.5
        if not self.options.enabled or not inside.any():
            self.reset(track)
            return None
        at = (landmarks + np.array([box.x0, box.y0], np.float32)).astype(np.float32)
        area = int(np.count_nonzero(inside))
        held = self._held.get(track)
        if held is not None and self._followable(held, at, area):
            followed = self._follow(held, image, landmarks, mask, box, at)
            if followed is not None:
                held.loops, held.landmarks, held.age = followed or None, at, held.age + 1
                return held.loops
        before = None if held is None or held.loops is None else _placed(held.loops, box, mask.shape)
        found, strokes, look = _search(image, landmarks, mask, self.options, before)
        look = None if look is None else _moved(look, np.float32([box.x0, box.y0]), 1.0)
        radius = self.options.inpaint_radius
        loops = _framed(found, box, radius)
        self._held[track] = _Held(loops, at, _framed(strokes, box, radius), look, at, area)
        return loops

    def reset(self, track: int) -> None:
        """Forget a track's loops (the face was lost, or wears no mask)."""
        self._held.pop(track, None)

    def _followable(self, held: _Held, landmarks: np.ndarray, area: int) -> bool:
        """Whether this frame may follow ``held`` rather than search: the search is recent, the face (its frame
        ``landmarks``) near where it was then, its mask (``area`` pixels) about as large."""
        o = self.options
        if held.loops is None:  # (none to follow: loops come and go at a search's threshold, each search may add)
            return False
        if held.age + 1 >= o.search_every or abs(area - held.area) > o.mask_change * held.area:
            return False
        shift = float(np.linalg.norm(landmarks - held.searched, axis=1).mean())
        return shift <= o.moved * face_size_px(landmarks)

    def _follow(
        self, held: _Held, image: Image, landmarks: np.ndarray, mask: np.ndarray, box: Box, at: np.ndarray
    ) -> Loops | bool | None:
        """``held``'s loops followed into this frame (:func:`follow_loops`): False where it holds none, None where
        they no longer fit (a search is due)."""
        if held.loops is None and held.strokes is None:
            return False
        if held.look is None:
            return None
        origin = np.float32([box.x0, box.y0])
        lasts = _moved_sides(held.loops, held.landmarks, at, origin)
        strokes = _moved_sides(held.strokes, held.searched, at, origin)
        shifts = [at[list(ids)].mean(axis=0) - held.searched[list(ids)].mean(axis=0) - np.float32([box.x0, box.y0])
                  for ids in ls.OUTLINE_SIDES]  # fmt: skip
        look = replace(held.look, hulls=tuple(hull + d for hull, d in zip(held.look.hulls, shifts)),
                       starts=tuple(start + d for start, d in zip(held.look.starts, shifts)))  # fmt: skip
        followed = follow_loops(image, landmarks, mask, list(zip(lasts, strokes)), look, self.options)
        return None if followed is None else (_framed(followed, box, self.options.inpaint_radius) or False)


def _moved(look: _Look, offset: np.ndarray, scale: float) -> _Look:
    """``look`` with its zones' hulls and starts scaled by ``scale`` and then moved by ``offset`` (x, y)."""
    return replace(look, hulls=tuple((hull * scale + offset).astype(np.float32) for hull in look.hulls),
                   starts=tuple((start * scale + offset).astype(np.float32) for start in look.starts))  # fmt: skip


def _framed(found: np.ndarray, box: Box, radius: float) -> Loops | None:
    """The loops ``found`` (uint8 {0, 1} over the ROI whose box in the frame is ``box``) in frame coordinates, on
    their own box; None: none."""
    tight = mask_bbox(found > 0, 0, found.shape)
    if tight is None:
        return None
    rows, cols = tight
    at = Box(box.x0 + cols.start, box.y0 + rows.start, box.x0 + cols.stop, box.y0 + rows.stop)
    return Loops(at, found[tight].copy(), radius)


def _moved_sides(
    loops: Loops | None, before: np.ndarray, now: np.ndarray, origin: np.ndarray
) -> tuple[Loops | None, Loops | None]:
    """``loops`` cut in two halves between the ears (``OUTLINE_SIDES``, in its order) of the face's ``before``
    landmarks (frame coordinates), each moved as its ear moved to the ``now`` landmarks and then by ``-origin`` (x, y:
    into an ROI's pixels); None: an empty half."""
    ears = [(before[list(ids)].mean(axis=0), now[list(ids)].mean(axis=0)) for ids in ls.OUTLINE_SIDES]
    if loops is None:
        return None, None
    b = loops.box
    mid = min(max(int(round((ears[0][0][0] + ears[1][0][0]) / 2.0)) - b.x0, 0), loops.pixels.shape[1])
    halves = [(loops.pixels[:, :mid], b.x0), (loops.pixels[:, mid:], b.x0 + mid)]
    if ears[0][0][0] > ears[1][0][0]:
        halves.reverse()
    out: list[Loops | None] = []
    for (pixels, x0), (was, is_) in zip(halves, ears):
        tight = mask_bbox(pixels, 0, pixels.shape)
        if tight is None:
            out.append(None)
            continue
        rows, cols = tight
        dx, dy = (int(round(v)) for v in is_ - was - origin)
        x, y = x0 + cols.start + dx, b.y0 + rows.start + dy
        moved = Box(x, y, x + cols.stop - cols.start, y + rows.stop - rows.start)
        out.append(replace(loops, box=moved, pixels=pixels[tight]))
    return out[0], out[1]


def _placed(loops: Loops | None, box: Box, shape: tuple[int, ...]) -> np.ndarray:
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


def loop_strokes(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, options: EarLoopOptions | None = None,
    before: np.ndarray | None = None,
) -> np.ndarray:
    """uint8 {0, 1} (h, w): the ear loops past ``mask`` ((h, w) float or uint8, > 0.5 the mask) in ``image``
    ((h, w, 3) uint8 RGB; its (468, 2) ``landmarks``); ``before``: the last frame's loops (grown into). A face wider
    than ``work_face_px`` is looked at shrunk to that size."""
    return _search(image, landmarks, mask, options or EarLoopOptions(), before)[0]


def _search(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, options: EarLoopOptions, before: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, _Look | None]:
    """:func:`loop_strokes`, the strokes it chained to the mask (uint8 {0, 1}, the loops' core) and the colours it
    read (None: none, no mask colour found)."""
    size = face_size_px(landmarks)
    out = np.zeros(mask.shape[:2], np.uint8)
    strokes = out.copy()
    # (only around the mask: its box grown past the ears' zones)
    box = mask_bbox(mask > 0.5, int(np.ceil((options.ear_radius + 0.15) * size)), mask.shape[:2])
    if box is None:
        return out, strokes, None
    origin = np.array([box[1].start or 0, box[0].start or 0], np.float32)
    scale = _work_scale(size, options)
    image_s, mask_s, before_s = _shrunk(scale, image[box], mask[box], [] if before is None else [before[box]])
    found, chained, look = _loops_at(image_s, (np.asarray(landmarks, np.float32) - origin) * scale, mask_s,
                                     size * scale, options, before_s[0] if before_s else None)  # fmt: skip
    out[box] = _grown_back(found, scale, mask[box])
    strokes[box] = _grown_back(chained, scale, mask[box])
    return out, strokes, None if look is None else _moved(look, origin, 1.0 / scale)


def follow_loops(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, sides: list[tuple[Loops | None, Loops | None]],
    look: _Look, options: EarLoopOptions | None = None,
) -> np.ndarray | None:
    """uint8 {0, 1} (h, w): the loops of ``image`` (its ``landmarks``, its worn ``mask``) followed from the last
    frame's, side by side (``OUTLINE_SIDES``' order), each in its own box (round the mask's side edge the loops start
    from too: new loops there change the count): ``sides``, each the last frame's loops there and the strokes the last
    search chained to the mask there (both moved with the ear, their boxes in ``image``'s pixels; None: none); with the colours, zones
    and starts of that search (``look``, in this image's pixels). None: a side's loops changed too much
    (``kept_share``): a search is due."""
    options = options or EarLoopOptions()
    size = face_size_px(landmarks)
    scale = _work_scale(size, options)
    out = np.zeros(mask.shape[:2], np.uint8)
    pad = int(np.ceil((options.follow_reach + options.background / 2 + options.patch) * size)) + 4
    for (last, strokes), start in zip(sides, look.starts):
        box = _side_box([last, strokes], start, pad, mask.shape[:2])
        if box is None:
            continue
        at = Box(box[1].start, box[0].start, box[1].stop, box[0].stop)
        shape = mask[box].shape
        image_s, mask_s, (last_s, strokes_s) = _shrunk(scale, image[box], mask[box],
                                                       [_placed(last, at, shape), _placed(strokes, at, shape)])  # fmt: skip
        origin = np.float32([box[1].start or 0, box[0].start or 0])
        zone = _zone_of(_moved(look, -origin * scale, scale), (landmarks - origin) * scale, mask_s.shape[:2])
        found = _follow_at(image_s, mask_s, last_s, strokes_s, zone, size * scale, look, options)
        if found is None:
            return None
        out[box] |= _grown_back(found, scale, mask[box])
    return out


def _side_box(
    parts: list[Loops | None], start: np.ndarray, pad: int, shape: tuple[int, int]
) -> tuple[slice, slice] | None:
    """The box of the loops ``parts`` (their boxes in an image of ``shape``) and of the ``start`` box ((x0, y0),
    (x1, y1); (0, 2): none), grown by ``pad``, inside the image; None: all empty."""
    h, w = shape
    boxes = [(p.box.x0, p.box.y0, p.box.x1, p.box.y1) for p in parts if p is not None]
    boxes += [tuple(int(round(v)) for v in start.reshape(-1))] if len(start) else []
    boxes = [(max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)) for x0, y0, x1, y1 in boxes]
    boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]  # (the parts inside the image)
    if not boxes:
        return None
    x0, y0 = max(min(b[0] for b in boxes) - pad, 0), max(min(b[1] for b in boxes) - pad, 0)
    x1, y1 = min(max(b[2] for b in boxes) + pad, w), min(max(b[3] for b in boxes) + pad, h)
    return (slice(y0, y1), slice(x0, x1)) if x1 > x0 and y1 > y0 else None


def _work_scale(size: float, options: EarLoopOptions) -> float:
    """The scale a face of ``size`` px is looked at (``work_face_px``; never grown)."""
    return min(options.work_face_px / size, 1.0) if options.work_face_px else 1.0


def _shrunk(
    scale: float, image: np.ndarray, mask: np.ndarray, loops: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``image``, ``mask`` and the ``loops`` (uint8 {0, 1}) at ``scale`` (as they are at 1)."""
    if scale >= 1.0:
        return image, mask, loops
    h, w = mask.shape[:2]
    small = (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1))
    return (
        cv2.resize(image, small, interpolation=cv2.INTER_LINEAR),
        cv2.resize(mask.astype(np.float32), small, interpolation=cv2.INTER_LINEAR),
        [cv2.resize(part, small, interpolation=cv2.INTER_NEAREST) for part in loops],
    )


def _grown_back(found: np.ndarray, scale: float, mask: np.ndarray) -> np.ndarray:
    """uint8 {0, 1} of ``mask``'s size: the loops ``found`` at ``scale``, grown back (outside ``mask``)."""
    if scale >= 1.0:
        return found
    h, w = mask.shape[:2]
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
) -> tuple[np.ndarray, np.ndarray, _Look | None]:
    """:func:`loop_strokes` at the image's own size (``size``: its face's), the strokes it chained to the mask and
    the colours it read."""
    inside = (mask > 0.5).astype(np.uint8)
    zone, rim, hulls, starts = _zones(inside, landmarks, size, options)
    box = mask_bbox(zone > 0, 0, zone.shape)
    out = np.zeros(inside.shape, np.uint8)
    strokes = out.copy()
    if box is None:
        return out, strokes, None
    lab = cv2.cvtColor(image[box], cv2.COLOR_RGB2Lab)
    look = _look(lab, inside[box], zone[box])
    if look is None:
        return out, strokes, None
    look = replace(look, hulls=hulls, starts=starts)
    strong, weak = _stroke_pixels(lab, zone[box], look, size, options)
    strokes[box] = _chain(_strokes(strong, size, options), rim[box], size, options)
    grown = _grown(strokes[box], _thin(weak, size, options), before if before is None else before[box], size, options)
    if grown.any():
        out[box] = cv2.dilate(grown, np.ones((3, 3), np.uint8)) & (1 - inside[box])  # (their anti-aliased edges)
    return out, strokes, look


def _follow_at(
    image: np.ndarray, mask: np.ndarray, last: np.ndarray, strokes: np.ndarray, zone: np.ndarray, size: float,
    look: _Look, options: EarLoopOptions,
) -> np.ndarray | None:
    """:func:`follow_loops` of one side at the image's own size (``size``: its face's): the strokes chained (as a
    search chains them) to the mask's edge or to the searched ``strokes`` (within ``follow_reach``) in ``zone``, grown as a
    search grows them and into the ``last`` frame's loops; None: their pixels are fewer than ``kept_share`` of the
    last frame's, or more than its inverse."""
    inside = (mask > 0.5).astype(np.uint8)
    r = max(int(round(options.follow_reach * size)), 1)
    near = cv2.dilate(strokes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    rim = cv2.dilate(inside, np.ones((3, 3), np.uint8)) - inside
    strong, weak = _stroke_pixels(cv2.cvtColor(image, cv2.COLOR_RGB2Lab), zone & (1 - inside), look, size, options)
    chained = _chain(_strokes(strong, size, options), rim | near, size, options)
    grown = _grown(chained, _thin(weak, size, options), last, size, options)
    found = cv2.dilate(grown, np.ones((3, 3), np.uint8)) & (1 - inside)  # (their anti-aliased edges)
    count, was = int(np.count_nonzero(found)), int(np.count_nonzero(last & (1 - inside)))
    if count < options.kept_share * was or count * options.kept_share > was:
        return None
    return found


def _thin(weak: np.ndarray, size: float, options: EarLoopOptions) -> np.ndarray:
    """The ``weak`` pixels that are thin themselves: not a pale patch beside a loop, an ear's lit rim."""
    w = max(int(round(options.patch * size)) | 1, 3)
    return weak & (cv2.morphologyEx(weak, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (w, w))) == 0)


def _grown(
    seed: np.ndarray, weak: np.ndarray, before: np.ndarray | None, size: float, options: EarLoopOptions
) -> np.ndarray:
    """``seed`` (the strokes kept) grown ``grow`` into the ``weak`` pixels, and into those next to the last frame's
    loops ``before`` (held where they were, not grown from there: they do not creep along a hair's edge)."""
    grown = _grow_into(seed, weak, max(int(round(options.grow * size)), 1))
    if before is not None:
        grown |= cv2.dilate(before, np.ones((3, 3), np.uint8)) & weak
    return grown


#: The eyes' outer corners, on each side (``OUTLINE_SIDES``' order): a zone lies past it, towards the ear.
_CORNERS = (ls.LEFT_EYE_CORNERS[0], ls.RIGHT_EYE_CORNERS[1])


def _zones(
    inside: np.ndarray, landmarks: np.ndarray, size: float, options: EarLoopOptions
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """uint8 (h, w): where loops may lie (both sides' zones, outside the mask) and the mask's side edges they start
    from (its rim there); each side's hull (before the eye's corner cuts it) and the box of its side edge
    ((x0, y0), (x1, y1); (0, 2): none)."""
    zone = np.zeros(inside.shape, np.uint8)
    starts = np.zeros(inside.shape, np.uint8)
    near = mask_bbox(inside > 0, 1, inside.shape)
    if near is None:
        return zone, starts, (), ()
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
    hulls, boxes = [], []
    for ear_ids, corner, at_side in zip(ls.OUTLINE_SIDES, _CORNERS, sides):
        ear = pts[list(ear_ids)].mean(axis=0)
        circle = cv2.ellipse2Poly((int(round(ear[0])), int(round(ear[1]))), (int(radius), int(radius)), 0, 0, 360, 10)
        edge = np.stack([rx[at_side], ry[at_side]], axis=1).astype(np.int32)
        hull = cv2.convexHull(np.concatenate([circle.astype(np.int32), edge]) if len(edge) else circle)
        _half_hull(zone, hull, pts[corner], ear - pts[corner])
        starts[ry[at_side], rx[at_side]] = 1
        hulls.append(hull.reshape(-1, 2).astype(np.float32))
        boxes.append(np.float32([edge.min(axis=0), edge.max(axis=0) + 1]) if len(edge) else np.zeros((0, 2), np.float32))
    return zone & (1 - inside), starts, tuple(hulls), tuple(boxes)


def _zone_of(look: _Look, landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 {0, 1} of ``shape``: the zones of ``look``'s hulls (in this image's pixels), cut at the eyes' outer
    corners of the face's ``landmarks`` as :func:`_zones` cuts them."""
    zone = np.zeros(shape, np.uint8)
    for hull, ear_ids, corner in zip(look.hulls, ls.OUTLINE_SIDES, _CORNERS):
        ear = landmarks[list(ear_ids)].mean(axis=0)
        _half_hull(zone, np.round(hull).astype(np.int32), landmarks[corner], ear - landmarks[corner])
    return zone


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


def _look(lab: np.ndarray, inside: np.ndarray, zone: np.ndarray) -> _Look | None:
    """The colours of Lab image ``lab`` that the stroke pixels are read against: the mask's (``inside``) and, per
    channel, whether it lies above the ``zone``'s median; None: no mask pixels."""
    core = cv2.erode(inside, np.ones((5, 5), np.uint8))
    cloth = _samples(lab, core if core.any() else inside)
    if not len(cloth):
        return None
    m = np.median(cloth, axis=0).astype(np.float32)
    where = _samples(lab, zone)
    typical = np.median(where, axis=0) if len(where) else m
    return _Look(m, (bool(m[0] >= typical[0]), bool(m[1] >= typical[1]), bool(m[2] >= typical[2])))


def _stroke_pixels(
    lab: np.ndarray, zone: np.ndarray, look: _Look, size: float, options: EarLoopOptions
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 {0, 1}: the pixels of ``lab`` (a Lab image) in ``zone`` pulled from their local background towards the
    mask's colour (``look``), strongly and weakly, outside the mask's colour's thick patches."""
    empty = np.zeros(zone.shape, np.uint8)
    m = look.cloth
    bg = _background(lab, look.opened, max(int(round(options.background * size)) | 1, 3))
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


def _background(lab: np.ndarray, opened: tuple[bool, bool, bool], k: int) -> np.ndarray:
    """Each Lab channel with its thin strokes that lean towards the mask's colour (an opening where ``opened``: the
    mask is brighter there than the zone's typical pixel; else a closing, by a ``k`` x ``k`` square) wiped out: a
    loop's local background."""
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    channels = [
        cv2.morphologyEx(lab[:, :, c], cv2.MORPH_OPEN if opened[c] else cv2.MORPH_CLOSE, square) for c in range(3)
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
