"""The mask cut at the cloth's rim under the jaw line (and over the nose tip): a marker watershed on the colour steps.

The growth (:mod:`unmask_video.mask_refine`) and the k-means cluster can take in a lit neck, a collar or a hood lining
of nearly the mask's colour; :func:`cut_at_rim` floods the window from the mask's sure part and from what is not mask,
and what lies past the cloth's rim leaves (what has the cloth's own colour comes back). :func:`lit_skin_marks`: a lit
neck of nearly a white cloth's colour, flooded in too.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from unmask_video import order_stats
from unmask_video.blend import disk_morph, mask_bbox
from unmask_video.colour_model import free_chroma_of, shading_free_chroma
from unmask_video.mask_pixels import MEDIAN_NETWORKS, any_set, gaussian_reach, pixels_of, separable_median

__all__ = ["cut_at_rim", "lit_skin_marks"]


def cut_at_rim(
    lab: np.ndarray,
    mask: np.ndarray,
    sure: np.ndarray,
    below: np.ndarray,
    size: float,
    chroma_gain: float = 3.0,
    light_weight: float = 0.5,
    line_width: float = 0.03,
    outside: np.ndarray | None = None,
    same_cloth: float = 0.0,
    hem_px: int = 0,
    parts: np.ndarray | None = None,
    separable: bool = False,
    tail: int = 5,
    small: bool = False,
    held: np.ndarray | None = None,
    lit_skin: float = 0.0,
    lit_where: np.ndarray | None = None,
    same_levels: float = 0.0,
) -> np.ndarray:
    """``mask`` (uint8 {0, 1}) less what lies past the cloth's rim under the jaw: a neck, a collar or a hood lining of
    nearly the mask's colour that the growth (or the k-means cluster itself) took in.

    A marker watershed over the whole window: the mask's ``sure`` part (above the jaw line) floods outward, what is
    not mask (and, given ``outside``, only where ``outside`` is set: what the colour model rejects, not the cloth the
    growth missed beside the mask) floods inward; they meet on the strongest colour steps between them. The cloth is
    one fabric, shaded smoothly, and its rim is a step in colour (its hem, skin or clothing beyond it), so the mask's
    flood stops at the rim, while a look-alike neck or collar the growth took in is reached more easily from the
    rest of the neck or the clothing, through no rim. The relief weighs the chroma (Lab a, b) ``chroma_gain`` times
    and the lightness ``light_weight`` times (the pleats and folds of a mask are lightness steps, not colour ones),
    after a median over ``line_width`` x ``size`` (thin lines, pleats and print dots, are no steps). Only pixels in
    ``below`` (under the jaw line) leave the mask; the parts cut off from the mask above the jaw line go with them.

    ``same_cloth`` > 0: a piece cut off (pieces a few pixels apart judged together) whose median chroma over lightness
    lies within ``same_cloth`` of the sure mask's, or of one of its ``parts``' (an int map of the k-means clusters of
    the mask, -1 elsewhere: a two-colour mask) stays: the cloth beyond one of its own lines (a stripe, a seam, the
    shadow of a fold). ``hem_px``: the mask keeps this many pixels past the cut (the line lies on a blurred step).
    ``separable``: the 7 x 7 median is a 1-D one down the columns, then along the rows (:func:`separable_median`),
    then a ``tail`` x ``tail`` one (5: about half the cost of OpenCV's 2-D one, 3: a third of it; thin lines go as well,
    a step's corner is kept a little differently); with ``small``, the 5 x 5 median too (5-tap ones, then a 3 x 3 one:
    a third of its cost); other sizes stay 2-D. ``held`` ({0, 1}): what the mask keeps of it floods and stays as its
    sure part above the jaw line does, and so do the parts touching it (the mask's side beyond a hand in front of it,
    cut off from its part above the jaw line by the hand: :func:`~unmask_video.mask_refine.join_past_hand`).
    ``lit_skin`` > 0: the mask's pixels in ``lit_where`` (default ``below``) yellower by ``lit_skin`` (Lab b) than the
    sure cloth of their lightness flood inward too (:func:`lit_skin_marks`: a lit neck of nearly a white cloth's
    colour, reached from the cloth through the faint step of its lower edge only), and the mask's thin strands beside
    them go (:func:`_without_strands`).
    """
    if not any_set(mask) or not any_set(sure) or not any_set(mask & below):
        return mask
    # Only around the mask (a rim of a tenth of the face for what is not mask to flood in from): the cost follows it.
    x, y, w, h = cv2.boundingRect(mask)
    pad = max(int(round(0.1 * size)), 4)
    box = (slice(max(y - pad, 0), y + h + pad), slice(max(x - pad, 0), x + w + pad))
    if outside is not None:
        outside = outside[box]
    out = mask.copy()
    out[box] = _cut_at_rim(
        lab[box], mask[box], sure[box], below[box], size, chroma_gain, light_weight, line_width, outside, same_cloth,
        hem_px, None if parts is None else parts[box], separable, tail, small, None if held is None else held[box],
        lit_skin, None if lit_where is None else lit_where[box], same_levels,
    )
    return out


def _cut_at_rim(
    lab: np.ndarray,
    mask: np.ndarray,
    sure: np.ndarray,
    below: np.ndarray,
    size: float,
    chroma_gain: float,
    light_weight: float,
    line_width: float,
    outside: np.ndarray | None,
    same_cloth: float,
    hem_px: int,
    parts: np.ndarray | None,
    separable: bool = False,
    tail: int = 5,
    small: bool = False,
    held: np.ndarray | None = None,
    lit_skin: float = 0.0,
    lit_where: np.ndarray | None = None,
    same_levels: float = 0.0,
) -> np.ndarray:
    """:func:`cut_at_rim` on a window around the mask."""
    if held is not None:
        sure = sure | held
    if not any_set(sure):
        return mask
    # (a median first: the thin lines of pleats, seams and prints go, steps stay; then a light blur, all in uint8, and
    # one table look-up per channel for the weights)
    k = min(max(int(round(line_width * size)) | 1, 3), 255)
    sigma = max(0.006 * size, 0.7)
    markers = np.zeros(mask.shape, np.int32)
    markers[(mask == 0) if outside is None else (mask == 0) & (outside > 0)] = 1
    kept = (sure > 0) & (mask > 0)
    markers[kept] = 2
    # The relief matters only where the watershed looks (the pixels it floods and their labelled neighbours), and the
    # smoothed colours only in the mask (the cloth's colour and what the cut took): both are computed in the box around
    # those, with the filters' reach around it, and are the same there as over the whole window.
    smooth = np.zeros_like(lab)
    relief = np.zeros_like(lab)
    needed_at = (markers == 0) | (mask > 0)
    needed = mask_bbox(needed_at, k // 2 + gaussian_reach(sigma) + 1, needed_at.shape)
    if needed is not None:
        if separable and k in MEDIAN_NETWORKS and (k > 5 or (k == 5 and small)):  # (then a ``tail`` x ``tail`` one,
            # 3 x 3 after 5-tap ones: alone, the 1-D medians cut a pleated mask short; past 7 there is no network)
            median = cv2.medianBlur(separable_median(lab[needed], k), tail if k > 5 else 3)
        else:
            median = cv2.medianBlur(lab[needed], k)
        smooth[needed] = block = cv2.GaussianBlur(median, (0, 0), sigma)
        relief[needed] = cv2.LUT(block, _relief_table(chroma_gain, light_weight))
    skin = None
    if lit_skin > 0:
        skin = lit_skin_marks(smooth, mask, kept, below if lit_where is None else lit_where, lit_skin, size)
    if skin is not None:
        markers[skin] = 1
    cv2.watershed(relief, markers)
    cut = (markers == 1) & (below > 0) & (mask > 0)
    if not any_set(cut):
        return mask
    out = mask.copy()
    out[cut] = 0
    # (what the cut leaves under the jaw apart from the mask above it goes too)
    anchor = (out > 0) & (below == 0)
    if held is not None:
        anchor |= (out > 0) & (held > 0)
    out = _components_touching(out, anchor)
    # (the cut's line lies on the blurred step: the cloth's hem beside it, a pixel or two, stays)
    ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * hem_px + 1, 2 * hem_px + 1)) if hem_px > 0 else None
    hemmed = None if ring is None else out | (cv2.dilate(out, ring) & mask)
    if hemmed is not None and same_cloth > 0 and np.array_equal(hemmed, mask):
        # (the hem gives back all that was cut, and would with anything more put back: the mask as it was)
        return mask
    if same_cloth > 0:
        # What the cut took that has the cloth's own colour (its chroma over lightness, as the relief sees it) and
        # touches what is left is the cloth beyond one of its own lines (a stripe, a seam, the shadow of a fold).
        gone = (mask > 0) & (out == 0)
        near = np.zeros(mask.shape, np.uint8)
        near[gone] = _near_cloth(smooth, gone, kept, parts, same_cloth, same_levels)
        if any_set(near):  # (else nothing comes back: the closing of nothing is nothing)
            # (closed: the thin stripes or dots of another colour between the cloth-coloured parts come back with them)
            k = max(int(round(0.05 * size)) | 1, 3)
            back = np.zeros(mask.shape, np.uint8)
            # (only around what was cut, with the kernel's reach: ``near`` is empty beyond it; the same result)
            around = mask_bbox(gone, k, mask.shape)
            assert around is not None
            back[around] = disk_morph(near[around], cv2.MORPH_CLOSE, k) & gone[around]
            if any_set(back):
                out = _components_touching(back | out, out > 0)
                hemmed = None if ring is None else out | (cv2.dilate(out, ring) & mask)
    out = out if hemmed is None else hemmed
    if skin is not None and any_set(skin.view(np.uint8)):
        out = _without_strands(out, below, anchor, skin, size)
    return out


def lit_skin_marks(
    smooth: np.ndarray, mask: np.ndarray, kept: np.ndarray, below: np.ndarray, margin: float, size: float
) -> np.ndarray:
    """bool: the pixels of ``mask`` under the jaw line (``below``, not ``kept``) that look like skin beside the cloth,
    in the smoothed uint8 Lab ``smooth``: yellower (Lab b) by ``margin`` or more than the sure cloth (``kept``) of
    their own lightness (its median b per band of 16 L levels, the nearest band's where it has no pixels), at most
    two bands darker than its darkest tenth, in pieces at least 0.03 x ``size`` across (an opening: a stray pixel
    marks nothing).

    A white or pale cloth is neutral or cool where it is lit and warmer where it is shaded; a lit neck of nearly its
    colour is about as light but yellower, which the shading-free chroma of the colour model hardly tells apart. A
    cloth warm where it is lit (its lightest quarter's a + b at least 8 above neutral: skin taken for the mask on a
    bare face, a beige mask) marks nothing."""
    out = np.zeros(mask.shape, bool)
    idx = np.flatnonzero(kept.ravel())
    if idx.size < 20:
        return out
    # (all by histograms of the uint8 values of at most about 2000 of the cloth's pixels)
    cloth = np.take(smooth.reshape(-1, 3), idx[:: max(idx.size // 2000, 1)], axis=0)  # (rows: a take, not an index)
    light = cloth[:, 0]
    lights = np.bincount(light, minlength=256)
    lit = cloth[light >= _hist_quantile(lights, 0.75)]
    if _hist_quantile(np.bincount(lit[:, 1], minlength=256), 0.5) + _hist_quantile(
        np.bincount(lit[:, 2], minlength=256), 0.5
    ) - 256 >= 8:
        return out  # (a warm "cloth": skin or a beige mask; nothing to tell a neck by)
    per_band = np.bincount((light.astype(np.intp) >> 4) * 256 + cloth[:, 2], minlength=16 * 256).reshape(16, 256)
    full = np.flatnonzero(per_band.sum(axis=1) >= 10)
    if full.size == 0:
        return out
    yellow = np.interp(np.arange(256) >> 4, full, _hist_quantile(per_band[full], 0.5)) + margin
    floor = _hist_quantile(lights, 0.1) - 32  # (two bands past its darkest tenth)
    # (per lightness, the least b that marks: none below the floor)
    table = np.where(np.arange(256) >= floor, np.clip(np.ceil(yellow), 0, 255), 255).astype(np.uint8)
    where = (mask > 0) & (below > 0) & ~kept
    k = max(int(round(0.03 * size)) | 1, 3)
    box = mask_bbox(where, k, where.shape)  # (with the opening's reach: the same as over the whole window)
    if box is None:
        return out
    cand = where[box] & (smooth[box][..., 2] >= cv2.LUT(smooth[box][..., 0], table))
    if not any_set(cand):
        return out
    out[box] = disk_morph(cand.astype(np.uint8), cv2.MORPH_OPEN, k) > 0
    return out


def _hist_quantile(hist: np.ndarray, q: float) -> np.ndarray:
    """The value at quantile ``q`` (the first whose cumulative count reaches q x the total) of a histogram along its
    last axis (an int array of the other axes' shape; 0-d for one histogram)."""
    cum = np.cumsum(hist, axis=-1)
    if cum.ndim == 1:  # (the count of cumulative counts under q x the total: they rise, so a binary search finds it)
        return np.searchsorted(cum, q * cum[-1])
    return (cum < q * cum[..., -1:]).sum(axis=-1)  # (a sum of the bools: count_nonzero along an axis costs more)


def _without_strands(
    mask: np.ndarray, below: np.ndarray, anchor: np.ndarray, skin: np.ndarray, size: float
) -> np.ndarray:
    """``mask`` less its strands under the jaw line within 0.1 x ``size`` of the ``skin`` marks and thinner than 0.05
    x ``size`` (an opening there), and what they alone held to the ``anchor``: the lit neck's cut leaves its shaded
    edge, cloth-coloured, as a thread along it. (Not elsewhere: a mask's narrow side by the ear stays.)"""
    k = max(int(round(0.05 * size)) | 1, 3)
    # (on the marks' box with the reach and the opening's around it: the same as over the whole window)
    box = mask_bbox(skin, int(np.ceil(0.1 * size)) + k, skin.shape)
    if box is None:
        return mask
    near = cv2.distanceTransform((~skin[box]).astype(np.uint8), cv2.DIST_L2, 3) <= 0.1 * size
    kept = mask.copy()
    kept[box] = np.where((below[box] > 0) & near, disk_morph(mask[box], cv2.MORPH_OPEN, k), mask[box])
    return _components_touching(kept, anchor & (kept > 0))


@functools.lru_cache(maxsize=8)
def _relief_table(chroma_gain: float, light_weight: float) -> np.ndarray:
    """(256, 1, 3) uint8, read-only (made once per weights): Lab L times ``light_weight``, a and b spread
    ``chroma_gain`` times about neutral (128)."""
    v = np.arange(256, dtype=np.float32)
    table = np.stack([v * light_weight, 128.0 + chroma_gain * (v - 128.0), 128.0 + chroma_gain * (v - 128.0)], axis=1)
    table = np.clip(np.round(table), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    table.flags.writeable = False
    return table


def _components_touching(binary: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """uint8 {0, 1}: the 8-connected components of ``binary`` holding a pixel of ``anchor`` (bool)."""
    n, comp = cv2.connectedComponents(binary, connectivity=8)
    if n <= 2:
        return binary
    keep = np.zeros(n, bool)
    keep[comp[anchor]] = True
    keep[0] = False
    return np.take(keep.astype(np.uint8), comp)  # (keep[comp] as uint8: a take is faster than the fancy index)


def _near_cloth(
    lab: np.ndarray, where: np.ndarray, kept: np.ndarray, parts: np.ndarray | None, tolerance: float,
    levels: float = 0.0,
) -> np.ndarray:
    """uint8 {0, 1} per pixel of ``where`` (bool): its chroma over lightness lies within ``tolerance`` of the cloth's,
    or within ``levels`` x one uint8 level of Lab a or b at its own lightness (:func:`_level_step`), where that is
    more: dark pixels only. (Not at the lighter of the pixel and the cloth: that floor, measured once
    ``order_stats.median`` took the uint8 cloth lightness's median right, took less of the drawn masks and blurred a
    black collar into one drawn clip's fill; before, it was 0 for an even count of sampled pixels: benchmarks/README.md,
    helper medianfix.)

    The cloth's colours: the median of the ``kept`` (sure) mask, and with ``parts`` (its k-means clusters, -1
    elsewhere: a two-colour or printed mask has several) the median of each part holding a tenth of it whose colour
    is another one (at least 3 x ``tolerance`` from the median: not a white mask's shaded side, warmer than its lit
    side). Medians over about 1000 pixels at most."""

    idx = np.flatnonzero(kept.ravel())
    if idx.size == 0:  # no sure cloth: no colour to be near (the median of nothing is NaN, and a warning)
        return np.zeros(int(np.count_nonzero(where)), np.uint8)
    step = max(len(idx) // 1000, 1)
    idx = idx[::step]
    flat = lab.reshape(-1, 3)
    cloth = free_chroma_of(np.take(flat, idx, axis=0))  # (rows: a take, not a fancy index)
    median = order_stats.median(np.ascontiguousarray(cloth.T))  # (per channel; contiguous rows)
    colours = [median]
    if parts is not None:
        labels = parts.ravel()[idx]
        counts = np.bincount(labels[labels >= 0])
        for c in np.flatnonzero(counts >= 0.1 * len(idx)):
            colour = order_stats.median(np.ascontiguousarray(cloth[labels == c].T))
            if float(np.linalg.norm(colour - median)) >= 3 * tolerance:
                colours.append(colour)
    lab_pixels = pixels_of(lab, where)
    pixels = free_chroma_of(lab_pixels)
    reach: float | np.ndarray = tolerance
    if levels > 0:  # (at the pixel's own lightness)
        reach = np.maximum(tolerance, levels * _level_step(lab_pixels[:, 0]))
    near = np.zeros(len(pixels), bool)
    for colour in colours:
        near |= ((pixels - colour) ** 2).sum(axis=1) < reach**2
    return near.astype(np.uint8)


#: (256,) float32: :func:`shading_free_chroma` of one uint8 level of a chroma channel at each uint8 lightness.
_LEVEL_STEP = shading_free_chroma(np.arange(256, dtype=np.float32), np.float32(1.0)).astype(np.float32)


def _level_step(light: np.ndarray) -> np.ndarray:
    """float32: the chroma over lightness of one uint8 level of Lab a or b at uint8 lightness ``light`` (2.56 up to
    L 87, less above: the steps a dark colour's chroma over lightness moves in)."""
    return _LEVEL_STEP[light]


