"""The reference composite (``--generator none``).

:class:`ReferenceComposite` rebuilds the masked part of a face from the warped reference still:
the reference (which reaches below the jaw onto the neck, see :mod:`unmask_video.warp`) is
colour-matched to the visible skin in a ring just outside the mask -- robust statistics that drop the
mask's own colour, hair, shadows and hands, a smooth low-frequency field for light that changes across
the face, both averaged over the frames of a face, and a seam field that makes the rebuilt skin meet
the frame's at the mask edge -- then pasted into the mask (and a little beyond it, so the blend has
something to cross-fade); the few pixels the warp does not cover are inpainted (Telea) from what
surrounds them, never from the mask. :meth:`ReferenceComposite.matched_reference` exposes the
colour-matched warp for a generator that corrects the composite.

The blend back into the frame, which every reconstructor's output goes through, is :mod:`unmask_video.blend`.
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass, replace
from typing import Callable, Generic, Sequence, TypeVar

import cv2
import numpy as np

from unmask_video.align import affine_fit, transform_points
from unmask_video.blend import DEFAULT_BLEND_WIDTH, grown_mask_box, mask_bbox
from unmask_video.face_detect import resize
from unmask_video.face_units import FaceLength, face_size_px
from unmask_video.jaw_outline import JawProfile
from unmask_video.landmark_sets import EYES_AND_BROWS, LIPS_OUTER, MOUTH_CORNERS
from unmask_video.order_stats import median, percentile
from unmask_video.reconstruct.cloth_bleed import BleedOptions, bleed_px
from unmask_video.reconstruct.eye_keep import EyeKeepOptions, EyeMaps, eye_maps, keep_frame
from unmask_video.reconstruct.fill_seam import distance_to, feather_into_fill, pieces, rows_cols
from unmask_video.reconstruct.neck_side import fade_neck_side
from unmask_video.reconstruct.outside_fill import OutsideFillOptions, fill_band, fill_on_face
from unmask_video.reconstruct.scratch import scratch
from unmask_video.reference_matte import features
from unmask_video.stages import FaceROI, Image
from unmask_video.warp import yaw

log = logging.getLogger(__name__)

__all__ = ["CompositeOptions", "ReferenceComposite", "match_color"]

#: Colour transfer never scales a channel's spread by more than this factor (or its inverse).
_MAX_STD_RATIO = 2.0
#: At most this many ring pixels are looked at (an even subsample of a bigger ring).
_MAX_RING_PIXELS = 3000
#: Fewer ring pixels than this and the colour statistics are not trusted (no colour match).
_MIN_RING_PIXELS = 30
#: The smooth colour fields are built at most this many pixels across and applied as per-channel gains:
#: no full-size Lab conversion of the region. 96 (was 128): the light field's Gaussian is a third of the region, the
#: reference's detail is carried at full size by the gains; the colour match 0.82-0.95x the CPU, the quality benchmark
#: (20 frames, --relit) within 0.02 dB and 0.01 cast overall, every clip within 0.10 dB, 0.04 cast, 0.06 TDE, the
#: contact sheets alike (benchmarks/README.md, compfast2).
_COLOUR_WORK_PX = 96
#: Per-channel gains of the colour correction stay within this factor (or its inverse).
_MAX_GAIN = 4.0
#: Weight, in the smooth colour field, of ring pixels where the reference shows no skin (hair, background).
_NON_SKIN_WEIGHT = 0.5
#: Ring pixels whose colour difference is within this many Lab units of the median are never
#: outliers (a tight ring would otherwise drop ordinary skin texture).
_MIN_OUTLIER_LAB = 8.0
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
#: With ``light="skin"``: the light's slope down the face (:func:`_light_plane`) is shrunk by a ridge of this times the
#: pixels' weight (in the region's size squared): a ring that hardly spreads in a direction tells no slope along it.
_PLANE_RIDGE = 0.003
#: The plane is used where the ring's pixels are far: their weight within a Gaussian of this fraction of the region's
#: size is under half its typical value on the ring.
_PLANE_NEAR = 0.1
#: The plane reaches beyond the ring's range of it by at most this fraction of that range.
_PLANE_REACH = 2.0
#: With ``light="skin"``: weight, in the smooth light field, of ring pixels where the frame shows no skin.
_NOT_FRAME_SKIN_WEIGHT = 0.1
#: With ``light="skin"``: weight, in the smooth light field, of ring pixels where the reference is in its own shade
#: (:attr:`CompositeOptions.ring_shade`), when they are at least the second of ``_SHADE_SHARE`` of the ring's kept
#: pixels; from the first to the second, 1 to it, and below the first they still count in the seam: a few such pixels (a
#: lash, a lid or a nostril's edge a little off; at most 11 % on the quality benchmark's same-person references, relit
#: or turned, under 2 % on the real clips with the person's own photo or a stand-in lit alike) are the pixel-by-pixel
#: comparison's own noise, which the spread averages out (weighted down, the benchmark's relit rows lost up to 0.15 dB);
#: a stand-in's eye sockets are a fifth of the ring (the grey-mask man: 19-22 %), all one way.
_SHADE_WEIGHT = 0.1
_SHADE_SHARE = (0.12, 0.18)
#: With ``light="skin"``: the least weight, in the smooth light field, of the ring's pixels below the mouth whose change
#: of light disagrees with the face's (:attr:`CompositeOptions.neck_gap`).
_NECK_WEIGHT = 0.1
#: Slopes of lightness across the ring (Lab L units from its left end to its right) below this count as this when the
#: frame's and the reference's are compared (:func:`_across_share`): an even light's small slopes differ at random.
_ACROSS_FLOOR = 8.0
#: With ``light="skin"``: the seam field's Gaussian is this many times ``CompositeOptions.seam_sigma``. The light field,
#: built from the frame's skin, leaves more of the step to the seam where the ring shows no skin (a collar, hair or
#: background at the jaw's sides): a seam as narrow as the "ring" light's corrects it at the ring but leaves a step
#: just inside the mask edge.
_SKIN_SEAM_SCALE = 1.5
#: With ``light="skin"``: the per-channel gain that carries the reference's fine detail onto the new light stays
#: within this factor (or its inverse); the rest of the change is an offset (no amplified highlights).
_MAX_DETAIL_GAIN = 1.5
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
_BESIDE_COVER = 0.25
_BESIDE_SHARE = (0.2, 0.5)
#: With ``light="skin"``: the rebuilt skin's a/b offsets from its smooth light are bounded by this percentile of the
#: frame's skin's own (on the ring, from its smooth colour), at least ``_MIN_CHROMA_LIMIT`` Lab units.
_CHROMA_PERCENTILE, _MIN_CHROMA_LIMIT = 90.0, 2.0
#: The bound leaves a/b offsets up to this fraction of it as they are.
_CHROMA_KNEE = 0.7
#: With ``light="skin"``: the bound holds fully on reference pixels whose lightness is within the first of these
#: robust spreads of its skin's, and not at all beyond the second.
_SKIN_LIGHTNESS_SPREADS = (2.5, 4.0)
#: The bound where none can be measured (no bound).
_NO_CHROMA_BOUND = 1e4
#: The frame's smooth skin colour the bound is measured from: its ring's a/b spread with a Gaussian of this fraction of
#: the region's size (the light field's, far wider, would count the change of colour from the cheeks to the neck).
_CHROMA_SIGMA = 0.1
#: With ``light="skin"``: the lips are looked for this far (times the mouth's width) around the frame's mouth
#: landmarks (the warp carries the reference's mouth rigidly with the face above the mask, not onto FaceMesh's guess
#: under it), and there a colour from the first to the second of ``_LIP_STRENGTH`` times the skin's own variation is
#: the lips' (kept as the reference shows it).
_LIP_REACH = 0.3
_LIP_STRENGTH = (1.5, 3.0)
#: A mask whose median Lab chroma (distance from grey in the a/b plane) is below this is neutral (white, grey,
#: black): its colour cannot be told from pale skin's, only its lack of colour can.
_NEUTRAL_CHROMA = 10.0


@dataclass
class CompositeOptions:
    """Options of the reference composite. Its distances are :class:`~unmask_video.face_units.FaceLength` values:
    pixels on a face of ``face_units.REFERENCE_FACE_PX``, scaled with each face's size, with a floor in pixels.
    The floors are the reference values: on smaller faces the bands keep their pixels (the segmentation's edge
    error is pixels wide whatever the face's size, and narrower bands let more of a missed mask fringe into
    the colour statistics and the seam: benchmarks/README.md), on larger ones they grow."""

    #: Match the warped reference's colour to the visible skin around the mask.
    color_match: bool = True
    #: Width of the ring of visible skin just outside the mask used for the colour statistics.
    ring: FaceLength = FaceLength(8.0, 8.0)
    #: What next to the mask edge the ring skips (the segmentation's edge is uncertain).
    ring_gap: FaceLength = FaceLength(2.0, 2.0)
    #: What next to the mask edge the colour statistics skip (not the seam): the mask's shadow and the light it
    #: throws back darken and tint the skin just around it, which the rebuilt face, unmasked, does not have. The
    #: ring then reaches this far plus ``ring``.
    stats_gap: FaceLength = FaceLength(6.0, 6.0)
    #: The cloth's colour bleeds past a segmented mask's 0.5 line (the hole's edge) for a few pixels (compression's
    #: chroma smear, a fringe the segmentation missed): the ring then starts no nearer the hole than the bleed read from
    #: the frame (:func:`~unmask_video.reconstruct.cloth_bleed.bleed_px`, looked for up to this far) and its statistics
    #: ``stats_gap`` past it, so the hole can follow the cloth without the ring reading its bleed as skin (a pink
    #: mask's made the face pinker: benchmarks/README.md, hardedge). ``FaceLength(0.0)``: off (the gaps from the hole).
    bleed: FaceLength = FaceLength(6.0, 6.0)
    #: The bleed read on each frame is averaged with the face's past (an exponential average, this the past's weight):
    #: the ring does not flicker with the compression's noise.
    bleed_smoothing: float = 0.8
    #: The warped reference is not pasted on the frame's eyes and brows (their landmark outlines grown by this fraction
    #: of the face's size): where the mask's top corner reaches the eye's outer corner, a stand-in reference's own eye
    #: corner, lashes or shade landed under the frame's eye, a grey band there (the real white-mask clip); the hole
    #: there is filled as the skin around it continued (:func:`~unmask_video.reconstruct.outside_fill.fill_on_face`).
    #: The colour ring keeps those pixels (out of the ring too, 0.02 and 0.04 moved the quality benchmark's lp_d0 end to
    #: end by -0.14 / -0.22 dB: benchmarks/README.md). 0: off.
    eye_margin: float = 0.02
    #: On the frame's eyes, off the mask, the frame's own pixels are kept, and near them the reference's pasted pixels
    #: are not continued outwards by the band's fill (:mod:`~unmask_video.reconstruct.eye_keep`): a stand-in's
    #: eye-liner and lashes, pasted in the band beyond a mask whose top edge runs under the eyes, were drawn out as a
    #: grey smear to the temple (the real white-mask clip). ``EyeKeepOptions(reach=0, unsourced=0)``: off.
    eye_keep: EyeKeepOptions = EyeKeepOptions()
    #: Radius of the Telea inpainting that fills what the warp does not cover.
    inpaint_radius: FaceLength = FaceLength(3.0, 3.0)
    #: How what the warp does not cover is filled outside the face's outline (beside the jaw and neck, where the
    #: warp carries only the reference's skin): "surround", a smooth field spread from the frame's pixels just
    #: outside the mask (all of them: hair and background too; never the mask, never the rebuilt skin), its
    #: Gaussian ``fill_sigma`` times the region's size; or "telea", OpenCV's inpainting from everything around the
    #: gap, which smears the rebuilt skin next to it into the hair or background. Inside the outline: Telea.
    fill: str = "surround"
    #: The surround fill's Gaussian, as a fraction of the region's size (a second one 4x wider reaches the middle
    #: of a wide gap).
    fill_sigma: float = 0.03
    #: With the "surround" fill: > 0, each gap pixel takes the colour of the frame's pixel just outside the mask
    #: nearest to it, smoothed by a Gaussian of this fraction of the region's size, instead of the wide field
    #: (which mixes what lies along the mask's edge: a white collar, a dark hood and a wall beside a jaw made one
    #: grey smear; nearest, the collar goes on as a collar and the wall as a wall); 0: the wide field.
    fill_nearest_sigma: float = 0.01
    #: Where the warp does not cover, the inpainting also redoes this much outside the mask edge, so that a
    #: fringe the segmentation missed is not smeared into the hole (the blend then fades the inpainted fringe in).
    inpaint_grow: FaceLength = FaceLength(1.0, 1.0)
    #: Where the warped skin meets the surround fill, its colour is continued this far into the fill and faded into it
    #: (:func:`~unmask_video.reconstruct.fill_seam.feather_into_fill`; 0: a hard step where the reference's matte ends).
    fill_feather: FaceLength = FaceLength(8.0, 3.0)
    #: Faces whose mask region (plus reach) is longer than this many pixels are rebuilt at this size and
    #: scaled back up (the blend stays at full size); 0: always at full size. A speed/quality trade: big
    #: faces rebuild several times faster but lose detail inside the mask (the fill of what the warp
    #: misses suffers most), hence off by default.
    work_px: int = 0
    #: How far the rebuilt face is continued outside the mask: the blend's reach (``BlendOptions.width``; both
    #: default to ``blend.DEFAULT_BLEND_WIDTH``).
    band: FaceLength = DEFAULT_BLEND_WIDTH
    #: Follow lighting that changes across the face: after the global transfer, add a smooth
    #: offset field interpolated from the ring (normalised convolution), its Gaussian this fraction
    #: of the region's size -- 0 turns it off.
    local_color_sigma: float = 0.35
    #: Also scale each Lab channel's spread (std) to the ring's, not only shift its mean. Off by
    #: default: on real clips it loses accuracy inside the mask (benchmarks/composite_quality.py), as
    #: the ring's spread depends on what the ring covers more than on the lighting.
    transfer_std: bool = False
    #: Weight of the past in an exponential average, over the frames of a face, of the colour correction
    #: applied to the reference (the mean shift, and the smooth offset field on a coarse grid over the
    #: region; 0: every frame uses its own). Measured on the ring, they move from frame to frame with
    #: the mask edge; averaged, the rebuilt skin flickers less while a lighting change is followed
    #: (nine tenths of it within about 45 frames, under two seconds at 25 frames per second). Quality benchmark, 20
    #: frames, true mask, with the steady face's registration and hold: 0.9 / 0.95 TDE 4.18 / 4.16, cast 1.42 / 1.39
    #: (its ``speed`` 0.03); 0.95 / 0.97 TDE 4.14 / 4.13, cast 1.41 / 1.39 (``speed`` 0.05; 0.97 would take three
    #: seconds to follow a lamp switched on).
    color_smoothing: float = 0.95
    #: Seam removal: what is left of the difference between the frame and the corrected reference on
    #: the ring, spread inwards with a Gaussian of this fraction of the region's size and fading out
    #: away from the ring (a cheap membrane, as in gradient-domain cloning): the rebuilt skin meets the
    #: frame's at the mask edge without a step. 0 turns it off.
    seam_sigma: float = 0.05
    #: The seam field's pull, per ring pixel and Lab channel, is capped at this many robust spreads of the frame's
    #: visible skin on the ring (its own colour variation, :func:`_robust`): a collar, a hood or a fringe of the mask
    #: at the mask's edge, far from any skin colour, cannot drag the rebuilt skin towards its colour (lp_d12's teal
    #: collar tinted the neck). 0: no cap.
    seam_cap: float = 3.0
    #: Where the rebuilt face's light comes from (with ``local_color_sigma`` > 0): "ring", the difference of the
    #: frame and the reference on the ring spread inwards and applied as per-channel gains (up to 4x: with a photo
    #: taken in other light it carries the photo's highlights and shadows, amplified); or "skin", the frame's
    #: visible skin against the reference's own smooth skin light (its hair or background in the ring does not
    #: count, nor the frame's collar or hair), the reference's highlights and shadows scaled down to the contrast
    #: the frame's skin shows, its colour's strays (a blush, acne) no further than the frame's visible skin's own (not
    #: the lips, found near the mouth's landmarks, nor lipstick), its detail carried with a bounded gain
    #: (:func:`_skin_light`). "skin" looks right on real clips with a photo in other light
    #: and gains with a relit reference on the quality benchmark; it costs 1.0-1.4x "ring" (benchmarks/README.md).
    light: str = "skin"
    #: With ``light="skin"``: where the ring shows that the reference's light across the face is not the frame's (their
    #: slopes of lightness from the ring's left end to its right differ, :func:`_across_share`), up to this share of the
    #: reference's own light across the face (its skin's slope of lightness from one cheek to the other, fitted where
    #: it is pasted) is replaced by the frame's (its slope across the ring) before its light is matched (its colour
    #: across, a blush on one cheek, is left to the colour bound). A stand-in photo lit from one side no longer carries its bright, pale cheek onto a face
    #: lit evenly (nor a colour step at the mask's side edge there); a photo in the frame's own light is left as it
    #: is. 0: never.
    across: float = 1.0
    #: With ``light="skin"``: ring pixels where the warped reference is in a shade the frame does not show there (its
    #: luminance relative to its own smooth skin light's below this fraction of the frame's relative to its own: a
    #: stand-in's eye sockets, lower lids and lashes under the frame's lit lower lids) weigh ``_SHADE_WEIGHT`` in the
    #: light field and are left out of the seam's match (:func:`_in_shade`). They raised the whole rebuilt face's light
    #: and, through the seam, laid a pale band along the mask's top edge (the grey-mask man with a stand-in); a shade in
    #: both (the person's own photo, a face lit alike) still counts. 0: off.
    ring_shade: float = 0.5
    #: With ``light="skin"``: the ring's pixels below the mouth (the neck under the jaw) weigh less in the light field
    #: where the change of light they show (frame minus reference, median over the frame's skin) differs from the one
    #: the ring shows above the mouth (beside the nose, under the eyes) by more than this many Lab units, down to
    #: ``_NECK_WEIGHT`` at twice it (:func:`_neck_weight`), once the part of the difference the face's own change down
    #: the ring leads to is taken off (:func:`_unexplained`). A reference's neck lies in its jaw's shadow in one photo
    #: and is lit in another: with a stand-in in other light, his lit neck against its shaded one lifted the whole
    #: rebuilt lower face (the grey-mask man). A photo of the same person in other light (a light from above or below)
    #: shows a gap too, mostly one the face's trend above the mouth leads to; only a neck lighter by the change than
    #: the face weighs less (a frame's own shade there, her hands under her chin, is the frame's light). 8: the
    #: grey-mask man's stand-in neck is 16-23 apart once the trend is taken off (weighed 0.1 from 16), a same-person
    #: photo relit on the quality benchmark (a gain ramp and a gamma) at most 14; with 4 lp_d11's relit row lost 0.05
    #: cast (benchmarks/README.md, helpers neckside and neckgap). 0: off.
    neck_gap: float = 8.0
    #: With ``light="skin"``: the frame's skin in the colour ring's band where the warp does not reach (a neck or cheek
    #: beside a narrower warped face: a reference from elsewhere) is compared with the reference's smooth skin light
    #: continued there, in the light field and its slope down the face.
    beside: bool = True
    #: With ``light="skin"``: the colour fields measured on the ring (the light field, the contrast, the colour bound
    #: and the highlights' knee: most of the composite's work) are measured afresh on one frame in this many of a face
    #: and reused on the frames between, moved with the face, while it moves less than ``field_reuse_motion``
    #: (:class:`_LightFields`); the reference's own smooth skin light and detail are taken from every frame. 1: every
    #: frame. The fields are smooth and averaged over the frames of a face anyway (``color_smoothing``); on reused
    #: frames that average holds, and the next measured frame weighs the frames it stood for. Quality benchmark, 20
    #: frames, true mask: 2 and 3 as 1 within 0.02 dB on every clip (24.94 dB, cast 0.97 / 0.98, TDE 4.01 / 4.02);
    #: ``benchmarks.composite_speed``: the composite 0.83-0.94x the CPU of 1, colour match 0.73-0.85x; 3 a further
    #: 0.94-1.0x. (Reusing the seam field too moved a frame where a hand left the ring by 7 levels: it is not reused.)
    #: 3 (was 2, issue 14, speed7): overall within 0.01 dB / 0.01 cast / 0.01 TDE of 2, every clip within 0.05 dB.
    field_refresh: int = 3
    #: Reuse only while the face's landmarks moved, on average, less than this fraction of the face's width since the
    #: frame the fields were measured on (a turn, a nod or a fast step is measured afresh).
    field_reuse_motion: float = 0.02
    #: Nor when the ring of visible skin the fields were measured on changed by more than this fraction of its pixels
    #: (relative to the face's size): the warp covers more or less of the neck, a hand or hair crosses it.
    field_reuse_ring: float = 0.1
    #: Carry the last rebuilt region, moved by the face's motion, instead of rebuilding it, on at most ``carry_frames
    #: - 1`` frames in a row of a face (1: rebuild every frame): when one affine map takes the last rebuilt frame's
    #: landmarks to this one's within ``carry_fit`` (a jaw that opens or closes, a turn that one map does not follow:
    #: rebuilt), the carried region covers all but ``carry_missing`` of the inner half of this frame's blend band, and
    #: the frame's skin on the colour ring (blocks of 9 x 9 pixels, past the ring's gap) differs from the last one
    #: carried by the same map by ``carry_change`` grey levels on at most ``carry_missing`` of it (a hand, a shadow, a
    #: light that changes: rebuilt), and this frame's mask lies within ``carry_reach`` of what was rebuilt. The
    #: steadying (:mod:`unmask_video.steady_face`) mixes the past into every frame anyway; a carried 720p face costs
    #: about a fifth of a rebuilt one. The colour fields' temporal averages count the carried frames
    #: (:class:`_MeasuredFields`). Quality benchmark, 20 frames: every clip within 0.05 dB, cast 0.03, TDE +0.06 of 1
    #: (benchmarks/README.md).
    carry_frames: int = 2
    #: Face widths: the largest distance of a landmark from where the affine map puts it.
    carry_fit: float = 0.01
    #: Grey levels (see ``carry_frames``).
    carry_change: float = 16.0
    #: The fraction of the inner blend band, and of the colour ring, that may fail the tests (see ``carry_frames``).
    carry_missing: float = 0.02
    #: Pixels: this frame's mask may reach this far past what was rebuilt (those pixels take the nearest rebuilt one's
    #: colour); further: rebuilt.
    carry_reach: float = 2.5
    #: How the gaps the warp leaves on the face and the blend's band outside the hole are filled with the rebuilt skin
    #: continued (:func:`~unmask_video.reconstruct.outside_fill.fill_on_face`,
    #: :func:`~unmask_video.reconstruct.outside_fill.fill_band`; with ``fill="surround"``).
    outside: OutsideFillOptions = OutsideFillOptions()


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB pixels (a pixel list or an image) -> float32 Lab of the same shape (L in [0, 100])."""
    # One row, not one column: OpenCV converts row by row, and a column of N one-pixel rows is far slower.
    px = rgb.reshape(1, -1, 3).astype(np.float32) * np.float32(1.0 / 255.0)
    return cv2.cvtColor(px, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def _from_lab(lab: np.ndarray) -> np.ndarray:
    """(..., 3) float32 Lab -> uint8 RGB of the same shape."""
    rgb = cv2.cvtColor(lab.reshape(1, -1, 3).astype(np.float32, copy=False), cv2.COLOR_Lab2RGB)
    rgb *= 255.0
    rgb += 0.5
    return np.clip(rgb, 0, 255, out=rgb).astype(np.uint8).reshape(lab.shape)


def _paste(dst: np.ndarray, src: np.ndarray, where: np.ndarray) -> None:
    """``dst[where] = src[where]`` for (h, w, 3) images and an (h, w) bool map, in place (``dst`` may be a
    view). One OpenCV masked copy: numpy's ``copyto(..., where=)`` with a broadcast map is many times slower."""
    mask = where.view(np.uint8) if where.dtype == bool else where.astype(np.uint8)
    _written(dst, cv2.copyTo(np.ascontiguousarray(src), mask, dst))


def _written(dst: np.ndarray, result: np.ndarray) -> None:
    """Make sure ``dst`` holds ``result``, what an OpenCV call given ``dst`` as its output returned: OpenCV writes into
    a view of rows of whole pixels in place (a box of an image), but into a copy where it cannot."""
    if result.__array_interface__["data"][0] != dst.__array_interface__["data"][0]:
        dst[...] = result


def _scratch(name: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """:func:`~unmask_video.reconstruct.scratch.scratch` under the composite's own names (a full-size field used and
    dropped within one call: a fresh array of a face region's size costs a page fault per 4 KiB written)."""
    return scratch(f"composite.{name}", shape, dtype)


def _coords(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of an (h, w) map (same order), listed through the flat index: several times faster."""
    return rows_cols(np.flatnonzero(mask), mask.shape[1])


def _ring_coords(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_coords` of an (h, w) map, evenly subsampled to at most ``_MAX_RING_PIXELS``: a big face's ring carries the
    same statistics and smooth fields at a fraction of the cost."""
    ys, xs = _coords(mask)
    if len(ys) > _MAX_RING_PIXELS:
        step = -(-len(ys) // _MAX_RING_PIXELS)
        ys, xs = ys[::step], xs[::step]
    return ys, xs


def _spread(
    values: np.ndarray,
    where: np.ndarray,
    sigma: float,
    bias: np.ndarray | None = None,
    fade: bool = False,
    size: tuple[int, int] | None = None,
    coords: tuple[np.ndarray, np.ndarray] | None = None,
    weights: np.ndarray | None = None,
    planar: bool = False,
) -> np.ndarray:
    """Normalised convolution: the (C, N) ``values`` (:func:`_channels`) known at the ``where`` pixels of an (h, w)
    grid, spread smoothly over the whole grid with a Gaussian of ``sigma`` pixels, plus ``bias`` ((C,), if
    given). With ``fade``, the field falls to 0 away from the known pixels (beyond about ``sigma``)
    instead of extending their average everywhere. ``weights``: (N,) weights of the known pixels (1 if None). Returns
    (h, w, C) float32, or the field resized to ``size`` ((w, h), a working size) if given; with ``planar``, (C, h * w)
    (each channel contiguous). ``coords``: ``np.nonzero(where)``, if the caller has it."""
    h, w = where.shape
    channels = values.shape[0]
    # The field is smooth by construction: accumulate the known values into cells of f x f pixels
    # (a histogram of the few known pixels, not a pass over the dense grid) and blur those.
    f = max(1, int(sigma // 4))
    sw, sh = max(-(-w // f), 1), max(-(-h // f), 1)
    ys, xs = _coords(where) if coords is None else coords
    cell = (ys // f) * sw + xs // f
    ws = np.bincount(cell, weights=weights, minlength=sh * sw).astype(np.float32).reshape(sh, sw)
    vs = np.empty((sh, sw, channels), np.float32)
    for c in range(channels):
        vs[..., c] = np.bincount(
            cell, weights=values[c] if weights is None else values[c] * weights, minlength=sh * sw
        ).reshape(sh, sw)
    return _spread_cells(ws, vs, sigma / f, bias, fade, size if size is not None else (w, h), planar)


def _spread_dense(planes: np.ndarray, where: np.ndarray, sigma: float) -> np.ndarray:
    """:func:`_spread` of the ``planes`` ((C, h * w), C <= 3: every pixel's values) at the ``where`` pixels ((h, w)
    bool; weight 1), planar, the same field (its cells' sums as OpenCV's area resize of the masked values, padded to
    whole cells, times their area: a dense map's pixels need no list and no histogram)."""
    h, w = where.shape
    channels = planes.shape[0]
    f = max(1, int(sigma // 4))
    sw, sh = max(-(-w // f), 1), max(-(-h // f), 1)
    stack = cv2.merge([*planes.reshape(channels, h, w), np.ones((h, w), np.float32)])
    padded = np.zeros((sh * f, sw * f, channels + 1), np.float32)
    _written(padded[:h, :w], cv2.copyTo(stack, where.view(np.uint8), padded[:h, :w]))
    cells = cv2.resize(padded, (sw, sh), interpolation=cv2.INTER_AREA).reshape(sh, sw, channels + 1)
    cells *= np.float32(f * f)
    return _spread_cells(np.ascontiguousarray(cells[..., channels]), np.ascontiguousarray(cells[..., :channels]),
                         sigma / f, None, False, (w, h), True)  # fmt: skip


def _spread_cells(
    ws: np.ndarray, vs: np.ndarray, sigma: float, bias: np.ndarray | None, fade: bool, size: tuple[int, int],
    planar: bool,
) -> np.ndarray:  # fmt: skip
    """The rest of :func:`_spread` from its cells' weights ``ws`` ((sh, sw)) and weighted sums ``vs`` ((sh, sw, C)),
    ``sigma`` in cells, the field resized to ``size`` (w, h)."""
    sh, sw = ws.shape
    channels = vs.shape[2]
    known = ws > 0
    ws = cv2.GaussianBlur(ws, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    vs = cv2.GaussianBlur(vs, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    floor = 1e-6
    if fade and known.any():
        # Half the weight found on the known cells: the field is exact there and fades where they are far.
        floor = max(0.5 * float(median(ws[known])), 1e-6)
    field = vs.reshape(sh, sw, channels) / np.maximum(ws, floor)[..., None]
    if bias is not None:
        field += np.asarray(bias, np.float32)
    out_w, out_h = size
    field = cv2.resize(field, (out_w, out_h), interpolation=cv2.INTER_LINEAR).reshape(out_h, out_w, channels)
    return _channels(field.reshape(-1, channels)) if planar else field


def _channels(pixels: np.ndarray) -> np.ndarray:
    """(N, C) float32 pixels -> (C, N), each channel contiguous: per-channel statistics and arithmetic with a
    per-channel constant run over contiguous rows (on (N, 3) pixels numpy's inner loops are 3 long). OpenCV's
    transpose: numpy's copy of a transposed (N, 6) array takes twice as long."""
    return cv2.transpose(np.ascontiguousarray(pixels))


def _interleaved(planes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(3, h * w) channel rows -> an (h, w, 3) image, ``size`` (w, h) (one OpenCV merge: numpy's copy of the
    transposed rows takes about ten times as long)."""
    return cv2.merge([plane.reshape(size[1], size[0]) for plane in planes])


def _robust(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median, spread), (3,) each, of the ``sample`` pixels ((3, M) Lab, :func:`_channels`): per channel, the spread
    is the 75th percentile of the distance to the median, at least 3."""
    mu = median(sample)
    spread = np.maximum(percentile(np.abs(sample - mu[:, None]), 75), 3.0)
    return mu.astype(np.float32), spread.astype(np.float32)


def _distance(lab: np.ndarray, sample: np.ndarray | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(N,) squared distance of the ``lab`` pixels ((3, N)) to the ``sample`` pixels' median colour ((3, M) Lab),
    in robust spreads (:func:`_robust`; or ``sample`` is already its (median, spread))."""
    mu, spread = _robust(sample) if isinstance(sample, np.ndarray) else sample
    t = np.square((lab - mu[:, None]) / spread[:, None])
    return (t[0] + t[1]) + t[2]


def _near(lab: np.ndarray, sample: np.ndarray | tuple[np.ndarray, np.ndarray], spreads: float) -> np.ndarray:
    """(N,) bool: the ``lab`` pixels ((3, N)) within ``spreads`` robust spreads of the ``sample`` pixels' median
    colour ((3, M) Lab, or its (median, spread); see :func:`_distance`)."""
    return _distance(lab, sample) < spreads * spreads


#: The mask's colour (:func:`_hole_colours`): its robust median and spread (:func:`_robust`) and its median chroma.
_MaskColour = tuple[np.ndarray, np.ndarray, float]
#: The reference's light across the face replaced by the frame's (:func:`_across_share`): the share, per Lab channel,
#: and the frame's slope across (Lab units per pixel of the region), (3,) each.
_Across = tuple[np.ndarray, np.ndarray]


def _hole_colours(
    hole: np.ndarray | None, target: np.ndarray, reference: np.ndarray
) -> tuple[_MaskColour | None, tuple[np.ndarray, np.ndarray] | None]:
    """(mask colour, skin colour): the colour the frame ``target`` shows in the ``hole`` ((h, w) bool; None: none),
    for :func:`_not_mask`, and the robust colour (:func:`_robust`) of the warped ``reference`` there (where it covers),
    its skin's; None each where too few pixels tell."""
    if hole is None or not hole.any():
        return None, None
    hole_idx = np.flatnonzero(hole)
    hole_idx = hole_idx[:: max(1, len(hole_idx) // 4000)]  # a subsample is enough for its colour spread
    hole_lab = _channels(_to_lab(target.reshape(-1, 3)[hole_idx]))
    mask_colour = None
    if hole_lab.shape[1] >= _MIN_RING_PIXELS:
        mask_colour = (*_robust(hole_lab), float(median(np.hypot(hole_lab[1], hole_lab[2]))))
    # (its median and spread: fewer suffice; not where the warp covers nothing, black, which would pull the median
    # down and widen the spread to take in hair, eyes and shadows)
    ref_hole = reference.reshape(-1, 3)[hole_idx[:: 4]]
    covered = ref_hole[ref_hole.any(axis=1)]
    if len(covered) < _MIN_RING_PIXELS:  # (none at all: OpenCV refuses an empty image)
        return mask_colour, None
    return mask_colour, _robust(_channels(_to_lab(covered)))


def _not_mask(tgt: np.ndarray, mask_colour: _MaskColour | None) -> np.ndarray:
    """(N,) bool: the ``tgt`` ring pixels ((3, N) Lab) that do not look like the mask (within 3 spreads of the
    hole's colour, ``mask_colour`` (:func:`_hole_colours`; None: not known): the part of the mask the segmentation
    missed); all if that would leave fewer than ``_MIN_RING_PIXELS``."""
    keep = np.ones(tgt.shape[1], bool)
    if mask_colour is not None:
        like_mask = _near(tgt, mask_colour[:2], 3.0)
        mask_chroma = mask_colour[2]
        if mask_chroma < _NEUTRAL_CHROMA:
            # A white or grey mask's colour spread takes in pale skin, which is as near it as a fringe of the mask
            # itself (and that fringe, hardly coloured, hardly tints the match): only what is no more colourful
            # than the mask (a grey shirt or background, the mask's own shadows) is the mask's.
            like_mask &= np.hypot(tgt[1], tgt[2]) <= mask_chroma
        if np.count_nonzero(~like_mask) >= _MIN_RING_PIXELS:
            keep &= ~like_mask
    return keep


def _capped(residual: np.ndarray, spread: np.ndarray, cap: float) -> np.ndarray:
    """The (3, N) Lab ``residual`` with each channel held within ``cap`` times that channel's ``spread`` ((3,), the
    frame skin's robust spread) of 0 (``cap`` <= 0: as it is)."""
    if cap <= 0:
        return residual
    bound = (np.float32(cap) * np.asarray(spread, np.float32))[:, None]
    return np.clip(residual, -bound, bound)


def _lit_skin(sample: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The ``sample`` skin pixels ((3, M) Lab) without those darker than ``_SKIN_LIGHTNESS_FLOOR`` of its median
    lightness (hair, a deep shadow), as :func:`_robust` (median, spread) of the rest (the sample itself if too few
    are left): their spread is skin's own, not widened to take in the hair."""
    lit = sample[:, sample[0] >= _SKIN_LIGHTNESS_FLOOR * float(median(sample[0]))]
    return _robust(lit) if lit.shape[1] >= _MIN_RING_PIXELS else sample


def _inliers(
    tgt: np.ndarray, ref: np.ndarray, not_mask: np.ndarray, skin: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(colour, seam): (N,) bool each, the ring pixels (``tgt``, ``ref``: (3, N) Lab) the colour statistics come
    from, and those the seam is matched on.

    Dropped from both: pixels that look like the mask (not in ``not_mask``, :func:`_not_mask`), and pixels whose target-minus-reference
    difference is far from the median difference (hands, hair that moved, shadows, a landmark slip).
    Dropped from the colour statistics only: pixels where the reference does not show skin (further than
    3 spreads from the colour of the warped reference inside the hole, ``skin``: hair, background, the
    dark of a nostril), which look alike in both images and would pull the match towards no change; the
    seam must still meet the frame there (``skin``: where the reference shows skin, None: everywhere). A test that
    would leave fewer than ``_MIN_RING_PIXELS`` is not applied.
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
    return (colour if np.count_nonzero(colour) >= _MIN_RING_PIXELS else seam), seam


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
    seam_cap: float = 0.0,
    track: _LightTrack | None = None,
    across: float = 0.0,
    shade: float = 0.0,
    neck_gap: float = 0.0,
    beside: Callable[[], np.ndarray | None] | None = None,
) -> np.ndarray:
    """Colour-match ``reference`` to ``target`` (both (h, w, 3) uint8 RGB, aligned) on the ``apply`` pixels.

    Per-channel mean transfer in Lab (and std, with ``transfer_std``), with statistics of both
    images over the same ``ring`` pixels ((h, w) bool), outliers dropped (see :func:`_inliers`;
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
    :func:`_skin_light`. ``mouth``: the frame's LIPS_OUTER landmarks ((K, 2), in the images' pixels), where the
    ``light="skin"`` match looks for the reference's lips (None: nowhere). ``seam_cap`` > 0: the seam's residual on
    each ring pixel is held within that many robust spreads of the frame's skin colour on the ring
    (:attr:`CompositeOptions.seam_cap`). ``track`` (with ``light="skin"``): the face's fields from frame to frame
    (:class:`_LightTrack`: reused from an earlier frame if it holds them, else what this frame measured is put in it).
    ``across`` (with ``light="skin"``): the share of the reference's light across the face replaced by the frame's
    (:attr:`CompositeOptions.across`). ``shade`` (with ``light="skin"``): ring pixels where the reference is in a shade
    the frame does not show count little (:attr:`CompositeOptions.ring_shade`, :func:`_in_shade`; 0: off); ``neck_gap``
    (with ``light="skin"``): the ring below the mouth counts less where its change of light is not the face's
    (:attr:`CompositeOptions.neck_gap`, :func:`_neck_weight`; 0: off). ``beside`` (with ``light="skin"``): gives,
    when the fields are measured, the frame's pixels beside the mask where the warp does not reach ((h, w) bool; None:
    none), whose skin tells the light down the face (:attr:`CompositeOptions.beside`, :func:`_beside_change`).
    """
    fresh = out is None  # (a copy of ``reference``: where no match can be made, there is nothing to paste)
    if out is None:
        out = reference.copy()
    n_ring = int(np.count_nonzero(ring))
    if n_ring < _MIN_RING_PIXELS or not apply.any():
        log.debug("colour match skipped: %d ring pixels", n_ring)
        if not fresh:
            _paste(out, reference, apply)
        return out
    region = mask_bbox(ring | apply, 0, ring.shape)
    assert region is not None
    r = ring[region]
    a = apply[region]
    ref_sub = reference[region]
    skin_light = local_sigma > 0 and light == "skin" and not transfer_std
    origin = np.float32([region[1].start, region[0].start])
    mouth_sub = None if mouth is None else np.asarray(mouth, np.float32) - origin
    anchor = None if track is None else track.anchor.shifted(region[1].start, region[0].start)
    reuse = None
    if skin_light and track is not None and track.reuse is not None:
        assert anchor is not None
        reuse = track.reuse if track.reuse.fits(n_ring, anchor, track.tolerance) else None
    ring_ys, ring_xs = _ring_coords(r)
    ref_ring = _to_lab(ref_sub[ring_ys, ring_xs])
    tgt_ring = _to_lab(target[region][ring_ys, ring_xs])
    ref_c, tgt_c = _channels(ref_ring), _channels(tgt_ring)  # (the same, (3, N))
    if reuse is not None:
        # (the mask's colour and the warped reference's skin colour: robust statistics of thousands of pixels, as
        # steady as the fields reused)
        mask_colour, skin_stats = reuse.mask_colour, reuse.skin_stats
    else:
        mask_colour, skin_stats = _hole_colours(hole, target, reference)
    not_mask = _not_mask(tgt_c, mask_colour)
    # Where the reference shows skin: near the colour of the warped reference inside the hole.
    ref_skin = None if skin_stats is None else _near(ref_c, skin_stats, 3.0)
    keep, seam_keep = _inliers(tgt_c, ref_c, not_mask, ref_skin)
    far = None if stats_ring is None else stats_ring[region][ring_ys, ring_xs]
    if far is not None and np.count_nonzero(keep & far) >= _MIN_RING_PIXELS:
        keep = keep & far
    if np.count_nonzero(keep) < _MIN_RING_PIXELS:
        log.debug("colour match skipped: %d usable ring pixels", np.count_nonzero(keep))
        if not fresh:
            _paste(out, reference, apply)
        return out
    if skin_light:
        if reuse is not None:
            assert track is not None and anchor is not None
            _skin_light_again(
                ref_sub, r, a, (ring_ys, ring_xs), tgt_c, ref_c, skin_stats, seam_keep, reuse, anchor, local_sigma,
                seam_sigma, out[region], mouth_sub, seam_cap, shade, ref_skin,
            )
            track.reused = True
            return out
        fields = _skin_light(
            ref_sub, r, a, (ring_ys, ring_xs), tgt_c, ref_c, not_mask, skin_stats, ref_skin, keep, seam_keep, far,
            local_sigma, seam_sigma, field_filter, out[region], mouth_sub, seam_cap, anchor, across, shade, neck_gap,
            None if beside is None else lambda: _beside_pixels(beside(), region, target, mask_colour),
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
    ref_lab = _to_lab(ref_sub) if transfer_std or local_sigma <= 0 else None
    if transfer_std:
        assert ref_lab is not None
        sd_r, sd_t = ref_in.std(axis=0), tgt_in.std(axis=0)
        ratio = np.clip(sd_t / np.maximum(sd_r, 1e-3), 1.0 / _MAX_STD_RATIO, _MAX_STD_RATIO).astype(np.float32)
        corrected = (ref_lab - mu_r) * ratio + mu_t
        ring_corrected = (ref_in - mu_r) * ratio + mu_t
        if local_sigma > 0:
            corrected += _spread((tgt_in - ring_corrected).T, r_in, max(local_sigma * size, 1.0), coords=coords)
    elif local_sigma > 0:
        # The correction is smooth: its fields are built at a working size, and what they do to the
        # reference there (per-channel gains) is applied at full size.
        small = _work_size(rh, rw)[0]
        shift = mu_t - mu_r
        # The smooth field, from every ring pixel that agrees, those where the reference shows no skin (hair,
        # background) with a low weight: where skin is near, its colour change rules; where none is, the
        # field still follows the light there.
        field = _spread(
            (seam_tgt - (seam_ref + shift)).T, r, max(local_sigma * size, 1.0), shift, size=small, coords=seam_coords,
            weights=np.where(keep[seam_keep], np.float32(1.0), np.float32(_NON_SKIN_WEIGHT)),
        )
        if field_filter is not None:
            field = field_filter(field)
        if seam_sigma > 0:
            at_ring = field[_at_work_size(seam_coords, small, (rh, rw))]
            residual = _capped((seam_tgt - (seam_ref + at_ring)).T, _robust(tgt_c[:, keep])[1], seam_cap)
            field += _spread(residual, r, max(seam_sigma * size, 1.0), fade=True, size=small, coords=seam_coords)
        ref_small = _resize_covered(ref_sub, small)  # (area by halvings, then bilinear: a plain area resize costs 5x)
        lab_small = _to_lab(ref_small) + field
        rgb_small = cv2.cvtColor(lab_small.astype(np.float32), cv2.COLOR_Lab2RGB) * np.float32(255.0)
        ref_small_f = ref_small.astype(np.float32)
        gain = np.clip((rgb_small + 1.0) / (ref_small_f + 1.0), 1.0 / _MAX_GAIN, _MAX_GAIN)
        gain = cv2.resize(gain, (rw, rh), interpolation=cv2.INTER_LINEAR)
        # uint8 times the gain straight to float32 (no float copy of the reference), rounded half up in place.
        corrected_f = cv2.multiply(ref_sub, gain, dtype=cv2.CV_32F)
        corrected_f += np.float32(0.5)
        corrected = np.minimum(corrected_f, 255.0, out=corrected_f).astype(np.uint8)
        _paste(out[region], corrected, a)
        return out
    else:
        assert ref_lab is not None
        shift = (mu_t - mu_r) if shift_filter is None else shift_filter(mu_t - mu_r)
        corrected = ref_lab + shift
    if seam_sigma > 0:
        residual = _capped((seam_tgt - corrected[seam_coords]).T, _robust(tgt_c[:, keep])[1], seam_cap)
        corrected += _spread(residual, r, max(seam_sigma * size, 1.0), fade=True, coords=seam_coords)
    _paste(out[region], _from_lab(corrected), a)
    return out


def _beside_pixels(
    beside: np.ndarray | None, region: tuple[slice, slice], target: np.ndarray, mask_colour: _MaskColour | None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray] | None:
    """The frame's pixels beside the mask that the warp does not reach (``beside``, (h, w) bool; None: none) within
    ``region`` of ``target``, at most ``_MAX_RING_PIXELS`` of them, those that look like the mask (``mask_colour``,
    :func:`_not_mask`: a fringe the segmentation missed) left out: ((3, M) Lab, (ys, xs) in the region, their flat
    indices at its working size, :func:`_work_size`); None: fewer than ``_MIN_RING_PIXELS``."""
    if beside is None:
        return None
    sub = beside[region]
    ys, xs = _ring_coords(sub)
    if len(ys) < _MIN_RING_PIXELS:
        return None
    lab = _channels(_to_lab(target[region][ys, xs]))
    keep = _not_mask(lab, mask_colour)
    lab, ys, xs = lab[:, keep], ys[keep], xs[keep]
    small = _work_size(*sub.shape)[0]
    ys_s, xs_s = _at_work_size((ys, xs), small, sub.shape)
    return lab, (ys, xs), ys_s * small[0] + xs_s


def _work_size(h: int, w: int) -> tuple[tuple[int, int], float]:
    """The working size the smooth colour fields of an (h, w) region are built at, (width, height), its longer side
    at most ``_COLOUR_WORK_PX``, and the scale to it."""
    k = min(1.0, _COLOUR_WORK_PX / max(h, w))
    return (max(int(round(w * k)), 1), max(int(round(h * k)), 1)), k


def _at_work_size(
    coords: tuple[np.ndarray, np.ndarray], small: tuple[int, int], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The (ys, xs) pixels of a region of ``shape`` (h, w) as indices into its working size ``small`` (w, h)."""
    ys, xs = coords
    return (np.minimum((ys * (small[1] / shape[0])).astype(np.intp), small[1] - 1),
            np.minimum((xs * (small[0] / shape[1])).astype(np.intp), small[0] - 1))


@dataclass
class _Anchor:
    """Where the face is in the pixels of the arrays given to :func:`match_color`: its landmarks' mean ``centre``
    ((2,) x, y) and its ``size`` (their width), in pixels. Fields measured on one frame are moved to another's by it."""

    centre: np.ndarray
    size: float

    def shifted(self, x0: int, y0: int) -> _Anchor:
        """The same in the pixels of a box of those arrays starting at (``x0``, ``y0``)."""
        return _Anchor(self.centre - np.array([x0, y0], np.float32), self.size)


@dataclass
class _LightFields:
    """What ``light="skin"`` measured on a face's ring in one frame (:func:`_skin_light`), for the next frames of the
    face (:attr:`CompositeOptions.field_refresh`): the light field ``d`` (after the temporal filter), (3, w * h) at the
    working size ``small`` (w, h) of a region of ``shape`` (h, w) in which the face was at ``anchor``; the contrast,
    the colour bound and trust, the reference skin's spread on the ring (``theirs``), the highlight's knee and the
    frame skin's robust spread the seam is capped with (``skin_spread``; None: not capped), the ring's size and the
    colours of the mask and the reference's skin (:func:`_hole_colours`).
    The seam field is measured on every frame (it follows the frame's mask edge)."""

    d: np.ndarray
    contrast: np.ndarray
    limit: float
    trust: float
    theirs: np.ndarray | None
    knee: float
    skin_spread: np.ndarray | None
    small: tuple[int, int]
    shape: tuple[int, int]
    anchor: _Anchor
    #: The ring's pixels, over the face's size squared.
    ring_px: float = 0.0
    #: The mask's colour and the reference skin's (:func:`_hole_colours`).
    mask_colour: _MaskColour | None = None
    skin_stats: tuple[np.ndarray, np.ndarray] | None = None
    #: The share of the reference's light across the face replaced by the frame's, and the frame's (:func:`_across_share`;
    #: None: none).
    across: _Across | None = None
    #: How far the ring pixels in the reference's own shade were left out (:func:`_shade_strength`; > 0: out of the seam
    #: too, on the frames between as well).
    shade: float = 0.0

    def fits(self, ring_px: int, anchor: _Anchor, tolerance: float) -> bool:
        """Whether a frame whose ring holds ``ring_px`` pixels, its face at ``anchor``, has about the ring these
        fields were measured on (its pixels, relative to the face's size, within ``tolerance`` of theirs)."""
        density = ring_px / max(anchor.size, 1.0) ** 2
        return abs(density - self.ring_px) <= tolerance * self.ring_px

    def moved(self, field: np.ndarray, anchor: _Anchor, shape: tuple[int, int], small: tuple[int, int]) -> np.ndarray:
        """One of the fields ((3, w * h) at :attr:`small`) moved with the face to a region of ``shape`` (h, w) where it
        is at ``anchor``, at that region's working size ``small`` (w, h): (3, w' * h'), the edge's values held past
        the edge."""
        scale = self.anchor.size / max(anchor.size, 1e-6)
        m = np.zeros((2, 3), np.float64)
        for axis in range(2):  # x, then y
            n_new, n_old = small[axis], self.small[axis]
            px_new, px_old = shape[1 - axis], self.shape[1 - axis]
            # working pixel -> region pixel -> relative to the face -> the old region's pixel -> its working pixel
            a_new, a_old = px_new / n_new, n_old / px_old
            m[axis, axis] = scale * a_new * a_old
            offset = 0.5 * a_new - 0.5 - float(anchor.centre[axis])
            m[axis, 2] = (float(self.anchor.centre[axis]) + scale * offset + 0.5) * a_old - 0.5
        image = _interleaved(field, self.small)
        moved = cv2.warpAffine(image, m, small, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        return _channels(moved.reshape(-1, 3))


@dataclass
class _LightTrack:
    """One face's ``light="skin"`` fields from frame to frame (:attr:`CompositeOptions.field_refresh`): where the face
    is in the pixels of the arrays given to :func:`match_color` (``anchor``), the fields an earlier frame measured to
    reuse if its ring is about theirs (``tolerance``: :attr:`CompositeOptions.field_reuse_ring`; None: measure them on
    this one), and, set by :func:`match_color`, whether they were reused (``reused``) or what this frame measured
    (``measured``; None: reused, or no colour match could be made)."""

    anchor: _Anchor
    reuse: _LightFields | None = None
    tolerance: float = 0.0
    reused: bool = False
    measured: _LightFields | None = None


@dataclass
class _SkinBase:
    """What ``light="skin"`` takes from the warped reference alone, every frame (:func:`_skin_light`,
    :func:`_skin_light_again`), at the working size ``small`` (w, h) of a region of ``shape`` (h, w): the reference
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

    @classmethod
    def of(
        cls, ref: np.ndarray, ring: np.ndarray, apply: np.ndarray, skin_stats: tuple[np.ndarray, np.ndarray] | None,
        local_sigma: float, across: _Across | None = None,
    ) -> _SkinBase:  # fmt: skip
        rh, rw = ring.shape
        size = 0.5 * (rh + rw)
        small, k = _work_size(rh, rw)
        ref_small = _resize_covered(ref, small)  # (the warp's black outside what it covers left out)
        lab_small = _channels(_to_lab(ref_small).reshape(-1, 3))
        # The reference's skin: near the colour of the warped lower face (drops its hair, background, nostrils), only
        # where the reference was warped and is used: the ring and the pixels to correct.
        domain = cv2.resize((ring | apply).view(np.uint8), small, interpolation=cv2.INTER_NEAREST).reshape(-1) > 0
        skin = domain & _near(lab_small, skin_stats, 3.0) if skin_stats is not None else domain.copy()
        if np.count_nonzero(skin) < _MIN_RING_PIXELS:
            skin = domain if np.count_nonzero(domain) >= _MIN_RING_PIXELS else np.ones(len(domain), bool)
        sigma = max(local_sigma * size * k, 1.0)
        # (the light across taken out before the smooth skin light is spread: spread once, not again after it)
        flat = None if across is None else _SkinBase._across_field(lab_small, skin, apply, small, (rh, rw), across)
        if flat is not None:
            lab_small -= flat
        s_ref = _spread_dense(lab_small, skin.reshape(small[1], small[0]), sigma)
        return cls((rh, rw), size, small, ref_small, lab_small, skin, s_ref, sigma, flat)

    @staticmethod
    def _across_field(
        lab_small: np.ndarray, skin: np.ndarray, apply: np.ndarray, small: tuple[int, int], shape: tuple[int, int],
        across: _Across,
    ) -> np.ndarray | None:
        """The share of the reference's light across the face to take out of ``lab_small`` (:func:`_across_light`,
        fitted on its ``skin`` where it is pasted, ``apply``; ``shape``: the region's (h, w)), (3, w * h); None: none.
        ``across`` is (share, slope), (3,) each per Lab channel, the share in [0, 1] and the frame's slope in Lab units
        per pixel of the region."""
        share, slope = across
        if not np.any(share > 0):
            return None
        on = skin & (cv2.resize(apply.view(np.uint8), small, interpolation=cv2.INTER_NEAREST).reshape(-1) > 0)
        return _across_light(lab_small, on, small, share, slope * (shape[1] / small[0]))

    def flatten(self, apply: np.ndarray, across: _Across) -> None:
        """Replace a share of the reference's light across the face (:meth:`_across_field`) in :attr:`lab_small` and
        :attr:`s_ref` by the frame's (``across``: (share, slope), as there)."""
        flat = self._across_field(self.lab_small, self.skin, apply, self.small, self.shape, across)
        if flat is None:
            return
        self.lab_small -= flat
        self.s_ref = _spread_dense(self.lab_small, self.skin.reshape(self.small[1], self.small[0]), self.sigma)
        self.across = flat

    def flattened(self, ref_ring: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The ring's reference pixels ``ref_ring`` ((3, N) Lab at the working pixels ``at``) less the light across
        the face taken out of the reference (:attr:`across`)."""
        return ref_ring if self.across is None else ref_ring - self.across[:, at]

    def compose(
        self, d: np.ndarray, contrast: np.ndarray, limit: float, trust: float, theirs: np.ndarray | None, knee: float,
        mouth: np.ndarray | None, skin_stats: tuple[np.ndarray, np.ndarray] | None,
    ) -> np.ndarray:  # fmt: skip
        """The rebuilt face's Lab at the working size ((3, w * h)), before the seam: ``S_r + c (ref - S_r) + d``, its
        colour variation bounded (:func:`_skin_light`), its L compressed above ``knee``."""
        small, lab_small, s_ref = self.small, self.lab_small, self.s_ref
        rh, rw = self.shape
        dev = lab_small - s_ref
        new = s_ref + contrast[:, None] * dev + d
        # The colour variation bounded, except on the lips (the person's colour, lipstick or not): near the mouth (where
        # the warp puts the reference's lips, about where the frame's mouth landmarks are), a colour far stronger than
        # the skin's own variation is kept as the reference shows it.
        chroma = contrast[1:, None] * dev[1:]
        # (on the reference's skin only, as its lightness tells: not its teeth, nostrils, beard or hair, far lighter or
        # darker; a blush, acne or a tinted shadow is about as light as the skin around it, only redder)
        on_skin: np.ndarray | np.float32 = np.float32(1.0)
        if skin_stats is not None:
            light_spreads = np.abs(lab_small[0] - skin_stats[0][0]) * np.float32(1.0 / skin_stats[1][0])
            low, high = _SKIN_LIGHTNESS_SPREADS
            on_skin = np.clip((high - light_spreads) * np.float32(1.0 / (high - low)), 0.0, 1.0).astype(np.float32)
        kept = chroma + ((1.0 - trust) * on_skin) * (_bounded_chroma(chroma, limit) - chroma)
        lips, strong = _own_colour(dev[1:], mouth, small, (rh, rw), limit, theirs, on_skin)
        if lips is not None:
            kept += lips * (chroma - kept)
        if strong is not None and (contrast[1:] < 1.0).any():
            kept += strong * (dev[1:] - kept)
        new[1:] += kept - chroma
        # No highlight brighter than the frame's own skin shows: the reference's (and what the new light adds to them)
        # are compressed above it.
        above = np.maximum(new[0] - knee, 0.0)
        new[0] -= (1.0 - _HIGHLIGHT_SLOPE) * above
        return new

    def finish(self, new: np.ndarray, ref: np.ndarray, apply: np.ndarray, out: np.ndarray) -> None:
        """The full-size reference ``ref`` carried onto the rebuilt face's Lab ``new`` ((3, w * h) at the working
        size), written into ``out`` at the ``apply`` pixels."""
        small, ref_small = self.small, self.ref_small
        rh, rw = self.shape
        rgb_new = cv2.cvtColor(_interleaved(new, small), cv2.COLOR_Lab2RGB) * np.float32(255.0)
        ref_f = ref_small.astype(np.float32)
        gain = np.clip((rgb_new + 1.0) / (ref_f + 1.0), 1.0 / _MAX_DETAIL_GAIN, _MAX_DETAIL_GAIN)
        offset = rgb_new - gain * ref_f
        # (contiguous 3-channel fields: OpenCV's fast paths)
        # (numpy's uint8 times float32, into the resized gain, is twice as fast as OpenCV's mixed-type multiply)
        corrected = cv2.resize(gain, (rw, rh), dst=_scratch("gain", (rh, rw, 3)), interpolation=cv2.INTER_LINEAR)
        np.multiply(ref, corrected, out=corrected)
        offset = cv2.resize(offset, (rw, rh), dst=_scratch("offset", (rh, rw, 3)), interpolation=cv2.INTER_LINEAR)
        # (summed, rounded and saturated over the whole region, then copied at the ``apply`` pixels: OpenCV's masked add
        # with a type conversion takes a slow path, 1.6x the two passes, for the same numbers)
        total = cv2.add(corrected, offset, dst=_scratch("total", (rh, rw, 3), np.uint8), dtype=cv2.CV_8U)
        _written(out, cv2.copyTo(total, apply.view(np.uint8), out))


def _ring_skin(ref_skin: np.ndarray | None, n: int) -> np.ndarray:
    """(n,) bool: the ``n`` ring pixels where the reference shows skin, all of them when that is not known (None)."""
    return np.ones(n, bool) if ref_skin is None else ref_skin


def _skin_light_again(
    ref: np.ndarray,
    ring: np.ndarray,
    apply: np.ndarray,
    ring_coords: tuple[np.ndarray, np.ndarray],
    tgt_ring: np.ndarray,
    ref_ring: np.ndarray,
    skin_stats: tuple[np.ndarray, np.ndarray] | None,
    seam_keep: np.ndarray,
    fields: _LightFields,
    anchor: _Anchor,
    local_sigma: float,
    seam_sigma: float,
    out: np.ndarray,
    mouth: np.ndarray | None = None,
    seam_cap: float = 0.0,
    shade: float = 0.0,
    ref_skin: np.ndarray | None = None,
) -> None:
    """:func:`_skin_light` (its arguments as there) with the ``fields`` it measured on an earlier frame of the face,
    the face at ``anchor`` in these arrays' pixels now: the reference's own smooth skin light, shading and colour and
    the seam field are this frame's; the light field, moved with the face, the contrast, the colour bound, the
    highlights' knee and the share of the reference's light across replaced that frame's."""
    base = _SkinBase.of(ref, ring, apply, skin_stats, local_sigma, fields.across)
    d = fields.moved(fields.d, anchor, base.shape, base.small)
    new = base.compose(d, fields.contrast, fields.limit, fields.trust, fields.theirs, fields.knee, mouth, skin_stats)
    ys_s, xs_s = _at_work_size(ring_coords, base.small, base.shape)
    at = ys_s * base.small[0] + xs_s
    ref_ring = base.flattened(ref_ring, at)
    if shade > 0 and fields.shade > 0:
        skin = _ring_skin(ref_skin, tgt_ring.shape[1])
        lit = _frame_light(tgt_ring, seam_keep, ring, ring_coords, max(local_sigma * base.size, 1.0), base.small, at)
        seam_keep = seam_keep & ~_in_shade(ref_ring, base.s_ref[:, at], tgt_ring, lit, skin, shade)
    _add_seam(new, base, ring, ring_coords, at, tgt_ring, ref_ring, seam_keep, seam_sigma, fields.skin_spread, seam_cap)
    base.finish(new, ref, apply, out)


def _skin_light(
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
    anchor: _Anchor | None = None,
    across: float = 0.0,
    shade: float = 0.0,
    neck_gap: float = 0.0,
    beside: Callable[[], tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray] | None] | None = None,
) -> _LightFields:
    """The reference ``ref`` ((h, w, 3) uint8) in the light of the frame's visible skin (``light="skin"``), written
    into ``out`` ((h, w, 3) uint8, may be a view) at the ``apply`` pixels. Returns what it measured on the ring, for
    :func:`_skin_light_again` on the face's next frames (``anchor``: where the face is in the arrays' pixels; None:
    its landmarks' mean is not known, the fields are not moved with it).

    At a working size: the reference's smooth skin light ``S_r`` (its skin pixels in the region, spread by normalised
    convolution); on the ring, the frame against the reference pixel by pixel, except where the frame shows skin and
    the reference does not (hair or background beside a frame's cheek), where against ``S_r``; ring pixels where the
    frame shows no skin (not near its colour where both show skin above the mask's middle: a collar, a hood, hair)
    count little. The reference's variation around ``S_r`` is scaled per Lab channel down to what the frame's skin
    shows around its own light on the ring (``_MIN_CONTRAST`` at least: a harsher light's highlights and shadows are
    not carried at full strength), its a/b offsets on the skin bounded by how far the frame's visible skin's colour
    strays from its own smooth colour (:func:`_chroma_bound`; not on the lips near the ``mouth``, the frame's
    LIPS_OUTER landmarks in the region's pixels, :func:`_own_colour`), the difference is spread inwards (``D``):
    ``S_r + c (ref - S_r) + D``, its L compressed above the frame skin's brightest; plus the seam field (its pull on
    each ring pixel within ``seam_cap`` robust spreads of the frame's skin there, if > 0). Where the ring's light
    across the face is not the reference's, ``across`` of the reference's own is replaced by the frame's first
    (:func:`_across_share`, :meth:`_SkinBase.flatten`). Ring pixels where the reference is in a shade the frame does
    not show (its own eye sockets, lids, lashes: :func:`_in_shade` with the ratio ``shade``; 0: none) weigh
    ``_SHADE_WEIGHT`` in ``D`` and are left out of the seam; those below the ``mouth`` less where their change of light
    differs from the face's by more than ``neck_gap`` (:func:`_neck_weight`). The frame's skin ``beside`` the mask where
    the warp does not reach (a function that reads it: Lab, its pixels and working pixels, :func:`_beside_pixels`; None
    or giving None: none) counts in ``D``
    and its slope down the face where the ring's skin does not reach below the mask's middle (:func:`_beside_change`).
    At full size
    the reference's fine detail is
    carried onto it with a per-channel gain bounded by ``_MAX_DETAIL_GAIN`` and an offset (no amplified highlights).
    ``ring_coords``: the (subsampled) ring pixels ``tgt_ring``/``ref_ring`` ((3, N) Lab) were read at; ``not_mask``
    those that do not look like the mask (:func:`_not_mask`); ``skin_stats`` the robust colour of the reference's skin
    (the warp inside the hole; None: unknown) and ``ref_skin`` the ring pixels near it; ``seam_keep`` those the
    seam is matched on; ``colour_keep`` those where the reference shows skin and agrees with the frame
    (:func:`_inliers`); ``far`` those the statistics may come from (None: all).

    The working-size fields are held as (3, pixels) arrays, each channel contiguous (:func:`_channels`).
    """
    rh, rw = ring.shape
    base = _SkinBase.of(ref, ring, apply, skin_stats, local_sigma)
    size, small, skin = base.size, base.small, base.skin
    ys, xs = ring_coords
    ys_s, xs_s = _at_work_size(ring_coords, small, (rh, rw))
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
    if np.count_nonzero(sample) < _MIN_RING_PIXELS:
        sample = colour_keep
    skin_test = None
    if np.count_nonzero(sample) >= _MIN_RING_PIXELS:
        skin_test = _FrameSkin.of(tgt_ring[:, sample])
        frame_skin = skin_test(tgt_ring)
    # The frame is compared with the reference pixel by pixel (so that the same photo in the same light is matched
    # exactly, and hair or background in both still tell how the light changed), except where the frame shows skin
    # and the reference does not (its hair or background beside a frame's cheek): there with its smooth skin light.
    swap = frame_skin & ~ref_skin
    both_top = sample & frame_skin & ref_skin
    if swap.any() and np.count_nonzero(both_top) >= _MIN_RING_PIXELS:
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
    keep = _inliers(tgt_ring, at_ring, not_mask)[1] if swap.any() else seam_keep.copy()
    if far is not None and np.count_nonzero(keep & far) >= _MIN_RING_PIXELS:
        keep &= far
    if np.count_nonzero(keep) < _MIN_RING_PIXELS:
        keep = np.ones(n, bool)
    skin_keep = keep & frame_skin
    # The reference's light across the face, where the ring shows it is not the frame's (:func:`_across_share`), is
    # replaced by the frame's.
    share, slope = _across_share(tgt_ring, ref_ring, skin_keep & ref_skin, ring_coords)
    base.flatten(apply, (across * share, slope))
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
        frame_lit = _frame_light(tgt_ring, skin_keep if np.count_nonzero(skin_keep) >= _MIN_RING_PIXELS else keep, ring,
                                 ring_coords, sigma, small, at)  # fmt: skip
        # (on ``ref_ring``: ``at_ring`` differs from it only where the reference shows no skin, never in shade)
        shaded = _in_shade(ref_ring, smooth_ring, tgt_ring, frame_lit, ref_skin, shade)
        strength = _shade_strength(shaded[keep])
        weights[shaded[keep]] *= np.float32(1.0 - (1.0 - _SHADE_WEIGHT) * strength)
    if neck_gap > 0 and mouth is not None:
        # (the face's change read where the frame shows skin and the reference is not in its own shade)
        usable = skin_keep[keep] if shaded is None or strength <= 0 else skin_keep[keep] & ~shaded[keep]
        neck, factor = _neck_weight(tgt_ring[:, keep], at_ring[:, keep], (ys[keep], xs[keep]), usable, mouth, neck_gap)
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
    below = _below_share(coords[0][skin_keep[keep]], mid)
    if beside is not None and skin_test is not None and below < _BESIDE_COVER:
        # (read only where they can count: the frame's pixels beside the warp, converted)
        pixels = beside()
        if pixels is not None:
            extra = _beside_change(pixels, skin_test, s_ref, small, change[:, skin_keep[keep]], below, mid)
    if extra is not None:
        # The frame's skin beside the mask where the warp does not reach (a neck beside a narrower warped neck), where
        # the ring's skin does not reach below the mask's middle: its lightness against the reference's smooth skin
        # light continued there tells the light's change down the face (:func:`_beside_change`).
        b_change, b_coords, b_at, b_weight = extra
        coords = (np.concatenate([coords[0], b_coords[0]]), np.concatenate([coords[1], b_coords[1]]))
        change = np.concatenate([change, b_change], axis=1)
        ref_part = np.concatenate([ref_part, np.zeros_like(b_change)], axis=1)
        at_all = np.concatenate([at_all, b_at])
        b_w = np.full(b_change.shape[1], b_weight, np.float32)
        weights, plane_w = np.concatenate([weights, b_w]), np.concatenate([plane_w, b_w])
    plane, at_plane = _light_plane(change, coords[0], coords[1], plane_w, (rh, rw), small)
    # (on the reference's skin only, where the slope was measured: a collar or hair beside it, darker or lighter, takes
    # the change the ring shows next to it)
    on_skin_w = cv2.GaussianBlur(skin.reshape(small[1], small[0]).astype(np.float32), (0, 0), 1.5).reshape(-1)
    plane *= on_skin_w
    at_plane *= on_skin_w[at_all]
    parts = _spread(np.concatenate([change - at_plane, ref_part, change]), ring, sigma, size=small,
                    coords=coords, weights=weights, planar=True)  # fmt: skip
    # Near the ring's pixels (beside, above and below the mask alike when the ring goes round it) the change as they
    # show it, spread; only far from them (under a mask whose ring shows skin on one side: a photo from elsewhere,
    # whose surroundings beside the jaw are not carried), the plane continued.
    near = _spread(np.ones((1, len(coords[0])), np.float32), ring, max(_PLANE_NEAR * size, 1.0), fade=True, size=small,
                   coords=coords, weights=weights, planar=True)[0]  # fmt: skip
    d = parts[6:] + (1.0 - near) * (parts[:3] + plane - parts[6:])
    parts = parts[:6]
    contrast = np.ones(3, np.float32)
    theirs: np.ndarray | None = None
    both = skin_keep & ref_skin
    if np.count_nonzero(both) >= _MIN_RING_PIXELS:
        smooth_both = smooth_ring[:, both]
        ref_dev = np.abs(ref_ring[:, both] - smooth_both)
        theirs = percentile(ref_dev, 75)
        typical = percentile(ref_dev, _CONTRAST_PERCENTILE)
        ours = percentile(np.abs(tgt_ring[:, both] - (smooth_both + d[:, at[both]])), _CONTRAST_PERCENTILE)
        contrast = np.clip(ours / np.maximum(typical, 1e-3), _MIN_CONTRAST, 1.0).astype(np.float32)
        d += (1.0 - contrast)[:, None] * parts[3:]
    # How strong the rebuilt skin's colour (a/b) variation around its light may be: as strong as the frame's visible
    # skin shows around its own smooth colour (a robust high percentile on the ring; a blush, acne or a shadow's tint
    # in the reference is the photo's, not the person's now). (The light field is left as it is: spreading from the
    # ring what the bound takes off the ring's reference pixels as well moved the rebuilt skin's mean colour away from
    # the truth's on the quality benchmark.)
    limit, trust = _chroma_bound(tgt_ring, ref_ring, skin_keep, both, ring, max(_CHROMA_SIGMA * size, 1.0), small,
                                 (ys, xs), at)  # fmt: skip
    if field_filter is not None:
        # (the contrast is averaged over the face's frames with the field: a per-frame estimate would make the rebuilt
        # skin's shading flicker; the colour bound, a high percentile of a thousand ring pixels, is steadier, and two
        # more constants through the filter cost more than the bound itself)
        d, contrast = _filter_with(field_filter, d, small, contrast)
    # No highlight brighter than the frame's own skin shows (:meth:`_SkinBase.compose`).
    lit = tgt_ring[0, skin_keep if skin_keep.any() else keep]
    knee = float(percentile(lit, _HIGHLIGHT_PERCENTILE)) + _HIGHLIGHT_MARGIN
    new = base.compose(d, contrast, limit, trust, theirs, knee, mouth, skin_stats)
    skin_spread = None
    if seam_cap > 0 and seam_sigma > 0 and seam_keep.any():
        # (the frame's own skin colour variation on the ring: beyond a few times it, a pixel is no skin's)
        skin_px = tgt_ring[:, skin_keep] if np.count_nonzero(skin_keep) >= _MIN_RING_PIXELS else tgt_ring[:, keep]
        skin_spread = _robust(skin_px)[1]
    # (nor is the seam matched on them: it would lift the rebuilt skin along the mask's edge by the shade's depth)
    if shaded is not None and strength > 0:
        seam_keep = seam_keep & ~shaded
    _add_seam(new, base, ring, (ys, xs), at, tgt_ring, ref_ring, seam_keep, seam_sigma, skin_spread, seam_cap)
    base.finish(new, ref, apply, out)
    if anchor is None:
        anchor = _Anchor(np.array([0.5 * (rw - 1), 0.5 * (rh - 1)], np.float32), float(rw))
    return _LightFields(d, contrast, limit, trust, theirs, knee, skin_spread, small, (rh, rw), anchor,
                        across=(across * share, slope), shade=strength)  # fmt: skip


@dataclass(frozen=True)
class _FrameSkin:
    """The frame's skin test: within ``_FRAME_SKIN_SPREADS`` robust spreads of its lit skin sample's colour
    (:func:`_lit_skin`) and no darker than ``_SKIN_LIGHTNESS_FLOOR`` of the sample's median lightness."""

    colour: np.ndarray | tuple[np.ndarray, np.ndarray]
    floor: float

    @classmethod
    def of(cls, sample: np.ndarray) -> _FrameSkin:
        """The test from the frame's skin ``sample`` ((3, M) Lab: the ring above the mask's middle)."""
        return cls(_lit_skin(sample), _SKIN_LIGHTNESS_FLOOR * float(median(sample[0])))

    def __call__(self, lab: np.ndarray) -> np.ndarray:
        """(N,) bool: the ``lab`` pixels ((3, N)) that pass."""
        return _near(lab, self.colour, _FRAME_SKIN_SPREADS) & (lab[0] >= self.floor)


def _below_share(skin_rows: np.ndarray, mid: float) -> float:
    """The share of the ring's skin pixels (their rows ``skin_rows``) below the mask's middle row ``mid`` (0: none)."""
    return float(np.count_nonzero(skin_rows > mid)) / max(len(skin_rows), 1)


def _beside_change(
    beside: tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray], skin_test: _FrameSkin, s_ref: np.ndarray,
    small: tuple[int, int], ring_change: np.ndarray, below: float, mid: float = -1.0,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray, float] | None:
    """(change, coords, at, weight): the frame's skin beside the mask where the warp does not reach (``beside``: (3, M)
    Lab at its (ys, xs) pixels of the region and their working pixels at ``small``) below the mask's middle row
    ``mid``, that passes the frame's ``skin_test`` and is no darker than ``_BESIDE_FLOOR`` of its skin, its lightness
    less the reference's smooth skin
    light continued there (``s_ref``, (3, w * h)), its a/b the ring skin's median change (``ring_change``, (3, K): the
    reference's skin colour continued onto a neck or an ear is not theirs) plus the reference's colour there scaled by
    the further change of lightness, and their weight in the light field: 1 where none of the ring's skin (the ``K``
    pixels of ``ring_change``) lies below the mask's middle, 0 from ``_BESIDE_COVER`` of it (``below``) on, times 0 where
    they are fewer than the first of ``_BESIDE_SHARE`` of the ring's skin pixels, 1 from the second on (a few beside
    a same-place warp's edge tell little). None: too few pixels, or weight 0."""
    lab, (ys, xs), at = beside
    on = skin_test(lab) & (lab[0] >= _BESIDE_FLOOR / _SKIN_LIGHTNESS_FLOOR * skin_test.floor) & (ys > mid)
    low, high = _BESIDE_SHARE
    share = np.count_nonzero(on) / max(ring_change.shape[1], 1)
    weight = (1.0 - min(below / _BESIDE_COVER, 1.0)) * float(np.clip((share - low) / (high - low), 0.0, 1.0))
    if weight <= 0 or np.count_nonzero(on) < _MIN_RING_PIXELS or ring_change.shape[1] < _MIN_RING_PIXELS:
        return None
    change = np.empty((3, np.count_nonzero(on)), np.float32)
    change[0] = lab[0, on] - s_ref[0, at[on]]
    # (a/b: the ring's change, and what the further change of light does to the reference's colour there: a/b scale
    # with L + 16 at a constant chromaticity, a lit skin is as much more coloured as it is lighter)
    further = change[0] - float(median(ring_change[0]))
    change[1:] = median(ring_change[1:])[:, None] + s_ref[1:, at[on]] * (further / (s_ref[0, at[on]] + 16.0))
    return change, (ys[on], xs[on]), at[on], weight


def _shade_strength(in_shade: np.ndarray) -> float:
    """How far the ring pixels ``in_shade`` ((K,) bool over the kept ring pixels, :func:`_in_shade`) are left out, in
    [0, 1]: 0 where they are a small share of them, 1 where a large one (``_SHADE_SHARE``)."""
    low, high = _SHADE_SHARE
    share = np.count_nonzero(in_shade) / max(len(in_shade), 1)
    return float(np.clip((share - low) / (high - low), 0.0, 1.0))


def _neck_weight(
    tgt: np.ndarray, ref: np.ndarray, coords: tuple[np.ndarray, np.ndarray], usable: np.ndarray, mouth: np.ndarray,
    gap: float,
) -> tuple[np.ndarray, float]:  # fmt: skip
    """The ring pixels below the mouth ((K,) bool, from the rows of ``coords``, the (rows, columns) of the pixels where
    the frame ``tgt`` and the reference ``ref`` ((3, K) Lab) are read; ``mouth``: the frame's LIPS_OUTER landmarks in
    the same pixels) and their weight in the light field: 1 while their change of light (the median over the ``usable``
    ones, (K,) bool) is within ``gap`` Lab units of the change of those above the mouth, once the part of the
    difference that the face's own trend down the ring explains is taken off (:func:`_unexplained`), falling linearly
    to ``_NECK_WEIGHT`` at twice it (1: too few of either to tell). Only a neck lighter by the change than the face (the
    reference's neck in a shade the frame does not show, as :func:`_in_shade`) weighs less: a frame's own shade there
    (her hands under her chin) is the frame's light. The change of lightness is compared as a ratio (of
    L + 16, the cube root of luminance's: a light's change scales luminance, so a neck in a shade in both photos changes
    as the face does), in L units at the frame's face; a and b as differences."""
    ys = coords[0]
    neck = ys > float(mouth[:, 1].max())
    face = usable & (ys < float(mouth[:, 1].min()))
    below = usable & neck
    if np.count_nonzero(face) < _MIN_RING_PIXELS or np.count_nonzero(below) < _MIN_RING_PIXELS:
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


def _frame_light(
    tgt_ring: np.ndarray, use: np.ndarray, ring: np.ndarray, ring_coords: tuple[np.ndarray, np.ndarray], sigma: float,
    small: tuple[int, int], at: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """(N,) the frame's smooth skin lightness at the ring pixels: the L of its ``use`` pixels (``tgt_ring``, (3, N) Lab
    at ``ring_coords`` in ``ring``), spread with a Gaussian of ``sigma`` pixels, read at their working pixels ``at``
    (at the working size ``small``)."""
    ys, xs = ring_coords
    return _spread(tgt_ring[:1, use], ring, sigma, size=small, coords=(ys[use], xs[use]), planar=True)[0, at]


def _in_shade(
    ref_ring: np.ndarray, smooth_ring: np.ndarray, tgt_ring: np.ndarray, frame_lit: np.ndarray, ref_skin: np.ndarray,
    ratio: float,
) -> np.ndarray:  # fmt: skip
    """(N,) bool: the ring pixels where the reference shows skin (``ref_skin``, (N,) bool: its hair or background beside
    a frame's cheek is no shade) and its colour ``ref_ring`` ((3, N) Lab) is in a shade the frame ``tgt_ring``
    ((3, N)) does not show: its luminance, relative to its smooth skin light's (``smooth_ring``, (3, N)), below
    ``ratio`` times the frame's relative to its own (``frame_lit``, (N,) L, :func:`_frame_light`; a frame lighter than
    its light counts as its light). A stand-in's eye sockets, lids or lashes under the frame's lit lower lids are; a
    shade in both is not, however far the two lights differ (luminance, not L: a light's change scales it)."""
    ref_rel = _luminance(ref_ring[0]) / _luminance(smooth_ring[0])
    frame_rel = np.minimum(_luminance(tgt_ring[0]) / _luminance(frame_lit), 1.0)
    return ref_skin & (ref_rel < np.float32(ratio) * frame_rel)


def _luminance(lightness: np.ndarray) -> np.ndarray:
    """CIE relative luminance of Lab lightness (its cube-root branch, at least a little above 0)."""
    return np.power((np.maximum(lightness, 1.0) + np.float32(16.0)) * np.float32(1.0 / 116.0), np.float32(3.0))


def _add_seam(
    new: np.ndarray, base: _SkinBase, ring: np.ndarray, ring_coords: tuple[np.ndarray, np.ndarray], at: np.ndarray,
    tgt_ring: np.ndarray, ref_ring: np.ndarray, seam_keep: np.ndarray, seam_sigma: float,
    skin_spread: np.ndarray | None, seam_cap: float,
) -> None:  # fmt: skip
    """Add the seam field to the rebuilt face's Lab ``new`` ((3, w * h) at ``base``'s working size, changed in place):
    what still differs between the frame and the rebuilt face on the ``seam_keep`` ring pixels (``tgt_ring``,
    ``ref_ring``: (3, N) Lab at ``ring_coords``, ``at`` their working pixels), each within ``seam_cap`` times the
    frame skin's ``skin_spread`` ((3,); None or ``seam_cap`` 0: not capped), spread inwards (:func:`_skin_light`)."""
    if seam_sigma <= 0 or not seam_keep.any():
        return
    # What the working size does to the reference, read at the seam's ring pixels.
    at_s = at[seam_keep]
    residual = tgt_ring[:, seam_keep] - (ref_ring[:, seam_keep] + (new[:, at_s] - base.lab_small[:, at_s]))
    if skin_spread is not None:
        residual = _capped(residual, skin_spread, seam_cap)
    ys, xs = ring_coords
    new += _spread(residual, ring, max(_SKIN_SEAM_SCALE * seam_sigma * base.size, 1.0), fade=True, size=base.small,
                   coords=(ys[seam_keep], xs[seam_keep]), planar=True)  # fmt: skip


def _plane_slopes(values: np.ndarray, px: np.ndarray, py: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(across, down): the least-squares slopes of ``values`` ((C, K)) along the centred pixel coordinates ``px`` and
    ``py`` ((K,) each), per channel ((C,) float64 each), with ``ridge`` added to the normal matrix's diagonal."""
    a = np.array([[np.dot(px, px), np.dot(px, py)], [np.dot(px, py), np.dot(py, py)]], np.float64)
    a += ridge * np.eye(2)
    b = np.stack([values @ px, values @ py]).astype(np.float64)
    # (the 2x2 system by Cramer's rule, as :func:`_light_plane`: LAPACK's call overhead is the larger cost)
    det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
    return (a[1, 1] * b[0] - a[0, 1] * b[1]) / det, (a[0, 0] * b[1] - a[1, 0] * b[0]) / det


def _across_share(
    tgt_ring: np.ndarray, ref_ring: np.ndarray, both: np.ndarray, ring_coords: tuple[np.ndarray, np.ndarray]
) -> _Across:
    """(share, slope), (3,) each per Lab channel, a and b 0: the frame's slope of lightness across the ring (Lab units
    per pixel) and the share of the reference's light across to be replaced by it, in [0, 1]: how far the reference's is
    not the frame's, from the slopes of L across the ring (from its left end to its right, fitted with the slope down by
    least squares) of the frame ``tgt_ring`` and the reference ``ref_ring`` ((3, N) Lab at the ``ring_coords`` pixels)
    where both show skin (``both``): 0 where the two slopes differ by at most half the larger (the same light), 1 where
    by all of it or more (a photo lit from one side on a face lit from the other, or from the front); slopes under
    ``_ACROSS_FLOOR`` count as that. Zeros with fewer than ``_MIN_RING_PIXELS`` pixels."""
    share, slope = np.zeros(3, np.float32), np.zeros(3, np.float32)
    if np.count_nonzero(both) < _MIN_RING_PIXELS:
        return share, slope
    ys, xs = (c[both].astype(np.float32) for c in ring_coords)
    span = max(float(xs.max() - xs.min()), 1.0)
    px, py = (xs - xs.mean()) / span, (ys - ys.mean()) / span
    ours = float(_plane_slopes(tgt_ring[:1, both], px, py, 1e-6 * len(px))[0][0])
    theirs = float(_plane_slopes(ref_ring[:1, both], px, py, 1e-6 * len(px))[0][0])
    scale = max(abs(ours), abs(theirs), _ACROSS_FLOOR)
    share[0] = np.clip(2.0 * abs(ours - theirs) / scale - 1.0, 0.0, 1.0)
    slope[0] = ours / span
    return share, slope


def _across_light(
    lab: np.ndarray, on: np.ndarray, small: tuple[int, int], share: np.ndarray, target: np.ndarray
) -> np.ndarray | None:
    """``share`` ((3,)) of how far the reference's light across the face is from the ``target`` slope ((3,), Lab units
    per working pixel): the slope along the rows of its Lab ``lab`` ((3, w * h) at the working size ``small``) on its
    skin pixels ``on`` ((w * h,) bool), fitted per channel by least squares with the slope down the face, less the
    target, as a field over the working size ((3, w * h)), zero at the pixels' mean column. None: too few pixels."""
    idx = np.flatnonzero(on)
    if len(idx) < _MIN_RING_PIXELS:
        return None
    w = small[0]
    scale = np.float32(1.0 / max(small))
    px = (idx % w).astype(np.float32) * scale
    py = (idx // w).astype(np.float32) * scale
    mx, my = float(px.mean()), float(py.mean())
    px -= np.float32(mx)
    py -= np.float32(my)
    slope = _plane_slopes(lab[:, idx], px, py, _PLANE_RIDGE * len(idx))[0].astype(np.float32)
    slope -= np.asarray(target, np.float32) * np.float32(max(small))  # (per working pixel -> per ``scale`` unit)
    cols = (np.arange(w, dtype=np.float32) * scale - np.float32(mx))
    field = np.empty((3, small[1], w), np.float32)
    field[...] = ((np.asarray(share, np.float32) * slope)[:, None] * cols[None, :])[:, None, :]
    return field.reshape(3, -1)


def _light_plane(
    change: np.ndarray, ys: np.ndarray, xs: np.ndarray, weights: np.ndarray, shape: tuple[int, int],
    small: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """The light's slope down the face: the planar part of its ``change`` ((3, K) Lab, frame minus reference, at the
    ring pixels ``ys``, ``xs`` of a region of ``shape`` (h, w), weighted by ``weights``, 0: not used), per Lab channel,
    fitted by weighted least squares (both slopes, the one across dropped after) with the slopes shrunk where the
    pixels hardly spread (``_PLANE_RIDGE``), zero on the pixels' weighted mean row. Returns (plane, at): the slope's
    field over the working size ``small`` ((3, w * h); bounded to ``_PLANE_REACH`` times the range it has on the pixels
    beyond it) and its values at the pixels ((3, K)); zeros with fewer than ``_MIN_RING_PIXELS`` pixels used."""
    h, w = shape
    used = weights > 0
    if np.count_nonzero(used) < _MIN_RING_PIXELS:
        return np.zeros((3, small[0] * small[1]), np.float32), np.zeros_like(change)
    scale = np.float32(1.0 / max(h, w))
    px, py = xs.astype(np.float32) * scale, ys.astype(np.float32) * scale
    wsum = float(weights.sum())
    mx, my = float(np.dot(weights, px)) / wsum, float(np.dot(weights, py)) / wsum
    px -= np.float32(mx)
    py -= np.float32(my)
    wx, wy = weights * px, weights * py
    a = np.array([[np.dot(wx, px), np.dot(wx, py)], [np.dot(wx, py), np.dot(wy, py)]], np.float64)
    a += _PLANE_RIDGE * wsum * np.eye(2)
    b = np.stack([change @ wx, change @ wy]).astype(np.float64)
    # (the y slope per channel of the 2x2 system, by Cramer's rule: LAPACK's solve costs 20-40 us of call overhead, and
    # where numpy's BLAS threads are not limited, waking them cost up to 2 ms a face)
    down = ((a[0, 0] * b[1] - a[1, 0] * b[0]) / (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0])).astype(np.float32)
    # Only the slope down the face is continued: across it the ring shows the light on both sides (its spread follows
    # it), and a slope across, continued past a cheek's edge, darkens or reddens a band there.
    at = down[:, None] * py[None, :]
    sw, sh = small
    rows = (np.arange(sh, dtype=np.float32) + 0.5) * np.float32(h / sh) * scale - np.float32(my)
    lo, hi = float(py[used].min()), float(py[used].max())
    room = _PLANE_REACH * (hi - lo)
    rows = np.clip(rows, lo - room, hi + room)  # (the slope's field is linear in the row: bounded through it)
    plane = np.empty((3, sh, sw), np.float32)
    plane[...] = (down[:, None] * rows[None, :])[:, :, None]
    return plane.reshape(3, -1), at


def _chroma_bound(
    tgt_ring: np.ndarray,
    ref_ring: np.ndarray,
    skin_keep: np.ndarray,
    both: np.ndarray,
    ring: np.ndarray,
    sigma: float,
    small: tuple[int, int],
    ring_coords: tuple[np.ndarray, np.ndarray],
    at: np.ndarray,
) -> tuple[float, float]:
    """(bound, trust): how far (Lab a/b distance) the frame's visible skin's colour strays from its own smooth colour
    (the ``_CHROMA_PERCENTILE`` of the ring pixels' distance to their smooth a/b field, spread over the ring ``ring``
    ((h, w)) with a Gaussian of ``sigma`` pixels; at least ``_MIN_CHROMA_LIMIT``, ``_NO_CHROMA_BOUND`` with too few
    pixels), on the ring pixels where both show skin (``both``; too few: where the frame does, ``skin_keep``); and how
    far the reference's own strays there are the frame's (0: not at all, a photo of someone else or of other skin; 1:
    the same, the same skin seen in the same light), from the distance between the two's strays against the
    reference's.
    ``tgt_ring``/``ref_ring``: (3, N) Lab at the ``ring_coords`` pixels, ``at`` their working pixels at ``small``."""
    pair = np.count_nonzero(both) >= _MIN_RING_PIXELS
    use = both if pair else skin_keep
    if np.count_nonzero(use) < _MIN_RING_PIXELS:
        return _NO_CHROMA_BOUND, 0.0
    ys, xs = ring_coords
    ab = np.concatenate([tgt_ring[1:, use], ref_ring[1:, use]]) if pair else tgt_ring[1:, use]
    smooth = _spread(ab, ring, sigma, size=small, coords=(ys[use], xs[use]), planar=True)
    off = ab - smooth[:, at[use]]
    bound = max(float(percentile(np.hypot(off[0], off[1]), _CHROMA_PERCENTILE)), _MIN_CHROMA_LIMIT)
    if not pair:
        return bound, 0.0
    theirs = float(percentile(np.hypot(off[2], off[3]), 75))
    apart = float(percentile(np.hypot(off[0] - off[2], off[1] - off[3]), 75))
    return bound, float(np.clip(1.0 - apart / max(theirs, 1.0), 0.0, 1.0))


def _bounded_chroma(chroma: np.ndarray, limit: float) -> np.ndarray:
    """The (2, N) a/b offsets with their length bounded by ``limit``: unchanged up to ``_CHROMA_KNEE`` of it, then bent
    smoothly towards it (never past it), their hue kept."""
    if not np.isfinite(limit):
        return chroma.copy()
    length = np.hypot(chroma[0], chroma[1])
    knee = np.float32(_CHROMA_KNEE * limit)
    room = np.float32(limit) - knee
    # (below the knee the scale is (knee + 0) / knee = 1)
    bent = np.tanh(np.maximum(length - knee, np.float32(0.0)) * np.float32(1.0 / room))
    bent *= room
    bent += knee
    bent /= np.maximum(length, knee)
    return chroma * bent


def _own_colour(
    dev: np.ndarray,
    mouth: np.ndarray | None,
    small: tuple[int, int],
    shape: tuple[int, int],
    limit: float,
    theirs: np.ndarray | None,
    on_skin: np.ndarray | np.float32,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Where the reference's colour is the person's own, not its light's, over the working size ``small`` (w, h), from
    its a/b offsets from its smooth skin colour ``dev`` ((2, N)): (lips, strong), None each where there is none.

    ``lips`` ((N,) in [0, 1]): near the ``mouth`` (the frame's LIPS_OUTER landmarks, (K, 2) in the pixels of a region
    of ``shape`` (h, w); None: not known), a colour from the first to the second of ``_LIP_STRENGTH`` times the frame
    skin's ``limit``: not bounded by it. ``strong`` ((2, N) in [0, 1], per channel): near the mouth or where the
    reference shows no skin (1 - ``on_skin``), a colour far stronger than the reference skin's own variation on the
    ring (``theirs``, per Lab channel; from 3x, fully at 5x: lipstick): its chroma not scaled down by the contrast."""
    zone = _mouth_zone(mouth, small, shape)
    lips = strong = None
    if zone is not None and np.isfinite(limit):
        low, high = _LIP_STRENGTH
        length = np.hypot(dev[0], dev[1]) * np.float32(1.0 / max(limit, 1.0))
        lips = (zone * np.clip((length - low) / (high - low), 0.0, 1.0)).astype(np.float32)
    where = (1.0 - on_skin) if zone is None else np.maximum(zone, 1.0 - on_skin)
    if theirs is not None and np.any(where > 0):
        ratio = np.abs(dev) / np.maximum(theirs[1:], 1.0).astype(np.float32)[:, None]
        strong = (where * np.clip((ratio - 3.0) * 0.5, 0.0, 1.0)).astype(np.float32)
    return lips, strong


def _mouth_zone(mouth: np.ndarray | None, small: tuple[int, int], shape: tuple[int, int]) -> np.ndarray | None:
    """(N,) float32 in [0, 1] over the working size ``small`` (w, h): the ellipse around the ``mouth`` (LIPS_OUTER
    points, (K, 2) in the pixels of a region of ``shape`` (h, w); its axes along the mouth corners' line and across it),
    grown by ``_LIP_REACH`` times its width, its edge soft. None: no mouth given."""
    if mouth is None or len(mouth) < 3:
        return None
    w, h = small
    pts = np.asarray(mouth, np.float32) * np.array([w / shape[1], h / shape[0]], np.float32)
    left, right = (LIPS_OUTER.index(i) for i in MOUTH_CORNERS)
    along = pts[right] - pts[left]
    width = float(np.hypot(*along))
    if width < 1.0:
        return None
    u = along / width
    centre = pts.mean(axis=0)
    rel = pts - centre
    across = rel @ np.array([-u[1], u[0]], np.float32)
    reach = _LIP_REACH * width
    half_w, half_h = 0.5 * width + reach, 0.5 * float(np.ptp(across)) + reach
    # (on the bounding box of the ellipse only: the rest of the working size is 0)
    r = int(np.ceil(max(half_w, half_h) * 1.25)) + 1
    x0, x1 = max(int(centre[0]) - r, 0), min(int(centre[0]) + r + 1, w)
    y0, y1 = max(int(centre[1]) - r, 0), min(int(centre[1]) + r + 1, h)
    zone = np.zeros((h, w), np.float32)
    if x1 <= x0 or y1 <= y0:
        return zone.reshape(-1)
    dx = (np.arange(x0, x1, dtype=np.float32) - centre[0])[None, :]
    dy = (np.arange(y0, y1, dtype=np.float32) - centre[1])[:, None]
    a = (dx * u[0] + dy * u[1]) * np.float32(1.0 / half_w)
    b = (dy * u[0] - dx * u[1]) * np.float32(1.0 / half_h)
    zone[y0:y1, x0:x1] = np.clip((1.25 - np.sqrt(a * a + b * b)) * 2.0, 0.0, 1.0)
    return zone.reshape(-1)


def _filter_with(
    field_filter: Callable[[np.ndarray], np.ndarray], field: np.ndarray, size: tuple[int, int], constants: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``field`` ((3, pixels) at ``size`` (w, h)) and ``constants`` ((k,)) through a face's temporal field filter: the
    composite's own (:class:`_FieldFilter`) averages the constants as their own channels, any other callable takes
    them as constant channels beside the field."""
    image = _interleaved(field, size)
    if isinstance(field_filter, _FieldFilter):
        image, constants = field_filter.with_constants(image, constants)
    else:
        beside = np.broadcast_to(constants, image.shape[:2] + constants.shape)
        filtered = field_filter(np.concatenate([image, beside], axis=2))
        image = np.ascontiguousarray(filtered[..., :3])
        constants = filtered[..., 3:].reshape(-1, len(constants)).mean(axis=0).astype(np.float32)
    return _channels(image.reshape(-1, 3)), constants


def _resize_covered(reference: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The warped ``reference`` (black where the warp is not valid) resized to ``size`` (width, height) as
    :func:`resize` does, its black pixels left out: a working pixel across the edge of what the warp covers gets the
    covered pixels' colour (a normalised convolution), not a darker mix with black, which would make the gain there
    (corrected colour over it) too strong and, scaled back up, light a rim along that edge."""
    small = resize(reference, *size)
    # (a pixel the warp covers is not black; its grey level is 0 only if nearly black, and then no matter)
    covered = cv2.compare(cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY), 0, cv2.CMP_GT)
    if cv2.countNonZero(covered) == covered.size:
        return small
    cover = resize(covered, *size)
    weight = cv2.GaussianBlur(cover.astype(np.float32), (5, 5), 0, borderType=cv2.BORDER_REPLICATE)
    blurred = cv2.GaussianBlur(small.astype(np.float32), (5, 5), 0, borderType=cv2.BORDER_REPLICATE)
    # (both blurred alike: their ratio, times 255, is the mean colour of the covered pixels nearby)
    spread = cv2.convertScaleAbs(cv2.divide(blurred, cv2.merge([weight, weight, weight]), scale=255.0))
    edge = cv2.bitwise_and(cv2.compare(cover, 254, cv2.CMP_LT), cv2.compare(weight, 0.5, cv2.CMP_GT))
    out = small.copy()
    cv2.copyTo(spread, edge, out)
    return out


def _resize_channels(field: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """``cv2.resize`` of an (h, w, c) float field to ``size`` (width, height) for any c (OpenCV takes at most 4
    channels at once: three at a time)."""
    if field.shape[2] <= 4:
        return cv2.resize(field, size, interpolation=interpolation).reshape(size[1], size[0], field.shape[2])
    parts = [cv2.resize(np.ascontiguousarray(field[..., i:i + 3]), size, interpolation=interpolation)
             for i in range(0, field.shape[2], 3)]
    return np.concatenate([p.reshape(size[1], size[0], -1) for p in parts], axis=2)


def _planes_at(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> list[np.ndarray]:
    """The (h, w, 3) uint8 ``image``'s (a view of a box of a bigger image, rows of whole pixels, is fine) channels at
    the pixels ``ys``, ``xs``: three (N,) uint8 arrays, ``image[ys, xs, c]``. Read through the pixels' byte offsets in
    one flat view of the image's memory: numpy's gather by two index arrays costs several times more."""
    row, col, channel = image.strides
    if image.dtype != np.uint8 or min(row, col, channel) <= 0 or len(ys) == 0:
        return [np.ascontiguousarray(image[ys, xs, c]) for c in range(image.shape[2])]
    h, w, c = image.shape
    flat = np.lib.stride_tricks.as_strided(image, shape=((h - 1) * row + (w - 1) * col + (c - 1) * channel + 1,),
                                           strides=(1,), writeable=False)  # fmt: skip
    offsets = ys * row + xs * col
    return [flat[offsets + k * channel] for k in range(c)]


def _surround(
    image: np.ndarray, around: np.ndarray, sigma: float, box: tuple[slice, slice], at: np.ndarray
) -> np.ndarray:
    """The ``image`` pixels at ``around`` ((h, w) bool) spread over the whole grid by normalised convolution with a
    Gaussian of ``sigma`` pixels, and where those are far, of ``4 * sigma``: (M, 3) uint8, its values at the ``at``
    pixels ((bh, bw) bool) of its ``box`` (slices of the grid), in raster order."""
    ys, xs = _coords(around)
    f = max(1, int(sigma))  # the fields are smooth: cells of about sigma, blurred, then resized
    h, w = around.shape
    sw, sh = -(-w // f), -(-h // f)
    cell = (ys // f) * sw + xs // f
    ws = np.bincount(cell, minlength=sh * sw).astype(np.float32).reshape(sh, sw)
    vs = np.stack([np.bincount(cell, weights=plane, minlength=sh * sw) for plane in _planes_at(image, ys, xs)], axis=-1)
    vs = vs.astype(np.float32).reshape(sh, sw, 3)
    near_w = cv2.GaussianBlur(ws, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    near_v = cv2.GaussianBlur(vs, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    far_w = cv2.GaussianBlur(ws, (0, 0), 4 * sigma / f, borderType=cv2.BORDER_CONSTANT)
    far_v = cv2.GaussianBlur(vs, (0, 0), 4 * sigma / f, borderType=cv2.BORDER_CONSTANT)
    # The far field counts a little everywhere: it decides only where the near one has (almost) nothing.
    k = np.float32(1e-3)
    field = (near_v + k * far_v) / np.maximum(near_w + k * far_w, 1e-12)[..., None]
    # Read at the ``at`` pixels only, as the field resized to the grid's size would have them there (the gaps beside
    # the face are a few thousand pixels of a box of hundreds of thousands).
    at_ys, at_xs = _coords(at)
    # (one OpenCV remap at those pixels' positions in the grid of cells, edge cells held: its bilinear weights are in
    # 1/32 steps, which on this smooth field moves a value by a fraction of a level at most)
    map_x = ((at_xs + (box[1].start + 0.5)) * (sw / w) - 0.5).astype(np.float32)
    map_y = ((at_ys + (box[0].start + 0.5)) * (sh / h) - 0.5).astype(np.float32)
    values = cv2.remap(field, map_x[None], map_y[None], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
    values += np.float32(0.5)
    return np.clip(values, 0, 255, out=values).astype(np.uint8)


def _nearest(
    image: np.ndarray, around: np.ndarray, sigma: float, box: tuple[slice, slice], at: np.ndarray, reach: int
) -> np.ndarray:
    """The colour of the ``image`` pixel at ``around`` ((h, w) bool) nearest each pixel, smoothed by a Gaussian of
    ``sigma`` pixels: (M, 3) uint8, its values at the ``at`` pixels ((bh, bw) bool) of its ``box`` (slices of the
    grid), in raster order. Past a mask's edge that shows a collar, a hood and a wall, each part goes on as itself.
    ``reach``: how far from the ``at`` pixels their nearest ``around`` pixels are looked for (each side of the face
    on its own: the face between them is never read)."""
    # (only the box and what lies within reach of it: the region's arrays are far larger)
    margin = reach + int(np.ceil(3 * sigma))
    (h, w), (rows, cols) = around.shape, box
    r0, c0 = max(rows.start - margin, 0), max(cols.start - margin, 0)
    near = (slice(r0, min(rows.stop + margin, h)), slice(c0, min(cols.stop + margin, w)))
    want = np.zeros(around[near].shape, bool)
    want[rows.start - r0:rows.stop - r0, cols.start - c0:cols.stop - c0] = at
    field = np.zeros((*want.shape, 3), np.float32)
    for piece in pieces(want, margin):
        ring = around[near][piece]
        if not ring.any():
            continue
        # (one label per ``ring`` pixel, numbered from 1 in raster order)
        _, labels = cv2.distanceTransformWithLabels((~ring).astype(np.uint8), cv2.DIST_L2, 5,
                                                    labelType=cv2.DIST_LABEL_PIXEL)  # fmt: skip
        colours = _by_label(image[near][piece][ring], labels)
        # (by row and column: a boolean index of the field's (h, w, 3) view costs several times more)
        ys, xs = np.nonzero(want[piece])
        field[piece][ys, xs] = cv2.GaussianBlur(colours, (0, 0), sigma)[ys, xs]
    values = field[rows_cols(np.flatnonzero(want), want.shape[1])]
    values += np.float32(0.5)
    return np.clip(values, 0, 255, out=values).astype(np.uint8)


def _by_label(colours: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32: at each pixel the colour of its label (``labels``: (h, w) int32 from 1; ``colours``: (n, 3)
    uint8, label 1 first). Each colour is packed into one 32-bit word and gathered once: about a quarter of the time
    of indexing the colours by row and column."""
    packed = np.zeros((len(colours) + 1, 4), np.uint8)
    packed[1:, :3] = colours
    gathered = np.take(packed.view(np.uint32).ravel(), labels)
    return cv2.cvtColor(gathered.view(np.uint8).reshape(*labels.shape, 4), cv2.COLOR_RGBA2RGB).astype(np.float32)


#: The colour-correction field is averaged over time on a grid of this many cells across the region.
_FIELD_GRID = 12


_T = TypeVar("_T")


def _turn(face: FaceROI) -> float:
    """How far the reference's head is turned from the ``face``'s (:func:`~unmask_video.warp.yaw`, the reference's less
    the frame's; 0 where the reference's is not known)."""
    return 0.0 if face.reference_yaw is None else face.reference_yaw - yaw(face.landmarks)


def _in_frame(face: FaceROI) -> tuple[np.ndarray, np.ndarray, float]:
    """(landmarks, centre, size): the face's landmarks in the frame's pixels ((n, 2) float32), their mean and the
    face's width (px): what the per-face histories (:class:`_FaceHistory`) find it by."""
    in_frame = face.landmarks + np.array([face.box.x0, face.box.y0], np.float32)
    return in_frame, in_frame.mean(axis=0), float(np.ptp(face.landmarks[:, 0]))


class _FaceHistory(Generic[_T]):
    """Per face of the last frames: a value (a colour shift or a coarse field), found again by position."""

    def __init__(self) -> None:
        self._entries: list[tuple[np.ndarray, float, _T]] = []

    def take(self, centre: np.ndarray, size: float) -> _T | None:
        """The array of the face nearest ``centre`` (within half a face), removed from the history."""
        distances = [float(np.linalg.norm(e[0] - centre)) for e in self._entries]
        near = [i for i, d in enumerate(distances) if d < 0.5 * max(size, self._entries[i][1])]
        return self._entries.pop(min(near, key=distances.__getitem__))[2] if near else None

    def put(self, centre: np.ndarray, size: float, value: _T) -> None:
        self._entries.append((centre, size, value))
        del self._entries[:-8]  # a few faces at most are followed


@dataclass(frozen=True)
class _MeasuredFields:
    """The ``light="skin"`` fields last measured on a face (:class:`_LightFields`), its landmarks in the frame then
    ((468, 2)), and on how many frames since they were reused."""

    fields: _LightFields
    landmarks: np.ndarray
    age: int
    #: Frames carried since the temporal averages were last advanced (:attr:`CompositeOptions.carry_frames`).
    skipped: int = 0


@dataclass
class _Carry:
    """A face's last rebuilt region (:attr:`CompositeOptions.carry_frames`): its landmarks in the frame ((n, 2)), the
    region's top-left corner in the frame (x, y), the region rebuilt with the frame's region then as a fourth channel
    (grey; (h, w, 4) uint8), where it was rebuilt ((h, w) uint8, 0 / 1), and on how many frames since it was carried."""

    landmarks: np.ndarray
    origin: np.ndarray
    rebuilt: np.ndarray
    changed: np.ndarray
    carried: int = 0


@dataclass(frozen=True)
class _Lengths:
    """The composite's distances in pixels for one face: :class:`CompositeOptions`' face lengths at its size."""

    band: float
    ring: float
    ring_gap: float
    stats_gap: float
    inpaint_radius: float
    inpaint_grow: float
    fill_feather: float
    bleed: float

    def scaled(self, k: float) -> _Lengths:
        """The same lengths on the region resized by ``k`` (a working size: the full-size face's floors kept)."""
        return _Lengths(*(k * v for v in astuple(self)))


class _FieldFilter:
    """A face's colour field averaged over its frames on a coarse grid (``_FIELD_GRID`` cells across the region):
    only the field's slow, smooth part is held back. Called with an (h, w, 3) field, it returns the field to apply."""

    def __init__(self, history: _FaceHistory[np.ndarray], centre: np.ndarray, size: float, weight: float,
                 previous: np.ndarray | None) -> None:  # fmt: skip
        self._history, self._centre, self._size, self._weight, self._previous = history, centre, size, weight, previous

    def __call__(self, field: np.ndarray) -> np.ndarray:
        return self.with_constants(field, np.zeros(0, np.float32))[0]

    def restore(self) -> None:
        """Put the face's past back as it was, for a frame that did not go through the filter."""
        if self._previous is not None:
            self._history.put(self._centre, self._size, self._previous)

    def with_constants(self, field: np.ndarray, constants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (h, w, 3) field and ``constants`` ((k,), k <= 3: numbers averaged with it) to apply: the same numbers as
        the filter of the field with the constants as k more channels beside it (their mean over the pixels), without
        the (h, w, 3 + k) field: the constants' channels are resized on their own."""
        h, w = field.shape[:2]
        grid = _resize_channels(field, (_FIELD_GRID, _FIELD_GRID), cv2.INTER_AREA)
        cells = grid
        constants = np.asarray(constants, np.float32)
        if len(constants):
            # (a constant channel's area average is the constant: no (h, w, k) image of it is built)
            flat_grid = np.broadcast_to(constants, (_FIELD_GRID, _FIELD_GRID, len(constants)))
            cells = np.concatenate([grid, flat_grid], axis=2)
        previous = self._previous
        if previous is None or previous.shape != cells.shape:
            self._history.put(self._centre, self._size, cells)
        else:
            smoothed = self._weight * previous + (1.0 - self._weight) * cells
            self._history.put(self._centre, self._size, smoothed)
            delta = smoothed - cells
            channels = field.shape[2]
            field = field + _resize_channels(delta[..., :channels], (w, h), cv2.INTER_LINEAR)
            if len(constants):
                # The constants' pixel mean after the change: theirs plus the mean of the change's field.
                change = _resize_channels(np.ascontiguousarray(delta[..., channels:]), (w, h), cv2.INTER_LINEAR)
                constants = constants + np.float32(cv2.mean(change)[: len(constants)])
        return field, constants


class ReferenceComposite:
    """``--generator none``: rebuild the masked part of each face from the warped reference."""

    name = "none"
    provider = "numpy/OpenCV"

    def __init__(self, options: CompositeOptions | None = None) -> None:
        self.options = options or CompositeOptions()
        #: Per face of the last frame: its smoothed colour correction.
        self._history: _FaceHistory[np.ndarray] = _FaceHistory()
        #: Per face: the ``light="skin"`` fields last measured on it (:attr:`CompositeOptions.field_refresh`).
        self._fields: _FaceHistory[_MeasuredFields] = _FaceHistory()
        #: Per face: its last rebuilt region, to carry onto the next frame (:attr:`CompositeOptions.carry_frames`).
        self._carries: _FaceHistory[_Carry] = _FaceHistory()
        #: Per face: the cloth's bleed (:attr:`CompositeOptions.bleed`), as a share of its reach, averaged over frames.
        self._bleeds: _FaceHistory[float] = _FaceHistory()

    def lengths(self, face_px: float) -> _Lengths:
        """The options' distances in pixels on a face of ``face_px`` (``face_units.face_size_px``)."""
        opts = self.options
        return _Lengths(
            opts.band.px(face_px), opts.ring.px(face_px), opts.ring_gap.px(face_px), opts.stats_gap.px(face_px),
            opts.inpaint_radius.px(face_px), opts.inpaint_grow.px(face_px), opts.fill_feather.px(face_px),
            opts.bleed.px(face_px),
        )

    def reach_px(self, face_px: float) -> int:
        """How far, in pixels, outside the mask's bounding box this reads ``face.reference``/``face.valid`` on a
        face of ``face_px``: the pipeline warps only that box (the rest of the face is never looked at)."""
        lengths = self.lengths(face_px)
        band = max(int(np.ceil(lengths.band)), 0)
        # (not the cloth's bleed, :attr:`CompositeOptions.bleed`: a bigger region changes the fields measured on it for
        # every mask, a drawn one too; the ring moved out by the bleed is cut where it leaves the region)
        ring = int(np.ceil(max(lengths.ring_gap, lengths.stats_gap) + max(lengths.ring, 1.5)))
        return max(band, ring if self.options.color_match else 0) + 2

    def warmup(self) -> None:
        """Nothing to load: OpenCV and numpy only."""

    def reconstruct(self, faces: Sequence[FaceROI]) -> list[Image]:
        return [self.reconstruct_one(face) for face in faces]

    def _filters(
        self, face: FaceROI, steps: int = 1
    ) -> tuple[Callable[[np.ndarray], np.ndarray] | None, _FieldFilter | None]:
        """(shift filter, field filter): temporal averages of this face's colour correction (the face is
        matched to the last frame's by position). The field is averaged on a coarse grid over the
        region, so only its slow, smooth part is held back. ``steps``: the frames since the last one that went through
        them (the fields reused on those between, :attr:`CompositeOptions.field_refresh`): the past weighs as much as
        it would have after as many frames measured alike."""
        weight = self.options.color_smoothing ** max(steps, 1)
        if weight <= 0:
            return None, None
        centre = face.landmarks.mean(axis=0) + np.array([face.box.x0, face.box.y0], np.float32)
        size = float(np.ptp(face.landmarks[:, 0]))
        previous = self._history.take(centre, size)

        def smooth_shift(measured: np.ndarray) -> np.ndarray:
            shift = measured if previous is None or previous.shape != measured.shape else weight * previous + (1.0 - weight) * measured
            self._history.put(centre, size, shift.astype(np.float32))
            return shift

        return smooth_shift, _FieldFilter(self._history, centre, size, weight, previous)


    def reconstruct_one(self, face: FaceROI) -> Image:
        """The ROI image with the hole (``mask > 0``) and the blend band around it rebuilt."""
        opts = self.options
        image = face.image
        h, w = image.shape[:2]
        out = image.copy()
        face_px = face_size_px(face.landmarks)
        # Work on the box around the hole and everything within reach of it: the cost follows the mask. (From the
        # mask's box where the pipeline found it already: the mask is thresholded in that region only.)
        region = grown_mask_box(face.mask, self.reach_px(face_px), face.mask_box)
        if region is None:
            return out
        hole = face.mask[region] > 0
        valid = face.valid[region]
        sub_image = image[region]
        reference = face.reference[region]
        lm = face.landmarks - np.array([region[1].start, region[0].start], np.float32)
        sub_out = out[region]
        rh, rw = hole.shape
        scale = opts.work_px / max(rh, rw) if opts.work_px > 0 else 1.0
        eyes = eye_maps(face.mask[region], lm, opts.eye_keep, opts.band.px(face_px) + 1.0)
        if scale >= 1.0:
            lengths = self.lengths(face_px)
            carry = self._carry(face, region, hole, valid, lengths, face_px) if opts.carry_frames > 1 else None
            if carry is not None:
                _paste(sub_out, *carry)
                keep_frame(sub_out, sub_image, eyes)
                return out
            track, measured = self._light_track(face, lm)
            filters = self._filters(face, 1 if measured is None else measured.age + 1 + measured.skipped)
            # Rebuilt in place: ``sub_out`` is a copy of ``sub_image`` until the rebuilt pixels are written.
            _, changed = self._rebuild(sub_image, hole, valid, reference, lm, lengths, filters, out=sub_out,
                                       track=track, turn=_turn(face), eyes=eyes, jaw=face.reference_jaw,
                                       bleed=self._bleed_filter(face))  # fmt: skip
            if track is not None:
                if track.reused and filters[1] is not None:
                    # (fields reused: the temporal average is neither read nor advanced, the next measured frame
                    # catches up)
                    filters[1].restore()
                self._keep_fields(face, track, measured)
            if opts.carry_frames > 1:
                # (every pixel of the mask is written: where the warp is not valid by the fills, which ``changed``
                # leaves out beside the face)
                self._keep_carry(face, region, sub_out, changed | hole)
            keep_frame(sub_out, sub_image, eyes)
            return out
        filters = self._filters(face)
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
            self.lengths(face_px).scaled(min(sx, sy)),
            filters,
            upsampled=True,
            turn=_turn(face),
            jaw=face.reference_jaw,
            bleed=self._bleed_filter(face),
        )
        rebuilt = cv2.resize(small[0], (rw, rh), interpolation=cv2.INTER_LINEAR)
        changed = cv2.resize(small[1].astype(np.uint8), (rw, rh), interpolation=cv2.INTER_NEAREST) > 0
        _paste(sub_out, rebuilt, changed)
        keep_frame(sub_out, sub_image, eyes)
        return out

    def _carry(
        self, face: FaceROI, region: tuple[slice, slice], hole: np.ndarray, valid: np.ndarray, lengths: _Lengths,
        face_px: float,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(rebuilt, changed): the face's last rebuilt region carried onto ``region`` of this frame (``hole``,
        ``valid``: its mask and the warp's validity), where :attr:`CompositeOptions.carry_frames` allows it; None:
        rebuild. ``changed``: uint8, 1 where ``rebuilt`` holds rebuilt pixels."""
        opts = self.options
        in_frame, centre, size = _in_frame(face)
        last = self._carries.take(centre, size)
        if last is None:
            return None
        if last.carried + 1 >= opts.carry_frames or last.landmarks.shape != in_frame.shape:
            return None
        affine = affine_fit(last.landmarks, in_frame)
        if affine is None:
            return None
        fitted = transform_points(last.landmarks, affine)
        off = float(np.sqrt(np.max(np.sum((fitted - in_frame) ** 2, axis=1))))
        if off > opts.carry_fit * face_px:
            log.debug("not carried: a landmark %.1f px off the affine map", off)
            return None
        rows, cols = region
        origin = np.array([face.box.x0 + cols.start, face.box.y0 + rows.start], np.float64)
        matrix = affine.astype(np.float64)
        matrix[:, 2] = matrix[:, :2] @ last.origin + matrix[:, 2] - origin  # (last region's pixel -> this one's)
        size_wh = (cols.stop - cols.start, rows.stop - rows.start)
        # (one warp for what was rebuilt and what the last region saw: 2 past its border)
        carried = cv2.warpAffine(last.changed, matrix, size_wh, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=2)  # fmt: skip
        changed = cv2.compare(carried, 1, cv2.CMP_EQ) & 1
        # The carried region is pasted on what it rebuilt. The inner half of the blend band, where the warp is valid,
        # must have been rebuilt (the blend shows it over half the frame's): its outer half, where it was not, shows
        # the frame's own pixels, as beside a mask's edge.
        hole_u8 = hole.view(np.uint8)
        uncovered = cv2.bitwise_and(hole_u8, cv2.bitwise_not(changed) & 1)
        nearest = None
        if cv2.hasNonZero(uncovered):
            # (this frame's mask past what was rebuilt, by a pixel or two where the mask moved beside the face: those
            # pixels take the nearest rebuilt one's colour; further: rebuilt)
            # (on the box of those pixels grown past the reach: the nearest rebuilt pixel within it lies inside)
            bx, by, bw, bh = cv2.boundingRect(uncovered)
            m = int(np.ceil(opts.carry_reach)) + 2
            x0, y0 = max(bx - m, 0), max(by - m, 0)
            x1, y1 = min(bx + bw + m, size_wh[0]), min(by + bh + m, size_wh[1])
            box_changed, box_uncovered = changed[y0:y1, x0:x1], uncovered[y0:y1, x0:x1]
            away, labels = cv2.distanceTransformWithLabels(cv2.compare(box_changed, 0, cv2.CMP_EQ), cv2.DIST_L2, 3,
                                                           labelType=cv2.DIST_LABEL_PIXEL)  # fmt: skip
            if not cv2.hasNonZero(box_changed) or cv2.minMaxLoc(away, box_uncovered)[1] > opts.carry_reach:
                log.debug("not carried: the mask reaches past what was rebuilt")
                return None
            # (the labels number the rebuilt pixels in raster order; box pixels -> the region's flat indices)
            to = np.flatnonzero(box_uncovered)
            source = np.flatnonzero(box_changed)[labels.ravel()[to] - 1]
            width = x1 - x0
            nearest = tuple((y0 + k // width) * size_wh[0] + x0 + k % width for k in (to, source))
        dist = distance_to(hole, "composite.dist")
        valid_u8 = valid.view(np.uint8)
        reach = max(0.5 * lengths.band, 0.0)
        if reach > 0:
            # (the eyes and brows are never pasted (:attr:`CompositeOptions.eye_margin`): not needed either)
            pasted = self._off_features(valid, face.landmarks - np.array([cols.start, rows.start], np.float32))
            need = cv2.bitwise_and(cv2.compare(dist, reach, cv2.CMP_LE), pasted.view(np.uint8))
            missing = cv2.countNonZero(cv2.bitwise_and(need, cv2.bitwise_not(changed) & 1))
            total = cv2.countNonZero(need)
            if missing > opts.carry_missing * total:
                log.debug("not carried: %d of the band's %d pixels not covered", missing, total)
                return None
        seen = cv2.cvtColor(face.image[region], cv2.COLOR_RGB2GRAY)
        # (the rebuilt region and the frame's grey region then, as one 4-channel warp)
        both = cv2.warpAffine(last.rebuilt, matrix, size_wh, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        differ = cv2.blur(cv2.absdiff(seen, cv2.extractChannel(both, 3)), (9, 9))
        # (on the ring the colour is matched on: off the mask, within the ring's reach of it, where the warp is valid
        # (the face's skin: the background beside the face does not move with it), and inside what the last region
        # saw (its border replicated is no measure))
        # (and past the blocks' reach beyond the gap: the mask's own pixels, which move with its folds, are not read)
        ring = max(lengths.ring_gap, lengths.stats_gap) + max(lengths.ring, 1.5)
        around = cv2.bitwise_and(cv2.inRange(dist, lengths.ring_gap + 4.5, ring), valid_u8)
        around = cv2.bitwise_and(around, cv2.compare(carried, 2, cv2.CMP_NE))
        moved = cv2.countNonZero(cv2.bitwise_and(cv2.compare(differ, opts.carry_change, cv2.CMP_GE), around))
        total = cv2.countNonZero(around)
        if moved > opts.carry_missing * total:
            log.debug("not carried: the frame changed on %d of the ring's %d pixels", moved, total)
            return None
        rebuilt = cv2.cvtColor(both, cv2.COLOR_RGBA2RGB)
        if nearest is not None:
            flat = rebuilt.reshape(-1, 3)
            flat[nearest[0]] = flat[nearest[1]]
            changed = cv2.bitwise_or(changed, uncovered)
        last.carried += 1
        self._carries.put(centre, size, last)
        log.debug("the face's last rebuilt region carried (landmarks %.1f px off the affine map)", off)
        # (the colour fields' temporal averages count this frame as one that went by: the next rebuilt frame weighs the
        # past as after as many frames measured alike)
        measured = self._fields.take(centre, size)
        if measured is not None:
            self._fields.put(centre, size, replace(measured, skipped=measured.skipped + 1))
        return rebuilt, changed

    def _keep_carry(
        self, face: FaceROI, region: tuple[slice, slice], rebuilt: np.ndarray, changed: np.ndarray
    ) -> None:
        """Keep ``rebuilt`` (``region`` of this face's ROI rebuilt; ``changed``: where) for :meth:`_carry`."""
        rows, cols = region
        in_frame, centre, size = _in_frame(face)
        origin = np.array([face.box.x0 + cols.start, face.box.y0 + rows.start], np.float64)
        both = cv2.cvtColor(rebuilt, cv2.COLOR_RGB2RGBA)
        cv2.insertChannel(cv2.cvtColor(face.image[region], cv2.COLOR_RGB2GRAY), both, 3)
        self._carries.put(centre, size, _Carry(in_frame, origin, both, changed.astype(np.uint8)))

    def _light_track(
        self, face: FaceROI, landmarks: np.ndarray
    ) -> tuple[_LightTrack | None, _MeasuredFields | None]:
        """(track, last): this face's ``light="skin"`` fields to reuse or to measure (None where the options measure
        them on every frame) and what was last measured on it (taken from the history; None: nothing).
        ``landmarks``: the face's in the pixels of the region rebuilt."""
        opts = self.options
        if (opts.field_refresh <= 1 or not opts.color_match or opts.local_color_sigma <= 0 or opts.light != "skin"
                or opts.transfer_std):  # fmt: skip
            return None, None
        in_frame, centre, size = _in_frame(face)
        last = self._fields.take(centre, size)
        track = _LightTrack(_Anchor(landmarks.mean(axis=0).astype(np.float32), size), tolerance=opts.field_reuse_ring)
        if last is not None and last.age + 1 < opts.field_refresh and last.landmarks.shape == in_frame.shape:
            moved = float(np.mean(np.hypot(*(in_frame - last.landmarks).T)))
            if moved <= opts.field_reuse_motion * size:
                track.reuse = last.fields
        return track, last

    def _keep_fields(self, face: FaceROI, track: _LightTrack, last: _MeasuredFields | None) -> None:
        """Put this face's fields back in the history after :meth:`_rebuild` with ``track`` (``last``: what
        :meth:`_light_track` took from it)."""
        in_frame, centre, size = _in_frame(face)
        if track.reused and last is not None:
            self._fields.put(centre, size, replace(last, age=last.age + 1))
        elif track.measured is not None:
            self._fields.put(centre, size, _MeasuredFields(track.measured, in_frame, 0))

    def matched_reference(self, face: FaceROI) -> tuple[Image, np.ndarray]:
        """The composite's intermediate products, for a generator that corrects its output.

        Returns the warped reference colour-matched to this face's visible skin ((h, w, 3) uint8, the
        ROI's size; colour-matched over the hole and the blend band, as warped elsewhere) and where it
        holds warped pixels ((h, w) bool, ``face.valid``). Stateless: the per-face temporal averages of
        :meth:`reconstruct` are neither read nor advanced.
        """
        matched = face.reference.copy()
        face_px = face_size_px(face.landmarks)
        lengths = self.lengths(face_px)
        region = grown_mask_box(face.mask, self.reach_px(face_px), face.mask_box)
        if region is None or not self.options.color_match:
            return matched, face.valid
        hole, valid = face.mask[region] > 0, face.valid[region]
        dist = distance_to(hole)
        lengths = self._off_cloth(face.image[region], hole, valid, dist, lengths)
        paste, ring, stats = self._bands(dist, valid, lengths)
        paste &= self._off_features(valid, face.landmarks - np.array([region[1].start, region[0].start], np.float32))
        opts = self.options
        matched[region] = match_color(
            face.reference[region], face.image[region], ring, paste, opts.local_color_sigma, opts.transfer_std, hole,
            seam_sigma=opts.seam_sigma, stats_ring=stats, light=opts.light, seam_cap=opts.seam_cap, across=opts.across,
            shade=opts.ring_shade, neck_gap=opts.neck_gap,
            mouth=(face.landmarks[list(LIPS_OUTER)] - np.array([region[1].start, region[0].start], np.float32)),
        )
        return matched, face.valid

    def _bleed_filter(self, face: FaceROI) -> Callable[[float | None], float]:
        """The face's cloth bleed averaged over its frames: called with this frame's (a share of the reach looked in;
        None: not read), it returns the average (:attr:`CompositeOptions.bleed_smoothing`) and keeps it for the next."""
        _, centre, size = _in_frame(face)
        last = self._bleeds.take(centre, size)
        weight = self.options.bleed_smoothing

        def smooth(read: float | None) -> float:
            if read is None:
                share = 0.0 if last is None else last
            else:
                share = read if last is None else weight * last + (1.0 - weight) * read
            self._bleeds.put(centre, size, share)
            return share

        return smooth

    @staticmethod
    def _off_cloth(
        image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray, lengths: _Lengths,
        smooth: Callable[[float | None], float] | None = None,
    ) -> _Lengths:
        """``lengths`` with the colour ring's gaps measured from where the frame's skin is clean of the cloth's colour
        (:attr:`CompositeOptions.bleed`; ``dist``: the distance to ``hole``; ``smooth``: :meth:`_bleed_filter`, None:
        this frame's bleed alone)."""
        if lengths.bleed <= 0:
            return lengths
        far = max(lengths.ring_gap, lengths.stats_gap) + lengths.bleed
        read = bleed_px(image, hole, valid, dist, BleedOptions(
            reach=lengths.bleed, skin_from=far, skin_to=far + max(lengths.ring, 1.5),
            cloth_inside=max(lengths.ring_gap, 1.0),
        ))  # fmt: skip
        share = None if read is None else read / lengths.bleed
        px = lengths.bleed * (smooth(share) if smooth is not None else share or 0.0)
        return replace(lengths, ring_gap=max(lengths.ring_gap, px), stats_gap=lengths.stats_gap + px)

    @staticmethod
    def _bands(
        dist: np.ndarray, valid: np.ndarray, lengths: _Lengths, upsampled: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(paste, ring, stats): the hole and its blend band where the warp is valid, the ring of visible
        skin the seam is matched on, and the part of it the colour statistics come from (None: all of it),
        (h, w) bool each, from the distance to the hole."""
        # The band the blend cross-fades over is filled too (where the warp is valid); at a working
        # scale (``upsampled``) one pixel more, so that it still covers the full-size band once scaled back.
        paste = (dist <= ReferenceComposite._band_px(lengths, upsampled)) & valid
        gap, width = lengths.ring_gap, max(lengths.ring, 1.5)
        stats_gap = lengths.stats_gap
        # Skin only: where the warp is valid (the reference's face and the region below its jaw); the
        # mask's colour, hair, shadows and hands are dropped from the ring's statistics as outliers.
        ring = (dist > gap) & (dist <= max(gap, stats_gap) + width) & valid
        return paste, ring, (ring & (dist > stats_gap)) if stats_gap > gap else None

    @staticmethod
    def _beside(dist: np.ndarray, valid: np.ndarray, lengths: _Lengths) -> np.ndarray:
        """(h, w) bool: the colour ring's band (past ``stats_gap``, as its statistics) where the warp does not reach
        (:attr:`CompositeOptions.beside`)."""
        far = max(lengths.ring_gap, lengths.stats_gap)
        return (dist > far) & (dist <= far + max(lengths.ring, 1.5)) & ~valid

    @staticmethod
    def _band_px(lengths: _Lengths, upsampled: bool = False) -> int:
        """How far outside the hole the band the blend cross-fades over is filled (px; ``upsampled``: see
        :meth:`_bands`)."""
        return max(int(np.ceil(lengths.band)), 0) + (1 if upsampled else 0)

    def _off_features(self, valid: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """``valid`` ((h, w) bool) less the eyes and brows of the (468, 2) ``landmarks`` (in its pixels), grown by
        :attr:`CompositeOptions.eye_margin` face sizes."""
        off = self._features_off(valid.shape, landmarks) if valid.any() else None
        return valid if off is None else valid & off

    def _features_off(self, shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray | None:
        """(h, w) bool: the pixels of a region of ``shape`` off the eyes and brows of the (468, 2) ``landmarks`` (in
        its pixels), grown by :attr:`CompositeOptions.eye_margin` face sizes; None where that margin is off."""
        if self.options.eye_margin <= 0:
            return None
        margin = self.options.eye_margin * face_size_px(landmarks)
        return features(shape, landmarks, EYES_AND_BROWS, margin) == 0

    def _surround_fill(
        self, image: np.ndarray, around: np.ndarray, at: np.ndarray, where: tuple[slice, slice],
        lengths: _Lengths, shape: tuple[int, int],
    ) -> np.ndarray:
        """The "surround" fill's colours at the ``at`` pixels ((bh, bw) bool) of the ``where`` box ((M, 3) uint8,
        raster order), read from the frame's ``around`` pixels."""
        opts = self.options
        size = 0.5 * sum(shape)
        if opts.fill_nearest_sigma <= 0:
            return _surround(image, around, max(opts.fill_sigma * size, 1.0), where, at)
        # (the nearest ring pixels of the gaps beside the mask's edge lie within the ring's reach of them)
        reach = int(np.ceil(lengths.ring_gap + max(lengths.ring, 1.5))) + 2
        return _nearest(image, around, max(opts.fill_nearest_sigma * size, 0.5), where, at, reach)

    def _rebuild(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        valid: np.ndarray,
        reference: np.ndarray,
        landmarks: np.ndarray,
        lengths: _Lengths,
        filters: tuple[Callable[[np.ndarray], np.ndarray] | None, Callable[[np.ndarray], np.ndarray] | None] = (None, None),
        out: np.ndarray | None = None,
        upsampled: bool = False,
        track: _LightTrack | None = None,
        turn: float = 0.0,
        eyes: EyeMaps | None = None,
        jaw: JawProfile | None = None,
        bleed: Callable[[float | None], float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rebuild one region (all arrays cropped alike; ``lengths``: the options' distances in its pixels;
        ``upsampled``: it is a working size that will be scaled up; ``turn``: how far the reference's head is turned
        from the frame's, :func:`_turn`; ``eyes``: :func:`eye_maps`, whose ``unsourced`` pixels the band's fill does not
        continue; ``bleed``: :meth:`_bleed_filter`, the face's cloth bleed averaged over its frames).

        Returns the region with the hole and its blend band rebuilt, and the (h, w) bool map of the
        pixels that were rebuilt. ``out``: where to write it (a copy of ``image``, changed in place);
        a new copy if None. ``track``: the face's colour fields from frame to frame (:func:`match_color`).
        """
        opts = self.options
        # Distance of every pixel to the hole (0 inside): the fill band and the ring are distance bands.
        dist = distance_to(hole, "composite.dist")  # (used within this call only)
        lengths = self._off_cloth(image, hole, valid, dist, lengths, bleed)
        paste, ring, stats = self._bands(dist, valid, lengths, upsampled)
        off = self._features_off(valid.shape, landmarks)  # (drawn once: the band fill below reads it too)
        if off is not None:
            valid = valid & off
        paste &= valid
        if out is None:
            out = image.copy()
        if opts.color_match and lengths.ring > 0:
            match_color(
                reference, image, ring, paste, opts.local_color_sigma, opts.transfer_std, hole,
                filters[0], opts.seam_sigma, filters[1], out=out, stats_ring=stats, light=opts.light,
                mouth=landmarks[list(LIPS_OUTER)], seam_cap=opts.seam_cap, track=track, across=opts.across,
                shade=opts.ring_shade, neck_gap=opts.neck_gap,
                beside=(lambda: self._beside(dist, valid, lengths)) if opts.beside else None,
            )
        else:
            _paste(out, reference, paste)
        grow = max(lengths.inpaint_grow, 1.0) if lengths.inpaint_grow > 0 else 0.0
        gaps = (dist <= grow) & ~valid
        outer = inner = None
        if gaps.any() and opts.fill == "surround":
            # On the face (a cheek the warp does not reach) the rebuilt skin continued, never what lies past the mask.
            inner = fill_on_face(out, gaps, hole, paste, landmarks, opts.outside, image=image, turn=turn, jaw=jaw)
            outer = gaps & ~inner
        if outer is not None and outer.any():
            # Beside the face (where the reference's hair or background was not carried over), the frame's
            # surroundings; inside it, Telea from the rebuilt skin around the gap, below.
            gap_px = max(lengths.ring_gap, 1.0)
            around = (dist > gap_px) & (dist <= gap_px + max(lengths.ring, 1.5))
            if np.count_nonzero(around) >= _MIN_RING_PIXELS:
                where = mask_bbox(outer, int(np.ceil(lengths.fill_feather)) + 1, hole.shape)
                assert where is not None
                at = outer[where]
                # (by row and column: a boolean index of the region's view costs several times more)
                out[where][_coords(at)] = self._surround_fill(image, around, at, where, lengths, hole.shape)
                feather_into_fill(out[where], at, (paste | inner)[where], lengths.fill_feather)
                gaps &= ~outer
        telea = gaps if inner is None else gaps & ~inner
        if telea.any():
            r = max(int(round(lengths.inpaint_radius)), 1)
            where = mask_bbox(telea, 2 * r + 2, hole.shape)
            assert where is not None
            patch = np.ascontiguousarray(out[where])
            out[where] = cv2.inpaint(patch, telea[where].astype(np.uint8), r, cv2.INPAINT_TELEA)
        # (the pasted neck's side faded into the frame's neck in the band below the mask: no vertical step)
        fade_neck_side(out, paste, dist, self._band_px(lengths, upsampled), landmarks, opts.outside.neck_side)
        changed = paste | gaps
        if opts.fill == "surround":
            # (the band outside the hole the paste left as the frame, on the face: the rebuilt skin continued)
            band = (dist > 0) & (dist <= self._band_px(lengths, upsampled)) & ~changed
            source = changed if off is None else changed & off
            if eyes is not None and eyes.unsourced is not None:  # (not the reference's liner beside the frame's eyes)
                source = source.copy() if source is changed else source
                source[eyes.box] &= ~eyes.unsourced
            changed |= fill_band(out, band, source, landmarks, opts.outside)
        return out, changed
