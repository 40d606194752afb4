"""Speed of the rebuilt face's averaging over time (``steady_face.SteadyFace``) against a git revision.

    python -m benchmarks.steady_speed [--baseline-rev 29abe3a] [--repeat 10] [--real lp_s32,lp_d0 --data DIR]

A face track of the astronaut photo scaled so that its face is as wide as the pipeline's faces (the real KF94
clip's 312 px face at 720p, the speed benchmark's 512 px at 720p and 768 px at 1080p), in an ROI with the face box's
margin, drifting by a third of a pixel a frame (a still head: the past keeps its weight), with a lower-face mask
and sensor noise on the rebuilt face. Each call is timed against ``steady_face.py`` as it was at ``--baseline-rev``
(read with ``git show``) in alternating rounds: process CPU ms per call (best of 5 rounds, one OpenCV thread), the
ratio, and the largest difference of the outputs in levels. ``--real``: also the calls the pipeline makes on the
quality benchmark's talking-head clips of those names (``benchmarks.quality``'s run with the true mask, ``--frames``
frames, recorded once), replayed in order through a fresh ``SteadyFace`` of each module, the modules taking turns
call by call, each call given its own copy of the rebuilt ROI (``own=True``, as the pipeline gives it): CPU ms per
call, the median of 5 rounds. ``--clips NAME=VIDEO:REFERENCE,...``: the same for the calls the command's own run makes
on video files (the default options, the serial loop, the first ``--frames`` calls; e.g. the speed benchmark's 720p
clip, or a real masked clip with its reference). A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.revisions import modules_at  # noqa: E402
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


#: One call of the pipeline's: (track, frame, ROI, rebuilt ROI, region).
Call = tuple[int, int, FaceROI, np.ndarray, "tuple[slice, slice] | None"]


def _record_real(data: Path, names: list[str], frames: int) -> dict[str, list[Call]]:
    """The calls the pipeline makes to the averaging on each of the quality benchmark's clips ``names`` (its run with
    the true mask), by clip (copies)."""
    import benchmarks.quality as quality

    clips = sorted((data / "talking").glob("*.mp4"))
    calls: list[Call] = []
    out = {}
    with _recording(calls):
        for name in names:
            numbered = [(k, c) for k, c in enumerate(clips) if c.stem == name]
            if not numbered:
                print(f"{name}: not in {data / 'talking'}, skipped")
                continue
            calls.clear()
            quality.run_ours(quality.load_clip(numbered[0][1], frames, numbered[0][0]), "none", True)
            out[name] = list(calls)
    return out


@contextmanager
def _recording(calls: list[Call], limit: int | None = None) -> Iterator[None]:
    """While in it, each call to the averaging (up to ``limit`` of them) is appended to ``calls`` (copies of its
    inputs) before it runs as usual."""
    original = steady_face.SteadyFace.__call__

    def recording(self: steady_face.SteadyFace, track: int, frame: int, roi: FaceROI, rebuilt: np.ndarray,
                  region: tuple[slice, slice] | None = None, own: bool = False) -> np.ndarray:  # fmt: skip
        if limit is None or len(calls) < limit:
            kept = replace(roi, image=roi.image.copy(), mask=roi.mask.copy(), landmarks=roi.landmarks.copy())
            calls.append((track, frame, kept, rebuilt.copy(), region))
        return original(self, track, frame, roi, rebuilt, region, own)

    steady_face.SteadyFace.__call__ = recording  # type: ignore[method-assign]
    try:
        yield
    finally:
        steady_face.SteadyFace.__call__ = original  # type: ignore[method-assign]


def _record_files(clips: list[tuple[str, Path, Path]], calls_per_clip: int) -> dict[str, list[Call]]:
    """The first ``calls_per_clip`` calls the command's run (default options, the serial loop) makes to the averaging
    on each (name, video, reference) of ``clips``, by name (copies)."""
    from unmask_video.runner import RunOptions, run_file

    calls: list[Call] = []
    out = {}
    with _recording(calls, calls_per_clip):
        with tempfile.TemporaryDirectory() as tmp:
            for name, video, reference in clips:
                calls.clear()
                options = RunOptions(input=str(video), output=str(Path(tmp) / "out.mp4"), reference=str(reference),
                                     quiet=True, overwrite=True)  # fmt: skip
                options.loop.threads = False
                run_file(options)
                out[name] = list(calls)
    return out


def _clip_list(text: str) -> list[tuple[str, Path, Path]]:
    """``NAME=VIDEO:REFERENCE,...`` -> [(name, video, reference)]."""
    out = []
    for item in filter(None, text.split(",")):
        name, _, paths = item.partition("=")
        video, _, reference = paths.partition(":")
        if not (name and video and reference):
            raise SystemExit(f"--clips: {item!r} is not NAME=VIDEO:REFERENCE")
        out.append((name, Path(video), Path(reference)))
    return out


def _replay_real(modules: list[object], calls: list[Call], rounds: int = 5) -> tuple[list[float], int]:
    """CPU ms per call of each module's averaging over ``calls`` (median of ``rounds``; the modules take turns call by
    call, in alternating order from round to round) and the largest difference of their outputs in levels."""
    per: list[list[float]] = [[] for _ in modules]
    levels = 0
    for r in range(rounds):
        order = list(range(len(modules))) if r % 2 == 0 else list(range(len(modules)))[::-1]
        steadies = [modules[i].SteadyFace() for i in range(len(modules))]  # type: ignore[attr-defined]
        spent = [0.0 for _ in modules]
        for track, frame, roi, rebuilt, region in calls:
            outs = {}
            for i in order:
                given = rebuilt.copy()
                t0 = time.process_time()
                outs[i] = steadies[i](track, frame, roi, given, region, own=True)
                spent[i] += time.process_time() - t0
            levels = max(levels, max(int(np.abs(outs[0].astype(np.int16) - o).max()) for o in outs.values()))
        for i in range(len(modules)):
            per[i].append(1000.0 * spent[i] / len(calls))
    return [statistics.median(p) for p in per], levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--real", default="", help="quality benchmark clips, comma-separated (e.g. lp_s32,lp_d0)")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "videos",
                        help="the shared videos folder (from a worktree under /work/wt: /work/shared/data/videos)")
    parser.add_argument("--frames", type=int, default=30, help="frames of each real clip (calls of each --clips file)")
    parser.add_argument("--clips", default="", help="video files, NAME=VIDEO:REFERENCE comma-separated")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each replay (--real, --clips)")
    args = parser.parse_args()
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
    recorded = _record_real(args.data, args.real.split(","), args.frames) if args.real else {}
    recorded.update(_record_files(_clip_list(args.clips), args.frames) if args.clips else {})
    for name, calls in recorded.items():
        (now, before), levels = _replay_real([steady_face, old], calls, args.rounds)
        roi = calls[0][2].image.shape
        table.add_row(f"{name} (real, {len(calls)} calls)", f"{roi[1]}x{roi[0]}", f"{before:.2f}", f"{now:.2f}",
                      f"{now / before:.2f}x", f"{levels} levels")  # fmt: skip
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
