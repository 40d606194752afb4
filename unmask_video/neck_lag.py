"""The neck held back with the torso while the head moves quickly in the picture (``WarpOptions.neck_lag``).

The neck below the jaw is held by the torso as much as by the head. As one talks the head nods, bobs and sways quickly
while the torso and the collar stay; carried rigidly with the head, the reference's neck put lit skin over the collar
when the head dipped and left the collar where the neck shows when it rose. Per face track, a torso follows the head's
centre at most ``neck_follow`` face heights a frame, and the neck's control points (each ring below the jaw by its
depth) are moved back by the head's lead on it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from unmask_video import landmark_sets
from unmask_video.below_jaw import NECK_RINGS, NECK_ROOTS
from unmask_video.face_axes import face_axes

if TYPE_CHECKING:
    from unmask_video.warp import WarpOptions

log = logging.getLogger(__name__)

__all__ = ["NeckLag"]

#: A head's centre that moves more than this many face heights from one warped frame of its track to the next has not
#: moved: the picture changed (a cut) or frames without a mask passed; the neck's lag (``neck_lag``) starts afresh.
#: (lp_d12, a quick talker, moves at most 0.1 a frame.)
_NECK_JUMP = 0.25
_STABLE = landmark_sets.index(landmark_sets.STABLE_FACE)


class NeckLag:
    """Per face track, where the torso has followed the head to, and the neck's control points' move that it gives."""

    def __init__(self, options: WarpOptions) -> None:
        self.options = options
        #: Per face track: where (picture x, y) the torso has followed the head's centre to (``neck_lag``), and where
        #: the head's centre was on the track's last frame.
        self._torsos: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: How much of the head's lead on the torso each control point takes back: the neck's rings, by their depth.
        self._lag_weights = np.concatenate([np.zeros(len(landmark_sets.TPS_CONTROL)), *(
            [np.full(len(NECK_ROOTS), r) for r in NECK_RINGS] if options.neck_reach > 0 else [])])

    def reset(self, track: int | None = None) -> None:
        """Forget one face track (``None``: every track)."""
        if track is None:
            self._torsos.clear()
        else:
            self._torsos.pop(track, None)

    def __call__(
        self, lm: np.ndarray, origin: tuple[int, int] | None, track: int | None, height: float | None = None
    ) -> np.ndarray | None:
        """The control points' move ((K, 2)) that holds the neck back with the torso when the head moves in the picture
        faster than ``neck_follow`` (``neck_lag``); ``origin``: the ROI's (x, y) in the picture; ``height``: the face
        height in pixels (:func:`face_axes`), when the caller has it. None: no move (off, no origin or track, or the
        torso has caught up)."""
        o = self.options
        if o.neck_lag <= 0 or o.neck_reach <= 0 or origin is None or track is None:
            return None
        # (the head's place in the picture: its stable landmarks', which FaceMesh sees above the mask)
        head = lm[_STABLE].mean(axis=0) + np.asarray(origin, np.float64)
        if height is None:
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
