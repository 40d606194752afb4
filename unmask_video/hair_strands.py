"""Thin dark hair strands across the reference photo's skin, painted out once when the reference is loaded.

A stand-in's loose hair that falls over a cheek is thin enough for the reference matte to take it in with the skin
round it (:func:`~unmask_video.reference_matte.reference_matte`: the skin's pieces with what they enclose), so the warp
carried each strand onto every rebuilt frame: a thin dark line down the rebuilt cheek (the white-mask woman with her
stand-in, issue 11). :func:`strands_on_skin` finds them (long, thin components much darker than the skin on both their
sides, a black top-hat, on the matte off the eyes, brows, nose and mouth, reaching down the cheek below the eyes) and :func:`paint_out_strands` fills them from
the skin around them. A fold of the skin (beside the nose and mouth, under the eye) is broad and shallow; the face's
edge against hair or a wall has no skin past it: neither is taken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.blend import disk_morph, mask_bbox
from unmask_video.reference_matte import eroded, features

log = logging.getLogger(__name__)

__all__ = ["StrandOptions", "paint_out_strands", "strands_on_skin"]


@dataclass(frozen=True)
class StrandOptions:
    """What counts as a hair strand across the reference's skin (lengths in face heights, forehead top to chin)."""

    #: Dark structures narrower than this are looked at (a black top-hat with a disc of this diameter).
    closing: float = 0.03
    #: A pixel is part of a strand where it is this many levels (L of 255) darker than its surroundings' closing.
    pixel_darker: int = 12
    #: ... and a strand's darker part (the 80th percentile of its pixels' top-hat) this many: a strand of dark hair on
    #: the refW stand-in's cheek is 41-67 levels, her folds beside the nose and mouth and under the eye 18-25.
    strand_darker: int = 35
    #: A strand is at least this long and at most this wide on average.
    min_length: float = 0.08
    max_width: float = 0.02
    #: A strand reaches at least this far below the line of the lower lids (hair hanging down the cheek the warp pastes;
    #: a glasses rim's dark edge or its nose pads, an eye's liner or lashes end at the eyes: the quality benchmark's
    #: lp_d9 lost 0.1-0.3 dB with its glasses' edges painted out).
    below_eyes: float = 0.08
    #: At least this share of a strand lies on the matte itself (the warp carries it; the crease between a cheek and
    #: the hair beside it, a shade the matte leaves out, is not carried anyway).
    on_matte: float = 0.8
    #: On the face oval at least this far inside its outline (the crease where a cheek meets the ear or the hair at the
    #: face's edge is skin on both sides too, and the person's own outline).
    inside: float = 0.03
    #: The eyes and brows, and the nose and mouth, are left out grown by this much (their lashes, lines and nostrils
    #: are thin dark strokes of their own).
    feature_margin: float = 0.03


def _off_features(shape: tuple[int, int], landmarks: np.ndarray, margin: float) -> np.ndarray:
    """(h, w) bool: off the eyes and brows, and off the hull of the nose and mouth, each grown by ``margin`` px."""
    nose_mouth = (landmark_sets.NOSE + landmark_sets.MOUTH + landmark_sets.LIPS_OUTER,)
    on = features(shape, landmarks, landmark_sets.EYES_AND_BROWS, margin) | features(shape, landmarks, nose_mouth, margin)
    return on == 0


def strands_on_skin(
    image: np.ndarray, landmarks: np.ndarray, matte: np.ndarray, face: np.ndarray, height: float,
    options: StrandOptions | None = None,
) -> np.ndarray:
    """(h, w) bool: the thin dark strands across the skin of ``image`` ((h, w, 3) uint8 RGB; ``landmarks`` (468, 2) in
    its pixels; ``matte`` (h, w) uint8, > 0 on its skin, :func:`~unmask_video.reference_matte.reference_matte`;
    ``face`` (h, w) uint8, 255 on its face oval; ``height`` its face's height in pixels)."""
    opts = options or StrandOptions()
    out = np.zeros(matte.shape, bool)
    box = mask_bbox(matte > 0, 2, matte.shape)
    if box is None or height < 16:
        return out
    light = np.ascontiguousarray(cv2.cvtColor(np.ascontiguousarray(image[box]), cv2.COLOR_RGB2LAB)[..., 0])
    k = max(int(opts.closing * height) | 1, 3)
    tophat = cv2.subtract(disk_morph(light, cv2.MORPH_CLOSE, k), light)  # the black top-hat (the closing is >= it)
    # (looked for on the matte with its notches closed: a strand that reaches the matte's edge leaves a notch in it)
    on = matte[box] > 0
    skin = (disk_morph(on.view(np.uint8), cv2.MORPH_CLOSE, k) > 0) & _off_features(
        light.shape, landmarks - [box[1].start, box[0].start], opts.feature_margin * height
    )
    skin &= eroded(face[box] >= 128, opts.inside * height)
    candidates = ((tophat >= opts.pixel_darker) & skin).astype(np.uint8)
    lids = float(landmarks[list(landmark_sets.index(landmark_sets.UNDER_EYES)), 1].mean()) - box[0].start
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    for i in range(1, n):
        if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) < opts.min_length * height:
            continue
        if stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] - 1 < lids + opts.below_eyes * height:
            continue
        whole = labels == i
        area = int(stats[i, cv2.CC_STAT_AREA])
        if np.count_nonzero(whole & on) < opts.on_matte * area:
            continue
        ys, xs = np.nonzero(whole)
        length = max(cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))[1])
        if length < opts.min_length * height or area / max(length, 1.0) > opts.max_width * height:
            continue
        if np.percentile(tophat[whole], 80) < opts.strand_darker:
            continue
        out[box][whole] = True
    return out


def paint_out_strands(
    image: np.ndarray, landmarks: np.ndarray, matte: np.ndarray, face: np.ndarray, height: float,
    options: StrandOptions | None = None,
) -> np.ndarray:
    """``image``, or a copy with the strands of :func:`strands_on_skin` filled from the skin around them (OpenCV's Telea
    inpainting of the strands grown by a pixel)."""
    strands = strands_on_skin(image, landmarks, matte, face, height, options)
    if not strands.any():
        return image
    grown = cv2.dilate(strands.view(np.uint8), np.ones((3, 3), np.uint8))
    where = mask_bbox(grown, 6, grown.shape)
    assert where is not None
    out = image.copy()
    out[where] = cv2.inpaint(np.ascontiguousarray(image[where]), grown[where], 3, cv2.INPAINT_TELEA)
    log.info("%d pixels of hair strands across the reference's skin painted out", int(np.count_nonzero(grown)))
    return out
