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

That search runs every ``search_every`` frames of a track (and when the face moved or its mask changed); between,
each side's loops are followed in their own small box (:func:`follow_loops`): the stroke pixels read with the search's
colours in its zones (moved with the ear), the strokes chained to the mask's edge or to the search's strokes, grown as
the search grows them; a search runs instead when they no longer fit. A track without loops searches on every frame
until ``hold_none_after`` searches in a row found none; it then holds "none" between searches under the same
conditions: a loop that shows on a still face is found within ``search_every`` frames, one that comes with a move or
a mask put on at once.

The modules: :mod:`~unmask_video.ear_loop_options` (the options), :mod:`~unmask_video.ear_loop_search` (the search),
:mod:`~unmask_video.ear_loop_follow` (the follow), :mod:`~unmask_video.ear_loop_pixels` (the pixel steps both share),
:mod:`~unmask_video.ear_loop_fill` (the filling); here, the tracker that picks a search or a follow per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.blend import mask_bbox
from unmask_video.ear_loop_fill import erase_loops, inpaint_box, off_front
from unmask_video.ear_loop_follow import follow_loops
from unmask_video.ear_loop_options import EarLoopOptions, Look
from unmask_video.ear_loop_pixels import placed
from unmask_video.ear_loop_search import loop_strokes, search_loops
from unmask_video.face_units import face_size_px
from unmask_video.stages import Box, Image, Loops

__all__ = ["EarLoopOptions", "EarLoops", "loop_strokes", "follow_loops", "inpaint_box", "erase_loops", "off_front"]


@dataclass
class _Held:
    """A track's state from frame to frame: its last frame's loops, what its last search found."""

    loops: Loops | None  # its last frame's loops (frame coordinates)
    landmarks: np.ndarray  # its last frame's landmarks (frame coordinates)
    strokes: Loops | None  # the strokes its last search chained to the mask (frame coordinates)
    look: Look | None  # the colours its last search read (None: the search found no mask colour)
    searched: np.ndarray  # its landmarks at the last search (frame coordinates)
    area: int  # its mask's pixels at the last search
    age: int = 0  # frames since the last search
    nones: int = 0  # how many searches in a row, up to the last, found no loops


class EarLoops:
    """Adds the ear loops to the masks of face tracks, frame after frame (each track's last loops kept): a full
    search every ``search_every`` frames or when the face or its mask changed, the loops followed between."""

    def __init__(self, options: EarLoopOptions | None = None) -> None:
        self.options = options or EarLoopOptions()
        self._held: dict[int, _Held] = {}  # track -> its last frame's loops and its last search's strokes

    def find(
        self, image: Image, landmarks: np.ndarray, mask: np.ndarray, track: int, box: Box,
        within: tuple[slice, slice] | None = None,
    ) -> Loops | None:
        """The loops past ``mask`` (float32 (h, w) in [0, 1], a worn mask's) in ROI ``image`` (uint8 RGB; its
        ``landmarks``; ``box``: the ROI's box in the frame), in frame coordinates; None: none (or an empty mask).
        ``within``: a box of ``mask`` outside which it is 0 (its area and box are read there only; None: the whole
        mask)."""
        area = int(np.count_nonzero((mask if within is None else mask[within]) > 0.5)) if self.options.enabled else 0
        if not area:  # (off, or an empty mask)
            self.reset(track)
            return None
        at = (landmarks + np.array([box.x0, box.y0], np.float32)).astype(np.float32)
        held = self._held.get(track)
        if held is not None and self._followable(held, at, area):
            followed = self._follow(held, image, landmarks, mask, box, at)
            if followed is not None:
                held.loops, held.landmarks, held.age = followed or None, at, held.age + 1
                return held.loops
        before = None if held is None or held.loops is None else placed(held.loops, box, mask.shape)
        found, strokes, look = search_loops(image, landmarks, mask, self.options, before, within)
        look = None if look is None else look.moved(np.float32([box.x0, box.y0]), 1.0)
        radius = self.options.inpaint_radius
        loops = _framed(found, box, radius)
        nones = 0 if loops is not None else 1 + (held.nones if held is not None else 0)
        self._held[track] = _Held(loops, at, _framed(strokes, box, radius), look, at, area, nones=nones)
        return loops

    def reset(self, track: int) -> None:
        """Forget a track's loops (the face was lost, or wears no mask)."""
        self._held.pop(track, None)

    def _followable(self, held: _Held, landmarks: np.ndarray, area: int) -> bool:
        """Whether this frame may follow ``held`` (or hold its "none") rather than search: the search is recent, the
        face (its frame ``landmarks``) near where it was then, its mask (``area`` pixels) about as large."""
        o = self.options
        if held.loops is None and (o.hold_none_after is None or held.nones < o.hold_none_after):
            return False  # (none to follow, nor yet a "none" to hold: each search may find loops at its threshold)
        if held.age + 1 >= o.search_every or abs(area - held.area) > o.mask_change * held.area:
            return False
        shift = float(np.linalg.norm(landmarks - held.searched, axis=1).mean())
        return shift <= o.moved * face_size_px(landmarks)

    def _follow(
        self, held: _Held, image: Image, landmarks: np.ndarray, mask: np.ndarray, box: Box, at: np.ndarray
    ) -> Loops | bool | None:
        """``held``'s loops followed into this frame (:func:`follow_loops`): False where it holds none (nor did its
        search chain any stroke: its "none" held until the next search), None where they no longer fit (a search is
        due)."""
        if held.loops is None and held.strokes is None:
            return False
        if held.look is None:
            return None
        origin = np.float32([box.x0, box.y0])
        lasts = _moved_sides(held.loops, held.landmarks, at, origin)
        strokes = _moved_sides(held.strokes, held.searched, at, origin)
        shifts = [at[list(ids)].mean(axis=0) - held.searched[list(ids)].mean(axis=0) - origin
                  for ids in ls.OUTLINE_SIDES]  # fmt: skip
        look = replace(held.look, hulls=tuple(hull + d for hull, d in zip(held.look.hulls, shifts)),
                       starts=tuple(start + d for start, d in zip(held.look.starts, shifts)))  # fmt: skip
        edge = (held.age + 1) % max(self.options.edge_every, 1) == 0
        followed = follow_loops(image, landmarks, mask, list(zip(lasts, strokes)), look, self.options, edge)
        return None if followed is None else (_framed(followed, box, self.options.inpaint_radius) or False)


def _framed(found: np.ndarray, box: Box, radius: float) -> Loops | None:
    """The loops ``found`` (uint8 {0, 1} over the ROI whose box in the frame is ``box``) in frame coordinates, on
    their own box; None: none."""
    tight = mask_bbox(found, 0, found.shape)  # (uint8 {0, 1}: its non-zero pixels read as they are)
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
