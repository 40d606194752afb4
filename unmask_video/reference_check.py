"""Checks on the reference still beyond "one face": does its lower face look covered?

A reference photo whose nose and mouth are hidden (a mask, a hand, a held object) cannot give them back: the result
would paste the cover itself. The mask segmenter's own presence decision (the one that lets bare faces in a video
pass through untouched) answers it on the still. A mask held off the face can still leave its ear loop across a
cheek: a thin stroke the segmenter does not call a mask, which the composite would then paste onto every frame;
:func:`strokes_across_cheeks` finds those, and :class:`~unmask_video.warp.ReferenceWarper` paints them out of its
copy of the reference (and says so). Both are heuristics: the pipeline warns rather than refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.blend import disk_morph
from unmask_video.face_axes import oval_map
from unmask_video.landmarks import face_box
from unmask_video.reference_matte import dilated
from unmask_video.segment import MaskSegmenter, SegmentOptions

__all__ = ["StrokeOptions", "lower_face_looks_covered", "strokes_across_cheeks"]


@dataclass(frozen=True)
class StrokeOptions:
    """What counts as an ear loop across a cheek (lengths in face heights, forehead top to chin)."""

    #: Thin bright structures narrower than this are found (a white top-hat with a disc of this diameter).
    tophat_size: float = 0.06
    #: A pixel is part of a stroke where it is this many levels (of 255) brighter than its surroundings' opening.
    min_tophat: int = 14
    #: A stroke is at least this long and at most this wide on average.
    min_length: float = 0.15
    max_width: float = 0.05
    #: Its lightest part is at least this light (L of 255: white or a light colour, as mask loops are) and
    #: this much lighter than the face's skin, with at most this fraction of the skin's chroma in the skin's
    #: hue (white, grey or blue are not skin-hued; a highlight on skin keeps the skin's hue).
    min_lightness: int = 200
    min_lighter: int = 35
    max_skin_hue: float = 0.5
    #: At least this fraction of the stroke lies inside the face oval (not a collar or the background).
    min_inside: float = 0.5


def strokes_across_cheeks(image: np.ndarray, landmarks: np.ndarray, options: StrokeOptions | None = None) -> np.ndarray:
    """(h, w) bool map of the image: thin light strokes (a white or light mask's ear loop) across the cheeks.

    Searched on the face below the middle of the nose, outside the nose and mouth, within a little of the face
    oval: a stroke is a long thin component of pixels much lighter than their surroundings (white top-hat), less
    red than the skin, whose lightest part is light and without the skin's hue. Dark loops are not found.
    """
    opts = options or StrokeOptions()
    out = np.zeros(image.shape[:2], bool)
    lm = np.asarray(landmarks, np.float64)
    top, chin = (lm[i] for i in landmark_sets.FACE_HEIGHT)
    height = float(np.hypot(*(chin - top)))
    if height < 16:
        return out
    box = face_box(lm, image.shape[:2], 0.15)
    roi = np.ascontiguousarray(image[box.slices])
    roi_lm = (lm - [box.x0, box.y0]).astype(np.float32)
    h, w = roi.shape[:2]
    lab = cv2.cvtColor(roi, cv2.COLOR_RGB2LAB)  # uint8: L in [0, 255], a and b offset by 128
    oval = oval_map(roi_lm, (h, w)) > 0
    grow = max(int(0.04 * height), 1)
    reach = dilated(oval, grow)  # where a stroke may run on (the disc's dilation, from the oval's rows)
    core = np.zeros((h, w), np.uint8)
    nose_mouth = roi_lm[landmark_sets.index(landmark_sets.NOSE + landmark_sets.MOUTH)]
    hull = cv2.convexHull(np.round(nose_mouth).astype(np.int32))
    cv2.fillConvexPoly(core, hull, 1)
    reach &= ~dilated(core > 0, grow)
    # A stroke is judged on the cheeks below the middle of the nose (no glasses rims, no eyes); once found, it
    # is followed up the face's side.
    eyes = float(roi_lm[landmark_sets.index(landmark_sets.UNDER_EYES), 1].mean())
    nose_tip = float(roi_lm[landmark_sets.NOSE_TIP, 1])
    region = reach.copy()
    region[: max(int(0.5 * (eyes + nose_tip)), 0)] = False
    k = max(int(opts.tophat_size * height) | 1, 5)
    light = np.ascontiguousarray(lab[..., 0])
    tophat = cv2.subtract(light, disk_morph(light, cv2.MORPH_OPEN, k))  # the white top-hat (the opening is <= it)
    skin = region & (tophat < opts.min_tophat // 2)
    if np.count_nonzero(skin) < 50:
        return out
    skin_lab = np.median(lab[skin], axis=0).astype(np.float64)
    skin_chroma = max(float(np.hypot(skin_lab[1] - 128, skin_lab[2] - 128)), 1.0)
    skin_dir = (skin_lab[1:] - 128.0) / skin_chroma
    candidates = reach & (tophat >= opts.min_tophat) & (lab[..., 1].astype(np.int16) < skin_lab[1] - 4)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    for i in range(1, n):
        if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) < opts.min_length * height:
            continue
        whole = labels == i
        where = whole & region
        area = int(np.count_nonzero(where))
        if area < 10:
            continue
        ys, xs = np.nonzero(where)
        _, sides, _ = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
        length = max(sides)
        if length < opts.min_length * height or area / max(length, 1.0) > opts.max_width * height:
            continue
        if float(oval[where].mean()) < opts.min_inside:
            continue
        px = lab[where].astype(np.float64)
        peak = px[tophat[where] >= np.percentile(tophat[where], 70)]  # the stroke's lightest part
        lightness = float(peak[:, 0].mean())
        # How much of the skin's own hue it has: its chroma along the skin's chroma direction, relative to the skin's.
        skin_hue = float(((peak[:, 1:] - 128.0) @ skin_dir).mean()) / skin_chroma
        if lightness >= opts.min_lightness and lightness - skin_lab[0] >= opts.min_lighter and skin_hue <= opts.max_skin_hue:
            out[box.slices][whole] = True
    return out


def lower_face_looks_covered(image: np.ndarray, landmarks: np.ndarray) -> bool:
    """True when the segmenter finds a mask worn on the reference's face (an ear loop across a cheek is the warper's
    business: it paints it out, see :func:`strokes_across_cheeks`)."""
    box = face_box(landmarks, image.shape[:2])
    probe = MaskSegmenter(SegmentOptions(temporal_smoothing=False, reuse=False))
    roi_landmarks = (landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
    return bool(probe.segment(image[box.slices], roi_landmarks).any())
