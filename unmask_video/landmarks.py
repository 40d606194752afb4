"""Face landmarks of every face in a video, at any size, each face tracked under a stable id.

- :class:`FaceTracker` finds faces with the full-range detector (:mod:`unmask_video.face_detect`, a tile
  pyramid, only when needed), then follows each one from its previous landmarks with FaceMesh's landmark
  model on a crop of that face (:mod:`unmask_video.face_landmark_model`), and smooths each face's landmarks
  over time with its own :class:`OneEuroFilter`. Each track keeps an id for as long as it lasts.
- :func:`detect_reference_landmarks` runs FaceMesh in static mode on the reference still.
- :func:`face_box` turns landmarks into the square-ish region of interest the face stages work in.

Landmarks are ``float32`` arrays of shape (468, 2) in pixel coordinates (x, y) of the image.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.errors import InputError, ProcessingError
from unmask_video.face_detect import Detection, FaceDetector, Pass, import_mediapipe, merge_overlapping, resize
from unmask_video.face_landmark_model import (
    RoiLandmarker,
    landmark_drift,
    landmarks_width,
    roi_from_box,
    roi_from_landmarks,
)
from unmask_video.one_euro import OneEuroFilter
from unmask_video.still_search import cell_means, unchanged
from unmask_video.stages import Box
from unmask_video.unsure_faces import UnsureFollow, UnsureLooker

log = logging.getLogger(__name__)

NUM_LANDMARKS = landmark_sets.NUM_LANDMARKS


@dataclass
class TrackerOptions:
    """Options of :class:`FaceTracker`.

    The One-Euro parameters act on landmark coordinates measured in face widths (the tracker divides
    pixel coordinates by the face width when a track starts), so they do not depend on the resolution:
    ``min_cutoff`` (Hz) sets the smoothing of a still face, ``beta`` how fast the cutoff rises with the
    speed (face widths per second) so that a moving head does not lag, ``d_cutoff`` (Hz) the smoothing
    of the speed estimate. They were tuned with benchmarks/landmark_smoothing.py (one cutoff per face).
    """

    max_faces: int = 1
    #: Score a face detection needs (the full-range detector).
    min_detection_confidence: float = 0.5
    #: Face presence score the landmark model needs to keep following a face.
    min_tracking_confidence: float = 0.5
    smoothing: bool = True
    min_cutoff: float = 0.5
    beta: float = 22.0
    d_cutoff: float = 1.0
    #: Faces narrower than this (pixels) are not processed and are counted as too small; the detector
    #: searches the frame finely enough to find faces of this width (its cost grows as this shrinks).
    min_face_size: float = 40.0
    #: While fewer than ``max_faces`` faces are tracked, the frame is searched for new faces this often (seconds
    #: between the end of one search and the start of the next; 0: all the time). A lost track starts a search.
    detect_interval: float = 1.0
    #: ... unless the picture changes this much (mean absolute difference, in [0, 1], of small grey thumbnails of
    #: this frame and of the last one searched): a cut to another shot is searched at once, so the faces of the new
    #: shot do not wait ``detect_interval`` to be found. 0: off.
    cut_threshold: float = 0.1
    #: A search due by ``detect_interval`` is skipped (counted as run) while the frame still looks as it did where the
    #: last search started: no colour cell half ``min_face_size`` wide changed by more than this many levels
    #: (:mod:`unmask_video.still_search`; a face that came in covers a whole cell). A still shot with no face then
    #: pays no detector passes. 0: every search runs.
    still_search_levels: float = 8.0
    #: A search after the first one is spread over frames, at most this many detector passes per frame (the
    #: first search after a start or a reset runs whole, on its frame).
    search_passes: int = 8
    #: While ``max_faces`` faces are tracked, the frame is searched this often (seconds) for a face larger
    #: than a tracked one (only for faces wider than a tenth of the frame's shorter side: a cheap search).
    switch_interval: float = 2.0
    #: For this many seconds after a track is lost, the region around its last position is searched on every
    #: frame (a cheap search: a few faces wide), and a face found there keeps the lost track's id.
    relocate_time: float = 1.0
    #: ... on every frame for the first ``relocate_every_time`` seconds of those, then on every
    #: ``relocate_stride``-th frame only (1: every frame throughout): a face that comes back soon (a hand, a turn)
    #: is found on its first frame in view, one hidden longer at most ``relocate_stride - 1`` frames later, and a
    #: face that stays hidden costs the detector passes of that search on a fraction of the frames.
    relocate_every_time: float = 0.3
    relocate_stride: int = 2
    #: A detected face starts a track only if its landmarks move at most this much (mean, in face widths) when
    #: the landmark model looks again on the ROI of its own first landmarks, or, if that second look loses it,
    #: if the first landmarks' eyes lie within ``start_eye_distance`` face widths of the detector's: the model
    #: also "finds" faces in some patterned backgrounds, and those do not hold still.
    start_drift: float = 0.06
    start_eye_distance: float = 0.1
    #: A detected face the landmark model misses on the detection's ROI at ``min_tracking_confidence`` is looked for
    #: again on that ROI upright and a quarter larger (a masked face's detection box is tight, its eye key points
    #: rough) at this face presence (a mask, a flat pasted one above all, hides half of what the model scores a face
    #: by); a look counts only when its landmarks hold still within ``start_drift`` (:mod:`unmask_video.unsure_faces`).
    #: A track so started is followed by that model alone: one run a frame on its landmarks' ROI, or, where the model
    #: is unsure of the face there, on the start's ROI moved with the face and a second look on the landmarks' own
    #: ROI. 0: off (0.15 took a
    #: blurred bare painted face that the presence decision then masked; 0.4 does not).
    unsure_presence: float = 0.4
    #: Side (pixels) of the square crop each face is resized to for the landmark model.
    crop_size: int = 256
    #: The face's region handed to the landmark model area-halved only, the model's own crop to its 192 px input the
    #: one resampling (False: resized to ``crop_size`` first, which the model then resamples again).
    one_resample: bool = False
    #: Two tracks are the same face when one's centre is closer to the other's than this many face widths.
    match_distance: float = 0.5
    #: With more faces in view than ``max_faces``, a tracked face keeps its place unless another is this many
    #: times larger (in area): the choice does not flip between similar faces or to a passing false detection.
    #: New tracks are chosen largest first.
    switch_ratio: float = 1.5
    #: When the landmark model misses a tracked face for a moment (motion blur, a hand, a bold mask print) while
    #: the face region still looks the same, its landmarks are carried forward for up to this many seconds
    #: instead of dropping the face; 0 turns this off. The face is looked for (a small grey template of it, as
    #: last found) within ``hold_reach`` face widths of where it was last found, so a head that turns back during
    #: the miss is followed, not extrapolated past; a frame that changed like a cut (``cut_threshold``) is not held.
    hold_time: float = 0.2
    #: How alike (normalised cross-correlation of small grey patches) the face region must stay to be held.
    hold_similarity: float = 0.4
    #: How far (face widths) from where it was last found a held face is looked for.
    hold_reach: float = 0.5


def _face_area(landmarks: np.ndarray) -> float:
    span = landmarks.max(axis=0) - landmarks.min(axis=0)
    return float(span[0] * span[1])


def _check_image(image: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", None)
        raise ProcessingError(f"{what} must be a uint8 RGB array of shape (H, W, 3), got {shape} {dtype}")
    return np.ascontiguousarray(image)


def _to_pixels(face_landmarks, width: int, height: int) -> np.ndarray:
    pts = np.array([(p.x, p.y) for p in face_landmarks.landmark[:NUM_LANDMARKS]], dtype=np.float32)
    pts *= np.array([width, height], dtype=np.float32)
    return pts


def _face_mesh(static: bool, max_faces: int, det: float, trk: float):
    mp = import_mediapipe()
    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=static,
        max_num_faces=max_faces,
        refine_landmarks=False,
        min_detection_confidence=det,
        min_tracking_confidence=trk,
    )


@dataclass
class TrackedFace:
    """One face of one frame as the tracker returns it."""

    id: int  #: stable for as long as the track lasts; a face found again after it was lost gets a new id
    landmarks: np.ndarray  #: (468, 2) float32 frame pixels, smoothed
    held: bool = False  #: carried forward from earlier frames, not found in this one
    #: The frame repeats the one these landmarks were found on (:mod:`unmask_video.repeat_frames`): the pipeline
    #: gives it that frame's output (set by :meth:`FramePipeline.locate <unmask_video.pipeline.FramePipeline.locate>`).
    repeat: bool = False


@dataclass
class _Track:
    id: int
    filter: OneEuroFilter
    scale: float  # face width in pixels when the track started: the filter works in units of it
    raw: np.ndarray  # the last landmarks the model found (or carried forward): the next frame's ROI
    center: np.ndarray = field(default_factory=lambda: np.zeros(2))  # last centre (x, y)
    size: float = 1.0  # last face width
    output: np.ndarray | None = None  # last landmarks returned for this face
    t: float = 0.0  # time of ``output``
    previous: np.ndarray | None = None  # the landmarks returned before ``output``
    previous_t: float = 0.0
    seen: float = 0.0  # last time the model found the face
    shot: "_FaceShot | None" = None  # the face region as last found: its patch and template, made when needed
    anchor: np.ndarray | None = None  # the landmarks returned when the face was last found
    sample: np.ndarray | None = None  # the frame when the face was last found, sparsely sampled (the cut check)
    unsure: UnsureFollow | None = None  # started by an unsure look: followed by it (one or two runs a frame)

    def emit(self, landmarks: np.ndarray, t: float) -> None:
        self.previous, self.previous_t = self.output, self.t
        self.output, self.t = landmarks, float(t)

    def contains(self, point: np.ndarray) -> bool:
        """Whether ``point`` lies in this face's last landmark bounding box."""
        lo, hi = self.raw.min(axis=0), self.raw.max(axis=0)
        return bool(np.all(point >= lo) and np.all(point <= hi))

    @property
    def velocity(self) -> np.ndarray:
        """Landmark velocity (pixels per second) between the last two outputs, fitted with one affine
        motion of the whole face so that landmark noise does not count as motion."""
        if self.output is None or self.previous is None or self.t <= self.previous_t:
            return np.zeros((NUM_LANDMARKS, 2))
        v = (self.output.astype(np.float64) - self.previous) / (self.t - self.previous_t)
        a = np.hstack([self.previous.astype(np.float64), np.ones((len(v), 1))])
        coef, *_ = np.linalg.lstsq(a, v, rcond=None)
        return a @ coef


@dataclass
class _Ghost:
    """A track lost recently: where it was, for searching there again."""

    id: int
    landmarks: np.ndarray
    t: float
    frames: int = 0  # frames since it was lost that the relocate search considered


_PATCH = 16


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """A small grey thumbnail of a frame, float32 in [0, 1] (cheap at any size: every few pixels only)."""
    h, w = image.shape[:2]
    step = max(1, min(h, w) // 180)
    small = cv2.resize(np.ascontiguousarray(image[::step, ::step]), (32, 18), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


def _sample(image: np.ndarray) -> np.ndarray:
    """Every few pixels of a frame (about 72 rows): kept with a track for a cut check, far cheaper than a
    :func:`_thumbnail` of every frame the face is found in."""
    step = max(1, min(image.shape[:2]) // 72)
    return np.ascontiguousarray(image[::step, ::step])


def _change(a: np.ndarray, b: np.ndarray) -> float:
    """How unlike two frame samples look: the mean absolute difference of their thumbnails, in [0, 1]."""
    return float(np.abs(_thumbnail(a) - _thumbnail(b)).mean())


def _face_patch(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """The face region of an RGB image as a grey, zero-mean, unit-norm ``_PATCH`` x ``_PATCH`` patch
    (``None`` when the region is off the frame or flat)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = _region(landmarks, w, h)
    return _patch_of(image[y0:y1, x0:x1])


def _patch_of(region: np.ndarray) -> np.ndarray | None:
    """:func:`_face_patch` of the face region itself (``None`` when under 4 pixels on a side or flat)."""
    if region.shape[0] < 4 or region.shape[1] < 4:
        return None
    small = resize(region, _PATCH, _PATCH)  # (an area resize by a non-whole factor costs 5-10x)
    patch = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-3 * _PATCH else None


#: Width (pixels) a face is shrunk to for looking for it in a frame where the landmark model missed it.
_TEMPLATE = 32


@dataclass
class _Template:
    """A face region as last found: grey, shrunk to ``_TEMPLATE`` pixels wide, and where it was."""

    image: np.ndarray  # float32 grey
    x0: int  # the region's corner in frame pixels
    y0: int
    scale: float  # template pixels per frame pixel


def _region(landmarks: np.ndarray, w: int, h: int, pad: float = 0.0) -> tuple[int, int, int, int]:
    lo = np.floor(landmarks.min(axis=0) - pad).astype(int)
    hi = np.ceil(landmarks.max(axis=0) + pad).astype(int)
    return max(int(lo[0]), 0), max(int(lo[1]), 0), min(int(hi[0]), w), min(int(hi[1]), h)


def _grey_small(image: np.ndarray, box: tuple[int, int, int, int], scale: float) -> np.ndarray | None:
    x0, y0, x1, y1 = box
    sw, sh = int(round((x1 - x0) * scale)), int(round((y1 - y0) * scale))
    if sw < 4 or sh < 4:
        return None
    small = resize(np.ascontiguousarray(image[y0:y1, x0:x1]), sw, sh)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _face_template(image: np.ndarray, landmarks: np.ndarray) -> _Template | None:
    h, w = image.shape[:2]
    box = _region(landmarks, w, h)
    return _template_of(image[box[1]:box[3], box[0]:box[2]], box[0], box[1], landmarks_width(landmarks))


def _template_of(region: np.ndarray, x0: int, y0: int, face_size: float) -> _Template | None:
    """:func:`_face_template` of the face region itself, whose corner is at (``x0``, ``y0``) in the frame."""
    scale = min(1.0, _TEMPLATE / face_size)
    grey = _grey_small(region, (0, 0, region.shape[1], region.shape[0]), scale)
    if grey is None or float(grey.std()) < 1.0:
        return None
    return _Template(grey, x0, y0, scale)


class _FaceShot:
    """The face region of the frame a face was last found in (a copy: the frame may be changed later), from which
    the patch and template that look for the face while it is held are made only when a miss needs them, the
    same as made on every frame before (tests): a frame the model finds the face in (most frames) pays a copy of
    the face region only."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray) -> None:
        h, w = image.shape[:2]
        x0, y0, x1, y1 = _region(landmarks, w, h)
        self._region = image[y0:y1, x0:x1].copy()
        self._x0, self._y0 = x0, y0
        self._size = landmarks_width(landmarks)
        self._made = False
        self._patch: np.ndarray | None = None
        self._template: _Template | None = None

    def _make(self) -> None:
        if not self._made:
            self._patch = _patch_of(self._region)
            self._template = _template_of(self._region, self._x0, self._y0, self._size)
            self._made = True

    @property
    def patch(self) -> np.ndarray | None:
        """:func:`_face_patch` of the face as last found."""
        self._make()
        return self._patch

    @property
    def template(self) -> _Template | None:
        """:func:`_face_template` of the face as last found."""
        self._make()
        return self._template


def _find_face(image: np.ndarray, template: _Template, reach: float) -> tuple[np.ndarray, float] | None:
    """Where (shift in frame pixels, x and y) the face of ``template`` best matches ``image`` within ``reach``
    frame pixels of where it was, and how well (normalised cross-correlation); ``None`` when it cannot be
    looked for (off the frame)."""
    h, w = image.shape[:2]
    th, tw = template.image.shape
    s = template.scale
    x0, y0 = max(int(template.x0 - reach), 0), max(int(template.y0 - reach), 0)
    x1 = min(int(math.ceil(template.x0 + tw / s + reach)), w)
    y1 = min(int(math.ceil(template.y0 + th / s + reach)), h)
    area = _grey_small(image, (x0, y0, x1, y1), s)
    if area is None or area.shape[0] < th or area.shape[1] < tw:
        return None
    score = cv2.matchTemplate(area, template.image, cv2.TM_CCOEFF_NORMED)
    score = np.nan_to_num(score, nan=-1.0, posinf=-1.0, neginf=-1.0)
    _, best, _, (bx, by) = cv2.minMaxLoc(score)
    # Sub-pixel peak (a parabola through the neighbours), then back to frame pixels.
    peak = np.array([bx, by], dtype=np.float64)
    for axis, (line, k) in enumerate(((score[by, :], bx), (score[:, bx], by))):
        if 0 < k < len(line) - 1:
            den = line[k - 1] - 2 * line[k] + line[k + 1]
            if den < 0:
                peak[axis] += float(np.clip(0.5 * (line[k - 1] - line[k + 1]) / den, -0.5, 0.5))
    shift = np.array([x0, y0], dtype=np.float64) + peak / s - np.array([template.x0, template.y0])
    return shift, float(best)


class FaceTracker:
    """Every face of a video, at any size, each under a stable id, with per-face smoothing.

    ``track_faces(image, t)`` returns up to ``options.max_faces`` :class:`TrackedFace`, largest first;
    ``track(image, t)`` only their landmarks. A tracked face is followed from its previous landmarks with the
    landmark model on a crop of the face (the cost follows the face size, not the frame size). While fewer than
    ``max_faces`` faces are tracked, the frame is searched for faces with the detector pyramid: whole on the
    first frame, then every ``detect_interval`` seconds or when a track is lost, spread over frames
    (``search_passes`` detector passes per frame); the region around a lost face is searched for ``relocate_time``
    seconds (every frame at first, then every ``relocate_stride``-th), and a face found there keeps the lost track's
    id. With ``max_faces`` tracked, a
    cheap coarse search every ``switch_interval`` seconds lets a face ``switch_ratio`` times larger take the
    smallest one's place. Faces narrower than ``min_face_size`` are not tracked: :attr:`too_small` counts them
    (as of the last complete search). Call :meth:`close` (or use ``with``) when done.
    """

    def __init__(self, options: TrackerOptions | None = None) -> None:
        self.options = options or TrackerOptions()
        o = self.options
        if o.max_faces < 1:
            raise InputError("--max-faces must be at least 1")
        if o.switch_ratio < 1:
            raise InputError("the face switch ratio must be at least 1")
        if o.hold_time < 0:
            raise InputError("the face hold time must be 0 (off) or more seconds")
        if o.min_face_size < 8:
            raise InputError("the smallest face size must be at least 8 pixels")
        if o.relocate_stride < 1:
            raise InputError("the lost face search's frame stride must be at least 1")
        if not 0.0 <= o.unsure_presence < 1.0:
            raise InputError("the unsure face presence must be at least 0 (off) and under 1")
        self._detector: FaceDetector | None = FaceDetector(o.min_detection_confidence)
        self._model: RoiLandmarker | None = RoiLandmarker(o.min_tracking_confidence, o.crop_size, o.one_resample)
        self._unsure: UnsureLooker | None = None
        if o.unsure_presence > 0.0:
            self._unsure = UnsureLooker(o.unsure_presence, o.start_drift, o.crop_size, o.one_resample)
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._last_t: float | None = None
        self._last_search: float | None = None
        self._last_switch_search: float | None = None
        self._lost = False
        self._ghosts: list[_Ghost] = []
        self._sweep: list[Pass] = []  # the passes of the search under way, still to run
        self._sweep_shape: tuple[int, int] = (0, 0)
        self._sweep_small: list[Detection] = []  # faces too small found by it so far
        self._searched: np.ndarray | None = None  # thumbnail of the last frame a search pass ran on
        self._search_cells: np.ndarray | None = None  # the colour cells of the frame where the last search started
        #: For each face of the last result: ``True`` where it was carried forward, not found.
        self.held: list[bool] = []
        #: For each face of the last result: its track id.
        self.ids: list[int] = []
        #: Faces the last full search found but that are narrower than ``min_face_size`` (not tracked).
        self.too_small = 0
        #: Full searches and coarse (switch) searches run so far.
        self.searches = 0
        self.switch_searches = 0
        #: Regular searches skipped because the frame had not changed since the last one (``still_search_levels``).
        self.skipped_searches = 0

    @property
    def detector_passes(self) -> int:
        """Face detector passes run so far (each is one model run on one tile)."""
        return self._detector.passes if self._detector is not None else 0

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the models. The tracker cannot be used afterwards."""
        for model in (self._detector, self._model, self._unsure):
            if model is not None:
                model.close()
        self._detector = self._model = self._unsure = None

    def reset(self) -> None:
        """Forget all tracked faces (e.g. after a seek or a scene cut): the next frame is searched."""
        self._tracks = []
        self.held = []
        self.ids = []
        self.too_small = 0
        self._last_search = self._last_switch_search = None
        self._lost = False
        self._ghosts = []
        self._sweep = []
        self._searched = None
        self._search_cells = None

    def track(self, image: np.ndarray, t: float) -> list[np.ndarray]:
        """Landmarks of up to ``max_faces`` faces in ``image`` (uint8 RGB) at time ``t`` seconds.

        Each is a (468, 2) float32 array in pixel coordinates, smoothed over time; largest face first.
        Returns ``[]`` when no face is found; the smoothing of a face restarts after it was lost. A face
        the model misses for at most ``hold_time`` seconds while its region still looks the same is
        carried forward; :attr:`held` tells which of the returned faces were, :attr:`ids` their track ids.
        """
        return [face.landmarks for face in self.track_faces(image, t)]

    def track_faces(self, image: np.ndarray, t: float) -> list[TrackedFace]:
        """Like :meth:`track`, with each face's id and whether it was held."""
        if self._detector is None or self._model is None:
            raise ProcessingError("FaceTracker was used after close()")
        if not math.isfinite(t):
            raise ProcessingError(f"frame time {t} is not a number of seconds; the video has broken timestamps")
        image = _check_image(image, "frame")
        if self._last_t is not None and t < self._last_t:
            self.reset()  # time went backwards: a seek or a new clip
        self._last_t = float(t)
        results: list[tuple[np.ndarray, _Track, bool]] = []
        for track in self._tracks:
            if track.unsure is not None and self._unsure is not None:
                raw = self._unsure.follow(image, track.raw, track.unsure)
            else:
                raw = self._model.landmarks(image, roi_from_landmarks(track.raw))
            if raw is not None:
                results.append((self._found(track, raw, image, t), track, False))
                continue
            moved = self._hold(track, image, t)
            if moved is not None:
                results.append((moved, track, True))
            else:
                log.debug("face %d lost at t=%.3f s", track.id, t)
                self._lost = True
                self._ghosts.append(_Ghost(track.id, track.raw, float(t)))
        results = self._drop_duplicates(results)
        self._relocate(image, t, results)
        self._search(image, t, results)
        results.sort(key=lambda r: _face_area(r[0]), reverse=True)
        self._tracks = [r[1] for r in results]
        self.held = [r[2] for r in results]
        self.ids = [r[1].id for r in results]
        return [TrackedFace(r[1].id, r[0], r[2]) for r in results]

    # --- following a tracked face -----------------------------------------------------------------------

    def _found(self, track: _Track, raw: np.ndarray, image: np.ndarray, t: float) -> np.ndarray:
        o = self.options
        smoothed = track.filter(raw / track.scale, t) * track.scale
        out = smoothed.astype(np.float32) if o.smoothing else raw
        track.emit(out, t)
        track.raw = raw
        track.center, track.size = raw.mean(axis=0), landmarks_width(raw)
        track.seen = float(t)
        if o.hold_time > 0:
            track.shot = _FaceShot(image, raw)
            track.anchor = out
            track.sample = _sample(image) if o.cut_threshold > 0 else None
        return out

    def _hold(self, track: _Track, image: np.ndarray, t: float) -> np.ndarray | None:
        """The face carried forward when it was found recently, the frame is no cut, and the face is still there:
        its template found within ``hold_reach`` face widths of where it was last found, and the face region
        there as alike as ``hold_similarity`` to the one last found."""
        o = self.options
        limit = o.hold_time + 1e-6  # float times: 5 frames at 25 fps are 0.2 s
        if o.hold_time <= 0 or track.anchor is None or track.shot is None or t - track.seen > limit:
            return None
        template = track.shot.template
        if template is None:
            return None
        if track.sample is not None and _change(_sample(image), track.sample) > o.cut_threshold:
            log.debug("face %d not held at t=%.3f s: the picture changed like a cut", track.id, t)
            return None
        found = _find_face(image, template, o.hold_reach * landmarks_width(track.anchor))
        if found is None or found[1] < o.hold_similarity:
            return None
        moved = (track.anchor + found[0]).astype(np.float32)
        now = _face_patch(image, moved)
        last = track.shot.patch
        similarity = float(np.sum(now * last)) if now is not None and last is not None else -1.0
        if similarity < o.hold_similarity:
            log.debug("face %d not held at t=%.3f s: its region looks different (%.2f)", track.id, t, similarity)
            return None
        track.emit(moved, t)
        track.raw = moved
        track.center, track.size = moved.mean(axis=0), landmarks_width(moved)
        return moved

    def _drop_duplicates(self, results: list[tuple[np.ndarray, _Track, bool]]) -> list:
        """Two tracks that ended on the same face: the older one (lower id) stays."""
        kept: list[tuple[np.ndarray, _Track, bool]] = []
        for r in sorted(results, key=lambda r: r[1].id):
            if any(self._same_face(r[1].center, r[1].size, k[1]) for k in kept):
                log.debug("face %d merged into another track", r[1].id)
                continue
            kept.append(r)
        return kept

    def _same_face(self, center: np.ndarray, size: float, track: _Track) -> bool:
        return self._same_place(center, size, track.center, track.size)

    def _same_place(self, center: np.ndarray, size: float, other: np.ndarray, other_size: float) -> bool:
        return float(np.linalg.norm(center - other)) < self.options.match_distance * max(size, other_size)

    def _ghost_at(self, raw: np.ndarray) -> int | None:
        """The id of a recently lost face where ``raw`` is, if any: a face the search finds there (on a frame the
        relocate search skipped) keeps the lost track's id, as if the relocate search had found it."""
        center, size = raw.mean(axis=0), landmarks_width(raw)
        for ghost in self._ghosts:
            if self._same_place(center, size, ghost.landmarks.mean(axis=0), landmarks_width(ghost.landmarks)):
                return ghost.id
        return None

    # --- searching for faces ------------------------------------------------------------------------------

    def _relocate(self, image: np.ndarray, t: float, results: list[tuple[np.ndarray, _Track, bool]]) -> None:
        """Search around recently lost faces; a face found there takes the lost track's id."""
        o = self.options
        assert self._detector is not None
        self._ghosts = [g for g in self._ghosts if t - g.t <= o.relocate_time + 1e-6]
        h, w = image.shape[:2]
        for ghost in list(self._ghosts):
            if len(results) >= o.max_faces:
                return
            ghost.frames += 1  # (the frames since the loss that reached this search)
            if not self._relocate_due(ghost, t):
                continue
            size = landmarks_width(ghost.landmarks)
            cx, cy = ghost.landmarks.mean(axis=0)
            x0, y0 = int(max(cx - 1.5 * size, 0)), int(max(cy - 1.5 * size, 0))
            x1, y1 = int(min(cx + 1.5 * size, w)), int(min(cy + 1.5 * size, h))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            found = self._detector.detect(image[y0:y1, x0:x1], max(o.min_face_size, 0.5 * size))
            shifted = (d.shifted(x0, y0) for d in sorted(found, key=lambda d: d.area, reverse=True))
            near = [d for d in shifted
                    if d.width >= o.min_face_size and not any(r[1].contains(d.center) for r in results)]
            for raw, unsure in self._looks(image, near, results):
                if any(r[1].contains(raw.mean(axis=0)) for r in results):
                    continue
                log.debug("face %d found again at t=%.3f s", ghost.id, t)
                results.append(self._start(raw, image, t, ghost.id, unsure))  # (forgets the ghost)
                break

    def _relocate_due(self, ghost: _Ghost, t: float) -> bool:
        """Whether the region around a lost face is searched on this frame: every frame for ``relocate_every_time``
        seconds after the loss, then every ``relocate_stride``-th frame (``ghost.frames``: counted by the caller)."""
        o = self.options
        if t - ghost.t <= o.relocate_every_time + 1e-6:
            return True
        return ghost.frames % max(1, o.relocate_stride) == 0

    def _search(self, image: np.ndarray, t: float, results: list[tuple[np.ndarray, _Track, bool]]) -> None:
        """Adds new tracks to ``results`` from a face search when one is due (see the class docstring)."""
        o = self.options
        assert self._detector is not None
        h, w = image.shape[:2]
        tracks = [r[1] for r in results]
        sweeping = len(tracks) < o.max_faces
        if sweeping:
            if self._sweep and self._sweep_shape != (h, w):
                self._sweep = []  # the frame size changed: start over
            if not self._sweep:
                due = self._last_search is None or self._lost or t - self._last_search >= o.detect_interval - 1e-6
                if not due and not self._cut(image):
                    return
                if self._still_since_search(image, t):
                    return
                self._sweep = self._detector.plan(w, h, o.min_face_size)
                if o.still_search_levels > 0:
                    self._search_cells = cell_means(image, o.min_face_size)
                self._sweep_shape = (h, w)
                self._sweep_small = []
                self.searches += 1
            self._lost = False
            if o.cut_threshold > 0:
                self._searched = _thumbnail(image)
            if self._last_search is None:
                # The first search after a start or a reset runs on its frame, coarse levels (large faces) first,
                # and ends once there are faces for every free place: the finer levels could only add smaller
                # faces, which would not take a place (as when a spread search is cut short by a face found). A 4k
                # frame's finest level alone is some 200 detector passes.
                found: list[Detection] = []
                pool: list[Detection] = []  # (every level's: where the model is sure of no face, the unsure look)
                while self._sweep and len(results) < o.max_faces:
                    level = (self._sweep[0].short, self._sweep[0].scale)
                    size = next((i for i, p in enumerate(self._sweep) if (p.short, p.scale) != level), len(self._sweep))
                    now, self._sweep = self._sweep[:size], self._sweep[size:]
                    found.extend(self._detector.run(image, now))
                    new = [d for d in merge_overlapping(found) if d.width >= o.min_face_size
                           and not any(r[1].contains(d.center) for r in results)]  # fmt: skip
                    if len(new) >= o.max_faces - len(results) or not self._sweep:
                        self._take(image, t, results, merge_overlapping(found), True, unsure=False)
                        pool.extend(found)
                        found = []
                if len(results) < o.max_faces and self._unsure is not None:
                    # The faces the model is unsure of only after every level: one it is sure of, found by a finer
                    # level, goes first (as before the unsure look).
                    self._take(image, t, results, merge_overlapping(pool), False, unsure=True)
                self._sweep = []
                self._end_sweep(t)
                return
            # Later ones are spread over frames.
            budget = max(1, o.search_passes)
            now, self._sweep = self._sweep[:budget], self._sweep[budget:]
            detections = self._detector.run(image, now)
        else:
            self._sweep = []  # every place is taken: only a larger face could enter
            if self._last_switch_search is not None and t - self._last_switch_search < o.switch_interval - 1e-6:
                return
            self._last_switch_search = float(t)
            self.switch_searches += 1
            # Only faces larger than the smallest tracked one and than a tenth of the frame: a coarse, cheap search.
            smallest = min(tr.size for tr in tracks)
            floor = max(o.min_face_size, smallest * math.sqrt(o.switch_ratio), min(h, w) / 10)
            detections = self._detector.detect(image, floor)
        self._take(image, t, results, detections, sweeping)
        if sweeping and not self._sweep:  # the sweep is complete
            self._end_sweep(t)

    def _still_since_search(self, image: np.ndarray, t: float) -> bool:
        """Whether a regular search (not the first, nor one for a lost face) is skipped because the frame still
        looks as it did where the last one started (``still_search_levels``); a skipped one counts as run at ``t``."""
        o = self.options
        if self._last_search is None or self._lost:
            return False
        if not unchanged(self._search_cells, image, o.min_face_size, o.still_search_levels):
            return False
        log.debug("no change since the last face search: skipped at t=%.3f s", t)
        self._last_search = float(t)
        self.skipped_searches += 1
        return True

    def _cut(self, image: np.ndarray) -> bool:
        """Whether this frame looks unlike the last one searched (a cut to another shot)."""
        threshold = self.options.cut_threshold
        if threshold <= 0 or self._searched is None:
            return False
        change = float(np.abs(_thumbnail(image) - self._searched).mean())
        if change > threshold:
            log.debug("the picture changed (%.2f): searching for faces now", change)
            return True
        return False

    def _end_sweep(self, t: float) -> None:
        o = self.options
        self._last_search = float(t)
        self.too_small = len(merge_overlapping(self._sweep_small))
        if self.too_small:
            log.debug("%d face(s) under %.0f px found by t=%.3f s", self.too_small, o.min_face_size, t)

    def _take(
        self,
        image: np.ndarray,
        t: float,
        results: list[tuple[np.ndarray, _Track, bool]],
        detections: list[Detection],
        sweeping: bool,
        unsure: bool | None = None,
    ) -> None:
        """Starts tracks for the new faces among ``detections``: into a free place, or in the place of a face
        ``switch_ratio`` times smaller. ``unsure``: only the usual look (False), only the unsure one (True), or the
        usual one and then the unsure one (None; :meth:`_looks`)."""
        o = self.options
        fresh = [d for d in detections if not any(r[1].contains(d.center) for r in results)]
        if sweeping:
            self._sweep_small.extend(d for d in fresh if d.width < o.min_face_size)
        candidates = sorted((d for d in fresh if d.width >= o.min_face_size), key=lambda d: d.area, reverse=True)
        for raw, taken_unsure in self._looks(image, candidates, results, unsure is not True, unsure is not False):
            if any(r[1].contains(raw.mean(axis=0)) for r in results):
                continue
            if len(results) < o.max_faces:
                results.append(self._start(raw, image, t, self._ghost_at(raw), taken_unsure))
                continue
            weakest = min(results, key=lambda r: _face_area(r[0]))
            if _face_area(raw) > o.switch_ratio * _face_area(weakest[0]):
                log.debug("face %d replaced by a larger face at t=%.3f s", weakest[1].id, t)
                results.remove(weakest)
                results.append(self._start(raw, image, t, unsure=taken_unsure))

    def _looks(
        self,
        image: np.ndarray,
        detections: list[Detection],
        results: list[tuple[np.ndarray, _Track, bool]],
        sure: bool = True,
        unsure: bool = True,
    ) -> Iterator[tuple[np.ndarray, UnsureFollow | None]]:
        """Landmarks of the faces of ``detections`` (in their order) and, where the model was unsure of one, how to
        follow it: the
        usual look (:meth:`_landmarks_of`) at every detection first (``sure``), then the unsure one
        (``unsure_presence``; ``unsure``) at those it missed (all of them, without ``sure``) that no face of
        ``results`` holds by then: a face the model is sure of goes first. Lazy: the caller's results change between
        the faces it takes."""
        missed = []
        for d in detections:
            raw = self._landmarks_of(image, d) if sure else None
            if raw is None:
                missed.append(d)
            else:
                yield raw, None
        if self._unsure is None or not unsure:
            return
        for d in missed:
            if any(r[1].contains(d.center) for r in results):
                continue
            started = self._unsure.start(image, roi_from_box(d.x0, d.y0, d.x1, d.y1, d.left_eye, d.right_eye))
            if started is not None:
                log.debug("a face the model is unsure of (%.0f px detection, score %.2f) taken", d.width, d.score)
                yield started

    def _landmarks_of(self, image: np.ndarray, d: Detection) -> np.ndarray | None:
        """Landmarks of a detected face: the model on the detection's ROI, then once more on the ROI of those.

        A face must hold still under that second look (a real face's landmarks barely move, the model's guess at a
        face in a patterned background jumps), or, where the second look loses it, its eyes must be where the
        detector put them; otherwise the detection is taken for a false one.
        """
        assert self._model is not None
        first = self._model.landmarks(image, roi_from_box(d.x0, d.y0, d.x1, d.y1, d.left_eye, d.right_eye))
        if first is None:
            log.debug("no landmarks for a %.0f px face detection (score %.2f)", d.width, d.score)
            return None
        size = landmarks_width(first)
        drift, again = landmark_drift(self._model, image, first)
        if again is not None:
            if drift <= self.options.start_drift:
                return again
            log.debug("face detection (score %.2f) dropped: its landmarks moved %.2f face widths", d.score, drift)
            return None
        left = first[landmark_sets.index(landmark_sets.LEFT_EYE_CORNERS)].mean(axis=0)
        right = first[landmark_sets.index(landmark_sets.RIGHT_EYE_CORNERS)].mean(axis=0)
        miss = (float(np.linalg.norm(left - d.left_eye)) + float(np.linalg.norm(right - d.right_eye))) / (2 * size)
        if miss <= self.options.start_eye_distance:
            return first
        log.debug("face detection (score %.2f) dropped: its eyes are %.2f face widths off", d.score, miss)
        return None

    def _start(
        self, raw: np.ndarray, image: np.ndarray, t: float, face_id: int | None = None,
        unsure: UnsureFollow | None = None,
    ) -> tuple[np.ndarray, _Track, bool]:
        o = self.options
        size = landmarks_width(raw)
        if face_id is None:
            face_id, self._next_id = self._next_id, self._next_id + 1
        self._ghosts = [g for g in self._ghosts if g.id != face_id]
        track = _Track(face_id, OneEuroFilter(o.min_cutoff, o.beta, o.d_cutoff, shared_speed=True), size, raw,
                       unsure=unsure)
        log.debug("face %d found, %.0f px wide, at t=%.3f s", track.id, size, t)
        return self._found(track, raw, image, t), track, False


# --- reference still -------------------------------------------------------------------------

#: Images whose shorter side is below this are upscaled before detection.
_MIN_REFERENCE_SIDE = 256


def _detect_static(image: np.ndarray, max_faces: int = 4) -> list[np.ndarray]:
    with _face_mesh(static=True, max_faces=max_faces, det=0.5, trk=0.5) as mesh:
        result = mesh.process(np.ascontiguousarray(image))
    h, w = image.shape[:2]
    return [_to_pixels(f, w, h) for f in (result.multi_face_landmarks or [])]


def _attempts(image: np.ndarray):
    """Yield (image variant, function mapping its landmarks back to ``image``) in order of preference."""
    h, w = image.shape[:2]
    yield image, lambda p: p
    scale = 1.0
    if min(h, w) < _MIN_REFERENCE_SIDE:
        scale = math.ceil(_MIN_REFERENCE_SIDE / min(h, w))
        big = cv2.resize(image, (w * int(scale), h * int(scale)), interpolation=cv2.INTER_CUBIC)
        yield big, lambda p, s=scale: p / s
    else:
        big = image
    # A face that fills the whole photo is found more easily with a border around it.
    bh, bw = big.shape[:2]
    pad = int(round(0.25 * max(bh, bw)))
    padded = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    yield padded, lambda p, s=scale, q=pad: (p - q) / s


def detect_reference_landmarks(image: np.ndarray) -> np.ndarray:
    """Landmarks (468, 2) float32 of the one face in the reference still (FaceMesh static mode).

    Small photos are upscaled and tight crops padded if the face is not found at first. Raises
    :class:`InputError` when no face or more than one face is found.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError("the reference photo must be an RGB image (8 bits per channel); convert it to JPEG or PNG")
    h, w = image.shape[:2]
    if min(h, w) < 16:
        raise InputError(
            f"the reference photo is only {w}x{h} pixels; use a photo where the face is at least 64 pixels wide"
        )
    for variant, back in _attempts(image):
        faces = _detect_static(variant)
        if len(faces) > 1:
            raise InputError(f"the reference photo shows {len(faces)} faces; crop it to the one person")
        if len(faces) == 1:
            pts = back(faces[0]).astype(np.float32)
            log.debug("reference face found, %.0f px wide", landmarks_width(pts))
            return pts
    raise InputError(
        "no face found in the reference photo; use a well-lit, front-facing, unmasked photo of the same person"
    )


# --- region of interest ----------------------------------------------------------------------


def face_box(landmarks: np.ndarray, frame_shape: tuple[int, ...], margin: float = 0.25) -> Box:
    """A square-ish :class:`Box` around the face oval, grown by ``margin`` times its size on every
    side, clipped to the frame (``frame_shape`` is (H, W) or (H, W, C)). Never empty."""
    h, w = int(frame_shape[0]), int(frame_shape[1])
    pts = np.asarray(landmarks, dtype=np.float64)[landmark_sets.index(landmark_sets.FACE_OVAL)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) / 2.0
    half = max(hi[0] - lo[0], hi[1] - lo[1]) * (0.5 + margin)
    x0 = int(np.clip(math.floor(center[0] - half), 0, max(w - 1, 0)))
    y0 = int(np.clip(math.floor(center[1] - half), 0, max(h - 1, 0)))
    x1 = int(np.clip(math.ceil(center[0] + half), x0 + 1, w))
    y1 = int(np.clip(math.ceil(center[1] + half), y0 + 1, h))
    return Box(x0, y0, x1, y1)


__all__ = [
    "TrackerOptions",
    "TrackedFace",
    "OneEuroFilter",
    "FaceTracker",
    "detect_reference_landmarks",
    "face_box",
]
