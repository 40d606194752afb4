"""Speed of the rebuilt face's averaging over time (``steady_face.SteadyFace``) against a git revision.

    python -m benchmarks.steady_speed [--baseline-rev 29abe3a] [--repeat 10]

A face track of the astronaut photo scaled so that its face is as wide as the pipeline's faces (the real KF94
clip's 312 px face at 720p, the speed benchmark's 512 px at 720p and 768 px at 1080p), in an ROI with the face box's
margin, drifting by a third of a pixel a frame (a still head: the past keeps its weight), with a lower-face mask
and sensor noise on the rebuilt face. Each call is timed against ``steady_face.py`` as it was at ``--baseline-rev``
(read with ``git show``) in alternating rounds: process CPU ms per call (best of 5 rounds, one OpenCV thread), the
ratio, and the largest difference of the outputs in levels. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import os
from typing import Callable

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.revisions import baseline_arguments, modules_at  # noqa: E402
from benchmarks.warp_speed import _ms_pair  # noqa: E402
from unmask_video import landmark_sets, steady_face  # noqa: E402
from unmask_video.blend import DEFAULT_BLEND_WIDTH, feather_reach, grown_mask_box  # noqa: E402
from unmask_video.face_units import face_size_px  # noqa: E402
from unmask_video.landmarks import face_box  # noqa: E402
from unmask_video.stages import Box, FaceROI  # noqa: E402
from unmask_video.synthetic import astronaut_landmarks  # noqa: E402

#: The first revision with the averaging only on the mask.
BASELINE_REV = "29abe3a"
#: (name, face size in pixels)
FACES = (("KF94 720p", 312), ("speed 720p", 512), ("speed 1080p", 768))


Track = list[tuple[FaceROI, np.ndarray, tuple[slice, slice] | None]]


def _track(face_px: int, frames: int = 8) -> Track:
    """``frames`` (ROI, rebuilt ROI, blend region) of one still face track, ``face_px`` wide (see the module); the
    region is the pipeline's: the mask's box grown by the blend's reach."""
    image, lm = astronaut_landmarks()
    s = face_px / face_size_px(lm)
    big = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(face_px)
    out = []
    for k in range(frames):
        shift = np.float32([[1, 0, k / 3.0], [0, 1, 0]])
        moved = cv2.warpAffine(big, shift, (big.shape[1], big.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        landmarks = (lm * s + np.float32([k / 3.0, 0])).astype(np.float32)
        box = face_box(landmarks, moved.shape, margin=0.55)
        roi_image = np.ascontiguousarray(moved[box.y0 : box.y1, box.x0 : box.x1])
        roi_lm = landmarks - np.float32([box.x0, box.y0])
        mask = np.zeros(roi_image.shape[:2], np.float32)
        lower = np.round(roi_lm[list(landmark_sets.MASK_REGION)]).astype(np.int32)
        cv2.fillPoly(mask, [cv2.convexHull(lower)], 1.0)
        noise = rng.normal(0.0, 4.0, roi_image.shape)
        rebuilt = np.clip(roi_image + noise, 0, 255).astype(np.uint8)
        roi = FaceROI(Box(box.x0, box.y0, box.x1, box.y1), roi_image, roi_lm, mask, roi_image, mask > 0)
        reach = feather_reach(DEFAULT_BLEND_WIDTH.px(face_size_px(roi_lm))) + 7
        out.append((roi, rebuilt, grown_mask_box(mask, reach)))
    return out


def _runner(module: object, track: Track) -> Callable[[], list[np.ndarray]]:
    """One pass of a fresh ``SteadyFace`` of ``module`` over the track (its first frame has nothing to average)."""

    def run() -> list[np.ndarray]:
        steady = module.SteadyFace()  # type: ignore[attr-defined]
        return [steady(1, k, roi, rebuilt, region) for k, (roi, rebuilt, region) in enumerate(track)]

    return run


def main() -> None:
    args = baseline_arguments(__doc__.splitlines()[0], BASELINE_REV, repeat=10)
    cv2.setNumThreads(1)
    (old,) = modules_at(args.baseline_rev, ["unmask_video/steady_face.py"], "steady_speed")
    table = Table(title=f"CPU ms per frame, one OpenCV thread: @{args.baseline_rev} -> this checkout (alternating rounds)")
    for column in ("face", "ROI", f"@{args.baseline_rev}", "now", "ratio", "largest difference"):
        table.add_column(column, justify="left" if column in ("face", "ROI") else "right")
    for name, face_px in FACES:
        track = _track(face_px)
        before_run, now_run = _runner(old, track), _runner(steady_face, track)
        levels = max(int(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(before_run(), now_run()))
        before, now = _ms_pair(before_run, now_run, args.repeat)
        per = len(track)
        roi = track[0][0].image.shape
        table.add_row(f"{name}: {face_px} px", f"{roi[1]}x{roi[0]}", f"{before / per:.2f}", f"{now / per:.2f}",
                      f"{now / before:.2f}x", f"{levels} levels")  # fmt: skip
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
