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

The colour match is :mod:`~unmask_video.reconstruct.color_match` (with ``light="skin"``,
:mod:`~unmask_video.reconstruct.skin_light` and the modules it draws on), the colours of the fill beside the face
:mod:`~unmask_video.reconstruct.surround`, the distances and bands around the hole
:mod:`~unmask_video.reconstruct.composite_bands`, the per-face state from frame to frame
:mod:`~unmask_video.reconstruct.face_history`: the colour correction, the cloth's bleed and the fringe's colours
averaged over frames :mod:`~unmask_video.reconstruct.face_averages`, when the skin light's fields are measured or
reused :mod:`~unmask_video.reconstruct.field_refresh`, the last rebuilt region carried onto a still face's next frame
:mod:`~unmask_video.reconstruct.rebuilt_carry`. The blend back into the frame, which every reconstructor's output goes
through, is :mod:`unmask_video.blend`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import cv2
import numpy as np

from unmask_video.blend import DEFAULT_BLEND_WIDTH, grown_mask_box, mask_bbox
from unmask_video.face_shape import yaw
from unmask_video.face_units import FaceLength, face_size_px
from unmask_video.jaw_outline import JawProfile
from unmask_video.landmark_sets import EYES_AND_BROWS, LIPS_OUTER
from unmask_video.reconstruct.cloth_bleed import (
    BleedOptions, Medians, bleed_px, cloth_fringe, fringe_medians,
)
from unmask_video.reconstruct.color_match import match_color
from unmask_video.reconstruct.composite_bands import Lengths, band_px, bands, beside, with_fringe
from unmask_video.reconstruct.eye_keep import EyeKeepOptions, EyeMaps, eye_maps, keep_frame
from unmask_video.reconstruct.face_averages import FaceAverages
from unmask_video.reconstruct.face_history import Located, face_in_frame
from unmask_video.reconstruct.field_refresh import FieldRefresh
from unmask_video.reconstruct.fill_seam import distance_to, feather_into_fill
from unmask_video.reconstruct.lab_pixels import coords_of, paste_at
from unmask_video.reconstruct.light_fields import LightTrack
from unmask_video.reconstruct.neck_side import fade_neck_side
from unmask_video.reconstruct.outside_fill import OutsideFillOptions, above_jaw_corners, fill_band, fill_on_face
from unmask_video.reconstruct.rebuilt_carry import RebuiltCarry
from unmask_video.reconstruct.skin_grain import FrameGrain, frame_grain
from unmask_video.reconstruct.ridge_detail import RidgeDetailOptions, RidgeTrack, carry_ridge_detail
from unmask_video.reconstruct.ring_colour import MIN_RING_PIXELS
from unmask_video.reconstruct.surround import in_front, nearest_colour, skin_coloured, surround
from unmask_video.reconstruct.under_jaw_shade import ShadeTrack, UnderJawOptions, lift_under_jaw_shade
from unmask_video.reference_matte import features
from unmask_video.reference_shade import ReferenceShade
from unmask_video.stages import FaceROI, Image

__all__ = ["CompositeOptions", "ReferenceComposite", "match_color"]

#: The rebuilt skin's colour that tells a finger in front of the mask is read on every this many of its pixels.
_SKIN_STEP = 7


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
    #: the ring does not flicker with the compression's noise. It is read only on the frames the colour fields are
    #: measured on (:attr:`field_refresh`); between them the average holds.
    bleed_smoothing: float = 0.8
    #: The hole takes in the pixels at most this far past it, above the mouth's corners, whose chroma is still more the
    #: cloth's than the skin's and, beside a white or grey cloth, whose lightness leans to the cloth's too
    #: (:func:`~unmask_video.reconstruct.cloth_bleed.cloth_fringe`): a top corner of the cloth the segmentation missed
    #: (where the ear loop joins the mask) showed past the hole as a cloth-coloured fleck, and the white mask's pale edge
    #: there as a pale streak beside a pink one. (Not lower: a hood's pale lining under the jaw leans to a grey mask's
    #: chroma as much. Not by chroma alone: dark hair beside a white mask leans to its chroma as far.)
    #: ``FaceLength(0.0)``: off.
    fringe: FaceLength = FaceLength(5.0, 3.0)
    #: ... at least this share of the way from the skin's chroma to the cloth's.
    fringe_lean: float = 0.5
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
    #: With the nearest fill: the frame's pixels past the mask that lie in its notches and holes (what a closing of the
    #: mask by a disk of this many ``band`` widths fills: a finger or a hand laid over the mask), above the jaw's corners,
    #: are not read where the side of the face holds others (:func:`~unmask_video.reconstruct.surround.in_front`; below
    #: them a hood's lining the mask's outline takes in closes pockets of the neck): the gap beside the jaw
    #: under a knuckle took the finger's colour (KF94's frames 166-172, a pale wedge between the rebuilt jaw and the
    #: hair behind the hand). 0: every pixel past the mask is read.
    fill_front_reach: float = 2.5
    #: ... and whose median colour lies within this (8-bit Lab a, b) of the rebuilt skin's (a finger: not a hood's pale
    #: lining that the mask's outline takes in round a pocket of the wall).
    fill_front_tolerance: float = 10.0
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
    #: visible skin on the ring (its own colour variation, :func:`ring_colour.robust`): a collar, a hood or a fringe of
    #: the mask at the mask's edge, far from any skin colour, cannot drag the rebuilt skin towards its colour (lp_d12's
    #: teal collar tinted the neck). 0: no cap.
    seam_cap: float = 3.0
    #: Where the rebuilt face's light comes from (with ``local_color_sigma`` > 0): "ring", the difference of the
    #: frame and the reference on the ring spread inwards and applied as per-channel gains (up to 4x: with a photo
    #: taken in other light it carries the photo's highlights and shadows, amplified); or "skin", the frame's
    #: visible skin against the reference's own smooth skin light (its hair or background in the ring does not
    #: count, nor the frame's collar or hair), the reference's highlights and shadows scaled down to the contrast
    #: the frame's skin shows, its colour's strays (a blush, acne) no further than the frame's visible skin's own (not
    #: the lips, found near the mouth's landmarks, nor lipstick), its detail carried with a bounded gain
    #: (:func:`skin_light.match_skin_light`). "skin" looks right on real clips with a photo in other light
    #: and gains with a relit reference on the quality benchmark; it costs 1.0-1.4x "ring" (benchmarks/README.md).
    light: str = "skin"
    #: With ``light="skin"``: where the ring shows that the reference's light across the face is not the frame's (their
    #: slopes of lightness, or of redness, from the ring's left end to its right differ,
    #: :func:`light_plane.across_share`), up to this share of the reference's own slope across the face (its skin's, from
    #: one cheek to the other, fitted where it is pasted; per Lab channel, L and a) is replaced by the frame's (its slope
    #: across the ring) before its light is matched (its yellowness across is left to the colour bound). A stand-in photo
    #: lit from one side no longer carries its bright, pale, bleached cheek onto a face lit evenly (nor a colour step at
    #: the mask's side edge there); a photo in the frame's own light is left as it is. 0: never.
    across: float = 1.0
    #: With ``light="skin"``: ring pixels where the warped reference is in a shade the frame does not show there (its
    #: luminance relative to its own smooth skin light's below this fraction of the frame's relative to its own: a
    #: stand-in's eye sockets, lower lids and lashes under the frame's lit lower lids) weigh ``_SHADE_WEIGHT`` in the
    #: light field and are left out of the seam's match (:func:`ring_weights.in_own_shade`). They raised the whole
    #: rebuilt face's light and, through the seam, laid a pale band along the mask's top edge (the grey-mask man with a
    #: stand-in); a shade in both (the person's own photo, a face lit alike) still counts. 0: off.
    ring_shade: float = 0.5
    #: With ``light="skin"``: the ring's pixels below the mouth (the neck under the jaw) weigh less in the light field
    #: where the change of light they show (frame minus reference, median over the frame's skin) differs from the one
    #: the ring shows above the mouth (beside the nose, under the eyes) by more than this many Lab units, down to
    #: ``_NECK_WEIGHT`` at twice it (:func:`ring_weights.neck_weight`), once the part of the difference the face's own
    #: change down the ring leads to is taken off (:func:`ring_weights._unexplained`). A reference's neck lies in its
    #: jaw's shadow in one photo and is lit in another: with a stand-in in other light, his lit neck against its shaded
    #: one lifted the whole rebuilt lower face (the grey-mask man). A photo of the same person in other light (a light
    #: from above or below) shows a gap too, mostly one the face's trend above the mouth leads to; only a neck lighter
    #: by the change than the face weighs less (a frame's own shade there, her hands under her chin, is the frame's
    #: light). 8: the grey-mask man's stand-in neck is 16-23 apart once the trend is taken off (weighed 0.1 from 16), a
    #: same-person photo relit on the quality benchmark (a gain ramp and a gamma) at most 14; with 4 lp_d11's relit row
    #: lost 0.05 cast (benchmarks/README.md, helpers neckside and neckgap). 0: off.
    neck_gap: float = 8.0
    #: With ``light="skin"``: this share of the warped reference's own smooth skin light (its large-scale light over
    #: where it is pasted, around its median: a chin, jaw or cheek edge darker or lighter than the rest under its lamp)
    #: is taken out before its light is matched, times how far its colour strays on the ring are not the frame's (1 at
    #: the colour bound's trust 0, :func:`~unmask_video.reconstruct.skin_chroma.chroma_bound`, down to 0 at a trust
    #: of 0.5: the person's own photo with a colour cast is 0.6); its detail around that light is kept, the frame's
    #: light comes from the ring (the light field and its slope down the face). A stand-in photo (someone else's face,
    #: the usual reference taken in other light) pastes less of its own shading: the white-mask woman's dark
    #: image-left cheek and chin lightened (1.0 levels more, but loses up to 0.7 dB on lp_d11 of the quality
    #: benchmark; benchmarks/README.md, skinmatch). 0: off.
    level_light: float = 0.5
    #: With ``light="skin"``: the reference's skin texture (its fine grain, its blotches and spots, a patch lit by its
    #: lamp) is scaled down, band by band, to at most ``skin_grain.ANATOMY`` times what the frame's visible upper face
    #: shows (its forehead and cheeks above the mask, read where the colour fields are measured;
    #: :mod:`~unmask_video.reconstruct.skin_grain`), in place of the ring's fine detail ratio: a stand-in photo, sharper
    #: and blotchier than the video, no longer pastes its acne and its lit and dark patches onto a smooth face (the
    #: grey-mask man); the person's own photo is left as it is.
    grain: bool = True
    #: With ``grain``: the frame skin's bands are read on one in this many of the frames of a face that measure the
    #: colour fields (and on its first), and held between (:meth:`FaceAverages.grain`; 1: on each).
    grain_refresh: int = 3
    #: With ``light="skin"``: the frame's skin in the colour ring's band where the warp does not reach (a neck or cheek
    #: beside a narrower warped face: a reference from elsewhere) is compared with the reference's smooth skin light
    #: continued there, in the light field and its slope down the face.
    beside: bool = True
    #: With ``light="skin"``: the colour fields measured on the ring (the light field, the contrast, the colour bound
    #: and the highlights' knee: most of the composite's work) are measured afresh on one frame in this many of a face
    #: and reused on the frames between, moved with the face, while it moves less than ``field_reuse_motion``
    #: (:class:`light_fields.LightFields`); the reference's own smooth skin light and detail are taken from every frame.
    #: 1: every frame. The fields are smooth and averaged over the frames of a face anyway (``color_smoothing``); on
    #: reused frames that average holds, and the next measured frame weighs the frames it stood for. Quality benchmark,
    #: 20 frames, true mask: 2 and 3 as 1 within 0.02 dB on every clip (24.94 dB, cast 0.97 / 0.98, TDE 4.01 / 4.02);
    #: ``benchmarks.composite_speed``: the composite 0.83-0.94x the CPU of 1, colour match 0.73-0.85x; 3 a further
    #: 0.94-1.0x. (Reusing the seam field too moved a frame where a hand left the ring by 7 levels: it is not reused.) 3
    #: (was 2, issue 14, speed7): overall within 0.01 dB / 0.01 cast / 0.01 TDE of 2, every clip within 0.05 dB.
    field_refresh: int = 3
    #: Reuse only while the face's landmarks moved, on average, less than this fraction of the face's width since the
    #: frame the fields were measured on (a turn, a nod or a fast step is measured afresh).
    field_reuse_motion: float = 0.02
    #: Nor when the ring of visible skin the fields were measured on changed by more than this fraction of its pixels
    #: (relative to the face's size): the warp covers more or less of the neck, a hand or hair crosses it.
    field_reuse_ring: float = 0.1
    #: With ``field_refresh`` > 1: the three reads that go with a measure of the colour fields (the mask's and the
    #: reference skin's colours, :func:`ring_colour.hole_colours`; the cloth's bleed; the colours the cloth's fringe is
    #: told by) are made one at a time, in turn, on the frames of a face that reuse the fields (all three on its first
    #: frame), instead of all three on each measuring frame; a measuring frame makes one only where the face's last
    #: read is ``field_refresh`` or more rebuilt frames back (a face that keeps moving: one frame in that many).
    #: Between its reads each holds its last value, as between measures. The measuring frame, the composite's slowest,
    #: then no longer carries them (2-3 ms of its 6-7 ms more than a reusing frame at 720p); a reusing frame carries
    #: one (0.5-1 ms).
    #: Live mode turns it on (:func:`unmask_video.live.reconstructor_options_for_live`: the processing thread's tail,
    #: issue 14); a file run keeps it off.
    reads_in_turn: bool = False
    #: Carry the last rebuilt region, moved by the face's motion, instead of rebuilding it, on at most ``carry_frames
    #: - 1`` frames in a row of a face (1: rebuild every frame): when one affine map takes the last rebuilt frame's
    #: landmarks to this one's within ``carry_fit`` (a jaw that opens or closes, a turn that one map does not follow:
    #: rebuilt), the carried region covers all but ``carry_missing`` of the inner half of this frame's blend band, and
    #: the frame's skin on the colour ring (blocks of 9 x 9 pixels, past the ring's gap) differs from the last one
    #: carried by the same map by ``carry_change`` grey levels on at most ``carry_missing`` of it (a hand, a shadow, a
    #: light that changes: rebuilt), and this frame's mask lies within ``carry_reach`` of what was rebuilt. The
    #: steadying (:mod:`unmask_video.steady_face`) mixes the past into every frame anyway; a carried 720p face costs
    #: about a fifth of a rebuilt one. The colour fields' temporal averages count the carried frames
    #: (:class:`~unmask_video.reconstruct.field_refresh.MeasuredFields`). Quality benchmark, 20 frames: every clip
    #: within 0.05 dB, cast 0.03, TDE +0.06 of 1 (benchmarks/README.md).
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
    #: With the colour match: the reference photo's own deep shade under its jaw, where neither the rebuilt chin above
    #: it nor the frame's neck seen below the mask is so dark, lifted towards the frame's light
    #: (:func:`~unmask_video.reconstruct.under_jaw_shade.lift_under_jaw_shade`): a stand-in photographed from below
    #: left a grey band under the rebuilt chin (the grey-mask man). Only for a photo with such a shade of its own
    #: (``FaceROI.reference_shade``, read once when it is loaded). ``UnderJawOptions(depth=-1)``: off.
    under_jaw: UnderJawOptions = UnderJawOptions()
    #: The frame's narrow detail across the nose's ridge, read on its skin just above the mask's top edge, laid along
    #: the ridge over the rebuilt band and a little way into the hole, fading
    #: (:func:`~unmask_video.reconstruct.ridge_detail.carry_ridge_detail`): a bridge's lit streak no longer ends in a
    #: step at the edge where the reference's ridge is wider and duller. ``RidgeDetailOptions(carry=FaceLength(0.0))``:
    #: off.
    ridge: RidgeDetailOptions = RidgeDetailOptions()


def _region_lips(face: FaceROI, region: tuple[slice, slice]) -> np.ndarray | None:
    """Where the warp put the reference's own lips (``FaceROI.reference_lips``) in the pixels of ``region`` of the
    face's ROI; None: not known."""
    if face.reference_lips is None:
        return None
    return face.reference_lips - np.array([region[1].start, region[0].start], np.float32)


def _turn(face: FaceROI) -> float:
    """How far the reference's head is turned from the ``face``'s (:func:`~unmask_video.warp.yaw`, the reference's less
    the frame's; 0 where the reference's is not known)."""
    return 0.0 if face.reference_yaw is None else face.reference_yaw - yaw(face.landmarks)


class ReferenceComposite:
    """``--generator none``: rebuild the masked part of each face from the warped reference."""

    name = "none"
    provider = "numpy/OpenCV"

    def __init__(self, options: CompositeOptions | None = None) -> None:
        self.options = options or CompositeOptions()
        #: Per face: its colour correction, the cloth's bleed and the fringe's colours averaged or held over frames.
        self._averages = FaceAverages(self.options)
        #: Per face: the ``light="skin"`` fields last measured on it, and which reads go with a measure
        #: (:attr:`CompositeOptions.field_refresh`, :attr:`CompositeOptions.reads_in_turn`).
        self._refresh = FieldRefresh(self.options)
        #: Per face: its last rebuilt region, to carry onto the next frame (:attr:`CompositeOptions.carry_frames`).
        self._carried = RebuiltCarry(self.options)
        #: The last eyes-and-brows map drawn (:meth:`_features_off`): its region's shape, landmarks and margin, and the
        #: map. A frame whose carry test drew it before the frame was rebuilt after all reads it again.
        self._features_drawn: tuple[tuple[int, int], np.ndarray, float, np.ndarray] | None = None

    def lengths(self, face_px: float) -> Lengths:
        """The options' distances in pixels on a face of ``face_px`` (``face_units.face_size_px``)."""
        opts = self.options
        return Lengths(
            opts.band.px(face_px), opts.ring.px(face_px), opts.ring_gap.px(face_px), opts.stats_gap.px(face_px),
            opts.inpaint_radius.px(face_px), opts.inpaint_grow.px(face_px), opts.fill_feather.px(face_px),
            opts.bleed.px(face_px), opts.fringe.px(face_px),
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
        located = face_in_frame(face)
        if scale >= 1.0:
            lengths = self.lengths(face_px)
            # (the carry test's and the rebuild's: drawn once, in the rebuild's scratch buffer)
            dist = distance_to(hole, "composite.dist")
            carry = (self._carry(face, region, hole, valid, lengths, face_px, located, dist) if opts.carry_frames > 1
                     else None)  # fmt: skip
            if carry is not None:
                paste_at(sub_out, *carry)
                keep_frame(sub_out, sub_image, eyes)
                return out
            track, measured = self._refresh.track(lm, located)
            filters = self._averages.colour(face, 1 if measured is None else measured.age + 1 + measured.skipped)
            reads = self._refresh.reads_now(track, measured)
            ridge = None if track is None else RidgeTrack(None if measured is None else measured.ridge)
            lift = None if track is None else ShadeTrack(None if measured is None else measured.lift)
            # Rebuilt in place: ``sub_out`` is a copy of ``sub_image`` until the rebuilt pixels are written.
            _, changed = self._rebuild(sub_image, hole, valid, reference, lm, lengths, filters, out=sub_out,
                                       track=track, turn=_turn(face), eyes=eyes, jaw=face.reference_jaw,
                                       bleed=self._averages.bleed(located),
                                       fringe=self._averages.fringe(located), reads=reads,
                                       shade=face.reference_shade, ridge=ridge, lift=lift,
                                       lips=_region_lips(face, region), dist=dist,
                                       grain=self._grain_of(face, located, face_px))  # fmt: skip
            if track is not None:
                if track.reused and filters[1] is not None:
                    # (fields reused: the temporal average is neither read nor advanced, the next measured frame
                    # catches up)
                    filters[1].restore()
                self._refresh.keep(track, measured, located, None if ridge is None else ridge.held,
                                   None if lift is None else lift.held)  # fmt: skip
            if opts.carry_frames > 1:
                # (every pixel of the mask is written: where the warp is not valid by the fills, which ``changed``
                # leaves out beside the face)
                self._carried.keep(face, region, sub_out, changed | hole, located)
            keep_frame(sub_out, sub_image, eyes)
            return out
        filters = self._averages.colour(face)
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
            bleed=self._averages.bleed(located),
            fringe=self._averages.fringe(located),
            shade=face.reference_shade,
            lips=None if (lips := _region_lips(face, region)) is None else (lips + 0.5) * np.float32([sx, sy]) - 0.5,
        )
        rebuilt = cv2.resize(small[0], (rw, rh), interpolation=cv2.INTER_LINEAR)
        changed = cv2.resize(small[1].astype(np.uint8), (rw, rh), interpolation=cv2.INTER_NEAREST) > 0
        paste_at(sub_out, rebuilt, changed)
        keep_frame(sub_out, sub_image, eyes)
        return out

    def _grain_of(
        self, face: FaceROI, located: Located, face_px: float
    ) -> Callable[[float], FrameGrain | None] | None:
        """What reads the frame skin's bands on ``face``'s upper face at a working scale
        (:func:`~unmask_video.reconstruct.skin_grain.frame_grain`), held between reads (:meth:`FaceAverages.grain`;
        ``located``: :func:`face_in_frame` of it, ``face_px`` its size); None: :attr:`CompositeOptions.grain` is off."""
        if not self.options.grain:
            return None
        return self._averages.grain(located, lambda k: frame_grain(face.image, face.landmarks, face.mask, k),
                                    face_px)  # fmt: skip

    def _carry(
        self, face: FaceROI, region: tuple[slice, slice], hole: np.ndarray, valid: np.ndarray, lengths: Lengths,
        face_px: float, located: Located, dist: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(rebuilt, changed): the face's last rebuilt region carried onto ``region`` of this frame
        (:meth:`RebuiltCarry.take`; ``dist``: the distance to ``hole``, if drawn); None: rebuild. A carried frame counts
        as one that went by for the colour fields' temporal averages."""
        carried = self._carried.take(face, region, hole, valid, lengths, face_px, located, self._off_features, dist)
        if carried is not None:
            # (the colour fields' temporal averages count this frame as one that went by: the next rebuilt frame weighs
            # the past as after as many frames measured alike)
            self._refresh.carried(located)
        return carried

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
        paste, ring, stats = bands(dist, valid, lengths)
        paste &= self._off_features(valid, face.landmarks - np.array([region[1].start, region[0].start], np.float32))
        opts = self.options
        matched[region] = match_color(
            face.reference[region], face.image[region], ring, paste, opts.local_color_sigma, opts.transfer_std, hole,
            seam_sigma=opts.seam_sigma, stats_ring=stats, light=opts.light, seam_cap=opts.seam_cap, across=opts.across,
            shade=opts.ring_shade, neck_gap=opts.neck_gap, level=opts.level_light,
            mouth=(face.landmarks[list(LIPS_OUTER)] - np.array([region[1].start, region[0].start], np.float32)),
            lips=_region_lips(face, region),
        )
        return matched, face.valid

    def _fringe(
        self, image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray, landmarks: np.ndarray,
        lengths: Lengths, reader: Callable[[bool, Callable[[], Medians | None]], Medians | None] | None,
        measured: bool,
    ) -> np.ndarray | None:
        """The cloth's fringe above the mouth taken into the hole (:attr:`CompositeOptions.fringe`), its colours from
        ``reader`` (:meth:`FaceAverages.fringe`; None: read on this frame); None: none."""
        if lengths.fringe <= 0:
            return None

        def read() -> Medians | None:
            return fringe_medians(image, hole, valid, dist)

        medians = read() if reader is None else reader(measured, read)
        if medians is None:
            return None
        return cloth_fringe(image, hole, valid, dist, lengths.fringe, self.options.fringe_lean, medians=medians,
                            landmarks=landmarks)  # fmt: skip

    @staticmethod
    def _off_cloth(
        image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray, lengths: Lengths,
        smooth: Callable[[float | None], float] | None = None, read: bool = True,
    ) -> Lengths:
        """``lengths`` with the colour ring's gaps measured from where the frame's skin is clean of the cloth's colour
        (:attr:`CompositeOptions.bleed`; ``dist``: the distance to ``hole``; ``smooth``: :meth:`FaceAverages.bleed`, None:
        this frame's bleed alone; ``read``: False where the colour fields are reused, :attr:`CompositeOptions.
        field_refresh`: the bleed not read, its average held)."""
        if lengths.bleed <= 0:
            return lengths
        share = None  # (not read: :meth:`FaceAverages.bleed` holds its average)
        if read or smooth is None:
            far = max(lengths.ring_gap, lengths.stats_gap) + lengths.bleed
            found = bleed_px(image, hole, valid, dist, BleedOptions(
                reach=lengths.bleed, skin_from=far, skin_to=far + max(lengths.ring, 1.5),
                cloth_inside=max(lengths.ring_gap, 1.0),
            ))  # fmt: skip
            share = None if found is None else found / lengths.bleed
        px = lengths.bleed * (smooth(share) if smooth is not None else share or 0.0)
        return replace(lengths, ring_gap=max(lengths.ring_gap, px), stats_gap=lengths.stats_gap + px)

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
        drawn = self._features_drawn
        if drawn is not None and drawn[0] == shape and drawn[2] == margin and np.array_equal(drawn[1], landmarks):
            return drawn[3]
        off = features(shape, landmarks, EYES_AND_BROWS, margin) == 0
        self._features_drawn = (shape, np.array(landmarks, copy=True), margin, off)
        return off

    def _surround_fill(
        self, image: np.ndarray, around: np.ndarray, at: np.ndarray, where: tuple[slice, slice],
        lengths: Lengths, shape: tuple[int, int], front: np.ndarray | None = None,
    ) -> np.ndarray:
        """The "surround" fill's colours at the ``at`` pixels ((bh, bw) bool) of the ``where`` box ((M, 3) uint8,
        raster order), read from the frame's ``around`` pixels (the nearest fill: those past what lies in front of the
        mask, ``front`` ((h, w) bool; None: none), first, :attr:`CompositeOptions.fill_front_reach`)."""
        opts = self.options
        size = 0.5 * sum(shape)
        if opts.fill_nearest_sigma <= 0:
            return surround(image, around, max(opts.fill_sigma * size, 1.0), where, at)
        # (the nearest ring pixels of the gaps beside the mask's edge lie within the ring's reach of them)
        reach = int(np.ceil(lengths.ring_gap + max(lengths.ring, 1.5))) + 2
        return nearest_colour(image, around, max(opts.fill_nearest_sigma * size, 0.5), where, at, reach, front)

    def _rebuild(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        valid: np.ndarray,
        reference: np.ndarray,
        landmarks: np.ndarray,
        lengths: Lengths,
        filters: tuple[Callable[[np.ndarray], np.ndarray] | None, Callable[[np.ndarray], np.ndarray] | None] = (None, None),
        out: np.ndarray | None = None,
        upsampled: bool = False,
        track: LightTrack | None = None,
        turn: float = 0.0,
        eyes: EyeMaps | None = None,
        jaw: JawProfile | None = None,
        bleed: Callable[[float | None], float] | None = None,
        fringe: Callable[[bool, Callable[[], Medians | None]], Medians | None] | None = None,
        reads: tuple[bool, bool] | None = None,
        shade: ReferenceShade | None = None,
        ridge: RidgeTrack | None = None,
        lift: ShadeTrack | None = None,
        lips: np.ndarray | None = None,
        dist: np.ndarray | None = None,
        grain: Callable[[float], FrameGrain | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rebuild one region (all arrays cropped alike; ``lengths``: the options' distances in its pixels;
        ``upsampled``: it is a working size that will be scaled up; ``turn``: how far the reference's head is turned
        from the frame's, :func:`_turn`; ``eyes``: :func:`eye_maps`, whose ``unsourced`` pixels the band's fill does not
        continue; ``bleed``: :meth:`FaceAverages.bleed`, the face's cloth bleed averaged over its frames; ``fringe``:
        :meth:`FaceAverages.fringe`, the colours the face's cloth fringe is told by, held between measured frames;
        ``reads``: whether this frame reads each of the two, :meth:`FieldRefresh.reads_now`; None: where it measures the
        colour fields; ``shade``: the reference photo's own light under its jaw, ``FaceROI.reference_shade``;
        ``ridge``: the face's detail along the nose's ridge, measured where the colour fields are and laid again where
        ``track`` reuses them, :class:`RidgeTrack`; None: measured on this frame; ``lift``: the face's lift of the
        photo's shade under the jaw, decided where the colour fields are measured and laid again where ``track`` reuses
        them, :class:`ShadeTrack`; None: decided on this frame; ``lips``: where the warp put the reference's own lips,
        ``FaceROI.reference_lips`` in the region's pixels; None: not known; ``dist``: :func:`distance_to` of ``hole`` in
        the scratch buffer ``"composite.dist"`` where the caller drew it; None: drawn here; ``grain``: what reads the frame
        skin's bands, :meth:`_grain_of`; None: not read).

        Returns the region with the hole and its blend band rebuilt, and the (h, w) bool map of the
        pixels that were rebuilt. ``out``: where to write it (a copy of ``image``, changed in place);
        a new copy if None. ``track``: the face's colour fields from frame to frame (:func:`match_color`).
        """
        opts = self.options
        # Distance of every pixel to the hole (0 inside): the fill band and the ring are distance bands.
        dist = distance_to(hole, "composite.dist") if dist is None else dist  # (used within this call only)
        measured = track is None or track.reuse is None
        read_bleed, read_fringe = (measured, measured) if reads is None else reads
        lengths = self._off_cloth(image, hole, valid, dist, lengths, bleed, read_bleed)
        paste, ring, stats = bands(dist, valid, lengths, upsampled)
        taken = self._fringe(image, hole, valid, dist, landmarks, lengths, fringe, read_fringe)
        if taken is not None:
            hole, dist, paste = with_fringe(hole, taken, valid, lengths, upsampled, ring, stats)
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
                mouth=landmarks[list(LIPS_OUTER)], lips=lips, seam_cap=opts.seam_cap, track=track, across=opts.across,
                shade=opts.ring_shade, neck_gap=opts.neck_gap, level=opts.level_light,
                beside=(lambda: beside(dist, valid, lengths)) if opts.beside else None, grain=grain,
            )
            if shade is not None:
                if lift is not None:
                    lift.reuse = track is not None and track.reused
                lift_under_jaw_shade(out, image, reference, hole, paste, dist, landmarks, shade, opts.under_jaw, lift)
        else:
            paste_at(out, reference, paste)
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
            if np.count_nonzero(around) >= MIN_RING_PIXELS:
                front = None
                if opts.fill_front_reach > 0 and opts.fill_nearest_sigma > 0:
                    front = in_front(hole, opts.fill_front_reach * lengths.band,
                                     opts.outside.loop_width * face_size_px(landmarks))  # fmt: skip
                    if front is not None:
                        # (beside the cheeks only: below the jaw's corners a collar or a hood's lining the mask's
                        # outline takes in closes pockets of the neck, which lies beside the face)
                        front &= above_jaw_corners(front.shape, landmarks)
                        # (a finger is skin-coloured: the rebuilt skin's colour, every few pixels of it)
                        skin = out[coords_of(paste)][:: _SKIN_STEP]
                        front = skin_coloured(front, image, skin, opts.fill_front_tolerance) if front.any() else None
                where = mask_bbox(outer, int(np.ceil(lengths.fill_feather)) + 1, hole.shape)
                assert where is not None
                at = outer[where]
                # (by row and column: a boolean index of the region's view costs several times more)
                out[where][coords_of(at)] = self._surround_fill(image, around, at, where, lengths, hole.shape, front)
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
        fade_neck_side(out, paste, dist, band_px(lengths, upsampled), landmarks, opts.outside.neck_side)
        changed = paste | gaps
        if opts.fill == "surround":
            # (the band outside the hole the paste left as the frame, on the face: the rebuilt skin continued)
            band = (dist > 0) & (dist <= band_px(lengths, upsampled)) & ~changed
            source = changed if off is None else changed & off
            if eyes is not None and eyes.unsourced is not None:  # (not the reference's liner beside the frame's eyes)
                source = source.copy() if source is changed else source
                source[eyes.box] &= ~eyes.unsourced
            changed |= fill_band(out, band, source, landmarks, opts.outside)
        if ridge is not None:
            ridge.reuse = track is not None and track.reused
        carry_ridge_detail(out, image, hole, changed, dist, landmarks, lengths.ring_gap,
                           band_px(lengths, upsampled), face_size_px(landmarks), opts.ridge, ridge)  # fmt: skip
        return out, changed
