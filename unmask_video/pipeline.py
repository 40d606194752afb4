"""Per-frame orchestration: landmarks -> mask -> warped reference -> reconstruction -> blend.

Kept short on purpose: each stage lives in its own module and this file only wires them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, Sequence

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from unmask_video.background import BackgroundCall
from unmask_video.blend import BlendOptions, blend_into, feather_reach, grown_mask_box, mask_bbox
from unmask_video.chin_rim import ChinRimOptions, join_chin_rim
from unmask_video.debug import DebugWriter
from unmask_video.ear_loops import EarLoopOptions, EarLoops, erase_loops, inpaint_box, off_front
from unmask_video.face_units import face_size_px
from unmask_video.landmarks import FaceTracker, TrackedFace, TrackerOptions, detect_reference_landmarks, face_box
from unmask_video.low_mask import nose_bare
from unmask_video.pale_rim import PaleRimOptions, box_pixels, fill_pale_rim
from unmask_video.reference_advice import AdviceOptions, photo_advice, size_advice
from unmask_video.reference_check import lower_face_looks_covered
from unmask_video.repeat_frames import RepeatDetector, RepeatOptions
from unmask_video.segment import MaskSegmenter, SegmentDetail, SegmentOptions
from unmask_video.steady_face import SteadyFace, SteadyOptions
from unmask_video.reconstruct.protocol import Reconstructor, check_reconstructor
from unmask_video.stages import Box, FaceROI, Image, Loops
from unmask_video.timing import StageTimer, os_thread_named
from unmask_video.warp import ReferenceWarper, WarpOptions
from unmask_video.work_face import WORK_FACE_MARGIN, WorkScales, grow_back, shrink_face, work_crop

log = logging.getLogger(__name__)


@dataclass
class PipelineOptions:
    """Options of every per-frame stage, one options object per stage."""

    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    #: The pale rim under a light mask's lower edge joined to the segmented mask (:mod:`unmask_video.chin_rim`).
    chin_rim: ChinRimOptions = field(default_factory=ChinRimOptions)
    #: The ear loops past a worn mask's side edges, filled after the blend (:mod:`unmask_video.ear_loops`).
    ear_loops: EarLoopOptions = field(default_factory=EarLoopOptions)
    warp: WarpOptions = field(default_factory=WarpOptions)
    blend: BlendOptions = field(default_factory=BlendOptions)
    #: A light mask's blurred rim left past its outline beside the rebuilt face, filled after the blend
    #: (:mod:`unmask_video.pale_rim`).
    pale_rim: PaleRimOptions = field(default_factory=PaleRimOptions)
    #: A frame that repeats the last one rebuilt (a duplicated source frame) gets that frame's output, no work
    #: (every located frame must then be finished, in order: live mode, which drops stale frames, turns it off).
    repeats: RepeatOptions = field(default_factory=RepeatOptions)
    #: The rebuilt face averaged over time per face track (:mod:`unmask_video.steady_face`).
    steady: SteadyOptions = field(default_factory=SteadyOptions)
    box_margin: float = 0.55  # face box margin, relative to the face size: a worn mask reaches ~0.3 face heights below
    # the chin, and under the mask FaceMesh places the chin too high (0.4 cut the bottom of low masks off)
    debug_dir: Path | None = None
    debug_frames: int = 4
    #: Faces wider than this (pixels) go through the face chain at a working size where they are this wide
    #: (:mod:`unmask_video.work_face`): the mask is segmented at full size, then the face and its mask are shrunk
    #: once, the reference is warped onto the shrunk face, the composite and the steadying run there, and the
    #: rebuilt pixels the blend reaches are grown back once into the blend at full size with the full-size mask.
    #: Faces at or below it are untouched (the same output bit for bit). None: every face at the frame's size. Keep it
    #: at 256 px or more (``face_units.REFERENCE_FACE_PX``: below, the bands' floors widen them in face terms).
    #: 320 (was 400, issue 14): 1.1x at 720p; the real references' faces are 220-345 px, so little detail is lost.
    #: 288 (issue 14) with the grow back bicubic (``work_face_grow``): bilinear, 288 lost an eighth of the rebuilt
    #: pixels' fine detail on a 720p close-up (a softer mouth); bicubic keeps it.
    work_face_px: float | None = 288.0
    #: How the working-size face is grown back to full size (``work_face.GROW_FILTERS``: "cubic", or "linear").
    work_face_grow: str = "cubic"
    #: A face track keeps its working scale while its face at that scale is within this fraction of
    #: ``work_face_px`` (a new scale starts its warp afresh).
    work_face_tolerance: float = 0.15
    #: When the reference photo gets a word of advice (a turned head, an open mouth, a face much smaller than the
    #: video's), logged once as a warning; None: never (the demo, whose reference is its own clip's still).
    reference_advice: AdviceOptions | None = field(default_factory=AdviceOptions)


@dataclass
class PipelineStats:
    frames: int = 0
    frames_with_face: int = 0
    frames_without_face: int = 0
    frames_with_mask: int = 0  # frames where at least one face wears a mask (the others pass through untouched)
    faces: int = 0
    #: Frames where the tracker saw faces narrower than its ``min_face_size`` (not processed), and the most in one.
    frames_with_small_faces: int = 0
    most_small_faces: int = 0
    bare_faces: int = 0  # faces left untouched: no mask worn
    repeated_frames: int = 0  # frames that repeated the last one rebuilt: given its output (counted in ``frames``)


#: An empty box: what the ear loops read of an empty mask.
_NO_BOX = (slice(0, 0), slice(0, 0))

#: The counts :meth:`FramePipeline.prepare` keeps (a prepare stage run in another process hands them back).
PREPARE_COUNTS = ("frames", "frames_with_face", "frames_without_face", "frames_with_mask", "bare_faces", "repeated_frames")


def warn_if_covered(reference: Image, landmarks: np.ndarray) -> None:
    """Warn when the reference photo's lower face looks covered (:func:`lower_face_looks_covered`)."""
    if lower_face_looks_covered(reference, landmarks):
        # A heuristic that also flags about 1 bare face in 7 (beards, shadows): said, not enforced.
        log.warning(
            "the reference photo's nose and mouth may be covered (a mask, a hand?); if so the result will "
            "show what covers them: use a photo of the person without a mask"
        )


def warm_colour_tables() -> None:
    """Build OpenCV's 8-bit RGB -> Lab tables (its first RGB -> Lab conversion builds them: about 170 ms of one core,
    paid by the first frame's mask otherwise)."""
    cv2.cvtColor(np.zeros((1, 1, 3), np.uint8), cv2.COLOR_RGB2Lab)


@dataclass
class PreparedBatch:
    """Frames after :meth:`FramePipeline.prepare`: their masked faces' ROIs, waiting for reconstruction."""

    images: list[Image]
    #: (index of the frame in ``images``, the face's ROI, what the segmenter saw: kept for the debug overlays only)
    jobs: list[tuple[int, FaceROI, SegmentDetail | None]]
    first_frame: int  # the number of frames prepared before these
    #: Per frame of ``images``: it repeats the last frame that did not (its output is that frame's).
    repeats: list[bool] = field(default_factory=list)
    #: The face track of each of ``jobs`` (empty: not known, the faces are not averaged over time).
    tracks: list[int] = field(default_factory=list)


@dataclass
class _Blend:
    """One face's blend into its frame: what :func:`blend_into` is given."""

    box: Box
    rebuilt: Image
    mask: np.ndarray
    width: float
    mask_box: tuple[slice, slice] | None
    loops: Loops | None = None  # the mask's ear loops, filled after the blend
    top: float | None = None  # a mask worn below the nose: the feather's reach above its top edge (px)

    def kept(self, region: tuple[slice, slice] | None) -> _Blend:
        """The same blend on ``region`` of its box only (where it can write: the mask's box grown by the blend's
        reach), with its own arrays (the reconstructors may reuse theirs)."""
        if region is None:
            return self
        return _Blend.on(self.box, self.rebuilt[region].copy(), self.mask[region].copy(), self.width, self.mask_box,
                         region, self.loops, self.top)  # fmt: skip

    @staticmethod
    def on(
        box: Box, rebuilt: Image, mask: np.ndarray, width: float, mask_box: tuple[slice, slice] | None,
        region: tuple[slice, slice], loops: Loops | None = None, top: float | None = None,
    ) -> _Blend:
        """The blend of a face whose ROI is ``box`` (its mask's box ``mask_box`` in it) on ``region`` of that ROI
        only: ``rebuilt`` and ``mask`` are the region's; ``loops``: its mask's ear loops; ``top``: the feather's reach
        above the top edge of a mask worn below the nose."""
        rows, cols = region
        at = Box(box.x0 + cols.start, box.y0 + rows.start, box.x0 + cols.stop, box.y0 + rows.stop)
        if mask_box is not None:
            (r, c) = mask_box
            mask_box = (slice(r.start - rows.start, r.stop - rows.start), slice(c.start - cols.start, c.stop - cols.start))
        return _Blend(at, rebuilt, mask, width, mask_box, loops, top)


@dataclass(frozen=True)
class _Fit:
    """One face's size and the box of its ROI the blend can write to, found once per face by
    :meth:`FramePipeline.finish` and handed to the steadying, the blend and the changed box."""

    px: float  #: :func:`face_size_px` of its landmarks
    region: tuple[slice, slice] | None  #: :meth:`FramePipeline._fit`'s blend region (None: an empty mask)


class _Face(Protocol):
    """A face at the frame's size as the blend sees it: a :class:`FaceROI`, or the full-size face
    (:class:`WorkFace`) of one at a working size."""

    box: Box
    landmarks: np.ndarray
    mask: np.ndarray
    mask_box: tuple[slice, slice] | None


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
        # numpy's BLAS on one thread while the pipeline is open: the face stages' matrix products are small (a
        # face's pixels times 3x3), and OpenBLAS's pool threads spin between them, burning a core's share of CPU
        # that the frame loop's own threads need (benchmarks.speed: "other" CPU).
        self._blas = threadpool_limits(limits=1, user_api="blas")
        self.reconstructor = check_reconstructor(reconstructor)
        with self.timer("reference"):
            reference_landmarks = detect_reference_landmarks(reference_image)

        def build_warper() -> ReferenceWarper:
            with self.timer("reference"):
                return ReferenceWarper(reference_image, reference_landmarks, self.options.warp)

        # The warper's set-up (the reference's matte and pyramid: 60-250 ms) runs on a thread of its own, overlapping
        # the checks of the reference below and the first frames' decode, landmarks and mask; the first warp waits
        # for it (its errors are raised there).
        self._warper = BackgroundCall(build_warper, "reference")
        # (OpenCV's Lab tables too, on a thread of their own: the first frames' mask finds them built)
        self._colour = BackgroundCall(warm_colour_tables, "colour")

        def check_covered() -> None:
            with self.timer("reference"):
                warn_if_covered(reference_image, reference_landmarks)

        # The covered check segments the reference (40 ms): waited for here; beside the first frames it would slow the
        # warper's set-up, their critical path. (It ran on a thread of its own while it waited for scikit-learn's
        # k-means, 1.1 s of import in a fresh process; the segmenter's k-means is NumPy's now.)
        self._check = BackgroundCall(check_covered, "check")
        self._check.wait()
        advice = self.options.reference_advice
        closes = self.options.warp.close_mouth
        for line in photo_advice(reference_landmarks, advice, closes) if advice is not None else []:
            log.warning("%s", line)
        #: The reference's landmarks while the video's face size is still to be compared with its (once, on the
        #: first masked face); None once done or when there is no advice to give.
        self._size_unchecked: np.ndarray | None = (
            reference_landmarks if self.options.reference_advice is not None else None
        )
        self._own_tracker = tracker is None
        if tracker is None:
            with os_thread_named("landmarks"):  # (the graphs' native threads are named after the landmarks)
                tracker = FaceTracker(self.options.tracker)
        self.tracker = tracker
        self.tracker.reset()
        # A repeated frame (:mod:`unmask_video.repeat_frames`): told by :meth:`locate` (its faces are the key
        # frame's, marked ``repeat``), skipped by :meth:`prepare`, given the key frame's output by :meth:`finish`.
        self._repeats = RepeatDetector(self.options.repeats)
        self._key_faces: list[TrackedFace] = []  # the faces of the last frame that was not a repeat (locate's)
        self._key_masked = False  # whether that frame had a masked face (prepare's)
        #: What the last frame that was not a repeat blended (finish's): each face's blend (its ROI box, rebuilt ROI,
        #: mask, width, mask box), and the boxes it changed.
        self._key_blends: list[_Blend] = []
        self._key_changed: list[tuple[int, int, int, int]] = []
        self._blends: dict[int, list[_Blend]] = {}  # this batch's blends per frame index (finish's)
        self._steady = SteadyFace(self.options.steady)  # (finish's)
        #: Each face track's working scale (prepare's: ``work_face_px``).
        self._work = WorkScales(self.options.work_face_px, self.options.work_face_tolerance)
        self._face_ids: set[int] = set()  # the track ids of the last frame's faces
        self.segmenter = MaskSegmenter(self.options.segment)
        self.ear_loops = EarLoops(self.options.ear_loops)
        self.stats = PipelineStats()
        self.debug = DebugWriter(self.options.debug_dir, self.options.debug_frames) if self.options.debug_dir else None
        #: For each frame of the last :meth:`rebuild` (or :meth:`process_batch`): boxes (x0, y0, x1, y1) outside
        #: which its output is exactly its input (the writer converts only those back to YUV).
        self.last_changed: list[list[tuple[int, int, int, int]]] = []

    @property
    def warper(self) -> ReferenceWarper:
        """The reference's warper (waits for its set-up, raises its error)."""
        return self._warper.result()

    def check_reference(self) -> None:
        """Wait for the warper's set-up and raise its error, if any (a run where no frame was warped still fails on a
        reference the warper cannot use, as it did when the set-up ran before the first frame); the same for the
        reference's covered check."""
        self._warper.result()
        self._check.result()

    def wait_for_reference(self) -> None:
        """Wait for the set-up threads (the warper's, the colour tables', the covered check), whatever they gave (the
        warper's error stays for the first warp and :meth:`check_reference`): no thread of the pipeline's own is then
        running (a prepare stage forked into a process of its own (:mod:`unmask_video.prepare_process`) finds the
        reference ready)."""
        self._warper.wait()
        self._colour.wait()
        self._check.wait()

    def warmup(self, reference: bool = True) -> None:
        """Start FaceMesh and warm up the reconstruction backend before the first frame (live mode needs this);
        ``reference``: also wait for the warper's set-up (a file run lets it overlap its first frames instead)."""
        if reference:
            self._warper.wait()
        with self.timer("warmup"):
            self.tracker.track(np.zeros((64, 64, 3), np.uint8), 0.0)
            self.tracker.reset()
            self._repeats.reset()
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

    def locate(self, image: Image, t: float) -> list[TrackedFace]:
        """The landmarks stage alone: the tracked faces of one frame, in capture order.

        The threaded frame loop (:mod:`unmask_video.frame_loop`) runs it on its own thread, one frame ahead of
        :meth:`rebuild`; it only reads ``image`` and keeps the tracker's state, nothing :meth:`rebuild` uses.
        A frame that repeats the last one that did not (:mod:`unmask_video.repeat_frames`) gets that frame's faces
        marked ``repeat`` (the tracker does not see it).
        """
        with self.timer("landmarks"):
            if self._repeats.repeats(image, possible=bool(self._key_faces)):
                return [replace(face, repeat=True) for face in self._key_faces]
            faces = self.tracker.track_faces(image, t)
            self._key_faces = faces
        small = self.tracker.too_small
        if small:  # (counted here, on the landmarks thread: only this thread writes these two)
            self.stats.frames_with_small_faces += 1
            self.stats.most_small_faces = max(self.stats.most_small_faces, small)
        return faces

    def rebuild(
        self,
        images: Sequence[Image],
        times: Sequence[float],
        faces_per_frame: Sequence[list[TrackedFace]],
        in_place: bool = False,
    ) -> list[Image]:
        """The stages after the landmarks (mask, warp, reconstruction, blend) for consecutive frames whose faces
        :meth:`locate` found; same contract as :meth:`process_batch`."""
        return self.finish(self.prepare(images, faces_per_frame), in_place)

    def prepare(self, images: Sequence[Image], faces_per_frame: Sequence[list[TrackedFace]]) -> PreparedBatch:
        """The mask and warp stages of :meth:`rebuild`: each masked face's ROI, ready for :meth:`finish`.

        The threaded frame loop may run it on its own thread, one batch ahead of :meth:`finish`: it keeps the
        segmenter's and the warper's state (and the frame counts), nothing :meth:`finish` touches, and only
        reads ``images``.
        """
        batch = PreparedBatch(list(images), [], self.stats.frames)
        for index, (image, faces) in enumerate(zip(images, faces_per_frame)):
            self.stats.frames += 1
            repeat = bool(faces) and all(face.repeat for face in faces)
            batch.repeats.append(repeat)
            if repeat:  # (the key frame's tracks, mask and warp are kept as they are)
                self.stats.repeated_frames += 1
                self.stats.frames_with_face += 1
                self.stats.frames_with_mask += int(self._key_masked)
                continue
            self._forget_lost_faces(faces)
            if not faces:
                self.stats.frames_without_face += 1
                continue
            self.stats.frames_with_face += 1
            masked = False
            for face in faces:
                roi = self._face_roi(image, face.landmarks, face.id, batch.first_frame + index)
                if roi is None:  # no mask worn: the face passes through untouched
                    self.stats.bare_faces += 1
                    continue
                masked = True
                # (the segmenter's detail is at the frame's size: none for a face at a working size)
                detail = self.segmenter.detail(face.id) if self.debug is not None and roi.full is None else None
                batch.jobs.append((index, roi, detail))
                batch.tracks.append(face.id)
            self.stats.frames_with_mask += int(masked)
            self._key_masked = masked
        return batch

    def finish(self, batch: PreparedBatch, in_place: bool = False) -> list[Image]:
        """The reconstruction and blend stages of :meth:`rebuild` for a batch :meth:`prepare` made (in order);
        sets :attr:`last_changed`."""
        images = batch.images
        outputs = list(images)
        self.last_changed = [[] for _ in images]
        jobs = batch.jobs
        if jobs:
            self._rebuild_jobs(batch, outputs, in_place)
        self._repeat_outputs(batch, outputs, in_place)
        return outputs

    def _rebuild_jobs(self, batch: PreparedBatch, outputs: list[Image], in_place: bool) -> None:
        """Reconstruct and blend the batch's faces into ``outputs`` (copies of the images unless ``in_place``)."""
        images, jobs = batch.images, batch.jobs
        with self.timer("reconstruct"):
            filled = self.reconstructor.reconstruct([roi for _, roi, _ in jobs])
        # (each face's size and blend region, at the frame's size: the blend's face; and the blend's input averaged
        # over time, on the ROI's face: counted with the blend)
        with self.timer("blend"):
            fits = [self._fit(roi.full or roi) for _, roi, _ in jobs]
            if len(batch.tracks) == len(jobs):
                # (each rebuilt ROI is this call's own: the reconstructors give a new array per face, and the
                # averaging keeps it as the track's past, changed in place)
                filled = [
                    self._steady(track, batch.first_frame + index, roi, rebuilt,
                                 (fit if roi.full is None else self._fit(roi)).region, own=True)  # fmt: skip
                    for track, (index, roi, _), rebuilt, fit in zip(batch.tracks, jobs, filled, fits)
                ]
        for (index, roi, detail), rebuilt, fit in zip(jobs, filled, fits):
            with self.timer("blend"):
                # (the debug overlays read the ROI images, views of the input, after the blend: copy then)
                if outputs[index] is images[index] and (not in_place or self.debug is not None):
                    outputs[index] = images[index].copy()
                face_blend = self._face_blend(roi, rebuilt, fit)
                self._blend(outputs[index], face_blend)
                if self._repeats.options.enabled:  # (kept for the repeats of this frame: their own copies)
                    kept = fit.region if roi.full is None else None
                    self._blends.setdefault(index, []).append(face_blend.kept(kept))
                changed = self._blended_box(roi.full or roi, fit.region, images[index].shape)
                if changed is not None:
                    self.last_changed[index].append(changed)
                if face_blend.loops is not None:
                    self.last_changed[index].append(inpaint_box(face_blend.loops, images[index].shape))
            if self.debug is not None:
                with self.timer("debug"):
                    self.debug.write(batch.first_frame + index, roi, rebuilt, detail)
        self.stats.faces += len(jobs)

    def _repeat_outputs(self, batch: PreparedBatch, outputs: list[Image], in_place: bool) -> None:
        """Give each repeated frame of the batch the last key frame's faces, blended as they were into that frame
        (where the key's blend alpha is 1 its output, where 0 the repeated frame's own pixels: a frame that moved
        a little within the repeat test's tolerance shows no edge); keep each key frame's blends for the repeats
        to come."""
        blends, self._blends = self._blends, {}
        for index, repeat in enumerate(batch.repeats):
            if not repeat:
                self._key_blends, self._key_changed = blends.get(index, []), list(self.last_changed[index])
                continue
            if not self._key_blends:
                continue
            if outputs[index] is batch.images[index] and not in_place:
                outputs[index] = batch.images[index].copy()
            with self.timer("blend"):
                for face_blend in self._key_blends:
                    self._blend(outputs[index], face_blend)
            self.last_changed[index] = list(self._key_changed)

    def _blend(self, output: Image, face: _Blend) -> None:
        """Blend one rebuilt face into ``output`` (in place) with the pipeline's blend options."""
        options = self.options.blend
        rim = self.options.pale_rim
        before = box_pixels(output, face.box) if rim.enabled else None
        front = blend_into(output, face.box, face.rebuilt, face.mask, face.width, mode=options.mode,
                           mask_box=face.mask_box, notch_reach=options.notch_reach, top_reach_px=face.top,
                           notch_matte=options.notch_matte)  # fmt: skip
        if before is not None:
            fill_pale_rim(output, before, face.box, face.mask, face.width, rim)
        # (not over what the blend kept in front of the rebuilt face: a finger's highlights taken as loop strokes)
        loops = None if face.loops is None else off_front(face.loops, front)
        if loops is not None:
            erase_loops(output, loops)

    def _face_blend(self, roi: FaceROI, rebuilt: Image, fit: _Fit) -> _Blend:
        """The blend of one rebuilt face into its frame (``fit``: the full-size face's): at full size, the
        working-size face grown back on the box the blend reaches, with its full-size mask."""
        full = roi.full
        if full is None:
            return _Blend(roi.box, rebuilt, roi.mask, self._blend_width(fit.px), roi.mask_box, roi.loops,
                          self._low_top(roi, fit.px))
        region = fit.region
        if region is None:  # (never: a masked face's mask is not empty)
            region = (slice(0, 0), slice(0, 0))
        grown = grow_back(rebuilt, full, region, self.options.work_face_grow)
        return _Blend.on(full.box, grown, full.mask[region].copy(), self._blend_width(fit.px), full.mask_box,
                         region, roi.loops, self._low_top(full, fit.px))  # fmt: skip

    def _low_top(self, roi: _Face, face_px: float) -> float | None:
        """The feather's reach above the mask's top edge (pixels) when ``roi``'s mask (its face ``face_px`` wide) is
        worn below the nose (:func:`low_mask.nose_bare`; ``BlendOptions.low_top``), else None (the blend's whole
        width)."""
        low = self.options.blend.low_top
        if low is None or self.options.blend.mode != "feather" or not nose_bare(roi.mask, roi.landmarks):
            return None
        return low.px(face_px)

    def _fit(self, roi: _Face) -> _Fit:
        """``roi``'s face size and the box of ``roi`` the blend can write to: the mask's bounding box grown by the
        blend's reach (the feather's width, or the Poisson mode's dilation of half of it, each plus a few pixels of
        rounding)."""
        face_px = face_size_px(roi.landmarks)
        return _Fit(face_px, grown_mask_box(roi.mask, self._reach_at(face_px), roi.mask_box))

    def _reach_at(self, face_px: float) -> int:
        """How far outside the mask of a face ``face_px`` wide the blend can write, with a few pixels of rounding."""
        return feather_reach(self.options.blend.width.px(face_px)) + 7

    def _blend_width(self, face_px: float) -> float:
        """The blend's reach outside the mask on a face ``face_px`` wide, in its ROI's pixels
        (``BlendOptions.width``)."""
        return self.options.blend.width.px(face_px)

    def _blended_box(
        self, roi: _Face, region: tuple[slice, slice] | None, shape: tuple[int, ...]
    ) -> tuple[int, int, int, int] | None:
        """The frame box (x0, y0, x1, y1) the blend of ``roi`` can have written to (its blend ``region``),
        inside the face box and the frame."""
        if region is None:
            return None
        rows, cols = region
        box = roi.box
        x0, y0 = max(box.x0 + cols.start, 0), max(box.y0 + rows.start, 0)
        x1, y1 = min(box.x0 + cols.stop, int(shape[1])), min(box.y0 + rows.stop, int(shape[0]))
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def _forget_lost_faces(self, faces: list[TrackedFace]) -> None:
        ids = {face.id for face in faces}
        for gone in self._face_ids - ids:
            self.segmenter.reset(gone)  # that face was lost: its clusters and mask history no longer apply
            self.ear_loops.reset(gone)
            self.warper.reset(gone)  # and so does its smoothed warp shape
            self._work.forget(gone)
        self._face_ids = ids

    def _face_roi(self, image: Image, landmarks: np.ndarray, face_id: int, frame_index: int) -> FaceROI | None:
        """The face's ROI ready for reconstruction, or None when it wears no mask (nothing to rebuild)."""
        box = face_box(landmarks, image.shape[:2], self.options.box_margin)
        roi_image = image[box.slices]
        roi_landmarks = (landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
        with self.timer("segment"):
            mask = self.segmenter.segment(roi_image, roi_landmarks, face_id)
            mask = join_chin_rim(roi_image, roi_landmarks, mask, self.options.chin_rim)
        # (once per face: the warp's, the blend's and the encoder's boxes, and the ear loops' read of the mask; None: an
        # empty mask, the mask being >= 0)
        tight = mask_bbox(mask > 0, 0, mask.shape[:2])
        with self.timer("loops"):
            loops = self.ear_loops.find(roi_image, roi_landmarks, mask, face_id, box, tight or _NO_BOX)
        if tight is None:
            if self.debug is not None:
                with self.timer("debug"):
                    self.debug.write_bare(frame_index, roi_image, roi_landmarks, self.segmenter.detail(face_id))
            return None
        if self._size_unchecked is not None:
            advice = size_advice(self._size_unchecked, landmarks, self.options.reference_advice)
            if advice is not None:
                log.warning("%s", advice)
            self._size_unchecked = None
        scale, rescaled = self._work.scale(face_id, face_size_px(roi_landmarks))
        if rescaled:  # (the warp's state of the track is in its last scale's pixels)
            self.warper.reset(face_id)
        work = None
        if scale is not None:
            with self.timer("warp"):
                roi_image, roi_landmarks, mask, box, tight, work = shrink_face(
                    roi_image, roi_landmarks, mask, box, tight, self._work_crop(box, roi_landmarks, tight, landmarks,
                                                                                image.shape[:2], scale), scale,
                )  # fmt: skip
        with self.timer("warp"):
            warped = self.warper.warp(
                roi_landmarks, roi_image.shape[:2], self._warp_region(tight, roi_landmarks), track=face_id,
                image=roi_image, mask=mask, origin=(box.x0, box.y0),
            )
        return FaceROI(box, roi_image, roi_landmarks, mask, warped.image, warped.valid, mask_box=tight,
                       reference_yaw=self.warper.reference_yaw, full=work, loops=loops,
                       reference_jaw=self.warper.reference_jaw, reference_shade=self.warper.reference_shade,
                       reference_lips=warped.lips)  # fmt: skip

    def _work_crop(
        self, box: Box, roi_landmarks: np.ndarray, tight: tuple[slice, slice], landmarks: np.ndarray,
        shape: tuple[int, int], scale: float,
    ) -> tuple[slice, slice]:
        """The (rows, cols) of a face's ROI (``box``; its mask's box ``tight``) that the face chain at ``scale`` reads
        (frame ``landmarks``, frame ``shape``): the face, and the mask's box grown by the reconstructor's reach and
        the blend's (the whole ROI for a reconstructor without a reach)."""
        face_px = face_size_px(roi_landmarks)
        reach = self.reconstructor.reach_px(face_px * scale)
        if reach is None:
            return slice(0, box.height), slice(0, box.width)
        margin = max(int(math.ceil(reach / scale)), self._reach_at(face_px)) + 4
        return work_crop(face_box(landmarks, shape, WORK_FACE_MARGIN), box, tight, margin)

    def _warp_region(
        self, region: tuple[slice, slice] | None, landmarks: np.ndarray
    ) -> tuple[int, int, int, int] | None:
        """The box of the ROI the reconstructor reads the warped reference in, when it says so
        (``reach_px``: pixels beyond the mask's bounding box, at the face's size); None: the whole face."""
        reach = self.reconstructor.reach_px(face_size_px(landmarks))
        if reach is None:
            return None
        if region is None:  # (``region``: the mask's bounding box, None when it is empty)
            return (0, 0, 0, 0)
        rows, cols = region
        return (cols.start - reach, rows.start - reach, cols.stop + reach, rows.stop + reach)

    def close(self) -> None:
        self.wait_for_reference()  # (a run that failed before its first warp: the set-ups are not left running)
        self._blas.restore_original_limits()
        if self._own_tracker:
            self.tracker.close()
        else:
            self.tracker.reset()
