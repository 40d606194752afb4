"""Per-frame orchestration: landmarks -> mask -> warped reference -> reconstruction -> blend.

Kept short on purpose: each stage lives in its own module and this file only wires them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from unmask_video.blend import BlendOptions, blend_into
from unmask_video.debug import DebugWriter
from unmask_video.landmarks import FaceTracker, TrackerOptions, detect_reference_landmarks, face_box
from unmask_video.reference_check import lower_face_looks_covered
from unmask_video.segment import MaskSegmenter, SegmentOptions
from unmask_video.reconstruct.protocol import Reconstructor, check_reconstructor
from unmask_video.stages import FaceROI, Image
from unmask_video.timing import StageTimer
from unmask_video.warp import ReferenceWarper, WarpOptions

log = logging.getLogger(__name__)


@dataclass
class PipelineOptions:
    """Options of every per-frame stage, one options object per stage."""

    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    warp: WarpOptions = field(default_factory=WarpOptions)
    blend: BlendOptions = field(default_factory=BlendOptions)
    box_margin: float = 0.4  # face box margin, relative to the face size (a worn mask reaches ~0.3 face heights below the chin)
    debug_dir: Path | None = None
    debug_frames: int = 4


@dataclass
class PipelineStats:
    frames: int = 0
    frames_with_face: int = 0
    frames_without_face: int = 0
    faces: int = 0


class FramePipeline:
    """Rebuilds the masked lower face in frames, in capture order, one frame or a batch at a time."""

    def __init__(
        self,
        reference_image: Image,
        reconstructor: Reconstructor,
        options: PipelineOptions | None = None,
        timer: StageTimer | None = None,
        tracker: FaceTracker | None = None,
    ) -> None:
        """``tracker``: a FaceTracker lent by the caller (reset here and on :meth:`close`, never closed)."""
        self.options = options or PipelineOptions()
        self.timer = timer or StageTimer()
        self.reconstructor = check_reconstructor(reconstructor)
        with self.timer("reference"):
            reference_landmarks = detect_reference_landmarks(reference_image)
            if lower_face_looks_covered(reference_image, reference_landmarks):
                # A heuristic that also flags about 1 bare face in 7 (beards, shadows): said, not enforced.
                log.warning(
                    "the reference photo's nose and mouth may be covered (a mask, a hand?); if so the result will "
                    "show what covers them: use a photo of the person without a mask"
                )
            self.warper = ReferenceWarper(reference_image, reference_landmarks, self.options.warp)
        self._own_tracker = tracker is None
        self.tracker = FaceTracker(self.options.tracker) if tracker is None else tracker
        self.tracker.reset()
        self.segmenter = MaskSegmenter(self.options.segment)
        self.stats = PipelineStats()
        self.debug = DebugWriter(self.options.debug_dir, self.options.debug_frames) if self.options.debug_dir else None

    def warmup(self) -> None:
        """Start FaceMesh and warm up the reconstruction backend before the first frame (live mode needs this)."""
        with self.timer("warmup"):
            self.tracker.track(np.zeros((64, 64, 3), np.uint8), 0.0)
            self.tracker.reset()
        with self.timer("warmup"):
            self.reconstructor.warmup()

    def process(self, image: Image, t: float) -> Image:
        """Return the frame with the mask removed (the input array is never modified)."""
        return self.process_batch([image], [t])[0]

    def process_batch(self, images: Sequence[Image], times: Sequence[float], in_place: bool = False) -> list[Image]:
        """Process consecutive frames; their faces go through the reconstructor as one batch.

        The input arrays are left unchanged (outputs with a face are copies) unless ``in_place``: then
        the faces are blended into the input arrays themselves (no frame copy), which are returned.
        """
        faces = [self.locate(image, t) for image, t in zip(images, times)]
        return self.rebuild(images, times, faces, in_place)

    def locate(self, image: Image, t: float) -> list[np.ndarray]:
        """The landmarks stage alone: the tracked faces of one frame, in capture order.

        The threaded frame loop (:mod:`unmask_video.frame_loop`) runs it on its own thread, one frame ahead of
        :meth:`rebuild`; it only reads ``image`` and keeps the tracker's state, nothing :meth:`rebuild` uses.
        """
        with self.timer("landmarks"):
            return self.tracker.track(image, t)

    def rebuild(
        self,
        images: Sequence[Image],
        times: Sequence[float],
        faces_per_frame: Sequence[list[np.ndarray]],
        in_place: bool = False,
    ) -> list[Image]:
        """The stages after the landmarks (mask, warp, reconstruction, blend) for consecutive frames whose faces
        :meth:`locate` found; same contract as :meth:`process_batch`."""
        outputs = list(images)
        jobs: list[tuple[int, FaceROI]] = []
        for index, (image, faces) in enumerate(zip(images, faces_per_frame)):
            self.stats.frames += 1
            if not faces:
                self.stats.frames_without_face += 1
                self.segmenter.reset()  # the face was lost: its clusters and mask history no longer apply
                self.warper.reset()  # and so does its smoothed warp shape
                continue
            self.stats.frames_with_face += 1
            for face_id, landmarks in enumerate(faces):
                jobs.append((index, self._face_roi(image, landmarks, face_id)))
        if not jobs:
            return outputs
        with self.timer("reconstruct"):
            filled = self.reconstructor.reconstruct([roi for _, roi in jobs])
        for (index, roi), rebuilt in zip(jobs, filled):
            with self.timer("blend"):
                # (the debug overlays read the ROI images, views of the input, after the blend: copy then)
                if outputs[index] is images[index] and (not in_place or self.debug is not None):
                    outputs[index] = images[index].copy()
                blend = self.options.blend
                blend_into(outputs[index], roi.box, rebuilt, roi.mask, blend.width_px, mode=blend.mode)
            if self.debug is not None:
                with self.timer("debug"):
                    self.debug.write(self.stats.frames - len(images) + index, roi, rebuilt)
        self.stats.faces += len(jobs)
        return outputs

    def _face_roi(self, image: Image, landmarks: np.ndarray, face_id: int) -> FaceROI:
        box = face_box(landmarks, image.shape[:2], self.options.box_margin)
        roi_image = image[box.slices]
        roi_landmarks = (landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
        with self.timer("segment"):
            mask = self.segmenter.segment(roi_image, roi_landmarks, face_id)
        with self.timer("warp"):
            reference, valid = self.warper.warp(
                roi_landmarks, roi_image.shape[:2], self._warp_region(mask), track=face_id
            )
        return FaceROI(box, roi_image, roi_landmarks, mask, reference, valid)

    def _warp_region(self, mask: np.ndarray) -> tuple[int, int, int, int] | None:
        """The box of the ROI the reconstructor reads the warped reference in, when it says so
        (``reference_reach``: pixels beyond the mask's bounding box); None: the whole face."""
        reach = self.reconstructor.reference_reach
        if reach is None:
            return None
        rows = np.flatnonzero((mask > 0).any(axis=1))
        if rows.size == 0:
            return (0, 0, 0, 0)
        cols = np.flatnonzero((mask > 0).any(axis=0))
        return (int(cols[0]) - reach, int(rows[0]) - reach, int(cols[-1]) + 1 + reach, int(rows[-1]) + 1 + reach)

    def close(self) -> None:
        if self._own_tracker:
            self.tracker.close()
        else:
            self.tracker.reset()
