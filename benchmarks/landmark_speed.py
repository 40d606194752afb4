"""CPU cost of the landmark stage per frame, by part, against the tracker of a git revision, in one run.

    python -m benchmarks.landmark_speed [--sizes 720p,1080p] [--frames 48] [--rounds 3] [--baseline-rev REV]
                                        [--data ../shared/data/videos] [--real-frames 150:240]

Runs :class:`~unmask_video.landmarks.FaceTracker` over decoded clips: self-made ones (the astronaut, face 40 % of
the frame width, at 720p and 1080p) and, where ``--data`` holds it, the real masked clip
``masked/woman_puts_on_kf94_720p.mp4`` (frames ``--real-frames``: she puts the mask on, so the model misses the
face at times and the tracker holds it or searches). The tracker of today and the tracker module
(``unmask_video/landmarks.py``) as it was at ``--baseline-rev`` (read with ``git show``; skipped outside a git
checkout), with its landmark model module (``unmask_video/face_landmark_model.py``: the crop) from that revision
too, run in alternating rounds on the same frames; each part is the process CPU time (all threads: MediaPipe
runs the model on its own) per frame, median of the rounds: the crop (``_shrink_region``, the pre-shrink of a
big face's region), the model (the MediaPipe graph: its crop to 192 px and the network), the hold data (the patch
and template a tracked face is looked for with when the model misses it), the search (face detection passes) and
the whole ``track_faces``, and of that the calling thread's own CPU ("its thread": all but MediaPipe's threads,
which run the network; less noisy). The last column says whether both give the same landmarks on every frame, and
if not, the median and largest distance between them (px) and on how many frames only one found the face. A
benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import unmask_video.face_landmark_model as model_module  # noqa: E402
import unmask_video.landmarks as tracker_module  # noqa: E402
from benchmarks.warp_speed import _module_or_none  # noqa: E402
from unmask_video.synthetic import ClipSpec, make_clip  # noqa: E402
from unmask_video.timing import StageTimer  # noqa: E402

#: The tracker before its speed work of issue 14 (the hold's patch and template made on every frame).
BASELINE_REV = "88f4916"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
REAL_CLIP = "masked/woman_puts_on_kf94_720p.mp4"
PARTS = ("crop", "model", "hold data", "search", "track_faces", "its thread")


def _decode(path: Path, start: int = 0, stop: int | None = None) -> tuple[list[np.ndarray], float]:
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        for i, frame in enumerate(container.decode(stream)):
            if stop is not None and i >= stop:
                break
            if i >= start:
                frames.append(frame.to_ndarray(format="rgb24"))
    return frames, fps


def _run(
    module: ModuleType, frames: list[np.ndarray], fps: float, model: ModuleType = model_module
) -> tuple[dict[str, float], np.ndarray]:
    """One pass of ``module``'s tracker (its landmark model from ``model``) over the frames: CPU ms per frame by
    part, and the landmarks (NaN: none)."""
    clock = StageTimer(clock=time.process_time)  # (a part called inside another counts in both)
    saved: dict[tuple[Any, str], Any] = {}

    def patch(owner: Any, name: str, part: str) -> None:
        if hasattr(owner, name):
            saved[(owner, name)] = getattr(owner, name)
            setattr(owner, name, clock.wrap(part, getattr(owner, name)))

    patch(model, "_shrink_region", "crop")
    for name in ("_face_patch", "_face_template", "_FaceShot", "_patch_of", "_template_of"):
        patch(module, name, "hold data")
    try:
        with module.FaceTracker() as tracker:
            tracker.track_faces(frames[0], -1.0)  # warm-up (a time before the clip: the tracker restarts after it)
            run = getattr(tracker._model, "_run", None)  # (the graph called without SolutionBase.process)
            if run is not None:
                tracker._model._run = clock.wrap("model", run)
            else:
                graph = tracker._model._graph
                graph.process = clock.wrap("model", graph.process)
            tracker._search = clock.wrap("search", tracker._search)
            clock.seconds = {p: 0.0 for p in PARTS}
            out = np.full((len(frames), 468, 2), np.nan, np.float32)
            for i, frame in enumerate(frames):
                t0, own0 = time.process_time(), time.thread_time()
                faces = tracker.track_faces(frame, i / fps)
                clock.seconds["its thread"] += time.thread_time() - own0
                clock.seconds["track_faces"] += time.process_time() - t0
                if faces:
                    out[i] = faces[0].landmarks
    finally:
        for (owner, name), fn in saved.items():
            setattr(owner, name, fn)
    return {p: s * 1000.0 / len(frames) for p, s in clock.seconds.items()}, out


def _difference(ours: np.ndarray, theirs: np.ndarray) -> str:
    """"True" when the landmarks are the same on every frame, else how far apart: the median and largest distance
    (px) over the frames where both found the face, and the frames only one found it on."""
    if np.array_equal(ours, theirs, equal_nan=True):
        return "True"
    both = ~np.isnan(ours).any(axis=(1, 2)) & ~np.isnan(theirs).any(axis=(1, 2))
    one = int(np.count_nonzero(np.isnan(ours).any(axis=(1, 2)) != np.isnan(theirs).any(axis=(1, 2))))
    d = np.linalg.norm(ours[both] - theirs[both], axis=2)
    return f"no: {np.median(d):.2f} / {d.max():.2f} px, {one} fr" if d.size else f"no: {one} fr"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="720p,1080p", help=f"comma-separated, of {', '.join(SIZES)} ('' for none)")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "videos")
    parser.add_argument("--real-frames", default="150:240", help="first:stop frames of the real clip")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1: per-core cost)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    console = Console(width=200)
    baseline = _module_or_none(args.baseline_rev, "unmask_video/landmarks.py")
    baseline_model = _module_or_none(args.baseline_rev, "unmask_video/face_landmark_model.py")
    if baseline is not None and baseline_model is not None:  # the revision's tracker reads with its own crop
        for name in ("RoiLandmarker", "roi_from_box", "roi_from_landmarks"):
            setattr(baseline, name, getattr(baseline_model, name))
    clips: dict[str, tuple[list[np.ndarray], float]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="lm_speed_"))
    for name in filter(None, args.sizes.split(",")):
        clip = make_clip(tmp, ClipSpec(frames=args.frames, size=SIZES[name], audio_hz=None))
        clips[f"{name} (synthetic)"] = _decode(clip.video_path)
    real = args.data / REAL_CLIP
    if real.is_file():
        start, stop = (int(v) for v in args.real_frames.split(":"))
        clips["KF94 720p (real)"] = _decode(real, start, stop)
    else:
        console.print(f"{real} not found: the real clip is skipped (pass --data)")

    table = Table(title=f"landmark stage, CPU ms per frame (medians of {args.rounds} alternating rounds, "
                        f"{os.cpu_count()} cores, {cv2.getNumThreads()} OpenCV threads)")  # fmt: skip
    for col in ("clip", "tracker", *PARTS, "x baseline", "same landmarks"):
        table.add_column(col, justify="right")
    for name, (frames, fps) in clips.items():
        modules = {"new": (tracker_module, model_module)}
        if baseline is not None:
            modules = {f"@{args.baseline_rev}": (baseline, baseline_model or model_module), **modules}
        times: dict[str, list[dict[str, float]]] = {k: [] for k in modules}
        marks: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for key, (module, model) in modules.items():
                ms, marks[key] = _run(module, frames, fps, model)
                times[key].append(ms)
        first = next(iter(modules))
        base_total = statistics.median(t["track_faces"] for t in times[first])
        for key in modules:
            med = {p: statistics.median(t[p] for t in times[key]) for p in PARTS}
            same = "-" if key == first else _difference(marks[key], marks[first])
            table.add_row(name, key, *(f"{med[p]:.2f}" for p in PARTS), f"{med['track_faces'] / base_total:.2f}", same)
    console.print(table)


if __name__ == "__main__":
    main()
