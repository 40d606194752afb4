"""Thin-plate-spline warp of the reference still onto each frame's face.

The spline is fitted on the :data:`~unmask_video.landmark_sets.TPS_CONTROL` landmarks and used as a
*backward* map: for every pixel of the target face ROI it gives the reference-image position to
sample, which is what :func:`cv2.remap` wants. The map is evaluated on a coarse grid and upsampled
with a bilinear resize (the spline is smooth, so this loses nothing visible and saves most of the
cost), then the reference is resampled once.

Below the jaw FaceMesh has no landmarks, yet a worn mask reaches onto the neck. The spline also gets
control points extrapolated from the reference's face geometry (:func:`below_jaw_points`: the underside of
the jaw and the upper neck, at fixed fractions of the face height below the lower jaw line), so the
reference's chin, jaw and upper neck are carried onto the frame's, not left to an inpainting fill.

Under a mask FaceMesh cannot see the jaw and mouth: its guess there is biased (the chin placed too high)
and jitters. So a frame's control points under the mask (below the jaw, and on the jaw and mouth) are the
reference's own, carried onto the frame by the least-squares similarity of the landmarks FaceMesh does
see (:data:`~unmask_video.landmark_sets.STABLE_FACE`: eyes, brows, nose bridge, temples); only those
points above the mask follow FaceMesh directly (``neck_from_reference``, ``jaw_from_reference``).

The validity map says where the warp is trustworthy: inside the reference image and on the reference's own face
and neck skin (:mod:`unmask_video.reference_matte`, decided once when the reference is loaded: not its wall, hair,
clothes or glasses frames), carried through the same map, and not where the spline folds or crushes the reference
(tracking failures). Where the region below the jaw runs past the
reference picture's edge (a low face in a video frame), the picture is continued by its mirror image,
valid only where the mirrored pixel is itself neck: the skin continues without a seam or an inpainted
smear. A reference photo much bigger than the target face is sampled from a
Gaussian pyramid level, so shrinking it does not alias.

The spline itself is :mod:`unmask_video.tps`, its maps and the remap with the validity
:mod:`unmask_video.warp_maps`, the control points below the jaw :mod:`unmask_video.below_jaw`, what is read off a
face's landmarks (its oval, turn, rigid frame and size) :mod:`unmask_video.face_shape`, the reference photo's bars,
ear loops and skin colour :mod:`unmask_video.reference_picture`; the registration is
:mod:`unmask_video.warp_register`, the jaw's opening :mod:`unmask_video.jaw_opening` and the carried lower face moved
to the frame's nose length :mod:`unmask_video.nose_length`. This module keeps
:class:`WarpOptions` and :class:`ReferenceWarper`, and the names above that other modules import from it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.align import similarity, transform_points
from unmask_video.below_jaw import NECK_RINGS, NECK_ROOTS, below_jaw_points, neck_region
from unmask_video.blend import disk_morph_near
from unmask_video.errors import InputError
from unmask_video.face_axes import face_axes, neck_column
from unmask_video.face_shape import check_landmarks, face_region, rigid_frame, spread_of, yaw
from unmask_video.jaw_opening import JawOpening, JawOptions, closed_mouth_picture, jaw_weights
from unmask_video.jaw_outline import JawProfile, jaw_profile
from unmask_video.nose_length import nose_drop
from unmask_video.one_euro import OneEuroFilter
from unmask_video.reference_matte import dilated, inner_colour_at_edge, mirror_fill, reference_matte
from unmask_video.reference_shade import ReferenceShade, reference_shade
from unmask_video.reference_picture import paint_out_loops, picture_box, skin_like
from unmask_video.tps import TPS, fit_tps
from unmask_video.warp_maps import MapNodes, merge_with_validity, pyramid, remap_with_validity, shifted_sample, tps_maps
from unmask_video.warp_register import band_reach, residual_shift

log = logging.getLogger(__name__)

__all__ = [
    "TPS", "WarpOptions", "fit_tps", "tps_maps", "ReferenceWarper", "face_region", "below_jaw_points", "neck_region", "picture_box",
    "skin_like", "neck_column", "yaw", "merge_with_validity", "remap_with_validity",
]


@dataclass
class WarpOptions:
    """Options of the reference warp."""

    #: Thin-plate-spline smoothing in normalised units (0 = interpolate the control points exactly).
    regularization: float = 1.0
    #: The spline is evaluated every ``grid_step`` pixels and the map bilinearly upsampled (speed). 6 against 4: the
    #: maps within 0.07 px of the dense spline's (0.03 at 4) on lp_s32, the quality benchmark the same within 0.01 dB
    #: on every clip, the spline's evaluation 2.2 times cheaper (benchmarks/README.md, issue 11: warpfast).
    grid_step: int = 6
    #: At most this many grid nodes along the longer side of the mapped region (0 = no limit): big
    #: faces get a coarser grid, which their smooth map does not notice.
    max_grid_nodes: int = 64
    #: Margin, in pixels of the reference, kept around its face when the reference is cropped.
    crop_margin: int = 8
    #: Only the target's face-oval box grown by this fraction of the face size is mapped (nothing
    #: outside the face can be valid).
    face_margin: float = 0.1
    #: Where the map's Jacobian determinant (reference area per target pixel, relative to the
    #: face's overall area ratio) falls below this, the spline folds over or crushes the
    #: reference: those pixels are not valid (they are inpainted instead). None: no check.
    min_jacobian: float | None = 0.05
    #: Sample a reference face much larger than the target from a Gaussian pyramid level (no
    #: aliasing when a big photo is shrunk onto a small face). False: always the full-size reference.
    pyramid: bool = True
    #: How far below the lower jaw line, in face heights (forehead top to chin), the warp reaches: the
    #: extrapolated control points and the valid region go this deep onto the neck (0: the face oval only).
    neck_reach: float = 0.4
    #: The valid region also reaches this far, in face heights, outside the reference's face oval: a
    #: mask's sides go past the face's outline towards the ears, and what the reference shows just
    #: beyond its outline (ear, hair, background) is a better guess there than an inpainting fill.
    outline_reach: float = 0.03
    #: Weight of the past in an exponential average, per face track, of the control points' shape in the
    #: face's rigid frame (eye corners and nose bridge: position, size and roll follow the frame at once).
    #: Under a mask FaceMesh guesses the mouth and jaw, and the guesses jitter; averaged, the warped
    #: reference stops shimmering while the head moves freely. 0: every frame uses its own points.
    shape_smoothing: float = 0.9
    #: Weight of the past in an exponential average, per face track, of the rigid frame itself (position,
    #: size, roll): a light one, as the head's motion must be followed without lag. 0: none.
    frame_smoothing: float = 0.0
    #: Speed-adaptive (One-Euro) filter, per face track, of the rigid frame (position and size in face sizes,
    #: roll), with this cutoff in Hz for a still head (0: off). FaceMesh's eye and brow points jitter by a
    #: fraction of a pixel; every point under the mask follows the rigid frame, so its jitter is the rebuilt
    #: face's. Time runs at :data:`_NOMINAL_FPS` frames per second of the track (the warp is not told the time).
    frame_min_cutoff: float = 0.5
    #: How fast that filter's cutoff rises with the head's speed (face sizes per second): a moving head is
    #: followed without lag.
    frame_beta: float = 6.0
    #: Where the frame's control points below the jaw come from. True: the reference's own points carried
    #: onto the frame by the similarity fitted on the :data:`~unmask_video.landmark_sets.STABLE_FACE`
    #: landmarks (what FaceMesh sees above the mask), so the neck comes from the reference undistorted.
    #: False: extrapolated from the frame's own lower jaw line, which FaceMesh guesses under the mask.
    neck_from_reference: bool = True
    #: The frame's jaw and mouth control points are this mix of the reference's carried by the same
    #: similarity (1) and FaceMesh's guess under the mask (0). FaceMesh's guess under a mask is biased
    #: (the chin too high: a squashed lower face) and jitters; the reference's shape carried rigidly is
    #: closer to the truth on every benchmark clip (see benchmarks/README.md, issue 11).
    jaw_from_reference: float = 1.0
    #: A reference whose head is turned from the frame's (:func:`yaw`, the reference's less the frame's, past
    #: :data:`_TURN_START`) shows its lower face in another pose: carried by the similarity of the eyes and brows, its
    #: jaw lands where a turned jaw would lie (the far side short of the frame's cheek, the chin off to one side), and
    #: the warped face ends inside the mask, the rest filled from the hair or clothes beside it. There the jaw's and the
    #: neck's carried points are moved towards FaceMesh's guess under the mask (which follows the frame's pose), over
    #: :data:`_TURN_START` to :data:`_TURN_FULL`, to this weight of the carried points at the full turn (1: carried
    #: alone, whatever the turn). A reference in the frame's pose is carried as before.
    turned_jaw: float = 0.5
    #: The lower face's outline carried from the reference (the jaw's control points and those below it) is widened
    #: or narrowed, each side of the face on its own, so that the reference's outline at the eyes' height lands on the
    #: frame's (:data:`~unmask_video.landmark_sets.OUTLINE_SIDES`, which FaceMesh sees above the mask): another
    #: person's face, or one photographed turned another way, is wider or narrower on a side than the similarity of
    #: the eyes and brows says, and its cheek then ended inside the frame's, the rest of the cheek filled from the wall
    #: beside the face. The factor is bounded by :data:`_OUTLINE_FIT_BOUNDS`. False: the similarity alone.
    outline_fit: bool = True
    #: Past the reference's face oval (the region below its jaw and the band past its outline) only the reference's
    #: skin is valid: its hair, background or collar there belong to where the photo was taken and, carried onto a
    #: frame of another place or hairstyle, show as strips beside the jaw; those pixels are filled from what the
    #: frame shows around the mask instead. False: everything in that region is valid.
    reach_skin_only: bool = True
    #: How ``reach_skin_only`` tells skin. True: the reference matte (:func:`~unmask_video.reference_matte.reference_matte`,
    #: decided once when the reference is loaded): only the reference's own face and neck skin, inside its face oval
    #: and the neck's column, is valid; its background, hair, clothes and glasses frames, beside the face or reaching
    #: into it, are filled from what the frame shows around the mask instead, unless the reference was taken in the
    #: same place and the face is seen in its pose. False: the older rule (a colour test past the outline and below
    #: the jaw, the whole face oval valid).
    reference_matte: bool = True
    #: With the reference matte: the face and neck skin the reference photo hides (hair over a cheek, a hand) is
    #: filled once, when the reference is loaded, with its own skin from the mirror side of the face
    #: (:func:`~unmask_video.reference_matte.mirror_fill`) and is valid; only what nothing mirrors onto is left to the
    #: composite's fill. False: every pixel the matte leaves out is filled from the frame's surroundings.
    mirror_fill: bool = True
    #: With the reference matte: its outermost pixels below the jaw that are lighter than the skin just inside them (its
    #: smoothed outline reaching onto a white background, the photo's blend of the two, a sharpening halo) take that
    #: skin's colour (:func:`~unmask_video.reference_matte.inner_colour_at_edge`), so that a stand-in's rebuilt neck does
    #: not end in a thin white line where it meets the frame's collar (the grey-mask man's clip). A frame that carries
    #: the surroundings of a reference from the same place is warped from the picture as it is: there the matte's edge
    #: meets the carried wall as the photo shows it (benchmarks/README.md, helpers neck and mattesafe).
    matte_edge: bool = True
    #: With the reference matte, the reference's surroundings carried from the same place (see ``reference_matte``)
    #: stop beside the face (outside its oval and the neck's column) where, near the mask, they differ from what the
    #: frame shows once the change of light is taken off (:data:`_SAME_PLACE_LOCAL`): the spline follows the face, not
    #: the wall the head moves in front of, which lands beside the jaw shifted (its edges in arcs); there the
    #: composite's fill continues the frame's own surroundings. Off by default: it also stops where a hand or a held
    #: mask passes in front, and the fill then smears them (KF94 with its own frame, frames 36-47), and it loses more
    #: than it gains on some clips of the quality benchmark (benchmarks/README.md).
    same_place_local: bool = False
    #: Paint a mask's ear loop hanging across a cheek out of the reference (inpainted from the skin around it;
    #: :func:`~unmask_video.reference_check.strokes_across_cheeks`), so it is not carried onto every frame.
    remove_loops: bool = True
    #: The jaw's opening under the mask, read off the mask's lower edge under the chin (how far it drops below where
    #: the carried, closed-mouth chin puts it, against the least the face track has shown), applied to the carried
    #: jaw's control points (:mod:`~unmask_video.jaw_opening`) with this gain, after the shape's smoothing (a talking
    #: jaw is followed at once). 0: off (the reference's closed jaw carried rigidly).
    jaw_opening: float = 1.0
    #: The carried lower face (the mouth's, the jaw's and the neck's control points) is moved down by how much longer
    #: the frame's nose is than the reference's carried nose (FaceMesh's nose underside against the reference's, past
    #: :data:`~unmask_video.nose_length.SLACK` eye spans), times this gain (:mod:`~unmask_video.nose_length`): a
    #: reference photographed from below has a foreshortened nose and its carried mouth lay where the frame's nose
    #: tip is, and the spline put the stand-in's short nose with its nostrils just under the mask's top edge. 0: off.
    nose_length: float = 1.0
    #: A reference photo whose mouth is open wide, past this :func:`~unmask_video.jaw_opening.mouth_opening` (the inner
    #: lips' gap over the mouth's width; relaxed closed lips measure 0.05-0.08, a smile showing teeth 0.15 or so, a
    #: mouth open to talk or shout 0.3-0.5: a smile is left as it is, its lips stretched over the teeth) is closed
    #: once, when it is loaded (:func:`~unmask_video.jaw_opening.closed_mouth_picture`): the lower jaw lifted until the
    #: lips are :data:`_CLOSED_LIPS` apart, the teeth and the mouth's dark inside squeezed into that gap, and its
    #: landmarks with it. The warp carries a closed jaw and ``jaw_opening`` opens it as the frame's mask says; carried
    #: open, the photo's teeth showed on every frame and its chin below the frame's. 0: off.
    close_mouth: float = 0.25
    #: Per face track, the warped reference is moved down onto the frame's face by the small translation read on the
    #: skin just above the mask (:func:`~unmask_video.warp_register.residual_shift`: FaceMesh places the landmarks above
    #: a mask 1-4 px higher than on the bare face the reference's come from), times this gain. 0: off. The track's
    #: translation is the median of its frames' measures (each the translation applied plus what the frame reads; the
    #: last ``register_window``), followed only when it moves by more than ``register_hold``; each frame is measured
    #: before its own warp (no jump a frame later). On the quality benchmark (20 frames, 8 clips) 1 against 0: true mask
    #: 24.19 -> 24.70 dB, cast 1.44 -> 1.18 (lp_d3 3.50 -> 1.74, lp_d12 2.76 -> 2.88), TDE 4.28 -> 4.24
    #: (benchmarks/README.md, issue 11, reg20).
    register: float = 1.0
    #: The registration's estimate per track: the median of the measures of its last this many frames.
    register_window: int = 25
    #: Once a track has the measures of its first frames (``register_window`` / this, at least 5), only every this
    #: many frames is measured (the median over 25 frames moves slowly; each measure is a warp of the band and a
    #: search: about half the warp stage's cost).
    register_every: int = 3
    #: The held translation follows that estimate only once it differs by more than this many face heights (about
    #: 0.75 px on a 250 px face: a measure that wanders by a fraction of a pixel does not move the warp every frame).
    register_hold: float = 0.003
    #: A frame's measure counts only where its minimum is this deep (``residual_shift``'s ``min_depth``): on a band of
    #: hair, a squint or a patterned mask's edge the cost hardly changes with the shift and the measure is noise.
    register_depth: float = 0.1
    #: The neck below the jaw is held by the torso as much as by the head: the neck's control points (each ring below
    #: the jaw by its fraction of ``neck_reach``: the lower neck fully, the upper neck less) are held back, times this
    #: gain, by how far the head's centre has moved in the picture beyond where a torso following it at most
    #: ``neck_follow`` face heights a frame has got to. As one talks the head nods, bobs and sways quickly while the
    #: torso and the collar stay; carried rigidly with the head, the reference's neck put lit skin over the collar when
    #: the head dipped and left the collar where the neck shows when it rose (lp_d12 on the quality benchmark). A slow
    #: move (a lean, a drift) is followed: the neck then goes with the head. Needs the ROI's ``origin`` in
    #: :meth:`ReferenceWarper.warp`. 0: off (the neck carried with the head). (benchmarks/README.md: issue 11, cast22)
    neck_lag: float = 1.0
    #: How far (face heights a frame, at most) the torso follows the head's moves in the picture (``neck_lag``).
    neck_follow: float = 0.015


#: The neck's control points (both rings below the jaw) move up the face by this share of the jaw's drop above them
#: (-1: as far up as the jaw goes down). The mask's edge dropping below the carried chin is the chin coming nearer
#: the chest (the jaw opening, most often with a nod forward as one speaks); the collar, held by the torso, does not
#: drop with it, and the reference's neck carried with the head put lit skin where the frame shows the chin's shadow
#: and the collar (lp_d12 on the quality benchmark, benchmarks/README.md: issue 11, cast19).
_JAW_NECK_SHARE = -1.0
#: A head's centre that moves more than this many face heights from one warped frame of its track to the next has not
#: moved: the picture changed (a cut) or frames without a mask passed; the neck's lag (``neck_lag``) starts afresh.
#: (lp_d12, a quick talker, moves at most 0.1 a frame.)
_NECK_JUMP = 0.25
#: The registration's translation (``WarpOptions.register``) stays within this many face heights.
_REGISTER_BOUND = 0.015
#: The frame rate the rigid-frame filter assumes (``WarpOptions.frame_min_cutoff``).
_NOMINAL_FPS = 25.0

#: The control points FaceMesh guesses under a worn mask (mouth, the jaw line from ear to ear) and their rows in
#: TPS_CONTROL.
_LOWER_CONTROL = tuple(i for i in landmark_sets.TPS_CONTROL if i in landmark_sets.MOUTH or i in landmark_sets.JAW)
_LOWER_ROWS = np.array([landmark_sets.TPS_CONTROL.index(i) for i in _LOWER_CONTROL], np.intp)
#: The rows of _LOWER_CONTROL on the face outline (the jaw line from ear to ear, not the mouth).
_OUTLINE_ROWS = np.array([k for k, i in enumerate(_LOWER_CONTROL) if i in landmark_sets.JAW], np.intp)
#: The sets above and those of :mod:`~unmask_video.landmark_sets` this module indexes with, as the shared np.intp
#: arrays of :func:`~unmask_video.landmark_sets.index` (a tuple or list converts at every fancy index).
_TPS = landmark_sets.index(landmark_sets.TPS_CONTROL)
_STABLE = landmark_sets.index(landmark_sets.STABLE_FACE)
_FACE_OVAL = landmark_sets.index(landmark_sets.FACE_OVAL)
_FACE_HEIGHT = landmark_sets.index(landmark_sets.FACE_HEIGHT)
_NECK_ROOTS_INDEX = landmark_sets.index(NECK_ROOTS)
#: The reference's nose root, nose underside and chin, read by ``nose_length``.
_NOSE_PROBE = landmark_sets.index((landmark_sets.NOSE_ROOT,) + landmark_sets.NOSE_UNDERSIDE + (landmark_sets.CHIN,))
_LOWER_CONTROL_INDEX = landmark_sets.index(_LOWER_CONTROL)
#: ``close_mouth`` closes the lips to this gap, over the mouth's width.
_CLOSED_LIPS = 0.05
#: ``turned_jaw`` starts where the reference's head turn differs from the frame's by this much (:func:`yaw`; a frontal
#: photo of a face turned a little as it talks stays below it) and is full from :data:`_TURN_FULL`.
_TURN_START = 0.12
_TURN_FULL = 0.3
#: ``outline_fit``'s factor on each side's width stays within these bounds (a FaceMesh outline point that strays onto
#: the hair or the ear does not blow the jaw up).
_OUTLINE_FIT_BOUNDS = (0.8, 1.35)
#: ... and a side within this fraction of the frame's width is left as the similarity carries it.
_OUTLINE_FIT_SLACK = 0.05

#: Past its face outline the reference shows what the frame shows (the same place) when most of those pixels seen
#: outside the mask are within this many Lab units of the frame's...
_SAME_PLACE_LAB = 20.0
#: ... judged on at least this many pixels, and averaged over a track's frames with this weight of the past.
_SAME_PLACE_MIN_PIXELS = 30
_SAME_PLACE_SMOOTHING = 0.8
#: At most this many of those pixels are compared (an even subsample).
_SAME_PLACE_MAX_PIXELS = 1500
#: Even from the same place, the reference's surroundings are carried only where, near the mask, few of those pixels
#: (at most this fraction, in a Gaussian neighbourhood of :data:`_SAME_PLACE_SIGMA` face heights) differ from the frame's
#: by more than :data:`_SAME_PLACE_LAB`: the spline follows the face, and a wall the head has moved in front of since
#: the photo lands beside the jaw shifted (its edges where the frame shows none, in arcs); there the frame's own
#: surroundings are continued (the composite's fill).
_SAME_PLACE_LOCAL = 0.1
_SAME_PLACE_SIGMA = 0.04
#: The reference's surroundings are carried only while the frame's face turns (:func:`yaw`) within this much of the
#: reference's, and stop once it differs by more than this.
_SAME_POSE_ENTER = 0.08
_SAME_POSE_LEAVE = 0.11
#: The reference's skin past its face outline is shrunk by this fraction of the face height, and along the inside
#: of the outline twice as deep only skin is valid.
_SKIN_EDGE = 0.01


class ReferenceWarper:
    """Warps one reference still onto target faces.

    ``reference_image`` is the (H, W, 3) uint8 RGB still, ``reference_landmarks`` its (468, 2)
    FaceMesh landmarks in that image's pixel coordinates. The reference is cropped to its face once,
    here, so each warp only touches a face-sized image.
    """

    def __init__(self, reference_image: np.ndarray, reference_landmarks: np.ndarray, options: WarpOptions) -> None:
        image = np.asarray(reference_image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(
                f"the reference image must be an RGB 8-bit picture, got an array of shape {image.shape} "
                f"and type {image.dtype}; pass a colour JPEG or PNG with --ref"
            )
        lm = check_landmarks(reference_landmarks, "reference landmarks")
        if not np.isfinite(lm).all():
            raise InputError("the reference landmarks are not finite; pass a --ref photo with one clear face")
        if options.grid_step < 1:
            raise ValueError(f"grid_step must be >= 1, got {options.grid_step}")
        self.options = options
        if options.remove_loops:
            image = paint_out_loops(image, lm)

        px0, py0, px1, py1 = picture_box(image)
        m = options.crop_margin
        extent = np.concatenate([lm, below_jaw_points(lm, options.neck_reach, (1.0,))]) if options.neck_reach > 0 else lm
        ex0, ey0 = int(np.floor(extent[:, 0].min())) - m, int(np.floor(extent[:, 1].min())) - m
        ex1, ey1 = int(np.ceil(extent[:, 0].max())) + m + 1, int(np.ceil(extent[:, 1].max())) + m + 1
        x0, y0, x1, y1 = max(ex0, px0), max(ey0, py0), min(ex1, px1), min(ey1, py1)
        if x1 - x0 < 8 or y1 - y0 < 8:
            raise InputError("the reference face is too small or outside the picture; pass a --ref photo with a clear face")
        # Where the face's reach (the neck below a low face) runs past the picture, the picture is continued
        # by its mirror image: valid only where the mirrored pixel is the neck below the jaw (see below).
        top, left = min(max(y0 - ey0, 0), y1 - y0 - 1), min(max(x0 - ex0, 0), x1 - x0 - 1)
        bottom, right = min(max(ey1 - y1, 0), y1 - y0 - 1), min(max(ex1 - x1, 0), x1 - x0 - 1)
        picture = np.ascontiguousarray(image[y0:y1, x0:x1])
        self.image = cv2.copyMakeBorder(picture, top, bottom, left, right, cv2.BORDER_REFLECT_101)
        self.landmarks = lm - np.array([x0 - left, y0 - top], dtype=np.float32)
        if options.close_mouth > 0:
            self.image, self.landmarks = closed_mouth_picture(self.image, self.landmarks, options.close_mouth, _CLOSED_LIPS)
        self._src = self._control(self.landmarks)
        self._stable = self.landmarks[_STABLE].astype(np.float64)
        self._src_lower = self.landmarks[_LOWER_CONTROL_INDEX].astype(np.float64)
        self._src_roots = self.landmarks[_NECK_ROOTS_INDEX].astype(np.float64)
        self._src_nose = self.landmarks[_NOSE_PROBE].astype(np.float64)
        #: The reference's outline points on each side (``outline_fit``), per entry of ``OUTLINE_SIDES``.
        self._sides = {
            side: self.landmarks[landmark_sets.index(side)].astype(np.float64) for side in landmark_sets.OUTLINE_SIDES
        }
        self._src_neck = (
            below_jaw_points(self.landmarks, options.neck_reach) if options.neck_reach > 0 else np.zeros((0, 2))
        )
        plain = None  # (the picture before ``matte_edge``'s recolour, where it recolours)
        # The validity source: the face oval and the region below the jaw, shrunk by one pixel so that bilinear sampling at its
        # edge never mixes in the outside; remapped as float and thresholded.
        face = face_region(self.image.shape[:2], self.landmarks)
        neck = neck_region(self.image.shape[:2], self.landmarks, options.neck_reach)
        oval = face | neck
        height = face_axes(self.landmarks)[1]
        grow = int(round(options.outline_reach * height))
        matted = options.reach_skin_only and options.reference_matte
        if grow > 0 and not matted:
            oval = disk_morph_near(oval, cv2.MORPH_DILATE, 2 * grow + 1)  # (cv2.dilate by the disc, the same pixels)
        if matted:
            # Only the reference's own face and neck skin (joined to its face centre, with what it encloses), inside
            # its face oval and the neck's column below the jaw; one map, two levels: 255 the matte, 128 the rest of
            # the region (carried only from a reference taken in the same place, seen in the same pose: see warp()).
            reach = ((neck & neck_column(self.image.shape[:2], self.landmarks)) | face) >= 128
            matte = reference_matte(self.image, self.landmarks, face, reach.astype(np.uint8) * 255, height)
            if options.mirror_fill:
                self.image, matte = mirror_fill(self.image, self.landmarks, matte, face, height)
            if options.matte_edge:
                plain, self.image = self.image, inner_colour_at_edge(self.image, matte, height, face)
            # (outside the matte only where the disc's dilation of the oval reaches 255: the dilation of where it is 255)
            full = oval == 255
            if grow > 0:
                full = dilated(full, grow)
            oval = np.where(matte > 0, np.uint8(255), full.view(np.uint8) * np.uint8(128)).astype(np.uint8)
        elif options.reach_skin_only:
            # Below the jaw only the neck's width, past the outline only a thin band; there, and along the inside
            # of the outline (where hair often begins), only skin, a little shrunk so the hair at its edge stays out.
            edge = max(int(round(_SKIN_EDGE * height)), 1)
            inner = cv2.erode(face, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * edge + 1, 4 * edge + 1)))
            skin = cv2.erode(skin_like(self.image, face), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge + 1, 2 * edge + 1)))
            reach = neck_column(self.image.shape[:2], self.landmarks) | face
            if grow > 0:
                reach |= cv2.dilate(face, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
            # One map, two levels (a two-channel remap costs three times one): 255 the skin, 128 the rest.
            oval = np.where(inner | (skin & reach), oval, oval // 255 * 128).astype(np.uint8)
        if top or bottom or left or right:
            # Past the picture's border only the mirrored neck is valid: a mirrored jaw, face or background is not
            # what lies there (those pixels are inpainted, as before).
            ph, pw = picture.shape[:2]
            source = np.full((ph, pw), 255, np.uint8)
            mirrored = cv2.copyMakeBorder(neck[top:top + ph, left:left + pw], top, bottom, left, right, cv2.BORDER_REFLECT_101)
            mirrored[top:top + ph, left:left + pw] = source
            oval &= mirrored
        self._oval = cv2.erode(oval, np.ones((3, 3), np.uint8))
        self._levels = pyramid(self.image, self._oval, options.pyramid)
        #: The same pyramid of the picture without ``matte_edge``'s recolour (None: it recoloured nothing): what a
        #: reference from the same place carries past its matte meets the matte's own edge as the photo shows it.
        self._plain_levels = None if plain is None or plain is self.image else pyramid(plain, self._oval, options.pyramid)
        self._src_scale = spread_of(self.landmarks[_TPS])
        #: Per face track: the smoothed control-point shape in the face's rigid frame.
        self._shapes: dict[int, np.ndarray] = {}
        #: Per face track: the averaged fraction of the reference's surroundings that look like the frame's.
        self._places: dict[int, float] = {}
        #: Per face track: whether it is seen in the reference's pose (hysteresis of :meth:`_same_pose`).
        self._poses: dict[int, bool] = {}
        self._yaw = yaw(self.landmarks)
        self._jaw_profile = jaw_profile(self.landmarks)
        #: Its own shade under the jaw, read on the skin the warp carries (the reference composite lifts it where the
        #: frame shows none so deep).
        self._shade = reference_shade(self.image, self.landmarks, self._oval == 255)
        #: Per face track: the smoothed rigid frame (centre x, y, scale, cos, sin).
        self._frames: dict[int, np.ndarray] = {}
        #: Per face track: the One-Euro filter of the rigid frame, the track's first scale and its frame count.
        self._frame_filters: dict[int, tuple[OneEuroFilter, float, list[int]]] = {}
        #: The jaw's opening per face track, and how much of it each control point takes (the neck's, negative: up).
        self._jaw = JawOpening(JawOptions(gain=options.jaw_opening))
        jaw_w = jaw_weights(self.landmarks, self._src[: len(landmark_sets.TPS_CONTROL)])
        if options.neck_reach > 0:
            roots = jaw_weights(self.landmarks, self.landmarks[_NECK_ROOTS_INDEX])
            jaw_w = np.concatenate([jaw_w, *([_JAW_NECK_SHARE * roots] * len(NECK_RINGS))])
        self._jaw_weights = jaw_w
        #: Per face track: the registration's last measures (held translation plus the frame's reading), newest last.
        self._register_seen: dict[int, list[float]] = {}
        self._register_frames: dict[int, int] = {}  # per face track: frames warped since it started
        #: Per face track: the registration's held translation (:attr:`WarpOptions.register`; times its gain, added
        #: to the control points).
        self._offsets: dict[int, np.ndarray] = {}
        #: Per face track: where (picture x, y) the torso has followed the head's centre to (``neck_lag``), and where
        #: the head's centre was on the track's last frame.
        self._torsos: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: How much of the head's lead on the torso each control point takes back: the neck's rings, by their depth.
        self._lag_weights = np.concatenate([np.zeros(len(landmark_sets.TPS_CONTROL)), *(
            [np.full(len(NECK_ROOTS), r) for r in NECK_RINGS] if options.neck_reach > 0 else [])])
        log.debug(
            "reference face cropped to %dx%d, %d pyramid level(s)", self.image.shape[1], self.image.shape[0], len(self._levels)
        )

    def _control(self, landmarks: np.ndarray) -> np.ndarray:
        """The spline's control points of a face: the TPS_CONTROL landmarks and the points below its jaw."""
        pts = np.asarray(landmarks, np.float64)[_TPS]
        if self.options.neck_reach > 0:
            pts = np.concatenate([pts, below_jaw_points(landmarks, self.options.neck_reach)])
        return pts

    def _carries(self) -> bool:
        """Whether the frame's control points under the mask are the reference's carried onto it
        (:meth:`_target_control`)."""
        return bool(self.options.neck_from_reference or self.options.jaw_from_reference > 0)

    def _to_frame(self, landmarks: np.ndarray) -> np.ndarray:
        """The similarity (2x3) of the reference's stable landmarks onto the frame's."""
        return similarity(self._stable, np.asarray(landmarks, np.float64)[_STABLE])

    def _target_control(self, landmarks: np.ndarray, to_frame: np.ndarray | None = None) -> np.ndarray:
        """A frame's control points, in the order of :meth:`_control`'s: FaceMesh's where it sees (above the
        mask), and below the jaw (and, with ``jaw_from_reference``, on the jaw) the reference's own points
        carried onto the frame by the similarity of the stable landmarks (``to_frame``: :meth:`_to_frame`, when the
        caller has it)."""
        o = self.options
        if not self._carries():
            return self._control(landmarks)
        lm = np.asarray(landmarks, np.float64)
        if to_frame is None:
            to_frame = self._to_frame(lm)
        widen = self._outline_fit(lm, to_frame) if o.outline_fit else None
        pts = lm[_TPS]
        turned = self._turned_weight(lm)
        drop = None
        if o.nose_length > 0:
            probe = transform_points(self._src_nose, to_frame)
            drop = nose_drop(lm, probe[0], probe[1:-1], probe[-1], o.nose_length)
            if drop is not None:
                log.debug("nose length: the carried lower face moved down %.1f px at the nose's base", drop.drop)
        if o.jaw_from_reference > 0:
            w = float(o.jaw_from_reference) * turned
            carried = transform_points(self._src_lower, to_frame)
            if widen is not None:
                carried[_OUTLINE_ROWS] = widen(carried[_OUTLINE_ROWS])
            if drop is not None:
                carried += drop.moves(carried)
            pts[_LOWER_ROWS] = (1.0 - w) * pts[_LOWER_ROWS] + w * carried
        if o.neck_reach > 0:
            if o.neck_from_reference:
                neck = transform_points(self._src_neck, to_frame)
                neck = neck if widen is None else widen(neck)
                if drop is not None:
                    neck += drop.moves(neck)
                if turned < 1.0:
                    neck += self._turned_neck_shift(lm, to_frame, widen, turned)
            else:
                neck = below_jaw_points(lm, o.neck_reach)
            pts = np.concatenate([pts, neck])
        return pts

    def _turned_weight(self, lm: np.ndarray) -> float:
        """The carried points' weight for the frame's head turn from the reference's (``turned_jaw``): 1 within
        :data:`_TURN_START` (:func:`yaw`), ``turned_jaw`` from :data:`_TURN_FULL`, linear in between."""
        if self.options.turned_jaw >= 1.0:
            return 1.0
        turn = abs(yaw(lm) - self._yaw)
        ramp = min(max((turn - _TURN_START) / (_TURN_FULL - _TURN_START), 0.0), 1.0)
        return 1.0 - ramp * (1.0 - float(self.options.turned_jaw))

    def _turned_neck_shift(
        self, lm: np.ndarray, to_frame: np.ndarray, widen: Callable[[np.ndarray], np.ndarray] | None, turned: float
    ) -> np.ndarray:
        """The neck's carried points' move ((rings * R, 2)) with the jaw's towards FaceMesh's guess (``turned_jaw``):
        each ring point by its root's (the lower jaw's points it grows from), the carried jaw held by ``turned``."""
        roots = transform_points(self._src_roots, to_frame)
        roots = roots if widen is None else widen(roots)
        shift = (1.0 - turned) * (lm[_NECK_ROOTS_INDEX].astype(np.float64) - roots)
        return np.tile(shift, (len(NECK_RINGS), 1))

    def _jaw_move(
        self, lm: np.ndarray, mask: np.ndarray | None, track: int | None, to_frame: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The control points' move ((K, 2)) for the jaw's opening under ``mask`` (``jaw_opening``); None: none.
        ``to_frame``: :meth:`_to_frame`, when the caller has it."""
        if self.options.jaw_opening <= 0 or mask is None or track is None or not self.options.jaw_from_reference:
            return None
        if to_frame is None:
            to_frame = self._to_frame(lm)
        top, chin = transform_points(self.landmarks[_FACE_HEIGHT].astype(np.float64), to_frame)
        down = chin - top
        height = float(np.hypot(*down))
        if height < 1e-6:
            return None
        down /= height
        opening = self._jaw(mask, chin, down, height, track)
        if opening <= 0:
            return None
        return self._jaw_weights[:, None] * (opening * height * down)[None, :]

    def _neck_lag_move(self, lm: np.ndarray, origin: tuple[int, int] | None, track: int | None) -> np.ndarray | None:
        """The control points' move ((K, 2)) that holds the neck back with the torso when the head moves in the picture
        faster than ``neck_follow`` (``neck_lag``); ``origin``: the ROI's (x, y) in the picture. None: no move (off, no
        origin or track, or the torso has caught up)."""
        o = self.options
        if o.neck_lag <= 0 or o.neck_reach <= 0 or origin is None or track is None:
            return None
        # (the head's place in the picture: its stable landmarks', which FaceMesh sees above the mask)
        head = lm[_STABLE].mean(axis=0) + np.asarray(origin, np.float64)
        height = face_axes(lm)[1]
        torso, last = self._torsos.get(track, (head, head))
        # (a jump no head makes in a frame: a cut, or the track warped again after frames without a mask; start afresh)
        if float(np.hypot(*(head - last))) > _NECK_JUMP * height:
            torso = head
        step = head - torso
        follow = o.neck_follow * height
        distance = float(np.hypot(*step))
        torso = head if distance <= follow else torso + step * (follow / distance)
        self._torsos[track] = (torso, head)
        lead = head - torso
        if not lead.any():
            return None
        log.debug("neck lag: the head %.1f, %.1f px from where the torso has followed it", *lead)
        return self._lag_weights[:, None] * (-o.neck_lag * lead)[None, :]

    def _outline_fit(self, lm: np.ndarray, to_frame: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """A map of points carried from the reference onto the frame (by ``to_frame``) that scales, on each side of the
        face's midline (through the nose bridge, across the eyes' line), their distance from it by how much wider
        that side's outline is in the frame than carried (``outline_fit``)."""
        eyes = lm[landmark_sets.RIGHT_EYE_CORNERS[1]] - lm[landmark_sets.LEFT_EYE_CORNERS[0]]
        across = eyes / max(float(np.hypot(*eyes)), 1e-9)
        middle = float(lm[landmark_sets.NOSE_BRIDGE] @ across)
        factors = []
        for side in landmark_sets.OUTLINE_SIDES:
            seen = float(np.mean(lm[landmark_sets.index(side)] @ across)) - middle
            carried = float(np.mean(transform_points(self._sides[side], to_frame) @ across))
            carried -= middle
            ratio = seen / carried if seen * carried > 0 and abs(carried) > 1e-6 else 1.0
            # (within _OUTLINE_FIT_SLACK of 1 nothing changes: FaceMesh's outline points jitter, and a reference of the
            # frame's own face, in its pose, fits as it is)
            ratio = 1.0 + np.sign(ratio - 1.0) * max(abs(ratio - 1.0) - _OUTLINE_FIT_SLACK, 0.0)
            factors.append(float(min(max(ratio, _OUTLINE_FIT_BOUNDS[0]), _OUTLINE_FIT_BOUNDS[1])))  # (np.clip's value)
        log.debug("outline fit: sides widened x%.3f, x%.3f", *factors)

        def widen(points: np.ndarray) -> np.ndarray:
            offset = points @ across - middle
            factor = np.where(offset < 0, factors[0], factors[1])
            return points + ((factor - 1.0) * offset)[:, None] * across[None, :]

        return widen

    @property
    def reference_jaw(self) -> JawProfile | None:
        """The reference still's jaw (:func:`~unmask_video.jaw_outline.jaw_profile` of its landmarks; None: degenerate)."""
        return self._jaw_profile

    @property
    def reference_shade(self) -> ReferenceShade | None:
        """The reference still's own light under its jaw (:func:`~unmask_video.reference_shade.reference_shade`;
        None: not read)."""
        return self._shade

    @property
    def reference_yaw(self) -> float:
        """The reference still's head turn (:func:`yaw` of its landmarks)."""
        return self._yaw

    def reset(self, track: int | None = None) -> None:
        """Forget the smoothed shape of one face track (``None``: of every track), e.g. when a face is lost."""
        if track is None:
            self._places.clear()
            self._poses.clear()
            self._shapes.clear()
            self._frames.clear()
            self._frame_filters.clear()
            self._jaw.reset()
            self._offsets.clear()
            self._register_seen.clear()
            self._register_frames.clear()
            self._torsos.clear()
        else:
            self._places.pop(track, None)
            self._poses.pop(track, None)
            self._shapes.pop(track, None)
            self._frames.pop(track, None)
            self._frame_filters.pop(track, None)
            self._jaw.reset(track)
            self._offsets.pop(track, None)
            self._register_seen.pop(track, None)
            self._register_frames.pop(track, None)
            self._torsos.pop(track, None)

    def _smoothed(self, landmarks: np.ndarray, points: np.ndarray, track: int) -> np.ndarray:
        """``points`` with their shape in the face's rigid frame averaged over the track's frames."""
        centre, scale, rotation = rigid_frame(landmarks)
        shape = (points - centre) @ rotation / scale  # rotation is orthonormal: R^T applied on the right
        weight = self.options.shape_smoothing
        previous = self._shapes.get(track)
        if previous is not None and previous.shape == shape.shape:
            shape = weight * previous + (1.0 - weight) * shape
        self._shapes[track] = shape
        frame = np.concatenate([centre, [scale], rotation[:, 0]])
        held = self._frames.get(track)
        if held is not None and self.options.frame_smoothing > 0:
            frame = self.options.frame_smoothing * held + (1.0 - self.options.frame_smoothing) * frame
        self._frames[track] = frame
        if self.options.frame_min_cutoff > 0:
            frame = self._filtered_frame(frame, track)
        centre, scale = frame[:2], float(frame[2])
        c, s_ = frame[3:] / max(float(np.hypot(*frame[3:])), 1e-9)
        rotation = np.array([[c, -s_], [s_, c]])
        return shape @ rotation.T * scale + centre

    def _same_place(
        self,
        sub: np.ndarray,
        inside: np.ndarray,
        image: np.ndarray | None,
        mask: np.ndarray | None,
        box: tuple[int, int, int, int],
        track: int | None,
        height: float = 0.0,
        photo: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray | None:
        """Where the reference's surroundings past its face outline (``inside``, the box's validity level, from 64 up to
        192: past the matte, within the region) are carried: None
        (nowhere) unless they look like what the frame shows there outside the mask (most of those pixels within
        :data:`_SAME_PLACE_LAB` Lab units of the frame's, averaged over the track's frames); then an (h, w) bool map of
        the box, False near where many of them differ (:data:`_SAME_PLACE_LOCAL`; ``height``: the face height in pixels,
        0: everywhere True). No frame or mask given: None. ``photo``: the reference as the photo shows it at the box's
        pixels (rows, cols) -> (N, 3) uint8, where ``sub`` holds ``matte_edge``'s recolour (None: ``sub`` is the photo's):
        the decision is the same whichever picture was remapped first."""
        if image is None or mask is None:
            return None
        x0, y0, x1, y1 = box
        # On a grid of every k-th pixel (about 150 across): a fraction needs no more.
        k = max(1, min(y1 - y0, x1 - x0) // 150)
        covered = np.greater(mask[y0:y1:k, x0:x1:k], 0).view(np.uint8)
        near = cv2.dilate(covered, np.ones((2 * (3 // k) + 3, 2 * (3 // k) + 3), np.uint8))
        # (OpenCV's tests and flat indices: the same pixels as numpy's three tests and 2-D nonzero, several times faster)
        around = cv2.bitwise_and(cv2.inRange(inside[::k, ::k], 64, 191), (near == 0).view(np.uint8))  # (0 or 1)
        held = self._places.get(track) if track is not None else None
        far = None
        if cv2.countNonZero(around) >= _SAME_PLACE_MIN_PIXELS:
            # (OpenCV's list of the pixels, in np.flatnonzero's row-major order; the pixels read at their places in the
            # whole pictures: the same pixels as through the subsampled views, without those views' fancy indexing)
            where = cv2.findNonZero(around)[:, 0]
            step = -(-len(where) // _SAME_PLACE_MAX_PIXELS)  # an even subsample is enough for a fraction
            ys, xs = where[::step, 1], where[::step, 0]
            read = sub[ys * k, xs * k] if photo is None else photo(ys * k, xs * k)
            ref = cv2.cvtColor(read.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
            seen = image[y0 + ys * k, x0 + xs * k]
            frame = cv2.cvtColor(seen.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
            diff = (ref - frame).reshape(-1, 3)
            alike = float(np.mean(np.linalg.norm(diff, axis=1) < _SAME_PLACE_LAB))
            held = alike if held is None else _SAME_PLACE_SMOOTHING * held + (1.0 - _SAME_PLACE_SMOOTHING) * alike
            if track is not None:
                self._places[track] = held
            far = (ys, xs, diff)
        if held is None or held < 0.5:
            return None
        h, w = y1 - y0, x1 - x0
        if far is None or height <= 0:
            return np.ones((h, w), bool)
        # The fraction of the compared pixels that differ, near each pixel (normalised convolution on the grid): the
        # carried surroundings stop where the frame's continue otherwise.
        ys, xs, diff = far
        grid = around.shape
        sigma = max(_SAME_PLACE_SIGMA * height / k, 1.0)
        # What differs once the change of light is taken off (the difference's smooth part, over twice the
        # neighbourhood): the same place in other light is still the same place, a shifted edge is not.
        sums = np.zeros(grid + (4,), np.float32)
        np.add.at(sums, (ys, xs), np.concatenate([diff, np.ones((len(ys), 1), np.float32)], axis=1))
        sums = cv2.GaussianBlur(sums, (0, 0), 2.0 * sigma, borderType=cv2.BORDER_CONSTANT)
        light = sums[ys, xs, :3] / np.maximum(sums[ys, xs, 3:], 1e-6)
        apart = np.linalg.norm(diff - light, axis=1) >= _SAME_PLACE_LAB
        count = np.zeros(grid, np.float32)
        differ = np.zeros(grid, np.float32)
        np.add.at(count, (ys, xs), 1.0)
        np.add.at(differ, (ys, xs), apart.astype(np.float32))
        count = cv2.GaussianBlur(count, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        differ = cv2.GaussianBlur(differ, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        # (far from every compared pixel, the fraction over them all)
        floor = np.float32(1e-3 * len(ys) / max(grid[0] * grid[1], 1))
        fraction = (differ + floor * (1.0 - held)) / (count + floor)
        carry = (fraction <= _SAME_PLACE_LOCAL).astype(np.uint8)
        return cv2.resize(carry, (w, h), interpolation=cv2.INTER_NEAREST) > 0

    def _same_pose(self, landmarks: np.ndarray, track: int | None) -> bool:
        """Whether the face turns about as the reference's does (:func:`yaw` within :data:`_SAME_POSE_ENTER` of it;
        a track that was, until it differs by more than :data:`_SAME_POSE_LEAVE`). Only then does the reference's
        surroundings beside its face lie beside the frame's: once the head has turned, its wall lands on the cheek."""
        turn = abs(yaw(landmarks) - self._yaw)
        held = self._poses.get(track, False) if track is not None else False
        same = turn <= (_SAME_POSE_LEAVE if held else _SAME_POSE_ENTER)
        if track is not None:
            self._poses[track] = same
        return same

    def _filtered_frame(self, frame: np.ndarray, track: int) -> np.ndarray:
        """The rigid frame (centre x, y, scale, cos, sin) through the track's One-Euro filter, in face sizes."""
        held = self._frame_filters.get(track)
        if held is None:
            o = self.options
            held = (OneEuroFilter(o.frame_min_cutoff, o.frame_beta, 1.0, shared_speed=True), float(frame[2]), [0])
            self._frame_filters[track] = held
        one_euro, unit, count = held
        angle = float(np.arctan2(frame[4], frame[3]))
        state = np.array([frame[0] / unit, frame[1] / unit, np.log(frame[2] / unit), angle])
        out = one_euro(state, count[0] / _NOMINAL_FPS)
        count[0] += 1
        return np.array([out[0] * unit, out[1] * unit, unit * np.exp(out[2]), np.cos(out[3]), np.sin(out[3])])

    def fit(
        self, landmarks: np.ndarray, track: int | None = None, control: np.ndarray | None = None,
        move: np.ndarray | None = None,
    ) -> TPS:
        """The backward spline from target-ROI coordinates to (cropped) reference coordinates. With
        ``track`` (a face track's id) the control points' shape is averaged over that track's frames. ``control``:
        :meth:`_target_control` of these landmarks when the caller has it already (it is not computed again).
        ``move``: each control point's move ((K, 2), or (1, 2) for all alike), added after the smoothing: the jaw's
        opening (:meth:`_jaw_move`) and the track's registration (:attr:`WarpOptions.register`), which follow the frame
        at once."""
        lm = check_landmarks(landmarks, "target landmarks")
        dst = self._target_control(lm) if control is None else control
        if track is not None and self.options.shape_smoothing > 0:
            dst = self._smoothed(lm, dst, track)
        if move is not None:
            dst = dst + move
        return fit_tps(self._src, dst, self.options.regularization)

    def _step(self, h: int, w: int) -> int:
        """The grid spacing: ``grid_step``, coarser on big ROIs so the node count stays bounded."""
        step = max(int(self.options.grid_step), 1)
        if self.options.max_grid_nodes > 0:
            step = max(step, -(-max(h, w) // self.options.max_grid_nodes))
        return step

    def maps(
        self,
        landmarks: np.ndarray,
        shape: tuple[int, int],
        origin: tuple[int, int] = (0, 0),
        jacobian: bool = False,
        track: int | None = None,
        scale: float = 1.0,
        control: np.ndarray | None = None,
    ) -> tuple[np.ndarray, ...]:
        """The (h, w) float32 ``map_x``, ``map_y`` for ``cv2.remap``: the reference position of each pixel
        (and its Jacobian determinant with ``jacobian``; see :func:`tps_maps`).

        ``shape`` is the (h, w) of the region mapped and ``origin`` its top-left (x, y) in the
        landmarks' coordinates; ``scale`` multiplies the maps (see :func:`tps_maps`), ``control`` is passed to
        :meth:`fit`.
        """
        h, w = int(shape[0]), int(shape[1])
        return tps_maps(self.fit(landmarks, track, control), (h, w), self._step(h, w), origin, jacobian, scale)

    def _level(self, landmarks: np.ndarray, target: float | None = None) -> int:
        """The pyramid level to sample: the smallest whose face is still at least the target's size (``target``:
        the spread of its control landmarks, when the caller has it)."""
        if len(self._levels) == 1:
            return 0
        if target is None:
            target = spread_of(landmarks[_TPS])
        shrink = self._src_scale / max(target, 1e-6)  # > 1: the reference face is bigger
        level = int(np.floor(np.log2(max(shrink, 1.0))))
        return min(level, len(self._levels) - 1)

    def _face_box(
        self, landmarks: np.ndarray, h: int, w: int, control: np.ndarray | None = None
    ) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the target's face oval (and the region below its jaw) grown by
        ``face_margin``, clipped to the ROI (``control``: :meth:`_target_control` of the landmarks, when known)."""
        oval = landmarks[_FACE_OVAL]
        if self.options.neck_reach > 0:
            oval = np.concatenate([oval, self._target_control(landmarks) if control is None else control])
        lo, hi = oval.min(axis=0), oval.max(axis=0)
        grow = self.options.face_margin * float(max(hi - lo)) + 2.0
        x0 = int(np.clip(np.floor(lo[0] - grow), 0, w))
        y0 = int(np.clip(np.floor(lo[1] - grow), 0, h))
        x1 = int(np.clip(np.ceil(hi[0] + grow) + 1, x0, w))
        y1 = int(np.clip(np.ceil(hi[1] + grow) + 1, y0, h))
        return x0, y0, x1, y1

    def warp(
        self,
        landmarks: np.ndarray,
        shape: tuple[int, int],
        region: tuple[int, int, int, int] | None = None,
        track: int | None = None,
        image: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        origin: tuple[int, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Warp the reference onto a face.

        ``landmarks``: the target's (468, 2) landmarks in ROI coordinates; ``shape``: (h, w) of the ROI.
        Returns the warped reference, (h, w, 3) uint8 (zero where not valid), and the validity map,
        (h, w) bool: inside the reference image (or its mirrored neck past its edge) and inside the reference's face oval. With ``region``,
        an (x0, y0, x1, y1) box of the ROI (x1, y1 exclusive), only that box is warped (a caller that
        reads the reference near the mask only need not pay for the whole face): outside it nothing
        is valid. ``track``: the face track's id, for the temporal smoothing of the control points
        (``shape_smoothing``); None: this frame's points as they are. ``image`` and ``mask``: the frame's ROI
        ((h, w, 3) uint8) and its mask ((h, w), > 0 covered): with ``reach_skin_only``, the reference's hair or
        background past its face outline is carried over after all while it looks like what the frame shows there
        outside the mask (a reference taken in the same place; averaged over the track's frames) and the face is turned
        as in the reference (:func:`yaw`); without them, only its skin is. ``origin``: the ROI's (x, y) in the picture,
        for ``neck_lag`` (None: the neck carried with the head).
        """
        h, w = int(shape[0]), int(shape[1])
        lm = check_landmarks(landmarks, "target landmarks")
        warped = np.zeros((h, w, 3), np.uint8)
        valid = np.zeros((h, w), bool)
        # The frame's control points, once: the face box and the spline both need them (and the jaw's move the
        # similarity they are carried by).
        to_frame = self._to_frame(lm) if self._carries() else None
        control = self._target_control(lm, to_frame)
        # Only the target's face (and a margin) can be valid: map that box, not the whole ROI.
        face = self._face_box(lm, h, w, control)
        x0, y0, x1, y1 = face
        if region is not None:
            x0, y0 = max(x0, int(region[0])), max(y0, int(region[1]))
            x1, y1 = min(x1, int(region[2])), min(y1, int(region[3]))
        if x1 <= x0 or y1 <= y0:
            return warped, valid
        check = self.options.min_jacobian is not None
        spread = spread_of(lm[_TPS])
        level = self._level(lm, spread)
        # The pyramid level's 2**-level is applied to the grid's nodes, not to the full-size maps (the same maps).
        move = self._jaw_move(lm, mask, track, to_frame)
        lag = self._neck_lag_move(lm, origin, track)
        if lag is not None:
            move = lag if move is None else move + lag
        tps = self.fit(lm, track, control, move)
        scale = 1.0 / (1 << level)
        registering = self.options.register > 0 and image is not None and mask is not None and track is not None
        band = self._register_band(lm, mask, face) if registering and self._register_due(track) else None
        # (the registration's translation moves every control point alike: the spline read that much up the picture)
        dx, dy = self._offset(track)
        step = self._step(y1 - y0, x1 - x0)
        # One map and one remap for the box read and the registration's band (which is read with the translation held
        # before this frame's measure, as the box is unless the measure moves it): the box grown by whole grid steps
        # to cover the band, so the box's grid nodes (and its pixels) stay where they are.
        ux0, uy0, ux1, uy1 = x0, y0, x1, y1
        if band is not None:
            ux0 -= -(-max(x0 - band[0], 0) // step) * step
            uy0 -= -(-max(y0 - band[1], 0) // step) * step
            ux1 += -(-max(band[2] - x1, 0) // step) * step
            uy1 += -(-max(band[4] - y1, 0) // step) * step
        # (with the matte, in the reference's pose only: once the head has turned, its wall lands on the cheek; whether
        # the track's last frames carried the reference's surroundings picks the picture remapped first, and the box is
        # remapped again from the other where this frame decides otherwise)
        pose = self._same_pose(lm, track) if self.options.reach_skin_only and self.options.reference_matte else True
        plain = self._carried_before(track, pose)
        merged = self._picture(level, plain)
        nodes = MapNodes(tps, (uy1 - uy0, ux1 - ux0), step, (ux0 - dx, uy0 - dy), check, scale)
        sub, inside = nodes.remapped(merged)
        if band is not None and registering:
            moved = self._register(lm, image, mask, track, sub, inside, (ux0, uy0), band)
            if moved:  # (the translation moved: the box warped again with it)
                dx, dy = self._offset(track)
                ux0, uy0, ux1, uy1 = x0, y0, x1, y1
                nodes = MapNodes(tps, (y1 - y0, x1 - x0), step, (x0 - dx, y0 - dy), check, scale)
                sub, inside = nodes.remapped(merged)
        inner = (slice(y0 - uy0, y1 - uy0), slice(x0 - ux0, x1 - ux0))
        grown = (ux0, uy0, ux1, uy1) != (x0, y0, x1, y1)
        if grown:
            sub, inside = sub[inner], inside[inner]
        # (the validity written straight into its box of the map returned)
        ok = valid[y0:y1, x0:x1]
        if self.options.reach_skin_only:
            local = self.options.same_place_local
            photo = None
            if self._plain_levels is not None and not plain:
                photo = functools.partial(shifted_sample, nodes, self._plain_levels[level], (y0 - uy0, x0 - ux0))
            carry = self._same_place(sub, inside, image, mask, (x0, y0, x1, y1), track,
                                     face_axes(lm)[1] if local else 0.0, photo) if pose else None  # fmt: skip
            if (carry is not None) != plain and self._plain_levels is not None:
                sub = nodes.remapped(self._picture(level, not plain))[0]
                sub = sub[inner] if grown else sub
            if carry is None:
                np.greater_equal(inside, 192, out=ok)
            elif not local:
                np.greater_equal(inside, 64, out=ok)  # (carried everywhere: the strict level lies within the loose one)
            else:
                # (the local test only beside the face and the neck's column: there lies the wall, which stays while the
                # head moves; the face's own hair and the clothes below the jaw follow the head, more or less)
                box_lm = lm - np.float32([x0, y0])
                carry |= (face_region(carry.shape, box_lm, antialiased=False) > 0) | (neck_column(carry.shape, box_lm) > 0)
                np.bitwise_or(inside >= 192, (inside >= 64) & carry, out=ok)
        else:
            np.greater_equal(inside, 128, out=ok)
        if check:
            # Folds (negative determinant) and crushes (tiny), relative to the face's overall area
            # ratio, reference to target (tested at every pixel only where a node comes near the bound).
            bound = self.options.min_jacobian * (self._src_scale / max(spread, 1e-6)) ** 2
            if not nodes.all_above(2, bound):
                ok &= nodes.upsampled(nodes.nodes[2])[inner] >= bound
        # (zero where not ok: one OpenCV masked operation, many times faster than numpy's boolean assignment, written
        # straight into the zeros it leaves where not ok)
        cv2.bitwise_and(sub, sub, dst=warped[y0:y1, x0:x1], mask=ok.view(np.uint8))
        return warped, valid

    def _carried_before(self, track: int | None, pose: bool) -> bool:
        """Whether the track's frames so far carried the reference's surroundings (:meth:`_same_place`'s average at
        least a half) and the face is in the reference's pose: then this frame most likely carries them too, and is
        warped first from the picture without ``matte_edge``'s recolour. False where there is no such picture."""
        if self._plain_levels is None or track is None or not pose:
            return False
        return self._places.get(track, 0.0) >= 0.5

    def _picture(self, level: int, plain: bool) -> np.ndarray:
        """The pyramid ``level``'s picture for :func:`remap_with_validity`: without ``matte_edge``'s recolour where
        ``plain`` (and there is such a picture), for a frame that carries the reference's surroundings."""
        levels = self._plain_levels if plain and self._plain_levels is not None else self._levels
        return levels[level]

    def _offset(self, track: int | None) -> np.ndarray:
        """The (x, y) translation the registration adds to the track's control points (its gain applied)."""
        held = self._offsets.get(track) if track is not None else None
        return np.zeros(2) if held is None else self.options.register * held

    def _register_samples(self) -> int:
        """How many measures a track's estimate is the median of: its last ``register_window`` frames' (at least 5)."""
        return max(int(self.options.register_window) // max(int(self.options.register_every), 1), 5)

    def _register_due(self, track: int) -> bool:
        """Whether this frame of ``track`` is measured: every frame until it has :meth:`_register_samples` measures
        (a new face is registered at once), then every ``register_every`` frames."""
        count = self._register_frames.get(track, 0)
        self._register_frames[track] = count + 1
        every = max(int(self.options.register_every), 1)
        return len(self._register_seen.get(track, ())) < self._register_samples() or count % every == 0

    def _register_band(
        self, lm: np.ndarray, mask: np.ndarray, face: tuple[int, int, int, int]
    ) -> tuple[int, int, int, int, int] | None:
        """(x0, y0, x1, y1, wy1): the box of the ``face`` (x0, y0, x1, y1) around the band above the ``mask`` that
        :func:`residual_shift` reads (not only the box the caller reads: a mask high on the face leaves it no band), and
        the row (``wy1``, exclusive) down to which the reference is warped in it (the band lies above the mask's middle:
        down to there and its reach); None: no band."""
        height = face_axes(lm)[1]
        # (the mask's box: OpenCV's, many times faster than numpy's on a big ROI)
        if mask.dtype == np.uint8:
            covered = mask
        elif mask.dtype in (np.float32, np.float64, np.int16, np.uint16, np.int32):
            covered = cv2.compare(mask, 0, cv2.CMP_GT)  # (OpenCV's test: one pass, 255 where > 0)
        else:
            covered = (mask > 0).view(np.uint8)
        mx, my, mw, mh = cv2.boundingRect(covered)
        if mw == 0 or mh == 0:
            return None
        reach = band_reach(height)
        bx0, by0 = max(mx, face[0]), max(my - reach, face[1])
        bx1, by1 = min(mx + mw, face[2]), min(my + mh, face[3])
        wy1 = min(my + (mh - 1) // 2 + reach, by1)
        if bx1 <= bx0 or wy1 <= by0:
            return None
        return bx0, by0, bx1, by1, wy1

    def _register(
        self, lm: np.ndarray, image: np.ndarray, mask: np.ndarray, track: int, sub: np.ndarray, inside: np.ndarray,
        origin: tuple[int, int], band: tuple[int, int, int, int, int],
    ) -> bool:
        """Update the track's translation of the control points by what :func:`residual_shift` reads on this frame,
        before its warp: on the reference warped with the held translation (``sub`` and ``inside``, as
        :func:`remap_with_validity` returns them, of a box with its top-left at ``origin`` in the ROI, covering the
        ``band``'s warped part: :meth:`_register_band`). Returns whether the held translation moved."""
        height = face_axes(lm)[1]
        bx0, by0, bx1, by1, wy1 = band
        ox, oy = origin
        rows, cols = slice(by0 - oy, wy1 - oy), slice(bx0 - ox, bx1 - ox)
        warped = np.zeros((by1 - by0, bx1 - bx0, 3), np.uint8)
        valid = np.zeros((by1 - by0, bx1 - bx0), bool)
        valid[: wy1 - by0] = inside[rows, cols] >= 192
        cv2.bitwise_and(sub[rows, cols], sub[rows, cols], dst=warped[: wy1 - by0], mask=valid[: wy1 - by0].view(np.uint8))
        box = (slice(by0, by1), slice(bx0, bx1))
        shift = residual_shift(image[box], warped, valid, mask[box], height, self.options.register_depth)
        if shift is None:
            return False
        held = self._offsets.get(track, np.zeros(2))
        seen = self._register_seen.setdefault(track, [])
        seen.append(float(self.options.register * held[1] + shift[1]))
        del seen[: -self._register_samples()]
        # (down the face only: FaceMesh's landmarks above a mask lie higher than on the bare face, never lower; a
        # measure up is the cheeks raised by a smile or a squint, not where the face is)
        target = float(np.clip(np.median(seen), 0.0, _REGISTER_BOUND * height))
        moved = False
        if track not in self._offsets or abs(target - held[1]) > self.options.register_hold * height:
            moved = target != held[1]
            self._offsets[track] = np.array([0.0, target])
        log.debug("register: shift %.2f, %.2f px, held %.2f, %.2f", *shift, *self._offsets[track])
        return moved
