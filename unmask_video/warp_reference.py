"""The reference photo as the warp samples it, made once when the reference is loaded.

The photo is cropped to its face and the reach below its jaw (:func:`warp_reference`), its ear loops painted out
(:func:`~unmask_video.reference_picture.paint_out_loops`), the thin hair strands across its skin too
(:func:`~unmask_video.hair_strands.paint_out_strands`) and a wide-open mouth closed
(:func:`~unmask_video.jaw_opening.closed_mouth_picture`). Where the region below the jaw runs past the picture's edge
(a low face in a video frame), the picture is continued by its mirror image, valid only where the mirrored pixel is
itself neck: the skin continues without a seam or an inpainted smear.

The validity source says where the warp is trustworthy: on the reference's own face and neck skin
(:mod:`unmask_video.reference_matte`: not its wall, hair, clothes or glasses frames; the skin that hair or a hand
hides filled from the mirror side of the face), one map with two levels (255: the matte; 128: the rest of the face
oval and the region below the jaw, carried only from a reference taken where the frame is), shrunk by a pixel so
that bilinear sampling at its edge never mixes in the outside. A reference photo much bigger than the target face is
sampled from a Gaussian pyramid level (:func:`~unmask_video.warp_maps.pyramid`), so shrinking it does not alias.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from unmask_video.below_jaw import below_jaw_points, neck_region
from unmask_video.blend import disk_morph_near
from unmask_video.errors import InputError
from unmask_video.face_axes import face_axes, neck_column
from unmask_video.face_shape import face_region
from unmask_video.hair_strands import paint_out_strands
from unmask_video.jaw_opening import closed_mouth_picture
from unmask_video.reference_matte import dilated, inner_colour_at_edge, mirror_fill, reference_matte
from unmask_video.reference_picture import paint_out_loops, picture_box, skin_like
from unmask_video.warp_maps import pyramid

if TYPE_CHECKING:
    from unmask_video.warp import WarpOptions

log = logging.getLogger(__name__)

__all__ = ["CLOSED_LIPS", "WarpReference", "warp_reference"]

#: ``close_mouth`` closes the lips to this gap, over the mouth's width.
CLOSED_LIPS = 0.05
#: The reference's skin past its face outline is shrunk by this fraction of the face height, and along the inside
#: of the outline twice as deep only skin is valid.
_SKIN_EDGE = 0.01


@dataclass
class WarpReference:
    """The reference photo as the warp samples it."""

    #: (H, W, 3) uint8 RGB: the photo cropped to its face and the reach below its jaw (continued by its mirror image
    #: past the photo's edge), its ear loops painted out, its mouth closed and, with the matte, its hidden skin filled
    #: and its edge recoloured.
    image: np.ndarray
    #: (468, 2) float32: its landmarks in ``image``'s pixels.
    landmarks: np.ndarray
    #: (H, W) uint8: where the warp is valid (255), valid only from a reference taken where the frame is (128), or not
    #: (0).
    validity: np.ndarray
    #: The picture merged with ``validity`` at each pyramid level (:func:`~unmask_video.warp_maps.pyramid`).
    levels: list[np.ndarray]
    #: The same of the picture before ``matte_edge``'s recolour (None: it recoloured nothing).
    plain_levels: list[np.ndarray] | None


def warp_reference(photo: np.ndarray, lm: np.ndarray, options: WarpOptions) -> WarpReference:
    """The reference ``photo`` ((H, W, 3) uint8 RGB, with its checked (468, 2) landmarks ``lm``) as the warp samples
    it (InputError where its face is too small or outside the picture)."""
    if options.remove_loops:
        photo = paint_out_loops(photo, lm)

    px0, py0, px1, py1 = picture_box(photo)
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
    picture = np.ascontiguousarray(photo[y0:y1, x0:x1])
    image = cv2.copyMakeBorder(picture, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    landmarks = lm - np.array([x0 - left, y0 - top], dtype=np.float32)
    if options.close_mouth > 0:
        image, landmarks = closed_mouth_picture(image, landmarks, options.close_mouth, CLOSED_LIPS)
    plain = None  # (the picture before ``matte_edge``'s recolour, where it recolours)
    # The validity source: the face oval and the region below the jaw, shrunk by one pixel so that bilinear sampling at its
    # edge never mixes in the outside; remapped as float and thresholded.
    face = face_region(image.shape[:2], landmarks)
    neck = neck_region(image.shape[:2], landmarks, options.neck_reach)
    oval = face | neck
    height = face_axes(landmarks)[1]
    grow = int(round(options.outline_reach * height))
    matted = options.reach_skin_only and options.reference_matte
    if grow > 0 and not matted:
        oval = disk_morph_near(oval, cv2.MORPH_DILATE, 2 * grow + 1)  # (cv2.dilate by the disc, the same pixels)
    if matted:
        # Only the reference's own face and neck skin (joined to its face centre, with what it encloses), inside
        # its face oval and the neck's column below the jaw; one map, two levels: 255 the matte, 128 the rest of
        # the region (carried only from a reference taken in the same place, seen in the same pose: see warp()).
        reach = ((neck & neck_column(image.shape[:2], landmarks)) | face) >= 128
        matte = reference_matte(image, landmarks, face, reach.astype(np.uint8) * 255, height)
        if options.remove_strands:
            image = paint_out_strands(image, landmarks, matte, face, height)
        if options.mirror_fill:
            image, matte = mirror_fill(image, landmarks, matte, face, height)
        if options.matte_edge:
            plain, image = image, inner_colour_at_edge(image, matte, height, face)
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
        skin = cv2.erode(skin_like(image, face), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge + 1, 2 * edge + 1)))
        reach = neck_column(image.shape[:2], landmarks) | face
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
    validity = cv2.erode(oval, np.ones((3, 3), np.uint8))
    levels = pyramid(image, validity, options.pyramid)
    # (the same pyramid of the picture without ``matte_edge``'s recolour (None: it recoloured nothing): what a
    # reference from the same place carries past its matte meets the matte's own edge as the photo shows it)
    plain_levels = None if plain is None or plain is image else pyramid(plain, validity, options.pyramid)
    log.debug("reference face cropped to %dx%d, %d pyramid level(s)", image.shape[1], image.shape[0], len(levels))
    return WarpReference(image, landmarks, validity, levels, plain_levels)
