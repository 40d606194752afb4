"""What the warped reference does not cover inside the mask: the frame's own face, or what lies past its edge.

The warp carries only the reference's own face and neck skin, and another person's face (or one photographed in
another pose) never has the frame's shape: its cheek can end inside the frame's. The composite filled the rest of
the hole from the frame's surroundings wherever it lay outside FaceMesh's face outline, and with Telea inside it;
but under a mask FaceMesh's outline is a guess that often runs inside the real cheek (a turned head, a wide face),
and what lies beyond the mask's side edge there is the wall, so both fills drew the wall into the cheek: a grey smear
with a straight edge where the warped face ends.

A surgical mask's side edge lies on the face (the cloth wraps round the cheek), so the hole near FaceMesh's outline is
face too: :func:`on_face` takes the face oval, grown beside the cheeks by :attr:`OutsideFillOptions.reach`, within the
hole's body (its thin ear loops left out, they cross the background); below the jaw lies the neck or a collar.
There :func:`continue_skin` continues the rebuilt skin around the gap (a normalised Gaussian average of it, never the
frame's pixels past the mask); only what lies beyond is left to the surroundings' fill.

FaceMesh's outline under a mask often runs well inside the real cheek (a wide face, a cloth mask reaching to the ear):
the strip between it and the mask's side edge was filled from what lies past the mask (the wall, a hood's lining), a
grey smear on the cheek with a straight edge by the ear. Where the frame shows its own skin just above the mask's top
edge past the outline (the cheek in front of the ear), the face reaches that far at the mask's top: the outline is
widened to the convex hull of itself and that skin (:func:`skin_past_outline`), above the jaw's corners. A drawn mask
reaching past the face over hair or a wall shows hair or wall above its edge there, and is left to the surroundings.

Under the jaw, the reference's matte keeps only its own neck skin: a reference whose neck hair (or a collar) partly
hides leaves the frame's neck uncovered there, and the surroundings' fill drew the wall or the shirt under the chin.
Where the frame shows its neck just below the mask, in the neck's column, the gaps under the jaw in that column are
neck: the rebuilt skin is continued there, meeting that neck's colour (:func:`neck_seen`); a collar or a turtleneck
seen below the mask leaves them to the surroundings.

A reference photographed elsewhere, in another pose, can end (its picture cut under the chin, its matte at a collar)
where the frame's jaw still goes on: a patch past FaceMesh's outline that the rebuilt skin rings was filled from the
hair or the clothes past the mask's edge, a dark wedge on the jaw. Such a piece lies inside the face
(:func:`enclosed`); those along the mask's edge, a collar below the chin among them, keep the surroundings.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.below_jaw import neck_region
from unmask_video.blend import distance_outside, mask_bbox
from unmask_video.face_axes import neck_column
from unmask_video.face_shape import face_region
from unmask_video.face_units import face_size_px
from unmask_video.jaw_outline import JawProfile, predicted_jaw
from unmask_video.mask_pixels import pixels_at
from unmask_video.order_stats import median, percentile
from unmask_video.reconstruct.fill_seam import blur_around, feather_into_fill, rows_cols, weighted_stack
from unmask_video.reconstruct.neck_side import NeckSideOptions
from unmask_video.reference_matte import by_disc, features

__all__ = [
    "OutsideFillOptions", "on_face", "skin_past_outline", "turned_cheek", "neck_seen", "continue_skin", "fill_on_face",
    "fill_band", "enclosed", "nearest_verdict", "jaw_limit", "above_jaw_corners",
]


@dataclass(frozen=True)
class OutsideFillOptions:
    """Lengths as fractions of the face's size (:func:`~unmask_video.face_units.face_size_px`)."""

    #: How far past FaceMesh's face outline, beside the cheeks (above the jaw's corners), the hole still counts as face
    #: (the cheek FaceMesh guesses too narrow under a mask). 0: the oval only. Off: with 0.05 the quality benchmark's
    #: references from elsewhere lost 0.1-3.6 dB (lp_d9 23.50 -> 19.95, lp_d10 17.77 -> 14.57: skin drawn over the
    #: hair beside the jaw where the drawn mask reaches past the face), though it took the last of the wall's smear
    #: off the real woman_white_mask_720 clip with stand-in references.
    reach: float = 0.0
    #: Parts of the hole thinner than this are its ear loops (they cross the background, not the face).
    loop_width: float = 0.03
    #: The Gaussian of the skin's continuation into a gap (a second one 4x wider reaches a wide gap's middle).
    sigma: float = 0.03
    #: Where the warped skin meets its continuation, the continuation fades from the skin's local colour over this
    #: width, and the warped pixels' rim within :attr:`rim` of the edge fades into that colour
    #: (:func:`~unmask_video.reconstruct.fill_seam.feather_into_fill`): the reference's matte ends where its cheek
    #: turns away, often a few pixels of shade or hair, which inside the frame's cheek showed as a dark line.
    feather: float = 0.08
    rim: float = 0.05
    #: With a reference turned from the frame (past :attr:`turned_yaw`), gaps on the hole's edge where the frame's skin
    #: shows past it (the mask's top edge on the cheeks, :func:`frame_skin`) are faded so whatever their width, not
    #: only those at least :attr:`rim` wide: there the continuation meets the frame's own skin. The 3-6 px strip a
    #: turned stand-in's matte leaves at the white-mask woman's image-right eye corner was not faded: the continuation,
    #: pale as her skin above the mask, stood against the tan warped skin in a jagged step along the matte's end.
    #: Narrow gaps elsewhere (a fold, a resampled edge between warped pixels) stay as they were. Every gap from 0.02
    #: face sizes wide faded: the quality benchmark's references from elsewhere lost 0.27 dB on lp_d10 and 0.25 on
    #: lp_d11; every gap on the hole's edge, 0.17 / 0.10; those below the frame's skin whatever the turn, 0.15 / 0.11.
    fade_at_edge: bool = True
    #: The face's outline is widened to the frame's skin seen this far above the mask's top edge past it
    #: (:func:`skin_past_outline`; 0: off), the first :attr:`skin_gap` above the edge skipped (the mask's hem and
    #: shadow).
    skin_above: float = 0.04
    skin_gap: float = 0.015
    #: A frame pixel there is skin within this many robust spreads (Lab) of the skin above the mask inside the outline,
    #: and no darker than :attr:`skin_floor` of its lightness (not brown hair).
    skin_spreads: float = 4.0
    skin_floor: float = 0.6
    #: ... and no greyer than this fraction of their chroma (8-bit Lab a and b from neutral, measured along the skin's
    #: hue): a grey shirt or a pale wall is near neutral, skin is not. The skin above a mask is read on a band that
    #: holds lashes and lid shadows too, whose spread let the grey T-shirt below the white-mask woman's neck pass for
    #: skin (a, b spreads 5-6 about the skin's 141, 139; the shirt 132, 126): the neck was continued from the
    #: shirt's grey, grey patches under her jaw. 0: off; no test where the skin itself is within
    #: :data:`_NEUTRAL_CHROMA` of grey.
    skin_chroma: float = 0.5
    #: Below the frame's jaw, the neck's column (between the lines down the face through the jaw's corners,
    #: :func:`~unmask_video.warp.neck_column`) down to this many face heights below the jaw line (the warp's
    #: ``neck_reach``: :func:`~unmask_video.warp.neck_region`) counts as face too, within the hole's body, where the
    #: frame's neck is seen to continue below the mask (:func:`neck_seen`): there the rebuilt jaw and neck skin is
    #: continued, meeting that neck's colour. The reference's matte keeps only its own
    #: neck skin, and a reference whose neck is partly hidden (hair falling beside the jaw, a collar, a beard) leaves
    #: a narrower neck than the frame's; its gaps were filled from the frame's surroundings past the mask (the wall, a
    #: shirt), a grey patch under the jaw. 0: the face oval only.
    neck_reach: float = 0.4
    #: Where the reference's head is turned from the frame's by more than :attr:`turned_yaw`
    #: (:func:`~unmask_video.warp.yaw`, the reference's less the frame's), its cheek on the side it turns away is
    #: foreshortened or hidden (a stand-in photographed in another pose, often with hair over that cheek): the warp
    #: carries no cheek edge there, and the rebuilt face ended in a straight edge where FaceMesh's outline under the
    #: mask runs, inside the cloth that wraps the real cheek, with a strip of the wall beside it (the real white-mask
    #: clip with a stand-in). On that side the hole up to this far past the outline, above the jaw's corners, counts
    #: as face (:func:`turned_cheek`): the cheek reaches the mask's side edge. A reference in the frame's pose (a
    #: KF94's wings stand off the face: its own cheek's edge is carried) keeps the outline. 0: off.
    turned_reach: float = 0.15
    #: The turn past which the cheek widens (the grey-mask man's stand-in turns up to 0.076 from his frames, the KF94
    #: woman's own frame 54 up to 0.05, the white-mask woman's stand-in 0.088-0.175); the reach grows from 0 to
    #: :attr:`turned_reach` over the next :attr:`turned_ramp` of turn, so a turn that crosses it does not switch the
    #: cheek on at once.
    turned_yaw: float = 0.08
    turned_ramp: float = 0.04
    #: The widened cheek keeps this far inside the hole's edge (the segmented mask's soft edge runs past the cloth onto
    #: the wall). The quality benchmark's turned references, drawn masks reaching past the jaw over the wall: 0.06 /
    #: 0.07 / 0.08 took lp_d12's cast 6.54 to 6.71 / 6.62 / 6.55 (lp_d9 2.10 to 2.19 / 2.14 / 2.12); on the white-mask
    #: clip 0.08 leaves a pixel or two of the wall's sliver by the cheek that 0.06 does not.
    turned_inset: float = 0.08
    #: The widened cheek's gaps past the outline are faded as wide gaps are whatever their width (:attr:`rim`,
    #: :attr:`feather`): the warped rim beside them fades into the skin deeper in, and their continuation is read past
    #: that rim. A turned stand-in's matte ends where its cheek turns away, in shade (hair falling beside it): on the
    #: white-mask clip a 4-8 px strip to the mask's side edge continued that shade, a brown band down her image-right
    #: cheek following the mask's outline. The quality benchmark moved by 0.02 dB or less on every row (lp_d3, lp_d9,
    #: lp_d12, lp_s32). False: only gaps at least :attr:`rim` wide are faded.
    turned_fade: bool = True
    #: The blend fades the rebuilt region into the frame over a band outside the hole, at up to a third or more of its
    #: weight next to the hole's edge, so the composite fills that band too; where the warp is not pasted there (its
    #: matte ends: a turned stand-in's cheek at the eye's outer corner; the eyes' margin), the frame's own skin was left
    #: and the blend showed where the warped skin stopped, a jagged step beside the eye. On the face (FaceMesh's oval)
    #: off the frame's eyes and brows themselves, :func:`fill_band` continues the rebuilt skin there instead, and the
    #: blend's fade is the only edge. False: the frame's pixels stay.
    band_fill: bool = True
    #: A piece of the gaps past the face that the rebuilt skin (the warp's paste and the gaps on the face) borders on at
    #: least this fraction of its edge, the rest being the frame past the hole, lies inside the face
    #: (:func:`enclosed`): a turned reference whose picture ends under its chin left a patch of the frame's jaw between
    #: the warped jaw and the continued neck, filled from the hair past the mask's edge (a dark wedge). The pieces
    #: along the mask's edge (a strip beside the cheek, a collar below the chin) border on it for about half their
    #: edge or more and keep the surroundings' fill. 0: off (1: only pieces wholly inside).
    enclosed: float = 0.6
    #: Given the reference's jaw (:func:`~unmask_video.jaw_outline.jaw_profile`: its bare face's proportions), the
    #: cheek a turned reference widens (:func:`turned_cheek`) ends this far past the jaw they predict for the frame
    #: (:func:`jaw_limit`: the frame's eyes' span times the reference's jaw widths and chin depth); past it, the
    #: surroundings' fill. The white-mask woman's mask stands past her face: with a stand-in her widened cheek ran to
    #: its outline, a squared corner under her image-right jaw (frames 236-243). The prediction is good to a few
    #: hundredths of a face (FaceMesh's outline points): 0.01 / 0.02 cut notches of hair into the quality benchmark's
    #: lp_d3 jaw by her earring (segmenter row 21.31 -> 21.23 / 21.28 dB); 0.03: 21.30, every other row unchanged. The
    #: frame's skin seen past the outline (:func:`skin_past_outline`) is not limited (lp_d9 and lp_d3 lost 0.07-0.09
    #: dB: their real jaws run past the prediction there). Negative: off.
    jaw_margin: float = 0.03
    #: The side of the warp's pasted neck faded into the skin beside it below the jaw
    #: (:func:`~unmask_video.reconstruct.neck_side.fade_neck_side`; its ``width`` 0: off).
    neck_side: NeckSideOptions = NeckSideOptions()


def on_face(
    hole: np.ndarray, landmarks: np.ndarray, options: OutsideFillOptions | None = None, image: np.ndarray | None = None,
    turn: float = 0.0, jaw: JawProfile | None = None,
) -> np.ndarray:
    """(h, w) bool: the pixels of ``hole`` ((h, w) bool) that lie on the frame's face (``landmarks``: its (468, 2)
    landmarks in the same pixels), not past its edge: inside the face oval, below the jaw in the neck's column
    (``neck_reach``), or within ``reach`` of the oval beside the cheeks
    (above the jaw's corners) and in the hole's body (not its ear loops); with the frame's ``image`` ((h, w, 3) uint8
    RGB), also inside the outline widened to the skin the frame shows above the mask's top edge
    (:func:`skin_past_outline`) and in the hole's body; with the reference turned from the frame by ``turn`` (its
    :func:`~unmask_video.warp.yaw` less the frame's), the cheek on the side it turns away (:func:`turned_cheek`), with
    the reference's ``jaw`` (:func:`~unmask_video.jaw_outline.jaw_profile`) no further than the jaw it predicts
    (:func:`jaw_limit`)."""
    options = options or OutsideFillOptions()
    oval = face_region(hole.shape, landmarks, antialiased=False) > 0
    turned = turned_cheek(hole, oval, landmarks, turn, options)
    limit = None if jaw is None or turned is None else jaw_limit(hole.shape, landmarks, jaw, options)
    seen = None if image is None else _frame_skin(hole, oval, image, face_size_px(landmarks), options)
    if seen is None:
        return _on_face(hole, landmarks, oval, None, options, turned=turned, jaw=limit)
    neck = neck_seen(hole, landmarks, image, seen[1], seen[2], options)
    return _on_face(hole, landmarks, oval, seen[0], options, None if neck is None else neck[0], turned, limit)


def _on_face(
    hole: np.ndarray, landmarks: np.ndarray, oval: np.ndarray, skin: np.ndarray | None, options: OutsideFillOptions,
    neck: np.ndarray | None = None, turned: np.ndarray | None = None, jaw: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`on_face`, given the face ``oval``, the frame's ``skin`` around the hole (:func:`frame_skin`), the
    neck under the jaw it continues (:func:`neck_seen`; None: none), the cheek a turned reference leaves to the
    mask's side edge (:func:`turned_cheek`; None: none) and the jaw the reference's proportions allow
    (:func:`jaw_limit`; None: no limit), which that cheek does not pass."""
    size = face_size_px(landmarks)
    if not (hole & ~oval).any():
        return hole & oval
    near = turned if turned is None or jaw is None else turned & jaw
    if options.reach > 0:
        # Beside the cheeks only: below the jaw's corners lies the neck, or a collar, which the reference's own neck
        # covers or the surroundings fill.
        # (a distance, not a dilation with a disc: its cost does not grow with the face)
        reach = distance_outside(oval)
        side = (reach <= options.reach * size) & above_jaw_corners(hole.shape, landmarks)
        near = side if near is None else near | side
    if skin is not None:
        wide = skin_past_outline(hole, oval, skin, landmarks, options)
        if wide is not None:
            near = wide if near is None else near | wide
    # Below the jaw, the neck's column where the frame's neck is seen to continue under the mask.
    if neck is not None and (neck & hole & ~oval).any():
        near = neck if near is None else near | neck
    if near is None or not (near & hole & ~oval).any():
        return hole & oval
    # (the disc's rectangles on the hole's box: the same pixels as ``cv2.morphologyEx`` with ``disc``, for less)
    body = by_disc(hole.astype(np.uint8), cv2.MORPH_OPEN, 0.5 * options.loop_width * size) > 0
    return hole & (oval | (near & body))


def turned_cheek(
    hole: np.ndarray, oval: np.ndarray, landmarks: np.ndarray, turn: float, options: OutsideFillOptions | None = None
) -> np.ndarray | None:
    """(h, w) bool: the face ``oval`` ((h, w) bool, FaceMesh's outline through the (468, 2) ``landmarks``) widened,
    on the side a reference turned by ``turn`` from the frame turns away (its :func:`~unmask_video.warp.yaw` less the
    frame's: > 0, towards the side of the landmarks' image-right cheek), to the convex hull of itself and the ``hole``'s
    ((h, w) bool) pixels past it there, above the jaw's corners, within ``turned_reach`` face sizes of it (less, over
    ``turned_ramp`` past ``turned_yaw``) and more than ``turned_inset`` inside the hole's edge (the hull tapers from the
    widened cheek to the chin); None where the turn is within ``turned_yaw`` or nothing lies there."""
    options = options or OutsideFillOptions()
    # (the reach grows over ``turned_ramp`` past ``turned_yaw``: a turn crossing it does not switch the cheek on at once)
    grown = min(max((abs(turn) - options.turned_yaw) / max(options.turned_ramp, 1e-6), 0.0), 1.0)
    if options.turned_reach <= 0 or grown <= 0:
        return None
    pts = np.asarray(landmarks, np.float64)
    left, bridge, right = (pts[i] for i in landmark_sets.YAW_PROBE)
    across = (right - left) * np.sign(turn)
    down = _down(pts)
    size = face_size_px(landmarks)
    # (the hole's pixels past the oval within reach, and inside the hole's edge by the inset)
    inside = cv2.distanceTransform(hole.view(np.uint8), cv2.DIST_L2, 3) > options.turned_inset * size
    ys, xs = np.nonzero(inside & ~oval & (distance_outside(oval) <= grown * options.turned_reach * size))
    if not len(ys):
        return None
    side = ((xs - bridge[0]) * across[0] + (ys - bridge[1]) * across[1] > 0) & (
        (xs * down[0] + ys * down[1]) < _corners_down(pts, down))
    if not side.any():
        return None
    seen = np.stack([xs[side], ys[side]], axis=1).astype(np.float32)
    hull = cv2.convexHull(np.concatenate([pts[landmark_sets.index(landmark_sets.FACE_OVAL)].astype(np.float32), seen]))
    out = np.zeros(hole.shape, np.uint8)
    cv2.fillConvexPoly(out, np.round(hull).astype(np.int32), 1)
    # (that side only: the hull of the outline's points reaches a little past the drawn outline elsewhere too)
    h, w = hole.shape
    beyond = (np.arange(w, dtype=np.float64)[None, :] - bridge[0]) * across[0] + (
        np.arange(h, dtype=np.float64)[:, None] - bridge[1]) * across[1] > 0
    return ((out > 0) & beyond) | oval


def jaw_limit(
    shape: tuple[int, int], landmarks: np.ndarray, profile: JawProfile, options: OutsideFillOptions | None = None
) -> np.ndarray | None:
    """(h, w) bool: where a turned cheek may be widened past FaceMesh's outline: the jaw the reference's ``profile``
    predicts for the frame's face (its (468, 2) ``landmarks``; :func:`~unmask_video.jaw_outline.predicted_jaw`) grown
    by :attr:`OutsideFillOptions.jaw_margin` face sizes; None where there is no limit (the margin negative, the
    face degenerate)."""
    options = options or OutsideFillOptions()
    if options.jaw_margin < 0:
        return None
    jaw = predicted_jaw(shape, landmarks, profile)
    if jaw is None:
        return None
    return distance_outside(jaw) <= options.jaw_margin * face_size_px(landmarks)


def _above_corners(where: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether any of the ``where`` pixels ((h, w) bool) lies above the jaw's corners of the (468, 2) ``landmarks``."""
    rows = np.flatnonzero(where.any(axis=1))
    if not len(rows):
        return False
    pts = np.asarray(landmarks, np.float64)
    down = _down(pts)
    # (along each row the height down the face is monotonic in x: only the row's first or last pixel can be the
    # highest, a pass over the rows' ends instead of listing every pixel)
    sub = where[rows]
    first = np.argmax(sub, axis=1)
    xs = first if down[0] >= 0 else sub.shape[1] - 1 - np.argmax(sub[:, ::-1], axis=1)
    corners = _corners_down(pts, down)
    return bool(((xs * down[0] + rows * down[1]) < corners).any())


def above_jaw_corners(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """(h, w) bool: the pixels of a ``shape`` grid that lie above the higher of the jaw's corners of the (468, 2)
    ``landmarks`` (along the face's down direction): beside the cheeks, not beside the neck."""
    pts = np.asarray(landmarks, np.float64)
    down = _down(pts)
    return _height_down(shape, down) < _corners_down(pts, down)


def _down(pts: np.ndarray) -> np.ndarray:
    """The unit vector down the face (forehead to chin) of the (468, 2) landmarks ``pts``."""
    down = pts[landmark_sets.FACE_HEIGHT[1]] - pts[landmark_sets.FACE_HEIGHT[0]]
    return down / max(float(np.hypot(*down)), 1e-9)


def _height_down(shape: tuple[int, int], down: np.ndarray) -> np.ndarray:
    """(h, w) float64: each pixel's height down the face, ``x * down[0] + y * down[1]`` (``down``: (2,) float64), as
    the sum of its row's and its column's terms: the same numbers as over a grid of pixel coordinates
    (``np.mgrid``), without two image-sized integer grids and their products (a twentieth of the time)."""
    h, w = shape
    return np.add.outer(np.arange(h) * down[1], np.arange(w) * down[0])


def _corners_down(pts: np.ndarray, down: np.ndarray) -> float:
    """How far down the face (along ``down``) the higher of the jaw's corners (:data:`NECK_SIDES`) lies."""
    return float((pts[landmark_sets.index(landmark_sets.NECK_SIDES)] @ down).min())


def _skin_band(size: float, options: OutsideFillOptions) -> tuple[int, int]:
    """(gap, reach) in pixels: the band around the hole where the frame's skin is read (:func:`frame_skin`)."""
    reach = max(int(round(options.skin_above * size)), 2)
    return min(max(int(round(options.skin_gap * size)), 1), reach - 1), reach


def frame_skin(
    hole: np.ndarray, oval: np.ndarray, image: np.ndarray, size: float, options: OutsideFillOptions | None = None
) -> np.ndarray | None:
    """(h, w) bool: :func:`_frame_skin`'s map of the frame's skin just above the mask (None: it cannot be told)."""
    seen = _frame_skin(hole, oval, image, size, options)
    return None if seen is None else seen[0]


def _frame_skin(
    hole: np.ndarray, oval: np.ndarray, image: np.ndarray, size: float, options: OutsideFillOptions | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(skin, median, spread): (h, w) bool, the frame ``image``'s ((h, w, 3) uint8 RGB) skin just above the ``hole``'s
    ((h, w) bool) top edge, ``skin_gap`` to ``skin_above`` face sizes (``size`` px) from it (past the mask's hem and
    shadow), where the nearest pixel of the hole lies below (within 45 degrees of straight down: not beside the mask,
    where a pale wall or a lit neck passes for skin); None where it cannot be told (no skin there inside the face
    ``oval``, or ``skin_above`` 0). Skin: within ``skin_spreads`` robust Lab spreads of the frame's pixels there inside
    the oval (the cheeks under the eyes, the nose's bridge), and no darker than ``skin_floor`` of their lightness (not
    brown hair); that median and spread (8-bit Lab, float32 (3,) each) are returned too (:func:`_is_skin`)."""
    options = options or OutsideFillOptions()
    if options.skin_above <= 0:
        return None
    gap, reach = _skin_band(size, options)
    rows = np.flatnonzero(hole.any(axis=1))
    if not len(rows):
        return None
    # (only the rows from the hole's top to its middle hold pixels above its top edge)
    top = slice(max(int(rows[0]) - reach, 0), int(rows[0] + rows[-1]) // 2 + 1)
    sub = hole[top]
    outside = cv2.bitwise_not(sub.view(np.uint8) * np.uint8(255))
    to_hole, label = cv2.distanceTransformWithLabels(outside, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    band = (to_hole > gap) & (to_hole <= reach)
    # Where the nearest pixel of the hole lies below, within 45 degrees of straight down (each hole pixel has its own
    # label, in raster order: the nearest one's place).
    at = np.flatnonzero(band)
    w = sub.shape[1]
    nearest = np.flatnonzero(sub)[label.reshape(-1)[at] - 1]
    band.reshape(-1)[at[nearest // w - at // w <= np.abs(nearest % w - at % w)]] = False
    ys, xs = np.nonzero(band)
    ys += top.start
    inside = oval[ys, xs]
    if np.count_nonzero(inside) < 30:
        return None
    # (8-bit Lab, of the band's pixels only: as fine as needed here)
    cand = cv2.cvtColor(pixels_at(image, ys, xs)[None], cv2.COLOR_RGB2Lab)[0].astype(np.float32)
    sample = cand[inside].T
    mu = median(sample).astype(np.float32)
    spread = np.maximum(percentile(np.abs(sample - mu[:, None]), 75), 3.0).astype(np.float32)
    skin = _is_skin(cand, mu, spread, options)
    found = np.zeros(sub.shape, np.uint8)
    found[ys[skin] - top.start, xs[skin]] = 1
    out = np.zeros(hole.shape, bool)
    # (a stray skin-coloured pixel of the wall is not skin: pieces narrower than 3 px dropped)
    out[top] = cv2.morphologyEx(found, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    return out, mu, spread


def _is_skin(lab: np.ndarray, mu: np.ndarray, spread: np.ndarray, options: OutsideFillOptions) -> np.ndarray:
    """(N,) bool: which of the (N, 3) float32 8-bit Lab colours are the frame's skin (:func:`_frame_skin`)."""
    t = np.square((lab - mu) / spread).sum(axis=1)
    return (t < options.skin_spreads**2) & (lab[:, 0] >= options.skin_floor * mu[0]) & _not_grey(lab, mu, options)


#: The skin's own chroma (8-bit Lab, from a = b = 128) under which :attr:`OutsideFillOptions.skin_chroma` tests nothing:
#: skin that grey (a black-and-white film, a strong cast) gives no hue to measure along.
_NEUTRAL_CHROMA = 4.0


def _not_grey(lab: np.ndarray, mu: np.ndarray, options: OutsideFillOptions) -> np.ndarray | bool:
    """(N,) bool: which of the (N, 3) float32 8-bit Lab colours have at least ``skin_chroma`` of the skin ``mu``'s
    chroma along its hue (True where the test is off or the skin itself is near grey)."""
    hue = mu[1:].astype(np.float32) - np.float32(128.0)
    chroma = float(np.hypot(hue[0], hue[1]))
    if options.skin_chroma <= 0 or chroma < _NEUTRAL_CHROMA:
        return True
    along = (lab[:, 1:] - np.float32(128.0)) @ (hue / np.float32(chroma))
    return along >= options.skin_chroma * chroma


def neck_seen(
    hole: np.ndarray, landmarks: np.ndarray, image: np.ndarray, mu: np.ndarray, spread: np.ndarray,
    options: OutsideFillOptions | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(neck, seen), (h, w) bool each: the pixels of the ``hole`` ((h, w) bool) under the frame's jaw, in the neck's
    column (:attr:`OutsideFillOptions.neck_reach`), whose nearest pixel of the frame ``image`` ((h, w, 3) uint8 RGB)
    seen just past the hole in that column (``skin_gap`` to ``skin_above`` face sizes from it: the neck below the mask)
    is skin (``mu``, ``spread``: the frame's skin above the mask, :func:`_frame_skin`), and those skin pixels seen past
    the hole; None where the rule is off or nothing of the column is seen past the hole. A neck below the mask continues
    under it; a collar, a scarf or a turtleneck seen there does not, and its gaps are left to the surroundings' fill."""
    options = options or OutsideFillOptions()
    if options.neck_reach <= 0:
        return None
    # (the column below the jaw reaches past the warp's neck here: the mask's lower edge often lies below it; all the
    # work on that region's box)
    deep = neck_region(hole.shape, landmarks, 2.0 * options.neck_reach) >= 128
    box = mask_bbox(deep, 0, hole.shape)
    if box is None:
        return None
    origin = np.array([box[1].start, box[0].start], np.float32)
    lm = np.asarray(landmarks, np.float32) - origin
    sub_hole = hole[box]
    column = (neck_column(sub_hole.shape, lm) > 0) & deep[box]
    neck = (neck_region(sub_hole.shape, lm, options.neck_reach) >= 128) & column & sub_hole
    if not neck.any():
        return None
    gap, reach = _skin_band(face_size_px(landmarks), options)
    to_hole = distance_outside(sub_hole)
    band = column & ~sub_hole & (to_hole > gap) & (to_hole <= reach)
    ys, xs = np.nonzero(band)
    if len(ys) < 30:
        return None
    lab = cv2.cvtColor(pixels_at(image[box], ys, xs)[None], cv2.COLOR_RGB2Lab)[0].astype(np.float32)
    verdict = np.zeros(len(ys) + 1, bool)
    verdict[1:] = _is_skin(lab, mu, spread, options)
    # Each neck pixel of the hole takes the verdict of the nearest band pixel.
    out, seen = np.zeros(hole.shape, bool), np.zeros(hole.shape, bool)
    out[box] = nearest_verdict(band, neck, verdict)
    seen[ys + box[0].start, xs + box[1].start] = verdict[1:]
    return out, seen


def nearest_verdict(band: np.ndarray, where: np.ndarray, verdict: np.ndarray) -> np.ndarray:
    """(h, w) bool: at the ``where`` pixels ((h, w) bool), the ``verdict`` ((N + 1,) bool: [0] unused, then one per
    pixel of ``band``, (h, w) bool, in raster order as ``np.nonzero`` lists them) of the nearest ``band`` pixel
    (OpenCV's 3x3 L2 chamfer distance and its pixel labels); False elsewhere. Worked on the box of both only: a
    shortest chamfer path between two pixels stays within their box (a step out and back costs more), so the labels
    there are the whole image's (tests/test_outside_fill.py)."""
    out = np.zeros(where.shape, bool)
    near = mask_bbox(band | where, 0, band.shape)
    if near is None or not band.any():
        return out
    _, label = cv2.distanceTransformWithLabels(
        cv2.bitwise_not(band[near].view(np.uint8) * np.uint8(255)), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    out[near] = where[near] & verdict[label]
    return out


def skin_past_outline(
    hole: np.ndarray, oval: np.ndarray, skin: np.ndarray, landmarks: np.ndarray, options: OutsideFillOptions | None = None
) -> np.ndarray | None:
    """(h, w) bool: the face ``oval`` ((h, w) bool, FaceMesh's outline through ``landmarks``) widened to the convex hull
    of itself and the frame's ``skin`` ((h, w) bool: :func:`frame_skin`, just above the ``hole``'s top edge) past it
    above the jaw's corners; None where no such skin shows."""
    options = options or OutsideFillOptions()
    size = face_size_px(landmarks)
    gap, reach = _skin_band(size, options)
    ys, xs = np.nonzero(skin & ~oval)
    pts = np.asarray(landmarks, np.float32)
    seen = np.stack([xs, ys], axis=1).astype(np.float32)
    # (above the jaw's corners only: below them lies the neck, or a collar)
    down = _down(pts).astype(np.float32)
    seen = seen[seen @ down < _corners_down(pts, down)]
    if len(seen) < max(0.01 * size, 3.0) * (reach - gap):
        return None
    # (a face is convex: the hull of its outline and skin seen on it lies on it, tapering from that skin to the jaw)
    hull = cv2.convexHull(np.concatenate([pts[landmark_sets.index(landmark_sets.FACE_OVAL)], seen]))
    out = np.zeros(hole.shape, np.uint8)
    cv2.fillConvexPoly(out, np.round(hull).astype(np.int32), 1)
    return (out > 0) | oval


def continue_skin(
    out: np.ndarray, gaps: np.ndarray, covered: np.ndarray, sigma: float, source: np.ndarray | None = None
) -> None:
    """Fill the ``gaps`` of ``out`` ((h, w, 3) uint8, changed in place; (h, w) bool) with the colour of the ``covered``
    pixels around them ((h, w) bool: the rebuilt skin, and the frame's own skin around the mask), a normalised Gaussian
    average of ``sigma`` pixels, and of ``4 * sigma`` where no covered pixel is near; nothing else is read (not the
    frame past the mask). ``source``: the (h, w, 3) uint8 image the covered pixels are read from (None: ``out``)."""
    if not gaps.any() or not covered.any():
        return
    h, w = gaps.shape
    sigma = max(float(sigma), 1.0)
    f = max(1, int(sigma // 2))  # (smooth averages: built at 1/f of the size, then resized)
    # (the region-sized temporaries in scratch buffers: fresh ones cost a page fault per 4 KiB, more than their work;
    # the stack padded to whole f x f cells, which the area resize averages on its fast path)
    stack = weighted_stack(out if source is None else source, covered.view(np.uint8), "outside_fill", f)
    ph, pw = stack.shape[:2]
    small = cv2.resize(stack, (pw // f, ph // f), interpolation=cv2.INTER_AREA) if f > 1 else stack
    # (at full size the near average only around the gaps, the only pixels read: the same values there)
    if f > 1:
        near = cv2.GaussianBlur(small, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    else:
        near = blur_around(small, sigma, gaps, cv2.BORDER_CONSTANT, "outside_fill.near")
    far = _far_blur(small, sigma / f)
    k = np.float32(1e-3)  # (the far average decides only where the near one has almost nothing)
    idx = np.flatnonzero(gaps)
    if f > 1:
        # (scaled back by the whole factor f, each cell's centre where its pixels' is, and read at the gaps: only the
        # cells over the gaps' box and one more on each side, whose bilinear values there are the whole grid's)
        ys, xs = rows_cols(idx, w)
        sh, sw = small.shape[:2]
        r0, r1 = max(int(ys[0]) // f - 1, 0), min(int(ys[-1]) // f + 2, sh)
        c0, c1 = max(int(xs.min()) // f - 1, 0), min(int(xs.max()) // f + 2, sw)
        cells = np.add(near[r0:r1, c0:c1], k * far[r0:r1, c0:c1])
        both = cv2.resize(cells, ((c1 - c0) * f, (r1 - r0) * f), interpolation=cv2.INTER_LINEAR)
        at = both[ys - r0 * f, xs - c0 * f]
    else:  # (both averages added at the gaps only: the same sums)
        at = near.reshape(-1, 4)[idx] + k * far.reshape(-1, 4)[idx]
    # (by row and column: ``out`` is mostly a view into a larger region, whose boolean index costs several times more)
    out[rows_cols(idx, w)] = np.clip(at[:, :3] / np.maximum(at[:, 3:], 1e-6) + 0.5, 0, 255).astype(np.uint8)


def _far_blur(small: np.ndarray, sigma: float) -> np.ndarray:
    """``small`` blurred with a Gaussian of ``4 * sigma`` (zeros past its border), computed at a quarter of its size
    and scaled back: the far average only decides where the near one has almost nothing, and is smooth (a sixteenth of
    the pixels and a quarter of the kernel: the wide blur was most of :func:`continue_skin`'s time)."""
    h, w = small.shape[:2]
    if min(h, w) < 16:
        return cv2.GaussianBlur(small, (0, 0), 4 * sigma, borderType=cv2.BORDER_CONSTANT)
    quarter = cv2.resize(small, (-(-w // 4), -(-h // 4)), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(quarter, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)


def fill_on_face(
    out: np.ndarray, gaps: np.ndarray, hole: np.ndarray, covered: np.ndarray, landmarks: np.ndarray,
    options: OutsideFillOptions | None = None, image: np.ndarray | None = None, turn: float = 0.0,
    jaw: JawProfile | None = None,
) -> np.ndarray:
    """Fill the ``gaps`` ((h, w) bool: what the warp does not cover in and just around the ``hole``) that lie on the
    face (:func:`on_face`) with the ``covered`` skin continued (:func:`continue_skin`), in ``out`` (changed in place).
    Returns those pixels, (h, w) bool; the rest of the gaps lie past the face's edge. ``image``: the frame ((h, w, 3)
    uint8 RGB, as ``out`` was before), whose skin above the mask widens the face (None: the outline as FaceMesh has it).
    ``turn``: how far the reference's head is turned from the frame's (:func:`turned_cheek`,
    :attr:`OutsideFillOptions.fade_at_edge`; 0: as the frame's). ``jaw``: the reference's jaw
    (:func:`~unmask_video.jaw_outline.jaw_profile`), which limits how far the turned cheek is widened
    (:func:`jaw_limit`; None: no limit).
    """
    options = options or OutsideFillOptions()
    inner = np.zeros_like(gaps)
    size = face_size_px(landmarks)
    # Only the gaps' box and what the fill reads around them is worked on (the cost follows the gaps, not the face).
    box = mask_bbox(gaps, int(np.ceil((options.feather + 2 * options.sigma + options.loop_width) * size)) + 2, gaps.shape)
    if box is None:
        return inner
    origin = np.array([box[1].start, box[0].start], np.float32)
    sub_gaps, sub_out = gaps[box], out[box]
    sub_lm = np.asarray(landmarks, np.float32) - origin
    sub_hole = hole[box] | sub_gaps
    oval = face_region(sub_hole.shape, sub_lm, antialiased=False) > 0
    # (the frame's skin is read only where it can change something: gaps on the face, or past its outline above the
    # jaw's corners)
    skin = neck = None
    # (gaps past the outline under the jaw: the neck the frame may be seen to continue)
    past = options.neck_reach > 0 and bool(
        (sub_gaps & ~oval & (neck_region(sub_gaps.shape, sub_lm, options.neck_reach) >= 128)).any())
    # (the frame's skin above the mask widens the face only where gaps lie past the outline above the jaw's corners or
    # on the face)
    widens = _above_corners(sub_gaps & ~oval, sub_lm) or (sub_gaps & oval).any()
    if image is not None and (widens or past):
        seen = _frame_skin(sub_hole, oval, image[box], size, options)
        if seen is not None:
            skin = seen[0] if widens else None
            if past:
                neck = neck_seen(sub_hole, sub_lm, image[box], seen[1], seen[2], options)
    turned = turned_cheek(sub_hole, oval, sub_lm, turn, options)
    limit = None if jaw is None or turned is None else jaw_limit(sub_hole.shape, sub_lm, jaw, options)
    sub = sub_gaps & _on_face(sub_hole, sub_lm, oval, skin, options, None if neck is None else neck[0], turned, limit)
    sub |= enclosed(sub_gaps & ~sub, sub_hole, covered[box] | sub, options.enclosed)
    inner[box] = sub
    if not sub.any():
        return inner
    covered = covered[box] & ~sub_gaps
    # The warped skin's rim is faded only along the wide gaps (where the reference's cheek ended inside the frame's)
    # and, with a turned reference, those on the hole's edge below the frame's skin (``fade_at_edge``) and the widened
    # cheek's (``turned_fade``): a sliver between warped pixels (a fold, a resampled edge) is filled from its
    # neighbours and the skin around it keeps its detail.
    radius = 0.5 * options.rim * size
    core = cv2.distanceTransform(sub.view(np.uint8), cv2.DIST_L2, 3) > radius
    if options.fade_at_edge and skin is not None and abs(turn) > options.turned_yaw:
        # (where the frame's skin shows past that edge: the mask's top edge on the cheeks)
        core |= _at_edge(sub, sub_hole) & (distance_outside(skin) <= _skin_band(size, options)[1] + 1)
    if options.turned_fade and turned is not None:
        # (the widened cheek past the outline, whatever its width: the turned warp's rim beside it is its shade)
        core |= sub & turned & ~oval
    wide = np.zeros_like(sub)  # (no wide gap: no rim, and the two distances below would find nothing)
    if core.any():
        wide = sub & (distance_outside(core) <= radius + 1)
    # (the continuation reads past that rim: the rim is faded into the skin's colour just after)
    past_rim = covered & ~(distance_outside(wide) <= options.rim * size) if wide.any() else covered
    source = past_rim if past_rim.any() else covered
    frame = None
    if neck is not None and (sub & neck[0]).any() and neck[1].any():
        # (the frame's neck seen below the mask too: the continued neck meets its colour, not only the rebuilt skin's, a
        # stand-in's neck in shadow)
        skin = neck[1] if skin is None else skin | neck[1]
    if skin is not None and skin.any():
        # The frame's own skin just above the mask's top edge is read too: the continued cheek meets the skin the frame
        # shows there, not only the rebuilt skin's colour (a stand-in's darker cheek, its shaded side) with a step at
        # the mask's edge.
        skin = skin & ~sub_hole
        frame = sub_out.copy()
        cv2.copyTo(image[box], skin.view(np.uint8), frame)
        source = source | skin
    continue_skin(sub_out, sub, source, options.sigma * size, frame)
    if wide.any():
        feather_into_fill(sub_out, wide, covered, options.feather * size, options.rim / max(options.feather, 1e-6))
    return inner


def enclosed(outer: np.ndarray, hole: np.ndarray, skin: np.ndarray, fraction: float) -> np.ndarray:
    """(h, w) bool: the pieces (8-connected) of ``outer`` ((h, w) bool: gaps past the face) whose edge (the pixels
    beside them, not in them) lies on the rebuilt ``skin`` ((h, w) bool) for at least ``fraction`` of the pixels that
    are either that skin or past the ``hole`` ((h, w) bool: the hole and its gaps); none where ``fraction`` is 0."""
    found = np.zeros_like(outer)
    if fraction <= 0 or not outer.any():
        return found
    count, labels, stats, _ = cv2.connectedComponentsWithStats(outer.view(np.uint8), connectivity=8)
    h, w = outer.shape
    for i in range(1, count):
        x, y, bw, bh = stats[i, :4]
        # (each piece on its box grown by a pixel: its edge lies there)
        box = slice(max(y - 1, 0), min(y + bh + 1, h)), slice(max(x - 1, 0), min(x + bw + 1, w))
        piece = labels[box] == i
        edge = (cv2.dilate(piece.view(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~piece
        on_skin = np.count_nonzero(edge & skin[box])
        past = np.count_nonzero(edge & ~hole[box])
        if on_skin > 0 and on_skin >= fraction * (on_skin + past):
            found[box] |= piece
    return found


def _at_edge(gaps: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(h, w) bool: the ``gaps`` ((h, w) bool) on the edge of the ``hole`` ((h, w) bool, holding them): a pixel past
    the hole among its 8 neighbours (the image's border counts as past it)."""
    inner = cv2.erode(hole.view(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return gaps & (inner == 0)


def fill_band(
    out: np.ndarray, band: np.ndarray, source: np.ndarray, landmarks: np.ndarray,
    options: OutsideFillOptions | None = None,
) -> np.ndarray:
    """Continue the rebuilt skin (``source``, (h, w) bool: the pixels of ``out`` the composite rebuilt, off the eyes)
    into the pixels of ``band`` ((h, w) bool: the blend's band outside the hole that the composite left as the frame)
    that lie on the face (FaceMesh's oval through the (468, 2) ``landmarks``) off its eyes and brows
    (:attr:`OutsideFillOptions.band_fill`); ``out`` ((h, w, 3) uint8) changed in place. Returns those pixels."""
    options = options or OutsideFillOptions()
    filled = np.zeros_like(band)
    if not options.band_fill or not source.any():
        return filled
    size = face_size_px(landmarks)
    # (only the band's box and what the continuation reads around it)
    box = mask_bbox(band, int(np.ceil(4 * options.sigma * size)) + 2, band.shape)
    if box is None:
        return filled
    lm = np.asarray(landmarks, np.float32) - np.array([box[1].start, box[0].start], np.float32)
    shape = band[box].shape
    on_face = (face_region(shape, lm, antialiased=False) > 0) & (
        features(shape, lm, landmark_sets.EYES_AND_BROWS, 0.0) == 0)
    gaps = band[box] & on_face
    if not gaps.any():
        return filled
    continue_skin(out[box], gaps, source[box], options.sigma * size)
    filled[box] = gaps
    return filled
