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

The unsure model is built on first use: a clip whose faces the model is sure of pays nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from unmask_video.face_landmark_model import Roi, RoiLandmarker, landmark_drift

log = logging.getLogger(__name__)

#: The ROIs an unsure start looks in after the detection's own: (rotation kept, size factor).
_VARIANTS = ((False, 1.0), (True, 1.25))


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
        self._closed = False
        #: Looks run so far (each one model run on one ROI, the second looks included).
        self.looks = 0

    def close(self) -> None:
        """Release the model (built on first use); later looks find nothing."""
        if self._model is not None:
            self._model.close()
        self._model = None
        self._closed = True

    def _landmarker(self) -> RoiLandmarker:
        if self._model is None:
            self._model = RoiLandmarker(self.presence, self._crop_size, self._one_resample)
        return self._model

    def look(self, image: np.ndarray, roi: Roi) -> np.ndarray | None:
        """Landmarks of an unsure face in ``roi``, or None: no face there, or its landmarks do not hold still."""
        if self._closed:
            return None
        model = self._landmarker()
        first = model.landmarks(image, roi)
        self.looks += 1
        if first is None:
            return None
        moved, again = landmark_drift(model, image, first)
        self.looks += 1
        if again is None or moved > self.max_drift:
            log.debug("an unsure face dropped: its landmarks moved %.2f face widths", moved)
            return None
        return again

    def start(self, image: np.ndarray, roi: Roi) -> np.ndarray | None:
        """:meth:`look` on the detection's ROI and its :func:`variants`, the first that holds."""
        for candidate in variants(roi):
            found = self.look(image, candidate)
            if found is not None:
                return found
        return None


__all__ = ["UnsureLooker", "variants"]
