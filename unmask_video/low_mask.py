"""A mask worn below the nose: the bare nose and cheeks above its top edge stay as the frame shows them.

The blend cross-fades the rebuilt face into the frame over a band outside the mask (``BlendOptions.width``: 12 px on
a 256 px face, more on larger ones) so that the rebuilt skin meets the frame's with no seam. Over a correctly worn
mask's top edge that band lies on the nose bridge and the cheeks under the eyes, and hides a fringe of cloth the
segmentation missed. Over a mask worn below the nose it lies on the nose's underside, the nostrils and the cheeks
beside them: bare skin the frame shows, which the band replaced in part by the warped reference's (with a stand-in
photo, its own nostrils ghosted over the frame's; benchmarks/README.md, helper lownose).

:func:`nose_bare` tells such a mask from its landmarks (the nose's midline from its tip to its base lies off it: a
worn mask covers it, FaceMesh's guess of it under the cloth included); :func:`cap_above_top` then limits the blend's
alpha above the mask's top edge, column by column, to a short ramp (``BlendOptions.low_top``: 5 px on a 256 px face
against the band's 12), so the feather still softens the cloth's edge but no longer reaches over the nostrils.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets as ls

__all__ = ["nose_bare", "cap_above_top"]


def nose_bare(mask: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether the mask (float (h, w), > 0 on it) leaves the nose's midline bare from its tip to its base over the
    lip (:data:`landmark_sets.NOSE_TIP_TO_BASE`, in the mask's pixels): a mask worn below the nose. A point outside
    the mask's array counts as bare. (Not the wings' bases, :data:`landmark_sets.NOSE_UNDERSIDE`: a low mask's top
    edge rises from under the nose towards the cheeks and may cover them on a small nose, a child's.)"""
    h, w = mask.shape[:2]
    for x, y in np.round(np.asarray(landmarks, np.float32)[list(ls.NOSE_TIP_TO_BASE)]).astype(np.int64).tolist():
        if 0 <= x < w and 0 <= y < h and mask[y, x] > 0:
            return False
    return True


def cap_above_top(alpha: np.ndarray, mask: np.ndarray, reach_px: float, alpha_reach: int | None = None) -> None:
    """Limit ``alpha`` (float32 (h, w), in place) above the top edge of ``mask`` (the same shape, > 0 on it), in
    each column the mask holds: at most ``1 - d / (reach_px + 1)`` at ``d`` pixels above the mask's topmost pixel in
    that column, its narrow notches closed (0 from ``reach_px + 1`` pixels up); the columns without mask, and every
    pixel at or under the top edge, are left as they are. ``alpha_reach``: ``alpha`` is 0 more than this many pixels
    from the mask (the feather's reach, :func:`blend.feather_reach`): the rows above the mask's top by more are not
    looked at."""
    h = mask.shape[0]
    # (h less each column's first row on the mask, 0 where it holds none: a product with the rows counted down and a
    # maximum down the columns, about half the time of an argmax down them)
    score = ((mask > 0).view(np.uint8) * np.arange(h, 0, -1, dtype=np.uint16)[:, None]).max(axis=0)
    held = score > 0
    cols = np.flatnonzero(held)
    if not len(cols):
        return
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    top = (h - score[c0:c1]).astype(np.float32)  # (the first row on the mask, per column)
    top[~held[c0:c1]] = 0.0  # (a column without mask inside the span: no cap)
    # The top edge opened along the columns over twice ``reach_px`` either side (a running minimum of its rows, then a
    # maximum): a notch in it narrower than that, where the segmentation left a sliver of cloth out, takes its
    # neighbours' top and keeps the feather over the sliver; its slopes keep their rows (the minimum alone raised them,
    # the cap's line with them, onto the nostrils beside a V-shaped top).
    across = int(round(2.0 * reach_px))
    if across > 0:
        line = np.ones((1, 2 * across + 1), np.uint8)
        top = cv2.erode(top[None, :], line, borderType=cv2.BORDER_REPLICATE)
        top = cv2.dilate(top, line, borderType=cv2.BORDER_REPLICATE)[0]
    highest = int(top.max())  # (no column's cap reaches below its top: the rows under the highest top are free)
    r0 = 0 if alpha_reach is None else max(int(top[held[c0:c1]].min()) - alpha_reach - 1, 0)
    if highest <= r0:
        return
    # (1 - d / (reach + 1), d = top - row: 1 and more at and under the top, clipped to 1 there)
    cap = np.arange(r0, highest, dtype=np.float32)[:, None] - top[None, :]
    cap *= np.float32(1.0 / (reach_px + 1.0))
    cap += np.float32(1.0)
    np.clip(cap, 0.0, 1.0, out=cap)
    part = alpha[r0:highest, c0:c1]
    np.minimum(part, cap, out=part)
