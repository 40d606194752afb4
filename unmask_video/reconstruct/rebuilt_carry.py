"""A face's last rebuilt region carried onto its next frame where the face has barely moved
(:attr:`~unmask_video.reconstruct.composite.CompositeOptions.carry_frames`).

The region rebuilt on a face's frame is kept with the frame's grey region then (:meth:`RebuiltCarry.keep`). On its
next frame, where the landmarks lie within ``carry_fit`` of an affine map of the last ones, the region moved by that
map is pasted instead of a rebuild (:meth:`RebuiltCarry.take`), unless the mask reaches past what was rebuilt, the
blend band is not covered or the frame changed on the colour ring (a hand, a shadow, a light that changes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np

from unmask_video.align import affine_fit, transform_points
from unmask_video.reconstruct.composite_bands import Lengths
from unmask_video.reconstruct.face_history import FaceHistory, Located
from unmask_video.reconstruct.fill_seam import distance_to
from unmask_video.stages import FaceROI

if TYPE_CHECKING:
    from unmask_video.reconstruct.composite import CompositeOptions

log = logging.getLogger(__name__)

__all__ = ["Carry", "RebuiltCarry"]


@dataclass
class Carry:
    """A face's last rebuilt region (:attr:`CompositeOptions.carry_frames`): its landmarks in the frame ((n, 2)), the
    region's top-left corner in the frame (x, y), the region rebuilt with the frame's region then as a fourth channel
    (grey; (h, w, 4) uint8), where it was rebuilt ((h, w) uint8, 0 / 1), and on how many frames since it was carried."""

    landmarks: np.ndarray
    origin: np.ndarray
    rebuilt: np.ndarray
    changed: np.ndarray
    carried: int = 0


class RebuiltCarry:
    """Per face, its last rebuilt region, and whether it is carried onto the face's next frame."""

    def __init__(self, options: CompositeOptions) -> None:
        self.options = options
        #: Per face: its last rebuilt region, to carry onto the next frame (:attr:`CompositeOptions.carry_frames`).
        self.carries: FaceHistory[Carry] = FaceHistory()

    def take(
        self, face: FaceROI, region: tuple[slice, slice], hole: np.ndarray, valid: np.ndarray, lengths: Lengths,
        face_px: float, located: Located, off_features: Callable[[np.ndarray, np.ndarray], np.ndarray],
        dist: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(rebuilt, changed): the face's last rebuilt region carried onto ``region`` of this frame (``hole``,
        ``valid``: its mask and the warp's validity), where :attr:`CompositeOptions.carry_frames` allows it; None:
        rebuild. ``changed``: uint8, 1 where ``rebuilt`` holds rebuilt pixels. ``located``: :func:`face_in_frame` of
        ``face``; ``off_features``: ``valid`` less the eyes and brows of the landmarks given (in its pixels), which are
        never pasted; ``dist``: :func:`distance_to` of ``hole`` where the caller has it (None: drawn here)."""
        opts = self.options
        in_frame, centre, size = located
        last = self.carries.take(centre, size)
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
        dist = distance_to(hole, "composite.dist") if dist is None else dist
        valid_u8 = valid.view(np.uint8)
        reach = max(0.5 * lengths.band, 0.0)
        if reach > 0:
            # (the eyes and brows are never pasted (:attr:`CompositeOptions.eye_margin`): not needed either)
            pasted = off_features(valid, face.landmarks - np.array([cols.start, rows.start], np.float32))
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
        self.carries.put(centre, size, last)
        log.debug("the face's last rebuilt region carried (landmarks %.1f px off the affine map)", off)
        return rebuilt, changed

    def keep(
        self, face: FaceROI, region: tuple[slice, slice], rebuilt: np.ndarray, changed: np.ndarray, located: Located
    ) -> None:
        """Keep ``rebuilt`` (``region`` of this face's ROI rebuilt; ``changed``: where) for :meth:`take`
        (``located``: :func:`face_in_frame` of ``face``)."""
        rows, cols = region
        in_frame, centre, size = located
        origin = np.array([face.box.x0 + cols.start, face.box.y0 + rows.start], np.float64)
        both = cv2.cvtColor(rebuilt, cv2.COLOR_RGB2RGBA)
        cv2.insertChannel(cv2.cvtColor(face.image[region], cv2.COLOR_RGB2GRAY), both, 3)
        self.carries.put(centre, size, Carry(in_frame, origin, both, changed.astype(np.uint8)))
