"""The warp's control points: the reference's, and a frame's, and where those come from.

The spline is fitted on the :data:`~unmask_video.landmark_sets.TPS_CONTROL` landmarks and, below the jaw, the points
:func:`~unmask_video.below_jaw.below_jaw_points` extrapolates. Under a mask FaceMesh cannot see the jaw and mouth: its
guess there is biased (the chin placed too high) and jitters. So a frame's control points under the mask (below the
jaw, and on the jaw and mouth) are the reference's own, carried onto the frame by the least-squares similarity of the
landmarks FaceMesh does see (:data:`~unmask_video.landmark_sets.STABLE_FACE`: eyes, brows, nose bridge, temples),
each side's outline widened to the frame's (``outline_fit``), moved down to the frame's nose length
(:mod:`unmask_video.nose_length`) and, for a head turned from the reference's, towards FaceMesh's guess
(``turned_jaw``); only those points above the mask follow FaceMesh directly (``neck_from_reference``,
``jaw_from_reference``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from unmask_video import landmark_sets
from unmask_video.align import similarity, transform_points
from unmask_video.below_jaw import NECK_RINGS, NECK_ROOTS, below_jaw_points
from unmask_video.face_shape import yaw
from unmask_video.nose_length import nose_drop

if TYPE_CHECKING:
    from unmask_video.warp import WarpOptions

log = logging.getLogger(__name__)

__all__ = ["ControlPoints", "OUTLINE_FIT_BOUNDS", "TURN_FULL", "TURN_START"]

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
_NECK_ROOTS_INDEX = landmark_sets.index(NECK_ROOTS)
#: The reference's nose root, nose underside and chin, read by ``nose_length``.
_NOSE_PROBE = landmark_sets.index((landmark_sets.NOSE_ROOT,) + landmark_sets.NOSE_UNDERSIDE + (landmark_sets.CHIN,))
_LOWER_CONTROL_INDEX = landmark_sets.index(_LOWER_CONTROL)
#: ``turned_jaw`` starts where the reference's head turn differs from the frame's by this much (:func:`yaw`; a frontal
#: photo of a face turned a little as it talks stays below it) and is full from :data:`TURN_FULL`.
TURN_START = 0.12
TURN_FULL = 0.3
#: ``outline_fit``'s factor on each side's width stays within these bounds (a FaceMesh outline point that strays onto
#: the hair or the ear does not blow the jaw up).
OUTLINE_FIT_BOUNDS = (0.8, 1.35)
#: ... and a side within this fraction of the frame's width is left as the similarity carries it.
_OUTLINE_FIT_SLACK = 0.05


class ControlPoints:
    """The spline's control points of the reference (:attr:`reference`) and of a frame (:meth:`target`), in the same
    order: the :data:`~unmask_video.landmark_sets.TPS_CONTROL` landmarks, then the points below the jaw."""

    def __init__(self, landmarks: np.ndarray, reference_yaw: float, options: WarpOptions) -> None:
        """``landmarks``: the reference's (468, 2) landmarks in its (cropped) picture; ``reference_yaw``: its head turn
        (:func:`yaw`)."""
        self.options = options
        self._yaw = reference_yaw
        #: The reference's control points (the spline maps a frame's onto them).
        self.reference = self.of(landmarks)
        self._stable = landmarks[_STABLE].astype(np.float64)
        self._lower = landmarks[_LOWER_CONTROL_INDEX].astype(np.float64)
        self._roots = landmarks[_NECK_ROOTS_INDEX].astype(np.float64)
        self._nose = landmarks[_NOSE_PROBE].astype(np.float64)
        #: The reference's outline points on each side (``outline_fit``), per entry of ``OUTLINE_SIDES``.
        self._sides = {
            side: landmarks[landmark_sets.index(side)].astype(np.float64) for side in landmark_sets.OUTLINE_SIDES
        }
        self._neck = (
            below_jaw_points(landmarks, options.neck_reach) if options.neck_reach > 0 else np.zeros((0, 2))
        )

    def of(self, landmarks: np.ndarray) -> np.ndarray:
        """The spline's control points of a face: the TPS_CONTROL landmarks and the points below its jaw."""
        pts = np.asarray(landmarks, np.float64)[_TPS]
        if self.options.neck_reach > 0:
            pts = np.concatenate([pts, below_jaw_points(landmarks, self.options.neck_reach)])
        return pts

    def carries(self) -> bool:
        """Whether the frame's control points under the mask are the reference's carried onto it
        (:meth:`target`)."""
        return bool(self.options.neck_from_reference or self.options.jaw_from_reference > 0)

    def to_frame(self, landmarks: np.ndarray) -> np.ndarray:
        """The similarity (2x3) of the reference's stable landmarks onto the frame's."""
        return similarity(self._stable, np.asarray(landmarks, np.float64)[_STABLE])

    def target(self, landmarks: np.ndarray, to_frame: np.ndarray | None = None) -> np.ndarray:
        """A frame's control points, in the order of :meth:`of`'s: FaceMesh's where it sees (above the
        mask), and below the jaw (and, with ``jaw_from_reference``, on the jaw) the reference's own points
        carried onto the frame by the similarity of the stable landmarks (``to_frame``: :meth:`to_frame`, when the
        caller has it)."""
        o = self.options
        if not self.carries():
            return self.of(landmarks)
        lm = np.asarray(landmarks, np.float64)
        if to_frame is None:
            to_frame = self.to_frame(lm)
        widen = self._outline_fit(lm, to_frame) if o.outline_fit else None
        pts = lm[_TPS]
        turned = self._turned_weight(lm)
        drop = None
        if o.nose_length > 0:
            probe = transform_points(self._nose, to_frame)
            drop = nose_drop(lm, probe[0], probe[1:-1], probe[-1], o.nose_length)
            if drop is not None:
                log.debug("nose length: the carried lower face moved down %.1f px at the nose's base", drop.drop)
        if o.jaw_from_reference > 0:
            w = float(o.jaw_from_reference) * turned
            carried = transform_points(self._lower, to_frame)
            if widen is not None:
                carried[_OUTLINE_ROWS] = widen(carried[_OUTLINE_ROWS])
            if drop is not None:
                carried += drop.moves(carried)
            pts[_LOWER_ROWS] = (1.0 - w) * pts[_LOWER_ROWS] + w * carried
        if o.neck_reach > 0:
            if o.neck_from_reference:
                neck = transform_points(self._neck, to_frame)
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
        :data:`TURN_START` (:func:`yaw`), ``turned_jaw`` from :data:`TURN_FULL`, linear in between."""
        if self.options.turned_jaw >= 1.0:
            return 1.0
        turn = abs(yaw(lm) - self._yaw)
        ramp = min(max((turn - TURN_START) / (TURN_FULL - TURN_START), 0.0), 1.0)
        return 1.0 - ramp * (1.0 - float(self.options.turned_jaw))

    def _turned_neck_shift(
        self, lm: np.ndarray, to_frame: np.ndarray, widen: Callable[[np.ndarray], np.ndarray] | None, turned: float
    ) -> np.ndarray:
        """The neck's carried points' move ((rings * R, 2)) with the jaw's towards FaceMesh's guess (``turned_jaw``):
        each ring point by its root's (the lower jaw's points it grows from), the carried jaw held by ``turned``."""
        roots = transform_points(self._roots, to_frame)
        roots = roots if widen is None else widen(roots)
        shift = (1.0 - turned) * (lm[_NECK_ROOTS_INDEX].astype(np.float64) - roots)
        return np.tile(shift, (len(NECK_RINGS), 1))

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
            factors.append(float(min(max(ratio, OUTLINE_FIT_BOUNDS[0]), OUTLINE_FIT_BOUNDS[1])))  # (np.clip's value)
        log.debug("outline fit: sides widened x%.3f, x%.3f", *factors)

        def widen(points: np.ndarray) -> np.ndarray:
            offset = points @ across - middle
            factor = np.where(offset < 0, factors[0], factors[1])
            return points + ((factor - 1.0) * offset)[:, None] * across[None, :]

        return widen
