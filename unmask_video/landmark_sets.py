"""Named MediaPipe FaceMesh (468-point) landmark index sets, defined once for the whole project.

Every module that needs a group of landmarks imports it from here; no index list is written twice.
Image-left is the subject's right side. Mirror pairs in the canonical mesh: 116/345, 117/346, 118/347,
119/348, 120/349, 121/350, 234/454, 93/323, 33/263, 133/362, 61/291.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np

NUM_LANDMARKS: Final = 468


@functools.cache
def index(points: tuple[int, ...]) -> np.ndarray:
    """``points`` (one of the sets below, or a sum of them) as a read-only np.intp index array, made once per set and
    shared by every module that indexes landmarks with it (a tuple or list converts at every fancy index)."""
    array = np.array(points, np.intp)
    array.flags.writeable = False
    return array

#: Closed face outline, clockwise from the top of the forehead.
FACE_OVAL: Final[tuple[int, ...]] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)

#: Jaw line from the image-left ear (234) under the chin (152) to the image-right ear (454).
JAW: Final[tuple[int, ...]] = (
    234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361,
    323, 454,
)

#: Under-eye cheek line from the image-right cheek to the nose bridge to the image-left cheek.
UNDER_EYES: Final[tuple[int, ...]] = (345, 346, 347, 348, 349, 350, 197, 121, 120, 119, 118, 117, 116)

#: The region a surgical mask covers: the jaw line closed over the cheeks under the eyes and the
#: nose bridge. This is the polygon inside which the mask is segmented (the method's lower-face polygon).
MASK_REGION: Final[tuple[int, ...]] = JAW + UNDER_EYES

#: Points that are always under a worn mask (nose tip, mouth): they pick the mask cluster.
MASK_CORE: Final[tuple[int, ...]] = (1, 4, 5, 195, 0, 13, 14, 17, 61, 291, 37, 267, 84, 314)

#: Chin points between the lower lip and the jaw: under a mask worn correctly, worn low or on the chin.
MASK_CHIN: Final[tuple[int, ...]] = (18, 200, 199, 175)

#: Outer lip contour, closed, from the image-left mouth corner over the upper lip and back under the lower lip.
LIPS_OUTER: Final[tuple[int, ...]] = (
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
)

#: Inner lip contour (the mouth's opening), closed, from the image-left inner corner over the upper lip and back.
LIPS_INNER: Final[tuple[int, ...]] = (
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95,
)

#: Forehead points (mid, image-left, image-right, between the brows): bare skin above a worn mask, used as a skin colour probe.
FOREHEAD: Final[tuple[int, ...]] = (151, 108, 337, 9)

LEFT_EYE_CORNERS: Final[tuple[int, ...]] = (33, 133)
RIGHT_EYE_CORNERS: Final[tuple[int, ...]] = (362, 263)
#: The eyes' outlines (the lids' edges, in order round each eye; image-left then image-right, as the corners above).
LEFT_EYE_OUTLINE: Final[tuple[int, ...]] = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
RIGHT_EYE_OUTLINE: Final[tuple[int, ...]] = (
    263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
)
#: The brows' outlines (upper edge out from the nose, then the lower edge back; image-left then image-right).
LEFT_BROW_OUTLINE: Final[tuple[int, ...]] = (107, 66, 105, 63, 70, 46, 53, 52, 65, 55)
RIGHT_BROW_OUTLINE: Final[tuple[int, ...]] = (336, 296, 334, 293, 300, 276, 283, 282, 295, 285)
#: The eyes' and the brows' outlines: the face's features above a worn mask that are not skin.
EYES_AND_BROWS: Final[tuple[tuple[int, ...], ...]] = (
    LEFT_EYE_OUTLINE, RIGHT_EYE_OUTLINE, LEFT_BROW_OUTLINE, RIGHT_BROW_OUTLINE,
)
NOSE: Final[tuple[int, ...]] = (168, 6, 197, 195, 5, 4, 1, 2, 98, 327)
MOUTH: Final[tuple[int, ...]] = (61, 291, 0, 17, 13, 14, 37, 267, 84, 314)
#: The mouth's corners (image-left, image-right).
MOUTH_CORNERS: Final[tuple[int, int]] = (61, 291)
#: The inner lips' middle points (upper, lower): how far apart they are is how open the mouth is.
INNER_LIPS_MIDDLE: Final[tuple[int, int]] = (13, 14)
#: Single points read by name: the nose bridge between the eyes, the nose tip, the nose's base where it meets the
#: upper lip, and the chin's lowest point (the middle of :data:`JAW`).
NOSE_BRIDGE: Final = 6
NOSE_TIP: Final = 1
NOSE_BASE: Final = 2
CHIN: Final = 152
#: The outer lower lip's lowest point on the midline (the top of the chin's skin below it).
LOWER_LIP_BOTTOM: Final = 17
#: The outer upper lip's highest point on the midline (below the nose's base).
UPPER_LIP_TOP: Final = 0
#: The nose's root between the eyes (above a worn mask: FaceMesh sees it).
NOSE_ROOT: Final = 168
#: The nose's ridge from its root between the eyes down to its tip, in order (the bridge above a worn mask is seen).
NOSE_RIDGE: Final[tuple[int, ...]] = (168, 6, 197, 195, 5, 4, 1)
#: The nose's underside: its base over the upper lip and the bases of its wings. Under a worn mask FaceMesh guesses
#: them from the face above it; the warp reads from them how long the frame's nose is.
NOSE_UNDERSIDE: Final[tuple[int, ...]] = (2, 98, 327)
#: The nostrils seen from the front: the underside's points and the nostrils' own (79 and 309 the holes' inner
#: corners, 20 and 250 their outer rims): a bare nose shows them as dark holes, cloth over the nose does not.
NOSTRILS: Final[tuple[int, ...]] = (2, 98, 327, 79, 309, 20, 250)
#: The nose's midline from its tip to its base over the upper lip: a worn mask covers both (FaceMesh's guess of them
#: under the cloth too); a mask worn below the nose leaves both bare (its top edge may still rise over the wings'
#: bases beside them, which a small nose keeps close to the cheeks).
NOSE_TIP_TO_BASE: Final[tuple[int, ...]] = (NOSE_TIP, 4, NOSE_BASE)

#: Control points of the thin-plate-spline warp of the reference onto a frame (30 points):
#: the eye corners and nose bridge anchor the warp above the mask, the jaw and mouth shape it below.
TPS_CONTROL: Final[tuple[int, ...]] = (
    33, 133, 362, 263, 168, 6, 197, 195, 4, 1, 98, 327,
    61, 291, 0, 17, 13, 14,
    234, 93, 58, 136, 149, 152, 378, 365, 288, 323, 454, 10,
)

#: Five points for similarity alignment of a face crop (eye corners averaged, nose tip, mouth corners).
ALIGNMENT: Final[tuple[int, ...]] = (33, 133, 362, 263, 1, 61, 291)

#: Outer eye corners (image-left, image-right): the line the FaceMesh landmark model's ROI is rotated to level.
ROI_ROTATION: Final[tuple[int, int]] = (33, 263)

#: The lower jaw line from the image-left jaw angle under the chin to the image-right one: the points the
#: thin-plate spline's extrapolated control points below the jaw (chin, jaw underside, upper neck) grow from.
LOWER_JAW: Final[tuple[int, ...]] = (58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288)

#: Two points of the lower jaw line, one on each side, about as far apart as the neck is wide: what lies below
#: the jaw and outside the lines through them (down the face) is beside the neck (background, hair, shoulders).
NECK_SIDES: Final[tuple[int, int]] = (136, 365)

#: The face's image-left side (by the ear), the nose bridge between the eyes, the image-right side: how far the bridge
#: lies between the sides says how far the face is turned (all three above a worn mask, unlike the nose tip).
YAW_PROBE: Final[tuple[int, int, int]] = (234, 168, 454)

#: The face outline at the eyes' height, image-left side then image-right side (above a worn mask, or at its top
#: edge, where FaceMesh still sees the cheek's edge against what lies beside it): how wide each side of the face is.
OUTLINE_SIDES: Final[tuple[tuple[int, ...], tuple[int, ...]]] = ((127, 234), (356, 454))

#: Forehead top and chin tip: the face height, the unit of lengths extrapolated from the face geometry.
FACE_HEIGHT: Final[tuple[int, int]] = (10, 152)

#: Points FaceMesh follows well above a worn mask (eye corners, nose bridge): the face's rigid frame, in which
#: the warp's lower-face control points (guessed under the mask, and jittery) are smoothed over time.
UPPER_FACE: Final[tuple[int, ...]] = (33, 133, 362, 263, 168, 6)

#: Points FaceMesh places well above a worn mask (eye corners, nose bridge, brows, temples, mid forehead): the
#: least-squares similarity between the reference's and a frame's is how the region under the mask that
#: FaceMesh cannot see (below the jaw) is carried from the reference onto the frame.
STABLE_FACE: Final[tuple[int, ...]] = UPPER_FACE + (70, 105, 107, 336, 334, 300, 127, 356, 151)
