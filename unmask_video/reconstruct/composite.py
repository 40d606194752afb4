"""The reference composite (``--generator none``).

:class:`ReferenceComposite` rebuilds the masked part of a face from the warped reference still:
the reference is colour-matched to the visible skin in a ring just outside the mask, pasted into
the mask (and a little beyond it, so the blend has something to cross-fade), and what the warp
does not cover is inpainted.

The blend back into the frame, which every reconstructor's output goes through, is :mod:`unmask_video.blend`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

from unmask_video.blend import DEFAULT_BLEND_WIDTH_PX
from unmask_video.stages import FaceROI, Image
from unmask_video.warp import face_region

log = logging.getLogger(__name__)

__all__ = ["CompositeOptions", "ReferenceComposite", "match_color"]

#: Colour transfer never scales a channel's spread by more than this factor (or its inverse).
_MAX_STD_RATIO = 2.0
#: Fewer ring pixels than this and the colour statistics are not trusted (no colour match).
_MIN_RING_PIXELS = 30
#: Ring pixels whose colour difference is within this many Lab units of the median are never
#: outliers (a tight ring would otherwise drop ordinary skin texture).
_MIN_OUTLIER_LAB = 8.0


@dataclass
class CompositeOptions:
    """Options of the reference composite."""

    #: Match the warped reference's colour to the visible skin around the mask.
    color_match: bool = True
    #: Width, in pixels, of the ring of visible skin just outside the mask used for the colour statistics.
    ring_px: int = 8
    #: Pixels next to the mask edge skipped by the ring (the segmentation's edge is uncertain).
    ring_gap_px: int = 2
    #: Radius of the Telea inpainting that fills what the warp does not cover.
    inpaint_radius: int = 3
    #: Where the warp does not cover, the inpainting also redoes this many pixels outside the mask
    #: edge, so that a fringe the segmentation missed is not smeared into the hole (the blend then
    #: fades the inpainted fringe in).
    inpaint_grow_px: int = 1
    #: Faces whose mask region (plus reach) is longer than this many pixels are rebuilt at this size and
    #: scaled back up (the blend stays at full size); 0: always at full size. A speed/quality trade: at
    #: 320 the 720p/1080p synthetic clips rebuild 2-3x faster but lose ~1.2-1.5 dB inside the mask (the
    #: Telea fill of what the warp misses is what suffers), hence off by default.
    work_px: int = 0
    #: How far, in pixels, the rebuilt face is continued outside the mask: the blend's reach
    #: (``BlendOptions.width_px``), which :func:`~unmask_video.reconstruct.factory.build_reconstructor` copies here.
    band_px: float = DEFAULT_BLEND_WIDTH_PX
    #: Follow lighting that changes across the face: after the global transfer, add a smooth
    #: offset field interpolated from the ring (normalised convolution), its Gaussian this fraction
    #: of the region's size -- 0 turns it off.
    local_color_sigma: float = 0.35
    #: Also scale each Lab channel's spread (std) to the ring's, not only shift its mean. Off by
    #: default: on real clips it costs 0.5 dB inside the mask (benchmarks/composite_quality.py), as
    #: the ring's spread depends on what the ring covers more than on the lighting.
    transfer_std: bool = False
    #: Weight of the past in an exponential average, over the frames of a face, of the colour shift
    #: applied to the reference (0: every frame uses its own). The shift measured on the ring moves from
    #: frame to frame with the mask edge; averaged, the rebuilt skin flickers less (benchmarks.quality, 7 clips:
    #: TDE 6.31 -> 6.15, PSNR 20.92 -> 20.96 dB) while a lighting change is followed within a few frames.
    color_smoothing: float = 0.8


def _bbox(mask: np.ndarray, margin: int, shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """Slices of the bounding box of ``mask != 0`` grown by ``margin`` and clipped to ``shape``."""
    # Row and column projections: far cheaper than listing every non-zero pixel (cv2.findNonZero).
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    y, h = int(rows[0]), int(rows[-1]) + 1 - int(rows[0])
    x, w = int(cols[0]), int(cols[-1]) + 1 - int(cols[0])
    return (
        slice(max(y - margin, 0), min(y + h + margin, shape[0])),
        slice(max(x - margin, 0), min(x + w + margin, shape[1])),
    )


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB pixels (a pixel list or an image) -> float32 Lab of the same shape (L in [0, 100])."""
    # One row, not one column: OpenCV converts row by row, and a column of N one-pixel rows is ~10x slower.
    px = rgb.reshape(1, -1, 3).astype(np.float32) * np.float32(1.0 / 255.0)
    return cv2.cvtColor(px, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def _from_lab(lab: np.ndarray) -> np.ndarray:
    """(..., 3) float32 Lab -> uint8 RGB of the same shape."""
    rgb = cv2.cvtColor(lab.reshape(1, -1, 3).astype(np.float32, copy=False), cv2.COLOR_Lab2RGB)
    rgb *= 255.0
    rgb += 0.5
    return np.clip(rgb, 0, 255, out=rgb).astype(np.uint8).reshape(lab.shape)


def _spread(values: np.ndarray, where: np.ndarray, sigma: float, bias: np.ndarray | None = None) -> np.ndarray:
    """Normalised convolution: the (N, C) ``values`` known at the ``where`` pixels of an (h, w) grid,
    spread smoothly over the whole grid with a Gaussian of ``sigma`` pixels, plus ``bias`` ((C,), if
    given). Returns (h, w, C) float32."""
    h, w = where.shape
    channels = values.shape[1]
    # The field is smooth by construction: accumulate the known values into cells of f x f pixels
    # (a histogram of the few known pixels, not a pass over the dense grid) and blur those.
    f = max(1, int(sigma // 4))
    sw, sh = max(-(-w // f), 1), max(-(-h // f), 1)
    ys, xs = np.nonzero(where)
    cell = (ys // f) * sw + xs // f
    ws = np.bincount(cell, minlength=sh * sw).astype(np.float32).reshape(sh, sw)
    vs = np.empty((sh, sw, channels), np.float32)
    for c in range(channels):
        vs[..., c] = np.bincount(cell, weights=values[:, c], minlength=sh * sw).reshape(sh, sw)
    ws = cv2.GaussianBlur(ws, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    vs = cv2.GaussianBlur(vs, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    field = vs.reshape(sh, sw, channels) / np.maximum(ws, 1e-6)[..., None]
    if bias is not None:
        field += np.asarray(bias, np.float32)
    return cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, channels)


def _inliers(tgt: np.ndarray, ref: np.ndarray, hole_lab: np.ndarray | None) -> np.ndarray:
    """(N,) bool: the ring pixels that show skin whose colour the reference can be matched to.

    Dropped: pixels that look like the mask (within 3 spreads of the hole's colour: the part of
    the mask the segmentation missed), then pixels whose target-minus-reference difference is far
    from the median difference (hands, hair, shadows, a landmark slip).
    """
    keep = np.ones(len(tgt), bool)
    if hole_lab is not None and len(hole_lab) >= _MIN_RING_PIXELS:
        mu = np.median(hole_lab, axis=0)
        spread = np.maximum(np.percentile(np.abs(hole_lab - mu), 75, axis=0), 3.0)
        like_mask = (((tgt - mu) / spread) ** 2).sum(axis=1) < 9.0
        if np.count_nonzero(~like_mask) >= _MIN_RING_PIXELS:
            keep &= ~like_mask
    d = tgt - ref
    med = np.median(d[keep], axis=0)
    dev = np.sqrt(((d - med) ** 2).sum(axis=1))
    mad = float(np.median(dev[keep]))
    keep &= dev <= max(3.0 * mad, _MIN_OUTLIER_LAB)
    return keep


def match_color(
    reference: np.ndarray,
    target: np.ndarray,
    ring: np.ndarray,
    apply: np.ndarray,
    local_sigma: float = 0.0,
    transfer_std: bool = False,
    hole: np.ndarray | None = None,
    shift_filter: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Colour-match ``reference`` to ``target`` (both (h, w, 3) uint8 RGB, aligned) on the ``apply`` pixels.

    Per-channel mean transfer in Lab (and std, with ``transfer_std``), with statistics of both
    images over the same ``ring`` pixels ((h, w) bool), outliers dropped (see :func:`_inliers`;
    ``hole``, (h, w) bool, is where the target shows the mask, whose colour the ring must not
    have). With ``local_sigma > 0`` a smooth residual offset (the ring's remaining difference,
    spread by normalised convolution with a Gaussian of ``local_sigma`` times the region's size)
    follows lighting that changes across the face. Returns a copy of ``reference`` with the
    ``apply`` pixels corrected; the rest is unchanged. ``shift_filter`` maps the measured Lab mean
    shift to the one applied (a temporal average); the local field still follows the measured one.
    """
    out = reference.copy()
    n_ring = int(np.count_nonzero(ring))
    if n_ring < _MIN_RING_PIXELS or not apply.any():
        log.debug("colour match skipped: %d ring pixels", n_ring)
        return out
    region = _bbox(ring | apply, 0, ring.shape)
    assert region is not None
    r = ring[region]
    a = apply[region]
    ref_sub = reference[region]
    ref_ring = _to_lab(ref_sub[r])
    tgt_ring = _to_lab(target[region][r])
    hole_lab = None
    if hole is not None and hole.any():
        hole_idx = np.flatnonzero(hole)
        hole_idx = hole_idx[:: max(1, len(hole_idx) // 4000)]  # a subsample is enough for its colour spread
        hole_lab = _to_lab(target.reshape(-1, 3)[hole_idx])
    keep = _inliers(tgt_ring, ref_ring, hole_lab)
    if np.count_nonzero(keep) < _MIN_RING_PIXELS:
        log.debug("colour match skipped: %d usable ring pixels", np.count_nonzero(keep))
        return out
    ref_in, tgt_in = ref_ring[keep], tgt_ring[keep]
    mu_r, mu_t = ref_in.mean(axis=0), tgt_in.mean(axis=0)
    shift = (mu_t - mu_r) if shift_filter is None else shift_filter(mu_t - mu_r)
    # The region is converted densely (one contiguous cvtColor, no per-pixel gathers): cheaper than
    # gathering the ``apply`` pixels, which are most of it anyway.
    ref_lab = _to_lab(ref_sub)
    if transfer_std:
        sd_r, sd_t = ref_in.std(axis=0), tgt_in.std(axis=0)
        ratio = np.clip(sd_t / np.maximum(sd_r, 1e-3), 1.0 / _MAX_STD_RATIO, _MAX_STD_RATIO).astype(np.float32)
        corrected = (ref_lab - mu_r) * ratio + mu_t
        ring_corrected = (ref_in - mu_r) * ratio + mu_t
    else:
        corrected = ref_lab
        ring_corrected = ref_in + (mu_t - mu_r)
    if local_sigma > 0:
        rh, rw = r.shape
        sigma = max(float(local_sigma) * 0.5 * (rh + rw), 1.0)
        r_in = np.zeros_like(r)
        r_in[r] = keep
        # The mean shift rides along with the smooth field: one pass over the region for both.
        corrected += _spread(tgt_in - ring_corrected, r_in, sigma, None if transfer_std else shift)
    elif not transfer_std:
        corrected += shift
    np.copyto(out[region], _from_lab(corrected), where=a[..., None])
    return out


class ReferenceComposite:
    """``--generator none``: rebuild the masked part of each face from the warped reference."""

    name = "none"
    provider = "numpy/OpenCV"

    def __init__(self, options: CompositeOptions | None = None) -> None:
        self.options = options or CompositeOptions()
        #: Per face of the last frame: (centre in frame pixels, face size, smoothed colour shift).
        self._shifts: list[tuple[np.ndarray, float, np.ndarray]] = []

    @property
    def reference_reach(self) -> int:
        """How far, in pixels, outside the mask's bounding box this reads ``face.reference``/``face.valid``:
        the pipeline warps only that box (the rest of the face is never looked at)."""
        opts = self.options
        band = max(int(np.ceil(opts.band_px)), 0)
        return max(band, opts.ring_gap_px + opts.ring_px if opts.color_match else 0) + 2

    def warmup(self) -> None:
        """Nothing to load: OpenCV and numpy only."""

    def reconstruct(self, faces: Sequence[FaceROI]) -> list[Image]:
        return [self.reconstruct_one(face) for face in faces]

    def _shift_filter(self, face: FaceROI) -> Callable[[np.ndarray], np.ndarray] | None:
        """The temporal average of this face's colour shift (faces are matched to the last ones by position)."""
        weight = self.options.color_smoothing
        if weight <= 0:
            return None
        centre = face.landmarks.mean(axis=0) + np.array([face.box.x0, face.box.y0], np.float32)
        size = float(np.ptp(face.landmarks[:, 0]))
        distances = [float(np.linalg.norm(e[0] - centre)) for e in self._shifts]
        near = [i for i, d in enumerate(distances) if d < 0.5 * max(size, self._shifts[i][1])]
        previous = self._shifts.pop(min(near, key=distances.__getitem__)) if near else None

        def smooth(measured: np.ndarray) -> np.ndarray:
            shift = measured if previous is None else weight * previous[2] + (1.0 - weight) * measured
            self._shifts.append((centre, size, shift.astype(np.float32)))
            del self._shifts[:-8]  # a few faces at most are followed
            return shift

        return smooth

    def reconstruct_one(self, face: FaceROI) -> Image:
        """The ROI image with the hole (``mask > 0``) and the blend band around it rebuilt."""
        opts = self.options
        image = face.image
        h, w = image.shape[:2]
        out = image.copy()
        hole_full = face.mask > 0
        # Work on the box around the hole and everything within reach of it: the cost follows the mask.
        region = _bbox(hole_full, self.reference_reach, (h, w))
        if region is None:
            return out
        hole = hole_full[region]
        valid = face.valid[region]
        sub_image = image[region]
        reference = face.reference[region]
        lm = face.landmarks - np.array([region[1].start, region[0].start], np.float32)
        sub_out = out[region]
        rh, rw = hole.shape
        scale = opts.work_px / max(rh, rw) if opts.work_px > 0 else 1.0
        shift_filter = self._shift_filter(face)
        if scale >= 1.0:
            rebuilt, changed = self._rebuild(sub_image, hole, valid, reference, lm, 1.0, shift_filter)
            np.copyto(sub_out, rebuilt, where=changed[..., None])
            return out
        # A big face is rebuilt at a working size and scaled back up: the warped reference and the
        # colour fields hold little detail beyond it, and the cost drops with the square of the scale.
        size = (max(int(round(rw * scale)), 1), max(int(round(rh * scale)), 1))
        sx, sy = size[0] / rw, size[1] / rh  # exact, after rounding
        area = cv2.INTER_AREA
        hole_u8 = hole.astype(np.uint8)
        small = self._rebuild(
            cv2.resize(sub_image, size, interpolation=area),
            # a cell with any hole pixel is hole
            (cv2.resize(hole_u8, size, interpolation=area) > 0) | (cv2.resize(hole_u8, size, interpolation=cv2.INTER_NEAREST) > 0),
            cv2.resize(valid.astype(np.float32), size, interpolation=area) >= 0.999,  # every pixel valid
            cv2.resize(reference, size, interpolation=area),
            (lm + 0.5) * np.array([sx, sy], np.float32) - 0.5,  # pixel centres
            min(sx, sy),
            shift_filter,
        )
        rebuilt = cv2.resize(small[0], (rw, rh), interpolation=cv2.INTER_LINEAR)
        changed = cv2.resize(small[1].astype(np.uint8), (rw, rh), interpolation=cv2.INTER_NEAREST) > 0
        np.copyto(sub_out, rebuilt, where=changed[..., None])
        return out

    def _rebuild(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        valid: np.ndarray,
        reference: np.ndarray,
        landmarks: np.ndarray,
        scale: float,
        shift_filter: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rebuild one region (all arrays cropped alike, pixel lengths of the options times ``scale``).

        Returns the region with the hole and its blend band rebuilt, and the (h, w) bool map of the
        pixels that were rebuilt.
        """
        opts = self.options
        # Distance of every pixel to the hole (0 inside): the fill band and the ring are distance bands.
        dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
        # The band the blend cross-fades over is filled too (where the warp is valid); at a working
        # scale one pixel more, so that it still covers the full-size band once scaled back.
        band = max(int(np.ceil(opts.band_px * scale)), 0) + (1 if scale < 1.0 else 0)
        paste = (dist <= band) & valid
        if opts.color_match and opts.ring_px > 0:
            gap, width = opts.ring_gap_px * scale, max(opts.ring_px * scale, 1.5)
            face_u8 = face_region(hole.shape, landmarks)
            ring = (dist > gap) & (dist <= gap + width) & (face_u8 >= 128) & valid
            reference = match_color(
                reference, image, ring, paste, opts.local_color_sigma, opts.transfer_std, hole, shift_filter
            )
        out = image.copy()
        np.copyto(out, reference, where=paste[..., None])
        grow = max(opts.inpaint_grow_px, 0)
        grow = max(grow * scale, 1.0) if grow > 0 else 0.0
        gaps = (dist <= grow) & ~valid
        if gaps.any():
            r = max(int(round(opts.inpaint_radius * scale)), 1)
            where = _bbox(gaps, 2 * r + 2, hole.shape)
            assert where is not None
            patch = np.ascontiguousarray(out[where])
            out[where] = cv2.inpaint(patch, gaps[where].astype(np.uint8), r, cv2.INPAINT_TELEA)
        return out, paste | gaps
