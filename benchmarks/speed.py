"""Speed of the file pipeline: the old and the new path as ratios in one run, per-stage ms, fps, peak memory.

    python -m benchmarks.speed [--sizes 720p,1080p,4k] [--frames 48] [--repeat 3] [--paths old,new]
                               [--baseline-rev REV] [--generator auto] [--memory 10,60] [--profile 720p]
                               [--search 720p,4k]

Runs the real command path (PyAV decode -> landmarks -> mask -> warp -> reconstruction -> blend -> PyAV encode)
on self-made clips with one face: 720p and 1080p with the face 40 % of the frame width, 4k (3840x2160) with a
face about 300 px wide. Each "path" is a set of runner options:

- old: the runner as it was before issue 14 (serial frame loop, libx264 veryfast crf 18, encoder thread);
- new: today's defaults (RunOptions());
- serial: today's defaults with the serial frame loop (what the threaded loop alone brings);
- unsplit: today's defaults with all face stages on one thread (what the mask and warp thread brings);
- rgb-encode: today's defaults, every frame converted back from RGB as a whole (what encoding from the decoded
  YUV planes, converting only the face's changed boxes, brings);
- work400: today's defaults with the face chain of faces wider than 400 px at a working size of 400 px
  (``PipelineOptions.work_face_px``, the default); work320: at 320 px; full-face: the face chain at the frame's
  size (``work_face_px`` None, the default before);
- prepare-process: today's defaults with the mask and warp stages in a forked process instead of on a thread
  (``FrameLoopOptions.prepare_process``, off by default; used up to 720p); prepare-thread: the process turned off
  (the default today);
- decode-thread: today's defaults with the decode on a thread of its own instead of on the landmarks thread;
- switch1ms: Python's thread switch interval at 1 ms while the loop runs (``FrameLoopOptions.switch_interval_s``);
  decode-switch: that and the decode thread; bframes3: libx264 with superfast's B-frames (``EncodeOptions.bframes``
  None; today's default has none); ultrafast19: libx264 ultrafast crf 19; x264-1: x264 on one thread;
- a variant: any option of today's defaults set by its dotted name from RunOptions, ``KEY=VALUE`` (VALUE a Python
  literal), several joined by "+", e.g. ``reconstructor.composite.beside=False`` or
  ``pipeline.steady.register=False+pipeline.warp.register=0``: what one default costs;
- more can be added in PATHS below.

``--baseline-rev`` takes several revisions, comma-separated (e.g. the merges along a span, to find where the CPU
grew).

``--baseline-rev REV`` adds a first path, "@REV": the default options with the code of git revision REV (its
files taken with ``git archive``), so that a code change is measured against the code before it in the same
run; every path then runs in a child process of its own (a warm-up run, then the measured one).

The paths are interleaved (old, new, old, new, ...) ``--repeat`` times so that the load of a shared machine hits
them alike; the table shows each path's median fps and per-stage milliseconds per frame, and the median of the
back-to-back ratios fps(path) / fps(first path). Per-stage times of worker threads overlap each other: they do
not add up to the wall time.

``--memory 10,60`` runs the new path on 1080p clips (``--memory-size``) of 10 and 60 seconds (a short rendered clip
looped) in a child process each and prints the peak resident memory (and the prepare process's, at 720p) and the resident memory sampled along the run
(flat = no growth with the length). ``--profile SIZE`` prints the top functions (cProfile, serial loop so that
every stage is on the profiled thread) of the new path at SIZE. ``--search 720p,4k`` times the tracker's first face
search on each size's first frame against the whole search plan (what the first search cost before it stopped at
the level that fills the free places). This is a benchmark, not a test: it asserts
nothing.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import dataclasses
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

os.environ.setdefault("GLOG_minloglevel", "2")


def _name_this_thread(name: str) -> None:
    """``timing.name_os_thread`` (kept here: a --baseline-rev child imports an older package that may lack it)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(f"uv-{name}"[:15])
    except OSError:
        pass


_name_this_thread("import")  # the native threads libraries start at import (OpenBLAS's) are named after this

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.frame_loop import FrameLoopOptions  # noqa: E402
from unmask_video.native_log import filter_native_stderr  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions  # noqa: E402
from unmask_video.runner import RunOptions, RunSummary, run_file  # noqa: E402
from unmask_video.summary import STAGE_ORDER  # noqa: E402
from unmask_video.synthetic import ClipSpec, make_clip, make_reference  # noqa: E402
from unmask_video.io import EncodeOptions  # noqa: E402


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    face_width: float  # fraction of the frame width


SIZES = {
    "480p": Size(854, 480, 0.4),
    "720p": Size(1280, 720, 0.4),
    "1080p": Size(1920, 1080, 0.4),
    "4k": Size(3840, 2160, 300 / 3840),
}


def _old(options: RunOptions) -> None:
    options.loop = FrameLoopOptions(threads=False)
    options.encode = EncodeOptions(preset="veryfast", crf=18, threads=0, reuse_decoded_planes=False, bframes=None)
    options.encode_queue = 3


def _new(options: RunOptions) -> None:
    pass


def _serial(options: RunOptions) -> None:
    options.loop = FrameLoopOptions(threads=False)


def _unsplit(options: RunOptions) -> None:
    options.loop = FrameLoopOptions(split_face_stages=False)


def _rgb_encode(options: RunOptions) -> None:
    options.encode.reuse_decoded_planes = False


def _work400(options: RunOptions) -> None:
    options.pipeline.work_face_px = 400.0


def _work320(options: RunOptions) -> None:
    options.pipeline.work_face_px = 320.0


def _full_face(options: RunOptions) -> None:
    options.pipeline.work_face_px = None


def _prepare_thread(options: RunOptions) -> None:
    options.loop.prepare_process = False


def _prepare_process(options: RunOptions) -> None:
    options.loop.prepare_process = True


def _decode_thread(options: RunOptions) -> None:
    options.loop.decode_thread = True


def _switch1ms(options: RunOptions) -> None:
    options.loop.switch_interval_s = 0.001


def _decode_switch(options: RunOptions) -> None:
    options.loop.decode_thread, options.loop.switch_interval_s = True, 0.001


def _bframes3(options: RunOptions) -> None:
    options.encode.bframes = None  # (superfast's own: 3)


def _ultrafast19(options: RunOptions) -> None:
    options.encode.preset, options.encode.crf = "ultrafast", 19


def _x264_1(options: RunOptions) -> None:
    options.encode.threads = 1


def _one_resample(options: RunOptions) -> None:
    options.pipeline.tracker.one_resample = True


#: name -> what it changes in RunOptions() (the defaults).
PATHS: dict[str, Callable[[RunOptions], None]] = {
    "old": _old, "new": _new, "serial": _serial, "unsplit": _unsplit, "rgb-encode": _rgb_encode, "work400": _work400,
    "work320": _work320, "full-face": _full_face,
    "prepare-thread": _prepare_thread, "prepare-process": _prepare_process, "decode-thread": _decode_thread,
    "switch1ms": _switch1ms, "decode-switch": _decode_switch, "bframes3": _bframes3, "ultrafast19": _ultrafast19, "x264-1": _x264_1,
    "one-resample": _one_resample,
}


@dataclass
class Clip:
    video: Path
    reference: Path


def make_bench_clip(folder: Path, size: Size, frames: int) -> Clip:
    """Render a clip (only its files are kept: the ground-truth arrays of a 4k clip are gigabytes)."""
    clip = make_clip(folder, ClipSpec(frames=frames, size=(size.width, size.height), audio_hz=None,
                                      face_width=size.face_width))  # fmt: skip
    reference = clip.reference_path
    if size.face_width * size.width < 400:  # a small face in a big frame: take the photo at a portrait's scale
        image, _ = make_reference((720, 720), 0.45)
        reference = folder / "reference_portrait.png"
        cv2.imwrite(str(reference), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return Clip(clip.video_path, reference)


GROUPS = ("face", "prepare", "landmarks", "decode", "encode", "opencv", "other")


class ThreadCpu:
    """CPU seconds per group of threads of this process over a ``with`` block, from /proc/self/task (Linux).

    Polled every :attr:`POLL_S` (a thread that ends keeps all but its last moments). Threads are grouped by their OS name
    (``timing.name_os_thread``: native threads inherit the name of the thread that starts them): "face" (the
    calling thread: the face stages, and everything Python does in the serial loop), "prepare" (the mask and warp
    stages' thread when the face stages are split; with the prepare process, the threads that feed it and, added by
    :func:`run`, the process's own CPU), "landmarks" (the landmarks
    thread and MediaPipe's threads), "decode" (the decode thread and libavcodec's), "encode" (the writer thread
    and x264's threads, which it starts), "opencv" (OpenCV's pool: the parallel parts of OpenCV calls from every
    thread; :func:`start_opencv_pool` names it), "other" (anything else, e.g. native threads the calling thread
    started while the pipeline was set up).
    """

    #: Seconds between two polls: often enough that a thread that ends loses little, rarely enough that the poller's
    #: own CPU (one /proc read per thread per poll) stays small; it is measured (:attr:`own_s`) and left out of the
    #: process's CPU by :func:`run`.
    POLL_S = 0.1

    def __init__(self) -> None:
        self.available = Path("/proc/self/task").is_dir()
        self._tick = os.sysconf("SC_CLK_TCK") if self.available else 1
        self._start: dict[str, float] = {}
        self._last: dict[str, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._me = ""
        self.groups: dict[str, float] = {}
        #: CPU seconds the polling thread itself used (not the pipeline's).
        self.own_s = 0.0

    def _snap(self) -> None:
        main = str(threading.main_thread().native_id)
        for tid in os.listdir("/proc/self/task"):
            if tid == self._me:
                continue
            try:  # one read per thread: its stat holds the name too, "tid (name) state ..."
                fd = os.open(f"/proc/self/task/{tid}/stat", os.O_RDONLY)
                try:
                    text = os.read(fd, 1024)
                finally:
                    os.close(fd)
            except OSError:
                continue  # the thread ended
            head, _, rest = text.rpartition(b")")
            comm = head.partition(b"(")[2].decode(errors="replace")
            try:  # the thread's CPU clock, in ns (its stat's user and system ticks are whole 10 ms: a run of some
                # twenty threads lost up to 0.4 s to their rounding, the speed table's CPU not in any group)
                cpu = time.clock_gettime(_thread_cpu_clock(int(tid)))
            except OSError:
                fields = rest.split()
                cpu = (int(fields[11]) + int(fields[12])) / self._tick
            self._last[tid] = ("face" if tid == main else comm, cpu)

    def _poll(self) -> None:
        self._me = str(threading.get_native_id())
        start = time.thread_time()
        while not self._stop.wait(self.POLL_S):
            self._snap()
        self.own_s = time.thread_time() - start

    def __enter__(self) -> "ThreadCpu":
        if self.available:
            self._snap()
            self._start = {tid: cpu for tid, (_, cpu) in self._last.items()}
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.available:
            return
        self._stop.set()
        self._thread.join()
        self._snap()
        for tid, (name, cpu) in self._last.items():
            group = _group(name)
            self.groups[group] = self.groups.get(group, 0.0) + cpu - self._start.get(tid, 0.0)


def _thread_cpu_clock(tid: int) -> int:
    """The CPU-time clock id of thread ``tid`` of this process (Linux: ``pthread_getcpuclockid``'s encoding of a
    thread id, CPUCLOCK_SCHED with the per-thread flag), for ``time.clock_gettime``."""
    return (~tid << 3) | 6


def _group(name: str) -> str:
    if name == "face":
        return "face"
    if name.startswith("uv-prepare"):
        return "prepare"
    if name.startswith(("uv-landmarks", "mediapipe")):
        return "landmarks"
    if name.startswith(("uv-decode", "av:")):
        return "decode"
    if name.startswith("uv-encode"):
        return "encode"
    if name.startswith("uv-opencv"):
        return "opencv"
    return "other"


def start_opencv_pool() -> None:
    """Start OpenCV's thread pool from a thread named "opencv", so that its threads carry that name (the pool
    is started once, by the first OpenCV call that runs in parallel, and serves every thread afterwards)."""

    def start() -> None:
        _name_this_thread("opencv")
        image = np.zeros((1080, 1920, 3), np.uint8)
        for _ in range(3):
            cv2.GaussianBlur(image, (9, 9), 2.0)
            cv2.resize(image, (960, 540), interpolation=cv2.INTER_AREA)

    thread = threading.Thread(target=start, name="opencv-pool-start")
    thread.start()
    thread.join()


@dataclass
class Measured:
    """What the table reads of a run's RunSummary (a child process sends it as JSON)."""

    frames: int
    frames_with_face: int
    fps: float
    stages: dict[str, float]  # seconds per timer stage
    #: Seconds from the call of ``run_file`` to the first frame handed to the writer (the set-up and the first frame's
    #: stages; None: no frame).
    first_s: float | None = None

    @classmethod
    def of(cls, summary: RunSummary, first_s: float | None = None) -> "Measured":
        return cls(summary.frames, summary.frames_with_face, summary.fps, dict(summary.timer.seconds), first_s)

    def ms_per(self, stage: str) -> float:
        return 1000.0 * self.stages.get(stage, 0.0) / max(self.frames, 1)


@dataclass
class Result:
    summary: Measured
    threaded: bool  # the threaded frame loop (decode and landmarks off the calling thread)
    cpu_s: float  # CPU time of the whole process (every thread: MediaPipe's, x264's...)
    groups: dict[str, float]  # CPU seconds per thread group (ThreadCpu), empty where /proc is absent
    #: CPU seconds of the whole process from the :data:`STEADY_FROM`-th frame handed to the writer to the end, and
    #: the frames written after it (None, 0: the run was shorter): the run without its start (the models' graphs,
    #: the reference's set-up, the first frames' waits), which a 60-frame clip counts as a sixth of its CPU.
    steady_cpu_s: float | None = None
    steady_frames: int = 0

    @property
    def fps(self) -> float:
        return self.summary.fps

    def ms(self, seconds: float) -> float:
        return 1000 * seconds / max(self.summary.frames, 1)

    def cpu_ms(self) -> float:
        return self.ms(self.cpu_s)

    def critical_ms(self) -> float:
        """CPU ms per frame of the longest chain of work that cannot overlap: in the serial loop the calling
        thread waits for the decoder and for MediaPipe, so their CPU adds up with its own; in the threaded loop
        each group has its own thread. The encoder has its own thread in both."""
        g = {k: self.ms(v) for k, v in self.groups.items()}
        face, prepare, landmarks, decode, encode = (
            g.get(k, 0.0) for k in ("face", "prepare", "landmarks", "decode", "encode")
        )  # fmt: skip
        # (OpenCV's pool runs parts of the other threads' calls alongside them: not a chain of its own)
        if self.threaded:
            return max(face, prepare, landmarks, decode, encode)
        return max(face + prepare + landmarks + decode, encode)

    def free_fps(self, cores: int = 2) -> float:
        """What this run's CPU use allows on ``cores`` otherwise idle cores: no faster than its critical chain,
        and all threads together on at most ``cores`` (a model: perfect overlap, no contention)."""
        return 1000 / max(self.critical_ms(), self.cpu_ms() / cores, 1e-9)

    def steady_cpu_ms(self) -> float | None:
        """CPU ms of the whole process per frame after the first :data:`STEADY_FROM` (None: too short a run)."""
        if self.steady_cpu_s is None or self.steady_frames <= 0:
            return None
        return 1000 * self.steady_cpu_s / self.steady_frames

    def steady_free_fps(self, cores: int = 2) -> float | None:
        """:meth:`free_fps` with the CPU per frame after the first :data:`STEADY_FROM` frames (the chain as a whole)."""
        steady = self.steady_cpu_ms()
        return None if steady is None else 1000 / max(self.critical_ms(), steady / cores, 1e-9)


#: Frames handed to the writer before the steady part of a run starts (:attr:`Result.steady_cpu_s`).
STEADY_FROM = 10


class FirstFrame:
    """A :class:`~unmask_video.runner.FrameSink` for ``run_file``'s ``progress`` that keeps when the first frame was
    handed to the writer, in seconds from this object's creation (the run's start), and the process's CPU seconds
    and the time when the :data:`STEADY_FROM`-th was."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self.first_s: float | None = None
        self.frames = 0
        #: (process CPU s, perf_counter s, frames written) when :data:`STEADY_FROM` frames had been handed over.
        self.steady_mark: tuple[float, float, int] | None = None

    def advance(self, frames: int) -> None:
        if self.first_s is None and frames > 0:
            self.first_s = time.perf_counter() - self._start
        self.frames += frames
        if self.steady_mark is None and self.frames >= STEADY_FROM:
            self.steady_mark = (_cpu_s(), time.perf_counter(), self.frames)

    def progress(self, total: int | None) -> "FirstFrame":  # (run_file's ProgressFactory: a context manager)
        return self

    def __enter__(self) -> "FirstFrame":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run(clip: Clip, out: Path, path: str, generator: str, batch: int = 1) -> Result:
    options = run_options(clip, out, path, generator, batch)
    cpu, children = _cpu_s(), _cpu_s(resource.RUSAGE_CHILDREN)
    first = FirstFrame()
    start = time.perf_counter()
    with ThreadCpu() as threads:
        summary = run_file(options, progress=first.progress)
    end, end_cpu = time.perf_counter(), _cpu_s()
    # The forked prepare process (``FrameLoopOptions.prepare_process``), ended and waited for by the end of the run:
    # its CPU counts with the process's, in the "prepare" group.
    child = _cpu_s(resource.RUSAGE_CHILDREN) - children
    if child > 0:
        threads.groups["prepare"] = threads.groups.get("prepare", 0.0) + child
    # (the poller's own CPU is the benchmark's, not the pipeline's: left out of the process's)
    steady_cpu, steady_frames = None, 0
    if first.steady_mark is not None and summary.frames > first.steady_mark[2]:
        at_cpu, at_time, at_frames = first.steady_mark
        share = (end - at_time) / max(end - start, 1e-9)  # (the poller's CPU and the prepare process's, pro rata)
        steady_cpu = end_cpu - at_cpu + (child - threads.own_s) * share
        steady_frames = summary.frames - at_frames
    return Result(Measured.of(summary, first.first_s), options.loop.threads, end_cpu - cpu + child - threads.own_s,
                  threads.groups, steady_cpu, steady_frames)  # fmt: skip


def run_child(clip: Clip, out: Path, path: str, generator: str, tree: Path | None) -> Result:
    """``run`` in a child process (after a warm-up run there), with the ``unmask_video`` package of ``tree``
    (a checkout of another revision) or of this checkout (None)."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(tree or root))
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--run-child", str(clip.video), str(clip.reference),
         str(out), path if tree is None else "new", generator],
        capture_output=True, text=True, env=env, cwd=str(tree or root),
    )  # fmt: skip
    if child.returncode != 0:
        raise SystemExit(f"the {path} run failed: {(child.stderr.strip().splitlines() or ['?'])[-1]}")
    data = json.loads(child.stdout.strip().splitlines()[-1])
    return Result(Measured(**data["summary"]), data["threaded"], data["cpu_s"], data["groups"],
                  data.get("steady_cpu_s"), data.get("steady_frames", 0))  # fmt: skip


def child_main(video: str, reference: str, out: str, path: str, generator: str) -> None:
    """One warm-up run and one measured run in this process; prints the measured one as JSON."""
    clip = Clip(Path(video), Path(reference))
    _name_this_thread("main")
    start_opencv_pool()
    run(clip, Path(out), path, generator)
    result = run(clip, Path(out), path, generator)
    print(json.dumps({"summary": vars(result.summary), "threaded": result.threaded, "cpu_s": result.cpu_s,
                      "groups": result.groups, "steady_cpu_s": result.steady_cpu_s,
                      "steady_frames": result.steady_frames}))  # fmt: skip


def _parse_value(text: str) -> object:
    """A variant's value: a Python literal (None, True, 0.5, (1, 2), 'x'), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _with(owner: object, keys: list[str], value: object, variant: str) -> object:
    """``owner`` with the option at ``keys`` set to ``value``: set in place, or a copy where it is frozen."""
    if not hasattr(owner, keys[0]):
        raise SystemExit(f"--paths {variant}: {type(owner).__name__} has no option {keys[0]!r}")
    if len(keys) > 1:
        value = _with(getattr(owner, keys[0]), keys[1:], value, variant)
    try:
        setattr(owner, keys[0], value)
        return owner
    except dataclasses.FrozenInstanceError:
        return dataclasses.replace(owner, **{keys[0]: value})  # type: ignore[type-var]


def set_variant(options: RunOptions, variant: str) -> None:
    """Set options of ``options`` by ``KEY=VALUE`` items joined with "+", KEY dotted from RunOptions (e.g.
    ``reconstructor.composite.across=0``, ``reconstructor.composite.outside.band_fill=False``)."""
    for item in variant.split("+"):
        key, _, text = item.partition("=")
        _with(options, key.strip().split("."), _parse_value(text.strip()), variant)


def apply_path(options: RunOptions, path: str) -> None:
    """A named path of PATHS, or a variant of today's defaults, ``KEY=VALUE`` (see :func:`set_variant`)."""
    if "=" in path:
        set_variant(options, path)
    else:
        PATHS[path](options)


def run_options(clip: Clip, out: Path, path: str, generator: str, batch: int = 1) -> RunOptions:
    options = RunOptions(
        input=str(clip.video),
        output=str(out),
        reference=str(clip.reference),
        reconstructor=ReconstructorOptions(generator=generator),
        batch=batch,
        quiet=True,
        overwrite=True,
    )
    apply_path(options, path)
    return options


def run_summary(clip: Clip, out: Path, path: str, generator: str, batch: int = 1) -> RunSummary:
    return run_file(run_options(clip, out, path, generator, batch))


def speed_table(args: argparse.Namespace, tmp: Path, console: Console) -> None:
    # (imported here, in the parent: a --baseline-rev child finds an older revision's benchmarks package first)
    from benchmarks.revisions import checkout

    paths = args.paths.split(",")
    revs = [rev for rev in args.baseline_rev.split(",") if rev]
    trees = {f"@{rev}": checkout(rev, tmp) for rev in revs}  # "@REV" -> that revision's files
    paths = list(trees) + paths
    for name in args.sizes.split(","):
        table = Table(title=f"{name}: {os.cpu_count()} cores, medians of {args.repeat} interleaved runs")
        for column in ("size", "face px", "path", "faces found"):
            table.add_column(column, overflow="fold")  # (a variant's name is long: folded, not cut)
        for stage in STAGE_ORDER:
            table.add_column(f"{stage}", justify="right")
        table.add_column("fps", justify="right")
        table.add_column("first frame ms", justify="right")
        table.add_column(f"x {paths[0]}", justify="right")
        table.add_column("CPU ms/f", justify="right")
        for group in GROUPS:
            table.add_column(f"{group} CPU", justify="right")
        table.add_column("chain CPU", justify="right")
        table.add_column("fps on 2 free cores", justify="right")
        table.add_column(f"x {paths[0]} ", justify="right")
        table.add_column(f"CPU ms/f from frame {STEADY_FROM}", justify="right")
        table.add_column(f"fps on 2 free cores from frame {STEADY_FROM}", justify="right")
        size = SIZES[name]
        clip = make_bench_clip(tmp / name, size, args.frames)
        if not trees:
            run(clip, tmp / "warm.mp4", paths[-1], args.generator)  # warm-up: FaceMesh graph, allocators, caches
        results: dict[str, list[Result]] = {p: [] for p in paths}
        for _ in range(args.repeat):
            for path in paths:
                out = tmp / f"{name}-{len(results[path])}-{paths.index(path)}.mp4"
                if not trees:
                    results[path].append(run(clip, out, path, args.generator))
                else:  # every path in a child process of its own, a baseline with its old revision's package
                    results[path].append(run_child(clip, out, path, args.generator, trees.get(path)))
        for path in paths:
            runs = results[path]
            ratios = [r.fps / b.fps for r, b in zip(runs, results[paths[0]]) if b.fps > 0]
            free_ratios = [r.free_fps() / b.free_fps() for r, b in zip(runs, results[paths[0]])]
            summaries = [r.summary for r in runs]
            cells = [
                f"{statistics.median(r.ms_per(stage) for r in summaries):.1f}" if stage in summaries[0].stages else "-"
                for stage in STAGE_ORDER
            ]  # fmt: skip
            found = f"{summaries[-1].frames_with_face}/{summaries[-1].frames}"
            med = statistics.median
            table.add_row(name, f"{size.face_width * size.width:.0f}", path, found, *cells,
                          f"{med(r.fps for r in runs):.1f}", _first_ms(summaries), f"{med(ratios):.2f}",
                          f"{med(r.cpu_ms() for r in runs):.1f}",
                          *(f"{med(r.ms(r.groups.get(g, 0.0)) for r in runs):.1f}"
                            for g in GROUPS),
                          f"{med(r.critical_ms() for r in runs):.1f}",
                          f"{med(r.free_fps() for r in runs):.1f}", f"{med(free_ratios):.2f}",
                          _median_of([r.steady_cpu_ms() for r in runs]),
                          _median_of([r.steady_free_fps() for r in runs]))  # fmt: skip
        console.print(table)
    console.print(
        "ms per frame per stage (medians). fps = frames / wall time of the whole run (open, decode, all stages, "
        "encode, close). first frame: ms from the run's start (reader, reference set-up) to the first frame "
        "handed to the writer. 'decode', 'landmarks', 'segment', 'loops' (the ear loops) and 'warp' run on their own threads in the threaded loop, 'encode' on the "
        "encoder thread: 'input wait' and 'encode wait' are what the face-stage thread lost waiting for them. "
        f"x {paths[0]}: median of the back-to-back fps ratios. CPU ms/f: CPU time of the whole process per frame "
        "(all threads, and the forked prepare process), then per thread group: face (the calling thread), prepare (the mask and warp thread, or the prepare process and the threads that feed it), "
        "landmarks (its thread + MediaPipe's), decode (its thread + libavcodec's), encode (the writer thread + "
        "x264's), opencv (OpenCV's pool: the "
        "parallel parts of OpenCV calls, mostly the face stages'), other (the run's set-up threads, once a run: "
        "the reference's warper set-up, its covered check, the colour tables). chain: the CPU ms of the longest chain that cannot overlap (serial loop: face + "
        "landmarks + decode; threaded: the largest of face, prepare, landmarks, decode, encode). On a shared, loaded machine the wall time mostly measures the load; 'fps on 2 free "
        "cores' = 1000 / max(chain, CPU / 2) is what the CPU use allows on 2 idle cores (a model, not a "
        "measurement: perfect overlap, no contention). 'from frame N': the process's CPU per frame after the N-th "
        "frame was handed to the writer (the run without its start: the models' graphs, the reference's set-up), "
        "and the fps that allows (the chain as above)."
    )


def _median_of(values: list[float | None]) -> str:
    """The median of the values that are not None, one decimal ("-" where none is)."""
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.1f}" if known else "-"


def _first_ms(summaries: list[Measured]) -> str:
    """The median time to the first frame of ``summaries``, in ms ("-" where no run wrote a frame)."""
    times = [s.first_s for s in summaries if s.first_s is not None]
    return f"{1000 * statistics.median(times):.0f}" if times else "-"


# -- memory ----------------------------------------------------------------------------------------------------


def loop_clip(short: Clip, seconds: float, fps: int, out: Path) -> Path:
    """``short``'s frames played forwards and backwards until ``seconds`` long, re-encoded (libx264 crf 12)."""
    with av.open(str(short.video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    total = int(round(seconds * fps))
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.codec_context.options = {"crf": "12", "preset": "ultrafast"}
        for i in range(total):
            frame = av.VideoFrame.from_ndarray(frames[order[i % len(order)]], format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(video: str, reference: str, out: str, path: str, generator: str) -> None:
    """Run one file in this process and print JSON: peak RSS and RSS samples (MiB) along the run."""
    import resource

    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        start = time.perf_counter()
        while not done.wait(0.25):
            samples.append((time.perf_counter() - start, _rss_bytes() / 2**20))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = run_summary(Clip(Path(video), Path(reference)), Path(out), path, generator)
    done.set()
    sampler.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    # The prepare process's peak, where there is one and it is above that of any child before the run (a tool run
    # at import time may have been as large): else 0.
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    child = children / 1024 if children > children_before else 0.0
    print(json.dumps({"peak_mib": peak, "child_peak_mib": child, "samples": samples, "frames": summary.frames,
                      "fps": summary.fps}))  # fmt: skip


def memory_table(args: argparse.Namespace, tmp: Path, console: Console) -> None:
    if not Path("/proc/self/statm").exists():
        console.print("memory: skipped (needs Linux /proc to sample the resident memory)")
        return
    fps = 25
    short = make_bench_clip(tmp / "memory", SIZES[args.memory_size], 48)
    table = Table(title=f"peak resident memory, {args.memory_size}, new path (child process per clip)")
    for column in ("clip", "frames", "fps", "peak MiB", "prepare process peak MiB",
                   "RSS at 25 / 50 / 75 / 100 % of the run, MiB"):  # fmt: skip
        table.add_column(column, justify="right")
    for seconds in (float(s) for s in args.memory.split(",")):
        video = loop_clip(short, seconds, fps, tmp / f"memory_{seconds:g}s.mp4")
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.speed", "--memory-child", str(video), str(short.reference),
             str(tmp / "memory_out.mp4"), "new", args.generator],
            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
        if child.returncode != 0:
            console.print(f"memory run of {seconds:g} s failed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(child.stdout.strip().splitlines()[-1])
        rss = [mib for _, mib in result["samples"]] or [0.0]
        quarters = " / ".join(f"{rss[min(len(rss) - 1, int(q * (len(rss) - 1)))]:.0f}" for q in (0.25, 0.5, 0.75, 1.0))
        child_peak = result.get("child_peak_mib", 0.0)
        table.add_row(f"{seconds:g} s", str(result["frames"]), f"{result['fps']:.1f}", f"{result['peak_mib']:.0f}",
                      f"{child_peak:.0f}" if child_peak else "-", quarters)  # fmt: skip
    console.print(table)


# -- first face search ----------------------------------------------------------------------------------------


def search_table(args: argparse.Namespace, tmp: Path, console: Console) -> None:
    """The tracker's first search on the first frame of each size's clip (one face), against the whole search plan
    (every level, as the first search ran before it stopped at the level that fills the free places)."""
    from unmask_video.landmarks import FaceTracker, TrackerOptions

    table = Table(title="first face search, one face (CPU of the process, median of --repeat)")
    for column in ("size", "face px", "passes now", "now: ms CPU (incl. its landmarks)", "passes whole plan",
                   "whole plan: ms CPU (detection only)", "x whole"):  # fmt: skip
        table.add_column(column, justify="right")
    for name in [n for n in args.search.split(",") if n]:
        size = SIZES[name]
        clip = make_bench_clip(tmp / f"search_{name}", size, 2)
        with av.open(str(clip.video)) as container:
            image = next(container.decode(video=0)).to_ndarray(format="rgb24")
        now, whole, passes = [], [], (0, 0)
        for _ in range(max(1, args.repeat)):
            with FaceTracker(TrackerOptions()) as tracker:
                start = time.process_time()
                tracker.track_faces(image, 0.0)
                now.append(time.process_time() - start)
                first = tracker.detector_passes
                detector = tracker._detector
                assert detector is not None
                start = time.process_time()
                detector.detect(image, TrackerOptions().min_face_size)
                whole.append(time.process_time() - start)
                passes = (first, detector.passes - first)
        a, b = statistics.median(now), statistics.median(whole)
        table.add_row(name, f"{size.face_width * size.width:.0f}", str(passes[0]), f"{1000 * a:.0f}", str(passes[1]),
                      f"{1000 * b:.0f}", f"{b / a:.1f}")  # fmt: skip
    console.print(table)


# -- profile ---------------------------------------------------------------------------------------------------


def profile(args: argparse.Namespace, tmp: Path, console: Console) -> None:
    size = SIZES[args.profile]
    clip = make_bench_clip(tmp / f"profile_{args.profile}", size, args.frames)
    run(clip, tmp / "warm.mp4", "serial", args.generator)
    profiler = cProfile.Profile()
    profiler.enable()
    summary = run_summary(clip, tmp / "profile.mp4", "serial", args.generator)
    profiler.disable()
    console.print(f"profile: new path, serial loop, {args.profile}, {summary.frames} frames, {summary.fps:.1f} fps "
                  "(calling thread; the encoder thread's own time is 'encode' above)")  # fmt: skip
    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:18]  # type: ignore[attr-defined]
    table = Table(title="top functions by own time (ms per frame)")
    for column in ("function", "own ms", "cumulative ms", "calls/frame"):
        table.add_column(column, justify="left" if column == "function" else "right")
    for (file, line, func), (_, calls, own, cum, _) in rows:
        where = f"{Path(file).name}:{line}({func})" if file != "~" else func
        table.add_row(where, f"{1000 * own / summary.frames:.1f}", f"{1000 * cum / summary.frames:.1f}",
                      f"{calls / summary.frames:.1f}")  # fmt: skip
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="720p,1080p,4k", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each path per size")
    parser.add_argument("--paths", default="old,new", help=f"comma-separated, of {', '.join(PATHS)}, or a variant "
                        "of today's defaults, KEY=VALUE with KEY dotted from RunOptions (e.g. "
                        "reconstructor.composite.across=0; several joined by +); the first is the baseline of the "
                        "ratios")  # fmt: skip
    parser.add_argument("--generator", default=ReconstructorOptions().generator)
    parser.add_argument("--memory", default="", help="clip lengths in seconds for the memory runs, e.g. 10,60")
    parser.add_argument("--memory-size", default="1080p", choices=list(SIZES), help="the memory runs' frame size "
                        "(720p: with the prepare process)")  # fmt: skip
    parser.add_argument("--profile", default="", help="a size to profile, e.g. 720p")
    parser.add_argument("--search", default="", help="sizes whose first face search to time, e.g. 720p,4k")
    parser.add_argument("--baseline-rev", default="", help="git revisions (e.g. main,HEAD~3), comma-separated, run "
                        "as the first paths, with the default options of each revision's code: every path then runs "
                        "in a child process of its own (one warm-up run each)")  # fmt: skip
    parser.add_argument("--memory-child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--run-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    filter_native_stderr()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    if args.run_child:
        child_main(*args.run_child)
        return
    console = Console(width=260)
    _name_this_thread("main")  # (native threads it starts while setting up show as "other")
    start_opencv_pool()
    with tempfile.TemporaryDirectory() as tmp:
        if args.sizes:
            speed_table(args, Path(tmp), console)
        if args.search:
            search_table(args, Path(tmp), console)
        if args.memory:
            memory_table(args, Path(tmp), console)
        if args.profile:
            profile(args, Path(tmp), console)


if __name__ == "__main__":
    main()
