"""Small and several faces: how often the tracker finds a masked face, against the FaceMesh tracker it replaced.

    python -m benchmarks.small_faces [--frames 120] [--out /tmp/small_faces] [--skip-real] [--skip-speed]

Real part (skipped with a message when ../shared/data, or ``--data``, is absent), on ../shared/data/videos/small_faces
(lp_s29: portrait 720x1364, face about 170 px; musetalk_sun: 576x768 full figure, face about 110 px) and on
clips composed from them: the two people side by side at a distance in a 1920x1080 frame (faces about 60 px,
``--max-faces 5``) and one person in a 3840x2160 frame (face about 45 px). Each face of each unmasked frame is
found by the new tracker (smoothing off); a surgical mask (a different style per person) is drawn on it from
those landmarks, and both trackers then run on the masked frames with the same ``max_faces``. Reported per
clip: faces found (a returned face whose centre lies within half a face width of the drawn one), the mean
landmark distance to the unmasked landmarks (% of the face width), milliseconds per frame, and the same
found rate on the unmasked frames. The truth landmarks come from the new tracker itself on the unmasked frames
(the old one finds none on the composed clips), so the distance column favours it; the found rate does not.

Speed part (always runs, synthetic): a 300 px astronaut face moving in 1280x720, 1920x1080 and 3840x2160
frames: milliseconds per frame for landmarks (new: after the first frame's search; the first search on its
own), against the old tracker in the same run, then the same frames without the face (the new tracker
searching, spread over frames). With ``--out``, overlay PNGs of both trackers' landmarks on a
few frames of each real clip (green: new, with the track id; red: old). A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.landmarks import FaceTracker, TrackerOptions  # noqa: E402
from unmask_video.synthetic import BLACK, WHITE, MaskStyle, draw_surgical_mask  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT.parent / "shared" / "data" / "videos" / "small_faces"
#: The last commit with the FaceMesh whole-frame tracker: the baseline, loaded from git in the same run.
BASELINE_COMMIT = "f7ed3dc"
STYLES = [MaskStyle(), MaskStyle(color=WHITE), MaskStyle(color=BLACK, pleats=2), MaskStyle(pattern="stripes")]


def load_baseline():
    """The old ``unmask_video.landmarks`` module from git history, or ``None`` when git cannot give it."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:unmask_video/landmarks.py"], cwd=ROOT, capture_output=True,
            text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "baseline_landmarks.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_landmarks", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


# --- clips ------------------------------------------------------------------------------------------------


def frames_of(path: Path, limit: int, scale: float = 1.0) -> Iterator[tuple[np.ndarray, float]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i >= limit:
                return
            image = frame.to_ndarray(format="rgb24")
            if scale != 1.0:
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            yield image, float(frame.time if frame.time is not None else i / 25)


def _backdrop(h: int, w: int) -> np.ndarray:
    """A real outdoor background (the first lp_s29 frame, upper part, blurred as if far away)."""
    first, _ = next(frames_of(SMALL / "lp_s29.mp4", 1))
    sky = first[:250]  # trees and fence only (her face starts below)
    big = cv2.resize(sky, (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(big, (0, 0), 3)


def two_far(limit: int) -> Iterator[tuple[np.ndarray, float]]:
    """Both people at a distance in a 1920x1080 frame: each face about 60 px (3 % of the width)."""
    back = _backdrop(1080, 1920)
    a = frames_of(SMALL / "musetalk_sun.mp4", limit, 0.55)
    b = frames_of(SMALL / "lp_s29.mp4", limit, 0.36)
    for (fa, t), (fb, _) in zip(a, b):
        frame = back.copy()
        frame[600 : 600 + fa.shape[0], 300 : 300 + fa.shape[1]] = fa[: 1080 - 600]
        frame[560 : 560 + fb.shape[0], 1300 : 1300 + fb.shape[1]] = fb[: 1080 - 560]
        yield frame, t


def one_far_4k(limit: int) -> Iterator[tuple[np.ndarray, float]]:
    """One person in a 3840x2160 frame, the face about 45 px wide."""
    back = _backdrop(2160, 3840)
    for fa, t in frames_of(SMALL / "musetalk_sun.mp4", limit, 0.42):
        frame = back.copy()
        frame[1500 : 1500 + fa.shape[0], 2400 : 2400 + fa.shape[1]] = fa
        yield frame, t


@dataclass
class Case:
    name: str
    frames: Callable[[int], Iterator[tuple[np.ndarray, float]]]
    people: int
    max_faces: int


# --- measuring -----------------------------------------------------------------------------------------


@dataclass
class Score:
    found: int = 0
    total: int = 0
    errors: list[float] = field(default_factory=list)
    seconds: float = 0.0
    frames: int = 0

    def add(self, faces: list[np.ndarray], truth: list[np.ndarray]) -> None:
        for lm in truth:
            width = float(np.ptp(lm[:, 0]))
            centre = lm.mean(axis=0)
            self.total += 1
            near = [f for f in faces if np.linalg.norm(f.mean(axis=0) - centre) < 0.5 * width]
            if near:
                self.found += 1
                self.errors.append(float(np.linalg.norm(near[0] - lm, axis=1).mean()) / width)

    def rate(self) -> str:
        return f"{100.0 * self.found / max(self.total, 1):.1f} %"

    def error(self) -> str:
        return f"{100.0 * float(np.mean(self.errors)):.1f} %" if self.errors else "-"

    def ms(self) -> str:
        return f"{1000.0 * self.seconds / max(self.frames, 1):.1f}"


def _timed(tracker, frame: np.ndarray, t: float, score: Score) -> list[np.ndarray]:
    t0 = time.perf_counter()
    faces = tracker.track(frame, t)
    score.seconds += time.perf_counter() - t0
    score.frames += 1
    return faces


def _overlay(frame: np.ndarray, new: list[np.ndarray], ids: list[int], old: list[np.ndarray]) -> np.ndarray:
    """A strip with one tile per face found by the new tracker: the region around the face (1.5 face widths on
    each side) enlarged to 360 px, new landmarks green with the track id, old ones red."""
    tiles = []
    for lm, face_id in zip(new, ids):
        size = float(np.ptp(lm, axis=0).max())
        c = lm.mean(axis=0)
        x0, y0 = np.maximum(c - 1.5 * size, 0).astype(int)
        x1, y1 = np.minimum(c + 1.5 * size, [frame.shape[1], frame.shape[0]]).astype(int)
        k = 360.0 / max(x1 - x0, y1 - y0, 1)
        tile = cv2.resize(cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2BGR), None, fx=k, fy=k,
                          interpolation=cv2.INTER_CUBIC)
        for points, colour in [(o, (0, 0, 255)) for o in old] + [(lm, (0, 255, 0))]:
            for x, y in (points - [x0, y0]) * k:
                if 0 <= x < tile.shape[1] and 0 <= y < tile.shape[0]:
                    cv2.circle(tile, (int(x), int(y)), 1, colour, -1)
        cv2.putText(tile, f"id {face_id}, {size:.0f} px", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 1)
        tiles.append(cv2.copyMakeBorder(tile, 0, 360 - tile.shape[0], 0, 364 - tile.shape[1], cv2.BORDER_CONSTANT))
    return np.hstack(tiles) if tiles else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)


def run_case(case: Case, limit: int, baseline, out_dir: Path | None) -> dict[str, Score]:
    scores = {k: Score() for k in ("truth", "new masked", "old masked", "new bare", "old bare")}
    raw = TrackerOptions(max_faces=case.max_faces, smoothing=False, hold_time=0.0)
    trackers = {"truth": FaceTracker(raw), "new masked": FaceTracker(TrackerOptions(max_faces=case.max_faces)),
                "new bare": FaceTracker(TrackerOptions(max_faces=case.max_faces))}
    if baseline is not None:
        for k in ("old masked", "old bare"):
            trackers[k] = baseline.FaceTracker(baseline.TrackerOptions(max_faces=case.max_faces))
    shots = {0, limit // 3, (2 * limit) // 3}
    try:
        for index, (frame, t) in enumerate(case.frames(limit)):
            truth = _timed(trackers["truth"], frame, t, scores["truth"])
            scores["truth"].total += case.people
            scores["truth"].found += min(len(truth), case.people)
            for k in ("new bare", "old bare"):
                if k in trackers:
                    scores[k].add(_timed(trackers[k], frame, t, scores[k]), truth)
            masked = frame
            for i, lm in enumerate(sorted(truth, key=lambda lm: lm[:, 0].mean())):  # a style per person, left to right
                masked, _ = draw_surgical_mask(masked, lm, STYLES[i % len(STYLES)])
            new = _timed(trackers["new masked"], masked, t, scores["new masked"])
            ids = list(trackers["new masked"].ids)
            scores["new masked"].add(new, truth)
            old = []
            if "old masked" in trackers:
                old = _timed(trackers["old masked"], masked, t, scores["old masked"])
                scores["old masked"].add(old, truth)
            if out_dir is not None and index in shots:
                cv2.imwrite(str(out_dir / f"{case.name}_{index:04d}.png"), _overlay(masked, new, ids, old))
    finally:
        for tracker in trackers.values():
            tracker.close()
    return scores


def real(console: Console, limit: int, baseline, out_dir: Path | None) -> None:
    if not SMALL.is_dir():
        console.print(f"[yellow]{SMALL} not found: real small-face clips skipped[/yellow]")
        return
    cases = [
        Case("lp_s29 (720x1364)", lambda n: frames_of(SMALL / "lp_s29.mp4", n), 1, 1),
        Case("musetalk_sun (576x768)", lambda n: frames_of(SMALL / "musetalk_sun.mp4", n), 1, 1),
        Case("two far, 1920x1080, max 5", two_far, 2, 5),
        Case("one far, 3840x2160", one_far_4k, 1, 1),
    ]
    table = Table(title=f"Masked faces found, first {limit} frames (drawn mask; old = FaceMesh whole-frame tracker)")
    for column in ("clip", "truth found (bare)", "new: found", "old: found", "new: lm dist", "old: lm dist",
                   "new ms/frame", "old ms/frame", "bare: new found", "bare: old found"):
        table.add_column(column, justify="right")
    for case in cases:
        s = run_case(case, limit, baseline, out_dir)
        table.add_row(case.name, s["truth"].rate(), s["new masked"].rate(), s["old masked"].rate(),
                      s["new masked"].error(), s["old masked"].error(), s["new masked"].ms(), s["old masked"].ms(),
                      s["new bare"].rate(), s["old bare"].rate())
        console.print(f"done: {case.name}")
    console.print(table)


# --- speed ---------------------------------------------------------------------------------------------


def speed(console: Console, frames: int, baseline) -> None:
    from skimage import data

    from unmask_video.landmarks import detect_reference_landmarks

    astronaut = data.astronaut()
    lm = detect_reference_landmarks(astronaut)
    k = 300.0 / float(np.ptp(lm[:, 0]))
    (x0, y0), (x1, y1) = lm.min(axis=0).astype(int) - 40, lm.max(axis=0).astype(int) + 40
    head = cv2.resize(astronaut[max(y0, 0) : y1, max(x0, 0) : x1], None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    table = Table(title=f"Landmarks, a 300 px face, {frames} frames (ms per frame; old and new alternate frame by "
                        "frame in the same run)")
    for column in ("frame", "new: first frame (whole search)", "new: per frame, tracking", "old: per frame",
                   "old / new", "new: per frame, no face (searching)", "old: per frame, no face"):
        table.add_column(column, justify="right")
    rng = np.random.default_rng(0)
    for h, w in ((720, 1280), (1080, 1920), (2160, 3840)):
        back = cv2.resize(rng.integers(60, 200, (h // 16, w // 16, 3), dtype=np.uint8), (w, h),
                          interpolation=cv2.INTER_CUBIC)
        clip = []
        for i in range(frames):
            frame = back.copy()
            x, y = w // 2 - head.shape[1] // 2 + 2 * i, h // 2 - head.shape[0] // 2 + i
            frame[y : y + head.shape[0], x : x + head.shape[1]] = head
            clip.append(frame)
        trackers = {"new": FaceTracker(TrackerOptions())}
        if baseline is not None:
            trackers["old"] = baseline.FaceTracker(baseline.TrackerOptions())
        seconds = {name: 0.0 for name in trackers}
        empty = {name: 0.0 for name in trackers}
        t0 = time.perf_counter()
        trackers["new"].track(clip[0], 0.0)
        first = time.perf_counter() - t0
        if "old" in trackers:
            trackers["old"].track(clip[0], 0.0)
        for i, frame in enumerate(clip[1:], 1):
            for name, tracker in trackers.items():
                t0 = time.perf_counter()
                tracker.track(frame, i / 25)
                seconds[name] += time.perf_counter() - t0
        for name, tracker in trackers.items():  # then the face leaves: searching, without a face to follow
            for i in range(frames):
                t0 = time.perf_counter()
                tracker.track(back, (frames + i) / 25)
                empty[name] += time.perf_counter() - t0
            tracker.close()
        n = frames - 1
        new, old = 1000 * seconds["new"] / n, 1000 * seconds.get("old", float("nan")) / n
        table.add_row(f"{w}x{h}", f"{1000 * first:.0f}", f"{new:.1f}", f"{old:.1f}", f"{old / new:.2f}",
                      f"{1000 * empty['new'] / frames:.1f}", f"{1000 * empty.get('old', float('nan')) / frames:.1f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120, help="frames per real clip")
    parser.add_argument("--speed-frames", type=int, default=50, help="frames per resolution in the speed part")
    parser.add_argument("--out", type=Path, default=None, help="folder for overlay PNGs")
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    if args.data is not None:
        global SMALL
        SMALL = args.data / "videos" / "small_faces"
    console = Console(width=200)
    baseline = load_baseline()
    if baseline is None:
        console.print(f"[yellow]git cannot give the baseline tracker ({BASELINE_COMMIT}): new tracker only[/yellow]")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    if not args.skip_real:
        real(console, args.frames, baseline, args.out)
    if not args.skip_speed:
        speed(console, args.speed_frames, baseline)


if __name__ == "__main__":
    sys.exit(main())
