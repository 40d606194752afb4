"""Synthetic masked test clips made from ``skimage.data.astronaut()``, with exact ground truth.

Used by the tests, ``unmask-video demo`` and the benchmarks: nothing is downloaded.

- :func:`draw_surgical_mask` draws a surgical mask on a face from its landmarks.
- :func:`make_clip` writes a short H.264 clip of the astronaut's moving head wearing a drawn mask (with an
  AAC tone track), a reference still of the unmasked face in another pose, and returns the truth
  (unmasked frames, drawn masks, exact landmarks of every frame).

The astronaut's landmarks are found once with FaceMesh (static mode) and moved with each frame's known
affine warp, so ``SyntheticClip.landmarks`` is exact with respect to the rendered frames.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from unmask_video import landmark_sets

log = logging.getLogger(__name__)

#: Colours of common masks (RGB).
LIGHT_BLUE = (200, 225, 235)
WHITE = (245, 245, 245)
BLACK = (30, 30, 35)

_CHIN = landmark_sets.CHIN
_BRIDGE = landmark_sets.UNDER_EYES[len(landmark_sets.UNDER_EYES) // 2]  # middle of the under-eye line: nose bridge
_EAR_LEFT, _EAR_RIGHT = landmark_sets.JAW[0], landmark_sets.JAW[-1]


@dataclass(frozen=True)
class MaskStyle:
    """How the drawn mask looks. ``pattern`` is ``None``, ``"stripes"`` or ``"dots"``. ``below_chin`` is how far
    the mask reaches under the chin (face heights); ``drop`` moves the whole mask down (face heights: 0.25 is
    a mask worn below the nose)."""

    color: tuple[int, int, int] = LIGHT_BLUE
    pleats: int = 3
    pattern: str | None = None
    below_chin: float = 0.06
    drop: float = 0.0


# --- drawing the mask -------------------------------------------------------------------------


def _chaikin(poly: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Round the corners of a closed polygon (corner cutting)."""
    for _ in range(iterations):
        nxt = np.roll(poly, -1, axis=0)
        poly = np.stack([0.75 * poly + 0.25 * nxt, 0.25 * poly + 0.75 * nxt], axis=1).reshape(-1, 2)
    return poly


def mask_outline(landmarks: np.ndarray, below_chin: float = 0.06, drop: float = 0.0) -> np.ndarray:
    """The outline (K, 2) float32 of a surgical mask worn on the face with these landmarks.

    Top edge across the nose bridge (landmark 197, so 195 and the rest of MASK_CORE are well inside) and
    0.05 face heights under the under-eye line over the cheeks, sides down the jaw from the ears, bottom
    along the jaw pushed up to ``below_chin`` face heights under the chin; corners rounded. With the defaults it
    covers most of the MASK_REGION polygon and lies almost all inside it, the rest close to its edge
    (tests/test_synthetic.py). ``drop`` moves the top edge down by that many face heights (a mask worn low).
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    bridge, chin = pts[_BRIDGE], pts[_CHIN]
    down = chin - bridge
    face_h = float(np.linalg.norm(down)) + 1e-6
    down /= face_h
    jaw = pts[landmark_sets.index(landmark_sets.JAW)]
    top = pts[landmark_sets.index(landmark_sets.UNDER_EYES)]
    center = jaw.mean(axis=0)
    # Bottom: the jaw pushed outwards, most under the chin (0.06 face heights), not at the ears.
    n = len(jaw)
    weight = np.sin(np.linspace(0.0, math.pi, n)) ** 2
    out = jaw - center
    out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-6
    jaw = jaw + out * (below_chin * face_h * weight)[:, None]
    # Top: under the eyes, lowered by 0.05 face heights at the cheeks, rising to the nose bridge.
    m = len(top)
    lowered = 0.05 - 0.05 * np.exp(-((np.arange(m) - (m - 1) / 2) ** 2) / 2.0)
    top = top + down[None, :] * ((lowered + drop) * face_h)[:, None]
    poly = np.concatenate([jaw, top], axis=0)
    return _chaikin(poly, 2).astype(np.float32)


def _face_frame(landmarks: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Face-aligned coordinates of every pixel of ``box`` (x0, y0, x1, y1): ``u`` across (-1 at one
    ear, 1 at the other), ``v`` down (0 at the mask's top edge at the nose, 1 at the chin)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    bridge, chin = pts[_BRIDGE], pts[_CHIN]
    left, right = pts[_EAR_LEFT], pts[_EAR_RIGHT]
    down = chin - bridge
    face_h = float(np.linalg.norm(down)) + 1e-6
    down /= face_h
    across = np.array([-down[1], down[0]])
    if np.dot(across, right - left) < 0:
        across = -across
    half_w = 0.5 * float(np.linalg.norm(right - left)) + 1e-6
    mid = 0.5 * (left + right)
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u = ((xx - mid[0]) * across[0] + (yy - mid[1]) * across[1]) / half_w
    v = ((xx - bridge[0]) * down[0] + (yy - bridge[1]) * down[1]) / face_h
    return u.astype(np.float32), v.astype(np.float32)


# Patterns are milder than many real prints: FaceMesh loses many faces behind bold, coarse patterns
# (stronger stripes at half this frequency).
_STRIPE_FREQ = 10.0  # stripes per face height
_STRIPE_CONTRAST = 0.2
_DOT_CONTRAST = 0.3


def _pattern(pattern: str | None, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The printed pattern as a brightness factor in (0, 1] over face coordinates ``u``, ``v``."""
    if pattern is None:
        return np.ones_like(u)
    if pattern == "stripes":  # diagonal stripes
        stripe = (np.sin((u * 0.8 + v) * 2 * math.pi * _STRIPE_FREQ) > 0.4).astype(np.float32)
        return 1.0 - _STRIPE_CONTRAST * cv2.GaussianBlur(stripe, (0, 0), 0.7)
    if pattern == "dots":  # a grid of small dots
        du = (u * 6.0) % 1.0 - 0.5
        dv = (v * 7.0) % 1.0 - 0.5
        return 1.0 - _DOT_CONTRAST * np.clip((0.22 - np.sqrt(du**2 + dv**2)) * 20.0, 0.0, 1.0)
    raise ValueError(f"unknown mask pattern {pattern!r}; use None, 'stripes' or 'dots'")


def draw_surgical_mask(
    image: np.ndarray, landmarks: np.ndarray, style: MaskStyle = MaskStyle()
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a surgical mask on the face with these landmarks.

    Returns ``(masked image uint8 (H, W, 3), drawn mask float32 (H, W) in {0, 1})``. The mask has an
    antialiased edge, a hem, ``style.pleats`` pleats (lighter fold tops with a shadow line under them),
    shading darker towards the sides, a faint weave and optionally a pattern.
    """
    h, w = image.shape[:2]
    outline = mask_outline(landmarks, style.below_chin, style.drop)
    binary = np.zeros((h, w), np.float32)
    # Work in the outline's bounding box only: the cost does not grow with the frame.
    x0, y0 = np.floor(outline.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return image.copy(), binary
    shift = 4
    poly = np.round((outline - np.array([x0, y0], np.float32)) * (1 << shift)).astype(np.int32)
    cover = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(cover, [poly], 255, lineType=cv2.LINE_AA, shift=shift)
    alpha = cover.astype(np.float32) / 255.0
    binary[y0:y1, x0:x1] = alpha >= 0.5
    if not binary.any():
        return image.copy(), binary

    u, v = _face_frame(landmarks, (x0, y0, x1, y1))
    shade = 1.0 - 0.12 * np.clip(u, -1.5, 1.5) ** 2  # the mask turns away from the light at the sides
    shade += 0.04 * (0.5 - np.clip(v, 0.0, 1.0))  # a little lighter at the top
    bowed = v + 0.06 * u**2  # pleats bow down towards the ears
    for k in range(style.pleats):
        p = 0.25 + 0.5 * (k + 0.5) / max(style.pleats, 1)
        d = bowed - p
        shade += 0.06 * np.exp(-((d + 0.03) ** 2) / (2 * 0.025**2))  # lit top of the fold
        shade -= 0.16 * np.exp(-((d - 0.012) ** 2) / (2 * 0.008**2))  # shadow line under it
    shade += 0.015 * np.sin(u * 90.0) * np.sin(v * 90.0)  # faint weave
    color = np.asarray(style.color, np.float32)[None, None, :] * np.ones(u.shape + (1,), np.float32)
    color = color * _pattern(style.pattern, u, v)[..., None]
    # Hem: a slightly darker band along the edge.
    dist = cv2.distanceTransform((cover >= 128).astype(np.uint8), cv2.DIST_L2, 3)
    face_w = float(np.ptp(np.asarray(landmarks)[:, 0])) + 1.0
    shade -= 0.05 * np.exp(-dist / max(0.02 * face_w, 1.0))
    rgb = np.clip(color * shade[..., None], 0, 255)
    a = alpha[..., None]
    out = image.copy()
    crop = image[y0:y1, x0:x1].astype(np.float32) * (1.0 - a) + rgb * a
    out[y0:y1, x0:x1] = np.clip(np.round(crop), 0, 255).astype(np.uint8)
    return out, binary


def draw_finger(
    image: np.ndarray,
    landmarks: np.ndarray,
    color: tuple[int, int, int] = (205, 150, 125),
    width: float = 0.11,
    length: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a finger (a shaded skin-coloured capsule ``width`` face widths wide, ``length`` long) pointing up
    to beside the mouth, in front of whatever is there: the default reaches up from below the chin, a short one
    (0.15) lies wholly on a worn mask. Returns ``(image uint8, finger mask float32 {0, 1})``."""
    pts = np.asarray(landmarks, dtype=np.float64)
    face_w = float(np.ptp(pts[landmark_sets.index(landmark_sets.FACE_OVAL)][:, 0])) + 1.0
    tip = pts[landmark_sets.MOUTH[0]] * 0.5 + pts[_CHIN] * 0.5 + np.array([0.12 * face_w, -0.08 * face_w])
    base = tip + np.array([0.05 * face_w, length * face_w])
    h, w = image.shape[:2]
    finger = np.zeros((h, w), np.uint8)
    r = max(int(round(width * face_w / 2)), 1)
    cv2.line(finger, tuple(int(v) for v in np.round(tip)), tuple(int(v) for v in np.round(base)), 255, 2 * r)
    cv2.circle(finger, tuple(int(v) for v in np.round(tip)), r, 255, -1)
    dist = cv2.distanceTransform((finger > 0).astype(np.uint8), cv2.DIST_L2, 3)
    shade = 0.75 + 0.25 * np.clip(dist / max(r, 1), 0.0, 1.0)  # rounder: darker at its sides
    out = image.copy()
    on = finger > 0
    out[on] = np.clip(np.asarray(color, np.float32)[None, :] * shade[on][:, None], 0, 255).astype(np.uint8)
    return out, on.astype(np.float32)


# --- clips --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipSpec:
    """What :func:`make_clip` renders. ``size`` is (W, H), both even. ``motion`` scales the head
    motion (0 = still). ``audio_hz`` is the frequency of a sine tone written as an AAC track (None = no
    audio). ``face_width`` is the face width as a fraction of the frame width."""

    frames: int = 30
    fps: int = 25
    size: tuple[int, int] = (320, 320)
    style: MaskStyle = MaskStyle()
    motion: float = 1.0
    audio_hz: float | None = 440.0
    seed: int = 0
    face_width: float = 0.4
    crf: int = 12
    mask_frames: tuple[int, int] | None = None  # only frames [start, end) wear the mask (None: all of them)


@dataclass
class SyntheticClip:
    """A rendered clip and its ground truth (N frames of H x W)."""

    video_path: Path  # H.264 (libx264, yuv420p) MP4 of the masked frames, AAC tone if spec.audio_hz
    reference_path: Path  # PNG of the unmasked face in another pose, with a mild colour change
    truth: np.ndarray  # (N, H, W, 3) uint8, the unmasked frames
    masks: np.ndarray  # (N, H, W) float32 in {0, 1}, the drawn masks
    landmarks: np.ndarray  # (N, 468, 2) float32, exact landmarks of every frame
    pts: list[int]  # presentation timestamps of the frames in the file, in ``time_base`` units
    time_base: Fraction
    masked: np.ndarray  # (N, H, W, 3) uint8, the masked frames before encoding
    reference: np.ndarray  # (h, w, 3) uint8, the reference image as written
    reference_landmarks: np.ndarray  # (468, 2) float32, exact landmarks of the reference
    spec: ClipSpec = field(default_factory=ClipSpec)

    @property
    def times(self) -> list[float]:
        """Frame times in seconds."""
        return [float(p * self.time_base) for p in self.pts]

    def __len__(self) -> int:
        return len(self.truth)


@functools.lru_cache(maxsize=1)
def astronaut_landmarks() -> tuple[np.ndarray, np.ndarray]:
    """``(astronaut image, its FaceMesh landmarks)``: found once per process, static mode."""
    from skimage.data import astronaut

    from unmask_video.landmarks import detect_reference_landmarks

    img = np.ascontiguousarray(astronaut())
    pts = detect_reference_landmarks(img)
    img.setflags(write=False)
    pts.setflags(write=False)
    return img, pts


def _affine(angle_deg: float, scale: float, center: np.ndarray, to: np.ndarray) -> np.ndarray:
    """2x3 matrix: rotate by ``angle_deg`` and scale about ``center``, then move ``center`` to ``to``."""
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle_deg, scale)
    m[:, 2] += np.asarray(to, np.float64) - np.asarray(center, np.float64)
    return m


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 2x3 affine ``a`` after ``b``."""
    a3 = np.vstack([a, [0, 0, 1]])
    b3 = np.vstack([b, [0, 0, 1]])
    return (a3 @ b3)[:2]


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return (np.asarray(pts, np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def _base_transform(size: tuple[int, int], face_width: float) -> np.ndarray:
    """Astronaut -> frame: the face ``face_width`` of the frame width, a little above the centre."""
    _, pts = astronaut_landmarks()
    w, h = size
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = face_width * w / float(hi[0] - lo[0])
    center = (lo + hi) / 2.0
    return _affine(0.0, scale, center, np.array([w / 2.0, h * 0.47]))


def _render(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    img, _ = astronaut_landmarks()
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _motion(spec: ClipSpec, i: int, center: np.ndarray) -> np.ndarray:
    """The head motion of frame ``i``: smooth rotation, scale and translation (in the frame)."""
    rng = np.random.default_rng(spec.seed)
    phase = rng.uniform(0, 2 * math.pi, 4)
    freq = rng.uniform(0.35, 0.6, 4)
    t = i / spec.fps
    w, h = spec.size
    a = spec.motion
    angle = a * 6.0 * math.sin(2 * math.pi * freq[0] * t + phase[0])
    scale = 1.0 + a * 0.06 * math.sin(2 * math.pi * freq[1] * t + phase[1])
    dx = a * 0.05 * w * math.sin(2 * math.pi * freq[2] * t + phase[2])
    dy = a * 0.035 * h * math.sin(2 * math.pi * freq[3] * t + phase[3])
    return _affine(angle, scale, center, center + np.array([dx, dy]))


def make_reference(size: tuple[int, int] = (320, 320), face_width: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """The unmasked astronaut in another pose (turned 7 degrees, 8 % smaller, shifted) with warmer,
    slightly brighter colours. Returns ``(image uint8, exact landmarks (468, 2) float32)``."""
    _, pts = astronaut_landmarks()
    base = _base_transform(size, face_width)
    w, h = size
    center = np.array([w / 2.0, h * 0.47])
    pose = _affine(-7.0, 0.92, center, center + np.array([0.03 * w, 0.02 * h]))
    m = _compose(pose, base)
    img = _render(m, size).astype(np.float32)
    img = 255.0 * (img / 255.0) ** 0.92  # a little brighter
    img *= np.array([1.05, 1.0, 0.93], np.float32)  # warmer
    return np.clip(np.round(img), 0, 255).astype(np.uint8), _apply(m, pts)


def _write_video(path: Path, frames: np.ndarray, spec: ClipSpec) -> tuple[list[int], Fraction]:
    import av

    from unmask_video.io import AudioTrack, EncodeOptions, write_clip

    n = len(frames)
    audio = None
    if spec.audio_hz is not None:
        rate = 48000
        total = int(round(n / spec.fps * rate))
        tone = (0.2 * np.sin(2 * math.pi * spec.audio_hz * np.arange(total) / rate)).astype(np.float32)
        audio = (AudioTrack("aac", rate, "mono"), tone[None])
    # (with veryfast's own B-frames: the clips the tests and benchmarks decode keep frames to reorder, as before the
    # writer's default became none; the writer leaves out x264's macroblock tree with them, so the bytes depend on
    # the frames alone)
    write_clip(path, frames, spec.fps, EncodeOptions(crf=spec.crf, preset="veryfast", bframes=None), audio=audio)
    with av.open(str(path)) as inp:
        stream = inp.streams.video[0]
        pts = sorted(p.pts for p in inp.demux(stream) if p.pts is not None)
        time_base = stream.time_base
    if len(pts) != n:
        raise RuntimeError(f"wrote {n} frames to {path} but the file holds {len(pts)}")
    return pts, time_base


def make_clip(out_dir: Path, spec: ClipSpec = ClipSpec()) -> SyntheticClip:
    """Render ``spec`` into ``out_dir`` (``clip.mp4`` and ``reference.png``, names derived from the
    spec so several clips can share a folder) and return the clip with its ground truth."""
    w, h = spec.size
    if w % 2 or h % 2 or w < 64 or h < 64:
        raise ValueError(f"clip size must be even and at least 64x64, got {spec.size}")
    if spec.frames < 1:
        raise ValueError("a clip needs at least one frame")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _, pts0 = astronaut_landmarks()
    base = _base_transform(spec.size, spec.face_width)
    center = np.array([w / 2.0, h * 0.47])
    truth = np.empty((spec.frames, h, w, 3), np.uint8)
    masked = np.empty_like(truth)
    masks = np.empty((spec.frames, h, w), np.float32)
    lms = np.empty((spec.frames, landmark_sets.NUM_LANDMARKS, 2), np.float32)
    for i in range(spec.frames):
        m = _compose(_motion(spec, i, center), base)
        truth[i] = _render(m, spec.size)
        lms[i] = _apply(m, pts0)
        if spec.mask_frames is None or spec.mask_frames[0] <= i < spec.mask_frames[1]:
            masked[i], masks[i] = draw_surgical_mask(truth[i], lms[i], spec.style)
        else:
            masked[i], masks[i] = truth[i], 0.0
    tag = hashlib.sha1(repr(spec).encode()).hexdigest()[:10]
    video_path = out_dir / f"clip_{tag}.mp4"
    reference_path = out_dir / f"reference_{tag}.png"
    pts, time_base = _write_video(video_path, masked, spec)
    reference, ref_lms = make_reference(spec.size, spec.face_width)
    cv2.imwrite(str(reference_path), cv2.cvtColor(reference, cv2.COLOR_RGB2BGR))
    log.debug("wrote %s (%d frames) and %s", video_path, spec.frames, reference_path)
    return SyntheticClip(
        video_path=video_path,
        reference_path=reference_path,
        truth=truth,
        masks=masks,
        landmarks=lms,
        pts=pts,
        time_base=time_base,
        masked=masked,
        reference=reference,
        reference_landmarks=ref_lms,
        spec=spec,
    )


__all__ = [
    "MaskStyle",
    "ClipSpec",
    "SyntheticClip",
    "draw_surgical_mask",
    "draw_finger",
    "mask_outline",
    "make_clip",
    "make_reference",
    "astronaut_landmarks",
    "LIGHT_BLUE",
    "WHITE",
    "BLACK",
]
