"""The carried lower face moved down to the frame's nose length (``WarpOptions.nose_length``).

The warp's control points under a worn mask come from two sources: the nose's are FaceMesh's (its guess from the
face above the mask), the mouth's, the jaw's and the neck's are the reference's own, carried onto the frame by the
similarity of the landmarks seen above the mask. A reference photographed from below (or a head tilted back) shows
its nose foreshortened: its nose base, nostrils and mouth lie nearer its eyes than on the frame's face. Carried by the
similarity, its mouth then lies where FaceMesh puts the frame's nose tip, and the spline, pulled both ways, ends with a
compromise: the stand-in's short nose with its nostrils just under the mask's top edge, a squeezed upper lip, and the
points above the mask (the nose bridge, the eyes' inner corners) pulled several pixels off the frame's.

:func:`nose_drop` reads how much longer the frame's nose is (FaceMesh's nose underside against the reference's
carried, down the face, in eye spans) and moves the carried points down by it: fully from the nose's base down
through the mouth, fading to ``chin_share`` of it at the chin (the chin stands out from the face less than the nose
and the lips, so a tilt moves it less) and to nothing towards the nose's root and the face's sides (the jaw's angles
and the ears lie far back). A frame nose shorter than the carried one is left alone: it puts no nose tip on the lip
(and FaceMesh under a mask places the nose's underside a little high: -0.02 to -0.03 eye spans on KF94 with her own
frame as the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask_video import landmark_sets

__all__ = ["CHIN_SHARE", "HALF_WIDTH", "NoseDrop", "SLACK", "nose_drop"]

_EYES = landmark_sets.index(landmark_sets.LEFT_EYE_CORNERS[:1] + landmark_sets.RIGHT_EYE_CORNERS[1:])
_UNDERSIDE = landmark_sets.index(landmark_sets.NOSE_UNDERSIDE)
#: A frame nose longer than the carried one by up to this many eye spans is left as it is (FaceMesh's guess under the
#: mask wanders by about that much; a reference of the frame's own face stays as it was).
SLACK = 0.05
#: The share of the drop the chin, and the neck below it, take.
CHIN_SHARE = 0.5
#: Eye spans from the face's midline beyond which a carried point does not move (the jaw's angles, the ears).
HALF_WIDTH = 0.75


@dataclass(frozen=True)
class NoseDrop:
    """How far the frame's nose underside lies below the reference's carried one, and the profile of the move."""

    #: Pixels down the face the carried points at the nose's base move (the excess past the slack, times the gain).
    drop: float
    #: The unit vector down the face (perpendicular to the eyes' line, float64 (2,)).
    down: np.ndarray
    #: The unit vector across the face, image-left to image-right.
    across: np.ndarray
    #: The eyes' span (outer corners) in pixels: the unit of the profile's widths.
    span: float
    #: Positions down the face (pixels along ``down``) of the carried nose root, nose underside and chin.
    root: float
    base: float
    chin: float
    #: Position across the face (pixels along ``across``) of the frame's nose root: the face's midline.
    middle: float
    #: Share of the drop the chin (and everything below it) takes.
    chin_share: float
    #: Half-width, in eye spans, beyond which a point (the jaw's angles, the ears) does not move.
    half_width: float

    def moves(self, points: np.ndarray) -> np.ndarray:
        """Each carried point's move ((N, 2) float64) for its place ((N, 2), the frame's pixels)."""
        pts = np.asarray(points, np.float64)
        t = pts @ self.down
        x = (pts @ self.across - self.middle) / max(self.span, 1e-9)
        rise = np.clip((t - self.root) / max(self.base - self.root, 1e-9), 0.0, 1.0)
        fall = np.clip((t - self.base) / max(self.chin - self.base, 1e-9), 0.0, 1.0)
        side = np.clip(1.0 - (x / max(self.half_width, 1e-9)) ** 2, 0.0, 1.0)
        weight = rise * side * (1.0 - (1.0 - self.chin_share) * fall)
        return (self.drop * weight)[:, None] * self.down[None, :]


def nose_drop(
    frame: np.ndarray,
    carried_root: np.ndarray,
    carried_underside: np.ndarray,
    carried_chin: np.ndarray,
    gain: float = 1.0,
    slack: float = SLACK,
    chin_share: float = CHIN_SHARE,
    half_width: float = HALF_WIDTH,
) -> NoseDrop | None:
    """The move of the carried lower face for the frame's nose length, or None where there is none.

    ``frame``: the frame's (468, 2) landmarks; ``carried_root``, ``carried_underside`` ((3, 2), as
    :data:`~unmask_video.landmark_sets.NOSE_UNDERSIDE`) and ``carried_chin``: the reference's nose root, nose underside
    and chin carried onto the frame. The drop is how far FaceMesh's nose underside lies below the carried one (the
    mean, down the face), less ``slack`` eye spans, times ``gain``; none where that is not positive.
    """
    lm = np.asarray(frame, np.float64)
    left, right = lm[_EYES]
    eyes = right - left
    span = float(np.hypot(*eyes))
    if span < 1e-6 or gain <= 0:
        return None
    across = eyes / span
    down = np.array([-across[1], across[0]])
    under = np.asarray(carried_underside, np.float64)
    base = float(np.mean(under @ down))
    longer = float(np.mean(lm[_UNDERSIDE] @ down)) - base
    drop = gain * (longer - slack * span)
    root = float(np.asarray(carried_root, np.float64) @ down)
    chin = float(np.asarray(carried_chin, np.float64) @ down)
    if drop <= 0 or not root < base < chin:
        return None
    middle = float(lm[landmark_sets.NOSE_ROOT] @ across)
    return NoseDrop(drop, down, across, span, root, base, chin, middle, chin_share, half_width)
