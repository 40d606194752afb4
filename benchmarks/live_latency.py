"""Live-mode delay and fps at 640x480 and 1280x720 on this machine.

    python -m benchmarks.live_latency [--seconds 6] [--generator none] [--sizes 640x480,1280x720]
                                      [--paths old,new] [--repeat 2] [--baseline-rev REV] [--data ../shared/data]

A producer process (tests/live_producer.py) plays a real masked clip into a named pipe at 30 fps, real-time
pace, as MPEG-TS/H.264 like a network camera would send it: ../shared/data/videos/masked/
woman_puts_on_kf94_720p.mp4 from 5.6 s on (mask on), cropped to 4:3 for 640x480. The live loop reads it,
processes the newest frame and records the result (libx264 ultrafast/zerolatency).

Per size, in the same process: the baseline (an identity processor: capture, decode, RGB conversion,
recording, the live machinery alone), then the real pipeline (FramePipeline with the reference taken at
1.8 s of the same clip, where the face is bare) on each live-mode path (PATHS: old = outputs written on the
processing thread and every stage in turn, serial = today's outputs thread with every stage in turn,
landmarks = only the landmarks one frame ahead, paced, unpaced = landmarks, mask and warp one frame ahead started
as soon as possible, stale = a captured frame older than half an interval given up for the next one
(``LiveOptions.stale_after`` 0.5, today's default), newest = the newest frame however old (``stale_after`` None, the
default before live30), new = today's defaults: a stale frame given up for the next one, landmarks, mask and warp
one frame ahead, paced, the encoders fed the decoded planes), interleaved ``--repeat`` times. The
pipeline's options are live mode's (``unmask_video.live.pipeline_options_for_live``: repeated frames off, as
``unmask-video live`` runs it). Prints fps, capture-to-output delay (median, p95), the median wait from decode to
the start of processing, dropped frames, the process's CPU time per frame shown (every thread's, the decoding of the
dropped frames included: far less moved by other processes' load than the wall-clock figures) and the cores it kept
busy (that CPU times the fps: near the machine's cores where the CPU is the bound), the per-stage milliseconds per frame shown of every run (decode: per frame decoded, on the
capture thread; rgb: the RGB conversion; landmarks, segment (the mask), loops (its ear loops), warp, reconstruct,
blend: the pipeline's; output: the recording's encode and write, on the outputs thread; stages on different threads overlap, so they do
not add up to the delay), and where the delay went: the median and 95th percentile of each span of a frame's way
(``unmask_video.live_stats.SPANS``: capture = in the capture's slot, locate = the worker's stages, slot = waiting
for the processing thread, process = its stages, queue = waiting for the outputs thread, output = the encoders;
these do add up to each frame's delay); then per path the medians and the ratios to the first path and to the
baseline. Skips with a message when the data folder is absent.

``--baseline-rev REV`` adds a first path, "@REV": live mode's defaults with the code of git revision REV (its files
taken with ``git archive``), so that a code change is measured against the code before it in the same run; every
run then happens in a child process of its own (the pipeline built and warmed up there).

``--startup`` (no shared data needed): the start of a session on a synthetic MPEG-TS stream with a key frame every
15 frames and with one in 250 (x264's default), with the source options of live mode (probed packets kept, a short
probe) against the former ones (``fflags=nobuffer``, a 0.5 s probe) as the baseline: seconds from the start of
``run_live`` to the first frame shown, the index of that frame in the stream, and the frames shown.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CLIP_NAME = "videos/masked/woman_puts_on_kf94_720p.mp4"
CLIP = DATA / CLIP_NAME  # replaced by --data
CLIP_START_S = 5.6  # the white KF94 mask is on and FaceMesh finds the face from here
REFERENCE_S = 1.8  # the face is bare and clean here (before about 1.6 s she holds the mask in front of it, after
# about 1.9 s its loop hangs across her cheek)
FPS = 30


class Identity:
    def warmup(self) -> None:
        pass

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        return image.copy()


def reference_frame() -> np.ndarray:
    with av.open(str(CLIP)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= REFERENCE_S:
                return frame.to_ndarray(format="rgb24")
    raise SystemExit(f"{CLIP} is shorter than {REFERENCE_S} s")


def make_pipeline(generator: str):
    """The pipeline as ``unmask-video live`` builds it (a --baseline-rev child's code
    without :func:`~unmask_video.live.pipeline_options_for_live`: its defaults, repeated frames off as its command
    turns them off; without :func:`~unmask_video.live.reconstructor_options_for_live`: the reconstructor's
    defaults)."""
    from unmask_video import live
    from unmask_video.pipeline import FramePipeline, PipelineOptions
    from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor

    options = PipelineOptions()
    for_live = getattr(live, "pipeline_options_for_live", None)
    if for_live is not None:
        options = for_live(options)
    else:
        options.repeats.enabled = False
    rebuild = ReconstructorOptions(generator=generator)
    rebuild_for_live = getattr(live, "reconstructor_options_for_live", None)  # (a --baseline-rev child's may lack it)
    if rebuild_for_live is not None:
        rebuild = rebuild_for_live(rebuild)
    return FramePipeline(reference_frame(), build_reconstructor(rebuild), options)


def live_options(path: str, **fields: object):
    """``LiveOptions`` of ``path`` (the fields this code's LiveOptions has) with ``fields``."""
    from unmask_video.live import LiveOptions

    known = {f.name for f in dataclasses.fields(LiveOptions)}  # (a --baseline-rev child's may have fewer)
    return LiveOptions(**{k: v for k, v in {**PATHS[path], **fields}.items() if k in known})


#: Live-mode paths compared in one run: name -> LiveOptions fields. old: the outputs written in turn on the
#: processing thread, every stage in turn (before issue 14); serial: the outputs on their own thread, every stage
#: in turn; landmarks: only the landmarks one frame ahead (mask and warp on the processing thread), paced; unpaced:
#: the landmarks, mask and warp one frame ahead, started as soon as the previous frame was taken; stale: a captured
#: frame older than half an interval given up for the next one (today's default); newest: the newest frame however
#: old (the default before live30); new: today's defaults (landmarks, mask and warp one frame ahead, paced; the
#: encoders fed the decoded planes); switch1ms: today's
#: defaults with Python's thread switch interval at 1 ms (``LiveOptions.switch_interval_s``), switch20ms: at 20 ms; process: the worker's
#: mask and warp in a forked process (``LiveOptions.prepare_process``).
PATHS = {
    "old": {"output_thread": False, "landmarks_ahead": False},
    "serial": {"landmarks_ahead": False},
    "landmarks": {"prepare_ahead": False},
    "unpaced": {"pace": False},
    "stale": {"stale_after": 0.5},
    "newest": {"stale_after": None},
    "new": {},
    "process": {"prepare_process": True},
    "switch1ms": {"switch_interval_s": 0.001},
    "switch20ms": {"switch_interval_s": 0.02},
}
STAGES = ("decode", "rgb", "landmarks", "segment", "loops", "warp", "reconstruct", "blend", "output")


def run_once(processor, size: str, seconds: float, workdir: Path, label: str, path: str = "new", timer=None):
    from unmask_video.live import LiveSource, run_live

    fifo = workdir / f"{label}-{size}.fifo"
    os.mkfifo(fifo)
    frames = int((seconds + 3) * FPS)  # enough for the probe, the warm-up and the measured seconds
    producer = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "live_producer.py"), str(fifo), "--clip", str(CLIP),
         "--start", str(CLIP_START_S), "--fps", str(FPS), "--frames", str(frames), "--size", size],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        stats = run_live(
            LiveSource(url=str(fifo), source_format="mpegts", open_timeout_s=30),
            processor,
            live_options(path, window=False, record=workdir / f"{label}-{size}.mkv", max_seconds=seconds, status=None,
                         timer=timer),
        )
    finally:
        if producer.poll() is None:
            producer.kill()
        producer.wait()
    return stats


@dataclasses.dataclass
class Run:
    """What the table reads of one run (a child process sends it as JSON)."""

    fps: float
    delay_median_ms: float
    delay_p95_ms: float
    wait_median_ms: float
    frames_dropped: int
    frames_captured: int
    frames_shown: int
    stage_ms: dict[str, float]
    face_share: float
    frames: int
    #: where the delay went (unmask_video.live_stats.SPANS): median and 95th percentile of each span, ms
    spans_p50: dict[str, float] = dataclasses.field(default_factory=dict)
    spans_p95: dict[str, float] = dataclasses.field(default_factory=dict)
    #: the process's CPU time (every thread: capture, worker, processing, outputs, MediaPipe's, the encoder's) per
    #: frame shown, ms: far less moved by other processes' load than the wall-clock figures
    cpu_ms: float = float("nan")

    @property
    def cores(self) -> float:
        """The cores the session kept busy: CPU per frame shown times frames shown per second (on this project's 2
        cores, near 2 where the CPU is the bound; far below where other processes take the cores)."""
        return self.cpu_ms * self.fps / 1000.0

    @classmethod
    def of(cls, stats, pipeline=None, cpu_s: float | None = None) -> "Run":
        stage_ms: dict[str, float] = {}
        if pipeline is not None:
            timer = pipeline.timer
            for name in STAGES:
                if name in timer.seconds:
                    count = stats.frames_captured if name == "decode" else stats.frames_shown
                    stage_ms[name] = timer.ms_per(name, count)
        waits = getattr(stats, "waits_ms", None) or []
        spans = getattr(stats, "span_percentiles", None)  # (a --baseline-rev child's code may not have it)
        return cls(
            stats.fps, stats.delay_median_ms, stats.delay_p95_ms, float(np.median(waits)) if waits else float("nan"),
            stats.frames_dropped, stats.frames_captured, stats.frames_shown, stage_ms,
            pipeline.stats.frames_with_face / max(pipeline.stats.frames, 1) if pipeline is not None else 0.0,
            pipeline.stats.frames if pipeline is not None else 0,
            spans(50) if spans else {}, spans(95) if spans else {},
            1000.0 * cpu_s / max(stats.frames_shown, 1) if cpu_s is not None else float("nan"),
        )  # fmt: skip


def row(label: str, run: Run) -> str:
    dropped = 100.0 * run.frames_dropped / max(run.frames_captured, 1)
    text = (
        f"  {label:<9} {run.fps:6.1f} fps  delay median {run.delay_median_ms:6.1f} ms  "
        f"p95 {run.delay_p95_ms:6.1f} ms  wait {run.wait_median_ms:5.1f} ms  "
        f"dropped {run.frames_dropped:3d}/{run.frames_captured:<3d} ({dropped:4.1f}%)  cpu {run.cpu_ms:5.1f} ms/frame "
        f"({run.cores:.2f} cores)"
    )
    if run.stage_ms:
        stages = "  ".join(f"{name} {ms:.1f}" for name, ms in run.stage_ms.items())
        text += f"\n    ms/frame: {stages}  (face found in {run.face_share:.0%} of {run.frames} frames)"
    if run.spans_p50:
        text += "\n    delay by span, median/p95 ms: " + "  ".join(
            f"{name} {run.spans_p50[name]:.1f}/{run.spans_p95.get(name, 0.0):.1f}" for name in run.spans_p50
        )
    return text


def measure(size: str, seconds: float, workdir: Path, label: str, path: str, generator: str) -> Run:
    """One run of the real pipeline on ``path`` in this process (a fresh pipeline: no tracking state carried)."""
    pipeline = make_pipeline(generator)
    pipeline.warmup()
    pipeline.timer.reset()
    cpu = time.process_time()
    stats = run_once(pipeline, size, seconds, workdir, label, path, timer=pipeline.timer)
    return Run.of(stats, pipeline, time.process_time() - cpu)


def measure_child(size: str, seconds: float, workdir: Path, label: str, path: str, generator: str,
                  tree: Path | None) -> Run:  # fmt: skip
    """:func:`measure` in a child process, with the ``unmask_video`` package of ``tree`` (a checkout of another
    revision, run with its defaults) or of this checkout (None)."""
    env = dict(os.environ, PYTHONPATH=str(tree or REPO))
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--run-child", size, str(seconds), str(workdir), label,
         "new" if tree is not None else path, generator, str(CLIP.parents[2])],
        capture_output=True, text=True, env=env, cwd=str(tree or REPO),
    )  # fmt: skip
    if child.returncode != 0:
        raise SystemExit(f"the {path} run failed: {(child.stderr.strip().splitlines() or ['?'])[-1]}")
    return Run(**json.loads(next(line for line in reversed(child.stdout.splitlines()) if line.startswith("{"))))


def child_main(size: str, seconds: str, workdir: str, label: str, path: str, generator: str, data: str) -> None:
    global CLIP
    CLIP = Path(data) / CLIP_NAME
    logging.basicConfig(level=logging.WARNING)
    import unmask_video

    logging.getLogger(__name__).info("package: %s", unmask_video.__file__)
    run = measure(size, float(seconds), Path(workdir), label, path, generator)
    print(json.dumps(dataclasses.asdict(run)))


def profile(size: str, seconds: float, generator: str, top: int = 30) -> None:
    """cProfile of one run of the serial path (every stage in turn on the profiled processing thread; the capture
    and outputs threads are not in it): the top functions by cumulative time per frame shown (the project's own
    functions and the built-in calls; run_live includes opening the source)."""
    import cProfile
    import pstats

    pipeline = make_pipeline(generator)
    pipeline.warmup()
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        profiler.enable()
        stats = run_once(pipeline, size, seconds, Path(tmp), "profile", "serial", timer=pipeline.timer)
        profiler.disable()
    frames = max(stats.frames_shown, 1)
    print(f"profile of the processing thread, serial path, {size}, {stats.frames_shown} frames "
          f"({stats.fps:.1f} fps, p95 {stats.delay_p95_ms:.0f} ms); ms per frame shown (cumulative / own):")  # fmt: skip
    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in table.items():
        if "unmask_video" in filename or filename == "~":
            label = f"{Path(filename).name}:{name}" if filename != "~" else name
            rows.append((cumulative, own, calls, label))
    for cumulative, own, calls, label in sorted(rows, reverse=True)[:top]:
        print(f"  {1000 * cumulative / frames:7.1f} {1000 * own / frames:6.1f}  {calls:6d}  {label}")


#: The source options live mode used before long key frame intervals were handled (the startup baseline).
FORMER_OPTIONS = {"fflags": "nobuffer", "flags": "low_delay", "probesize": "500000", "analyzeduration": "500000"}


def startup_once(options: dict[str, str], gop: int, tmp: Path) -> tuple[float | None, int | None, int]:
    """(seconds to the first frame shown, its index in the stream, frames shown) for one 4 s session."""
    from tests.live_producer import read_index
    from unmask_video.live import LiveOptions, LiveSource, run_live

    class First:
        name = "probe"

        def __init__(self) -> None:
            self.at: float | None = None
            self.index: int | None = None

        def open(self, width: int, height: int, fps: float) -> None:
            pass

        def write(self, image: np.ndarray, t: float) -> None:
            if self.at is None:
                self.at, self.index = time.perf_counter(), read_index(image)

        def close(self) -> None:
            pass

    fifo = tmp / f"startup_{gop}_{len(options)}.fifo"
    os.mkfifo(fifo)
    producer = subprocess.Popen([sys.executable, str(REPO / "tests" / "live_producer.py"), str(fifo), "--frames",
                                 "100", "--fps", "25", "--gop", str(gop)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
    sink = First()
    start = time.perf_counter()
    try:
        stats = run_live(LiveSource(url=str(fifo), source_format="mpegts", low_latency=False, options=dict(options)),
                         Identity(), LiveOptions(window=False, extra_outputs=[sink], status=None))  # fmt: skip
    finally:
        producer.kill()
        producer.wait()
    return (sink.at - start if sink.at else None), sink.index, stats.frames_shown


def startup(tmp: Path) -> None:
    from unmask_video.live_capture import LOW_LATENCY_OPTIONS

    print("session start on a synthetic MPEG-TS stream (100 frames at 25 fps into a named pipe):")
    for gop in (15, 250):
        rows = {name: startup_once(opts, gop, tmp) for name, opts in
                (("former", FORMER_OPTIONS), ("current", LOW_LATENCY_OPTIONS))}  # fmt: skip
        for name, (first_s, index, shown) in rows.items():
            first = f"{first_s:5.2f} s" if first_s is not None else "  never"
            print(f"  key frame every {gop:3d}  {name:<8} first frame after {first} (stream frame {index}), "
                  f"{shown:3d} of 100 shown")  # fmt: skip
        (b, _, b_shown), (c, _, c_shown) = rows["former"], rows["current"]
        ratio = f"{c / b:.2f}" if b and c else "n/a (the baseline showed nothing)" if c else "n/a"
        print(f"  key frame every {gop:3d}  ratio current/former: time to first frame {ratio}, "
              f"frames shown {c_shown}/{max(b_shown, 0)}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per run")
    parser.add_argument("--generator", default="none", help="pipeline reconstructor (none = reference composite)")
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--startup", action="store_true", help="only the session start-up comparison (no shared data)")
    parser.add_argument("--paths", default="old,new", help=f"comma-separated, of {', '.join(PATHS)}")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs of each path per size")
    parser.add_argument("--baseline-rev", default="", help="a git revision (e.g. main, HEAD~3) run as the first "
                        "path with its own defaults: every run then happens in a child process")  # fmt: skip
    parser.add_argument("--profile", default="", help="a size (e.g. 1280x720): profile the processing thread of "
                        "the serial path there (cProfile) and print the top functions")  # fmt: skip
    parser.add_argument("--run-child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_child:
        child_main(*args.run_child)
        return 0
    if args.startup:
        sys.path.insert(0, str(REPO))
        with tempfile.TemporaryDirectory() as tmp:
            startup(Path(tmp))
        return 0
    global CLIP
    CLIP = args.data / CLIP_NAME
    if not CLIP.exists():
        print(f"skipped: {CLIP} is absent (the benchmark needs ../shared/data or --data)")
        return 0
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("GLOG_minloglevel", "2")
    print(f"live latency: {CLIP.name} at {FPS} fps into a named pipe, {args.seconds:g} s per run, "
          f"{os.cpu_count()} CPU cores, generator {args.generator}")  # fmt: skip
    if args.profile:
        profile(args.profile, args.seconds, args.generator)
        return 0
    paths = args.paths.split(",")
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        raise SystemExit(f"unknown --paths {', '.join(unknown)}: use some of {', '.join(PATHS)}")
    # (imported here, in the parent: a --baseline-rev child finds an older revision's benchmarks package first)
    from benchmarks.revisions import checkout

    with tempfile.TemporaryDirectory() as tmp:
        baseline = checkout(args.baseline_rev, Path(tmp)) if args.baseline_rev else None
        if baseline is not None:
            paths = [f"@{args.baseline_rev}"] + paths
        for size in args.sizes.split(","):
            import unmask_video.live  # noqa: F401 - (imported before the identity run's CPU is counted)

            cpu = time.process_time()
            base_stats = run_once(Identity(), size, args.seconds, Path(tmp), "baseline")
            base = Run.of(base_stats, cpu_s=time.process_time() - cpu)
            print(f"{size}:")
            print(row("identity", base))
            runs: dict[str, list[Run]] = {path: [] for path in paths}
            for round_ in range(args.repeat):  # interleaved: the machine's load hits every path alike
                for path in paths:
                    label = f"{path.lstrip('@')}{round_}"
                    if baseline is None:
                        run = measure(size, args.seconds, Path(tmp), label, path, args.generator)
                    else:
                        tree = baseline if path.startswith("@") else None
                        run = measure_child(size, args.seconds, Path(tmp), label, path, args.generator, tree)
                    runs[path].append(run)
                    print(row(path, run))
            med = statistics.median
            first = runs[paths[0]]
            for path in paths:
                fps = med(r.fps for r in runs[path])
                p95 = med(r.delay_p95_ms for r in runs[path])
                stages = "  ".join(
                    f"{name} {med(r.stage_ms.get(name, 0.0) for r in runs[path]):.1f}"
                    for name in STAGES if any(name in r.stage_ms for r in runs[path])
                )  # fmt: skip
                spans = "  ".join(
                    f"{name} {med(r.spans_p50[name] for r in runs[path]):.1f}/"
                    f"{med(r.spans_p95[name] for r in runs[path]):.1f}"
                    for name in (runs[path][0].spans_p50 if all(r.spans_p50 for r in runs[path]) else {})
                )  # fmt: skip
                print(
                    f"  {path}: median fps {fps:.1f}, delay median {med(r.delay_median_ms for r in runs[path]):.0f} "
                    f"ms, p95 {p95:.0f} ms, wait {med(r.wait_median_ms for r in runs[path]):.0f} ms, cpu "
                    f"{med(r.cpu_ms for r in runs[path]):.1f} ms/frame ({med(r.cores for r in runs[path]):.2f} cores); "
                    f"x {paths[0]}: "
                    f"fps {med(r.fps / max(b.fps, 1e-9) for r, b in zip(runs[path], first)):.2f}, p95 "
                    f"{med(r.delay_p95_ms / max(b.delay_p95_ms, 1e-9) for r, b in zip(runs[path], first)):.2f}, cpu "
                    f"{med(r.cpu_ms / max(b.cpu_ms, 1e-9) for r, b in zip(runs[path], first)):.2f}; "
                    f"x identity: fps {fps / max(base.fps, 1e-9):.2f}, p95 {p95 / max(base.delay_p95_ms, 1e-9):.1f}"
                    f"\n    median ms/frame: {stages}"
                    + (f"\n    delay by span (median of the runs' median/p95 ms): {spans}" if spans else "")
                )
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - t0:.0f} s)")
    sys.exit(code)
