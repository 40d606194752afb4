"""The reference composite's ``light="skin"`` colour match: the warped reference in the light of the frame's skin.

At a working size, the reference's smooth skin light and the frame's change of light against it, measured on the ring
of visible skin around the mask (the ring's pixels weighed by :mod:`~unmask_video.reconstruct.ring_weights`, the
light's slopes by :mod:`~unmask_video.reconstruct.light_plane`), spread over the face; the reference's shading and
colour variation scaled to the frame skin's (its colour bounded by :mod:`~unmask_video.reconstruct.skin_chroma`), its
highlights compressed, a seam field that meets the frame at the ring; at full size, the reference's detail carried
onto it with bounded gains (:func:`match_skin_light`). On the frames between measured ones the fields of an earlier
frame are reused, moved with the face (:func:`match_skin_light_again`, :mod:`~unmask_video.reconstruct.light_fields`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from unmask_video.order_stats import median, percentile
from unmask_video.reconstruct.face_history import FieldFilter
from unmask_video.reconstruct.lab_pixels import channel_rows, interleaved, to_lab, written
from unmask_video.reconstruct.light_fields import Anchor, LightFields
from unmask_video.reconstruct.light_plane import Across, across_light, across_share, light_plane
from unmask_video.reconstruct.ring_colour import MIN_RING_PIXELS, capped, inliers, near_colour, robust
from unmask_video.reconstruct.ring_weights import (
    BESIDE_COVER,
    SHADE_WEIGHT,
    FrameSkin,
    below_share,
    beside_change,
    frame_light,
    in_own_shade,
    neck_weight,
    shade_strength,
)
from unmask_video.reconstruct.scratch import scratch
from unmask_video.reconstruct.skin_chroma import bounded_chroma, chroma_bound, lip_polygon, mouth_zone, own_colour
from unmask_video.reconstruct.skin_detail import detail_ratio, scale_detail
from unmask_video.reconstruct.skin_grain import FrameGrain, Grain, damp_grain, grain_gains
from unmask_video.reconstruct.smooth_field import at_work_size, resize_covered, spread, spread_dense, work_size


#: With ``light="skin"``: the rebuilt face's L (at the working size) is compressed by ``_HIGHLIGHT_SLOPE`` above the
#: ``_HIGHLIGHT_PERCENTILE`` of the frame's skin around the mask plus ``_HIGHLIGHT_MARGIN`` Lab units: no highlight
#: brighter than the frame's own skin shows.
_HIGHLIGHT_PERCENTILE, _HIGHLIGHT_MARGIN, _HIGHLIGHT_SLOPE = 98.0, 3.0, 0.3
#: With ``light="skin"``: the reference's variation around its smooth skin light is scaled down at most to this
#: fraction (per Lab channel) to match the frame skin's.
_MIN_CONTRAST = 0.3
#: The percentile of the ring pixels' distance to the smooth skin light that the contrast compares (frame against
#: reference): the median, not a higher one, so that the few eyelid, lash or crease pixels the ring takes in do not
#: count as the frame skin's own variation.
_CONTRAST_PERCENTILE = 50
#: The plane is used where the ring's pixels are far: their weight within a Gaussian of this fraction of the region's
#: size is under half its typical value on the ring.
_PLANE_NEAR = 0.1
#: With ``light="skin"``: weight, in the smooth light field, of ring pixels where the frame shows no skin.
_NOT_FRAME_SKIN_WEIGHT = 0.1
#: With ``light="skin"``: the seam field's Gaussian is this many times ``CompositeOptions.seam_sigma``. The light field,
#: built from the frame's skin, leaves more of the step to the seam where the ring shows no skin (a collar, hair or
#: background at the jaw's sides): a seam as narrow as the "ring" light's corrects it at the ring but leaves a step
#: just inside the mask edge.
_SKIN_SEAM_SCALE = 1.5
#: With ``light="skin"``: the per-channel gain that carries the reference's fine detail onto the new light stays
#: within this factor (or its inverse); the rest of the change is an offset (no amplified highlights).
_MAX_DETAIL_GAIN = 1.5
#: With ``light="skin"``: the colour bound (:func:`~unmask_video.reconstruct.skin_chroma.bounded_chroma`) holds fully
#: on reference pixels whose lightness is within the first of these robust spreads of its skin's, and not at all beyond
#: the second.
_SKIN_LIGHTNESS_SPREADS = (2.5, 4.0)
#: The frame's smooth skin colour the colour bound is measured from: its ring's a/b spread with a Gaussian of this
#: fraction of the region's size (the light field's, far wider, would count the change of colour from the cheeks to the
#: neck).
_CHROMA_SIGMA = 0.1
#: With ``light="skin"``: the reference's own smooth skin light is levelled (:meth:`_SkinBase.level`) less as the colour
#: bound's trust rises, not at all from this trust on (the person's own photo with a colour cast: 0.6; a stand-in: 0).
_LEVEL_TRUST = 0.5


def _scratch(name: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """:func:`~unmask_video.reconstruct.scratch.scratch` under the composite's own names (a full-size field used and
    dropped within one call: a fresh array of a face region's size costs a page fault per 4 KiB written)."""
    return scratch(f"composite.{name}", shape, dtype)


@dataclass
class _SkinBase:
    """What ``light="skin"`` takes from the warped reference alone, every frame (:func:`match_skin_light`,
    :func:`match_skin_light_again`), at the working size ``small`` (w, h) of a region of ``shape`` (h, w): the reference
    there (``ref_small``, uint8; ``lab_small``, (3, w * h) Lab), its skin pixels (``skin``, (w * h,) bool) and its
    smooth skin light ``s_ref`` ((3, w * h))."""

    shape: tuple[int, int]
    size: float
    small: tuple[int, int]
    ref_small: np.ndarray
    lab_small: np.ndarray
    skin: np.ndarray
    s_ref: np.ndarray
    #: The smooth skin light's Gaussian, in working pixels.
    sigma: float = 1.0
    #: The reference's light across the face taken out of ``lab_small`` and ``s_ref`` ((3, w * h); None: none):
    #: the ring's reference pixels are read less it (:meth:`flattened`).
    across: np.ndarray | None = None
    #: The scale from the region's pixels to the working size.
    scale: float = 1.0

    @classmethod
    def of(
        cls, ref: np.ndarray, ring: np.ndarray, apply: np.ndarray, skin_stats: tuple[np.ndarray, np.ndarray] | None,
        local_sigma: float, across: Across | None = None,
    ) -> _SkinBase:  # fmt: skip
        rh, rw = ring.shape
        size = 0.5 * (rh + rw)
        small, k = work_size(rh, rw)
        ref_small = resize_covered(ref, small)  # (the warp's black outside what it covers left out)
        lab_small = channel_rows(to_lab(ref_small).reshape(-1, 3))
        # The reference's skin: near the colour of the warped lower face (drops its hair, background, nostrils), only
        # where the reference was warped and is used: the ring and the pixels to correct.
        domain = cv2.resize((ring | apply).view(np.uint8), small, interpolation=cv2.INTER_NEAREST).reshape(-1) > 0
        skin = domain & near_colour(lab_small, skin_stats, 3.0) if skin_stats is not None else domain.copy()
        if np.count_nonzero(skin) < MIN_RING_PIXELS:
            skin = domain if np.count_nonzero(domain) >= MIN_RING_PIXELS else np.ones(len(domain), bool)
        sigma = max(local_sigma * size * k, 1.0)
        # (the light across taken out before the smooth skin light is spread: spread once, not again after it)
        flat = None if across is None else _SkinBase._across_field(lab_small, skin, apply, small, (rh, rw), across)
        if flat is not None:
            lab_small -= flat
        s_ref = spread_dense(lab_small, skin.reshape(small[1], small[0]), sigma)
        return cls((rh, rw), size, small, ref_small, lab_small, skin, s_ref, sigma, flat, k)

    @staticmethod
    def _across_field(
        lab_small: np.ndarray, skin: np.ndarray, apply: np.ndarray, small: tuple[int, int], shape: tuple[int, int],
        across: Across,
    ) -> np.ndarray | None:
        """The share of the reference's light across the face to take out of ``lab_small`` (:func:`across_light`,
        fitted on its ``skin`` where it is pasted, ``apply``; ``shape``: the region's (h, w)), (3, w * h); None: none.
        ``across`` is (share, slope, columns), :data:`~unmask_video.reconstruct.light_plane.Across`: the share in [0, 1]
        and the frame's slope in Lab units per pixel of the region, (3,) each per Lab channel, and the region's columns
        the ring's skin spans."""
        share, slope, columns = across
        if not np.any(share > 0):
            return None
        on = skin & (cv2.resize(apply.view(np.uint8), small, interpolation=cv2.INTER_NEAREST).reshape(-1) > 0)
        k = small[0] / shape[1]
        return across_light(lab_small, on, small, share, slope / k, (float(columns[0]) * k, float(columns[1]) * k))

    def flatten(self, apply: np.ndarray, across: Across) -> None:
        """Replace a share of the reference's light across the face (:meth:`_across_field`) in :attr:`lab_small` and
        :attr:`s_ref` by the frame's (``across``: (share, slope), as there)."""
        flat = self._across_field(self.lab_small, self.skin, apply, self.small, self.shape, across)
        if flat is None:
            return
        self.lab_small -= flat
        self.s_ref = spread_dense(self.lab_small, self.skin.reshape(self.small[1], self.small[0]), self.sigma)
        self.across = flat

    def level(self, apply: np.ndarray, share: np.ndarray) -> None:
        """Take ``share`` ((3,), per Lab channel, in [0, 1]) of the reference's smooth skin light's variation where it
        is pasted (``apply``, its skin there: around their median) out of :attr:`lab_small` and :attr:`s_ref` (its
        detail around that light kept); the ring's reference pixels are read less it (:meth:`flattened`)."""
        if not np.any(share > 0):
            return
        on = cv2.resize(apply.view(np.uint8), self.small, interpolation=cv2.INTER_NEAREST).reshape(-1) > 0
        pasted = self.skin & on
        if np.count_nonzero(pasted) < MIN_RING_PIXELS:
            return
        mid = median(self.s_ref[:, pasted])
        flat = np.asarray(share, np.float32)[:, None] * (self.s_ref - np.asarray(mid, np.float32)[:, None])
        self.lab_small -= flat
        self.s_ref -= flat
        self.across = flat if self.across is None else self.across + flat

    def grain(self, apply: np.ndarray, frame: FrameGrain | None) -> Grain | None:
        """How far the reference's skin bands are scaled down to the ``frame``'s (None: not measured), where it is
        pasted (``apply``): :func:`~unmask_video.reconstruct.skin_grain.grain_gains` and the face's size in working
        pixels; None: nothing to scale."""
        if frame is None:
            return None
        on = cv2.resize(apply.view(np.uint8), self.small, interpolation=cv2.INTER_NEAREST).reshape(-1) > 0
        gains = grain_gains(frame, self.lab_small, self.skin & on, self.small)
        return None if gains is None else (gains, frame.face)

    def flattened(self, ref_ring: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The ring's reference pixels ``ref_ring`` ((3, N) Lab at the working pixels ``at``) less the light across
        the face taken out of the reference (:attr:`across`)."""
        return ref_ring if self.across is None else ref_ring - self.across[:, at]

    def compose(
        self, d: np.ndarray, contrast: np.ndarray, limit: float, trust: float, theirs: np.ndarray | None, knee: float,
        mouth: np.ndarray | None, skin_stats: tuple[np.ndarray, np.ndarray] | None, detail: np.ndarray | None = None,
        lips: np.ndarray | None = None, grain: Grain | None = None,
    ) -> np.ndarray:  # fmt: skip
        """The rebuilt face's Lab at the working size ((3, w * h)), before the seam: ``S_r + c (ref - S_r) + d``, its
        colour variation bounded (:func:`match_skin_light`), its fine detail on the skin, away from the mouth, brought
        down to ``detail`` ((3,) per Lab channel; None: as ``c`` carries it) where ``c`` carries more of it
        (:func:`scale_detail`), or, where ``grain`` is given (:meth:`grain`), its skin's bands brought down to the
        frame's (:func:`damp_grain`) instead, its L compressed above ``knee``."""
        small, lab_small, s_ref = self.small, self.lab_small, self.s_ref
        rh, rw = self.shape
        dev = lab_small - s_ref
        zone = mouth_zone(mouth, small, (rh, rw))
        # (on the reference's skin only, as its lightness tells: not its teeth, nostrils, beard or hair, far lighter or
        # darker; a blush, acne or a tinted shadow is about as light as the skin around it, only redder)
        on_skin = self._skin_weight(skin_stats)
        if grain is not None:
            damp_grain(dev, self.skin, on_skin * (1.0 if zone is None else 1.0 - zone), small, grain[1], grain[0])
        new = s_ref + contrast[:, None] * dev + d
        # The colour variation bounded, except on the lips (the person's colour, lipstick or not): near the mouth (where
        # the warp puts the reference's lips, about where the frame's mouth landmarks are), a colour far stronger than
        # the skin's own variation is kept as the reference shows it.
        chroma = contrast[1:, None] * dev[1:]
        kept = chroma + ((1.0 - trust) * on_skin) * (bounded_chroma(chroma, limit) - chroma)
        lip_weight, strong = own_colour(dev[1:], zone, limit, theirs, on_skin, lip_polygon(lips, small, (rh, rw)))
        if lip_weight is not None:
            kept += lip_weight * (chroma - kept)
        if strong is not None and (contrast[1:] < 1.0).any():
            kept += strong * (dev[1:] - kept)
        new[1:] += kept - chroma
        take = None if detail is None or grain is not None else np.maximum(contrast - detail, 0.0)
        if take is not None and np.any(take > 0):
            scale_detail(new, lab_small, small, take, on_skin if zone is None else on_skin * (1.0 - zone))
        # No highlight brighter than the frame's own skin shows: the reference's (and what the new light adds to them)
        # are compressed above it.
        above = np.maximum(new[0] - knee, 0.0)
        new[0] -= (1.0 - _HIGHLIGHT_SLOPE) * above
        return new

    def _skin_weight(self, skin_stats: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | np.float32:
        """(w * h,) float32 in [0, 1]: how far each working pixel of the reference is its skin by its lightness
        (within ``_SKIN_LIGHTNESS_SPREADS`` of its skin's: not its teeth, nostrils, beard or hair); 1 where
        ``skin_stats`` is None."""
        if skin_stats is None:
            return np.float32(1.0)
        light_spreads = np.abs(self.lab_small[0] - skin_stats[0][0]) * np.float32(1.0 / skin_stats[1][0])
        low, high = _SKIN_LIGHTNESS_SPREADS
        return np.clip((high - light_spreads) * np.float32(1.0 / (high - low)), 0.0, 1.0).astype(np.float32)

    def finish(
        self, new: np.ndarray, ref: np.ndarray, apply: np.ndarray, out: np.ndarray, grain: Grain | None = None
    ) -> None:
        """The full-size reference ``ref`` carried onto the rebuilt face's Lab ``new`` ((3, w * h) at the working
        size), written into ``out`` at the ``apply`` pixels; its detail finer than the working size scaled by the fine
        band's lightness gain of ``grain`` (:meth:`grain`; None: as it is)."""
        small, ref_small = self.small, self.ref_small
        rh, rw = self.shape
        rgb_new = cv2.cvtColor(interleaved(new, small), cv2.COLOR_Lab2RGB) * np.float32(255.0)
        ref_f = ref_small.astype(np.float32)
        gain = np.clip((rgb_new + 1.0) / (ref_f + 1.0), 1.0 / _MAX_DETAIL_GAIN, _MAX_DETAIL_GAIN)
        if grain is not None and grain[0][0, 0] < 1.0:
            gain *= np.float32(grain[0][0, 0])
        offset = rgb_new - gain * ref_f
        # (contiguous 3-channel fields: OpenCV's fast paths)
        # (numpy's uint8 times float32, into the resized gain, is twice as fast as OpenCV's mixed-type multiply)
        corrected = cv2.resize(gain, (rw, rh), dst=_scratch("gain", (rh, rw, 3)), interpolation=cv2.INTER_LINEAR)
        np.multiply(ref, corrected, out=corrected)
        offset = cv2.resize(offset, (rw, rh), dst=_scratch("offset", (rh, rw, 3)), interpolation=cv2.INTER_LINEAR)
        # (summed, rounded and saturated over the whole region, then copied at the ``apply`` pixels: OpenCV's masked add
        # with a type conversion takes a slow path, 1.6x the two passes, for the same numbers)
        total = cv2.add(corrected, offset, dst=_scratch("total", (rh, rw, 3), np.uint8), dtype=cv2.CV_8U)
        written(out, cv2.copyTo(total, apply.view(np.uint8), out))


def _ring_skin(ref_skin: np.ndarray | None, n: int) -> np.ndarray:
    """(n,) bool: the ``n`` ring pixels where the reference shows skin, all of them when that is not known (None)."""
    return np.ones(n, bool) if ref_skin is None else ref_skin


def match_skin_light_again(
    ref: np.ndarray,
    ring: np.ndarray,
    apply: np.ndarray,
    ring_coords: tuple[np.ndarray, np.ndarray],
    tgt_ring: np.ndarray,
    ref_ring: np.ndarray,
    skin_stats: tuple[np.ndarray, np.ndarray] | None,
    seam_keep: np.ndarray,
    fields: LightFields,
    anchor: Anchor,
    local_sigma: float,
    seam_sigma: float,
    out: np.ndarray,
    mouth: np.ndarray | None = None,
    seam_cap: float = 0.0,
    shade: float = 0.0,
    ref_skin: np.ndarray | None = None,
    lips: np.ndarray | None = None,
) -> None:
    """:func:`match_skin_light` (its arguments as there) with the ``fields`` it measured on an earlier frame of the
    face, the face at ``anchor`` in these arrays' pixels now: the reference's own smooth skin light, shading and colour
    and the seam field are this frame's; the light field, moved with the face, the contrast, the colour bound, the
    highlights' knee and the share of the reference's light across replaced that frame's."""
    base = _SkinBase.of(ref, ring, apply, skin_stats, local_sigma, fields.across)
    if fields.level is not None:
        base.level(apply, fields.level)
    d = fields.moved(fields.d, anchor, base.shape, base.small)
    new = base.compose(d, fields.contrast, fields.limit, fields.trust, fields.theirs, fields.knee, mouth, skin_stats,
                       fields.detail, lips, fields.grain)  # fmt: skip
    ys_s, xs_s = at_work_size(ring_coords, base.small, base.shape)
    at = ys_s * base.small[0] + xs_s
    ref_ring = base.flattened(ref_ring, at)
    if shade > 0 and fields.shade > 0:
        skin = _ring_skin(ref_skin, tgt_ring.shape[1])
        lit = frame_light(tgt_ring, seam_keep, ring, ring_coords, max(local_sigma * base.size, 1.0), base.small, at)
        seam_keep = seam_keep & ~in_own_shade(ref_ring, base.s_ref[:, at], tgt_ring, lit, skin, shade)
    _add_seam(new, base, ring, ring_coords, at, tgt_ring, ref_ring, seam_keep, seam_sigma, fields.skin_spread, seam_cap)
    base.finish(new, ref, apply, out, fields.grain)


def match_skin_light(
    ref: np.ndarray,
    ring: np.ndarray,
    apply: np.ndarray,
    ring_coords: tuple[np.ndarray, np.ndarray],
    tgt_ring: np.ndarray,
    ref_ring: np.ndarray,
    not_mask: np.ndarray,
    skin_stats: tuple[np.ndarray, np.ndarray] | None,
    ref_skin: np.ndarray | None,
    colour_keep: np.ndarray,
    seam_keep: np.ndarray,
    far: np.ndarray | None,
    local_sigma: float,
    seam_sigma: float,
    field_filter: Callable[[np.ndarray], np.ndarray] | None,
    out: np.ndarray,
    mouth: np.ndarray | None = None,
    seam_cap: float = 0.0,
    anchor: Anchor | None = None,
    across: float = 0.0,
    shade: float = 0.0,
    neck_gap: float = 0.0,
    beside: Callable[[], tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray] | None] | None = None,
    lips: np.ndarray | None = None,
    level: float = 0.0,
    grain: Callable[[float], FrameGrain | None] | None = None,
) -> LightFields:
    """The reference ``ref`` ((h, w, 3) uint8) in the light of the frame's visible skin (``light="skin"``), written
    into ``out`` ((h, w, 3) uint8, may be a view) at the ``apply`` pixels. Returns what it measured on the ring, for
    :func:`match_skin_light_again` on the face's next frames (``anchor``: where the face is in the arrays' pixels; None:
    its landmarks' mean is not known, the fields are not moved with it).

    At a working size: the reference's smooth skin light ``S_r`` (its skin pixels in the region, spread by normalised
    convolution); on the ring, the frame against the reference pixel by pixel, except where the frame shows skin and
    the reference does not (hair or background beside a frame's cheek), where against ``S_r``; ring pixels where the
    frame shows no skin (not near its colour where both show skin above the mask's middle: a collar, a hood, hair)
    count little. The reference's variation around ``S_r`` is scaled per Lab channel down to what the frame's skin
    shows around its own light on the ring (``_MIN_CONTRAST`` at least: a harsher light's highlights and shadows are
    not carried at full strength), its a/b offsets on the skin bounded by how far the frame's visible skin's colour
    strays from its own smooth colour (:func:`chroma_bound`; not on the lips near the ``mouth``, the frame's
    LIPS_OUTER landmarks in the region's pixels, :func:`own_colour`), the difference is spread inwards (``D``):
    ``S_r + c (ref - S_r) + D``, its L compressed above the frame skin's brightest; plus the seam field (its pull on
    each ring pixel within ``seam_cap`` robust spreads of the frame's skin there, if > 0). Where the ring's light
    across the face is not the reference's, ``across`` of the reference's own is replaced by the frame's first
    (:func:`across_share`, :meth:`_SkinBase.flatten`). Ring pixels where the reference is in a shade the frame does
    not show (its own eye sockets, lids, lashes: :func:`in_own_shade` with the ratio ``shade``; 0: none) weigh
    ``SHADE_WEIGHT`` in ``D`` and are left out of the seam; those below the ``mouth`` less where their change of light
    differs from the face's by more than ``neck_gap`` (:func:`neck_weight`). The frame's skin ``beside`` the mask where
    the warp does not reach (a function that reads it: Lab, its pixels and working pixels, :func:`_beside_pixels`; None
    or giving None: none) counts in ``D``
    and its slope down the face where the ring's skin does not reach below the mask's middle (:func:`beside_change`).
    The reference's fine detail on its skin, away from the mouth, is brought down to the frame skin's where that is
    weaker than ``c`` carries it (:func:`detail_ratio`: both read at the ring pixels where both show skin, averaged per
    working pixel, each less its block's mean, compared where the frame shows no edge; :func:`scale_detail`).
    At full size
    the reference's fine detail is
    carried onto it with a per-channel gain bounded by ``_MAX_DETAIL_GAIN`` and an offset (no amplified highlights).
    ``ring_coords``: the (subsampled) ring pixels ``tgt_ring``/``ref_ring`` ((3, N) Lab) were read at; ``not_mask``
    those that do not look like the mask (:func:`unlike_mask`); ``skin_stats`` the robust colour of the reference's skin
    (the warp inside the hole; None: unknown) and ``ref_skin`` the ring pixels near it; ``seam_keep`` those the
    seam is matched on; ``colour_keep`` those where the reference shows skin and agrees with the frame
    (:func:`inliers`); ``far`` those the statistics may come from (None: all).

    The working-size fields are held as (3, pixels) arrays, each channel contiguous (:func:`channel_rows`).
    """
    rh, rw = ring.shape
    base = _SkinBase.of(ref, ring, apply, skin_stats, local_sigma)
    size, small, skin = base.size, base.small, base.skin
    ys, xs = ring_coords
    ys_s, xs_s = at_work_size(ring_coords, small, (rh, rw))
    at = ys_s * small[0] + xs_s  # the ring pixels' working pixels, as flat indices
    n = len(ys)
    smooth_ring = base.s_ref[:, at]
    ref_skin = _ring_skin(ref_skin, n)
    # The frame's skin: near the colour the frame shows where the reference shows skin and the two agree
    # (``colour_keep``) above the middle of the mask (the cheeks under the eyes, the nose bridge); not a collar, a hood,
    # a beard or hair beside or below the mask.
    frame_skin = np.ones(n, bool)
    rows = np.flatnonzero(ring.any(axis=1))  # (the median of these sorted rows, as np.median gives it)
    mid = 0.5 * (float(rows[(len(rows) - 1) // 2]) + float(rows[len(rows) // 2]))
    sample = colour_keep & (ys < mid)
    if np.count_nonzero(sample) < MIN_RING_PIXELS:
        sample = colour_keep
    skin_test = None
    if np.count_nonzero(sample) >= MIN_RING_PIXELS:
        skin_test = FrameSkin.of(tgt_ring[:, sample])
        frame_skin = skin_test(tgt_ring)
    # The frame is compared with the reference pixel by pixel (so that the same photo in the same light is matched
    # exactly, and hair or background in both still tell how the light changed), except where the frame shows skin
    # and the reference does not (its hair or background beside a frame's cheek): there with its smooth skin light.
    swap = frame_skin & ~ref_skin
    both_top = sample & frame_skin & ref_skin
    if swap.any() and np.count_nonzero(both_top) >= MIN_RING_PIXELS:
        # "Shows skin" is a loose test (brown hair passes it, and a reference in other light fails it): where the
        # frame's pixel, moved by the change the skin under the eyes shows, is nearer the reference's own pixel than
        # its smooth skin light, both show the same thing (hair in both): compared pixel by pixel. Compared with the
        # skin light, a frame's hair read as a shadow and darkened the whole rebuilt face.
        shift = median(tgt_ring[:, both_top] - ref_ring[:, both_top])[:, None]
        idx = np.flatnonzero(swap)
        moved = tgt_ring[:, idx] - shift
        swap[idx] = np.square(moved - smooth_ring[:, idx]).sum(axis=0) < np.square(moved - ref_ring[:, idx]).sum(axis=0)
    at_ring = ref_ring
    if swap.any():
        at_ring = ref_ring.copy()
        at_ring[:, swap] = smooth_ring[:, swap]
    # (nothing swapped: the seam's inliers, found on the same pixels)
    keep = inliers(tgt_ring, at_ring, not_mask)[1] if swap.any() else seam_keep.copy()
    if far is not None and np.count_nonzero(keep & far) >= MIN_RING_PIXELS:
        keep &= far
    if np.count_nonzero(keep) < MIN_RING_PIXELS:
        keep = np.ones(n, bool)
    skin_keep = keep & frame_skin
    # The reference's light across the face, where the ring shows it is not the frame's (:func:`across_share`), is
    # replaced by the frame's.
    share, slope, columns = across_share(tgt_ring, ref_ring, skin_keep & ref_skin, ring_coords)
    base.flatten(apply, (across * share, slope, columns))
    shares = np.zeros(3, np.float32)
    if level > 0:
        # A photo of someone else (or in other light) brings its own light inside the mask: its chin, jaw and cheek
        # edges darker or lighter than the skin its ring shows, by its face's shape under its lamp. As far as its colour
        # strays are not the frame's (``trust``, :func:`chroma_bound`: all of ``level`` at 0, none from
        # ``_LEVEL_TRUST``), ``level`` of that variation is taken out: the rebuilt skin's light is the frame's, read on
        # the ring, its detail the reference's.
        trust0 = chroma_bound(tgt_ring, ref_ring, skin_keep, skin_keep & ref_skin, ring, max(_CHROMA_SIGMA * size, 1.0),
                              small, (ys, xs), at)[1]  # fmt: skip
        shares[:] = level * float(np.clip(1.0 - trust0 / _LEVEL_TRUST, 0.0, 1.0))
        base.level(apply, shares)
    if base.across is not None:
        ref_ring = base.flattened(ref_ring, at)
        smooth_ring = base.s_ref[:, at]
        at_ring = ref_ring.copy()
        at_ring[:, swap] = smooth_ring[:, swap]
    s_ref = base.s_ref
    # Where the frame shows no skin, the pixels count little: where skin is near, its light rules.
    weights = np.where(skin_keep[keep], np.float32(1.0), np.float32(_NOT_FRAME_SKIN_WEIGHT))
    sigma = max(local_sigma * size, 1.0)
    # Where the reference is in its own shade (a stand-in's eye sockets under the frame's lit lower lids), the pixels
    # tell the reference's shading, not the light's change: they count little.
    shaded, strength = None, 0.0
    if shade > 0:
        frame_lit = frame_light(tgt_ring, skin_keep if np.count_nonzero(skin_keep) >= MIN_RING_PIXELS else keep, ring,
                                 ring_coords, sigma, small, at)  # fmt: skip
        # (on ``ref_ring``: ``at_ring`` differs from it only where the reference shows no skin, never in shade)
        shaded = in_own_shade(ref_ring, smooth_ring, tgt_ring, frame_lit, ref_skin, shade)
        strength = shade_strength(shaded[keep])
        weights[shaded[keep]] *= np.float32(1.0 - (1.0 - SHADE_WEIGHT) * strength)
    if neck_gap > 0 and mouth is not None:
        # (the face's change read where the frame shows skin and the reference is not in its own shade)
        usable = skin_keep[keep] if shaded is None or strength <= 0 else skin_keep[keep] & ~shaded[keep]
        neck, factor = neck_weight(tgt_ring[:, keep], at_ring[:, keep], (ys[keep], xs[keep]), usable, mouth, neck_gap)
        weights[neck] *= np.float32(factor)
    # How strong the reference's own shading and colour variation around its smooth skin light may be: as strong as
    # the frame's skin shows around its own, on the ring pixels where both show skin (1 for the same photo in the same
    # light; less where the photo's light is harsher: its highlights and shadows are not the frame's).
    # The light field ``D`` spreads ``frame - (S_r + c (ref - S_r))`` = ``(frame - ref) + (1 - c) (ref - S_r)``: both
    # parts are spread at once (the spread is linear), the first alone is the frame's light around ``S_r``.
    at_kept, smooth_kept = at_ring[:, keep], smooth_ring[:, keep]
    change = tgt_ring[:, keep] - at_kept
    # The change's slope down the face (a light from above or below), measured on the frame's skin in the ring, continues
    # where the ring is far (the spread alone extends the ring's average there: with a photo from elsewhere, whose
    # surroundings beside the jaw are not carried, the ring is the skin above the mask, and the photo's own slope of
    # light stayed on the chin and neck: lp_d0 dark and grey under a relit reference on the quality benchmark).
    coords = (ys[keep], xs[keep])
    plane_w, ref_part, at_all = skin_keep[keep].astype(np.float32), at_kept - smooth_kept, at[keep]
    extra = None
    below = below_share(coords[0][skin_keep[keep]], mid)
    if beside is not None and skin_test is not None and below < BESIDE_COVER:
        # (read only where they can count: the frame's pixels beside the warp, converted)
        pixels = beside()
        if pixels is not None:
            extra = beside_change(pixels, skin_test, s_ref, small, change[:, skin_keep[keep]], below, mid)
    if extra is not None:
        # The frame's skin beside the mask where the warp does not reach (a neck beside a narrower warped neck), where
        # the ring's skin does not reach below the mask's middle: its lightness against the reference's smooth skin
        # light continued there tells the light's change down the face (:func:`beside_change`).
        b_change, b_coords, b_at, b_weight = extra
        coords = (np.concatenate([coords[0], b_coords[0]]), np.concatenate([coords[1], b_coords[1]]))
        change = np.concatenate([change, b_change], axis=1)
        ref_part = np.concatenate([ref_part, np.zeros_like(b_change)], axis=1)
        at_all = np.concatenate([at_all, b_at])
        b_w = np.full(b_change.shape[1], b_weight, np.float32)
        weights, plane_w = np.concatenate([weights, b_w]), np.concatenate([plane_w, b_w])
    plane, at_plane = light_plane(change, coords[0], coords[1], plane_w, (rh, rw), small)
    # (on the reference's skin only, where the slope was measured: a collar or hair beside it, darker or lighter, takes
    # the change the ring shows next to it)
    on_skin_w = cv2.GaussianBlur(skin.reshape(small[1], small[0]).astype(np.float32), (0, 0), 1.5).reshape(-1)
    plane *= on_skin_w
    at_plane *= on_skin_w[at_all]
    parts = spread(np.concatenate([change - at_plane, ref_part, change]), ring, sigma, size=small,
                    coords=coords, weights=weights, planar=True)  # fmt: skip
    # Near the ring's pixels (beside, above and below the mask alike when the ring goes round it) the change as they
    # show it, spread; only far from them (under a mask whose ring shows skin on one side: a photo from elsewhere,
    # whose surroundings beside the jaw are not carried), the plane continued.
    near = spread(np.ones((1, len(coords[0])), np.float32), ring, max(_PLANE_NEAR * size, 1.0), fade=True, size=small,
                   coords=coords, weights=weights, planar=True)[0]  # fmt: skip
    d = parts[6:] + (1.0 - near) * (parts[:3] + plane - parts[6:])
    parts = parts[:6]
    contrast = np.ones(3, np.float32)
    # The reference's skin bands brought down to the frame skin's (``grain``: its bands read at the working scale;
    # None: not read), in place of the ring's fine detail ratio (not measured where they act).
    grains = None if grain is None else base.grain(apply, grain(base.scale))
    # (1 where it cannot be measured or is not used: the same numbers through the temporal filter on every measured
    # frame of the face)
    detail = np.ones(3, np.float32)
    theirs: np.ndarray | None = None
    both = skin_keep & ref_skin
    if np.count_nonzero(both) >= MIN_RING_PIXELS:
        smooth_both = smooth_ring[:, both]
        ref_dev = np.abs(ref_ring[:, both] - smooth_both)
        theirs = percentile(ref_dev, 75)
        typical = percentile(ref_dev, _CONTRAST_PERCENTILE)
        ours = percentile(np.abs(tgt_ring[:, both] - (smooth_both + d[:, at[both]])), _CONTRAST_PERCENTILE)
        contrast = np.clip(ours / np.maximum(typical, 1e-3), _MIN_CONTRAST, 1.0).astype(np.float32)
        d += (1.0 - contrast)[:, None] * parts[3:]
        if grains is None:
            detail = detail_ratio(tgt_ring, ref_ring, at, small, both)
    # How strong the rebuilt skin's colour (a/b) variation around its light may be: as strong as the frame's visible
    # skin shows around its own smooth colour (a robust high percentile on the ring; a blush, acne or a shadow's tint
    # in the reference is the photo's, not the person's now). (The light field is left as it is: spreading from the
    # ring what the bound takes off the ring's reference pixels as well moved the rebuilt skin's mean colour away from
    # the truth's on the quality benchmark.)
    limit, trust = chroma_bound(tgt_ring, ref_ring, skin_keep, both, ring, max(_CHROMA_SIGMA * size, 1.0), small,
                                 (ys, xs), at)  # fmt: skip
    if field_filter is not None:
        # (the contrast is averaged over the face's frames with the field: a per-frame estimate would make the rebuilt
        # skin's shading flicker; the colour bound, a high percentile of a thousand ring pixels, is steadier, and two
        # more constants through the filter cost more than the bound itself)
        d, contrast, detail = _filter_with(field_filter, d, small, contrast, detail)
    # No highlight brighter than the frame's own skin shows (:meth:`_SkinBase.compose`).
    lit = tgt_ring[0, skin_keep if skin_keep.any() else keep]
    knee = float(percentile(lit, _HIGHLIGHT_PERCENTILE)) + _HIGHLIGHT_MARGIN
    new = base.compose(d, contrast, limit, trust, theirs, knee, mouth, skin_stats, detail, lips, grains)
    skin_spread = None
    if seam_cap > 0 and seam_sigma > 0 and seam_keep.any():
        # (the frame's own skin colour variation on the ring: beyond a few times it, a pixel is no skin's)
        skin_px = tgt_ring[:, skin_keep] if np.count_nonzero(skin_keep) >= MIN_RING_PIXELS else tgt_ring[:, keep]
        skin_spread = robust(skin_px)[1]
    # (nor is the seam matched on them: it would lift the rebuilt skin along the mask's edge by the shade's depth)
    if shaded is not None and strength > 0:
        seam_keep = seam_keep & ~shaded
    _add_seam(new, base, ring, (ys, xs), at, tgt_ring, ref_ring, seam_keep, seam_sigma, skin_spread, seam_cap)
    base.finish(new, ref, apply, out, grains)
    if anchor is None:
        anchor = Anchor(np.array([0.5 * (rw - 1), 0.5 * (rh - 1)], np.float32), float(rw))
    return LightFields(d, contrast, limit, trust, theirs, knee, skin_spread, small, (rh, rw), anchor,
                        across=(across * share, slope, columns), shade=strength, detail=detail,
                        level=shares if level > 0 else None, grain=grains)  # fmt: skip


def _add_seam(
    new: np.ndarray, base: _SkinBase, ring: np.ndarray, ring_coords: tuple[np.ndarray, np.ndarray], at: np.ndarray,
    tgt_ring: np.ndarray, ref_ring: np.ndarray, seam_keep: np.ndarray, seam_sigma: float,
    skin_spread: np.ndarray | None, seam_cap: float,
) -> None:  # fmt: skip
    """Add the seam field to the rebuilt face's Lab ``new`` ((3, w * h) at ``base``'s working size, changed in place):
    what still differs between the frame and the rebuilt face on the ``seam_keep`` ring pixels (``tgt_ring``,
    ``ref_ring``: (3, N) Lab at ``ring_coords``, ``at`` their working pixels), each within ``seam_cap`` times the
    frame skin's ``skin_spread`` ((3,); None or ``seam_cap`` 0: not capped), spread inwards
    (:func:`match_skin_light`)."""
    if seam_sigma <= 0 or not seam_keep.any():
        return
    # What the working size does to the reference, read at the seam's ring pixels.
    at_s = at[seam_keep]
    residual = tgt_ring[:, seam_keep] - (ref_ring[:, seam_keep] + (new[:, at_s] - base.lab_small[:, at_s]))
    if skin_spread is not None:
        residual = capped(residual, skin_spread, seam_cap)
    ys, xs = ring_coords
    new += spread(residual, ring, max(_SKIN_SEAM_SCALE * seam_sigma * base.size, 1.0), fade=True, size=base.small,
                   coords=(ys[seam_keep], xs[seam_keep]), planar=True)  # fmt: skip


def _filter_with(
    field_filter: Callable[[np.ndarray], np.ndarray], field: np.ndarray, size: tuple[int, int], constants: np.ndarray,
    held: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``field`` ((3, pixels) at ``size`` (w, h)), ``constants`` ((k,)) and ``held`` ((m,)) through a face's temporal
    field filter: the composite's own (:class:`FieldFilter`) averages the constants as their own channels and the held
    numbers beside its cells (:meth:`FieldFilter.with_held`), any other callable takes both as constant channels beside
    the field."""
    image = interleaved(field, size)
    if isinstance(field_filter, FieldFilter):
        image, constants, held = field_filter.with_held(image, constants, held)
    else:
        k = len(constants)
        extra = np.concatenate([constants, held])
        beside = np.broadcast_to(extra, image.shape[:2] + extra.shape)
        filtered = field_filter(np.concatenate([image, beside], axis=2))
        image = np.ascontiguousarray(filtered[..., :3])
        means = filtered[..., 3:].reshape(-1, len(extra)).mean(axis=0).astype(np.float32)
        constants, held = means[:k], means[k:]
    return channel_rows(image.reshape(-1, 3)), constants, held
