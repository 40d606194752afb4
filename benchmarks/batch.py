"""Batch throughput: the same clips in-process, on Ray with 1 worker and with 2 workers, in one run.

    python benchmarks/batch.py [--clips 8] [--frames 40] [--size 256] [--generator none] [--workers 2]

Makes ``--clips`` synthetic masked clips (unmask_video.synthetic; nothing is read from ../shared), then runs them
as one batch three ways, each into a fresh output folder:

- in-process (``--no-ray``): one worker in this process, the baseline;
- Ray, 1 worker: the same work plus Ray's costs (actor start, task dispatch, progress polls);
- Ray, N workers (``--workers``, default 2).

Prints, for each: the time to get the workers ready (actor processes started, models and FaceMesh loaded), the
time for the videos, the wall time, milliseconds per frame and frames per second; then Ray's start-up
(``ray.init``, paid once per batch command) and the ratios: Ray 1 worker / in-process (overhead) and
N workers / 1 worker (throughput). Speed figures are only comparable within one run of this script.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from unmask_video.batch import BatchOptions, jobs_from_manifest, run_batch
from unmask_video.batch.ray_executor import RayOptions, ray_installed, use_loopback
from unmask_video.batch.worker import Task, WorkerProgress
from unmask_video.reconstruct.factory import ReconstructorOptions
from unmask_video.runner import RunOptions
from unmask_video.synthetic import ClipSpec, make_clip


@dataclass
class Timeline:
    """An observer that notes when the workers were ready and each worker's last progress."""

    start: float = field(default_factory=time.perf_counter)
    ready: float | None = None
    last: dict[int, WorkerProgress] = field(default_factory=dict)

    def workers(self, count: int) -> None:
        self.ready = time.perf_counter()

    def started(self, task: Task) -> None:
        pass

    def update(self, snapshots: Sequence[tuple[WorkerProgress, float]]) -> None:
        for snap, _ in snapshots:
            self.last[snap.worker] = snap

    def finished(self, result) -> None:
        pass


@dataclass
class Row:
    name: str
    ready_s: float
    videos_s: float
    wall_s: float
    frames: int
    worker_fps: list[float]

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s


def make_clips(folder: Path, count: int, frames: int, size: int) -> Path:
    rows = []
    for seed in range(count):
        clip = make_clip(folder / f"c{seed}", ClipSpec(frames=frames, size=(size, size), audio_hz=None, seed=seed))
        rows.append(f"{clip.video_path},{clip.reference_path}")
    manifest = folder / "manifest.csv"
    manifest.write_text("input,reference\n" + "\n".join(rows) + "\n")
    return manifest


def one_run(name: str, manifest: Path, out: Path, template: RunOptions, use_ray: bool, workers: int) -> Row:
    jobs = jobs_from_manifest(manifest, out)
    timeline = Timeline()
    options = BatchOptions(jobs, out, template, RayOptions(workers=workers), use_ray=use_ray, quiet=True)
    outcome = run_batch(options, observer=timeline)
    end = time.perf_counter()
    bad = [r for r in outcome.results if r.status != "ok"]
    if bad:
        raise SystemExit(f"{name}: {len(bad)} video(s) failed: {bad[0].error}")
    ready = (timeline.ready or timeline.start) - timeline.start
    fps = [s.frames_all / s.busy_s for s in timeline.last.values() if s.busy_s > 0]
    return Row(name, ready, end - (timeline.ready or timeline.start), end - timeline.start,
               sum(r.frames for r in outcome.results), fps)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--generator", default="none")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if not ray_installed():
        print("ray is not installed (pip install 'unmask-video[ray]'): only the in-process path can run; skipping")
        return 0
    template = RunOptions("", "", "", reconstructor=ReconstructorOptions(generator=args.generator), quiet=True)
    with tempfile.TemporaryDirectory(prefix="batch_bench_") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        manifest = make_clips(folder, args.clips, args.frames, args.size)
        print(f"{args.clips} clips of {args.frames} frames, {args.size}x{args.size}, generator {args.generator}, "
              f"{os.cpu_count()} CPUs (made in {time.perf_counter() - t:.1f} s)")
        rows = [one_run("in-process", manifest, folder / "out_local", template, False, 1)]
        use_loopback()
        import ray

        t = time.perf_counter()
        ray.init(address="local", num_cpus=max(args.workers, 1), include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
        ray_start = time.perf_counter() - t
        try:
            rows.append(one_run("ray, 1 worker", manifest, folder / "out_ray1", template, True, 1))
            rows.append(one_run(f"ray, {args.workers} workers", manifest, folder / f"out_ray{args.workers}",
                                template, True, args.workers))
        finally:
            t = time.perf_counter()
            ray.shutdown()
            ray_stop = time.perf_counter() - t
    print(f"{'':<16}{'ready s':>9}{'videos s':>10}{'wall s':>8}{'ms/frame':>10}{'fps':>7}  per-worker fps")
    for row in rows:
        per = " ".join(f"{f:.1f}" for f in row.worker_fps)
        print(f"{row.name:<16}{row.ready_s:>9.2f}{row.videos_s:>10.2f}{row.wall_s:>8.2f}"
              f"{1000 * row.wall_s / row.frames:>10.1f}{row.fps:>7.1f}  {per}")
    local, one, many = rows
    print(f"ray.init (once per batch command): {ray_start:.2f} s; ray.shutdown: {ray_stop:.2f} s")
    print(f"Ray overhead, 1 worker / in-process, wall: {one.wall_s / local.wall_s:.2f}x "
          f"(videos only: {one.videos_s / local.videos_s:.2f}x; with ray.init: "
          f"{(one.wall_s + ray_start) / local.wall_s:.2f}x)")
    print(f"throughput, {args.workers} workers / 1 worker: {many.fps / one.fps:.2f}x "
          f"(videos only: {one.videos_s / many.videos_s:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
