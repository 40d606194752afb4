"""Which ring pixels tell the light, and how much, for the reference composite's ``light="skin"`` match.

The frame's skin on the ring of visible skin around the mask (:class:`FrameSkin`: near its lit skin's colour, not its
hair or a deep shadow); the ring pixels where the reference is in a shade of its own the frame does not show (a
stand-in's eye sockets, lids, lashes: :func:`in_own_shade`, :func:`shade_strength`); a neck whose change of light is
not the face's (:func:`neck_weight`); and the frame's skin beside the mask where the warp does not reach, which tells
the light down the face where the ring does not (:func:`beside_change`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask_video.order_stats import median
from unmask_video.reconstruct.ring_colour import MIN_RING_PIXELS, near_colour, robust
from unmask_video.reconstruct.smooth_field import spread


#: With ``light="skin"``: weight, in the smooth light field, of ring pixels where the reference is in its own shade
#: (:attr:`CompositeOptions.ring_shade`), when they are at least the second of ``_SHADE_SHARE`` of the ring's kept
#: pixels; from the first to the second, 1 to it, and below the first they still count in the seam: a few such pixels (a
#: lash, a lid or a nostril's edge a little off; at most 11 % on the quality benchmark's same-person references, relit
#: or turned, under 2 % on the real clips with the person's own photo or a stand-in lit alike) are the pixel-by-pixel
#: comparison's own noise, which the spread averages out (weighted down, the benchmark's relit rows lost up to 0.15 dB);
#: a stand-in's eye sockets are a fifth of the ring (the grey-mask man: 19-22 %), all one way.
SHADE_WEIGHT = 0.1
_SHADE_SHARE = (0.12, 0.18)
#: With ``light="skin"``: the least weight, in the smooth light field, of the ring's pixels below the mouth whose change
#: of light disagrees with the face's (:attr:`CompositeOptions.neck_gap`).
_NECK_WEIGHT = 0.1
#: With ``light="skin"``: ring pixels further than this many robust spreads from the frame's colour where the
#: reference shows skin are not the frame's skin.
_FRAME_SKIN_SPREADS = 4.0
#: With ``light="skin"``: ring pixels darker than this fraction of the frame's skin's median lightness (under the
#: eyes) are not the frame's skin, whatever the spreads say: hair or a deep shadow beside the jaw, whose colour is
#: skin's only darker (a dark clip's skin spreads, which the hair itself widens, take it in).
_SKIN_LIGHTNESS_FLOOR = 0.6
#: With ``light="skin"`` and :attr:`CompositeOptions.beside`: the frame's pixels beside the mask where the warp does not
#: reach count as its skin no darker than this fraction of the skin's median lightness (a stricter floor than the
#: ring's: there nothing of the reference tells its hair or a shade from skin); they count fully where none of the
#: ring's skin lies below the mask's middle row, and not at all where this share of it does (the ring then tells the
#: light's change down the face itself), and scaled from 0 to 1 as they make up the first to the second of
#: ``_BESIDE_SHARE`` as many pixels as the ring's skin.
_BESIDE_FLOOR = 0.8
BESIDE_COVER = 0.25
_BESIDE_SHARE = (0.2, 0.5)


def _lit_skin(sample: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The ``sample`` skin pixels ((3, M) Lab) without those darker than ``_SKIN_LIGHTNESS_FLOOR`` of its median
    lightness (hair, a deep shadow), as :func:`robust` (median, spread) of the rest (the sample itself if too few
    are left): their spread is skin's own, not widened to take in the hair."""
    lit = sample[:, sample[0] >= _SKIN_LIGHTNESS_FLOOR * float(median(sample[0]))]
    return robust(lit) if lit.shape[1] >= MIN_RING_PIXELS else sample


@dataclass(frozen=True)
class FrameSkin:
    """The frame's skin test: within ``_FRAME_SKIN_SPREADS`` robust spreads of its lit skin sample's colour
    (:func:`_lit_skin`) and no darker than ``_SKIN_LIGHTNESS_FLOOR`` of the sample's median lightness."""

    colour: np.ndarray | tuple[np.ndarray, np.ndarray]
    floor: float

    @classmethod
    def of(cls, sample: np.ndarray) -> FrameSkin:
        """The test from the frame's skin ``sample`` ((3, M) Lab: the ring above the mask's middle)."""
        return cls(_lit_skin(sample), _SKIN_LIGHTNESS_FLOOR * float(median(sample[0])))

    def __call__(self, lab: np.ndarray) -> np.ndarray:
        """(N,) bool: the ``lab`` pixels ((3, N)) that pass."""
        return near_colour(lab, self.colour, _FRAME_SKIN_SPREADS) & (lab[0] >= self.floor)


def below_share(skin_rows: np.ndarray, mid: float) -> float:
    """The share of the ring's skin pixels (their rows ``skin_rows``) below the mask's middle row ``mid`` (0: none)."""
    return float(np.count_nonzero(skin_rows > mid)) / max(len(skin_rows), 1)


def beside_change(
    beside: tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray], skin_test: FrameSkin, s_ref: np.ndarray,
    small: tuple[int, int], ring_change: np.ndarray, below: float, mid: float = -1.0,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray, float] | None:
    """(change, coords, at, weight): the frame's skin beside the mask where the warp does not reach (``beside``: (3, M)
    Lab at its (ys, xs) pixels of the region and their working pixels at ``small``) below the mask's middle row
    ``mid``, that passes the frame's ``skin_test`` and is no darker than ``_BESIDE_FLOOR`` of its skin, its lightness
    less the reference's smooth skin
    light continued there (``s_ref``, (3, w * h)), its a/b the ring skin's median change (``ring_change``, (3, K): the
    reference's skin colour continued onto a neck or an ear is not theirs) plus the reference's colour there scaled by
    the further change of lightness, and their weight in the light field: 1 where none of the ring's skin (the ``K``
    pixels of ``ring_change``) lies below the mask's middle, 0 from ``BESIDE_COVER`` of it (``below``) on, times 0 where
    they are fewer than the first of ``_BESIDE_SHARE`` of the ring's skin pixels, 1 from the second on (a few beside
    a same-place warp's edge tell little). None: too few pixels, or weight 0."""
    lab, (ys, xs), at = beside
    on = skin_test(lab) & (lab[0] >= _BESIDE_FLOOR / _SKIN_LIGHTNESS_FLOOR * skin_test.floor) & (ys > mid)
    low, high = _BESIDE_SHARE
    share = np.count_nonzero(on) / max(ring_change.shape[1], 1)
    weight = (1.0 - min(below / BESIDE_COVER, 1.0)) * float(np.clip((share - low) / (high - low), 0.0, 1.0))
    if weight <= 0 or np.count_nonzero(on) < MIN_RING_PIXELS or ring_change.shape[1] < MIN_RING_PIXELS:
        return None
    change = np.empty((3, np.count_nonzero(on)), np.float32)
    change[0] = lab[0, on] - s_ref[0, at[on]]
    # (a/b: the ring's change, and what the further change of light does to the reference's colour there: a/b scale
    # with L + 16 at a constant chromaticity, a lit skin is as much more coloured as it is lighter)
    further = change[0] - float(median(ring_change[0]))
    change[1:] = median(ring_change[1:])[:, None] + s_ref[1:, at[on]] * (further / (s_ref[0, at[on]] + 16.0))
    return change, (ys[on], xs[on]), at[on], weight


def shade_strength(in_shade: np.ndarray) -> float:
    """How far the ring pixels ``in_shade`` ((K,) bool over the kept ring pixels, :func:`in_own_shade`) are left out, in
    [0, 1]: 0 where they are a small share of them, 1 where a large one (``_SHADE_SHARE``)."""
    low, high = _SHADE_SHARE
    share = np.count_nonzero(in_shade) / max(len(in_shade), 1)
    return float(np.clip((share - low) / (high - low), 0.0, 1.0))


def neck_weight(
    tgt: np.ndarray, ref: np.ndarray, coords: tuple[np.ndarray, np.ndarray], usable: np.ndarray, mouth: np.ndarray,
    gap: float,
) -> tuple[np.ndarray, float]:  # fmt: skip
    """The ring pixels below the mouth ((K,) bool, from the rows of ``coords``, the (rows, columns) of the pixels where
    the frame ``tgt`` and the reference ``ref`` ((3, K) Lab) are read; ``mouth``: the frame's LIPS_OUTER landmarks in
    the same pixels) and their weight in the light field: 1 while their change of light (the median over the ``usable``
    ones, (K,) bool) is within ``gap`` Lab units of the change of those above the mouth, once the part of the
    difference that the face's own trend down the ring explains is taken off (:func:`_unexplained`), falling linearly
    to ``_NECK_WEIGHT`` at twice it (1: too few of either to tell). Only a neck lighter by the change than the face (the
    reference's neck in a shade the frame does not show, as :func:`in_own_shade`) weighs less: a frame's own shade there
    (her hands under her chin) is the frame's light. The change of lightness is compared as a ratio (of
    L + 16, the cube root of luminance's: a light's change scales luminance, so a neck in a shade in both photos changes
    as the face does), in L units at the frame's face; a and b as differences."""
    ys = coords[0]
    neck = ys > float(mouth[:, 1].max())
    face = usable & (ys < float(mouth[:, 1].min()))
    below = usable & neck
    if np.count_nonzero(face) < MIN_RING_PIXELS or np.count_nonzero(below) < MIN_RING_PIXELS:
        return neck, 1.0
    ratio = (tgt[0] + np.float32(16.0)) / np.maximum(ref[0] + np.float32(16.0), np.float32(1.0))
    level = float(median(tgt[0, face])) + 16.0
    change = np.concatenate([ratio[None] * np.float32(level), tgt[1:] - ref[1:]])
    apart = median(change[:, below]) - median(change[:, face])
    apart = _unexplained(apart, change[:, face], (ys[face], coords[1][face]), float(median(ys[below])))
    if apart[0] <= 0:
        return neck, 1.0  # (the frame's neck in a shade the reference does not show: the frame's light, it counts)
    distance = float(np.sqrt(float(np.dot(apart, apart))))
    return neck, 1.0 - (1.0 - _NECK_WEIGHT) * float(np.clip(distance / gap - 1.0, 0.0, 1.0))


def _unexplained(
    apart: np.ndarray, change: np.ndarray, coords: tuple[np.ndarray, np.ndarray], neck_row: float,
) -> np.ndarray:  # fmt: skip
    """(3,) what of the neck's difference in change of light from the face's (``apart``, (3,)) a smooth light does not
    explain: the face's own change ``change`` ((3, F) at its ring pixels' (rows, columns) ``coords``), fitted with a
    plane, continued down from the face's median row to the neck's ``neck_row``, explains ``apart`` per channel as far
    as it goes the same way. A light from above or below (a photo of the same person relit) changes the face's lower
    rows on the way to the neck; a stand-in's neck in its jaw's shadow is a step the face above does not lead to (the
    grey-mask man: his face's change falls towards the mouth, his neck's rises past it)."""
    ys, xs = coords
    y0, x0 = float(median(ys)), float(np.mean(xs))
    scale = max(float(np.ptp(ys)), float(np.ptp(xs)), 1.0)
    design = np.stack([np.ones(len(ys)), (xs - x0) / scale, (ys - y0) / scale], axis=1)
    slope = np.linalg.lstsq(design, change.T.astype(np.float64), rcond=None)[0][2]
    trend = slope * ((neck_row - y0) / scale)
    explained = np.clip(apart, np.minimum(trend, 0.0), np.maximum(trend, 0.0))
    return (apart - explained).astype(np.float32)


def frame_light(
    tgt_ring: np.ndarray, use: np.ndarray, ring: np.ndarray, ring_coords: tuple[np.ndarray, np.ndarray], sigma: float,
    small: tuple[int, int], at: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """(N,) the frame's smooth skin lightness at the ring pixels: the L of its ``use`` pixels (``tgt_ring``, (3, N) Lab
    at ``ring_coords`` in ``ring``), spread with a Gaussian of ``sigma`` pixels, read at their working pixels ``at``
    (at the working size ``small``)."""
    ys, xs = ring_coords
    return spread(tgt_ring[:1, use], ring, sigma, size=small, coords=(ys[use], xs[use]), planar=True)[0, at]


def in_own_shade(
    ref_ring: np.ndarray, smooth_ring: np.ndarray, tgt_ring: np.ndarray, frame_lit: np.ndarray, ref_skin: np.ndarray,
    ratio: float,
) -> np.ndarray:  # fmt: skip
    """(N,) bool: the ring pixels where the reference shows skin (``ref_skin``, (N,) bool: its hair or background beside
    a frame's cheek is no shade) and its colour ``ref_ring`` ((3, N) Lab) is in a shade the frame ``tgt_ring``
    ((3, N)) does not show: its luminance, relative to its smooth skin light's (``smooth_ring``, (3, N)), below
    ``ratio`` times the frame's relative to its own (``frame_lit``, (N,) L, :func:`frame_light`; a frame lighter than
    its light counts as its light). A stand-in's eye sockets, lids or lashes under the frame's lit lower lids are; a
    shade in both is not, however far the two lights differ (luminance, not L: a light's change scales it)."""
    ref_rel = _luminance(ref_ring[0]) / _luminance(smooth_ring[0])
    frame_rel = np.minimum(_luminance(tgt_ring[0]) / _luminance(frame_lit), 1.0)
    return ref_skin & (ref_rel < np.float32(ratio) * frame_rel)


def _luminance(lightness: np.ndarray) -> np.ndarray:
    """CIE relative luminance of Lab lightness (its cube-root branch, at least a little above 0)."""
    return np.power((np.maximum(lightness, 1.0) + np.float32(16.0)) * np.float32(1.0 / 116.0), np.float32(3.0))
