"""The reference composite's colour match: the warped reference brought to the colour of the frame's visible skin.

Statistics of the ring of visible skin just outside the mask (robust: the mask's colour, hair, shadows and hands
dropped, :mod:`~unmask_video.reconstruct.ring_colour`) give a per-channel Lab shift (and spread), a smooth field for
light that changes across the face and a seam field that meets the frame at the ring (``light="ring"``), or the light
of the frame's skin (``light="skin"``, :mod:`~unmask_video.reconstruct.skin_light`): :func:`match_color`.
"""

from __future__ import annotations

import logging
from typing import Callable

import cv2
import numpy as np

from unmask_video.blend import mask_bbox
from unmask_video.mask_pixels import pixels_at
from unmask_video.reconstruct.lab_pixels import channel_rows, from_lab, paste_at, to_lab
from unmask_video.reconstruct.light_fields import LightTrack
from unmask_video.reconstruct.ring_colour import (
    MIN_RING_PIXELS,
    MaskColour,
    capped,
    hole_colours,
    inliers,
    near_colour,
    robust,
    sampled_coords,
    unlike_mask,
)
from unmask_video.reconstruct.skin_light import match_skin_light, match_skin_light_again
from unmask_video.reconstruct.smooth_field import at_work_size, resize_covered, spread, work_size

log = logging.getLogger(__name__)


#: Colour transfer never scales a channel's spread by more than this factor (or its inverse).
_MAX_STD_RATIO = 2.0
#: Per-channel gains of the colour correction stay within this factor (or its inverse).
_MAX_GAIN = 4.0
#: Weight, in the smooth colour field, of ring pixels where the reference shows no skin (hair, background).
_NON_SKIN_WEIGHT = 0.5


def match_color(
    reference: np.ndarray,
    target: np.ndarray,
    ring: np.ndarray,
    apply: np.ndarray,
    local_sigma: float = 0.0,
    transfer_std: bool = False,
    hole: np.ndarray | None = None,
    shift_filter: Callable[[np.ndarray], np.ndarray] | None = None,
    seam_sigma: float = 0.0,
    field_filter: Callable[[np.ndarray], np.ndarray] | None = None,
    out: np.ndarray | None = None,
    stats_ring: np.ndarray | None = None,
    light: str = "ring",
    mouth: np.ndarray | None = None,
    lips: np.ndarray | None = None,
    seam_cap: float = 0.0,
    track: LightTrack | None = None,
    across: float = 0.0,
    shade: float = 0.0,
    neck_gap: float = 0.0,
    beside: Callable[[], np.ndarray | None] | None = None,
    level: float = 0.0,
) -> np.ndarray:
    """Colour-match ``reference`` to ``target`` (both (h, w, 3) uint8 RGB, aligned) on the ``apply`` pixels.

    Per-channel mean transfer in Lab (and std, with ``transfer_std``), with statistics of both
    images over the same ``ring`` pixels ((h, w) bool), outliers dropped (see :func:`inliers`;
    ``hole``, (h, w) bool, is where the target shows the mask, whose colour the ring must not
    have). With ``local_sigma > 0`` a smooth residual offset (the ring's remaining difference,
    spread by normalised convolution with a Gaussian of ``local_sigma`` times the region's size)
    follows lighting that changes across the face. With ``seam_sigma > 0`` what still differs on the
    ring is spread inwards with a Gaussian of ``seam_sigma`` times the region's size, fading away
    from the ring: the corrected reference meets the target at the ring without a step. Returns a
    copy of ``reference`` with the ``apply`` pixels corrected; the rest is unchanged.
    ``shift_filter`` maps the measured Lab mean shift to the one applied, ``field_filter`` the
    (h, w, 3) Lab offset field of the global and local correction to the one applied (temporal
    averages); the seam field follows the frame. ``out`` ((h, w, 3) uint8): write the result into it
    instead (its ``apply`` pixels get the colour-matched reference, or the reference as it is where no match
    can be made; the rest is left alone) and return it. ``stats_ring`` ((h, w) bool, within ``ring``): the
    colour statistics (global shift and smooth field) come from these ring pixels only, the seam from all.
    ``light`` (with ``local_sigma > 0``): "skin" or "ring", see :attr:`CompositeOptions.light` and
    :func:`match_skin_light`. ``mouth``: the frame's LIPS_OUTER landmarks ((K, 2), in the images' pixels), where the
    ``light="skin"`` match looks for the reference's lips (None: nowhere); ``lips``: where the warp put the reference's
    own LIPS_OUTER ((K, 2), the same pixels): the lips' colour is left unbounded only there (None: not known, in all
    the mouth's zone). ``seam_cap`` > 0: the seam's residual on
    each ring pixel is held within that many robust spreads of the frame's skin colour on the ring
    (:attr:`CompositeOptions.seam_cap`). ``track`` (with ``light="skin"``): the face's fields from frame to frame
    (:class:`LightTrack`: reused from an earlier frame if it holds them, else what this frame measured is put in it).
    ``across`` (with ``light="skin"``): the share of the reference's light across the face replaced by the frame's
    (:attr:`CompositeOptions.across`). ``shade`` (with ``light="skin"``): ring pixels where the reference is in a shade
    the frame does not show count little (:attr:`CompositeOptions.ring_shade`, :func:`in_own_shade`; 0: off);
    ``neck_gap`` (with ``light="skin"``): the ring below the mouth counts less where its change of light is not the
    face's (:attr:`CompositeOptions.neck_gap`, :func:`neck_weight`; 0: off). ``beside`` (with ``light="skin"``): gives,
    when the fields are measured, the frame's pixels beside the mask where the warp does not reach ((h, w) bool; None:
    none), whose skin tells the light down the face (:attr:`CompositeOptions.beside`, :func:`beside_change`).
    ``level`` (with ``light="skin"``): the share of the reference's own smooth skin light taken out where its colour
    strays are not the frame's (:attr:`CompositeOptions.level_light`; 0: off).
    """
    fresh = out is None  # (a copy of ``reference``: where no match can be made, there is nothing to paste)
    if out is None:
        out = reference.copy()
    n_ring = int(np.count_nonzero(ring))
    if n_ring < MIN_RING_PIXELS or not apply.any():
        log.debug("colour match skipped: %d ring pixels", n_ring)
        if not fresh:
            paste_at(out, reference, apply)
        return out
    region = mask_bbox(ring | apply, 0, ring.shape)
    assert region is not None
    r = ring[region]
    a = apply[region]
    ref_sub = reference[region]
    skin_light = local_sigma > 0 and light == "skin" and not transfer_std
    origin = np.float32([region[1].start, region[0].start])
    mouth_sub = None if mouth is None else np.asarray(mouth, np.float32) - origin
    lips_sub = None if lips is None else np.asarray(lips, np.float32) - origin
    anchor = None if track is None else track.anchor.shifted(region[1].start, region[0].start)
    reuse = None
    if skin_light and track is not None and track.reuse is not None:
        assert anchor is not None
        reuse = track.reuse if track.reuse.fits(n_ring, anchor, track.tolerance) else None
    ring_ys, ring_xs = sampled_coords(r)
    ref_ring = to_lab(pixels_at(ref_sub, ring_ys, ring_xs))
    tgt_ring = to_lab(pixels_at(target[region], ring_ys, ring_xs))
    ref_c, tgt_c = channel_rows(ref_ring), channel_rows(tgt_ring)  # (the same, (3, N))
    if reuse is not None and track is not None and not track.read_colours:
        # (the mask's colour and the warped reference's skin colour: robust statistics of thousands of pixels, as
        # steady as the fields reused)
        mask_colour, skin_stats = reuse.mask_colour, reuse.skin_stats
    elif reuse is None and skin_light and track is not None and track.held is not None:
        # (not this frame's turn to read them, :attr:`CompositeOptions.reads_in_turn`: the last ones read)
        mask_colour, skin_stats = track.held
    else:
        mask_colour, skin_stats = hole_colours(hole, target, reference)
        if reuse is not None and track is not None:
            track.colours = (mask_colour, skin_stats)
    not_mask = unlike_mask(tgt_c, mask_colour)
    # Where the reference shows skin: near the colour of the warped reference inside the hole.
    ref_skin = None if skin_stats is None else near_colour(ref_c, skin_stats, 3.0)
    keep, seam_keep = inliers(tgt_c, ref_c, not_mask, ref_skin)
    far = None if stats_ring is None else stats_ring[region][ring_ys, ring_xs]
    if far is not None and np.count_nonzero(keep & far) >= MIN_RING_PIXELS:
        keep = keep & far
    if np.count_nonzero(keep) < MIN_RING_PIXELS:
        log.debug("colour match skipped: %d usable ring pixels", np.count_nonzero(keep))
        if not fresh:
            paste_at(out, reference, apply)
        return out
    if skin_light:
        if reuse is not None:
            assert track is not None and anchor is not None
            match_skin_light_again(
                ref_sub, r, a, (ring_ys, ring_xs), tgt_c, ref_c, skin_stats, seam_keep, reuse, anchor, local_sigma,
                seam_sigma, out[region], mouth_sub, seam_cap, shade, ref_skin, lips=lips_sub,
            )
            track.reused = True
            return out
        fields = match_skin_light(
            ref_sub, r, a, (ring_ys, ring_xs), tgt_c, ref_c, not_mask, skin_stats, ref_skin, keep, seam_keep, far,
            local_sigma, seam_sigma, field_filter, out[region], mouth_sub, seam_cap, anchor, across, shade, neck_gap,
            None if beside is None else lambda: _beside_pixels(beside(), region, target, mask_colour), lips=lips_sub,
            level=level,
        )
        if track is not None:
            assert anchor is not None
            fields.ring_px = n_ring / max(anchor.size, 1.0) ** 2
            fields.mask_colour, fields.skin_stats = mask_colour, skin_stats
            track.measured = fields
        return out
    ref_in, tgt_in = ref_ring[keep], tgt_ring[keep]
    mu_r, mu_t = ref_in.mean(axis=0), tgt_in.mean(axis=0)
    rh, rw = r.shape
    size = 0.5 * (rh + rw)
    coords = ring_ys[keep], ring_xs[keep]  # the kept ring pixels, as np.nonzero(r_in) lists them
    r_in = np.zeros_like(r)
    r_in[coords] = True
    seam_coords = ring_ys[seam_keep], ring_xs[seam_keep]  # the ring pixels the seam is matched on
    seam_ref, seam_tgt = ref_ring[seam_keep], tgt_ring[seam_keep]
    # (Except with the local field, the region is converted densely: one contiguous cvtColor, no
    # per-pixel gathers, cheaper than gathering the ``apply`` pixels, which are most of it anyway.)
    ref_lab = to_lab(ref_sub) if transfer_std or local_sigma <= 0 else None
    if transfer_std:
        assert ref_lab is not None
        sd_r, sd_t = ref_in.std(axis=0), tgt_in.std(axis=0)
        ratio = np.clip(sd_t / np.maximum(sd_r, 1e-3), 1.0 / _MAX_STD_RATIO, _MAX_STD_RATIO).astype(np.float32)
        corrected = (ref_lab - mu_r) * ratio + mu_t
        ring_corrected = (ref_in - mu_r) * ratio + mu_t
        if local_sigma > 0:
            corrected += spread((tgt_in - ring_corrected).T, r_in, max(local_sigma * size, 1.0), coords=coords)
    elif local_sigma > 0:
        # The correction is smooth: its fields are built at a working size, and what they do to the
        # reference there (per-channel gains) is applied at full size.
        small = work_size(rh, rw)[0]
        shift = mu_t - mu_r
        # The smooth field, from every ring pixel that agrees, those where the reference shows no skin (hair,
        # background) with a low weight: where skin is near, its colour change rules; where none is, the
        # field still follows the light there.
        field = spread(
            (seam_tgt - (seam_ref + shift)).T, r, max(local_sigma * size, 1.0), shift, size=small, coords=seam_coords,
            weights=np.where(keep[seam_keep], np.float32(1.0), np.float32(_NON_SKIN_WEIGHT)),
        )
        if field_filter is not None:
            field = field_filter(field)
        if seam_sigma > 0:
            at_ring = field[at_work_size(seam_coords, small, (rh, rw))]
            residual = capped((seam_tgt - (seam_ref + at_ring)).T, robust(tgt_c[:, keep])[1], seam_cap)
            field += spread(residual, r, max(seam_sigma * size, 1.0), fade=True, size=small, coords=seam_coords)
        ref_small = resize_covered(ref_sub, small)  # (area by halvings, then bilinear: a plain area resize costs 5x)
        lab_small = to_lab(ref_small) + field
        rgb_small = cv2.cvtColor(lab_small.astype(np.float32), cv2.COLOR_Lab2RGB) * np.float32(255.0)
        ref_small_f = ref_small.astype(np.float32)
        gain = np.clip((rgb_small + 1.0) / (ref_small_f + 1.0), 1.0 / _MAX_GAIN, _MAX_GAIN)
        gain = cv2.resize(gain, (rw, rh), interpolation=cv2.INTER_LINEAR)
        # uint8 times the gain straight to float32 (no float copy of the reference), rounded half up in place.
        corrected_f = cv2.multiply(ref_sub, gain, dtype=cv2.CV_32F)
        corrected_f += np.float32(0.5)
        corrected = np.minimum(corrected_f, 255.0, out=corrected_f).astype(np.uint8)
        paste_at(out[region], corrected, a)
        return out
    else:
        assert ref_lab is not None
        shift = (mu_t - mu_r) if shift_filter is None else shift_filter(mu_t - mu_r)
        corrected = ref_lab + shift
    if seam_sigma > 0:
        residual = capped((seam_tgt - corrected[seam_coords]).T, robust(tgt_c[:, keep])[1], seam_cap)
        corrected += spread(residual, r, max(seam_sigma * size, 1.0), fade=True, coords=seam_coords)
    paste_at(out[region], from_lab(corrected), a)
    return out


def _beside_pixels(
    beside: np.ndarray | None, region: tuple[slice, slice], target: np.ndarray, mask_colour: MaskColour | None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray] | None:
    """The frame's pixels beside the mask that the warp does not reach (``beside``, (h, w) bool; None: none) within
    ``region`` of ``target``, at most ``_MAX_RING_PIXELS`` of them, those that look like the mask (``mask_colour``,
    :func:`unlike_mask`: a fringe the segmentation missed) left out: ((3, M) Lab, (ys, xs) in the region, their flat
    indices at its working size, :func:`work_size`); None: fewer than ``MIN_RING_PIXELS``."""
    if beside is None:
        return None
    sub = beside[region]
    ys, xs = sampled_coords(sub)
    if len(ys) < MIN_RING_PIXELS:
        return None
    lab = channel_rows(to_lab(pixels_at(target[region], ys, xs)))
    keep = unlike_mask(lab, mask_colour)
    lab, ys, xs = lab[:, keep], ys[keep], xs[keep]
    small = work_size(*sub.shape)[0]
    ys_s, xs_s = at_work_size((ys, xs), small, sub.shape)
    return lab, (ys, xs), ys_s * small[0] + xs_s
