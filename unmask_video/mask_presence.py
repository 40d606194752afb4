"""Is a mask worn at all? A per-face score each frame and a decision with hysteresis over time.

The score combines these cues, each in [0, 1]:

- colour: how far the segmented mask's colour is from the forehead's skin (a bare face's "mask cluster" is
  skin, lips or beard, close to the forehead colour; a worn mask is cloth of another colour);
- cover: how much of the lower face under the nose (the landmark polygon between the cheeks, the nose and the
  chin) the segmented mask covers (a worn mask, even worn below the nose, covers nearly all of it; on a bare
  face the "mask" cluster is lips, shadow or beard and covers a part). Hands in front of a worn mask (putting it
  on, adjusting it) hide part of it: skin-coloured occluders that come into the face from outside
  (:func:`unmask_video.occluders.skin_occluders`) are left out of the lower face measured, but only when the visible
  mask already covers most of it (``occluder_min_cover``) and they hide at most ``occluder_max_share`` of it, or
  they hide the lips and the mask shows on both sides of them (a hand flat over the mouth, ``hand_*``) or on one
  side with the hand covering the rest (a turned face, ``hand_one_side``), and in all cases no red lips show past
  them (``hand_lips``): on a bare face the chin's skin joins the neck like a hand and would otherwise count as an
  occluder. Hands are looked for only behind clear cloth (``hand_colour``, ``hand_chroma``, ``hand_edge``): a bare
  face's shaded half beside its lit half is not;
- lips: red lips in view mean no mask over the mouth (:func:`lip_contrast`);
- edge: cloth on skin makes a clear colour step along the mask's upper edge (read column by column, just above
  and just below the mask's top); a bare face's shaded lower face fades into the skin above it
  (:func:`edge_contrast`);
- mouth: a bare mouth is a dark line between the lips (and dark corners, a lip shadow) much darker than the skin
  around it; cloth over the mouth has no such line (:func:`mouth_darkness`). It stands in for the colour cue when the
  forehead shows no usable skin colour (a bare face's "mask" with its mouth in it is no mask), and backs up a weak
  upper edge (a pale mask on pale skin, whose top shows little step, has no mouth in it).

- level: a worn mask hangs from the nose bridge, its upper edge highest in the middle and falling to both sides alike;
  a mask held up in front of the face (about to be put on, shown to the camera) covers the lower face as well, but
  lies across it at a slant, from one eye down past the other side's jaw and on to the frame's edge: its upper edge
  falls steadily from one side to the other (:func:`edge_slant`).

score = sqrt(colour x max(edge, mouth)) x cover x lips x mouth over the rest x level, the colour being the mouth cue
when there is no forehead colour. The mouth over the rest: whatever the other cues say, a mouth far darker than the
rest of the "mask" (:func:`mouth_darkness`'s two figures) is a bare face's: a print's dots or stripes are as dark
elsewhere on the cloth.

The decision follows a running average of the score: it turns on above ``on`` and off below ``off``, so one odd
frame neither starts nor stops the rebuild. While a mask is worn, frames where something skin-coloured hides part of
the lower face and no red lips show (a hand passing in front of the mask, which :mod:`unmask_video.occluders` does
not find: it need not come from outside the face) are held: the average does not fall (``hold_skin``,
``hold_frames``). No mask: the face passes through untouched.

Settled (``settled``): while the decision is settled on a worn mask and the cheap cues (colour, cover) stay where they
were, the costly cues (lips, edge, mouth) are measured only every few frames and reused in between: they can only
lower the score, and a mask taken off moves the cheap ones first (the cluster that was mask turns to skin).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.order_stats import median, percentile

__all__ = [
    "PresenceOptions", "Presence", "presence_score", "lip_contrast", "edge_contrast", "lower_face", "lower_cover",
    "lips_region", "mouth_darkness", "nostril_darkness", "edge_slant", "skin_cloth_score",
]


@dataclass
class PresenceOptions:
    """Options of the mask presence decision."""

    enabled: bool = True
    colour_near: float = 6.0  # colour distance to the skin (segmenter feature units) scoring 0 ...
    colour_far: float = 18.0  # ... and scoring 1
    cover_low: float = 0.75  # share of the lower face under the nose covered scoring 0 ...
    cover_high: float = 0.95  # ... and scoring 1
    lips_low: float = 4.0  # lips this much redder (Lab a) than the skin around them score 1 (covered) ...
    lips_high: float = 9.0  # ... and this much 0 (visible: no mask over the mouth)
    edge_low: float = 7.0  # colour step across the mask's upper edge (Lab; per column, see edge_contrast) scoring 0 ...
    edge_high: float = 14.0  # ... and scoring 1
    # Where the segmented mask covers the lips and the skin around them, the lips cue still counts when that
    # "skin around them" has the forehead's colour (Lab a, b within this): a bare face's "mask" is its whole lower
    # face, lips included; around a red print on a mask, the cloth is unlike the forehead. 0: the cue is dropped.
    lips_ring_skin: float = 8.0
    # The mouth cue: the segmented mask's pixels around the lips (the lip line grown by ``mouth_reach`` face sizes) this
    # much darker (uint8 Lab L, the 95th percentile of a fine blur's drop below a coarse one, see mouth_darkness) score
    # 1 (cloth, no mouth in view) ... and this much 0 (a mouth's dark line: a bare face). mouth_high 0: no mouth cue.
    mouth_low: float = 12.0
    mouth_high: float = 24.0
    mouth_reach: float = 0.06
    # ... and whatever the other cues say, a mouth this much darker than the rest of the mask (the same measure over the
    # lower face beyond ``mouth_far`` face sizes of the lips) scores 1 (no change) ... and this much 0 (a bare face: a
    # print's dots, stripes or blotches and a hand's edge are as dark around the mouth as elsewhere). 0: not used.
    mouth_far: float = 0.16
    mouth_over_low: float = 20.0
    mouth_over_high: float = 30.0
    # A mask of nearly the skin's colour (beige on fair skin, brown on dark skin: ``colour_near`` or more from it, where
    # the colour cue starts) has a weak colour cue; its clear upper edge and no mouth in it, both together, stand in
    # for the colour. A bare face's shaded lower face fades into the skin above it and shows its mouth; a hand over
    # the mouth has a clear edge and no mouth, but it is the skin's own colour (closer than ``colour_near``).
    # False: the colour cue alone, as before.
    skin_coloured: bool = True
    # ... and a mask of the skin's very colour (nearer than ``colour_near``: a beige mask on beige skin), where the
    # colour says nothing: cloth is told by what a bare lower face has and it has not (:func:`skin_cloth_score`), all
    # together: no mouth in it (``mouth`` at most ``skin_mouth_low``, scoring 0 at ``skin_mouth_high``: tighter than
    # the mouth cue, a bare face's closed mouth reads 11 or more), no nostrils in it (:func:`nostril_darkness`, on the
    # mask's pixels within ``nostril_reach`` face sizes of the nostrils' points, when it covers ``nostril_cover`` of
    # them: ``nostril_low`` .. ``nostril_high``), even over the rest of the lower face (``rest``, ``skin_rest_low`` ..
    # ``skin_rest_high``: a hand's fingers are dark lines, a mask's pleats faint) and a step at its upper edge (``edge``,
    # ``skin_edge_low`` .. ``skin_edge_high``). A hand over the mouth leaves the nostrils out of the mask (not
    # measured: no change) or shows its fingers; a bare lower face has its mouth in it. nostril_high 0: off.
    nostril_low: float = 8.0
    nostril_high: float = 14.0
    nostril_reach: float = 0.04
    nostril_cover: float = 0.8
    skin_mouth_low: float = 6.0
    skin_mouth_high: float = 10.0
    skin_rest_low: float = 12.0
    skin_rest_high: float = 20.0
    skin_edge_low: float = 3.0
    skin_edge_high: float = 8.0
    # ... and the segmenter keeps a k-means cluster of the skin's colour over the core as the mask (instead of a
    # cluster unlike the skin, ``SegmentOptions.skin_far_only``) when that score on its map is at least
    # ``skin_cloth_least`` and it covers ``skin_cloth_cover`` of the lower face (the k-means map: before its holes, a
    # pleat's shade, are closed)
    skin_cloth_least: float = 0.25
    skin_cloth_cover: float = 0.85
    # Skin-coloured occluders (hands) are left out of the cover's lower face when the visible mask covers at least
    # ``occluder_min_cover`` of it and they hide at most ``occluder_max_share`` of it; an occluder's pixels are
    # within ``occluder_tolerance`` (Lab a, b) of the forehead's skin. 0 tolerance: occluders are not looked for.
    occluder_tolerance: float = 10.0
    occluder_min_cover: float = 0.6
    occluder_max_share: float = 0.4
    # ... or, for a hand in front of the mouth, when it hides at least ``hand_mouth`` of the lips (red lips are no
    # skin colour: on a bare face they stay in view) and the visible mask shows on both sides of the lower face
    # (``hand_sides`` of each outer third), from ``hand_min_cover`` visible up to ``hand_max_share`` hidden.
    hand_mouth: float = 0.7
    hand_sides: float = 0.2
    hand_min_cover: float = 0.2
    hand_max_share: float = 0.8
    # ... or the mask shows on one side only (a turned face, the hand over the other side) and the mask and the hand
    # together cover at least this share of the lower face (nothing else, no lips or beard, shows there). 0: off.
    hand_one_side: float = 0.9
    # Either way, only when the lips (the occluder's pixels left out) are at most this much redder than the skin
    # around them: under a mask or behind a hand no red lips show.
    hand_lips: float = 1.5
    # ... and only when the mask is at least this far from the skin's colour (as ``colour_*``), this far in chroma
    # over lightness (segment's shading-free chroma: a shaded colour keeps it), and its upper edge at least this
    # clear (as ``edge_*``): a bare face's shaded half beside its lit half (which joins the neck like a hand) is not.
    hand_colour: float = 15.0
    hand_chroma: float = 15.0
    hand_edge: float = 16.0
    # Hold: while a mask is taken as worn, a frame whose lower face is partly hidden by something skin-coloured in front
    # of the mask (at least ``hold_skin`` of the lower face: a hand passing, wherever it comes from) and shows no red
    # lips (at most ``lips_low``) does not lower the running average, for at most ``hold_frames`` frames in a row: the
    # hand stays in front of the rebuilt face instead of the whole mask coming back. A bare face is never held (it is
    # never taken as masked), and a mask taken off shows the lips. 0 frames: no hold.
    hold_skin: float = 0.15
    hold_frames: int = 30
    # Level: the mask's upper edge falling this far (face sizes) steadily from one side of the face to the other
    # (edge_slant) scores 1 (worn) ... and this far 0 (a mask held across the face). On the real clips' worn frames
    # (hands adjusting the KF94 included) and benchmarks.segmentation's 381 masked photos the slant is 0 (at most
    # 0.004); the KF94 held across the face, 0.09-0.30. slant_high 0: not used.
    slant_low: float = 0.04
    slant_high: float = 0.08
    # Settled: while a mask is taken as worn, its running average and the last fully measured score are at least
    # ``settled``, and this frame's cheap cues are where they were then (the colour distance within ``settled_colour``,
    # the cover within ``settled_cover``), the lips, edge, mouth and nostril cues are measured once every
    # ``settled_every`` frames and reused in between. A mask taken off moves the cheap cues first (the cluster that
    # was mask turns to skin, or to a part of the face), and any other change waits at most ``settled_every`` - 1
    # frames. 1: always measured.
    settled: float = 0.5
    settled_colour: float = 2.0
    settled_cover: float = 0.03
    settled_every: int = 3
    # Settled bare: while a face is taken as bare, its running average and the last fully measured score at most
    # ``bare_settled``, and the k-means mask's own cues (its colour distance to the skin, its cover of the lower face)
    # within ``bare_colour`` and ``bare_cover`` of those at the last full run, the segmenter's refinement and the
    # costly cues are skipped, the face returned bare and the average kept, on at most ``bare_every`` - 1 frames in a
    # row. A mask put on changes the k-means mask (its colour, its cover, or a refit, which always runs it all) or
    # waits at most ``bare_every`` - 1 frames. 1: always measured.
    bare_settled: float = 0.1
    bare_colour: float = 2.0
    bare_cover: float = 0.05
    bare_every: int = 4
    on: float = 0.6  # the average score above which a mask is taken as worn ...
    off: float = 0.3  # ... and below which it is taken off
    smoothing: float = 0.5  # weight of the past in the running average, in [0, 1)


_LIPS_SEEN = 0.25  # past an occluder, at least this share of the lips must be in view for the lips cue to count


def lip_contrast(
    lab: np.ndarray,
    landmarks: np.ndarray,
    size: float,
    mask: np.ndarray | None = None,
    skin_ab: np.ndarray | None = None,
    ring_skin: float = 0.0,
    occluder: np.ndarray | None = None,
) -> float | None:
    """How much redder (Lab a) the lips are than the skin around the mouth, or None when they are out of view.

    Visible lips are redder than the skin around them; under a mask, "lips" and surroundings are the same cloth.
    ``lab`` is a uint8 Lab image, ``landmarks`` in its pixels, ``size`` the face size in its pixels. When the
    segmented ``mask`` covers both the lips and the skin around them, a red there is the mask's print: None,
    unless the skin around them has the forehead's colour (``skin_ab``, Lab a and b, within ``ring_skin``).
    The pixels of an ``occluder`` map (a hand in front of the mouth: skin, redder than most masks) are no lips.
    """
    k = max(int(round(0.08 * size)) | 1, 3)
    # (all of it happens in a window around the lips, the ring's reach included: the same pixels, a fraction of the cost)
    pts = np.asarray(landmarks, np.float32)[ls.index(ls.LIPS_OUTER)]
    window = _points_window(pts, k + 2, lab.shape[:2])
    if window is None:
        return None
    x0, y0 = window[1].start, window[0].start
    lab = lab[window]
    mask = None if mask is None else mask[window]
    occluder = None if occluder is None else occluder[window]
    landmarks = np.asarray(landmarks, np.float32) - np.array([x0, y0], np.float32)
    lips = lips_region(lab.shape[:2], landmarks)
    if lips.sum() < 12:
        return None
    near = max(int(round(0.02 * size)) | 1, 3)
    # (the lips dilated by disks of k and near pixels across, as thresholds of one distance transform)
    off_lips = _distance_off(lips)
    ring = ((off_lips <= k // 2) & (off_lips > near // 2)).astype(np.uint8)
    inner = cv2.erode(lips, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    if occluder is not None:
        whole = int(inner.sum())
        inner &= 1 - (occluder > 0).astype(np.uint8)
        # (a few pixels along the occluder's edge are no lips in view: a print or the hand's own rim)
        if inner.sum() < _LIPS_SEEN * whole:
            return None
    if inner.sum() < 6 or ring.sum() < 12:
        return None
    if mask is not None and (mask[inner > 0] > 0).mean() >= 0.9 and (mask[ring > 0] > 0).mean() >= 0.9:
        around = median_u8(lab[ring > 0][:, 1:])
        if skin_ab is None or ring_skin <= 0 or float(np.linalg.norm(around - skin_ab)) > ring_skin:
            return None
    a = lab[..., 1]
    return float(median_u8(a[inner > 0][:, None])[0]) - float(median_u8(a[ring > 0][:, None])[0])


def median_u8(values: np.ndarray) -> np.ndarray:
    """float32 (c,): the median of each column of uint8 ``values`` (n, c), n > 0, as ``np.median`` of them as float32
    gives it (the mean of the two middle values when n is even), from a 256-bin count per column: no sort."""
    n = len(values)
    out = np.empty(values.shape[1], np.float32)
    for c in range(values.shape[1]):
        counts = np.cumsum(np.bincount(values[:, c], minlength=256))
        low = int(np.searchsorted(counts, (n - 1) // 2, side="right"))
        high = int(np.searchsorted(counts, n // 2, side="right"))
        out[c] = (low + high) / 2
    return out


def lips_region(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """uint8 {0, 1}: inside the outer lip line."""
    lips = np.zeros(shape, np.uint8)
    cv2.fillPoly(lips, [np.round(landmarks[ls.index(ls.LIPS_OUTER)]).astype(np.int32)], 1)
    return lips


def edge_contrast(lab: np.ndarray, mask: np.ndarray, landmarks: np.ndarray, size: float) -> float | None:
    """Colour step (Lab, lightness at half weight) across the mask's upper edge inside the face, or None.

    A mask is cloth on skin: just inside its upper edge and just above it, the colours differ clearly. A bare
    face's "mask" (its lower face skin, shaded) fades into the skin above it.
    """
    k = max(int(round(0.05 * size)) | 1, 3)
    # Only the upper half of the face's rings: below, the neck or the background are no skin to compare with.
    chin_y = float(landmarks[ls.CHIN, 1])
    nose_y = float(landmarks[ls.NOSE_BASE, 1])
    limit = (nose_y + chin_y) / 2
    # (all of it happens in a window: the face outline's box above that line, and the rings' reach around it)
    oval = np.asarray(landmarks, np.float32)[ls.index(ls.FACE_OVAL)]
    h, w = mask.shape
    pad = k + 2
    x0, y0 = np.maximum(np.floor(oval.min(axis=0)).astype(int) - pad, 0)
    x1 = min(int(np.ceil(oval[:, 0].max())) + pad + 1, w)
    y1 = min(int(np.ceil(min(float(oval[:, 1].max()), limit))) + pad + 1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    window = (slice(int(y0), int(y1)), slice(int(x0), int(x1)))
    lab, mask = lab[window], mask[window]
    offset = np.array([x0, y0], np.float32)
    h, w = mask.shape
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [np.round(oval - offset).astype(np.int32)], 1)
    binary = mask > 0
    # The upper edge only: in each column, the k / 2 pixels above the mask's top and the k / 2 below it. Around the
    # sides a mask reaches the face's outline, and a ring there compares the cloth with more cloth.
    # (listed column by column, k / 2 rows each, not as masks of the whole window: the same pixels, and the medians do
    # not depend on their order)
    cols = np.flatnonzero(binary.any(axis=0))
    top = binary.argmax(axis=0)[cols]
    steps = np.arange(k // 2)[:, None]

    def listed(ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # (rows ``ys``, (k // 2, columns), of the columns ``cols``: those inside the window and above ``limit``)
        keep = (ys >= 0) & (ys < h) & (ys + int(y0) < limit)
        return ys[keep], np.broadcast_to(cols, ys.shape)[keep]

    oy, ox = listed(top - 1 - steps)  # (the k / 2 rows above each column's top pixel)
    iy, ix = listed(top + steps)  # (the top pixel and the rows below it)
    outside = face[oy, ox] > 0
    inside = (face[iy, ix] > 0) & binary[iy, ix]
    if np.count_nonzero(outside) < 12 or np.count_nonzero(inside) < 12:
        return None
    weight = np.array([0.5, 1.0, 1.0], np.float32)
    a = median_u8(lab[iy[inside], ix[inside]]) * weight
    b = median_u8(lab[oy[outside], ox[outside]]) * weight
    return float(np.linalg.norm(a - b))


def _darkness_scales(size: float) -> tuple[float, float]:
    """The fine and coarse blurs' sigmas (pixels) of the darkness cues on a face of ``size`` px: 0.01 face size (noise,
    a pleat's thin line) and 0.05, at least 0.7 and 1.5."""
    return max(0.01 * size, 0.7), max(0.05 * size, 1.5)


def _darkness_drop(light: np.ndarray, fine: float, coarse: float) -> np.ndarray:
    """How much darker each pixel of the float32 lightness ``light`` is than its surroundings: the coarse blur less
    the fine one (:func:`_darkness_scales`)."""
    return _coarse_blur(light, coarse) - cv2.GaussianBlur(light, (0, 0), fine)


def mouth_darkness(
    lab: np.ndarray, mask: np.ndarray, landmarks: np.ndarray, size: float, reach: float, far: float = 0.0
) -> tuple[float | None, float | None]:
    """(mouth, rest): how much darker than their surroundings the darkest of the ``mask``'s pixels around the lips are,
    and the same over the rest of the lower face (:func:`lower_face`) beyond ``far`` face sizes of the lips; each None
    when the mask covers too little there (``far`` 0: the rest is not measured).

    The lightness is blurred finely (0.01 face size: noise, a pleat's thin line) and coarsely (0.05); on the mask's
    pixels within ``reach`` face sizes of the outer lip line, the 95th percentile of coarse minus fine. A bare mouth
    (the line between the lips, its corners, a beard's shadow) is tens of units darker than the skin around it; cloth
    over the mouth is nearly as light as the cloth around it, and a print's dots or stripes are as dark around the
    mouth as elsewhere. ``lab`` is a uint8 Lab image, ``landmarks`` in its pixels, ``size`` the face size in its
    pixels.
    """
    fine, coarse = _darkness_scales(size)
    k = max(int(round(reach * size)) | 1, 3)
    lm = np.asarray(landmarks, np.float32)
    pts = lm[ls.index(ls.LIPS_OUTER)]
    if far > 0:
        pts = np.concatenate([pts, lm[ls.index(ls.MASK_REGION)]])
    # (all of it happens in a window around the lips (and the lower face), the coarse blur's reach included)
    window = _points_window(pts, k + int(np.ceil(3 * coarse)) + 2, mask.shape)
    if window is None:
        return None, None
    x0, y0 = window[1].start, window[0].start
    light = lab[window][..., 0].astype(np.float32)
    local = lm - np.array([x0, y0], np.float32)
    lips = lips_region(light.shape, local)
    inside = mask[window] > 0
    # (the lips dilated by disks, as thresholds of one distance transform)
    off_lips = _distance_off(lips)
    around = (off_lips <= k // 2) & inside
    rest = None
    if far > 0:
        rest = (off_lips > max(int(round(far * size)) | 1, 3) // 2) & inside
        rest &= lower_face(light.shape, local) > 0
        if int(rest.sum()) < 20:
            rest = None
    if int(around.sum()) < 10 and rest is None:
        return None, None
    drop = _darkness_drop(light, fine, coarse)
    # (order_stats.percentile: np.percentile's values without its machinery, about 0.1 ms a call)
    mouth = float(percentile(drop[around], 95)) if int(around.sum()) >= 10 else None
    return mouth, None if rest is None else float(percentile(drop[rest], 95))



def nostril_darkness(
    lab: np.ndarray, mask: np.ndarray, landmarks: np.ndarray, size: float, reach: float, least: float = 0.8
) -> float | None:
    """How much darker than their surroundings the darkest of the ``mask``'s pixels at the nostrils are (the same
    measure as :func:`mouth_darkness`'s: the 95th percentile of a fine blur's drop below a coarse one, uint8 Lab L), on
    the disks of ``reach`` face sizes around the nostrils' points; None when the mask covers less than ``least`` of
    those disks (a mask worn below the nose, a hand under it: the nose is not under it). A bare nose's nostrils are
    dark holes; cloth over the nose has none."""
    fine, coarse = _darkness_scales(size)
    r = max(int(round(reach * size)), 2)
    pts = np.asarray(landmarks, np.float32)[ls.index(ls.NOSTRILS)]
    window = _points_window(pts, r + int(np.ceil(3 * coarse)) + 2, mask.shape)
    if window is None:
        return None
    x0, y0 = window[1].start, window[0].start
    light = lab[window][..., 0].astype(np.float32)
    disks = np.zeros(light.shape, np.uint8)
    for x, y in np.round(pts - np.array([x0, y0], np.float32)).astype(np.int32).tolist():
        cv2.circle(disks, (x, y), r, 1, -1)
    inside = disks > 0
    area = int(np.count_nonzero(inside))
    taken = inside & (mask[window] > 0)
    count = int(np.count_nonzero(taken))
    if area < 10 or count == 0 or count < least * area:
        return None
    drop = _darkness_drop(light, fine, coarse)
    return float(percentile(drop[taken], 95))


def edge_slant(mask: np.ndarray, landmarks: np.ndarray, size: float) -> float | None:
    """How far (face sizes) the ``mask``'s upper edge falls steadily from one side of the face to the other, across
    the face and across the image alike; None when the mask does not show across the face.

    In each column, the mask's top pixel, measured down from the nose bridge; its median over three bands: the middle
    half of each side (between the nose tip's column and the face outline's, each side its own width: a turned face's
    far side is narrower) and the middle between them. A worn mask hangs from the nose bridge: its upper edge is
    highest in the middle and falls to both sides alike. A mask held diagonally across the face has an upper edge that
    falls steadily from one side through the middle to the other: the slant is twice the smaller of the two falls
    (side to middle, middle to side; a straight edge: the whole fall from side to side), 0 when the edge does not fall
    the same way on both (a worn mask's peak; a hand over one side's upper edge lowers that side only).

    It is measured twice, across the face's own horizontal (the line between its sides, :data:`landmark_sets.YAW_PROBE`:
    on a tilted head a worn mask is level there) and across the image's; the slant is the smaller, 0 when the two fall
    opposite ways. A held mask in front of an upright face slants both ways alike; a mask level in the image on a tilted
    head (a photo with a mask pasted on it, as in ``benchmarks.segmentation``'s pairs, not turned with the head) is no
    held one. (A held mask whose slant the head's tilt undoes is missed: it is taken as worn, as before.)
    """
    binary = mask > 0
    # (in the mask's bounding box only: the columns with a mask pixel and their top ones are those of the whole window)
    x, y, w, h = cv2.boundingRect(binary.view(np.uint8))
    box = binary[y : y + h, x : x + w]
    cols = np.flatnonzero(box.any(axis=0))
    if len(cols) < 4:
        return None
    lm = np.asarray(landmarks, np.float32)
    # (argmax over the whole box, then the columns: taking the columns first copies the box)
    top = np.stack([cols + x, box.argmax(axis=0)[cols] + y], axis=1).astype(np.float32)
    face = lm[ls.YAW_PROBE[2]] - lm[ls.YAW_PROBE[0]]
    falls = []
    for across in (face / max(float(np.linalg.norm(face)), 1e-6), np.array([1.0, 0.0], np.float32)):
        fall = _steady_fall(top, lm, across)
        if fall is None:
            return None
        falls.append(fall)
    if falls[0] * falls[1] <= 0:
        return 0.0
    return min(abs(falls[0]), abs(falls[1])) / max(size, 1e-6)


def _steady_fall(top: np.ndarray, landmarks: np.ndarray, across: np.ndarray) -> float | None:
    """:func:`edge_slant` along one horizontal (``across``, a unit vector): the upper edge's (``top``, (n, 2) x, y of
    each column's top pixel) fall in pixels from the image-left band to the image-right one, signed (twice the smaller
    of its two steps, 0 when they differ in sign); None when a band holds too few columns."""
    origin = landmarks[ls.NOSE_BRIDGE]
    d = top - origin
    u = d @ across  # (along the horizontal, from the bridge)
    v = d[:, 1] * across[0] - d[:, 0] * across[1]  # (down, across it)
    oval = (landmarks[ls.index(ls.FACE_OVAL)] - origin) @ across
    mid = float((landmarks[ls.NOSE_TIP] - origin) @ across)
    left, right = mid - float(oval.min()), float(oval.max()) - mid
    heights = []
    for lo, hi in ((mid - 0.75 * left, mid - 0.25 * left), (mid - 0.25 * left, mid + 0.25 * right),
                   (mid + 0.25 * right, mid + 0.75 * right)):
        inside = (u >= lo) & (u <= hi)
        if int(inside.sum()) < max(3, int(0.2 * (hi - lo))):
            return None
        heights.append(float(median(v[inside])))
    steps = heights[0] - heights[1], heights[1] - heights[2]
    if steps[0] * steps[1] <= 0:
        return 0.0
    return float(np.sign(steps[0])) * 2.0 * min(abs(steps[0]), abs(steps[1]))


def _distance_off(region: np.ndarray) -> np.ndarray:
    """float32: each pixel's distance to the uint8 {0, 1} ``region`` (0 inside it). ``distance <= d // 2`` is the
    region dilated by a disk of d pixels across, as OpenCV's elliptic kernel gives it but for a few pixels on the
    diagonals, at a fraction of the cost of a large kernel."""
    return cv2.distanceTransform(1 - region, cv2.DIST_L2, 5)


def _points_window(points: np.ndarray, pad: int, shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """(rows, cols) slices of the box around ``points`` ((N, 2) x, y) grown by ``pad`` pixels and clipped to ``shape``
    (h, w); None when nothing of it is inside."""
    h, w = shape
    x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(points.max(axis=0)).astype(int) + pad + 1, [w, h])
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


def _coarse_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of float32 ``image`` by ``sigma`` px, computed at a reduced size (an area resize, the blur,
    a linear resize back): the same smooth field, a fraction of the cost of a wide kernel at full size."""
    h, w = image.shape
    f = max(int(sigma // 3), 1)
    if f == 1 or h < 2 * f or w < 2 * f:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    small = cv2.resize(image, (max(w // f, 1), max(h // f, 1)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def lower_face(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """uint8 {0, 1}: the lower face under the nose (MASK_REGION below the nose's base), where a worn mask is."""
    lower = np.zeros(shape, np.uint8)
    cv2.fillPoly(lower, [np.round(landmarks[ls.index(ls.MASK_REGION)]).astype(np.int32)], 1)
    nose_y = int(round(float(landmarks[ls.NOSE_BASE, 1])))
    lower[: max(nose_y, 0)] = 0
    return lower


def lower_cover(
    mask: np.ndarray,
    lower: np.ndarray,
    occluder: np.ndarray | None,
    options: PresenceOptions,
    mouth: np.ndarray | None = None,
) -> tuple[float, float, bool]:
    """(cover, occluded, discounted): the share of the ``lower`` face the ``mask`` covers, the share of it the
    ``occluder`` map hides, and whether those hidden pixels were left out of the cover (when the visible mask covers
    enough and they hide not too much, or they hide the ``mouth`` (the lips) and the mask shows on both sides, see
    :class:`PresenceOptions`). All are {0, 1} arrays of one shape."""
    inside = lower > 0
    area = int(np.count_nonzero(inside))  # ({0, 1} maps: the sums as counts, without the sum's int conversion)
    if area == 0:
        return 0.0, 0.0, False
    covered = int(np.count_nonzero(mask[inside] > 0))
    cover = covered / area
    if occluder is None:
        return cover, 0.0, False
    hidden = int(np.count_nonzero((occluder[inside] > 0) & (mask[inside] == 0)))
    occluded = hidden / area
    if hidden == 0 or hidden == area:
        return cover, occluded, False
    if cover >= options.occluder_min_cover and occluded <= options.occluder_max_share:
        return covered / (area - hidden), occluded, True
    if (
        mouth is not None and mouth.any() and options.hand_min_cover <= cover
        and occluded <= options.hand_max_share
        and float((occluder[mouth > 0] > 0).mean()) >= options.hand_mouth
        and (
            _both_sides(mask, lower, options.hand_sides)
            or (options.hand_one_side > 0 and _one_side(mask, lower, options.hand_sides)
                and (covered + hidden) / area >= options.hand_one_side)
        )
    ):
        return covered / (area - hidden), occluded, True
    return cover, occluded, False


def _side_shares(mask: np.ndarray, lower: np.ndarray) -> list[float]:
    """The share of the ``lower`` face's left third and of its right third that ``mask`` covers."""
    cols = np.flatnonzero(lower.any(axis=0))
    x0, x1 = int(cols[0]), int(cols[-1]) + 1
    third = max((x1 - x0) // 3, 1)
    shares = []
    for a, b in ((x0, x0 + third), (x1 - third, x1)):
        part = lower[:, a:b] > 0
        shares.append(float((mask[:, a:b][part] > 0).mean()) if part.any() else 0.0)
    return shares


def _both_sides(mask: np.ndarray, lower: np.ndarray, share: float) -> bool:
    """Whether ``mask`` covers at least ``share`` of the ``lower`` face's left third and of its right third."""
    return min(_side_shares(mask, lower)) >= share


def _one_side(mask: np.ndarray, lower: np.ndarray, share: float) -> bool:
    """Whether ``mask`` covers at least ``share`` of the ``lower`` face's left third or of its right third."""
    return max(_side_shares(mask, lower)) >= share


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(max((x - lo) / max(hi - lo, 1e-6), 0.0), 1.0))


def presence_score(
    skin_distance: float | None,
    cover: float,
    lips: float | None,
    edge: float | None,
    options: PresenceOptions,
    mouth: float | None = None,
    rest: float | None = None,
    slant: float | None = None,
    nostrils: float | None = None,
) -> float:
    """The score in [0, 1]; a cue that is None (no forehead, lips, upper edge or mask around the mouth in view, a mask
    seen on one side only) is left out. ``mouth``, ``rest``: :func:`mouth_darkness`; ``slant``: :func:`edge_slant`;
    ``nostrils``: :func:`nostril_darkness` (used for a mask of the skin's very colour only)."""
    colour = 1.0 if skin_distance is None else _ramp(skin_distance, options.colour_near, options.colour_far)
    covered = 1.0 if lips is None else 1.0 - _ramp(lips, options.lips_low, options.lips_high)
    step = 1.0 if edge is None else _ramp(edge, options.edge_low, options.edge_high)
    bare = 1.0
    if mouth is not None and options.mouth_high > 0:
        # No mouth in the mask: cloth. It stands in for a missing forehead colour, and backs up a weak upper edge.
        cloth = 1.0 - _ramp(mouth, options.mouth_low, options.mouth_high)
        if skin_distance is None:
            colour = cloth
        elif options.skin_coloured and edge is not None and skin_distance >= options.colour_near:
            # A clear edge and no mouth, both: cloth of nearly the skin's colour (each alone is no mask: see below).
            colour = max(colour, cloth * step)
        elif options.skin_coloured:
            # The skin's very colour: no mouth, no nostrils, even, and a step at its top, all together.
            colour = max(colour, skin_cloth_score(mouth, rest, nostrils, edge, options))
        step = max(step, cloth)
        if rest is not None and options.mouth_over_high > 0:
            # A mouth far darker than the rest of the "mask": a bare face's own.
            bare = 1.0 - _ramp(mouth - rest, options.mouth_over_low, options.mouth_over_high)
    # Unlike the skin and a clear edge back each other up (their geometric mean): either one alone, when weak,
    # does not make a mask; a bare face's lit forehead can look unlike its shaded chin, and a pale mask on pale
    # skin has a weak colour cue but a clear edge.
    level = 1.0
    if slant is not None and options.slant_high > 0:
        level = 1.0 - _ramp(slant, options.slant_low, options.slant_high)
    cover_score = _ramp(cover, options.cover_low, options.cover_high)
    return float(np.sqrt(colour * step)) * covered * cover_score * bare * level


def skin_cloth_score(
    mouth: float | None, rest: float | None, nostrils: float | None, edge: float | None, options: PresenceOptions
) -> float:
    """In [0, 1]: how surely a mask of the skin's very colour is cloth (see ``PresenceOptions.skin_mouth_low``): no
    mouth, no nostrils, an even rest of the lower face and a step at its upper edge, the product of their ramps;
    0 when any of them was not measured, or ``nostril_high`` is 0."""
    if options.nostril_high <= 0 or mouth is None or rest is None or nostrils is None or edge is None:
        return 0.0
    return (
        (1.0 - _ramp(mouth, options.skin_mouth_low, options.skin_mouth_high))
        * (1.0 - _ramp(nostrils, options.nostril_low, options.nostril_high))
        * (1.0 - _ramp(rest, options.skin_rest_low, options.skin_rest_high))
        * _ramp(edge, options.skin_edge_low, options.skin_edge_high)
    )


def _cues_near(
    now: tuple[float | None, float], then: tuple[float | None, float], colour: float, cover: float
) -> bool:
    """Whether the cheap cues ``now`` (colour distance to the skin, None without one; cover of the lower face) lie
    where they were (``then``): a distance on both or neither, within ``colour`` of each other, the covers within
    ``cover``."""
    (distance, now_cover), (then_distance, then_cover) = now, then
    if (distance is None) != (then_distance is None):
        return False
    if distance is not None and abs(distance - float(then_distance)) > colour:  # type: ignore[arg-type]
        return False
    return abs(now_cover - then_cover) <= cover


class Presence:
    """The decision of one face over time."""

    def __init__(self, options: PresenceOptions) -> None:
        self.options = options
        self.average: float | None = None
        self.worn = False
        self.held = 0  # frames held in a row (see ``PresenceOptions.hold_skin``)
        # The last fully measured (lips, edge, mouth, rest, nostrils) cues, their score and cheap cues (colour
        # distance, cover), and the frames they were reused since.
        self.cues: tuple[float | None, float | None, float | None, float | None, float | None] | None = None
        self.cues_score = 0.0
        self.cheap: tuple[float | None, float] = (None, 0.0)
        self.reused = 0
        # A bare face's k-means cues (colour distance, cover) at its last full run, and the frames skipped since.
        self.bare_cues: tuple[float | None, float] | None = None
        self.skipped = 0

    def settled(self, distance: float | None, cover: float) -> bool:
        """Whether this frame (its colour ``distance`` to the skin, None without one, and ``cover``) may reuse the last
        measured lips, edge, mouth and nostril cues (``PresenceOptions.settled``): worn, settled on a high average, the
        cheap cues where they were, fewer than ``settled_every`` - 1 frames reused in a row."""
        opt = self.options
        if opt.settled_every <= 1 or not self.worn or self.cues is None or self.reused >= opt.settled_every - 1:
            return False
        if min(self.average or 0.0, self.cues_score) < opt.settled:
            return False
        return _cues_near((distance, cover), self.cheap, opt.settled_colour, opt.settled_cover)

    def bare_settled(self, distance: float | None, cover: float) -> bool:
        """Whether this frame of a bare face (its k-means mask's colour ``distance`` to the skin, None without one,
        and ``cover`` of the lower face) may skip the refinement and the cues (``PresenceOptions.bare_settled``):
        bare, settled on a low average and score, the k-means cues where they were at the last full run, fewer than
        ``bare_every`` - 1 frames skipped in a row."""
        opt = self.options
        if opt.bare_every <= 1 or self.worn or self.bare_cues is None or self.skipped >= opt.bare_every - 1:
            return False
        if self.average is None or max(self.average, self.cues_score) > opt.bare_settled:
            return False
        return _cues_near((distance, cover), self.bare_cues, opt.bare_colour, opt.bare_cover)

    def measured_bare(self, cues: tuple[float | None, float] | None) -> None:
        """Keep a full run's k-means cues (:meth:`bare_settled`) while the face is bare; forget them once worn."""
        self.bare_cues, self.skipped = (None if self.worn else cues), 0

    def measured(
        self,
        cues: tuple[float | None, float | None, float | None, float | None, float | None],
        score: float,
        distance: float | None,
        cover: float,
    ) -> None:
        """Keep this frame's fully measured cues, score and cheap cues (for :meth:`settled`)."""
        self.cues, self.cues_score, self.cheap, self.reused = cues, score, (distance, cover), 0

    def holds(self, hidden: bool) -> bool:
        """Whether a frame whose mask is ``hidden`` (by something skin-coloured in front of it, no lips in view) is held:
        only while the mask is taken as worn, for at most ``hold_frames`` frames in a row."""
        return hidden and self.worn and self.held < self.options.hold_frames

    def update(self, score: float, hidden: bool = False) -> bool:
        """The decision after this frame's ``score``; ``hidden``: the frame may be held (:meth:`holds`)."""
        opt = self.options
        if not (hidden and self.worn):
            self.held = 0
        elif self.holds(hidden):
            self.held += 1
            if score < (self.average or 0.0):  # (the average does not fall; a good frame still counts)
                return self.worn
        if self.average is None:
            self.average = score
            self.worn = score >= 0.5 * (opt.on + opt.off)
            return self.worn
        self.average = opt.smoothing * self.average + (1.0 - opt.smoothing) * score
        if self.worn and self.average < opt.off:
            self.worn = False
        elif not self.worn and self.average > opt.on:
            self.worn = True
        return self.worn
