"""Face landmarks: MediaPipe FaceMesh (468 points) with One-Euro temporal smoothing.

- :class:`FaceTracker` runs FaceMesh in tracking mode on video frames and smooths each face's
  landmarks over time with its own :class:`OneEuroFilter`.
- :func:`detect_reference_landmarks` runs FaceMesh in static mode on the reference still.
- :func:`face_box` turns landmarks into the square-ish region of interest the face stages work in.

Landmarks are ``float32`` arrays of shape (468, 2) in pixel coordinates (x, y) of the image.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.errors import InputError, ProcessingError
from unmask_video.stages import Box

log = logging.getLogger(__name__)

NUM_LANDMARKS = landmark_sets.NUM_LANDMARKS


@dataclass
class TrackerOptions:
    """Options of :class:`FaceTracker`.

    The One-Euro parameters act on landmark coordinates measured in face widths (the tracker divides
    pixel coordinates by the face width when a track starts), so they do not depend on the resolution:
    ``min_cutoff`` (Hz) sets the smoothing of a still face, ``beta`` how fast the cutoff rises with the
    speed (face widths per second) so that a moving head does not lag, ``d_cutoff`` (Hz) the smoothing
    of the speed estimate.
    """

    max_faces: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    smoothing: bool = True
    # Tuned on synthetic clips (benchmarks/landmark_smoothing.py); the tracker uses one cutoff per face
    # (OneEuroFilter shared_speed): a still face jitters about 7x less than raw FaceMesh; on a head moving
    # up to about one face width per second the lag adds under 1 % of the face width of error.
    min_cutoff: float = 0.5
    beta: float = 22.0
    d_cutoff: float = 1.0
    #: A new face is the same person as a tracked one when their centres are closer than this many face widths.
    match_distance: float = 0.5
    #: With more faces in view than ``max_faces``, a face already tracked keeps its place unless another is
    #: this many times larger (in area): the choice does not flip between similar faces or to a passing false
    #: detection. New tracks are chosen largest first.
    switch_ratio: float = 1.5
    #: When FaceMesh misses a tracked face for a moment (motion blur, a hand, a bold mask print) while the
    #: face region still looks the same, its landmarks are carried forward (moved at the tracked speed) for up
    #: to this many seconds instead of dropping the face; 0 turns this off.
    hold_time: float = 0.2
    #: How alike (normalised cross-correlation of small grey patches) the face region must stay to be held.
    hold_similarity: float = 0.4


def _smoothing_factor(te: float, cutoff: np.ndarray | float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / te)


class OneEuroFilter:
    """The One-Euro filter (Casiez et al., CHI 2012), vectorised over an array of any shape.

    By default every element is filtered independently with its own speed-adaptive cutoff. With
    ``shared_speed=True`` one cutoff, driven by the root-mean-square speed of all elements, is used
    for the whole array: the points of a rigidly moving shape (a face) are then smoothed alike, so the
    shape does not distort, and the speed estimate is far less noisy.

    ``__call__(x, t)`` takes the raw value ``x`` (any shape, fixed from the first call) at time ``t``
    seconds and returns the filtered value (float64 array of the same shape). A time that does not
    move forward returns the last output (same ``t``) or restarts the filter (earlier ``t``).
    """

    def __init__(
        self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0, shared_speed: bool = False
    ) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("OneEuroFilter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.shared_speed = bool(shared_speed)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next call returns its input unchanged."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @property
    def velocity(self) -> np.ndarray | None:
        """The filtered derivative (units per second), ``None`` before the first call."""
        return None if self._dx is None else self._dx.copy()

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is not None and x.shape != self._x.shape:
            raise ValueError(f"OneEuroFilter got shape {x.shape}, expected {self._x.shape}")
        if self._x is None or self._t is None or t < self._t:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            self._t = float(t)
            return self._x.copy()
        te = float(t) - self._t
        if te <= 0.0:
            return self._x.copy()
        assert self._dx is not None
        dx = (x - self._x) / te
        a_d = _smoothing_factor(te, self.d_cutoff)
        dx_hat = self._dx + a_d * (dx - self._dx)
        speed = np.sqrt(np.mean(dx_hat**2)) if self.shared_speed else np.abs(dx_hat)
        cutoff = self.min_cutoff + self.beta * speed
        a = _smoothing_factor(te, cutoff)
        x_hat = self._x + a * (x - self._x)
        self._x, self._dx, self._t = x_hat, dx_hat, float(t)
        return x_hat.copy()


def _face_size(landmarks: np.ndarray) -> float:
    """Face width in pixels: the larger side of the landmarks' bounding box."""
    span = landmarks.max(axis=0) - landmarks.min(axis=0)
    return float(max(span[0], span[1], 1.0))


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
    try:
        import mediapipe as mp  # imported lazily: it is slow to import and loads TFLite
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):  # Ctrl-C while its extension loaded
            raise KeyboardInterrupt from None
        raise ProcessingError("mediapipe is not installed; reinstall unmask-video (pip install -e .)") from exc
    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=static,
        max_num_faces=max_faces,
        refine_landmarks=False,
        min_detection_confidence=det,
        min_tracking_confidence=trk,
    )


@dataclass
class _Track:
    filter: OneEuroFilter
    scale: float  # face width in pixels when the track started: the filter works in units of it
    center: np.ndarray  # last centre (x, y)
    size: float  # last face width
    output: np.ndarray | None = None  # last landmarks returned for this face
    t: float = 0.0  # time of ``output``
    previous: np.ndarray | None = None  # the landmarks returned before ``output``
    previous_t: float = 0.0
    seen: float = 0.0  # last time FaceMesh found the face
    patch: np.ndarray | None = None  # grey patch of the face region when last found

    def emit(self, landmarks: np.ndarray, t: float) -> None:
        self.previous, self.previous_t = self.output, self.t
        self.output, self.t = landmarks, float(t)

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


_PATCH = 16


def _face_patch(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """The face region of an RGB image as a grey, zero-mean, unit-norm ``_PATCH`` x ``_PATCH`` patch
    (``None`` when the region is off the frame or flat)."""
    h, w = image.shape[:2]
    lo = np.floor(landmarks.min(axis=0)).astype(int)
    hi = np.ceil(landmarks.max(axis=0)).astype(int)
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], w), min(hi[1], h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    small = cv2.resize(image[y0:y1, x0:x1], (_PATCH, _PATCH), interpolation=cv2.INTER_AREA)
    patch = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-3 * _PATCH else None


class FaceTracker:
    """MediaPipe FaceMesh in tracking mode, one model built once and reused, with per-face smoothing.

    ``track(image, t)`` returns up to ``options.max_faces`` landmark arrays, largest face first. With
    ``max_faces=1`` and several faces in view the largest one is returned (FaceMesh is asked for at
    least two faces so that the choice can be made; this makes it run its face detector on every
    frame, about twice the cost of tracking one face), and then kept while it stays in view unless
    another becomes ``switch_ratio`` times larger. Call :meth:`close` (or use ``with``) when done.
    """

    def __init__(self, options: TrackerOptions | None = None) -> None:
        self.options = options or TrackerOptions()
        if self.options.max_faces < 1:
            raise InputError("--max-faces must be at least 1")
        if self.options.switch_ratio < 1:
            raise InputError("the face switch ratio must be at least 1")
        if self.options.hold_time < 0:
            raise InputError("the face hold time must be 0 (off) or more seconds")
        self._mesh = _face_mesh(
            static=False,
            max_faces=max(2, self.options.max_faces),
            det=self.options.min_detection_confidence,
            trk=self.options.min_tracking_confidence,
        )
        self._tracks: list[_Track] = []
        self._last_t: float | None = None
        #: For each face of the last :meth:`track` result: ``True`` where it was carried forward, not found.
        self.held: list[bool] = []

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the FaceMesh graph. The tracker cannot be used afterwards."""
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def reset(self) -> None:
        """Forget all tracked faces (e.g. after a seek or a scene cut)."""
        self._tracks = []
        self.held = []

    def detect_raw(self, image: np.ndarray) -> list[np.ndarray]:
        """All faces FaceMesh finds in this frame, unsmoothed, largest first (advances the tracker)."""
        if self._mesh is None:
            raise ProcessingError("FaceTracker was used after close()")
        image = _check_image(image, "frame")
        h, w = image.shape[:2]
        result = self._mesh.process(image)
        faces = [_to_pixels(f, w, h) for f in (result.multi_face_landmarks or [])]
        faces.sort(key=_face_area, reverse=True)
        return faces

    def track(self, image: np.ndarray, t: float) -> list[np.ndarray]:
        """Landmarks of up to ``max_faces`` faces in ``image`` (uint8 RGB) at time ``t`` seconds.

        Each is a (468, 2) float32 array in pixel coordinates, smoothed over time; largest face first.
        Returns ``[]`` when no face is found; the smoothing of a face restarts after it was lost. A face
        FaceMesh misses for at most ``hold_time`` seconds while its region still looks the same is
        carried forward; :attr:`held` tells which of the returned faces were.
        """
        if not math.isfinite(t):
            raise ProcessingError(f"frame time {t} is not a number of seconds; the video has broken timestamps")
        if self._last_t is not None and t < self._last_t:
            self.reset()  # time went backwards: a seek or a new clip
        self._last_t = float(t)
        o = self.options
        faces = self.detect_raw(image)
        limit = o.hold_time + 1e-6  # float times: 5 frames at 25 fps are 0.2 s
        hold = o.hold_time > 0 and any(t - tr.seen <= limit for tr in self._tracks)
        previous = {id(tr) for tr in self._tracks}
        tracks = self._match(faces)
        results: list[tuple[np.ndarray, _Track, bool]] = []
        for face, track in zip(faces, tracks):
            smoothed = track.filter(face / track.scale, t) * track.scale
            out = smoothed.astype(np.float32) if o.smoothing else face
            track.emit(out, t)
            track.seen = float(t)
            track.patch = _face_patch(image, face) if o.hold_time > 0 else None
            results.append((out, track, False))
        if hold:
            for track in self._tracks:
                if any(track is tr for tr in tracks) or track.output is None or t - track.seen > limit:
                    continue
                moved = (track.output + track.velocity * (t - track.t)).astype(np.float32)
                now = _face_patch(image, moved)
                if now is None or track.patch is None or float(np.sum(now * track.patch)) < o.hold_similarity:
                    continue
                track.emit(moved, t)
                track.center, track.size = moved.mean(axis=0), _face_size(moved)
                results.append((moved, track, True))
        if len(results) > o.max_faces:
            bonus = lambda r: o.switch_ratio if id(r[1]) in previous else 1.0  # noqa: E731
            results.sort(key=lambda r: _face_area(r[0]) * bonus(r), reverse=True)
            results = results[: o.max_faces]
        results.sort(key=lambda r: _face_area(r[0]), reverse=True)
        if not results and self._tracks:
            log.debug("face lost at t=%.3f s", t)
        self._tracks = [r[1] for r in results]
        self.held = [r[2] for r in results]
        return [r[0] for r in results]

    def _new_track(self, face: np.ndarray) -> _Track:
        o = self.options
        size = _face_size(face)
        smoother = OneEuroFilter(o.min_cutoff, o.beta, o.d_cutoff, shared_speed=True)
        return _Track(smoother, size, face.mean(axis=0), size)

    def _match(self, faces: list[np.ndarray]) -> list[_Track]:
        """Pair each face with the nearest previous track (greedy by distance); new faces get new tracks."""
        centers = [f.mean(axis=0) for f in faces]
        sizes = [_face_size(f) for f in faces]
        pairs = []
        for i, (c, s) in enumerate(zip(centers, sizes)):
            for j, tr in enumerate(self._tracks):
                d = float(np.linalg.norm(c - tr.center)) / max(s, tr.size)
                if d < self.options.match_distance:
                    pairs.append((d, i, j))
        pairs.sort()
        chosen: dict[int, _Track] = {}
        used: set[int] = set()
        for _, i, j in pairs:
            if i in chosen or j in used:
                continue
            chosen[i] = self._tracks[j]
            used.add(j)
        result = []
        for i, face in enumerate(faces):
            tr = chosen.get(i)
            if tr is None:
                tr = self._new_track(face)
            tr.center, tr.size = centers[i], sizes[i]
            result.append(tr)
        return result


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
            log.debug("reference face found, %.0f px wide", _face_size(pts))
            return pts
    raise InputError(
        "no face found in the reference photo; use a well-lit, front-facing, unmasked photo of the same person"
    )


# --- region of interest ----------------------------------------------------------------------


def face_box(landmarks: np.ndarray, frame_shape: tuple[int, ...], margin: float = 0.25) -> Box:
    """A square-ish :class:`Box` around the face oval, grown by ``margin`` times its size on every
    side, clipped to the frame (``frame_shape`` is (H, W) or (H, W, C)). Never empty."""
    h, w = int(frame_shape[0]), int(frame_shape[1])
    pts = np.asarray(landmarks, dtype=np.float64)[list(landmark_sets.FACE_OVAL)]
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
    "OneEuroFilter",
    "FaceTracker",
    "detect_reference_landmarks",
    "face_box",
]
