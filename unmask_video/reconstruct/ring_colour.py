"""Robust colour statistics of the ring of visible skin around the mask, for the reference composite's colour match.

The ring's pixels (subsampled on a big face), the robust colour of a set of Lab pixels and what lies near it, the
colours the frame's mask and the warped reference's skin show in the hole, and which ring pixels the match may use:
not the mask's colour, not outliers of the frame-minus-reference difference (hands, hair that moved, a landmark slip).
"""

from __future__ import annotations

import numpy as np

from unmask_video.mask_pixels import pixels_at
from unmask_video.order_stats import median, percentile
from unmask_video.reconstruct.lab_pixels import channel_rows, coords_of, to_lab


#: At most this many ring pixels are looked at (an even subsample of a bigger ring).
_MAX_RING_PIXELS = 3000
#: Fewer ring pixels than this and the colour statistics are not trusted (no colour match).
MIN_RING_PIXELS = 30
#: Ring pixels whose colour difference is within this many Lab units of the median are never
#: outliers (a tight ring would otherwise drop ordinary skin texture).
_MIN_OUTLIER_LAB = 8.0
#: A mask whose median Lab chroma (distance from grey in the a/b plane) is below this is neutral (white, grey,
#: black): its colour cannot be told from pale skin's, only its lack of colour can.
_NEUTRAL_CHROMA = 10.0


def sampled_coords(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~unmask_video.reconstruct.lab_pixels.coords_of` of an (h, w) map, evenly subsampled to at most
    ``_MAX_RING_PIXELS``: a big face's ring carries the same statistics and smooth fields at a fraction of the cost."""
    ys, xs = coords_of(mask)
    if len(ys) > _MAX_RING_PIXELS:
        step = -(-len(ys) // _MAX_RING_PIXELS)
        ys, xs = ys[::step], xs[::step]
    return ys, xs


def robust(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median, spread), (3,) each, of the ``sample`` pixels ((3, M) Lab, :func:`channel_rows`): per channel, the spread
    is the 75th percentile of the distance to the median, at least 3."""
    mu = median(sample)
    spread = np.maximum(percentile(np.abs(sample - mu[:, None]), 75), 3.0)
    return mu.astype(np.float32), spread.astype(np.float32)


def _distance(lab: np.ndarray, sample: np.ndarray | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(N,) squared distance of the ``lab`` pixels ((3, N)) to the ``sample`` pixels' median colour ((3, M) Lab),
    in robust spreads (:func:`robust`; or ``sample`` is already its (median, spread))."""
    mu, spread = robust(sample) if isinstance(sample, np.ndarray) else sample
    t = np.square((lab - mu[:, None]) / spread[:, None])
    return (t[0] + t[1]) + t[2]


def near_colour(lab: np.ndarray, sample: np.ndarray | tuple[np.ndarray, np.ndarray], spreads: float) -> np.ndarray:
    """(N,) bool: the ``lab`` pixels ((3, N)) within ``spreads`` robust spreads of the ``sample`` pixels' median
    colour ((3, M) Lab, or its (median, spread); see :func:`_distance`)."""
    return _distance(lab, sample) < spreads * spreads


#: The mask's colour (:func:`hole_colours`): its robust median and spread (:func:`robust`) and its median chroma.
MaskColour = tuple[np.ndarray, np.ndarray, float]


def hole_colours(
    hole: np.ndarray | None, target: np.ndarray, reference: np.ndarray
) -> tuple[MaskColour | None, tuple[np.ndarray, np.ndarray] | None]:
    """(mask colour, skin colour): the colour the frame ``target`` shows in the ``hole`` ((h, w) bool; None: none),
    for :func:`unlike_mask`, and the robust colour (:func:`robust`) of the warped ``reference`` there (where it covers),
    its skin's; None each where too few pixels tell."""
    if hole is None or not hole.any():
        return None, None
    hole_idx = np.flatnonzero(hole)
    hole_idx = hole_idx[:: max(1, len(hole_idx) // 4000)]  # a subsample is enough for its colour spread
    # (the pixels by their rows and columns, :func:`pixels_at`: ``target`` and ``reference`` are boxes of the face's
    # images, whose ``reshape(-1, 3)`` is a copy of the whole box)
    hole_ys, hole_xs = np.divmod(hole_idx, hole.shape[1])
    hole_lab = channel_rows(to_lab(pixels_at(target, hole_ys, hole_xs)))
    mask_colour = None
    if hole_lab.shape[1] >= MIN_RING_PIXELS:
        mask_colour = (*robust(hole_lab), float(median(np.hypot(hole_lab[1], hole_lab[2]))))
    # (its median and spread: fewer suffice; not where the warp covers nothing, black, which would pull the median
    # down and widen the spread to take in hair, eyes and shadows)
    ref_hole = pixels_at(reference, hole_ys[::4], hole_xs[::4])
    covered = ref_hole[ref_hole.any(axis=1)]
    if len(covered) < MIN_RING_PIXELS:  # (none at all: OpenCV refuses an empty image)
        return mask_colour, None
    return mask_colour, robust(channel_rows(to_lab(covered)))


def unlike_mask(tgt: np.ndarray, mask_colour: MaskColour | None) -> np.ndarray:
    """(N,) bool: the ``tgt`` ring pixels ((3, N) Lab) that do not look like the mask (within 3 spreads of the
    hole's colour, ``mask_colour`` (:func:`hole_colours`; None: not known): the part of the mask the segmentation
    missed); all if that would leave fewer than ``MIN_RING_PIXELS``."""
    keep = np.ones(tgt.shape[1], bool)
    if mask_colour is not None:
        like_mask = near_colour(tgt, mask_colour[:2], 3.0)
        mask_chroma = mask_colour[2]
        if mask_chroma < _NEUTRAL_CHROMA:
            # A white or grey mask's colour spread takes in pale skin, which is as near it as a fringe of the mask
            # itself (and that fringe, hardly coloured, hardly tints the match): only what is no more colourful
            # than the mask (a grey shirt or background, the mask's own shadows) is the mask's.
            like_mask &= np.hypot(tgt[1], tgt[2]) <= mask_chroma
        if np.count_nonzero(~like_mask) >= MIN_RING_PIXELS:
            keep &= ~like_mask
    return keep


def capped(residual: np.ndarray, spread: np.ndarray, cap: float) -> np.ndarray:
    """The (3, N) Lab ``residual`` with each channel held within ``cap`` times that channel's ``spread`` ((3,), the
    frame skin's robust spread) of 0 (``cap`` <= 0: as it is)."""
    if cap <= 0:
        return residual
    bound = (np.float32(cap) * np.asarray(spread, np.float32))[:, None]
    return np.clip(residual, -bound, bound)


def inliers(
    tgt: np.ndarray, ref: np.ndarray, not_mask: np.ndarray, skin: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(colour, seam): (N,) bool each, the ring pixels (``tgt``, ``ref``: (3, N) Lab) the colour statistics come
    from, and those the seam is matched on.

    Dropped from both: pixels that look like the mask (not in ``not_mask``, :func:`unlike_mask`), and pixels whose
    target-minus-reference difference is far from the median difference (hands, hair that moved, shadows, a landmark
    slip).
    Dropped from the colour statistics only: pixels where the reference does not show skin (further than
    3 spreads from the colour of the warped reference inside the hole, ``skin``: hair, background, the
    dark of a nostril), which look alike in both images and would pull the match towards no change; the
    seam must still meet the frame there (``skin``: where the reference shows skin, None: everywhere). A test that
    would leave fewer than ``MIN_RING_PIXELS`` is not applied.
    """
    keep = not_mask
    if skin is None:
        skin = keep
    d = tgt - ref
    med = median(d[:, keep])
    t = np.square(d - med[:, None])
    dev = np.sqrt((t[0] + t[1]) + t[2])
    mad = float(median(dev[keep]))
    seam = keep & (dev <= max(3.0 * mad, _MIN_OUTLIER_LAB))
    colour = seam & skin
    return (colour if np.count_nonzero(colour) >= MIN_RING_PIXELS else seam), seam
