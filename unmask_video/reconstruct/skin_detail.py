"""How strong the frame skin's fine detail is against the reference's, read off the colour match's ring samples.

The ``light="skin"`` colour match scales the reference's variation around its smooth skin light by the frame's
(:mod:`~unmask_video.reconstruct.skin_light`); that measure compares each ring pixel with the warp's smooth light, so
the frame's lids, lashes, shading and a neck's or shirt's edge count as its skin's variation, and a stand-in's
freckles and tan are carried at about full strength. Here only the skin's fine detail is compared, from the ring
pixels the colour match already reads (no image of the frame is made, and only on the frames the fields are measured
on): those where both images show skin are averaged per working pixel, each working pixel's mean high-passed against
the mean of those in its small block (neither the mask's cloth nor the warp inside the hole enters it), and only
blocks where the frame's lightness does not spread widely (an edge: a lid, a lash line, the neck's or a collar's edge)
compared, by a robust spread per Lab channel (:func:`detail_ratio`). The reference's fine detail on its skin
(against a box mean at the working size) is then taken down to that ratio where the contrast carries more of it
(:func:`scale_detail`), its lips and its light left as they are.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.order_stats import median
from unmask_video.reconstruct.ring_colour import MIN_RING_PIXELS

#: The high-pass's local mean, measured: each working pixel's own mean against the mean of the working pixels read
#: in its block of this many working pixels across (a box, not a blur: a few hundred numbers, no image).
_BLOCK = 3
#: The high-pass's box, applied (:func:`scale_detail`), in working pixels across: what is finer than about it is the
#: skin's detail (freckles, pores in clusters, a tan's blotches), what is broader its light and shading.
_APPLY_BOX = 7
#: A block whose working pixels' lightness spreads by more than this in the frame (Lab L, the root mean square of the
#: high-pass) holds an edge (a lid, a lash line, the neck's or a collar's edge): not compared. (Not tested in the
#: reference: a stand-in's strong freckles spread as widely, and its few edges on the ring are outliers the median
#: absolute deviation drops.)
_EDGE_SPREAD = 4.0
#: The reference's detail is scaled down at most to this fraction.
MIN_DETAIL = 0.3
#: Less than this share of the reference's detail to take off a channel and it is left as it is (a change of a few
#: hundredths of a Lab unit: not worth a pass over the working size).
_MIN_TAKE = 0.02


def detail_ratio(
    frame: np.ndarray, reference: np.ndarray, at: np.ndarray, small: tuple[int, int], where: np.ndarray
) -> np.ndarray:
    """(3,) float32 in [``MIN_DETAIL``, 1]: the frame skin's fine detail over the reference's, per Lab channel.

    ``frame``, ``reference``: (3, N) Lab, the two images at the colour match's ring pixels; ``at``: (N,) their flat
    working pixels at the working size ``small`` (w, h); ``where``: (N,) bool, those where both show skin. Both are
    averaged per working pixel over the ``where`` pixels, each working pixel's mean less the mean of those in its block
    (``_BLOCK`` working pixels across); over the blocks where the frame's lightness does not spread by ``_EDGE_SPREAD``
    or more (and that hold 3 working pixels or more), the median absolute deviation of the frame's over the reference's.
    1 (no change) where fewer than ``MIN_RING_PIXELS`` ring pixels or such working pixels are left, or the reference
    shows no detail."""
    ones = np.ones(3, np.float32)
    idx = np.flatnonzero(where)
    if len(idx) < MIN_RING_PIXELS:
        return ones
    cells, inverse = np.unique(at[idx], return_inverse=True)
    n = len(cells)
    lab = np.concatenate([frame, reference])[:, idx]
    means = np.empty((6, n), np.float32)
    for c in range(6):
        means[c] = np.bincount(inverse, lab[c], minlength=n)
    means /= np.bincount(inverse, minlength=n).astype(np.float32)
    ys, xs = np.divmod(cells, small[0])
    across = -(-small[0] // _BLOCK)
    blocks, block_of = np.unique((ys // _BLOCK) * across + xs // _BLOCK, return_inverse=True)
    b = len(blocks)
    held = np.bincount(block_of, minlength=b).astype(np.float32)
    block_means = np.empty((6, b), np.float32)
    for c in range(6):
        block_means[c] = np.bincount(block_of, means[c], minlength=b)
    block_means /= held
    high = means - block_means[:, block_of]
    limit = _EDGE_SPREAD * _EDGE_SPREAD * held
    calm = (held >= 3) & (np.bincount(block_of, high[0] * high[0], minlength=b) < limit)
    kept = calm[block_of]
    if np.count_nonzero(kept) < MIN_RING_PIXELS:
        return ones
    high = np.ascontiguousarray(high[:, kept])
    spreads = median(np.abs(high - median(high)[:, None]))
    ours, theirs = spreads[:3], spreads[3:]
    ratio = np.where(theirs > 1e-3, ours / np.maximum(theirs, 1e-3), 1.0)
    return np.clip(ratio, MIN_DETAIL, 1.0).astype(np.float32)


def scale_detail(
    new: np.ndarray, lab_small: np.ndarray, small: tuple[int, int], take: np.ndarray, weight: np.ndarray | np.float32
) -> None:
    """Take ``take`` ((3,) per Lab channel, >= 0; under ``_MIN_TAKE``: none) of the reference's fine detail off the
    rebuilt face's Lab ``new`` ((3, w * h) at ``small`` (w, h), changed in place): ``lab_small`` ((3, w * h), the
    reference there) less its mean over a box of ``_APPLY_BOX`` working pixels, where ``weight`` ((w * h,) in [0, 1] or
    a scalar: its skin, not its lips) says."""
    w, h = small
    for c in np.flatnonzero(take >= _MIN_TAKE):
        plane = lab_small[c].reshape(h, w)
        high = cv2.subtract(plane, cv2.boxFilter(plane, -1, (_APPLY_BOX, _APPLY_BOX))).reshape(-1)
        new[c] -= (np.float32(take[c]) * weight) * high
