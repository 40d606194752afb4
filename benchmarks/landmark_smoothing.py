"""Landmark tracking: tracker cost, One-Euro smoothing (jitter vs lag), detection rate on masked faces.

    python -m benchmarks.landmark_smoothing [--frames 60] [--real-frames 100] [--talking 3]

Synthetic part (always runs, astronaut clips from :mod:`unmask_video.synthetic`, frames with added
noise, sigma 4): per-stage milliseconds per frame (the tracker, smoothing, mask drawing), then for a still
and two moving heads the jitter (std of frame-to-frame landmark motion minus the true motion) and the
error against the exact landmarks, each as a ratio of the raw (unsmoothed) tracker measured in the
same run; then the tracker's detection rate on the decoded clip of every mask style, without and with the
tracker's short hold.

Real part (skipped with a message when ../shared/data is absent): the masked videos (detection rate,
ms per frame, jitter as the std of landmark acceleration in face widths, smoothed / raw) and the
talking-head videos with a synthetic mask drawn on the raw landmarks of each unmasked frame (how often
the tracker still finds the masked face and how far its landmarks move, in % of the face width).
A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.landmarks import FaceTracker, OneEuroFilter, TrackerOptions  # noqa: E402
from unmask_video.synthetic import BLACK, WHITE, ClipSpec, MaskStyle, draw_surgical_mask, make_clip  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
STYLES = {
    "light blue": MaskStyle(),
    "white": MaskStyle(color=WHITE),
    "black, 2 pleats": MaskStyle(color=BLACK, pleats=2),
    "pink stripes": MaskStyle(color=(220, 120, 140), pattern="stripes"),
    "blue dots": MaskStyle(pattern="dots"),
}


def _face_size(landmarks: np.ndarray) -> float:
    return float(np.ptp(landmarks[:, 0]))


def _noisy(frames: np.ndarray, sigma: float, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0.0, sigma, f.shape), 0, 255).astype(np.uint8) for f in frames]


def _track_all(frames: list[np.ndarray], times: list[float], options: TrackerOptions) -> tuple[list, float]:
    """Landmarks per frame (None where no face) and milliseconds per frame (after a warm-up frame)."""
    out = []
    with FaceTracker(options) as tracker:
        tracker.track(frames[0], -1.0)  # warm-up (time before the clip: the tracker restarts after it)
        tracker.reset()
        t0 = time.perf_counter()
        for f, t in zip(frames, times):
            faces = tracker.track(f, t)
            out.append(faces[0] if faces else None)
        ms = (time.perf_counter() - t0) / len(frames) * 1000.0
    return out, ms


def _smoothing_ms(lm: np.ndarray, repeat: int = 200) -> float:
    o = TrackerOptions()
    f = OneEuroFilter(o.min_cutoff, o.beta, o.d_cutoff, shared_speed=True)
    f(lm, 0.0)
    t0 = time.perf_counter()
    for i in range(repeat):
        f(lm, (i + 1) / 25)
    return (time.perf_counter() - t0) / repeat * 1000.0


def _jitter(lm: np.ndarray, truth: np.ndarray | None = None) -> float:
    d = lm if truth is None else lm - truth
    return float(np.std(np.diff(d[5:], axis=0), axis=0).mean())


def synthetic(console: Console, frames: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="lm_bench_"))
    table = Table(title="Smoothing on synthetic clips (ratios: smoothed / raw, same run)")
    for col in ("clip", "raw jitter px", "jitter ratio", "raw error px", "error ratio", "tracker ms", "smooth ms"):
        table.add_column(col, justify="right")
    cases = {
        "still": ClipSpec(frames=frames, motion=0.0, audio_hz=None),
        "moving": ClipSpec(frames=frames, motion=1.0, audio_hz=None),
        "fast": ClipSpec(frames=frames, motion=2.5, seed=3, audio_hz=None),
    }
    for name, spec in cases.items():
        clip = make_clip(tmp, spec)
        noisy = _noisy(clip.masked, 4.0)
        times = [i / spec.fps for i in range(spec.frames)]
        raw, ms = _track_all(noisy, times, TrackerOptions(smoothing=False))
        smooth, _ = _track_all(noisy, times, TrackerOptions())
        if any(x is None for x in raw + smooth):
            console.print(f"{name}: face lost in some frames, skipped")
            continue
        raw_a, smooth_a, truth = np.array(raw), np.array(smooth), clip.landmarks
        err = lambda a: float(np.linalg.norm(a[5:] - truth[5:], axis=-1).mean())  # noqa: E731
        table.add_row(
            name,
            f"{_jitter(raw_a, truth):.3f}",
            f"{_jitter(smooth_a, truth) / _jitter(raw_a, truth):.2f}",
            f"{err(raw_a):.2f}",
            f"{err(smooth_a) / err(raw_a):.2f}",
            f"{ms:.1f}",
            f"{_smoothing_ms(raw_a[0]):.3f}",
        )
    console.print(table)
    spec = ClipSpec(frames=frames, audio_hz=None)
    clip = make_clip(tmp, spec)
    t0 = time.perf_counter()
    for truth, lm in zip(clip.truth, clip.landmarks):
        draw_surgical_mask(truth, lm, spec.style)
    console.print(f"mask drawing: {(time.perf_counter() - t0) / len(clip.truth) * 1000:.2f} ms per 320x320 frame")

    rates = Table(title="The tracker on decoded masked clips: frames with a face (no hold / with 0.2 s hold)")
    rates.add_column("style")
    for col in ("320x320 moving", "256x256 fast", "480x360 small face"):
        rates.add_column(col, justify="right")
    specs = [
        dict(),
        dict(motion=2.5, seed=3, size=(256, 256)),
        dict(seed=7, size=(480, 360), face_width=0.3),
    ]
    for name, style in STYLES.items():
        row = [name]
        for kw in specs:
            c = make_clip(tmp, ClipSpec(frames=frames, style=style, audio_hz=None, **kw))
            with av.open(str(c.video_path)) as inp:
                decoded = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
            found = []
            for hold in (0.0, 0.2):
                lms, _ = _track_all(decoded, c.times, TrackerOptions(hold_time=hold))
                found.append(sum(x is not None for x in lms))
            row.append(f"{found[0]}/{len(decoded)} / {found[1]}/{len(decoded)}")
        rates.add_row(*row)
    console.print(rates)


def _read(path: Path, n: int) -> tuple[list[np.ndarray], list[float]]:
    frames, times = [], []
    with av.open(str(path)) as inp:
        for f in inp.decode(video=0):
            if len(frames) >= n:
                break
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time))
    return frames, times


def _accel_jitter(lms: list) -> float:
    """Std of the landmark acceleration over runs of found frames, in face widths."""
    runs, cur = [], []
    for x in lms:
        if x is None:
            if len(cur) > 3:
                runs.append(np.array(cur))
            cur = []
        else:
            cur.append(x / _face_size(x))
    if len(cur) > 3:
        runs.append(np.array(cur))
    acc = [np.diff(r, n=2, axis=0).reshape(-1) for r in runs]
    return float(np.std(np.concatenate(acc))) if acc else float("nan")


def real(console: Console, n: int, talking: int) -> None:
    videos = SHARED / "videos"
    if not videos.is_dir():
        console.print(f"real videos skipped: {videos} is absent")
        return
    table = Table(title=f"Real masked videos (first {n} frames)")
    for col in ("video", "size", "found", "tracker ms", "accel jitter smoothed / raw"):
        table.add_column(col, justify="right")
    for path in sorted((videos / "masked").glob("*.mp4")):
        frames, times = _read(path, n)
        raw, _ = _track_all(frames, times, TrackerOptions(smoothing=False))
        smooth, ms = _track_all(frames, times, TrackerOptions())
        found = sum(x is not None for x in smooth)
        ratio = _accel_jitter(smooth) / _accel_jitter(raw)
        size = f"{frames[0].shape[1]}x{frames[0].shape[0]}"
        table.add_row(path.name, size, f"{found}/{len(frames)}", f"{ms:.1f}", f"{ratio:.2f}")
    console.print(table)

    table = Table(title=f"Talking heads with a drawn light-blue mask (first {n} frames)")
    for col in ("video", "found unmasked", "found masked", "masked vs unmasked landmarks, % face width"):
        table.add_column(col, justify="right")
    for path in sorted((videos / "talking").glob("*.mp4"))[:talking]:
        frames, times = _read(path, n)
        raw, _ = _track_all(frames, times, TrackerOptions(smoothing=False, hold_time=0.0))
        masked = [draw_surgical_mask(f, lm)[0] if lm is not None else f for f, lm in zip(frames, raw)]
        on_mask, _ = _track_all(masked, times, TrackerOptions(smoothing=False, hold_time=0.0))
        errs = [
            np.linalg.norm(a - b, axis=1).mean() / _face_size(a) * 100
            for a, b in zip(raw, on_mask)
            if a is not None and b is not None
        ]
        table.add_row(
            path.name,
            f"{sum(x is not None for x in raw)}/{len(frames)}",
            f"{sum(x is not None for x in on_mask)}/{len(frames)}",
            f"{np.mean(errs):.1f}" if errs else "-",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per synthetic clip")
    parser.add_argument("--real-frames", type=int, default=100, help="frames read from each real video")
    parser.add_argument("--talking", type=int, default=3, help="how many talking-head videos")
    args = parser.parse_args()
    console = Console(width=160)
    synthetic(console, args.frames)
    real(console, args.real_frames, args.talking)


if __name__ == "__main__":
    main()
