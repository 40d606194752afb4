"""Live mode's delay tail: which frames make the 95th percentile of the delay, and what they did.

    python -m benchmarks.live_tail [--sizes 640x480,1280x720] [--seconds 8] [--repeat 1] [--data ../shared/data]
                                   [--clock thread|wall]

Runs live mode's default path (``benchmarks.live_latency``'s ``new``: the landmarks, mask and warp one frame ahead
on the worker, reconstruction and blend on the processing thread, the outputs on their own) on the same KF94 stream,
in this process, with a timer that keeps every stage call: when it ran, on which thread, for which frame. Each shown
frame's worker stages (rgb, landmarks, segment, loops, warp) and processing stages (reconstruct, blend) are summed
per frame, with the named steps inside them that run on some frames only (``STEPS``: the segmenter's k-means fit and
colour model, the ear loops' full search and follow, the warp's registration, the composite's carry, its light
fields measured or reused, the mask's colours, the cloth's bleed and fringe, the on-face fill, the neck side). Prints
per stage and step the median, p90, p95 and max of the milliseconds per frame (frames where it ran: how many), and
then the frames whose delay is at or above the session's p95, each with its delay, spans and the stages and steps it
ran, and the occasional steps that ran on the frames whose processing thread's CPU (and whose chain's) is at or above
its p95.

To measure another revision's code, run this file with that revision's package first on the path, e.g.
``PYTHONPATH=/path/to/other/checkout python benchmarks/live_tail.py`` (the steps it does not have are left out).
The stage timer's clock is the calling thread's CPU time (``--clock thread``, the default: what each frame's work
cost, less moved by other processes' load) or the wall clock (``--clock wall``: what it took, waits included).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

if __package__ in (None, ""):  # (run as a file: the benchmarks package of this checkout)
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # (after PYTHONPATH: another checkout's package)

from benchmarks import live_latency  # noqa: E402

#: Steps timed inside the stages: name -> (module, attribute): a function of the module (patched where it is used)
#: or a method of a class ("Class.method").
STEPS: dict[str, tuple[str, str]] = {
    "seg.still": ("unmask_video.segment", "MaskSegmenter._still"),
    "seg.fit": ("unmask_video.segment", "MaskSegmenter._fit"),
    "seg.colour": ("unmask_video.segment", "MaskSegmenter._colour_model"),
    "loops.search": ("unmask_video.ear_loops", "search_loops"),
    "loops.follow": ("unmask_video.ear_loops", "follow_loops"),
    "warp.register": ("unmask_video.warp", "ReferenceWarper._register"),
    "rc.carry": ("unmask_video.reconstruct.composite", "ReferenceComposite._carry"),
    "rc.match": ("unmask_video.reconstruct.composite", "match_color"),
    "rc.light.measure": ("unmask_video.reconstruct.color_match", "match_skin_light"),
    "rc.light.reuse": ("unmask_video.reconstruct.color_match", "match_skin_light_again"),
    "rc.colours": ("unmask_video.reconstruct.color_match", "hole_colours"),
    "rc.bleed": ("unmask_video.reconstruct.composite", "bleed_px"),
    "rc.fringe.read": ("unmask_video.reconstruct.composite", "fringe_medians"),
    "rc.fringe": ("unmask_video.reconstruct.composite", "cloth_fringe"),
    "rc.fill_on_face": ("unmask_video.reconstruct.composite", "fill_on_face"),
    "rc.neck_side": ("unmask_video.reconstruct.composite", "fade_neck_side"),
    "blend.steady": ("unmask_video.steady_face", "SteadyFace.__call__"),
}
WORKER = ("rgb", "landmarks", "segment", "loops", "warp")
PROCESS = ("reconstruct", "blend")


@dataclass
class Event:
    stage: str
    thread: int
    start: float  # wall clock (time.perf_counter)
    end: float
    ms: float  # by the timer's clock
    frame: int  # the frame of its role (worker: locate calls, processing: finish calls); -1: not known


@dataclass
class Roles:
    """Which call of the worker's and the processing thread's per-frame entry points each thread is in."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    located: int = 0  # pipeline.locate calls started (worker)
    finished: int = 0  # pipeline.finish calls started (processing)
    current: dict[int, int] = field(default_factory=dict)  # thread -> frame index


class RecordingTimer:
    """A StageTimer that also keeps each call (stage, thread, wall start / end, ms by ``clock``, frame)."""

    def __init__(self, base: Any, roles: Roles, clock: Callable[[], float]) -> None:
        self.base = base
        self.roles = roles
        self.clock = clock
        self.events: list[Event] = []

    def install(self) -> None:
        base, me = self.base, self
        original = type(base).__call__

        @contextmanager
        def call(stage: str):
            start, cpu = time.perf_counter(), me.clock()
            ident = threading.get_ident()
            frame = me.frame_of(stage, ident)
            try:
                with original(base, stage):
                    yield
            finally:
                me.events.append(Event(stage, ident, start, time.perf_counter(), 1000.0 * (me.clock() - cpu), frame))

        # (``with timer(...)`` calls the type's __call__: the timer is given a subclass of its own)
        base.__class__ = type("Recording" + type(base).__name__, (type(base),), {"__call__": lambda s, st: call(st)})

    def frame_of(self, stage: str, ident: int) -> int:
        frame = self.roles.current.get(ident, -1)
        return frame + 1 if stage == "rgb" else frame  # (the RGB conversion comes before its frame's locate)


def wrap_steps(timer: Any) -> list[tuple[Any, str, Any]]:
    """Patch every step of :data:`STEPS` that this code has with ``timer``; returns what to restore."""
    undo = []
    for name, (module_name, attr) in STEPS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        owner: Any = module
        parts = attr.split(".")
        for part in parts[:-1]:
            owner = getattr(owner, part, None)
            if owner is None:
                break
        if owner is None or not hasattr(owner, parts[-1]):
            continue
        fn = getattr(owner, parts[-1])
        undo.append((owner, parts[-1], fn))

        def timed(*args: Any, _fn: Any = fn, _name: str = name, **kwargs: Any) -> Any:
            with timer(_name):
                return _fn(*args, **kwargs)

        setattr(owner, parts[-1], timed)
    return undo


def roles_on(pipeline: Any, roles: Roles) -> None:
    """Count the pipeline's locate (worker) and finish (processing) calls, each thread's current frame."""
    locate, finish = pipeline.locate, pipeline.finish

    def counted_locate(*args: Any, **kwargs: Any) -> Any:
        with roles.lock:
            roles.current[threading.get_ident()] = roles.located
            roles.located += 1
        return locate(*args, **kwargs)

    def counted_finish(*args: Any, **kwargs: Any) -> Any:
        with roles.lock:
            roles.current[threading.get_ident()] = roles.finished
            roles.finished += 1
        return finish(*args, **kwargs)

    pipeline.locate, pipeline.finish = counted_locate, counted_finish


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    a = np.asarray(values)
    return (f"{np.median(a):6.1f} {np.percentile(a, 90):6.1f} {np.percentile(a, 95):6.1f} {a.max():6.1f}"
            f"  ({len(a)})")  # fmt: skip


def session(size: str, seconds: float, workdir: Path, label: str, clock: str) -> None:
    pipeline = live_latency.make_pipeline("none")
    pipeline.warmup()
    pipeline.timer.reset()
    roles = Roles()
    recorder = RecordingTimer(pipeline.timer, roles, time.thread_time if clock == "thread" else time.perf_counter)
    recorder.install()
    undo = wrap_steps(pipeline.timer)
    roles_on(pipeline, roles)
    try:
        stats = live_latency.run_once(pipeline, size, seconds, workdir, label, "new", timer=pipeline.timer)
    finally:
        for owner, name, fn in undo:
            setattr(owner, name, fn)
    shown = stats.frames_shown
    per: dict[str, list[float]] = defaultdict(lambda: [0.0] * shown)
    ran: dict[str, list[bool]] = defaultdict(lambda: [False] * shown)
    for e in recorder.events:
        if not 0 <= e.frame < shown:  # (the outputs' and capture's threads run no frame's locate or finish)
            continue
        per[e.stage][e.frame] += e.ms
        ran[e.stage][e.frame] = True
    # (each thread's own stages)
    on = {name: next((e.thread for e in recorder.events if e.stage == stage), None)
          for name, stage in (("worker", "landmarks"), ("process", "reconstruct"))}  # fmt: skip
    worker, process = [0.0] * shown, [0.0] * shown
    for e in recorder.events:
        if 0 <= e.frame < shown and e.stage in WORKER and e.thread == on["worker"]:
            worker[e.frame] += e.ms
        elif 0 <= e.frame < shown and e.stage in PROCESS and e.thread == on["process"]:
            process[e.frame] += e.ms
    delays = stats.delays_ms
    p95 = float(np.percentile(delays, 95)) if delays else 0.0
    print(f"{size} ({label}): {shown} frames shown, {stats.fps:.1f} fps, delay median {stats.delay_median_ms:.0f} ms,"
          f" p95 {p95:.0f} ms, max {max(delays, default=0):.0f} ms; ms per frame ({clock} clock):"
          f" median p90 p95 max (frames)")  # fmt: skip
    # (a frame's own chain: its worker's stages, then its processing thread's; what its delay is made of but the
    # waits, the capture's slot and the outputs)
    rows = [("worker", worker), ("process", process), ("chain", [w + p for w, p in zip(worker, process)])]
    rows += [(s, per[s]) for s in WORKER + PROCESS if s in per]
    rows += [(s, [v for v, r in zip(per[s], ran[s]) if r]) for s in STEPS if s in per]
    for name, values in rows:
        print(f"  {name:<17} {percentiles(values)}")
    for name, values in stats.spans_ms.items():
        print(f"  span {name:<12} {percentiles(values)}")
    tail = [i for i, d in enumerate(delays) if d >= p95]
    print(f"  frames at or above p95 ({len(tail)}): delay; spans capture/locate/slot/process/queue/output; "
          f"worker / process ms and the steps they ran")  # fmt: skip
    for i in tail:
        spans = "/".join(f"{stats.spans_ms[n][i]:.0f}" for n in stats.spans_ms)
        steps = " ".join(f"{s}:{per[s][i]:.1f}" for s in STEPS if s in per and ran[s][i])
        before = i - 1
        prev = f" prev {worker[before]:.0f}/{process[before]:.0f}" if before >= 0 else ""
        print(f"    #{i:3d} {delays[i]:5.0f} ms  {spans}  w {worker[i]:.0f} p {process[i]:.0f}{prev}  {steps}")
    # the share of frames on which each step ran, among the tail and overall
    counts = " ".join(
        f"{s} {sum(ran[s][i] for i in tail)}/{len(tail)} vs {sum(ran[s])}/{shown}" for s in STEPS if s in per
    )
    print(f"  steps ran (tail vs all): {counts}")
    # the frames whose own work was the most (at or above the p95 of the processing thread's CPU, and of the chain's):
    # which occasional steps met there, against their share of all frames
    for name, values in rows[1:3]:
        cut = float(np.percentile(values, 95))
        top = [i for i, v in enumerate(values) if v >= cut]
        counts = " ".join(f"{s} {sum(ran[s][i] for i in top)}/{len(top)}" for s in STEPS
                          if s in per and 0 < sum(ran[s]) < shown)  # fmt: skip
        print(f"  {name} at or above its p95 ({cut:.1f} ms; frames {' '.join(f'#{i}' for i in top)}): {counts}")
    pipeline.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--data", type=Path, default=live_latency.DATA)
    parser.add_argument("--clock", choices=("thread", "wall"), default="thread")
    args = parser.parse_args(argv)
    live_latency.CLIP = args.data / live_latency.CLIP_NAME
    if not live_latency.CLIP.exists():
        print(f"skipped: {live_latency.CLIP} is absent (the benchmark needs ../shared/data or --data)")
        return 0
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("GLOG_minloglevel", "2")
    import unmask_video

    print(f"package: {Path(unmask_video.__file__).parent}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            for round_ in range(args.repeat):
                session(size, args.seconds, Path(tmp), f"tail{round_}", args.clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
