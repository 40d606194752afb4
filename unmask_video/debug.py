"""`--debug-dir`: overlays of what each stage saw, for a few frames.

One PNG per face: landmarks, the k-means polygon (cyan) and the search region (yellow) | the k-means mask cluster
(blue) under the final mask (magenta outline), with the mask presence score and decision | the warped reference |
the result. A face taken as bare (no mask worn) gets the first two panels only, the decision written in red.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from unmask_video.landmark_sets import TPS_CONTROL
from unmask_video.segment import SegmentDetail
from unmask_video.stages import FaceROI, Image

log = logging.getLogger(__name__)


def _landmark_panel(image: Image, landmarks: np.ndarray, detail: SegmentDetail | None) -> Image:
    overlay = image.copy()
    for x, y in np.round(landmarks).astype(int):
        cv2.circle(overlay, (int(x), int(y)), 1, (0, 255, 0), -1)
    for x, y in np.round(landmarks[list(TPS_CONTROL)]).astype(int):
        cv2.circle(overlay, (int(x), int(y)), 2, (255, 0, 0), -1)
    if detail is not None:
        cv2.polylines(overlay, [np.round(detail.polygon).astype(np.int32)], True, (0, 255, 255), 1, cv2.LINE_AA)
        cv2.polylines(overlay, [np.round(detail.search).astype(np.int32)], True, (255, 255, 0), 1, cv2.LINE_AA)
    return overlay


def _mask_panel(image: Image, mask: np.ndarray | None, detail: SegmentDetail | None) -> Image:
    panel = (image.astype(np.float32) * 0.5).astype(np.uint8)
    h, w = panel.shape[:2]
    if detail is not None and detail.seed.any():
        x0, y0, x1, y1 = detail.window
        seed = cv2.resize(detail.seed, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST) > 0
        window = panel[y0:y1, x0:x1]
        window[seed] = (0.5 * window[seed] + np.array([0, 60, 127])).astype(np.uint8)
    if mask is not None:
        contours, _ = cv2.findContours((mask >= 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(panel, contours, -1, (255, 0, 255), 1)
    if detail is not None:
        text = f"mask {'worn' if detail.worn else 'NOT worn'} score {detail.score:.2f} avg {detail.average:.2f}"
        colour = (255, 255, 255) if detail.worn else (255, 60, 60)
        scale = max(0.3, w / 600)
        cv2.putText(panel, text, (3, h - 6), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    return panel


class DebugWriter:
    """Writes one PNG per face for the first ``limit`` faces (see the module docstring for the panels)."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.limit = limit
        self.written = 0
        self._per_frame: dict[int, int] = {}  # faces written so far for each frame: the file's face number

    def write(self, frame_index: int, roi: FaceROI, rebuilt: Image, detail: SegmentDetail | None = None) -> None:
        """A face whose mask was rebuilt."""
        if self.written >= self.limit:
            return
        reference = roi.reference.copy()
        reference[~roi.valid] //= 3
        panels = [_landmark_panel(roi.image, roi.landmarks, detail), _mask_panel(roi.image, roi.mask, detail),
                  reference, rebuilt]
        self._save(frame_index, panels)

    def write_bare(self, frame_index: int, image: Image, landmarks: np.ndarray, detail: SegmentDetail | None) -> None:
        """A face left untouched because no mask is worn."""
        if self.written >= self.limit:
            return
        self._save(frame_index, [_landmark_panel(image, landmarks, detail), _mask_panel(image, None, detail)])

    def _save(self, frame_index: int, panels: list[Image]) -> None:
        face = self._per_frame.get(frame_index, 0)
        self._per_frame[frame_index] = face + 1
        path = self.folder / f"frame{frame_index:06d}_face{face:02d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(panels, axis=1), cv2.COLOR_RGB2BGR))
        log.info("debug overlay written to %s", path)
        self.written += 1
