"""Grow the k-means mask cluster into the whole mask: a search region from the face geometry and a per-face
colour model.

The k-means step (:mod:`unmask_video.segment`) only looks inside the lower-face landmark polygon, and a real
mask reaches beyond it: up onto the nose bridge, well below the FaceMesh jaw line onto the neck, out to the ears.
Here:

1. :func:`~unmask_video.search_region.search_polygon` is where a mask can be: from the nose bridge and slightly above
   the under-eye line, down to ``below_jaw`` face heights under the jaw line (``jaw_floor`` of that under the ears),
   out past the ears.
2. :class:`~unmask_video.colour_model.ColourModel` is a per-face colour histogram (Lab lightness, and a and b divided
   by the lightness: a shaded colour keeps its bins) of the mask (the k-means mask pixels) against what
   is not mask (the rest of the k-means polygon, the frame around the search region, the forehead skin). It is
   fitted when the k-means clusters are, and reused with them on later frames (a table look-up per pixel).
3. :func:`grow` keeps the pixels of the search region the model calls mask that are connected to the k-means
   mask, and fills the holes that look like mask (pleat shadows, prints) but not those that look like what is
   not mask (a finger, a microphone in front of the mask stays in front).
4. :func:`grow_deeper` continues a mask that the search region's bottom cut off into a band under it, through
   pixels the model is sure of only, and only where the cut runs along a wide front.
5. :func:`snap_edges` moves the grown mask's boundary, within a narrow band, onto the sharpest step of the
   per-pixel mask probability and of the lightness (a marker watershed): the boundary is accurate to a pixel or
   two at the working size, instead of following the growth's blurred, closed outline.
6. :func:`add_hem` adds the cloth's edge the snap leaves out: a seam or binding of another shade, the half-cloth pixels
   of a blurred step, the cloth's chroma spread onto the skin by halved colour resolution.
7. :func:`cut_narrow_peaks` cuts the narrow spikes of the mask's top edge (skin of the nose or a cheek the growth
   climbed onto) back to the line the top follows, unless they have the cloth's colour.

The cut at the cloth's rim under the jaw line (and over the nose tip) is :mod:`unmask_video.rim_cut`'s.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.blend import grow_box, mask_bbox
from unmask_video.colour_model import cloth_free_chroma, mean_free_chroma, shading_free_chroma
from unmask_video.mask_pixels import any_set, gaussian_reach, nonzero, pixels_at, pixels_of
from unmask_video.order_stats import median

__all__ = [
    "smooth_probability", "grow", "grow_deeper", "snap_edges", "join_past_hand", "add_hem", "ear_loops",
    "cut_narrow_peaks", "fill_unlike_holes", "fill_print_notches", "holes_of", "clean_kernel",
]

_RELIEF_LIGHT_SHIFT = 2  # lightness steps weigh 1 / 2**this of mask-probability steps in the relief


def holes_of(binary: np.ndarray) -> np.ndarray:
    """The holes of a uint8 {0, 1} mask (what it leaves out that does not reach the border, 4-connected), bool:
    one flood of what it leaves out from a frame around it, in the mask's box with a pixel around it (that frame is
    outside the mask and joins the rest of the outside: the same holes as over the whole image)."""
    h, w = binary.shape
    x, y, bw, bh = cv2.boundingRect(binary)
    holes = np.zeros((h, w), bool)
    if bw == 0:
        return holes
    box = (slice(max(y - 1, 0), y + bh + 1), slice(max(x - 1, 0), x + bw + 1))
    part = binary[box]
    out = np.ones((part.shape[0] + 2, part.shape[1] + 2), np.uint8)
    out[1:-1, 1:-1] = part == 0
    cv2.floodFill(out, None, (0, 0), 0)
    holes[box] = out[1:-1, 1:-1] > 0
    return holes


def _hole_components(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels of the holes of a uint8 {0, 1} mask, 0 elsewhere; per label: a hole, label 0 not), or None when it
    has none (the common case, found by one flood)."""
    holes = holes_of(binary)
    if not any_set(holes):
        return None
    n, comp = cv2.connectedComponents(holes.astype(np.uint8), connectivity=4)
    hole = np.ones(n, bool)
    hole[0] = False
    return comp, hole


def _fill_mask_like_holes(binary: np.ndarray, prob: np.ndarray, min_prob: float, small: int) -> np.ndarray:
    """Fill the holes of ``binary`` smaller than ``small`` pixels or whose mean mask probability is at least
    ``min_prob``: pleat shadows and prints are filled, an occluder in front of the mask is not."""
    holes = _hole_components(binary)
    if holes is None:
        return binary
    comp, hole = holes
    # (over the holes' pixels only, in the same order: each hole's sums are the same, the whole window's bincount with
    # weights converts every pixel to float64 and costs 25x more)
    flat = comp.ravel()
    at = np.flatnonzero(flat != 0)
    ids = flat[at]
    sums = np.bincount(ids, weights=prob.ravel()[at], minlength=len(hole))
    counts = np.bincount(ids, minlength=len(hole))
    fill = hole & ((sums / np.maximum(counts, 1) >= min_prob) | (counts < small))
    out = binary.copy()
    np.putmask(out, np.take(fill, comp), 1)  # (out[fill[comp]] = 1: a take is faster than the fancy index)
    return out


def fill_unlike_holes(binary: np.ndarray, lab: np.ndarray, chroma: np.ndarray, distance: float) -> np.ndarray:
    """``binary`` (uint8 {0, 1}) with the holes it encloses filled where their mean chroma over lightness
    (:func:`shading_free_chroma` of ``lab``, OpenCV's uint8 Lab) lies at least ``distance`` from ``chroma`` ((2,): the
    skin's): a print's blotches and dots inside the mask, which the colour model of its plain cloth rejects, are mask;
    a hand or a finger in front of it has the skin's colour, whatever its light."""
    holes = _hole_components(binary)
    if holes is None:
        return binary
    comp, hole = holes
    far = np.linalg.norm(mean_free_chroma(lab, comp, len(hole)) - np.asarray(chroma, np.float32), axis=1) >= distance
    fill = hole & far
    if not any_set(fill):
        return binary
    out = binary.copy()
    np.putmask(out, np.take(fill, comp), 1)  # (out[fill[comp]] = 1: a take is faster than the fancy index)
    return out


def fill_print_notches(
    binary: np.ndarray, lab: np.ndarray, printed: np.ndarray, chroma: np.ndarray, distance: float,
    reach: float = 2.5, floor: float = 12.0, ceiling: float = 20.0, min_share: float = 0.003, hue: float = 0.0,
) -> np.ndarray:
    """``binary`` (uint8 {0, 1}) with the notches in its outline that hold its print filled: in its convex hull, the
    pixels of the print's colour (Lab within ``reach`` x the spread of the ``printed`` pixels' colours around their
    mean, ``floor`` .. ``ceiling``) and unlike the skin (chroma over lightness at least ``distance`` from ``chroma``,
    as :func:`fill_unlike_holes`), connected to the mask. A blotch or a dot cut by the mask's edge is no hole; a
    print whose colour the filled holes show is there. With ``hue`` > 0, a print with a hue (its mean chroma over
    lightness at least ``distance`` from grey) also takes the pixels of that hue at another lightness (chroma over
    lightness within ``reach`` x its spread, ``hue`` .. ``ceiling``): a blotch's darker part, and its edge, whose
    chroma a 4:2:0 video halves, when the holes filled were its paler ones. ``printed``: bool or uint8, the holes'
    pixels :func:`fill_unlike_holes` filled (under ``min_share`` of the mask's area: a few specks of a plain mask, no
    print; nothing added)."""
    printed = printed > 0
    if np.count_nonzero(printed) < max(min_share * np.count_nonzero(binary), 4):
        return binary
    hull = np.zeros_like(binary)
    cv2.fillPoly(hull, [cv2.convexHull(cv2.findNonZero(binary))], 1)
    added = (hull > 0) & (binary == 0)
    if not any_set(added):
        return binary
    colours = pixels_of(lab, printed).astype(np.float32)
    mean = colours.mean(axis=0)
    spread = float(np.sqrt(((colours - mean) ** 2).sum(axis=1).mean()))
    ys, xs = nonzero(added)
    px = pixels_at(lab, ys, xs).astype(np.float32)
    near = np.linalg.norm(px - mean, axis=1) <= min(max(floor, reach * spread), ceiling)
    free = shading_free_chroma(px[:, :1], px[:, 1:] - 128.0)
    if hue > 0:
        printed_free = shading_free_chroma(colours[:, :1], colours[:, 1:] - 128.0)
        free_mean = printed_free.mean(axis=0)
        if float(np.linalg.norm(free_mean)) >= distance:  # (a grey or white print's hue says nothing)
            free_spread = float(np.sqrt(((printed_free - free_mean) ** 2).sum(axis=1).mean()))
            near |= np.linalg.norm(free - free_mean, axis=1) <= min(max(hue, reach * free_spread), ceiling)
    unlike = np.linalg.norm(free - np.asarray(chroma, np.float32), axis=1) >= distance
    take = np.zeros(binary.shape, np.uint8)
    take[ys[near & unlike], xs[near & unlike]] = 1
    if not any_set(take):
        return binary
    n, comp = cv2.connectedComponents(take, connectivity=8)
    touching = np.unique(comp[(cv2.dilate(binary, np.ones((3, 3), np.uint8)) > 0) & (take > 0)])
    keep = np.zeros(n, bool)
    keep[touching] = True
    keep[0] = False
    return binary | np.take(keep.astype(np.uint8), comp)


def smooth_probability(prob: np.ndarray, size: float, floor: float = 0.6) -> np.ndarray:
    """P(mask) blurred over about 0.6 % of the face size (at least ``floor`` px): the growth's, the deep band's
    and the snap's view of it (one blur shared where the sigmas agree)."""
    return cv2.GaussianBlur(prob, (0, 0), max(0.006 * size, floor))


def clean_kernel(size: float) -> int:
    """The odd side (pixels) of the small disk :func:`grow` and :func:`grow_deeper` open their candidates and close
    their result with, for a face of ``size`` pixels."""
    return max(int(round(0.012 * size)) | 1, 3)


def _candidates(
    smooth: np.ndarray, threshold: float | np.ndarray, region: np.ndarray, size: float
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """(clean-up kernel, candidates, component count, component labels): the pixels of ``region`` where the smoothed
    P(mask) is at least ``threshold``, opened by a small disk (it cuts thin bridges to look-alike background; its
    size follows the face ``size``), labelled 8-connected."""
    k = clean_kernel(size)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    cand = cv2.morphologyEx(((smooth >= threshold) & (region > 0)).astype(np.uint8), cv2.MORPH_OPEN, kernel)
    n, comp = cv2.connectedComponents(cand, connectivity=8)
    return kernel, cand, n, comp


def grow(
    prob: np.ndarray,
    seed: np.ndarray,
    search: np.ndarray,
    size: float,
    threshold: float | np.ndarray = 0.5,
    hole_prob: float = 0.4,
    smooth: np.ndarray | None = None,
) -> np.ndarray:
    """The mask, uint8 {0, 1}: pixels of ``search`` with ``prob`` >= ``threshold`` connected to ``seed``.

    ``prob`` is P(mask) per pixel, ``seed`` and ``search`` are uint8/bool masks of the same shape, ``size`` the
    face size in these pixels (sets the small clean-up kernels); ``threshold`` a number or a per-pixel array;
    ``smooth``: :func:`smooth_probability` of ``prob``, when the caller has it.
    """
    if smooth is None:
        smooth = smooth_probability(prob, size)
    kernel, cand, n, comp = _candidates(smooth, threshold, search, size)
    if n <= 1:
        return cand
    hits = np.bincount(comp[(seed > 0) & (cand > 0)], minlength=n)
    hits[0] = 0
    keep = (hits > 0).astype(np.uint8)
    out = np.take(keep, comp)  # (a uint8 table: no bool pass to convert)
    out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, kernel)
    out &= search.astype(np.uint8)
    return _fill_mask_like_holes(out, smooth, hole_prob, int((0.03 * size) ** 2))


def sure_level(prob: np.ndarray, seed: np.ndarray, ceiling: float, margin: float) -> float:
    """P(mask) as sure as the colour model is of the k-means mask ``seed`` (its median less ``margin``), at most
    ``ceiling``: a dark mask whose colour the background shares is never as sure as a pale blue one."""
    return min(ceiling, float(median(prob[seed > 0])) - margin)


def grow_deeper(
    prob: np.ndarray,
    grown: np.ndarray,
    band: np.ndarray,
    size: float,
    threshold: float = 0.9,
    front: float = 0.25,
    smooth: np.ndarray | None = None,
) -> np.ndarray:
    """``grown`` (uint8 {0, 1}) continued into ``band`` (the region past the search region's bottom): the band's
    pixels with ``prob`` >= ``threshold`` connected to ``grown`` along a front of at least ``front`` x ``size``
    pixels.

    A mask that the search region cut off (worn far down the neck, the FaceMesh jaw too high) meets the band all
    along its cut bottom edge; a collar as pale as the mask touches it at a corner, if at all. ``smooth``: as in
    :func:`grow`.
    """
    if smooth is None:
        smooth = smooth_probability(prob, size)
    near = cv2.dilate(grown, np.ones((3, 3), np.uint8)) > 0
    # (the candidates, an opening of the band's pixels above the threshold, meet ``grown`` along no more pixels than
    # those do: when too few, none joins, and the opening and the labelling are not needed)
    if np.count_nonzero(near & (smooth >= threshold) & (band > 0)) < front * size:
        return grown
    kernel, cand, n, comp = _candidates(smooth, threshold, band, size)
    if n <= 1:
        return grown
    touching = near & (cand > 0)
    contact = np.bincount(comp[touching], minlength=n)
    contact[0] = 0
    keep = contact >= front * size
    if not any_set(keep):
        return grown
    out = grown | np.take(keep.astype(np.uint8), comp)
    out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, kernel) & ((grown > 0) | (band > 0)).astype(np.uint8)
    return out


def join_past_hand(
    smooth: np.ndarray,
    grown: np.ndarray,
    hand: np.ndarray,
    region: np.ndarray,
    size: float,
    threshold: float,
    body: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(mask, past), uint8 {0, 1}: ``grown`` with the parts of the mask beyond a hand in front of it added, and
    those parts.

    A hand over the mask splits it, and FaceMesh's landmarks move with the hand: the search region and the jaw line
    no longer follow the mask, and its side beyond the hand lies past the search region, or under a jaw line placed
    too high (where the rim cut, flooding from below, reaches it and no flood from the mask above the jaw does: the
    hand is between them), and a narrow strip of it is no wider than the snap's band. The parts past the hand are
    the components of ``region``'s pixels (the search region and some way around it) where the smoothed P(mask)
    ``smooth`` is at least ``threshold`` (as sure as of the k-means mask itself: the hand, the skin and the neck are
    not), opened as :func:`grow`'s candidates, that touch the ``hand`` map ({0, 1}: the skin-coloured occluder
    entering the face; within twice the clean-up kernel's side) and hold none of the mask's ``body`` ({0, 1}: its
    k-means mask on the core). The body's own component adds only its parts outside ``grown`` that touch the hand
    themselves: hair or a wall of the mask's colour beside it touches the mask, not the hand.
    """
    kernel, cand, n, comp = _candidates(smooth, threshold, region, size)
    none = np.zeros_like(grown)
    if n <= 1 or not any_set(hand):
        return grown, none
    # (within the kernel's side of the hand: the blurred P(mask) falls below the threshold a pixel or two short of it)
    reach = 2 * kernel.shape[0] + 1
    near = cv2.dilate(hand.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))) > 0
    keep = np.bincount(comp[near & (cand > 0)], minlength=n) > 0
    main = np.bincount(comp[(body > 0) & (cand > 0)], minlength=n) > 0
    keep[0] = main[0] = False
    past = (keep & ~main)[comp].astype(np.uint8)
    extra = cv2.morphologyEx((keep & main)[comp].astype(np.uint8) & (1 - grown), cv2.MORPH_OPEN, kernel)
    if any_set(extra):
        m, parts = cv2.connectedComponents(extra, connectivity=8)
        touching = np.bincount(parts[near & (extra > 0)], minlength=m) > 0
        touching[0] = False
        past |= touching[parts].astype(np.uint8)
    if not any_set(past):
        return grown, none
    out = cv2.morphologyEx(grown | past, cv2.MORPH_CLOSE, kernel) & ((grown > 0) | (region > 0)).astype(np.uint8)
    return out, past & out


def snap_edges(
    lab: np.ndarray,
    prob: np.ndarray,
    grown: np.ndarray,
    search: np.ndarray,
    size: float,
    band: float = 0.05,
    smooth: np.ndarray | None = None,
    edge_line: bool = True,
) -> np.ndarray:
    """Move the boundary of the ``grown`` mask onto the image's edges nearby: a marker watershed in a band of
    ``band`` x ``size`` on either side of it, uint8 {0, 1}.

    The colour model's boundary is blurred and jagged (colour bins, the smoothing of the probabilities): it
    eats a rim of skin where the cloth meets look-alike skin and stops short where the cloth is shaded. The
    band's inside is flooded from the mask's sure part (``grown`` eroded by the band), its outside from the
    sure outside (the rest of the window, and the window outside ``search``); the floods meet on the strongest
    colour edge in between, which is where the cloth ends. ``smooth``: :func:`smooth_probability` of ``prob``
    (used where its blur is the snap's own: a working face size of 117 px or more). ``edge_line``: the pixels of the
    line where the floods meet (the edge itself) are mask where they look like it, not only where the growth had them.
    """
    b = max(int(round(band * size)), 1)
    # Only in the box around the mask, with the band and the watershed's frame around it: every pixel the watershed
    # floods lies within b of the mask, and the distances, the relief and the flooding there are those of the whole
    # window (the box's cut frame, marked as the watershed's own line, is reset to the outside it is).
    found = mask_bbox(grown, b + 3, grown.shape)
    if found is None:
        return grown
    box = _bounded(found, grown.shape)
    sigma = max(0.006 * size, 0.7)
    if smooth is None or sigma != max(0.006 * size, 0.6):
        # (the blur in the box with its reach around it: the same values there)
        wide = grow_box(box, (int(round(sigma * 8 + 1)) | 1) // 2 + 1, grown.shape)
        smooth = _within(smooth_probability(prob[wide], size, 0.7), wide, box)
    else:
        smooth = smooth[box]
    wide = grow_box(box, gaussian_reach(sigma) + 1, grown.shape)
    light = _within(cv2.GaussianBlur(lab[wide][..., 0], (0, 0), sigma), wide, box)
    snapped = _snap_in_box(smooth, light, prob[box], grown[box], b, edge_line, _cut_frame(box, grown.shape))
    if snapped is None:
        return grown
    out = np.zeros_like(grown)
    out[box] = snapped
    out &= (search > 0).astype(np.uint8)
    return _fill_holes_touching(out, grown)


def _within(values: np.ndarray, wide: tuple[slice, slice], box: tuple[slice, slice]) -> np.ndarray:
    """The part of ``values`` (computed over the box ``wide``) that lies in ``box`` (inside ``wide``)."""
    return values[box[0].start - wide[0].start : box[0].stop - wide[0].start,
                  box[1].start - wide[1].start : box[1].stop - wide[1].start]


def _cut_frame(box: tuple[slice, slice], shape: tuple[int, ...]) -> tuple[bool, bool, bool, bool]:
    """Which sides (top, bottom, left, right) of ``box`` lie inside the window of ``shape``, not on its edge."""
    return box[0].start > 0, box[0].stop < shape[0], box[1].start > 0, box[1].stop < shape[1]


def _snap_in_box(
    smooth: np.ndarray,
    light: np.ndarray,
    prob: np.ndarray,
    grown: np.ndarray,
    b: int,
    edge_line: bool,
    cut: tuple[bool, bool, bool, bool],
) -> np.ndarray | None:
    """:func:`snap_edges`' watershed in a box around the mask (``cut``: its sides inside the window), the smoothed
    P(mask) and the blurred lightness given there; None when the mask has no sure inside."""
    # (an erosion and a dilation by a disk of radius b, as distance thresholds: a large disk kernel is slow)
    inside = cv2.distanceTransform(grown, cv2.DIST_L2, 5) > b
    if not any_set(inside):
        return None
    markers = np.zeros(grown.shape, np.int32)
    # (not the window outside ``search``: where the search region clipped the mask, that cut is no edge to snap to)
    markers[(cv2.distanceTransform(1 - grown, cv2.DIST_L2, 5) > b) | holes_of(grown)] = 1
    markers[inside] = 2
    # The relief: steps of the mask probability (cloth to skin; a pleat line or a print is mask-coloured and
    # makes none) and, at a quarter weight, of the lightness (the cloth's outline, where colours are alike).
    p = np.clip(smooth * 255.0, 0, 255).astype(np.uint8)
    light = light >> _RELIEF_LIGHT_SHIFT  # (a quarter: uint8 >> 2)
    relief = cv2.merge([p, light, light])
    cv2.watershed(relief, markers)
    # (the watershed marks the image's frame as its line: where the box cut the window, that frame is outside)
    top, bottom, left, right = cut
    if top:
        markers[0] = 1
    if bottom:
        markers[-1] = 1
    if left:
        markers[:, 0] = 1
    if right:
        markers[:, -1] = 1
    # (the watershed's line is the edge's own pixels: mask where the growth had them or, ``edge_line``, where their
    # own colour is the cloth's (a pixel half cloth, the cloth's hem), not the skin's)
    line = (markers == -1) & ((grown > 0) | ((prob >= 0.5) if edge_line else False))
    return ((markers == 2) | line).astype(np.uint8)


def _fill_holes_touching(out: np.ndarray, grown: np.ndarray) -> np.ndarray:
    """Holes of ``out`` that were not holes of ``grown`` (the watershed's boundary lines) are filled."""
    holes = _hole_components(out)
    if holes is None:
        return out
    comp, hole = holes
    # a hole of ``out`` is kept when it holds a hole of ``grown`` (an occluder the growth left out)
    # (read at the holes' pixels only: label 0 is no hole, and the holes' own labels are found the same)
    flat = comp.ravel()
    at = np.flatnonzero(flat != 0)
    was_hole = np.bincount(flat[at][np.ravel(grown)[at] == 0], minlength=len(hole)) > 0
    res = out.copy()
    np.putmask(res, np.take(hole & ~was_hole, comp), 1)
    return res


def ear_loops(
    prob: np.ndarray,
    mask: np.ndarray,
    face: np.ndarray,
    size: float,
    width: float = 0.02,
    min_length: float = 0.05,
    beyond: np.ndarray | None = None,
    winding: float = 2.0,
    side: float = 0.2,
) -> np.ndarray:
    """The ear loops' ends on the cheeks, uint8 {0, 1}: thin strokes of the mask's colour, touching the mask.

    ``prob`` is the per-pixel mask probability, ``mask`` the mask, ``face`` where loops may be (the face outline:
    beyond it, thin dark or pale strokes are as likely hair). A candidate is a mask-coloured pixel outside the mask
    that an opening of ``width`` x ``size`` removes (thin: not a patch of look-alike skin); the strokes kept
    touch the mask and are at least ``min_length`` x ``size`` long. They are widened by a pixel (their
    anti-aliased edges).

    ``beyond`` (optional) is where a loop may run on past the face outline, towards the ear: a stroke there is
    kept whole when it starts at the mask's side edge (it touches the mask in the outer ``side`` of the mask's
    width on either side, above the mask's lowest third: not a collar under the chin) and is a single stroke (its
    length, half its outline, at most ``winding`` x its extent: not a tangle of hair highlights or a rim of a
    pale background).
    """
    face = (face > 0).astype(np.uint8)
    zone = face if beyond is None else face | (beyond > 0).astype(np.uint8)
    cand = ((prob >= 0.5) & (mask == 0) & (zone > 0)).astype(np.uint8)
    if not any_set(cand) or not any_set(mask):
        return np.zeros_like(mask)
    # (only in the candidates' box, two pixels around it for the 3 x 3 rim and widening: the strokes and all that is
    # read at their pixels are the same there as over the whole window)
    box = _bounded(mask_bbox(cand, 2, cand.shape), cand.shape)
    bx, by, bw, bh = cv2.boundingRect(mask)
    extent = (float(bx - box[1].start), float(bx + bw - 1 - box[1].start), float(by - box[0].start),
              float(by + bh - 1 - box[0].start))
    out = np.zeros_like(mask)
    out[box] = _loops_in_box(
        cand[box], mask[box], face[box], zone[box], size, width, min_length, beyond is not None, extent, winding, side
    )
    return out


def _bounded(box: tuple[slice, slice] | None, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """A :func:`mask_bbox` box with explicit bounds (the whole ``shape`` for None or open slices)."""
    if box is None:
        return slice(0, shape[0]), slice(0, shape[1])
    rows, cols = (slice(*part.indices(n)[:2]) for part, n in zip(box, shape))
    return rows, cols


def _loops_in_box(
    cand: np.ndarray,
    mask: np.ndarray,
    face: np.ndarray,
    zone: np.ndarray,
    size: float,
    width: float,
    min_length: float,
    beyond: bool,
    extent: tuple[float, float, float, float],
    winding: float,
    side: float,
) -> np.ndarray:
    """:func:`ear_loops` in a box around its candidates ``cand`` (``extent``: the whole mask's x_lo, x_hi, y_lo, y_hi
    in the box's pixels; ``beyond``: whether the loops may run on past the face outline, in ``zone``)."""
    rim = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    # (the strokes touching the mask: read at the thin pixels on its rim only, a few hundred, not the whole window)
    # (at the mask's side edge, above its lowest third: a loop leaves the mask there, for the ear; not from its top
    # towards the eyes, nor from under the chin)
    x_lo, x_hi, y_lo, y_hi = extent
    band = side * (x_hi - x_lo)
    ry, rx = nonzero(cv2.bitwise_and(cand, rim))
    at_side = ((rx <= x_lo + band) | (rx >= x_hi - band)) & (ry <= y_hi - (y_hi - y_lo) / 3.0)
    if not at_side.any():  # (no candidate touches the mask there, so no thin stroke does: none is kept)
        return np.zeros_like(mask)
    k = max(int(round(width * size)) | 1, 3)
    # (at 3 px OpenCV's elliptic kernel is a cross, which a 2-3 px stroke's anti-aliased diagonal holds in places: the
    # disk of ``width`` x ``size``, 3-3.5 px there, covers the 3 x 3 square)
    shape = cv2.MORPH_ELLIPSE if k > 3 else cv2.MORPH_RECT
    thick = cv2.morphologyEx(cand, cv2.MORPH_OPEN, cv2.getStructuringElement(shape, (k, k)))
    thin = cand & (thick == 0)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(thin, connectivity=8)
    if n <= 1:
        return np.zeros_like(mask)
    # (the candidates on the rim that are thin: the strokes' pixels there, in the same order)
    on_thin = thin[ry, rx] > 0
    ry, rx, at_side = ry[on_thin], rx[on_thin], at_side[on_thin]
    touch = np.zeros(n, bool)
    touch[comp[ry[at_side], rx[at_side]]] = True
    length = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = touch & (length >= min_length * size)
    keep[0] = False
    whole = np.zeros(n, bool)  # kept past the face outline too
    if beyond and any_set(keep):
        # (each kept stroke in its own box: they are few, and the window's whole-image look-ups cost more)
        for i in np.flatnonzero(keep):
            whole[i] = _whole_loop(comp, stats[i, :4], i, face, rim, extent, band, winding)
    # (widened by a pixel: their anti-aliased edges)
    ring = np.ones((3, 3), np.uint8)
    loops = cv2.dilate(_paint(comp, stats, keep), ring) & face
    if any_set(whole):
        loops |= cv2.dilate(_paint(comp, stats, whole), ring) & zone
    return loops & (1 - mask)


def _paint(comp: np.ndarray, stats: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """uint8 {0, 1}: the components ``chosen`` ((n,) bool) of the label map ``comp`` (``stats`` from
    cv2.connectedComponentsWithStats), each painted in its own box (``chosen[comp]`` without the whole-window look-up
    when they are few)."""
    picked = np.flatnonzero(chosen)
    if len(picked) > 16:
        return chosen[comp].astype(np.uint8)
    out = np.zeros(comp.shape, np.uint8)
    for i in picked:
        x, y, w, h = stats[i, :4]
        out[y : y + h, x : x + w] |= (comp[y : y + h, x : x + w] == i).astype(np.uint8)
    return out


def _whole_loop(
    comp: np.ndarray,
    box: np.ndarray,
    i: int,
    face: np.ndarray,
    rim: np.ndarray,
    extent: tuple[float, float, float, float],
    band: float,
    winding: float,
) -> bool:
    """Whether stroke ``i`` of ``comp`` (its ``box``: x, y, w, h) is kept whole past the face outline
    (:func:`ear_loops`' ``beyond``): it leaves the ``face``, touches the mask's ``rim`` at the mask's side edge
    (``extent``: the mask's x_lo, x_hi, y_lo, y_hi; ``band`` wide) above its lowest third, and is a single stroke
    (``winding``)."""
    x, y, bw, bh = (int(v) for v in box)
    part = comp[y : y + bh, x : x + bw] == i
    if not (part & (face[y : y + bh, x : x + bw] == 0)).any():
        return False
    x_lo, x_hi, y_lo, y_hi = extent
    ry, rx = nonzero(part & (rim[y : y + bh, x : x + bw] > 0))
    rx, ry = rx + x, ry + y
    at_side = ((rx <= x_lo + band) | (rx >= x_hi - band)) & (ry <= y_hi - (y_hi - y_lo) / 3.0)
    if not any_set(at_side):
        return False
    contours, _ = cv2.findContours(part.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    path = sum(cv2.arcLength(c, True) for c in contours) / 2.0  # a thin stroke's outline is twice its length
    return bool(path <= winding * max(float(np.hypot(bw, bh)), 1.0))


def add_hem(
    lab: np.ndarray,
    mask: np.ndarray,
    width: int,
    towards: float = 0.5,
    chroma_towards: float = 0.3,
    chroma_min: float = 10.0,
    floor: float = 8.0,
    noise: float = 2.0,
) -> np.ndarray:
    """``mask`` (uint8 {0, 1}) with its hem: the pixels within ``width`` of it whose colour lies on the way from what is
    beyond them to the mask's.

    The cloth's edge is a pixel or two the growth and the snap leave out: its seam or binding (a grey or white line),
    the pixels half cloth and half skin on a blurred step, and the mask's chroma that video's and JPEG's halved colour
    resolution spreads a pixel or two onto the skin. Per pixel of the ring around the mask, against the local mean
    colours (Lab) of the mask just inside its edge (m) and of what lies just beyond the ring (o): the pixel p is hem
    when its projection on the way from o to m, (p - o).(m - o) / |m - o|^2, is at least ``towards``, or that of its
    chroma (a, b) at least ``chroma_towards`` where the chroma of m and o differ by ``chroma_min``; and it differs from
    o by ``floor`` and by ``noise`` x the spread of o (a noisy skin is no hem). Pixels join outward from the mask, one
    ring at a time: a skin pixel with skin all around it does not, whatever its neighbour beyond.
    """
    if width < 1 or not any_set(mask):
        return mask
    reach = width + 3  # (what lies beyond: the two rings past the hem's and a gap)
    r = reach + 1  # (the local means' window: (2 r + 1) squared around each ring pixel)
    box = mask_bbox(mask > 0, reach + r + 1, mask.shape)
    assert box is not None
    m8 = mask[box]
    cross = np.ones((3, 3), np.uint8)
    rings = [m8]
    for _ in range(reach):
        rings.append(cv2.dilate(rings[-1], cross))
    ys, xs = nonzero(cv2.subtract(rings[width], m8))
    if len(ys) == 0:
        return mask
    outer = ((rings[reach] > 0) & (rings[width + 1] == 0)).astype(np.uint8)
    e1 = cv2.erode(m8, cross)
    inner = ((e1 > 0) & (cv2.erode(e1, cross, iterations=2) == 0)).astype(np.uint8)
    sub = lab[box]
    # (the local sums over (2 r + 1)^2 windows, clipped at the box, read at the ring's pixels only: from integral
    # images, four reads each; exact integers, as the box filters that summed the whole box gave them)
    window = _integral_window(ys, xs, r, m8.shape)
    n_o = _window_sums(cv2.integral(outer), window)
    n_m = _window_sums(cv2.integral(inner), window)
    beyond = cv2.bitwise_and(sub, sub, mask=outer)
    s_o = _window_sums(cv2.integral(beyond), window)
    k = (2 * r + 1, 2 * r + 1)  # (the squares by a box filter: cheaper than a float64 integral of them)
    q_o = cv2.sqrBoxFilter(beyond, cv2.CV_32F, k, normalize=False, borderType=cv2.BORDER_CONSTANT)[ys, xs].sum(axis=1)
    s_m = _window_sums(cv2.integral(cv2.bitwise_and(sub, sub, mask=inner)), window)
    ok = (n_o > 0.5) & (n_m > 0.5)
    o = s_o / np.maximum(n_o, 1.0)[:, None]
    m = s_m / np.maximum(n_m, 1.0)[:, None]
    spread = np.sqrt(np.maximum(q_o / np.maximum(n_o, 1.0) - (o * o).sum(axis=1), 0.0))
    po, mo = pixels_at(lab, ys, xs, (box[1].start or 0, box[0].start or 0)).astype(np.float32) - o, m - o
    along = (po * mo).sum(axis=1) / np.maximum((mo * mo).sum(axis=1), 1e-3)
    mo_ab = (mo[:, 1:] ** 2).sum(axis=1)
    along_ab = (po[:, 1:] * mo[:, 1:]).sum(axis=1) / np.maximum(mo_ab, 1e-3)
    far = np.sqrt((po * po).sum(axis=1))
    hem = ok & ((along >= towards) | ((along_ab >= chroma_towards) & (mo_ab >= chroma_min**2)))
    hem &= (far >= floor) & (far >= noise * spread)
    hemlike = np.zeros(m8.shape, bool)
    hemlike[ys, xs] = hem
    cur = m8.copy()
    for _ in range(width):
        add = (cv2.dilate(cur, cross) > 0) & (cur == 0) & hemlike
        if not any_set(add):
            break
        cur[add] = 1
    out = mask.copy()
    out[box] = cur
    return out


def _integral_window(
    ys: np.ndarray, xs: np.ndarray, r: int, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The flat indices, into an integral image (:func:`cv2.integral`) of an image of ``shape``, of the four corners
    (bottom right, top right, bottom left, top left) of the (2 ``r`` + 1)^2 window around each pixel (``ys``, ``xs``),
    clipped at the image (what lies outside counts as zeros)."""
    w1 = shape[1] + 1
    y0, y1 = np.maximum(ys - r, 0) * w1, np.minimum(ys + r + 1, shape[0]) * w1
    x0, x1 = np.maximum(xs - r, 0), np.minimum(xs + r + 1, shape[1])
    return y1 + x1, y0 + x1, y1 + x0, y0 + x0


def _window_sums(integral: np.ndarray, window: tuple[np.ndarray, ...]) -> np.ndarray:
    """float32 window sums ((n,) or (n, channels)) from an ``integral`` image at the corners :func:`_integral_window`
    gives (exact: integer or float64 differences, converted last)."""
    flat = integral.reshape(integral.shape[0] * integral.shape[1], -1)
    a, b, c, d = (np.take(flat, i, axis=0) for i in window)
    sums = ((a - b) - (c - d)).astype(np.float32)
    return sums[:, 0] if sums.shape[1] == 1 else sums


def cut_narrow_peaks(
    mask: np.ndarray,
    size: float,
    reach: float,
    tall: float,
    least: float = 0.0,
    lab: np.ndarray | None = None,
    cloth: np.ndarray | None = None,
    same_cloth: float = 0.0,
) -> np.ndarray:
    """``mask`` (uint8 {0, 1}) with the narrow peaks of its top edge cut off at the line they rise from.

    The growth and the snap sometimes climb from the mask's top edge onto the nose or a cheek in a spike: pale skin
    the colour model takes for a white mask, a shadow along the nose. Per column, the mask's top row gives its top
    line; a 1-D opening of that line (a flat window ``reach`` face sizes wide) is what the mask's top is without its
    peaks narrower than that. A run of columns rising above it by more than ``tall`` face sizes (and, with ``least``
    > 0, holding at least ``least`` x size^2 pixels above it) is a peak: its pixels above the opened line leave the
    mask. The nose bridge's rise is wider than ``reach``: it stays. With ``lab`` and ``cloth`` (uint8 {0, 1} of the
    mask's shape: the cloth's sure pixels, the k-means mask cluster), a peak whose mean chroma over lightness
    (:func:`mean_free_chroma`) lies within ``same_cloth`` of the cloth's stays: it is cloth (a pleat's fold, the
    wire's ridge), not skin. A cheap profile first: nothing else runs when no column
    rises ``tall`` above the line.
    """
    rows = mask.shape[0]
    # (the top row per column: the first True along each row of the transposed mask, which numpy finds fast; a
    # column-wise argmax over the mask itself took 0.25 ms of a 220 px window)
    across = cv2.transpose((mask != 0).view(np.uint8)).view(bool)
    on = across.any(axis=1)
    used = np.flatnonzero(on)
    if used.size == 0:
        return mask
    c0, c1 = int(used[0]), int(used[-1]) + 1
    width = max(int(round(reach * size)), 1) | 1  # (odd: an even window shifts the opening by a pixel)
    tall_px = tall * size
    if c1 - c0 <= width:
        return mask
    top = np.argmax(across[c0:c1], axis=1)
    height = np.where(on[c0:c1], rows - top, 0).astype(np.float32)[None, :]
    # (erosion pads with +inf and dilation with -inf: a window may hang over the mask's sides)
    opened = cv2.morphologyEx(height, cv2.MORPH_OPEN, np.ones((1, width), np.uint8))[0]
    excess = height[0] - opened
    if float(excess.max()) <= tall_px:
        return mask
    n, runs = cv2.connectedComponents((excess > 0).astype(np.uint8)[None, :], connectivity=4)
    runs = runs[0]
    peak_max = np.zeros(n, np.float32)
    np.maximum.at(peak_max, runs, excess)
    chosen = peak_max > tall_px
    chosen[0] = False
    if least > 0:
        area = np.bincount(runs, weights=excess, minlength=n)
        chosen &= area >= least * size * size
    if not any_set(chosen):
        return mask
    # (the pixels above the opened line in the chosen columns, labelled by their peak)
    box = (slice(0, rows), slice(c0, c1))
    line = rows - opened  # (the opened top row per column)
    above = np.arange(rows, dtype=np.float32)[:, None] < line[None, :]
    peaks = np.where(above & (mask[box] > 0) & chosen[runs][None, :], runs[None, :], 0).astype(np.int32)
    if lab is not None and cloth is not None and same_cloth > 0:
        colour = cloth_free_chroma(lab, cloth)  # (only now: most masks have no peak)
        mean = mean_free_chroma(lab[box], peaks, n)
        chosen &= np.linalg.norm(mean - colour, axis=1) >= same_cloth
        if not any_set(chosen):
            return mask
        peaks[~chosen[peaks]] = 0
    out = mask.copy()
    out[box][peaks > 0] = 0
    return out
