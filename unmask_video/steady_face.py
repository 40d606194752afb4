"""The rebuilt face averaged over time per face track, in the face's rigid frame: less flicker on a still head.

The rebuilt lower face changes from frame to frame more than the truth does where the frame's pixels drive it (the
fill beside the jaw, the colour statistics of the ring around a mask whose outline moves by a pixel or so). Each
face's rebuilt ROI is mixed with the last one carried onto it by the similarity of the landmarks FaceMesh sees
steadily (:data:`~unmask_video.landmark_sets.STABLE_FACE`): an exponential average whose weight of the past falls
with the head's speed, so that a moving head is followed without a trail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.face_units import face_size_px
from unmask_video.landmark_sets import STABLE_FACE
from unmask_video.stages import FaceROI, Image

_STABLE = np.asarray(STABLE_FACE)


@dataclass
class SteadyOptions:
    """Options of :class:`SteadyFace`."""

    #: Weight of the past for a still head (0: off). Quality benchmark, 8 clips x 20 frames, true mask: 0.7 / 0.9 /
    #: 0.95 with ``speed`` 0.1 gave TDE 4.16 / 4.15 against 4.51 without (Telea 5.17), but the lips and jaw doubled
    #: in lp_d12's fast turns; 0.9 with 0.03: 4.21, no trail seen.
    weight: float = 0.9
    #: Head speed (root-mean-square motion of the steady landmarks, face widths per frame) at which the past's
    #: weight has fallen to 1/e of ``weight``.
    speed: float = 0.03
    #: The landmarks the past is carried by (a least-squares affine map): "stable", those FaceMesh sees steadily above
    #: a mask, or "all" (the guesses under the mask jitter: TDE 4.36 instead of 4.19 at weight 0.9, speed 0.05).
    points: str = "stable"
    #: Grey levels: where the frame itself and its carried past differ by this much, the past has
    #: no weight (a hand passing); by less, a weight that falls linearly to that.
    change: float = 24.0
    #: A track not rebuilt for more than this many frames starts afresh.
    gap: int = 3


@dataclass
class _Last:
    frame: int
    points: np.ndarray  # the steady landmarks, frame pixels
    origin: np.ndarray  # the ROI's top-left corner in the frame (x, y)
    image: Image  # the ROI as last given out
    seen: np.ndarray  # the ROI of the frame itself (what the camera saw), grey


def _affine(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """The least-squares affine map (2 x 3) of ``source`` points onto ``target`` points."""
    design = np.hstack([source.astype(np.float64), np.ones((len(source), 1))])
    solution, _, rank, _ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)
    return solution.T.astype(np.float32) if rank == 3 else None


class SteadyFace:
    """Averages each track's rebuilt ROI over its frames (see the module); call in frame order."""

    def __init__(self, options: SteadyOptions | None = None) -> None:
        self.options = options or SteadyOptions()
        self._last: dict[int, _Last] = {}
        self._points = _STABLE if self.options.points == "stable" else slice(None)

    def reset(self) -> None:
        self._last.clear()

    def __call__(
        self, track: int, frame: int, roi: FaceROI, rebuilt: Image, region: tuple[slice, slice] | None = None
    ) -> Image:
        """``rebuilt`` (the ROI ``roi`` of frame number ``frame`` rebuilt) mixed with the track's past inside
        ``region`` of the ROI (None: all of it; elsewhere ``rebuilt`` as it is)."""
        o = self.options
        if o.weight <= 0:
            return rebuilt
        origin = np.array([roi.box.x0, roi.box.y0], np.float32)
        points = (roi.landmarks[self._points] + origin).astype(np.float32)
        last = self._last.get(track)
        out = rebuilt
        seen = cv2.cvtColor(roi.image, cv2.COLOR_RGB2GRAY)
        if last is not None and 0 < frame - last.frame <= o.gap and last.image.shape[2:] == rebuilt.shape[2:]:
            speed = float(np.sqrt(np.mean(np.sum((points - last.points) ** 2, axis=1)))) / face_size_px(roi.landmarks)
            weight = o.weight * math.exp(-speed / max(o.speed, 1e-9))
            if weight > 0.01:
                matrix = _affine(last.points - last.origin, points - origin)
                if matrix is not None:
                    out = self._mix(rebuilt, seen, roi.mask, last, matrix, weight, region)
        self._last[track] = _Last(frame, points, origin, out, seen)
        return out

    def _mix(
        self, rebuilt: Image, seen: Image, mask: np.ndarray, last: _Last, matrix: np.ndarray, weight: float,
        region: tuple[slice, slice] | None,
    ) -> Image:
        """``rebuilt`` mixed with the ``last`` one carried by ``matrix`` on this frame's ``mask`` (float, [0, 1]),
        the past's weight falling to 0 where the frame itself (``seen``) changed by ``change`` levels (a hand
        passing: taken at once, no trail). Outside the mask the blend shows the frame: a past carried there (a hand
        or hair moving beside the face) would be a trail."""
        h, w = rebuilt.shape[:2]
        rows, cols = region if region is not None else (slice(0, h), slice(0, w))
        y0, y1, x0, x1 = rows.start, rows.stop, cols.start, cols.stop
        shifted = matrix.copy()
        shifted[:, 2] -= (x0, y0)  # (the past carried onto the region only)
        size = (x1 - x0, y1 - y0)
        past = cv2.warpAffine(last.image, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        was = cv2.warpAffine(last.seen, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        now = rebuilt[y0:y1, x0:x1]
        # (over small blocks: the sensor's and the coder's noise, and a pixel of jitter at an edge, average out)
        differ = cv2.blur(cv2.absdiff(seen[y0:y1, x0:x1], was), (9, 9))
        levels = np.arange(256, dtype=np.float32)
        table = (weight * np.clip(1.0 - levels / self.options.change, 0.0, 1.0)).astype(np.float32)
        past_weight = cv2.multiply(table[differ], mask[y0:y1, x0:x1], dtype=cv2.CV_32F)
        out = rebuilt.copy()
        out[y0:y1, x0:x1] = cv2.blendLinear(now, past, 1.0 - past_weight, past_weight)
        return out
