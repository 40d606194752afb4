"""Faces the landmark model is unsure of: its start retried on wider ROIs, at a presence threshold of their own, each
look checked for stillness.

FaceMesh's landmark model scores how much its input looks like a face (the presence score) and gives no landmarks
under its threshold (``TrackerOptions.min_tracking_confidence``, 0.5). On many masked photos (a flat pasted mask above
all; a tilted head, a very noisy photo) the detector finds the face (scores 0.6-0.9) but the model finds none on the
detection's ROI, so no track ever starts and the mask stays (benchmarks/README.md, issue 10, helper facefind: 18 of
the 320 masked_pairs photos). The detector's box of a masked face is tight and its eye key points rough (297, tilted
30 degrees: its ROI turned 45): on the same ROI a quarter larger, or upright, the model finds 11 of 12 such faces at
0.5. Here the same model with a threshold of its own (``unsure_presence``) looks on the detection's ROI, then upright,
then a quarter larger. A look counts only when it holds still: the model run once more on the ROI of its own
landmarks moves them at most ``start_drift`` face widths (as a start is checked in
:class:`~unmask_video.landmarks.FaceTracker`): a guess at a face in a patterned background jumps.

A face so started is followed (:meth:`UnsureLooker.follow`) with one run a frame at that threshold, no second look: on
the ROI of its last landmarks, as any tracked face, or, where the model is unsure of the face there (a masked face's
landmarks' box is tight, as the detection's was), on the ROI its start found it in, moved, scaled and turned with the
face's landmarks; each frame first on the one that found it last. Landmarks found in the start's wider ROI are less
precise (about 1 % of the face's width off the bare face's more): they are read once more on their own ROI at any
presence, and that second look is taken where it holds still (``start_drift``), as a start's is.

The unsure model is built on first use: a clip whose faces the model is sure of pays nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from unmask_video.face_landmark_model import Roi, RoiLandmarker, landmark_drift, roi_from_landmarks

log = logging.getLogger(__name__)

#: The ROIs an unsure start looks in after the detection's own: (rotation kept, size factor).
_VARIANTS = ((False, 1.0), (True, 1.25))


@dataclass
class UnsureFollow:
    """How a face the unsure look started is followed: the ROI its start found it in (``found_in``), the ROI of the
    landmarks found there (``own``), and whether the last frame found it in ``found_in`` moved with the face
    (``anchored``) rather than in its landmarks' own ROI."""

    found_in: Roi
    own: Roi
    anchored: bool = False

    def moved(self, landmarks: np.ndarray) -> Roi:
        """``found_in`` moved, scaled and turned as the face's landmarks' ROI went from ``own`` to ``landmarks``'."""
        now = roi_from_landmarks(landmarks)
        k = now.size / self.own.size
        return Roi(now.cx + k * (self.found_in.cx - self.own.cx), now.cy + k * (self.found_in.cy - self.own.cy),
                   k * self.found_in.size, self.found_in.rotation + (now.rotation - self.own.rotation))  # fmt: skip


def variants(roi: Roi) -> Iterator[Roi]:
    """The ROIs an unsure start tries: the detection's, then upright, then a quarter larger."""
    yield roi
    for keep_rotation, factor in _VARIANTS:
        yield replace(roi, size=roi.size * factor, rotation=roi.rotation if keep_rotation else 0.0)


class UnsureLooker:
    """The landmark model at ``presence`` (under the tracker's own threshold), for faces the usual look misses.
    Build once; :meth:`close` when done. ``max_drift``: how far (face widths) a look's landmarks may move when the
    model looks again on their own ROI."""

    def __init__(self, presence: float, max_drift: float, crop_size: int = 256, one_resample: bool = False) -> None:
        self.presence = float(presence)
        self.max_drift = float(max_drift)
        self._crop_size = int(crop_size)
        self._one_resample = bool(one_resample)
        self._model: RoiLandmarker | None = None
        self._any: RoiLandmarker | None = None  # (the same model at any presence: :meth:`_refined`'s)
        self._closed = False
        #: Looks run so far (each one model run on one ROI, the second looks included).
        self.looks = 0

    def close(self) -> None:
        """Release the model (built on first use); later looks find nothing."""
        for model in (self._model, self._any):
            if model is not None:
                model.close()
        self._model = self._any = None
        self._closed = True

    def _landmarker(self) -> RoiLandmarker:
        if self._model is None:
            self._model = RoiLandmarker(self.presence, self._crop_size, self._one_resample)
        return self._model

    def _run(self, image: np.ndarray, roi: Roi) -> np.ndarray | None:
        """The model once on ``roi`` (None: no face there, or closed)."""
        if self._closed:
            return None
        found = self._landmarker().landmarks(image, roi)
        self.looks += 1
        return found

    def look(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, UnsureFollow] | None:
        """Landmarks of an unsure face in ``roi`` and how to follow it, or None: no face there, or its landmarks do
        not hold still."""
        first = self._run(image, roi)
        if first is None:
            return None
        moved, again = landmark_drift(self._landmarker(), image, first)
        self.looks += 1
        if again is None or moved > self.max_drift:
            log.debug("an unsure face dropped: its landmarks moved %.2f face widths", moved)
            return None
        return again, UnsureFollow(roi, roi_from_landmarks(first))

    def follow(self, image: np.ndarray, landmarks: np.ndarray, how: UnsureFollow) -> np.ndarray | None:
        """Landmarks of a face :meth:`start` started, followed from its last ``landmarks`` (``how``: as it started):
        the model on the ROI that found it last, then on the other (its landmarks' own ROI; the start's moved with
        the face, its landmarks then :meth:`_refined`); None: neither finds it. One run a frame while its own ROI keeps
        finding it, two while the start's does (no usual look first)."""
        for anchored in (how.anchored, not how.anchored):
            found = self._run(image, how.moved(landmarks) if anchored else roi_from_landmarks(landmarks))
            if found is not None:
                how.anchored = anchored
                return self._refined(image, found) if anchored else found
        return None

    def _refined(self, image: np.ndarray, found: np.ndarray) -> np.ndarray:
        """``found`` (landmarks found in an ROI wider than their own, less precise) read again on their own ROI at any
        presence, as a start's second look; the second look's landmarks where they hold still (``max_drift``), else
        ``found``."""
        if self._any is None:
            self._any = RoiLandmarker(0.0, self._crop_size, self._one_resample)
        moved, again = landmark_drift(self._any, image, found)
        self.looks += 1
        return again if again is not None and moved <= self.max_drift else found

    def start(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, UnsureFollow] | None:
        """:meth:`look` on the detection's ROI and its :func:`variants`, the first that holds."""
        for candidate in variants(roi):
            found = self.look(image, candidate)
            if found is not None:
                return found
        return None


__all__ = ["UnsureFollow", "UnsureLooker", "variants"]
