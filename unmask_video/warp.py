"""Thin-plate-spline warp of the reference still onto each frame's face.

The spline is fitted on the :data:`~unmask_video.landmark_sets.TPS_CONTROL` landmarks and used as a
*backward* map: for every pixel of the target face ROI it gives the reference-image position to
sample, which is what :func:`cv2.remap` wants. The map is evaluated on a coarse grid and upsampled
with a bilinear resize (the spline is smooth, so this loses nothing visible and saves most of the
cost), then the reference is resampled once.

Below the jaw FaceMesh has no landmarks, yet a worn mask reaches onto the neck. The spline also gets
control points extrapolated from the reference's face geometry
(:func:`~unmask_video.below_jaw.below_jaw_points`: the underside of the jaw and the upper neck, at fixed fractions of
the face height below the lower jaw line), so the reference's chin, jaw and upper neck are carried onto the frame's,
not left to an inpainting fill. Under the mask a frame's control points are the reference's own, carried onto the
frame by the similarity of the landmarks FaceMesh sees above it (:mod:`unmask_video.warp_control`).

The validity map says where the warp is trustworthy: inside the reference image and on the reference's own face
and neck skin (:mod:`unmask_video.warp_reference`, decided once when the reference is loaded: not its wall, hair,
clothes or glasses frames), carried through the same map, and not where the spline folds or crushes the reference
(tracking failures). Past the reference's face outline its surroundings are carried only from a reference taken where
the frame is, seen in its pose (:mod:`unmask_video.same_place`).

The spline itself is :mod:`unmask_video.tps`, its maps and the remap with the validity
:mod:`unmask_video.warp_maps`, the control points below the jaw :mod:`unmask_video.below_jaw`, what is read off a
face's landmarks (its oval, turn, rigid frame and size) :mod:`unmask_video.face_shape`, the reference photo's bars,
ear loops and skin colour :mod:`unmask_video.reference_picture`, the reference as the warp samples it
:mod:`unmask_video.warp_reference`, the control points of the reference and a frame :mod:`unmask_video.warp_control`;
per face track, the control points' smoothing is :mod:`unmask_video.shape_smoothing`, the registration
:mod:`unmask_video.warp_register`, the jaw's opening :mod:`unmask_video.jaw_opening`, the neck held back with the
torso :mod:`unmask_video.neck_lag` and the judgement of the same place :mod:`unmask_video.same_place`; the carried
lower face is moved to the frame's nose length by :mod:`unmask_video.nose_length`. This module keeps
:class:`WarpOptions` and :class:`ReferenceWarper`, which fits the spline per frame, maps and remaps the face's box.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.align import transform_points
from unmask_video.below_jaw import NECK_RINGS, NECK_ROOTS, neck_region
from unmask_video.errors import InputError
from unmask_video.face_axes import face_axes, neck_column
from unmask_video.face_shape import check_landmarks, face_region, spread_of, yaw
from unmask_video.jaw_opening import JawOpening, JawOptions, jaw_weights
from unmask_video.jaw_outline import JawProfile, jaw_profile
from unmask_video.neck_lag import NeckLag
from unmask_video.reference_shade import ReferenceShade, reference_shade
from unmask_video.same_place import SamePlace
from unmask_video.shape_smoothing import ShapeSmoothing
from unmask_video.tps import TPS, fit_tps
from unmask_video.warp_control import ControlPoints
from unmask_video.warp_maps import MapNodes, shifted_sample, tps_maps
from unmask_video.warp_reference import warp_reference
from unmask_video.warp_register import TrackRegistration, band_box, residual_shift

log = logging.getLogger(__name__)

#: (the four functions: the composite and its outside fill of earlier revisions, which the speed benchmarks load as
#: their baseline beside today's modules, import them from here)
__all__ = ["ReferenceWarper", "WarpOptions", "WarpedReference", "face_region", "neck_column", "neck_region", "yaw"]


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
    #: face's. Time runs at :data:`~unmask_video.shape_smoothing.NOMINAL_FPS` frames per second of the track (the
    #: warp is not told the time).
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
    #: :data:`~unmask_video.warp_control.TURN_START`) shows its lower face in another pose: carried by the similarity of
    #: the eyes and brows, its jaw lands where a turned jaw would lie (the far side short of the frame's cheek, the chin
    #: off to one side), and the warped face ends inside the mask, the rest filled from the hair or clothes beside it.
    #: There the jaw's and the neck's carried points are moved towards FaceMesh's guess under the mask (which follows
    #: the frame's pose), over :data:`~unmask_video.warp_control.TURN_START` to
    #: :data:`~unmask_video.warp_control.TURN_FULL`, to this weight of the carried points at the full turn (1: carried
    #: alone, whatever the turn). A reference in the frame's pose is carried as before.
    turned_jaw: float = 0.5
    #: The lower face's outline carried from the reference (the jaw's control points and those below it) is widened
    #: or narrowed, each side of the face on its own, so that the reference's outline at the eyes' height lands on the
    #: frame's (:data:`~unmask_video.landmark_sets.OUTLINE_SIDES`, which FaceMesh sees above the mask): another
    #: person's face, or one photographed turned another way, is wider or narrower on a side than the similarity of
    #: the eyes and brows says, and its cheek then ended inside the frame's, the rest of the cheek filled from the wall
    #: beside the face. The factor is bounded by :data:`~unmask_video.warp_control.OUTLINE_FIT_BOUNDS`. False: the
    #: similarity alone.
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
    #: not end in a thin white line where it meets the frame's collar (the grey-mask man's clip); beside a darker wall or
    #: hair (a cheek's own highlight) their lightness is only brought down to the rule's threshold (helper manside). A
    #: frame that carries the surroundings of a reference from the same place is warped from the picture as it is:
    #: there the matte's edge meets the carried wall as the photo shows it (benchmarks/README.md, helpers neck and
    #: mattesafe).
    matte_edge: bool = True
    #: With the reference matte, the reference's surroundings carried from the same place (see ``reference_matte``)
    #: stop beside the face (outside its oval and the neck's column) where, near the mask, they differ from what the
    #: frame shows once the change of light is taken off (:data:`~unmask_video.same_place.SAME_PLACE_LOCAL`): the
    #: spline follows the face, not the wall the head moves in front of, which lands beside the jaw shifted (its edges
    #: in arcs); there the composite's fill continues the frame's own surroundings. Off by default: it also stops where
    #: a hand or a held mask passes in front, and the fill then smears them (KF94 with its own frame, frames 36-47),
    #: and it loses more than it gains on some clips of the quality benchmark (benchmarks/README.md).
    same_place_local: bool = False
    #: Paint a mask's ear loop hanging across a cheek out of the reference (inpainted from the skin around it;
    #: :func:`~unmask_video.reference_check.strokes_across_cheeks`), so it is not carried onto every frame.
    remove_loops: bool = True
    #: With the reference matte: paint the thin dark hair strands that fall across the reference's skin (its matte takes
    #: them in with the skin round them) out of it, filled from that skin (:mod:`~unmask_video.hair_strands`), so a
    #: stand-in's loose strand is not carried as a dark line down every rebuilt cheek (the white-mask woman).
    remove_strands: bool = True
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
    #: lips are :data:`~unmask_video.warp_reference.CLOSED_LIPS` apart, the teeth and the mouth's dark inside squeezed
    #: into that gap, and its landmarks with it. The warp carries a closed jaw and ``jaw_opening`` opens it as the
    #: frame's mask says; carried open, the photo's teeth showed on every frame and its chin below the frame's. 0: off.
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

#: The landmark sets of :mod:`~unmask_video.landmark_sets` this module indexes with, as the shared np.intp arrays of
#: :func:`~unmask_video.landmark_sets.index` (a tuple or list converts at every fancy index).
_TPS = landmark_sets.index(landmark_sets.TPS_CONTROL)
_FACE_OVAL = landmark_sets.index(landmark_sets.FACE_OVAL)
_FACE_HEIGHT = landmark_sets.index(landmark_sets.FACE_HEIGHT)
_NECK_ROOTS_INDEX = landmark_sets.index(NECK_ROOTS)


class WarpedReference(NamedTuple):
    """The reference warped onto one face (:meth:`ReferenceWarper.warp`), in that face's ROI coordinates."""

    #: (h, w, 3) uint8: the warped reference, zero where not valid.
    image: np.ndarray
    #: (h, w) bool: where the warp is valid.
    valid: np.ndarray
    #: Where the warp put the reference's own lips: its LIPS_OUTER points ((K, 2) float32; the spline's inverse at
    #: those of the picture it samples, whose open mouth ``close_mouth`` closed, and the registration's translation);
    #: None: nothing was warped.
    lips: np.ndarray | None


def _carried(tps: TPS, points: np.ndarray, offset: tuple[float, float], steps: int = 3) -> np.ndarray:
    """The reference's ``points`` ((K, 2)) where the backward spline ``tps`` (frame -> reference) puts them in the
    frame: its inverse there, found from the inverse of its affine part and ``steps`` corrections by that part's
    inverse (the bend is smooth and small on a face), plus the registration's ``offset`` (the frame's pixel ``p``
    reads the reference at ``tps(p - offset)``); (K, 2) float32."""
    # (the affine part's Jacobian, rows x and y, inverted by hand: LAPACK's wakes OpenBLAS's threads for a 2x2)
    (a, b), (c, d) = tps.affine[1:] / tps.scale
    linear = np.array([[d, -b], [-c, a]]) / (a * d - b * c)
    at = (points - tps.affine[0]) @ linear + tps.center
    for _ in range(steps):
        at += (points - tps(at)) @ linear
    return (at + np.asarray(offset, np.float64)).astype(np.float32)


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
        reference = warp_reference(image, lm, options)
        self.image, self.landmarks = reference.image, reference.landmarks
        self._oval, self._levels, self._plain_levels = reference.validity, reference.levels, reference.plain_levels
        self._src_scale = spread_of(self.landmarks[_TPS])
        #: Per face track: the control points' shape and the face's rigid frame, smoothed.
        self._smoothing = ShapeSmoothing(options)
        self._yaw = yaw(self.landmarks)
        #: The spline's control points: the reference's, and each frame's (:meth:`ControlPoints.target`).
        self._control = ControlPoints(self.landmarks, self._yaw, options)
        #: Per face track: whether the reference's surroundings are carried (a reference taken where the frame is).
        self._same_place = SamePlace(self._yaw)
        self._jaw_profile = jaw_profile(self.landmarks)
        #: Its own shade under the jaw, read on the skin the warp carries (the reference composite lifts it where the
        #: frame shows none so deep).
        self._shade = reference_shade(self.image, self.landmarks, self._oval == 255)
        #: The jaw's opening per face track, and how much of it each control point takes (the neck's, negative: up).
        self._jaw = JawOpening(JawOptions(gain=options.jaw_opening))
        jaw_w = jaw_weights(self.landmarks, self._control.reference[: len(landmark_sets.TPS_CONTROL)])
        if options.neck_reach > 0:
            roots = jaw_weights(self.landmarks, self.landmarks[_NECK_ROOTS_INDEX])
            jaw_w = np.concatenate([jaw_w, *([_JAW_NECK_SHARE * roots] * len(NECK_RINGS))])
        self._jaw_weights = jaw_w
        #: The reference's forehead top and chin (float64), carried onto each frame for the jaw's opening.
        self._height_points = self.landmarks[_FACE_HEIGHT].astype(np.float64)
        #: Per face track: the registration's translation of the control points (``register``).
        self._registration = TrackRegistration(options)
        #: Per face track: the neck held back with the torso (``neck_lag``).
        self._neck_lag = NeckLag(options)
        #: The reference's own lips (LIPS_OUTER, float64; those of the picture sampled: its mouth closed with it), each
        #: warp carries them onto the frame (:attr:`WarpedReference.lips`).
        self._lips = self.landmarks[list(landmark_sets.LIPS_OUTER)].astype(np.float64)

    def _jaw_move(
        self, lm: np.ndarray, mask: np.ndarray | None, track: int | None, to_frame: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The control points' move ((K, 2)) for the jaw's opening under ``mask`` (``jaw_opening``); None: none.
        ``to_frame``: :meth:`ControlPoints.to_frame`, when the caller has it."""
        if self.options.jaw_opening <= 0 or mask is None or track is None or not self.options.jaw_from_reference:
            return None
        if to_frame is None:
            to_frame = self._control.to_frame(lm)
        top, chin = transform_points(self._height_points, to_frame)
        down = chin - top
        height = float(np.hypot(*down))
        if height < 1e-6:
            return None
        down /= height
        opening = self._jaw(mask, chin, down, height, track)
        if opening <= 0:
            return None
        return self._jaw_weights[:, None] * (opening * height * down)[None, :]

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
        self._same_place.reset(track)
        self._smoothing.reset(track)
        self._neck_lag.reset(track)
        self._registration.reset(track)
        self._jaw.reset(track)

    def fit(
        self, landmarks: np.ndarray, track: int | None = None, control: np.ndarray | None = None,
        move: np.ndarray | None = None,
    ) -> TPS:
        """The backward spline from target-ROI coordinates to (cropped) reference coordinates. With
        ``track`` (a face track's id) the control points' shape is averaged over that track's frames. ``control``:
        :meth:`ControlPoints.target` of these landmarks when the caller has it already (it is not computed again).
        ``move``: each control point's move ((K, 2), or (1, 2) for all alike), added after the smoothing: the jaw's
        opening (:meth:`_jaw_move`) and the track's registration (:attr:`WarpOptions.register`), which follow the frame
        at once."""
        lm = check_landmarks(landmarks, "target landmarks")
        dst = self._control.target(lm) if control is None else control
        if track is not None and self.options.shape_smoothing > 0:
            dst = self._smoothing(lm, dst, track)
        if move is not None:
            dst = dst + move
        return fit_tps(self._control.reference, dst, self.options.regularization)

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
        ``face_margin``, clipped to the ROI (``control``: :meth:`ControlPoints.target` of the landmarks, when known)."""
        oval = landmarks[_FACE_OVAL]
        if self.options.neck_reach > 0:
            oval = np.concatenate([oval, self._control.target(landmarks) if control is None else control])
        lo, hi = oval.min(axis=0), oval.max(axis=0)
        grow = self.options.face_margin * float(max(hi - lo)) + 2.0
        # (Python's floor, ceil and bounds on the floats: the same whole numbers as numpy's on its scalars, cheaper)
        x0 = min(max(math.floor(lo[0] - grow), 0), w)
        y0 = min(max(math.floor(lo[1] - grow), 0), h)
        x1 = min(max(math.ceil(hi[0] + grow) + 1, x0), w)
        y1 = min(max(math.ceil(hi[1] + grow) + 1, y0), h)
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
    ) -> WarpedReference:
        """Warp the reference onto a face.

        ``landmarks``: the target's (468, 2) landmarks in ROI coordinates; ``shape``: (h, w) of the ROI.
        Returns the warped reference, (h, w, 3) uint8 (zero where not valid), the validity map, (h, w) bool: inside
        the reference image (or its mirrored neck past its edge) and inside the reference's face oval, and where its
        own lips landed (:class:`WarpedReference`). With ``region``, an (x0, y0, x1, y1) box of the ROI (x1, y1 exclusive), only that box is warped (a caller that
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
        # (the landmarks in float64 once, for the similarity and the control points, which read them so; the face's
        # height once, for the neck's lag, the registration's band and the same place's local test)
        lm64 = lm.astype(np.float64)
        height = face_axes(lm64)[1]
        to_frame = self._control.to_frame(lm64) if self._control.carries() else None
        control = self._control.target(lm64, to_frame)
        # Only the target's face (and a margin) can be valid: map that box, not the whole ROI.
        face = self._face_box(lm, h, w, control)
        x0, y0, x1, y1 = face
        if region is not None:
            x0, y0 = max(x0, int(region[0])), max(y0, int(region[1]))
            x1, y1 = min(x1, int(region[2])), min(y1, int(region[3]))
        if x1 <= x0 or y1 <= y0:
            return WarpedReference(warped, valid, None)
        check = self.options.min_jacobian is not None
        spread = spread_of(lm[_TPS])
        level = self._level(lm, spread)
        # The pyramid level's 2**-level is applied to the grid's nodes, not to the full-size maps (the same maps).
        move = self._jaw_move(lm, mask, track, to_frame)
        lag = self._neck_lag(lm, origin, track, height)
        if lag is not None:
            move = lag if move is None else move + lag
        tps = self.fit(lm, track, control, move)
        scale = 1.0 / (1 << level)
        registering = self.options.register > 0 and image is not None and mask is not None and track is not None
        band = band_box(mask, face, height) if registering and self._registration.due(track) else None
        # (the registration's translation moves every control point alike: the spline read that much up the picture)
        dx, dy = self._registration.offset(track)
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
        pose = (
            self._same_place.pose(lm, track) if self.options.reach_skin_only and self.options.reference_matte else True
        )
        plain = self._carried_before(track, pose)
        merged = self._picture(level, plain)
        nodes = MapNodes(tps, (uy1 - uy0, ux1 - ux0), step, (ux0 - dx, uy0 - dy), check, scale)
        sub, inside = nodes.remapped(merged)
        if band is not None and registering:
            moved = self._register(height, image, mask, track, sub, inside, (ux0, uy0), band)
            if moved:  # (the translation moved: the box warped again with it)
                dx, dy = self._registration.offset(track)
                ux0, uy0, ux1, uy1 = x0, y0, x1, y1
                nodes = MapNodes(tps, (y1 - y0, x1 - x0), step, (x0 - dx, y0 - dy), check, scale)
                sub, inside = nodes.remapped(merged)
        lips = _carried(tps, self._lips, (dx, dy))
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
            carry = self._same_place.carried(sub, inside, image, mask, (x0, y0, x1, y1), track,
                                     height if local else 0.0, photo) if pose else None  # fmt: skip
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
        return WarpedReference(warped, valid, lips)

    def _carried_before(self, track: int | None, pose: bool) -> bool:
        """Whether the track's frames so far carried the reference's surroundings (the average of
        :meth:`~unmask_video.same_place.SamePlace.carried` at least a half) and the face is in the reference's pose:
        then this frame most likely carries them too, and is warped first from the picture without ``matte_edge``'s
        recolour. False where there is no such picture."""
        return self._plain_levels is not None and self._same_place.carried_before(track, pose)

    def _picture(self, level: int, plain: bool) -> np.ndarray:
        """The pyramid ``level``'s picture for :func:`~unmask_video.warp_maps.remap_with_validity`: without
        ``matte_edge``'s recolour where ``plain`` (and there is such a picture), for a frame that carries the
        reference's surroundings."""
        levels = self._plain_levels if plain and self._plain_levels is not None else self._levels
        return levels[level]

    def _register(
        self, height: float, image: np.ndarray, mask: np.ndarray, track: int, sub: np.ndarray, inside: np.ndarray,
        origin: tuple[int, int], band: tuple[int, int, int, int, int],
    ) -> bool:
        """Update the track's translation of the control points by what :func:`residual_shift` reads on this frame,
        before its warp: on the reference warped with the held translation (``sub`` and ``inside``, as
        :func:`~unmask_video.warp_maps.remap_with_validity` returns them, of a box with its top-left at ``origin`` in
        the ROI, covering the ``band``'s warped part: :func:`~unmask_video.warp_register.band_box`). Returns whether the
        held translation moved. ``height``: the face height in pixels (:func:`face_axes`)."""
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
        return self._registration.hold(track, shift, height)
