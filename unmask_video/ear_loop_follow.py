"""The ear loops followed between two searches (:mod:`unmask_video.ear_loops`): each side in its own small box round
the last frame's loops and the mask's side edge, read with the last search's colours in its zones, moved with the ear."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.ear_loop_options import EarLoopOptions, Look
from unmask_video.ear_loop_pixels import (
    CORNERS, chain_strokes, grow_loops, grown_back, half_hull, long_strokes, placed, shrunk, stroke_pixels,
    work_scale,
)
from unmask_video.face_units import face_size_px
from unmask_video.stages import Box, Loops

__all__ = ["follow_loops"]


def follow_loops(
    image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, sides: list[tuple[Loops | None, Loops | None]],
    look: Look, options: EarLoopOptions | None = None, edge: bool = True,
) -> np.ndarray | None:
    """uint8 {0, 1} (h, w): the loops of ``image`` (its ``landmarks``, its worn ``mask``) followed from the last
    frame's, side by side (``OUTLINE_SIDES``' order), each in its own box (round the mask's side edge the loops start
    from too: new loops there change the count): ``sides``, each the last frame's loops there and the strokes the last
    search chained to the mask there (both moved with the ear, their boxes in ``image``'s pixels; None: none); with the colours, zones
    and starts of that search (``look``, in this image's pixels); ``edge`` False: the box round those only, not round
    the mask's side edge. None: a side's loops changed too much (``kept_share``): a search is due."""
    options = options or EarLoopOptions()
    size = face_size_px(landmarks)
    scale = work_scale(size, options)
    out = np.zeros(mask.shape[:2], np.uint8)
    pad = int(np.ceil((options.follow_reach + options.background / 2 + options.patch) * size)) + 4
    # (a side without loops first: where it finds new strokes the follow fails, and the other side's work is not done
    # in vain; the sides' loops are joined, in any order)
    for (last, strokes), start in sorted(zip(sides, look.starts), key=lambda side: side[0][0] is not None):
        box = _side_box([last, strokes], start if edge else _top(start, options.edge_top * size), pad, mask.shape[:2])
        if box is None:
            continue
        at = Box(box[1].start, box[0].start, box[1].stop, box[0].stop)
        shape = mask[box].shape
        image_s, mask_s, (last_s, strokes_s) = shrunk(scale, image[box], mask[box],
                                                       [placed(last, at, shape), placed(strokes, at, shape)])  # fmt: skip
        origin = np.float32([box[1].start or 0, box[0].start or 0])
        zone = _zone_of(look.moved(-origin * scale, scale), (landmarks - origin) * scale, mask_s.shape[:2],
                        options.eye_clear * size * scale)  # fmt: skip
        found = _follow_at(image_s, mask_s, last_s, strokes_s, zone, size * scale, look, options)
        if found is None:
            return None
        out[box] |= grown_back(found, scale, mask[box])
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


def _top(start: np.ndarray, height: float) -> np.ndarray:
    """The ``start`` box ((x0, y0), (x1, y1); (0, 2): none) cut to its top ``height`` px."""
    if not len(start):
        return start
    return np.float32([start[0], (start[1][0], min(start[1][1], start[0][1] + height))])


def _follow_at(
    image: np.ndarray, mask: np.ndarray, last: np.ndarray, strokes: np.ndarray, zone: np.ndarray, size: float,
    look: Look, options: EarLoopOptions,
) -> np.ndarray | None:
    """:func:`follow_loops` of one side at the image's own size (``size``: its face's): the strokes chained (as a
    search chains them) to the mask's edge or to the searched ``strokes`` (within ``follow_reach``) in ``zone``, grown as a
    search grows them and into the ``last`` frame's loops; None: their pixels are fewer than ``kept_share`` of the
    last frame's, or more than its inverse."""
    inside = (mask > 0.5).astype(np.uint8)
    r = max(int(round(options.follow_reach * size)), 1)
    near = cv2.dilate(strokes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    rim = cv2.dilate(inside, np.ones((3, 3), np.uint8)) - inside
    strong, weak, _ = stroke_pixels(cv2.cvtColor(image, cv2.COLOR_RGB2Lab), zone & (1 - inside), look, size, options)
    chained = chain_strokes(long_strokes(strong, size, options), rim | near, size, options)
    grown = grow_loops(chained, weak, last, size, options)
    found = cv2.dilate(grown, np.ones((3, 3), np.uint8)) & (1 - inside)  # (their anti-aliased edges)
    count, was = int(np.count_nonzero(found)), int(np.count_nonzero(last & (1 - inside)))
    if count < options.kept_share * was or count * options.kept_share > was:
        return None
    return found


def _zone_of(look: Look, landmarks: np.ndarray, shape: tuple[int, int], clear: float) -> np.ndarray:
    """uint8 {0, 1} of ``shape``: the zones of ``look``'s hulls (in this image's pixels), cut at the eyes' outer
    corners of the face's ``landmarks`` as the search cuts them (``clear`` px round each corner left out)."""
    zone = np.zeros(shape, np.uint8)
    for hull, ear_ids, corner in zip(look.hulls, ls.OUTLINE_SIDES, CORNERS):
        ear = landmarks[list(ear_ids)].mean(axis=0)
        half_hull(zone, np.round(hull).astype(np.int32), landmarks[corner], ear - landmarks[corner], clear)
    return zone
