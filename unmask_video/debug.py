"""`--debug-dir`: overlays of what each stage saw, for a few frames."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from unmask_video.landmark_sets import MASK_REGION, TPS_CONTROL
from unmask_video.stages import FaceROI, Image

log = logging.getLogger(__name__)


class DebugWriter:
    """Writes one PNG per face for the first ``limit`` faces: landmarks and polygon | mask | warped reference | result."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.limit = limit
        self.written = 0

    def write(self, frame_index: int, roi: FaceROI, rebuilt: Image) -> None:
        if self.written >= self.limit:
            return
        overlay = roi.image.copy()
        polygon = np.round(roi.landmarks[list(MASK_REGION)]).astype(np.int32)
        cv2.polylines(overlay, [polygon], True, (255, 255, 0), 1, cv2.LINE_AA)
        for x, y in np.round(roi.landmarks).astype(int):
            cv2.circle(overlay, (int(x), int(y)), 1, (0, 255, 0), -1)
        for x, y in np.round(roi.landmarks[list(TPS_CONTROL)]).astype(int):
            cv2.circle(overlay, (int(x), int(y)), 2, (255, 0, 0), -1)
        mask = cv2.cvtColor((np.clip(roi.mask, 0, 1) * 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)
        reference = roi.reference.copy()
        reference[~roi.valid] //= 3
        panel = np.concatenate([overlay, mask, reference, rebuilt], axis=1)
        path = self.folder / f"frame{frame_index:06d}_face{self.written:02d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
        log.info("debug overlay written to %s", path)
        self.written += 1
