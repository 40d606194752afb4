"""Advice on the reference photo: what in it will show in every rebuilt frame, said once so the user can pick a
better one.

The rebuilt lower face is the reference's, carried onto every frame. Three things about the photo show in the
result and are easy to fix by choosing another photo:

- a head turned to one side: the far cheek is foreshortened or hidden in the photo, so where the video shows that
  cheek the rebuild has little to carry and fills it from around the face;
- an open mouth (a smile with teeth): the rebuilt mouth is open in every frame, whatever the person says;
- a face much smaller than in the video: the rebuilt part is upscaled and looks softer than the rest of the face.

These are advice, never refusals: each is logged once as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from unmask_video.face_shape import yaw
from unmask_video.face_units import face_size_px
from unmask_video.jaw_opening import mouth_opening

log = logging.getLogger(__name__)

__all__ = ["AdviceOptions", "mouth_opening", "photo_advice", "size_advice"]


@dataclass(frozen=True)
class AdviceOptions:
    """When the reference photo gets a word of advice."""

    #: The head is "turned" past this :func:`~unmask_video.warp.yaw` (0: frontal; about 0.2 shows one cheek). Front
    #: views measure within 0.03 of 0, photos turned enough to hide part of the far cheek 0.14 or more.
    max_yaw: float = 0.1
    #: The mouth is "open" past this :func:`mouth_opening` (relaxed closed lips measure 0.05-0.08, a smile showing
    #: teeth 0.15 or more).
    max_mouth_opening: float = 0.12
    #: The video's face is "much larger" past this many times the reference's face (:func:`face_size_px`).
    max_upscale: float = 1.6


def photo_advice(
    landmarks: np.ndarray, options: AdviceOptions | None = None, closed_past: float = 0.0
) -> list[str]:
    """What about the reference photo's face (its landmarks, (468, 2)) will show in the result, one sentence each,
    with what to do about it; empty when nothing does. ``closed_past``: the warp closes a mouth open past this
    (:attr:`~unmask_video.warp.WarpOptions.close_mouth`; 0: never)."""
    opts = options or AdviceOptions()
    advice = []
    turn = yaw(landmarks)
    if abs(turn) > opts.max_yaw:
        advice.append(
            f"the reference photo's head is turned to one side (yaw {turn:+.2f}, front view 0): the cheek turned away "
            "is partly hidden in it and is filled from around the face; a front-facing photo rebuilds both cheeks"
        )
    opening = mouth_opening(landmarks)
    if 0 < closed_past < opening:
        advice.append(
            f"the reference photo's mouth is open wide (lips apart by {opening:.0%} of the mouth's width): it is closed "
            "for the rebuild, its teeth squeezed between the lips, which can look strained; a photo with the lips "
            "closed looks natural on a talking face"
        )
    elif opening > opts.max_mouth_opening:
        advice.append(
            f"the reference photo's mouth is open (lips apart by {opening:.0%} of the mouth's width): the rebuilt "
            "mouth is open like that in every frame; a photo with the lips closed looks natural on a talking face"
        )
    return advice


def size_advice(reference_landmarks: np.ndarray, face_landmarks: np.ndarray, options: AdviceOptions | None = None
                ) -> str | None:  # fmt: skip
    """A sentence when the video's face (its landmarks) is much larger than the reference photo's, else None."""
    opts = options or AdviceOptions()
    ref_px, face_px = face_size_px(reference_landmarks), face_size_px(face_landmarks)
    if face_px <= opts.max_upscale * ref_px:
        return None
    return (
        f"the face in the video is {face_px:.0f} px, the reference photo's only {ref_px:.0f} px: the rebuilt part is "
        "enlarged and looks softer than the rest of the face; a closer or sharper reference photo helps"
    )
