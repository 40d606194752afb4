"""Where a turned reference's carried mouth and chin land on the quality benchmark's frames (issue 11).

    python -m benchmarks.turned_geometry [--data DIR] [--frames 20] [--only lp_d6,lp_d12] [--warp 'close_mouth=0']
                                         [--plain]

The reference is the quality benchmark's ``--turned`` one (the clip's bare frame in the pose most unlike the evaluated
frames', relit: :func:`benchmarks.quality.turned_reference`). On each masked frame the warp's control points under
the mask (:meth:`~unmask_video.warp_control.ControlPoints.target`: the reference's mouth and jaw carried by the
similarity of the landmarks seen above the mask, with the outline fit, the nose length and the turned jaw; before the
shape smoothing, the jaw's opening and the registration, which follow the frame) and FaceMesh's own guess under the
drawn mask are laid against the landmarks FaceMesh finds on the bare frame (the truth), by :func:`landing`: the mouth's
centre across and down the face, its tilt against the truth's, its width, the upper lip's, the lower lip's and the
chin's height. Means over the frames, in face heights (forehead top to chin) and degrees. ``--plain``: the plain rows'
reference (the clip's first frame, in about the frames' pose) for the baseline: the truth's own talking (its mouth
open, its chin lower, which the warp's jaw opening follows) shows in both.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.quality import load_clip, parse_overrides, relight, turned_reference
from unmask_video import landmark_sets
from unmask_video.face_shape import yaw
from unmask_video.landmarks import FaceTracker, TrackerOptions, detect_reference_landmarks
from unmask_video.native_log import filter_native_stderr
from unmask_video.pipeline import PipelineOptions
from unmask_video.warp import ReferenceWarper
from unmask_video.warp_control import ControlPoints

#: The columns of :func:`landing`.
COLUMNS = ("mouth across", "mouth down", "tilt deg", "width x", "upper lip", "lower lip", "chin")

_MOUTH = landmark_sets.index(landmark_sets.MOUTH)
_LEFT, _RIGHT = landmark_sets.MOUTH_CORNERS
_EYE_ENDS = (landmark_sets.LEFT_EYE_CORNERS[0], landmark_sets.RIGHT_EYE_CORNERS[1])
_TPS = landmark_sets.index(landmark_sets.TPS_CONTROL)


def landing(points: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(7,) float64, :data:`COLUMNS`: where the mouth and chin of ``points`` ((468, 2), landmarks or the warp's control
    points written into them) lie against ``truth``'s ((468, 2)), along the truth's face (across: its eyes' outer
    corners' line towards the image-right one; down: square to it, towards the chin; lengths over its face height):
    the mouth's centre (:data:`~unmask_video.landmark_sets.MOUTH`) across and down (positive: to the image-right,
    too low), the corners' line's tilt (degrees, positive: turned from across towards down), the width corner to
    corner (a ratio), the upper lip's top, the lower lip's bottom and the chin down the face (positive: too low)."""
    p, t = np.asarray(points, np.float64), np.asarray(truth, np.float64)
    eyes = t[_EYE_ENDS[1]] - t[_EYE_ENDS[0]]
    across = eyes / max(float(np.hypot(*eyes)), 1e-9)
    down = np.array([-across[1], across[0]])
    height = max(float(np.hypot(*(t[landmark_sets.CHIN] - t[landmark_sets.FACE_HEIGHT[0]]))), 1e-9)
    centre = p[_MOUTH].mean(axis=0) - t[_MOUTH].mean(axis=0)

    def tilt(q: np.ndarray) -> float:
        d = q[_RIGHT] - q[_LEFT]
        return float(np.degrees(np.arctan2(d @ down, d @ across)))

    def drop(i: int) -> float:
        return float((p[i] - t[i]) @ down) / height

    width = float(np.hypot(*(p[_RIGHT] - p[_LEFT]))) / max(float(np.hypot(*(t[_RIGHT] - t[_LEFT]))), 1e-9)
    return np.array([
        float(centre @ across) / height, float(centre @ down) / height, tilt(p) - tilt(t), width,
        drop(landmark_sets.UPPER_LIP_TOP), drop(landmark_sets.LOWER_LIP_BOTTOM), drop(landmark_sets.CHIN),
    ])


def carried_points(control: ControlPoints, landmarks: np.ndarray) -> np.ndarray:
    """(468, 2) float64: a frame's ``landmarks`` with the warp's control points (:meth:`ControlPoints.target`) written
    over the :data:`~unmask_video.landmark_sets.TPS_CONTROL` ones."""
    out = np.asarray(landmarks, np.float64).copy()
    out[_TPS] = control.target(out)[: len(_TPS)]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/videos"), help="the shared videos folder")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated clip names (a subset)")
    parser.add_argument("--warp", default="", help="WarpOptions fields, e.g. 'close_mouth=0'")
    parser.add_argument("--plain", action="store_true",
                        help="the plain rows' reference instead (the clip's first frame, as it is): the baseline")
    args = parser.parse_args()
    filter_native_stderr()
    cv2.setNumThreads(1)
    console = Console(width=max(Console().width, 130))
    options = replace(PipelineOptions().warp, **parse_overrides(args.warp, PipelineOptions().warp))
    clips = sorted((args.data / "talking").glob("*.mp4"))
    if not clips:
        console.print(f"skipped: no talking-head clips at {args.data / 'talking'}")
        return 0
    which = "plain (first frame)" if args.plain else "turned"
    table = Table(title=f"the {which} reference's mouth and chin against the bare frames' ({args.frames} frames each; "
                        "face heights, down: positive too low; degrees)")
    for column in ("clip", "points", "yaw gap") + COLUMNS:  # (yaw gap: the reference's less the frames')
        table.add_column(column, justify="left" if column in ("clip", "points") else "right")
    for number, path in enumerate(clips):  # (a clip's drawn mask depends on its place in the full list)
        if args.only and path.stem not in args.only.split(","):
            continue
        clip = load_clip(path, args.frames, number)
        if args.plain:
            photo = clip.truth[0]
        else:
            turned = turned_reference(path, clip) or (clip.truth[0], clip.landmarks[0], 0)
            photo = relight(turned[0], turned[1], seed=number)
        warper = ReferenceWarper(photo, detect_reference_landmarks(photo), options)
        control = ControlPoints(warper.landmarks, warper.reference_yaw, options)
        tracker = FaceTracker(TrackerOptions(smoothing=False))
        carried, guessed, gaps = [], [], []
        for t in range(1, len(clip.masked)):
            faces = tracker.track(clip.masked[t], t / 25)
            if not faces:
                continue
            truth = np.asarray(clip.landmarks[t], np.float64)
            carried.append(landing(carried_points(control, faces[0]), truth))
            guessed.append(landing(faces[0], truth))
            gaps.append(warper.reference_yaw - yaw(faces[0]))
        tracker.close()
        if not carried:
            continue
        for i, (name, rows) in enumerate((("carried", carried), ("FaceMesh's guess", guessed))):
            m = np.mean(rows, axis=0)
            table.add_row(path.stem if i == 0 else "", name, f"{np.mean(gaps):+.2f}" if i == 0 else "",
                          *(f"{v:+.1f}" if c == "tilt deg" else f"{v:.2f}" if c == "width x" else f"{v:+.3f}"
                            for c, v in zip(COLUMNS, m)),
                          end_section=i == 1)  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
