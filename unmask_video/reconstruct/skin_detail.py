"""How strong the frame skin's fine detail is against the reference's, at the colour match's working size.

The ``light="skin"`` colour match scales the reference's variation around its smooth skin light by the frame's
(:mod:`~unmask_video.reconstruct.skin_light`); that measure compares each ring pixel with the warp's smooth light, so
the frame's lids, lashes, a neck's or a shirt's edge count as its skin's variation. Here both images are high-passed
over the ring alone (a normalised Gaussian: neither the mask's cloth nor the warp inside the hole enters the frame's
local mean), and only ring pixels where neither shows an edge (the lightness's gradient under ``_EDGE_GRADIENT``) are
compared, by a robust spread (the median absolute deviation) per Lab channel (:func:`detail_ratio`). The reference's
fine detail on its skin is then scaled by that ratio (:func:`scale_detail`), its lips and its light left as they are.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.order_stats import median
from unmask_video.reconstruct.ring_colour import MIN_RING_PIXELS

#: The high-pass's Gaussian, in working pixels: what is finer than it is the skin's detail (freckles, pores in
#: clusters, a tan's blotches), what is broader its light and shading.
_DETAIL_SIGMA = 1.5
#: A working pixel whose lightness changes by more than this (Lab L per working pixel, after a Gaussian of 1) in the
#: frame or in the reference is an edge (a lid, a lash line, the neck's or a collar's edge): not compared.
_EDGE_GRADIENT = 4.0
#: The reference's detail is scaled down at most to this fraction.
MIN_DETAIL = 0.3


def _lightness_gradient(lightness: np.ndarray) -> np.ndarray:
    """(h, w) float32: the magnitude of the slope of an (h, w) float32 lightness, after a Gaussian of one pixel."""
    smooth = cv2.GaussianBlur(lightness, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return cv2.magnitude(gx, gy)


def _high_pass_within(lab: np.ndarray, within: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32: ``lab`` less its Gaussian mean over the ``within`` pixels ((h, w) float32 0/1) only."""
    weight = cv2.GaussianBlur(within, (0, 0), _DETAIL_SIGMA)
    mean = cv2.GaussianBlur(lab * within[..., None], (0, 0), _DETAIL_SIGMA)
    return lab - mean / np.maximum(weight, 1e-3)[..., None]


def detail_ratio(frame_lab: np.ndarray, ref_lab: np.ndarray, ring: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """(3,) float32 in [``MIN_DETAIL``, 1]: the frame skin's fine detail over the reference's, per Lab channel.

    ``frame_lab`` and ``ref_lab``: the two images at the working size ((h, w, 3) float32 Lab); ``ring``: (h, w) bool,
    the ring there; ``pixels``: the flat working pixels where both show skin. Each is high-passed over the ring; on
    the ``pixels`` where neither shows an edge, the median absolute deviation of the frame's over the reference's.
    1 (no change) where fewer than ``MIN_RING_PIXELS`` such pixels are left or the reference shows no detail."""
    pixels = np.unique(pixels)
    within = ring.astype(np.float32)
    calm = (_lightness_gradient(frame_lab[..., 0]).reshape(-1)[pixels] < _EDGE_GRADIENT) & (
        _lightness_gradient(ref_lab[..., 0]).reshape(-1)[pixels] < _EDGE_GRADIENT
    )
    at = pixels[calm]
    if len(at) < MIN_RING_PIXELS:
        return np.ones(3, np.float32)
    spreads = []
    for lab in (frame_lab, ref_lab):
        hp = np.ascontiguousarray(_high_pass_within(lab, within).reshape(-1, 3)[at].T)
        spreads.append(median(np.abs(hp - median(hp)[:, None])))
    ours, theirs = spreads
    ratio = np.where(theirs > 1e-3, ours / np.maximum(theirs, 1e-3), 1.0)
    return np.clip(ratio, MIN_DETAIL, 1.0).astype(np.float32)


def scale_detail(
    new: np.ndarray, lab_small: np.ndarray, small: tuple[int, int], carried: np.ndarray, detail: np.ndarray,
    weight: np.ndarray | np.float32,
) -> None:
    """Bring the reference's fine detail in the rebuilt face's Lab ``new`` ((3, w * h) at ``small`` (w, h), changed in
    place), carried at ``carried`` ((3,): the colour match's contrast) of its strength, down to ``detail`` ((3,),
    :func:`detail_ratio`) where that is less: ``lab_small`` ((3, w * h), the reference there) high-passed, the
    difference of it taken off where ``weight`` ((w * h,) in [0, 1] or a scalar: its skin, not its lips) says."""
    take = np.maximum(carried - detail, 0.0).astype(np.float32)
    if not np.any(take > 0):
        return
    w, h = small
    image = cv2.merge([plane.reshape(h, w) for plane in lab_small])
    hp = image - cv2.GaussianBlur(image, (0, 0), _DETAIL_SIGMA)
    rows = cv2.transpose(np.ascontiguousarray(hp.reshape(-1, 3)))
    new -= (take[:, None] * rows) * weight
