"""Quality on real talking-head clips with realistic drawn masks (ground truth known), per clip and overall.

    python -m benchmarks.quality [--frames 60] [--clips 8] [--small-faces] [--generator none]
                                 [--sheet SHEET.png] [--relit] [--elsewhere] [--turned] [--cast-parts]

For each clip in ../shared/data/videos/talking (and ../shared/data/videos/small_faces with --small-faces):
landmarks found on the unmasked frames, a varied realistic mask drawn from them (benchmarks.drawn_masks: up to
the nose bridge or below the nose, 0.15-0.3 face heights below the chin, shaded fabrics and prints, a hand
passing in front on some clips; never over the clip's letterbox bars), frame 0 (unmasked) used as the reference still,
frames from 1 on evaluated.

Methods, all in this run: the masked input; cv2.inpaint (Telea) frame by frame with the TRUE mask; ours with
the TRUE mask (the pipeline's own tracker on the masked frames, the segmenter replaced by the truth: isolates
warp + reconstruction + blend); ours end to end (the product's segmenter).

Reported inside the drawn mask's outline (:func:`scored`: the true mask, and the pixels of a hand passing in front of
the mask, which are no mask: the input is right there and must stay as it is): PSNR and SSIM against the truth, colour
cast (distance between the mean Lab colour of output and truth, per frame, averaged), and the temporal error TDE = mean
over frames and those pixels of |(out_t - out_t-1) - (truth_t - truth_t-1)| (flicker only); mask IoU (against the
true mask) for the end-to-end run. With --relit,
ours also runs with the reference still relit (:func:`relight`: another white balance, exposure, gamma, side light and
saturation, drawn per clip from a seeded range), so that the cast and PSNR show what a photo in other light gives; with
--elsewhere also with the relit still and the warp's same-place carry off (a photo taken elsewhere: nothing of its
surroundings is carried beside the face, and the colour match sees the frame's own background and clothes); with
--turned also with a reference in another pose: the clip's bare frame, from past the evaluated ones, whose head pose
(:func:`head_pose`: yaw and pitch from the landmarks) differs most from the evaluated frames', relit and with the
same-place carry off as for --elsewhere (a photo taken elsewhere in another pose, its face's shape never matching the
frame's: the truth is still known). With --cast-parts, where the cast comes from, per clip, for ours with the true
mask (:func:`cast_parts`: the pixels the warp covers against those filled, and the mask's top, middle and bottom
thirds). On
clips of 720 lines or more, the per-face milliseconds of warp, reconstruction and blend on one core. A
contact sheet (masked / Telea / ours / truth crops for a few frames of each clip) is written as a PNG:
look at it before believing the figures (by default a new file in the temp folder per run, named with the time and
the process id, so that runs side by side do not overwrite each other's). Skips with a message when ../shared is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.drawn_masks import DrawnMask, draw_frame, mask_plan  # noqa: E402
from unmask_video import landmark_sets  # noqa: E402
from unmask_video.below_jaw import neck_region  # noqa: E402
from unmask_video.blend import BlendOptions, mask_bbox  # noqa: E402
from unmask_video.face_axes import neck_column  # noqa: E402
from unmask_video.face_shape import face_region, yaw  # noqa: E402
from unmask_video.face_units import FaceLength, face_size_px  # noqa: E402
from unmask_video.landmarks import FaceTracker, TrackerOptions, face_box  # noqa: E402
from unmask_video.metrics import iou, psnr_in_mask, ssim_in_mask, temporal_error  # noqa: E402
from unmask_video.native_log import filter_native_stderr  # noqa: E402
from unmask_video.pipeline import FramePipeline, PipelineOptions  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor  # noqa: E402
from unmask_video.reference_picture import picture_box  # noqa: E402
from unmask_video.repeat_frames import RepeatDetector  # noqa: E402
from unmask_video.stages import FaceROI, WorkFace  # noqa: E402
from unmask_video.timing import StageTimer  # noqa: E402
from unmask_video.io import VideoReader  # noqa: E402
from unmask_video.work_face import shrink_face  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"
MASKED, TELEA, OURS_TRUE, OURS_E2E = "masked input", "Telea (true mask)", "ours (true mask)", "ours (segmenter)"
METHODS = (MASKED, TELEA, OURS_TRUE, OURS_E2E)
#: With --relit: ours run again with the reference still in another light (see :func:`relight`).
RELIT_TRUE, RELIT_E2E = "ours (true mask), relit reference", "ours (segmenter), relit reference"
#: With --elsewhere: ours with the relit reference and the warp's same-place carry off (the reference's surroundings
#: past its face never carried, as for a photo taken elsewhere: the benchmark's reference is a frame of the same clip,
#: so its wall and clothes would otherwise be carried beside the face and the ring around the mask would show them).
ELSEWHERE_TRUE = "ours (true mask), reference from elsewhere"
#: With --turned: as --elsewhere, the reference being the clip's bare frame in the pose most unlike the evaluated
#: frames' (:func:`turned_reference`).
TURNED_TRUE = "ours (true mask), turned reference from elsewhere"
#: With --turned, at most this many frames past the evaluated ones are searched for the most turned one.
TURNED_SCAN = 300
TIMED_STAGES = ("warp", "reconstruct", "blend")
#: The timer count of the faces rebuilt (the "blend" stage is entered twice per face: the steady input, the blend).
FACES = "faces rebuilt"


@dataclass
class Scores:
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    cast: list[float] = field(default_factory=list)
    tde: list[float] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)

    def extend(self, other: "Scores") -> None:
        for name in ("psnr", "ssim", "cast", "tde", "iou"):
            getattr(self, name).extend(getattr(other, name))


class _Pipeline(FramePipeline):
    """The product pipeline; with ``given`` set, the segmenter is replaced by that full-frame mask.
    Keeps the full-frame mask it used (for IoU)."""

    given: np.ndarray | None = None
    last_mask: np.ndarray | None = None
    #: Where the warped reference covered the last frame's face (full frame; the rest of the hole is filled).
    last_valid: np.ndarray | None = None

    def _face_roi(self, image, landmarks, face_id, frame_index) -> FaceROI | None:  # type: ignore[override]
        full: WorkFace | None = None
        if self.given is None:
            roi = super()._face_roi(image, landmarks, face_id, frame_index)
            if roi is None:  # the mask presence decision said "no mask": the face passes through untouched
                self.last_mask = np.zeros(image.shape[:2], np.float32)
                self.last_valid = np.zeros(image.shape[:2], bool)
                return None
        else:
            box = face_box(landmarks, image.shape[:2], self.options.box_margin)
            roi_landmarks = (landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
            roi_image = image[box.slices]
            mask = np.ascontiguousarray(self.given[box.slices], dtype=np.float32)
            tight = mask_bbox(mask > 0, 0, mask.shape)
            if WORK_TRUE[0] and tight is not None:
                # (--work-true: a face wider than ``work_face_px`` goes through the chain at the working size, as
                # the product's ``_face_roi`` sends it after its segmenter)
                scale, rescaled = self._work.scale(face_id, face_size_px(roi_landmarks))
                if rescaled:
                    self.warper.reset(face_id)
                if scale is not None:
                    crop = self._work_crop(box, roi_landmarks, tight, landmarks, image.shape[:2], scale)
                    roi_image, roi_landmarks, mask, box, tight, full = shrink_face(
                        roi_image, roi_landmarks, mask, box, tight, crop, scale)  # fmt: skip
            with self.timer("warp"):
                warped = self.warper.warp(roi_landmarks, mask.shape, self._warp_region(tight, roi_landmarks), track=face_id,
                                          image=roi_image, mask=mask, origin=(box.x0, box.y0))
            roi = FaceROI(box, roi_image, roi_landmarks, mask, warped.image, warped.valid, mask_box=tight, full=full,
                          reference_yaw=self.warper.reference_yaw, reference_jaw=self.warper.reference_jaw,
                          reference_shade=self.warper.reference_shade, reference_lips=warped.lips)
        full = roi.full
        self.last_mask = np.zeros(image.shape[:2], np.float32)
        self.last_valid = np.zeros(image.shape[:2], bool)
        if full is None:
            self.last_mask[roi.box.slices] = roi.mask
            self.last_valid[roi.box.slices] = roi.valid
        else:  # (at a working size: the full-size mask, and where the warp covered grown back to full size)
            self.last_mask[full.box.slices] = full.mask
            grown = cv2.resize(roi.valid.astype(np.uint8), (full.crop[1].stop - full.crop[1].start,
                                                            full.crop[0].stop - full.crop[0].start),
                               interpolation=cv2.INTER_NEAREST)  # fmt: skip
            self.last_valid[full.box.slices][full.crop] = grown > 0
        return roi


@dataclass
class Clip:
    name: str
    spec: DrawnMask
    truth: list[np.ndarray]
    masked: list[np.ndarray]
    masks: list[np.ndarray]
    landmarks: list[np.ndarray]
    #: Per frame, bool (H, W): a hand's pixels in front of the mask (:attr:`drawn_masks.DrawnFrame.front`; empty: none).
    fronts: list[np.ndarray] = field(default_factory=list)


def scored(clip: Clip, t: int) -> np.ndarray:
    """Where frame ``t`` is scored, bool (H, W): the true mask, and the pixels of a hand in front of the mask (the
    input is right there: a method must keep them as they are, not rebuild the face behind them)."""
    region = clip.masks[t] > 0.5
    return region | clip.fronts[t] if t < len(clip.fronts) else region


def load_clip(path: Path, frames: int, index: int, duplicates: bool = False) -> Clip:
    """The clip's first ``frames`` frames with a face, masked. ``duplicates``: a frame that repeats the one before
    (a duplicated source frame, :mod:`unmask_video.repeat_frames`) repeats its drawn mask and hand too, as a
    duplicated frame of a masked video does (otherwise they are drawn anew from the landmarks FaceMesh finds on it,
    which move by a pixel or so)."""
    spec = mask_plan(index, frames)
    clip = Clip(path.stem, spec, [], [], [], [])
    tracker = FaceTracker(TrackerOptions(smoothing=False))
    repeats = RepeatDetector()
    with VideoReader(str(path)) as reader:
        for frame in _frames(reader):
            if len(clip.truth) >= frames:
                break
            faces = tracker.track(frame.image, frame.time_s)
            if not faces:
                continue
            masked, truth, mask, front = draw_frame(frame.image, faces[0], spec, len(clip.truth))
            if len(clip.truth) == 0:  # the reference still: no mask, no hand
                masked, truth, mask = frame.image, frame.image, np.zeros(mask.shape, np.float32)
                front = np.zeros(mask.shape, bool)
                bars = np.ones(mask.shape, bool)
                x0, y0, x1, y1 = picture_box(frame.image)
                bars[y0:y1, x0:x1] = False
            elif bars.any():
                # A mask is worn in the picture, not over the clip's letterbox bars (they stay black).
                mask = np.where(bars, 0.0, mask).astype(np.float32)
                front &= ~bars
                masked = np.where(bars[..., None], truth, masked)
            if duplicates and repeats.repeats(truth) and len(clip.truth) > 1:
                # (the drawing of the frame repeated, over this frame's own decoded pixels)
                drawn = clip.masked[-1].astype(np.int16) - clip.truth[-1]
                masked = np.clip(truth + drawn, 0, 255).astype(np.uint8)
                mask, front, faces = clip.masks[-1], clip.fronts[-1], [clip.landmarks[-1]]
            clip.truth.append(truth)
            clip.masked.append(masked)
            clip.masks.append(mask)
            clip.fronts.append(front)
            clip.landmarks.append(faces[0])
    tracker.close()
    return clip


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """(yaw, pitch) of a face from its landmarks, both about -0.2..0.2: yaw as :func:`unmask_video.warp.yaw`, pitch
    where the nose tip lies between the eyes' line and the chin, down the face, minus one half (a face looking down
    puts its nose tip lower)."""
    pts = np.asarray(landmarks, np.float64)
    eyes = pts[list(landmark_sets.UPPER_FACE)].mean(axis=0)
    top, chin = (pts[i] for i in landmark_sets.FACE_HEIGHT)
    down = chin - top
    down /= max(float(np.hypot(*down)), 1e-9)
    span = max(float((pts[landmark_sets.CHIN] - eyes) @ down), 1e-9)
    return np.array([yaw(pts), float((pts[landmark_sets.NOSE_TIP] - eyes) @ down) / span - 0.5])


def turned_reference(path: Path, clip: Clip, scan: int = TURNED_SCAN) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(image, landmarks, frame index) of the clip's bare frame, among at most ``scan`` frames past the evaluated
    ones, whose head pose (:func:`head_pose`) lies farthest from the evaluated frames' (mean distance); None when the
    clip has no frame with a face past them."""
    seen = np.array([head_pose(lm) for lm in clip.landmarks[1:]])
    tracker = FaceTracker(TrackerOptions(smoothing=False))
    best: tuple[float, np.ndarray, np.ndarray, int] | None = None
    with VideoReader(str(path)) as reader:
        for index, frame in enumerate(_frames(reader)):
            if index < len(clip.truth):
                continue
            if index >= len(clip.truth) + scan:
                break
            faces = tracker.track(frame.image, frame.time_s)
            if not faces:
                continue
            far = float(np.mean(np.hypot(*(seen - head_pose(faces[0])).T)))
            if best is None or far > best[0]:
                best = (far, frame.image.copy(), faces[0], index)
    tracker.close()
    return None if best is None else best[1:]


#: With --swap-background, the reference's surroundings are replaced from this far past its face oval (face heights)
#: and outside the neck's column below the jaw. The warp may carry a band past the outline (``outline_reach``): a wider
#: margin would keep the reference's own wall there, and a carried wall would not show.
SWAP_HEAD_MARGIN = 0.0


def swap_background(image: np.ndarray, landmarks: np.ndarray, seed: int) -> np.ndarray:
    """``image`` (the reference still) with everything outside its head (its face oval grown by
    :data:`SWAP_HEAD_MARGIN` face heights, and the neck's column from the jaw down) replaced by a seeded texture: a
    colour of its own per ``seed`` (some of them skin-like: tan, orange, brown) with soft blotches and fine grain.
    The benchmark's reference is a frame of the same clip, so the reference's wall IS the frame's wall and carrying
    it looks right; in real use the reference is taken elsewhere, and with the swap a carried wall shows as an error."""
    rng = np.random.default_rng(1000 + seed)
    h, w = image.shape[:2]
    pts = np.asarray(landmarks, np.float64)
    top, chin = (pts[i] for i in landmark_sets.FACE_HEIGHT)
    height = float(np.hypot(*(chin - top)))
    grow = max(int(round(SWAP_HEAD_MARGIN * height)), 0)
    head = cv2.dilate(face_region((h, w), pts, antialiased=False),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    below = np.zeros((h, w), np.uint8)
    jaw_y = int(pts[list(landmark_sets.LOWER_JAW), 1].max())
    below[min(max(jaw_y - grow, 0), h):] = 255
    head |= neck_column((h, w), pts) & (below | neck_region((h, w), pts, 0.4))
    colour = rng.uniform(40, 225, 3)
    if seed % 2 == 0:  # every other clip a skin-like colour: the hardest case for a colour test
        colour = np.array([rng.uniform(170, 230), rng.uniform(110, 160), rng.uniform(60, 110)])
    shade = rng.normal(0, 14, (6, 6, 1)) + rng.normal(0, 4, (6, 6, 3))  # mostly lightness, a little hue
    blotch = cv2.resize(shade.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    texture = np.clip(colour[None, None, :] + blotch + grain, 0, 255).astype(np.uint8)
    return np.where(head[..., None] > 0, image, texture)


def _crop(mask: np.ndarray, margin: int = 8) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask > 0.5)
    h, w = mask.shape
    return (slice(max(ys.min() - margin, 0), min(ys.max() + 1 + margin, h)),
            slice(max(xs.min() - margin, 0), min(xs.max() + 1 + margin, w)))


def _mean_lab(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    px = image[region].reshape(1, -1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(px, cv2.COLOR_RGB2Lab).reshape(-1, 3).mean(axis=0)


def evaluate(clip: Clip, outputs: list[np.ndarray]) -> Scores:
    """Per frame (from 1 on), on the pixels :func:`scored` gives."""
    scores = Scores()
    for t in range(1, len(clip.truth)):
        mask = scored(clip, t)
        if not mask.any():
            continue
        c = _crop(mask)
        out, truth, region = outputs[t][c], clip.truth[t][c], mask[c]
        scores.psnr.append(psnr_in_mask(out, truth, region))
        scores.ssim.append(ssim_in_mask(out, truth, region))
        scores.cast.append(float(np.linalg.norm(_mean_lab(out, region) - _mean_lab(truth, region))))
        if t > 1:
            union = mask | scored(clip, t - 1)
            scores.tde.append(
                temporal_error(outputs[t - 1], outputs[t], clip.truth[t - 1], clip.truth[t], union)
            )
    return scores


#: The parts of the true mask the cast is split into by :func:`cast_parts` (--cast-parts).
CAST_PARTS = ("warped", "filled", "top", "middle", "bottom")


def cast_parts(clip: Clip, outputs: list[np.ndarray], valids: list[np.ndarray]) -> tuple[dict[str, np.ndarray], float]:
    """Where the colour cast comes from: the mean Lab difference (output minus truth; (3,) L, a, b, averaged over the
    frames where the part is not empty) over the parts of the true mask in :data:`CAST_PARTS`: the pixels the warped
    reference covers (``valids``, full-frame bool per frame, as ``outputs``) and those filled (the warp does not reach
    them), and the top, middle and bottom thirds of the mask's rows. Also the filled share of the mask (mean over
    frames). A cast on the warped pixels spread over the mask is the colour match's; one on the filled pixels the fill's;
    one on the bottom third only is most often the geometry (a jaw, a neck or a collar in another place than the
    truth's)."""
    sums = {part: [] for part in CAST_PARTS}
    shares = []
    for t in range(1, len(clip.truth)):
        region = clip.masks[t] > 0.5
        if not region.any():
            continue
        c = _crop(clip.masks[t])
        region, valid = region[c], valids[t][c]
        lab_out = cv2.cvtColor(outputs[t][c].astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        lab_truth = cv2.cvtColor(clip.truth[t][c].astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        diff = lab_out - lab_truth
        rows = np.flatnonzero(region.any(axis=1))
        cuts = np.linspace(rows[0], rows[-1] + 1, 4).round().astype(int)
        bands = np.zeros(region.shape, np.int8)
        bands[cuts[1]:cuts[2]], bands[cuts[2]:] = 1, 2
        where = {"warped": region & valid, "filled": region & ~valid,
                 "top": region & (bands == 0), "middle": region & (bands == 1), "bottom": region & (bands == 2)}
        for part, sel in where.items():
            if sel.any():
                sums[part].append(diff[sel].mean(axis=0))
        shares.append(float(np.count_nonzero(region & ~valid)) / float(np.count_nonzero(region)))
    means = {part: (np.mean(v, axis=0) if v else np.full(3, np.nan)) for part, v in sums.items()}
    return means, float(np.mean(shares)) if shares else float("nan")


#: With --smoothing-variants, the end-to-end run also with: (name, landmark smoothing, mask smoothing).
SMOOTHING_VARIANTS = (
    ("ours (segmenter), no landmark smoothing", False, False),
    ("ours (segmenter), landmark + mask smoothing", True, True),
)


#: WarpOptions fields set with --warp (development: compare warp settings on the same clips).
WARP_OVERRIDES: dict[str, object] = {}
#: PipelineOptions fields set with --pipeline (development).
PIPELINE_OVERRIDES: dict[str, object] = {}
#: SegmentOptions fields set with --segment (development: e.g. the segmenter's every-N-frames knobs).
SEGMENT_OVERRIDES: dict[str, object] = {}
#: --work-true: the true-mask rows' faces wider than ``PipelineOptions.work_face_px`` go through the face chain at
#: the working size, as the segmenter's rows (and the command) do (default: every true-mask face at full size).
WORK_TRUE: list[bool] = [False]
#: --upscale: every clip's frames enlarged by this factor (cubic) when read, so that its faces pass a working size.
UPSCALE: list[float] = [1.0]


def _frames(reader: VideoReader):
    """The reader's frames, their images enlarged by ``UPSCALE`` (cubic; 1: as they are)."""
    for frame in reader.frames():
        if UPSCALE[0] != 1.0:
            frame.image = cv2.resize(frame.image, None, fx=UPSCALE[0], fy=UPSCALE[0], interpolation=cv2.INTER_CUBIC)
        yield frame


#: The blend mode (--blend; development).
BLEND_MODE: list[str] = ["feather"]
#: CompositeOptions fields set with --composite (development).
COMPOSITE_OVERRIDES: dict[str, object] = {}
#: BlendOptions fields set with --blend-options (development).
BLEND_OVERRIDES: dict[str, object] = {}


def parse_overrides(text: str, options: object, flag: str = "--warp") -> dict[str, object]:
    """``"a=1,b=0.5"`` -> {"a": 1, "b": 0.5}, each value converted to the type of ``options``'s field (``flag``: the
    command-line flag the text came from, named in the error for an unknown field)."""
    out: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if not hasattr(options, name):
            raise SystemExit(f"{flag}: {type(options).__name__} has no field {name!r}")
        current = getattr(options, name)
        if isinstance(current, bool):
            out[name] = value.lower() in ("1", "true", "yes")
        elif isinstance(current, FaceLength):  # "8" or "8/4": pixels at the reference face size [/ floor]
            at, _, floor = value.partition("/")
            out[name] = FaceLength(float(at), float(floor) if floor else current.floor_px)
        elif current is None or isinstance(current, float):
            out[name] = None if value.lower() == "none" else float(value)
        else:
            out[name] = type(current)(value)
    return out


def relight(image: np.ndarray, landmarks: np.ndarray, seed: int) -> np.ndarray:
    """``image`` (the reference still) as if taken in another light, by another camera: drawn from a seeded range,
    a white-balance shift (red and blue gains), an exposure gain and gamma, a side light (a linear gain ramp across
    the face, in a random direction) and a saturation change. What a user with a photo from elsewhere gives."""
    rng = np.random.default_rng(seed)
    rgb = image.astype(np.float32) / 255.0
    wb = np.exp(np.array([rng.uniform(-0.2, 0.2), 0.0, rng.uniform(-0.2, 0.2)], np.float32))
    exposure, gamma = float(np.exp(rng.uniform(-0.45, 0.3))), float(rng.uniform(0.75, 1.3))
    angle, strength = float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0.15, 0.35))
    saturation = float(rng.uniform(0.7, 1.4))
    h, w = image.shape[:2]
    centre = landmarks.mean(axis=0)
    width = max(float(np.ptp(landmarks[:, 0])), 1.0)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    along = ((xs - centre[0]) * np.cos(angle) + (ys - centre[1]) * np.sin(angle)) / width  # about -0.5..0.5 on the face
    side = np.clip(1.0 + 2.0 * strength * along, 0.3, 2.0)[..., None]
    rgb = np.clip(rgb * wb * exposure * side, 0.0, 1.0) ** gamma
    grey = rgb.mean(axis=2, keepdims=True)
    rgb = grey + saturation * (rgb - grey)
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def run_ours(
    clip: Clip, generator: str, true_mask: bool, landmark_smoothing: bool = True, mask_smoothing: bool = False,
    reference: np.ndarray | None = None, same_place: bool = True, valids: list[np.ndarray] | None = None,
) -> tuple[list[np.ndarray], list[float], StageTimer]:
    """Ours on the clip's masked frames: (outputs, mask IoUs (end to end only), stage timer). ``valids``: a list to
    append, per frame (the reference frame 0 included, empty), where the warped reference covered the face."""
    timer = StageTimer()
    options = replace(PipelineOptions(), **PIPELINE_OVERRIDES)
    options.warp = replace(options.warp, **WARP_OVERRIDES)
    options.segment = replace(options.segment, **SEGMENT_OVERRIDES)
    options.blend = replace(options.blend, mode=BLEND_MODE[0], **BLEND_OVERRIDES)
    options.tracker.smoothing = landmark_smoothing
    options.segment.temporal_smoothing = mask_smoothing
    reconstruction = ReconstructorOptions(generator=generator)
    reconstruction.composite = replace(reconstruction.composite, **COMPOSITE_OVERRIDES)
    pipeline = _Pipeline(clip.truth[0] if reference is None else reference, build_reconstructor(reconstruction), options, timer)
    if not same_place:
        # (the warp's test "the reference was taken where the frame is" answers no: only the reference's own face and
        # neck skin is carried, what is beside them filled from the frame)
        pipeline.warper._same_place.carried = lambda *args, **kwargs: None  # type: ignore[method-assign]
    pipeline.warmup()
    timer.reset()
    outputs, ious = [clip.masked[0]], []
    if valids is not None:
        valids.append(np.zeros(clip.masked[0].shape[:2], bool))
    for t in range(1, len(clip.masked)):
        held = (pipeline.last_mask, pipeline.last_valid)
        repeated = pipeline.stats.repeated_frames
        pipeline.last_mask = pipeline.last_valid = None
        pipeline.given = clip.masks[t] if true_mask else None
        # (blended into a copy in place, as the command's frame loop blends into its decoded frames: the copy, which
        # the command does not make, is not timed with the blend)
        frame = clip.masked[t].copy()
        outputs.append(pipeline.process_batch([frame], [t / 25], in_place=True)[0])
        if pipeline.stats.repeated_frames > repeated:  # a repeated frame: the frame it repeats gave its output
            pipeline.last_mask, pipeline.last_valid = held
        if valids is not None:
            covered = pipeline.last_valid
            valids.append(covered if covered is not None else np.zeros(clip.masked[t].shape[:2], bool))
        if not true_mask:
            ious.append(iou(pipeline.last_mask, clip.masks[t]) if pipeline.last_mask is not None else 0.0)
    pipeline.close()
    timer.calls[FACES] = pipeline.stats.faces  # (the faces the stages' seconds were spent on)
    return outputs, ious, timer


def _tile(image: np.ndarray, box: tuple[slice, slice], size: int) -> np.ndarray:
    return cv2.resize(image[box], (size, size), interpolation=cv2.INTER_AREA)


def sheet_rows(clip: Clip, results: dict[str, list[np.ndarray]], picks: int, size: int = 160) -> list[np.ndarray]:
    """Rows of the contact sheet: masked | Telea | ours (true mask) | ours (segmenter) [| ours relit (true mask)]
    [| ours, reference from elsewhere (true mask)] [| ours, turned reference (true mask)] | truth, ``picks``
    frames."""
    rows = []
    n = len(clip.truth)
    frames = sorted({int(round(k)) for k in np.linspace(1, n - 1, picks + 2)[1:-1]})
    hand = clip.spec.hand
    if hand is not None and hand.start + 4 < n:  # one frame with the hand in front, the others without
        clear = [t for t in range(1, n) if not hand.start <= t <= hand.end]
        frames = sorted({min(clear, key=lambda c: abs(c - t)) for t in frames[:-1]} | {hand.start + 4})
    for t in frames:
        box = face_box(clip.landmarks[t], clip.truth[t].shape[:2], 0.3)
        tiles = [_tile(clip.masked[t], box.slices, size)]
        shown = (TELEA, OURS_TRUE, OURS_E2E, RELIT_TRUE, ELSEWHERE_TRUE, TURNED_TRUE)
        tiles += [_tile(results[m][t], box.slices, size) for m in shown if m in results]
        tiles.append(_tile(clip.truth[t], box.slices, size))
        row = np.hstack(tiles)
        cv2.putText(row, f"{clip.name} f{t}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1, cv2.LINE_AA)
        rows.append(row)
    return rows


def parts_table(parts_rows: list[tuple[str, str, dict[str, np.ndarray], float]]) -> Table:
    """The --cast-parts table: per clip and method, the filled share of the mask and the mean Lab difference (output
    minus truth, L / a / b) on each of :data:`CAST_PARTS` (:func:`cast_parts`)."""
    table = Table(title="where the cast comes from (mean Lab difference, output minus truth, L / a / b)")
    for column in ("clip", "method", "filled %") + CAST_PARTS:
        table.add_column(column, justify="left" if column in ("clip", "method") else "right")
    last = None
    for name, method, means, share in parts_rows:
        cells = [" / ".join(f"{v:+.1f}" for v in means[part]) for part in CAST_PARTS]
        table.add_row(name if name != last else "", method, f"{100 * share:.1f}", *cells)
        last = name
    return table


def _fmt(s: Scores) -> list[str]:
    return [f"{np.mean(s.psnr):.2f}", f"{np.mean(s.ssim):.3f}", f"{np.mean(s.cast):.2f}", f"{np.mean(s.tde):.2f}",
            f"{np.mean(s.iou):.3f}" if s.iou else "-"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--small-faces", action="store_true", help="also the clips in videos/small_faces")
    parser.add_argument("--generator", default="none")
    parser.add_argument("--sheet", type=Path, default=None,
                        help="contact sheet PNG (default: unmask_quality_<time>_<pid>.png in the temp folder)")
    parser.add_argument("--sheet-frames", type=int, default=2, help="frames per clip on the contact sheet")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared videos folder")
    parser.add_argument("--smoothing-variants", action="store_true",
                        help="also end to end without landmark smoothing and with mask smoothing")
    parser.add_argument("--only", default="", help="comma-separated clip names (development: a subset)")
    parser.add_argument("--warp", default="", help="WarpOptions fields, e.g. 'jaw_from_reference=0.5,neck_reach=0' "
                        "(development: compare warp settings)")
    parser.add_argument("--pipeline", default="", help="PipelineOptions fields, e.g. 'box_margin=0.5' (development)")
    parser.add_argument("--segment", default="", help="SegmentOptions fields, e.g. 'move_frames=3,seed_frames=2' "
                        "(development)")
    parser.add_argument("--composite", default="", help="CompositeOptions fields, e.g. 'seam_sigma=0,ring=8/4' (face lengths: px at a 300 px face[/floor]; development)")
    parser.add_argument("--blend", default="feather", choices=("feather", "poisson"), help="blend mode (development)")
    parser.add_argument("--blend-options", default="", help="BlendOptions fields, e.g. 'notch_reach=2.5,width=12/12' "
                        "(face lengths: px at a 300 px face[/floor]; development)")
    parser.add_argument("--relit", action="store_true",
                        help="also ours with the reference still relit (another white balance, exposure, side light, "
                        "saturation, drawn per clip): what a user with a photo in other light gets")
    parser.add_argument("--elsewhere", action="store_true",
                        help="also ours (true mask) with the relit reference and the warp's same-place carry off: a "
                        "photo taken elsewhere (its own rows and a column of the sheet)")
    parser.add_argument("--turned", action="store_true",
                        help="also ours (true mask) with a reference in another pose: the clip's bare frame past the "
                        "evaluated ones whose head pose differs most from theirs, relit, the same-place carry off")
    parser.add_argument("--swap-background", action="store_true",
                        help="replace the reference's surroundings outside its head with a seeded texture per clip (the "
                        "real-use case: a reference taken elsewhere; a carried wall shows as an error)")
    parser.add_argument("--work-true", action="store_true",
                        help="the true-mask rows' faces wider than PipelineOptions.work_face_px go through the face "
                        "chain at that working size, as the segmenter's rows do (default: at full size; development)")
    parser.add_argument("--upscale", type=float, default=1.0,
                        help="enlarge every clip's frames by this factor (cubic) when read, so that the faces pass a "
                        "working size (development; the scores are against the enlarged truth)")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end (segmenter) run (development: faster)")
    parser.add_argument("--duplicates", action="store_true",
                        help="a duplicated source frame (the clips repeat one in 5 or 6) repeats its drawn mask and "
                        "hand too, as in a masked video (default: drawn anew from its own landmarks)")
    parser.add_argument("--cast-parts", action="store_true",
                        help="also where the cast comes from, per clip, for ours with the true mask: the mean Lab "
                        "difference on the pixels the warp covers and on those filled, and on the mask's top, middle "
                        "and bottom thirds")
    args = parser.parse_args()
    if args.sheet is None:
        args.sheet = Path(tempfile.gettempdir()) / f"unmask_quality_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}.png"
    WARP_OVERRIDES.update(parse_overrides(args.warp, PipelineOptions().warp))
    PIPELINE_OVERRIDES.update(parse_overrides(args.pipeline, PipelineOptions(), "--pipeline"))
    SEGMENT_OVERRIDES.update(parse_overrides(args.segment, PipelineOptions().segment, "--segment"))
    BLEND_MODE[0] = args.blend
    WORK_TRUE[0] = args.work_true
    UPSCALE[0] = args.upscale
    BLEND_OVERRIDES.update(parse_overrides(args.blend_options, BlendOptions(), "--blend-options"))
    COMPOSITE_OVERRIDES.update(parse_overrides(args.composite, ReconstructorOptions().composite, "--composite"))
    filter_native_stderr()
    cv2.setNumThreads(1)  # the per-face milliseconds are on one core
    console = Console()
    talking = args.data / "talking"
    clips = sorted(talking.glob("*.mp4"))[: args.clips] if talking.is_dir() else []
    if args.small_faces and (args.data / "small_faces").is_dir():
        clips += sorted((args.data / "small_faces").glob("*.mp4"))
    numbered = list(enumerate(clips))  # a clip's mask depends on its place in the full list, not the subset
    if args.only:
        numbered = [(k, c) for k, c in numbered if c.stem in args.only.split(",")]
    if not clips:
        console.print(f"skipped: no talking-head clips at {talking} (the shared data folder is absent)")
        return 0
    per_clip: list[tuple[Clip, dict[str, Scores]]] = []
    methods = METHODS + (tuple(name for name, _, _ in SMOOTHING_VARIANTS) if args.smoothing_variants else ())
    methods += ((RELIT_TRUE,) + (() if args.no_e2e else (RELIT_E2E,))) if args.relit else ()
    methods += (ELSEWHERE_TRUE,) if args.elsewhere else ()
    methods += (TURNED_TRUE,) if args.turned else ()
    overall = {m: Scores() for m in methods}
    timing = StageTimer()
    timed_faces = 0
    rows: list[np.ndarray] = []
    parts_rows: list[tuple[str, str, dict[str, np.ndarray], float]] = []
    for number, path in numbered:
        clip = load_clip(path, args.frames, number, args.duplicates)
        if len(clip.truth) < 3:
            console.print(f"{path.name}: too few frames with a face, skipped")
            continue
        if args.swap_background:  # frame 0 is only the reference: it is not scored
            clip.truth[0] = clip.masked[0] = swap_background(clip.truth[0], clip.landmarks[0], number)
        results = {
            MASKED: clip.masked,
            TELEA: [cv2.inpaint(m, (k > 0.5).astype(np.uint8), 5, cv2.INPAINT_TELEA) for m, k in zip(clip.masked, clip.masks)],
        }
        covered: dict[str, list[np.ndarray]] = {}
        results[OURS_TRUE], _, timer = run_ours(clip, args.generator, true_mask=True,
                                                valids=covered.setdefault(OURS_TRUE, []))
        if clip.truth[0].shape[0] >= 720:
            for stage in TIMED_STAGES:
                timing.add(stage, timer.seconds.get(stage, 0.0))
            timed_faces += timer.calls.get(FACES, 0)
        if args.no_e2e:
            results[OURS_E2E], ious = results[OURS_TRUE], []
        else:
            results[OURS_E2E], ious, _ = run_ours(clip, args.generator, true_mask=False)
        variant_ious = {OURS_E2E: ious}
        if args.relit or args.elsewhere:
            relit = relight(clip.truth[0], clip.landmarks[0], seed=number)
        if args.relit:
            results[RELIT_TRUE], _, _ = run_ours(clip, args.generator, True, reference=relit,
                                                 valids=covered.setdefault(RELIT_TRUE, []))
            if not args.no_e2e:
                results[RELIT_E2E], variant_ious[RELIT_E2E], _ = run_ours(clip, args.generator, False, reference=relit)
        if args.elsewhere:
            results[ELSEWHERE_TRUE], _, _ = run_ours(clip, args.generator, True, reference=relit, same_place=False,
                                                     valids=covered.setdefault(ELSEWHERE_TRUE, []))
        if args.turned:
            turned = turned_reference(path, clip)
            if turned is None:  # (no frame past the evaluated ones: frame 0, which is outside them too)
                turned = (clip.truth[0], clip.landmarks[0], 0)
            pose_gap = np.hypot(*(head_pose(turned[1]) - np.median([head_pose(lm) for lm in clip.landmarks[1:]], axis=0)))
            console.print(f"{path.name}: turned reference frame {turned[2]}, pose {np.round(head_pose(turned[1]), 3)}"
                          f" ({pose_gap:.3f} from the evaluated frames' median)")
            relit_turned = relight(turned[0], turned[1], seed=number)
            results[TURNED_TRUE], _, _ = run_ours(clip, args.generator, True, reference=relit_turned, same_place=False,
                                                  valids=covered.setdefault(TURNED_TRUE, []))
        if args.smoothing_variants:
            for name, landmark_smoothing, mask_smoothing in SMOOTHING_VARIANTS:
                results[name], variant_ious[name], _ = run_ours(
                    clip, args.generator, False, landmark_smoothing, mask_smoothing)
        scores = {m: evaluate(clip, results[m]) for m in methods}
        for name, values in variant_ious.items():
            scores[name].iou.extend(values)
        for m in methods:
            overall[m].extend(scores[m])
        per_clip.append((clip, scores))
        if args.cast_parts:
            parts_rows += [(clip.name, m, *cast_parts(clip, results[m], v)) for m, v in covered.items()]
        rows += sheet_rows(clip, results, args.sheet_frames)
        h, w = clip.truth[0].shape[:2]
        console.print(f"{path.name}: {len(clip.truth)} frames {w}x{h}, mask: {clip.spec.describe()}")

    if WARP_OVERRIDES or PIPELINE_OVERRIDES or SEGMENT_OVERRIDES or COMPOSITE_OVERRIDES or BLEND_OVERRIDES:
        console.print(f"options changed: warp {WARP_OVERRIDES}, pipeline {PIPELINE_OVERRIDES}, "
                      f"segment {SEGMENT_OVERRIDES}, composite {COMPOSITE_OVERRIDES}, blend {BLEND_OVERRIDES}")
    table = Table(title=f"inside the drawn mask (the true mask and a hand in front of it), per clip ({args.frames} frames "
                        f"each), generator {args.generator}")
    for column in ("clip", "method", "PSNR dB", "SSIM", "cast ΔE", "TDE", "mask IoU"):
        table.add_column(column, justify="left" if column in ("clip", "method") else "right")
    for clip, scores in per_clip:
        for i, m in enumerate(methods):
            table.add_row(clip.name if i == 0 else "", m, *_fmt(scores[m]), end_section=i == len(methods) - 1)
    console.print(table)
    total = Table(title=f"overall, {len(per_clip)} clips")
    for column in ("method", "PSNR dB", "SSIM", "cast ΔE", "TDE", "mask IoU"):
        total.add_column(column, justify="left" if column == "method" else "right")
    for m in methods:
        total.add_row(m, *_fmt(overall[m]))
    console.print(total)
    if parts_rows:
        console.print(parts_table(parts_rows))
    if timed_faces:
        parts = ", ".join(f"{s} {timing.ms_per(s, timed_faces):.1f}" for s in TIMED_STAGES)
        composite = sum(timing.ms_per(s, timed_faces) for s in TIMED_STAGES)
        console.print(f"ms per face at 720p and above, one core ({timed_faces} faces): {parts}; composite {composite:.1f}")
    else:
        composite = float("nan")
        console.print("no clip of 720 lines or more: composite time not measured")

    ours, telea = OURS_TRUE, TELEA
    checks = {
        "PSNR >= Telea + 3 dB on every clip": all(
            np.mean(s[ours].psnr) >= np.mean(s[telea].psnr) + 3.0 for _, s in per_clip),
        "colour cast <= 3 on every clip": all(np.mean(s[ours].cast) <= 3.0 for _, s in per_clip),
        "TDE <= 0.8 x Telea's": np.mean(overall[ours].tde) <= 0.8 * np.mean(overall[telea].tde),
        "end to end beats Telea (PSNR)": np.mean(overall[OURS_E2E].psnr) > np.mean(overall[telea].psnr),
    }
    if timed_faces:
        checks["composite <= 12 ms per face at 720p (wall time)"] = composite <= 12.0
    for check, ok in checks.items():
        console.print(f"{'yes' if ok else 'NO '}  {check}")
    if rows:
        header = np.zeros((18, rows[0].shape[1], 3), np.uint8)
        labels = ("masked", "Telea (true mask)", "ours (true mask)", "ours (segmenter)") + (
            ("ours, relit ref (true mask)",) if args.relit else ()) + (
            ("relit ref from elsewhere",) if args.elsewhere else ()) + (
            ("turned ref",) if args.turned else ()) + ("truth",)
        for k, label in enumerate(labels):
            cv2.putText(header, label, (k * rows[0].shape[1] // len(labels) + 4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                        (255, 255, 255), 1, cv2.LINE_AA)
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.sheet), np.vstack([header, *rows])[..., ::-1])
        console.print(f"contact sheet: {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
