"""Which pixels of the reference photo are the person's face and neck skin: the reference matte.

The warp carries the reference into the frame's mask; only the reference's own face and neck belong there. Its
background, hair, clothes and glasses frames belong to where the photo was taken: carried onto a frame of another
place (or of the same place once the head has turned), they show as strips of wall or collar beside the jaw. The
matte is decided once, when the reference is loaded:

- *where* skin can be (``reach``, given by the warp): the face oval and, below the jaw, only the neck's column
  (``warp.neck_column``), never beside it nor past the outline (a wall of the skin's own colour and light cannot
  be told from skin by colour: there only where it lies tells them apart); FaceMesh's outline often runs a few pixels
  past the cheek, so along it a pixel lighter than the skin just inside and far nearer the colour just outside (a pale
  wall the colour test takes for lit skin) is not skin (:func:`outside_like`);
- *which colour* is skin: a model of the face's own skin learned from the face centre (inside the oval, away from
  its outline, the eyes and the lips): the median Lab colour and the robust covariance of its chroma, lightness
  allowed far darker (a neck in the jaw's shadow, down to a floor: not dark hair) than lighter (a lit wall, a pale
  shirt);
- *connected*: only skin-coloured pieces joined to the face centre count (a wall of skin colour beside the face,
  cut off from it by hair or an edge, does not), and what those pieces enclose is kept whatever its colour (lips,
  nostrils, a moustache, the eyes), while what reaches in from outside the skin (hair over a cheek or the
  forehead, a collar, the wall) is not.

Everything the matte leaves out is not valid in the warp (unless the reference was taken in the same place and the
face is seen in its pose: ``warp.ReferenceWarper``); the composite fills it from the frame's surroundings.
"""

from __future__ import annotations

import logging
from typing import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.blend import disk_morph_near, distance_outside, mask_bbox

log = logging.getLogger(__name__)

__all__ = ["features", "skin_model", "skin_distance", "reference_matte", "inner_colour_at_edge", "SkinModel", "mirror_fill", "disc", "outside_like", "eroded", "dilated"]

#: The face centre the skin colour is learned from: the face oval shrunk by this fraction of the face height...
_CENTRE_INSET = 0.1
#: ... without the discs of this radius (face heights) around each eye and around the lips.
_EYE_RADIUS = 0.09
_LIPS_MARGIN = 0.03
#: The eyes, their outlines grown by this fraction of the face height (the lashes, the lids' make-up), are always in
#: the matte: a dark eye whose make-up or brow touches hair or a shadow at the temple is not enclosed by skin, and was
#: left out with whatever joined it (the under-eye skin a mask's top reaches: a hole the fill took from the frame's
#: surroundings, a grey patch at the rebuilt cheek's top).
_EYE_MARGIN = 0.02
#: A pixel is skin-coloured within this Mahalanobis distance of the centre's chroma (a, b)...
_CHROMA_LIMIT = 3.5
#: ... and with a lightness no more than this many robust spreads above the centre's median, or this many below
#: (shadowed skin is darker, rarely lighter: a pale wall or shirt next to the face is lighter).
_LIGHTER_SPREADS = 2.5
_DARKER_SPREADS = 12.0
#: ... and never darker than this fraction of the centre's median lightness (dark hair, a beard, a black collar have
#: a faint colour that a face with a wide spread of light would otherwise take for skin in shadow).
_DARKEST = 0.45
#: ... and not clipped white (every channel at least this): a blown-out sky or wall by the neck carries no colour,
#: and a face lit with a wide spread of light lets it pass the lightness test (a stand-in's white background beside
#: its neck, warped into the frame's jaw, showed as a pink block on the collar). Clipped highlights on the skin are
#: enclosed by it and kept (see :func:`reference_matte`).
_CLIPPED = 250
#: Smallest robust spread of the chroma (a, b) and of the lightness, Lab units (a flat, evenly lit face).
_MIN_CHROMA_SPREAD = 2.0
_MIN_LIGHT_SPREAD = 3.0
#: Specks and one-pixel bridges are cleaned with an opening and a closing of this fraction of the face height.
_CLEAN = 0.015
#: The matte's outline is smoothed with a Gaussian of this fraction of the face height.
_SMOOTH = 0.012
#: Within this fraction of the face height of the matte's outline (at least :data:`_EDGE_LEAST_PX`), a pixel lighter
#: than the skin deeper in (a normalised Gaussian average of the matte's pixels up to three times as deep, of half that
#: depth) by more than :data:`_EDGE_LIGHTER` (Lab L) takes that colour (:func:`inner_colour_at_edge`): along a jaw or
#: neck against a white background the smoothed outline reaches a pixel or two onto it, and the photo's edge pixels are
#: a blend of the two (and a sharpening halo); carried by the warp onto the frame's neck and colour-matched, that edge
#: showed as a thin white line where the rebuilt neck meets the frame (the grey-mask man's collar, with his stand-in).
#: Darker edge pixels stay: the skin's own shading at a jaw or neck's side (taking them too cost 0.3 dB on lp_d10, whose
#: reference carries its own neck in the same place). 0.06 (was 0.025, and below the jaw only, each pixel the nearest
#: deep one's colour): the stand-in's jaw against its white background, inside the face oval, holds a halo and, in the
#: notch between jaw and neck, a wedge of the background 10-15 px deep that the matte's smoothing closes over; warped
#: onto the man's jaw it was a thin white line from below the ear to the collar (frames 60-230). The nearest deep
#: pixel's colour left the wedge mottled; the local average does not.
_EDGE_DEPTH = 0.06
_EDGE_LEAST_PX = 2.0
_EDGE_LIGHTER = 10.0
#: ... and only where the photo just past the outline there is lighter than that skin by as much, or shows nothing
#: (:func:`_pale_beyond`); elsewhere (beside a darker wall or hair: the skin's own highlight) the pixel's lightness over
#: that skin is only brought down to :data:`_EDGE_LIGHTER`, continuously.
#: Below the jaw further from the face oval than :data:`_EDGE_DEPTH` (the neck's sides and its cut), the rule of old:
#: within this depth, the nearest deep pixel's colour (where the matte's edge is the neck's cut, the lit lower neck is
#: lighter than the shade under the chin, skin on both sides: the local average darkened a band there).
_NECK_EDGE_DEPTH = 0.025
#: ... on the lower face only: the face oval's part above this fraction of its height (its top to its bottom row) keeps
#: its edge (the forehead's and the upper cheeks' light lies away from the rebuilt region, and a reference taken in the
#: same place carries its surroundings past the matte beside the cheeks, whose edge there is the frame's).
_EDGE_LOWER_FACE = 0.5
#: Along the outline of where skin may be, within this fraction of the face height inside it, a pixel lighter than the
#: skin just inside (as deep again) and far nearer the colour just outside (a ring as wide) is not skin: FaceMesh's
#: oval often runs a few pixels past the cheek onto a pale wall that the (wide) colour test takes for lit skin, and
#: that strip, carried by the warp into the frame's cheek and colour-matched, showed as a thin bright line.
_OUTLINE_BAND = 0.03
#: ... only where the two sides differ by at least this much (Lab units, the lightness counted at half weight: shading
#: changes it most), so an ear, a bald head or a neck beyond the outline, which are skin too, cut nothing.
_OUTLINE_SEPARATION = 10.0
_OUTLINE_LIGHT_WEIGHT = 0.5
#: ... and only a pixel this many times nearer the outside's colour than the skin's (not the blend across the edge, nor
#: a jaw's shadow against a dark collar: the fill's fade takes the edge's last pixels).
_OUTLINE_NEARER = 2.0
#: Fewer centre pixels than this and no colour is learned (every pixel of the region is skin).
_MIN_SAMPLE = 50
#: At most this many centre pixels are used for the model (an even subsample).
_MAX_SAMPLE = 20000


@dataclass(frozen=True)
class SkinModel:
    """The face's skin colour: median Lab, the inverse covariance of its chroma and the spread of its lightness."""

    median: np.ndarray
    inverse: np.ndarray
    light_spread: float


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) * np.float32(1.0 / 255.0), cv2.COLOR_RGB2Lab)


def _disc_side(size: float) -> int:
    """The side of :func:`disc` of radius ``size``."""
    return 2 * max(int(round(size)), 1) + 1


def disc(size: float) -> np.ndarray:
    """An elliptic structuring element of radius ``size`` pixels (rounded, at least 1)."""
    side = _disc_side(size)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def by_disc(image: np.ndarray, op: int, size: float) -> np.ndarray:
    """``cv2.morphologyEx(image, op, disc(size))`` of a (h, w) uint8 map that is 0 outside a region, the same pixels
    for less: by the disc's rectangles, on the region's box only (:func:`blend.disk_morph_near`)."""
    return disk_morph_near(image, op, _disc_side(size))


def _runs(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Each row's run of a (h, w) bool map: (whether the row has any pixel, its first and last column), int64; None
    where some row's pixels are not one run."""
    w = binary.shape[1]
    rows = binary.any(axis=1)
    first = np.argmax(binary, axis=1).astype(np.int64)
    last = (w - 1 - np.argmax(binary[:, ::-1], axis=1)).astype(np.int64)
    if not np.array_equal(np.count_nonzero(binary, axis=1)[rows], (last - first + 1)[rows]):
        return None
    return rows, first, last


def _disc_rows(size: float) -> np.ndarray:
    """The half-width of each row of :func:`disc` of radius ``size`` (its rows are centred)."""
    kernel = disc(size)
    return kernel.shape[0] // 2 - np.argmax(kernel > 0, axis=1)


def _from_runs(left: np.ndarray, right: np.ndarray, w: int) -> np.ndarray:
    """(h, w) bool: True from column ``left`` to ``right`` (inclusive, clipped to the picture) of each row."""
    out = np.zeros((len(left), w), bool)
    # (a slice a row: a few times faster than two comparisons over the whole map)
    for y, start, stop in zip(range(len(left)), np.clip(left, 0, w).tolist(), np.clip(right + 1, 0, w).tolist()):
        if start < stop:
            out[y, start:stop] = True
    return out


def eroded(binary: np.ndarray, size: float) -> np.ndarray:
    """(h, w) bool: ``binary`` ((h, w) bool) eroded by :func:`disc` of radius ``size``, the same pixels as
    ``by_disc(binary.astype(np.uint8), cv2.MORPH_ERODE, size) > 0`` (the picture's border counts as inside, as
    ``cv2.erode``'s does). Where each row's pixels form one run (an oval: the face), from the runs' ends: a pixel stays
    where, for each row of the disc, the row that far away holds the disc row's width around it (rows past the picture
    hold everything, a run that reaches the border runs on past it); a few hundred row operations instead of the disc's
    rectangles over the whole box (a 107 px disc on a 730 x 763 reference: about 0.5 against 22 ms). Other maps go
    through :func:`by_disc`."""
    h, w = binary.shape
    runs = _runs(binary)
    if runs is None:
        return by_disc(binary.view(np.uint8), cv2.MORPH_ERODE, size) > 0
    rows, first, last = runs
    far = np.int64(1) << 40
    lo = np.where(rows, np.where(first > 0, first, -far), far)
    hi = np.where(rows, np.where(last < w - 1, last, far), -far)
    half = _disc_rows(size)
    r = len(half) // 2
    left, right = lo + int(half[r]), hi - int(half[r])
    for dy in range(max(-r, 1 - h), min(r, h - 1) + 1):
        # (row y reads row y + dy: the rows whose y + dy lies in the picture)
        ys, src = slice(max(-dy, 0), h - max(dy, 0)), slice(max(dy, 0), h + min(dy, 0))
        np.maximum(left[ys], lo[src] + int(half[dy + r]), out=left[ys])
        np.minimum(right[ys], hi[src] - int(half[dy + r]), out=right[ys])
    return _from_runs(left, right, w)


def dilated(binary: np.ndarray, size: float) -> np.ndarray:
    """(h, w) bool: ``binary`` ((h, w) bool) dilated by :func:`disc` of radius ``size``, the same pixels as
    ``by_disc(binary.astype(np.uint8), cv2.MORPH_DILATE, size) > 0``. Where the rows' pixels form one run each, on
    one block of rows, each run meeting the next (an oval, a convex hull), a row of the result is one run too, from
    the runs within the disc's reach grown by the disc's rows (as :func:`eroded`); other maps go through
    :func:`by_disc`."""
    h, w = binary.shape
    runs = _runs(binary)
    if runs is not None:
        rows, first, last = runs
        used = np.flatnonzero(rows)
        block = len(used) > 0 and used[-1] - used[0] + 1 == len(used)
        if block and np.all(np.maximum(first[used[:-1]], first[used[1:]]) <= np.minimum(last[used[:-1]], last[used[1:]])):
            far = np.int64(1) << 40
            lo, hi = np.where(rows, first, far), np.where(rows, last, -far)
            half = _disc_rows(size)
            r = len(half) // 2
            left, right = lo - int(half[r]), hi + int(half[r])
            for dy in range(max(-r, 1 - h), min(r, h - 1) + 1):
                ys, src = slice(max(-dy, 0), h - max(dy, 0)), slice(max(dy, 0), h + min(dy, 0))
                np.minimum(left[ys], lo[src] - int(half[dy + r]), out=left[ys])
                np.maximum(right[ys], hi[src] + int(half[dy + r]), out=right[ys])
            return _from_runs(left, right, w)
    return by_disc(binary.view(np.uint8), cv2.MORPH_DILATE, size) > 0


def face_centre(shape: tuple[int, int], landmarks: np.ndarray, face: np.ndarray, height: float) -> np.ndarray:
    """(h, w) bool: the face centre the skin colour is learned from (the oval shrunk, without eyes and lips)."""
    pts = np.asarray(landmarks, np.float64)
    # (the erosion's least value at least 128: the erosion of where the oval is)
    centre = eroded(face >= 128, _CENTRE_INSET * height)
    holes = np.zeros(shape, np.uint8)
    for corners in (landmark_sets.LEFT_EYE_CORNERS, landmark_sets.RIGHT_EYE_CORNERS):
        eye = pts[list(corners)].mean(axis=0)
        cv2.circle(holes, (int(round(eye[0])), int(round(eye[1]))), max(int(round(_EYE_RADIUS * height)), 1), 255, -1)
    lips = cv2.convexHull(np.round(pts[landmark_sets.index(landmark_sets.LIPS_OUTER)]).astype(np.int32))
    cv2.fillConvexPoly(holes, lips, 255)
    holes[by_disc(holes, cv2.MORPH_DILATE, _LIPS_MARGIN * height) > 0] = 255
    return centre & (holes == 0)


def _eyes(shape: tuple[int, int], landmarks: np.ndarray, height: float) -> np.ndarray:
    """(h, w) uint8, 255 on the eyes: each eye's outline (its convex hull) grown by :data:`_EYE_MARGIN` face heights."""
    return features(shape, landmarks, (landmark_sets.LEFT_EYE_OUTLINE, landmark_sets.RIGHT_EYE_OUTLINE),
                    _EYE_MARGIN * height)


def features(
    shape: tuple[int, int], landmarks: np.ndarray, outlines: tuple[tuple[int, ...], ...], margin: float
) -> np.ndarray:
    """(h, w) uint8, 255 on the face's features: each of the ``outlines`` (landmark index sets, e.g.
    :data:`~unmask_video.landmark_sets.EYES_AND_BROWS`) of the (468, 2) ``landmarks``, its convex hull, grown by a
    disc of ``margin`` pixels."""
    pts = np.asarray(landmarks, np.float64)
    out = np.zeros(shape, np.uint8)
    for outline in outlines:
        cv2.fillConvexPoly(out, cv2.convexHull(np.round(pts[list(outline)]).astype(np.int32)), 255)
    return by_disc(out, cv2.MORPH_DILATE, margin)


def skin_model(lab: np.ndarray, centre: np.ndarray) -> SkinModel | None:
    """The skin colour learned from the ``centre`` pixels of ``lab`` (None: too few of them)."""
    count = int(np.count_nonzero(centre))
    if count < _MIN_SAMPLE:
        return None
    sample = lab[centre][:: max(1, count // _MAX_SAMPLE)].astype(np.float64)
    median = np.median(sample, axis=0)
    spread = np.maximum(np.percentile(np.abs(sample - median), 75, axis=0), [_MIN_LIGHT_SPREAD, _MIN_CHROMA_SPREAD, _MIN_CHROMA_SPREAD])
    # The chroma's covariance from the pixels near the median (the eyebrows' ends, a mole, a nostril left out).
    near = (np.abs(sample - median) <= 2.5 * spread).all(axis=1)
    chroma = sample[near, 1:] if np.count_nonzero(near) >= _MIN_SAMPLE else sample[:, 1:]
    cov = np.cov(chroma, rowvar=False) + np.eye(2) * _MIN_CHROMA_SPREAD**2
    return SkinModel(median, np.linalg.inv(cov), float(spread[0]))


def skin_distance(lab: np.ndarray, model: SkinModel) -> tuple[np.ndarray, np.ndarray]:
    """(chroma Mahalanobis distance, lightness in robust spreads above the median, negative below), (h, w) float32."""
    d = lab[..., 1:] - model.median[1:].astype(np.float32)
    inv = model.inverse.astype(np.float32)
    q = inv[0, 0] * d[..., 0] ** 2 + 2 * inv[0, 1] * d[..., 0] * d[..., 1] + inv[1, 1] * d[..., 1] ** 2
    return np.sqrt(np.maximum(q, 0)), (lab[..., 0] - np.float32(model.median[0])) / np.float32(model.light_spread)


def _fill_enclosed(region: np.ndarray) -> np.ndarray:
    """``region`` ((h, w) uint8 255/0) with every hole it encloses (not reaching the picture's border) filled."""
    h, w = region.shape
    padded = cv2.copyMakeBorder(region, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 255)
    return region | cv2.bitwise_not(flood[1:-1, 1:-1])


def _weighted(lab: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(h, w, 4) float32: ``lab`` ((h, w, 3) float32) times ``where`` ((h, w) bool), and ``where`` as 0 / 1. Channel by
    channel, then merged: numpy's broadcast product written into the interleaved stack cost 3x as much (23 against
    7 ms on a 1280 x 720 reference, the same values and signs)."""
    weight = where.astype(np.float32)
    return cv2.merge([cv2.multiply(channel, weight) for channel in cv2.split(lab)] + [weight])


def _local_sums(lab: np.ndarray, where: np.ndarray, sigma: float, stack: np.ndarray | None = None) -> np.ndarray:
    """(h, w, 4) float32: Gaussian sums of ``lab`` ((h, w, 3) float32: Lab, or any colours) over ``where`` ((h, w)
    bool) and of its weight, at a size shrunk so that the Gaussian spans 4 pixels there, scaled back (smooth averages;
    at full size they cost 0.2 s on a 650 px reference). ``stack``: :func:`_weighted` of the two, where the caller has
    it already."""
    h, w = where.shape
    shrink = max(1.0, sigma / 4.0)
    small = (max(int(round(w / shrink)), 1), max(int(round(h / shrink)), 1))
    if stack is None:
        stack = _weighted(lab, where)
    blurred = cv2.GaussianBlur(cv2.resize(stack, small, interpolation=cv2.INTER_AREA), (0, 0), sigma / shrink)
    return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)


def outside_like(lab: np.ndarray, skin: np.ndarray, reach: np.ndarray, height: float) -> np.ndarray:
    """(h, w) bool: the pixels of ``reach`` ((h, w) uint8, where skin may be) near its outline that are lighter than the
    ``skin`` ((h, w) bool: the colour test's) just inside it and far nearer in colour what lies just outside it, where
    those two differ (:data:`_OUTLINE_BAND`, :data:`_OUTLINE_SEPARATION`, :data:`_OUTLINE_NEARER`): a pale wall or
    shirt that FaceMesh's outline takes in. ``lab``: the reference in Lab, (h, w, 3) float32."""
    band = max(_OUTLINE_BAND * height, 2.0)
    inside = (reach > 0).view(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    away = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    near = (depth > 0) & (depth <= band)
    if not near.any():
        return near
    # (the lightness at half weight in every distance below; the averages read only at the band's pixels)
    weight = np.float32([_OUTLINE_LIGHT_WEIGHT, 1.0, 1.0])
    out_sums = _local_sums(lab, (away > 0) & (away <= band), band)[near]
    in_sums = _local_sums(lab, skin & (depth > band) & (depth <= 2 * band), band)[near]
    out_mean = out_sums[:, :3] / np.maximum(out_sums[:, 3:], 1e-6) * weight
    in_mean = in_sums[:, :3] / np.maximum(in_sums[:, 3:], 1e-6) * weight
    pixel = lab[near] * weight
    known = (out_sums[:, 3] > 1e-3) & (in_sums[:, 3] > 1e-3)
    apart = np.linalg.norm(out_mean - in_mean, axis=1) >= _OUTLINE_SEPARATION
    nearer_out = _OUTLINE_NEARER * np.linalg.norm(pixel - out_mean, axis=1) < np.linalg.norm(pixel - in_mean, axis=1)
    # (lighter than the skin there only: hair, a shadow or a dark collar at the outline are left to the darkness test
    # and to the fill's fade, as before; a pale wall or shirt is what the colour test lets through as lit skin)
    lighter = pixel[:, 0] > in_mean[:, 0]
    result = np.zeros_like(near)
    result[near] = known & apart & nearer_out & lighter
    return result


def reference_matte(
    image: np.ndarray, landmarks: np.ndarray, face: np.ndarray, reach: np.ndarray, height: float
) -> np.ndarray:
    """(h, w) uint8, 255 where ``image`` (the reference, RGB uint8) shows the person's face or neck skin, 0 elsewhere.

    ``face``: the face oval ((h, w) uint8, 255 inside); ``reach``: where skin may be at all ((h, w) uint8: the oval,
    the band past its outline, the neck's column below the jaw); ``height``: the face height in pixels. Skin is the
    centre's colour (:func:`skin_model`), joined to the face centre, with what it encloses (lips, nostrils, eyes), and the
    eyes (:func:`_eyes`) whatever joins them."""
    centre = face_centre(image.shape[:2], landmarks, face, height)
    # Only the reach and what :func:`outside_like` reads past its outline (the band, in its chamfer distance, which is
    # at least 0.955 times the pixels across) are looked at: the colours there, zero elsewhere (the same values, pixel
    # by pixel, as of the whole picture; what is zero is multiplied by a zero weight).
    box = mask_bbox(reach, int(np.ceil(max(_OUTLINE_BAND * height, 2.0) / 0.95)) + 2, reach.shape)
    if box is None:
        return reach.copy()
    lab = np.zeros(image.shape, np.float32)
    lab[box] = _lab(image[box])
    model = skin_model(lab, centre)
    if model is None:
        log.debug("reference matte: the face centre is too small to learn its skin colour; the whole region is kept")
        return reach.copy()
    chroma, light = skin_distance(lab[box], model)
    darkest = max(-_DARKER_SPREADS, (_DARKEST - 1.0) * float(model.median[0]) / model.light_spread)
    coloured = np.zeros(reach.shape, bool)
    coloured[box] = (chroma < _CHROMA_LIMIT) & (light < _LIGHTER_SPREADS) & (light > darkest)
    coloured[box] &= image[box].min(axis=2) < _CLIPPED
    # (a pale wall FaceMesh's outline takes in, which the colour test passes as lit skin: see :func:`outside_like`)
    coloured &= ~outside_like(lab, coloured, reach, height)
    skin = coloured.astype(np.uint8) * 255
    skin &= reach
    skin = by_disc(by_disc(skin, cv2.MORPH_OPEN, _CLEAN * height), cv2.MORPH_CLOSE, _CLEAN * height)
    skin &= reach
    # Only the pieces joined to the face centre.
    count, labels = cv2.connectedComponents(skin, connectivity=4)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[centre & (skin > 0)])] = True
    keep[0] = False
    joined = keep[labels].astype(np.uint8) * 255
    joined |= _eyes(reach.shape, landmarks, height) & reach
    joined = _fill_enclosed(joined)
    # A smooth outline (the colour test's edge is ragged pixel by pixel; the fill meets the skin along it).
    sigma = max(_SMOOTH * height, 0.5)
    smooth = cv2.GaussianBlur(joined, (0, 0), sigma) >= 128
    return (smooth.astype(np.uint8) * 255) & reach


def inner_colour_at_edge(image: np.ndarray, matte: np.ndarray, height: float, face: np.ndarray) -> np.ndarray:
    """``image`` ((h, w, 3) uint8 RGB, the reference) with each pixel of ``matte`` ((h, w) uint8, 255 the skin) near its
    outline that is lighter than the skin deeper in by more than :data:`_EDGE_LIGHTER` given that colour (a copy;
    ``image`` itself where nothing changes): around the jaw (the ``face`` oval's lower part, (h, w) uint8, 255 inside,
    below :data:`_EDGE_LOWER_FACE` of its height, and the pixels outside it within as far), within :data:`_EDGE_DEPTH`
    face heights (``height`` px) of the outline, the local average of the skin deeper in (:func:`_deeper_skin`) where a
    pale background lies past the outline there (:func:`_pale_beyond`), elsewhere only its lightness over that skin
    brought down to :data:`_EDGE_LIGHTER`; below the jaw further from the oval, within :data:`_NECK_EDGE_DEPTH`, the
    nearest deeper pixel's colour."""
    depth = cv2.distanceTransform((matte > 0).view(np.uint8), cv2.DIST_L2, 3)
    reach = max(_EDGE_DEPTH * height, _EDGE_LEAST_PX)
    jaw = ~_upper_face(face) & (distance_outside(face > 0) <= reach)
    out = _nearest_inner_colour(image, depth, max(_NECK_EDGE_DEPTH * height, _EDGE_LEAST_PX), (face == 0) & ~jaw)
    deep = depth > reach
    edge = (depth > 0) & ~deep & jaw
    if not deep.any() or not edge.any():
        return out
    # (only the edge's box and what the averages read around it)
    box = mask_bbox(edge, int(np.ceil(3 * reach + 8 * max(0.5 * reach, 1.0))) + 2, edge.shape)
    assert box is not None
    sub = out[box]
    local = _deeper_skin(sub, deep[box] & (depth[box] <= 3 * reach), max(0.5 * reach, 1.0))
    at = edge[box]
    pixels, inner = sub[at], local[at]
    inner_l = _lab(inner[None])[0, :, 0]
    excess = _lab(pixels[None])[0, :, 0] - inner_l
    lighter = excess > _EDGE_LIGHTER
    if not lighter.any():
        return out
    out = out.copy() if out is image else out
    # Where what lies past the outline nearby is lighter too, or is not seen (a halo or a wedge of a pale background),
    # the skin's colour; beside a darker wall or hair (a lit cheek's own highlight) the pixel's lightness over the skin
    # deeper in is only brought down to :data:`_EDGE_LIGHTER`, which leaves no step where the rule starts.
    halo = lighter & _pale_beyond(sub, matte[box] > 0, at, reach, inner_l)
    lit = lighter & ~halo
    pixels[halo] = inner[halo]
    if lit.any():
        keep = (_EDGE_LIGHTER / excess[lit])[:, None]
        base = inner[lit].astype(np.float32)
        pixels[lit] = np.clip(base + keep * (pixels[lit].astype(np.float32) - base) + 0.5, 0, 255).astype(np.uint8)
    out[box][at] = pixels
    return out


def _pale_beyond(image: np.ndarray, matte: np.ndarray, at: np.ndarray, reach: float, inner_l: np.ndarray) -> np.ndarray:
    """(N,) bool, for the ``at`` pixels ((h, w) bool, N of them) of ``image`` ((h, w, 3) uint8 RGB) inside the
    ``matte`` ((h, w) bool): whether the photo just past the matte's outline near each (its pixels within ``reach`` of
    the outline, a Gaussian average of ``reach`` px) is lighter than ``inner_l`` ((N,) Lab L: the skin deeper in) by
    more than :data:`_EDGE_LIGHTER`, or shows nothing there: a
    pixel of the matte's edge lighter than the skin deeper in is a blend with a pale background, or a sharpening halo
    along it, only where such a background lies past it; beside a darker wall or hair it is the skin's own highlight (a
    stand-in's cheek lit from its side: its pixels replaced by the deeper, shaded skin's colour where they passed the
    threshold, and kept where they did not, left flat orange blots that the colour match made red streaks on the
    man's rebuilt cheek)."""
    beyond = ~matte & (distance_outside(matte) <= reach)
    sums = _local_sums(_lab(image), beyond, max(reach, 1.0))[at]
    known = sums[:, 3] > 1e-2
    light = sums[:, 0] / np.maximum(sums[:, 3], 1e-6)
    return ~known | (light > inner_l + _EDGE_LIGHTER)


def _nearest_inner_colour(image: np.ndarray, depth: np.ndarray, reach: float, where: np.ndarray) -> np.ndarray:
    """``image`` with each of the ``where`` pixels ((h, w) bool) within ``reach`` px of the matte's outline (``depth``:
    (h, w) float32, the distance to it inside) that is lighter than the nearest matte pixel deeper than that by more
    than :data:`_EDGE_LIGHTER` given that pixel's colour (a copy; ``image`` itself where nothing changes)."""
    deep = depth > reach
    edge = (depth > 0) & ~deep & where
    if not deep.any() or not edge.any():
        return image
    # (one label per deep pixel, numbered from 1 in raster order)
    _, labels = cv2.distanceTransformWithLabels((~deep).view(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    inner = image[deep][labels[edge] - 1]
    pixels = image[edge]
    lighter = _lab(pixels[None])[0, :, 0] > _lab(inner[None])[0, :, 0] + _EDGE_LIGHTER
    if not lighter.any():
        return image
    out = image.copy()
    pixels[lighter] = inner[lighter]
    out[edge] = pixels
    return out


def _upper_face(face: np.ndarray) -> np.ndarray:
    """(h, w) bool: the ``face`` oval's ((h, w) uint8, 255 inside) pixels above :data:`_EDGE_LOWER_FACE` of its
    height."""
    rows = np.flatnonzero((face > 0).any(axis=1))
    upper = np.zeros(face.shape, bool)
    if len(rows):
        cut = int(rows[0] + _EDGE_LOWER_FACE * (rows[-1] - rows[0]))
        upper[:cut] = face[:cut] > 0
    return upper


def _deeper_skin(image: np.ndarray, source: np.ndarray, sigma: float) -> np.ndarray:
    """(h, w, 3) uint8: the normalised Gaussian average (``sigma`` px, and 4 ``sigma`` where the first has almost
    nothing) of ``image``'s ((h, w, 3) uint8) pixels at ``source`` ((h, w) bool) (:func:`_local_sums`: at a reduced
    size, smooth)."""
    colours = image.astype(np.float32)
    stack = _weighted(colours, source)  # (built once for the two sizes)
    wide = _local_sums(colours, source, 4 * sigma, stack)
    both = _local_sums(colours, source, sigma, stack) + np.float32(1e-2) * wide
    return np.clip(both[..., :3] / np.maximum(both[..., 3:], 1e-6) + 0.5, 0, 255).astype(np.uint8)


def mirror_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Landmark indices (a, b), (P,) int each: b[i] is a[i]'s mirror image through the face's midline.

    Read off the symmetric order of the sets in :mod:`~unmask_video.landmark_sets` (the face oval from the forehead's
    top round to it again, the jaw from ear to ear, the outer lips from one corner round, the under-eye line through
    the nose bridge) and the eye corners; the nose's midline points are their own mirror."""
    pairs: list[tuple[int, int]] = []
    oval = landmark_sets.FACE_OVAL
    pairs += [(oval[k], oval[-k % len(oval)]) for k in range(len(oval))]
    jaw = landmark_sets.JAW
    pairs += [(jaw[k], jaw[len(jaw) - 1 - k]) for k in range(len(jaw))]
    lips = landmark_sets.LIPS_OUTER
    pairs += [(lips[k], lips[(len(lips) // 2 - k) % len(lips)]) for k in range(len(lips))]
    under = landmark_sets.UNDER_EYES
    pairs += [(under[k], under[len(under) - 1 - k]) for k in range(len(under))]
    left, right = landmark_sets.LEFT_EYE_CORNERS, landmark_sets.RIGHT_EYE_CORNERS
    pairs += [(left[0], right[1]), (left[1], right[0]), (right[1], left[0]), (right[0], left[1])]
    pairs += [(i, i) for i in landmark_sets.NOSE[:8]]
    a, b = np.array(sorted(set(pairs))).T
    return a, b


def _quadratic_terms(points: np.ndarray) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def mirror_map(landmarks: np.ndarray, height: float) -> Callable[[np.ndarray], np.ndarray]:
    """The map taking each point of the face ((N, 2) pixels) to its mirror image through the face's midline: quadratic,
    fitted by least squares over :func:`mirror_pairs` in face heights about the nose bridge (a turned head's sides
    differ in size and the map follows)."""
    pts = np.asarray(landmarks, np.float64)
    a, b = mirror_pairs()
    origin = pts[landmark_sets.index(landmark_sets.NOSE[:1])].mean(axis=0)
    src, dst = (pts[a] - origin) / height, (pts[b] - origin) / height
    coef, *_ = np.linalg.lstsq(_quadratic_terms(src), dst, rcond=None)

    def mirror(points: np.ndarray) -> np.ndarray:
        return (_quadratic_terms((np.asarray(points, np.float64) - origin) / height) @ coef) * height + origin

    return mirror


#: Only pixels this far (face heights) below the eye corners' line are filled (the lower face and the neck: a mirrored
#: eye or brow, a little off, would show; nothing above the eyes is under a mask).
_BELOW_EYES = 0.0
#: The mirrored pixel must lie this far (face heights) inside the matte (not at its edge, where hair begins).
_SOURCE_INSET = 0.02
#: The mirrored skin's colour is brought to the hole's own skin by an offset (the two sides' light differs: one lit,
#: one in shadow), learned on a ring of skin this wide (face heights) around the hole...
_RING = 0.02
#: ... and spread over the hole by Gaussians of this fraction of the face height, doubled this many times...
_OFFSET_FINEST = 0.01
_OFFSET_SCALES = 5
#: ... the finer taking over where it holds at least this much of the ring (a smooth field, exact at the hole's edge).
_OFFSET_SUPPORT = 0.15
#: Nothing this close (face heights) to the face oval's outline is filled.
_OUTLINE_KEEP = 0.02
#: The matte's own pixels this close (face heights) to the hole are filled too (the hair's edge and shadow).
_EDGE = 0.01
#: The mirror is looked up within this many face heights of the hole.
_OFFSET_BAND = 0.04
#: Margin (face heights) around the region's box that the fill works in.
_MARGIN = 0.08


def mirror_fill(
    image: np.ndarray, landmarks: np.ndarray, matte: np.ndarray, region: np.ndarray, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fill the face skin the reference photo hides (hair over a cheek, a hand) with its own skin from the mirror side.

    ``image``: the reference (RGB uint8); ``matte``: its skin (:func:`reference_matte`); ``region``: the face oval
    ((h, w) uint8, 255 inside): a hidden pixel is filled inside it, below the eyes, not along its outline (there the
    oval may run past the true jaw onto the hair: the jaw would widen); ``height``: the face height in pixels.
    Each pixel of ``region`` the matte leaves out whose mirror image through the face's midline (:func:`mirror_map`)
    is in the matte takes that pixel's colour plus a smooth offset, the difference between the two sides' skin near
    the hole (so the filled cheek has its own side's light and meets the skin around it without an edge). Returns
    the filled image and the matte with the filled pixels added; what nothing mirrors onto stays out of the matte."""
    region = eroded(region > 0, _OUTLINE_KEEP * height).view(np.uint8)
    # Only the region's box (and a margin for the ring around a hole at its edge) is worked on.
    x, y, bw, bh = cv2.boundingRect((region > 0).astype(np.uint8))
    if bw == 0 or bh == 0:
        return image, matte
    m = int(np.ceil(_MARGIN * height))
    x0, y0 = max(x - m, 0), max(y - m, 0)
    x1, y1 = min(x + bw + m, matte.shape[1]), min(y + bh + m, matte.shape[0])
    box = (slice(y0, y1), slice(x0, x1))
    shifted = np.asarray(landmarks, np.float64) - [x0, y0]
    sub, sub_matte = _mirror_fill(np.ascontiguousarray(image[box]), shifted, np.ascontiguousarray(matte[box]),
                                  np.ascontiguousarray(region[box]), height)  # fmt: skip
    if sub_matte is matte[box] or np.array_equal(sub_matte, matte[box]):
        return image, matte
    out, grown = image.copy(), matte.copy()
    out[box], grown[box] = sub, sub_matte
    return out, grown


def _mirror_fill(
    image: np.ndarray, landmarks: np.ndarray, matte: np.ndarray, region: np.ndarray, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mirror_fill` within a box of the reference (``landmarks`` in its coordinates)."""
    h, w = matte.shape
    hole = (region > 0) & (matte == 0)
    # Only the lower face and the neck (what a mask covers): a mirrored eye or brow, a little off, shows.
    pts = np.asarray(landmarks, np.float64)
    eyes = pts[landmark_sets.index(landmark_sets.LEFT_EYE_CORNERS + landmark_sets.RIGHT_EYE_CORNERS)]
    down = pts[landmark_sets.FACE_HEIGHT[1]] - pts[landmark_sets.FACE_HEIGHT[0]]
    down /= max(float(np.hypot(*down)), 1e-9)
    # (each term on its row or column and added by broadcasting: the same float64 sums as on the full grids)
    xx, yy = np.arange(w)[None, :], np.arange(h)[:, None]
    below = ((xx - eyes[:, 0].mean()) * down[0] + (yy - eyes[:, 1].mean()) * down[1]) > _BELOW_EYES * height
    hole &= below
    if not hole.any():
        return image, matte
    # The matte's edge along the hole (hair's edge, its shadow) is taken with it.
    hole = (by_disc(hole.astype(np.uint8), cv2.MORPH_DILATE, _EDGE * height) > 0) & (region > 0) & below
    mirror = mirror_map(landmarks, height)
    # The mirror of every pixel within the band around the hole (where the offset is learned) and of the hole.
    band = max(int(round(_OFFSET_BAND * height)), 1)
    near = by_disc(hole.astype(np.uint8), cv2.MORPH_DILATE, band) > 0
    ys, xs = np.nonzero(near)
    mirrored = mirror(np.stack([xs, ys], axis=1))
    # (looked up on the band's box only: elsewhere every pixel is mapped to (-1, -1), which reads the border's 0
    # exactly, and a pixel's sample depends on its own map values only)
    by0, bx0 = int(ys.min()), int(xs.min())
    sub = (slice(by0, int(ys.max()) + 1), slice(bx0, int(xs.max()) + 1))
    shape = (sub[0].stop - by0, sub[1].stop - bx0)
    mx, my = np.full(shape, -1.0, np.float32), np.full(shape, -1.0, np.float32)
    mx[ys - by0, xs - bx0], my[ys - by0, xs - bx0] = mirrored[:, 0], mirrored[:, 1]
    colour = np.zeros_like(image)
    colour[sub] = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    # The mirror counts only where it lands well inside the skin (not at the matte's edge, where hair begins).
    inner = by_disc(matte, cv2.MORPH_ERODE, _SOURCE_INSET * height).astype(np.float32)
    there = np.zeros((h, w), bool)
    there[sub] = cv2.remap(inner, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0) >= 250
    there &= near
    fill = hole & there
    if not fill.any():
        return image, matte
    # The offset: this side's skin minus the mirror side's, known on a thin ring of skin around the hole, spread over
    # the hole from the nearest of it outwards.
    ring = (by_disc(hole.astype(np.uint8), cv2.MORPH_DILATE, _RING * height) > 0) & ~hole & (matte > 0) & there
    offset = _spread(image.astype(np.float32) - colour.astype(np.float32), ring, max(_OFFSET_FINEST * height, 1.0))
    out = image.copy()
    filled = np.clip(colour.astype(np.float32) + offset, 0, 255).astype(np.uint8)
    out[fill] = filled[fill]
    grown = matte.copy()
    grown[fill] = 255
    log.debug("reference matte: %d hidden skin pixels filled from the mirror side", int(np.count_nonzero(fill)))
    return out, grown


def _spread(values: np.ndarray, known: np.ndarray, finest: float) -> np.ndarray:
    """(h, w, 3) float32: ``values`` ((h, w, 3) float32) known at ``known`` ((h, w) bool) spread over the whole grid
    from the nearest of them outwards: normalised Gaussian averages from fine (``finest`` pixels) to coarse
    (:data:`_OFFSET_SCALES` doublings), each finer one taking over where it holds enough of the known pixels
    (:data:`_OFFSET_SUPPORT`); on a picture shrunk so the finest Gaussian spans a pixel or two."""
    h, w = known.shape
    weight = known.astype(np.float32)
    weighted = values * weight[..., None]
    shrink = max(1.0, finest / 1.5)
    small = (max(int(round(w / shrink)), 1), max(int(round(h / shrink)), 1))
    weight_s = cv2.resize(weight, small, interpolation=cv2.INTER_AREA)
    values_s = cv2.resize(weighted, small, interpolation=cv2.INTER_AREA)
    field = np.zeros(values_s.shape, np.float32)
    for k in reversed(range(_OFFSET_SCALES)):
        sigma = finest / shrink * 2**k
        total = cv2.GaussianBlur(weight_s, (0, 0), sigma)
        estimate = cv2.GaussianBlur(values_s, (0, 0), sigma) / np.maximum(total, 1e-6)[..., None]
        # (how much of the known pixels the Gaussian holds, against a ring's share of a disc of its size)
        alpha = np.clip(total / _OFFSET_SUPPORT, 0.0, 1.0)[..., None]
        field = alpha * estimate + (1.0 - alpha) * field
    return cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
