"""A whole batch: plan it against the earlier report, run what is left on Ray or in-process, write the report,
show the progress and the summary, and give the exit code (0 all ok, 1 some failed)."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rich.console import Console

from unmask_video.batch.display import BatchDisplay, NullObserver, Observer, summary_table
from unmask_video.batch.leftovers import remove_partials
from unmask_video.batch.local_executor import run_local
from unmask_video.batch.manifest import Job
from unmask_video.batch.ray_executor import RayOptions, check_reachable, ray_installed, run_ray
from unmask_video.batch.report import FAILED, OK, REPORT_NAME, SKIPPED, ReportWriter, VideoResult, read_report
from unmask_video.batch.resume import KEEP_FAILED, RUN, carried_result, plan
from unmask_video.batch.worker import Task, WorkerProgress
from unmask_video.errors import InputError
from unmask_video.runner import RunOptions

log = logging.getLogger(__name__)

#: Outputs named in the one-line error about outputs that already exist.
MAX_LISTED_OUTPUTS = 5


@dataclass
class BatchOptions:
    jobs: list[Job]
    out_dir: Path
    #: File-mode options for every video (its input, output and reference are set per job).
    template: RunOptions
    ray: RayOptions = field(default_factory=RayOptions)
    #: None: Ray when it is installed; False: in this process; True: Ray, or an error when it is not installed.
    use_ray: bool | None = None
    retry_failed: bool = False
    overwrite: bool = False
    quiet: bool = False


@dataclass
class BatchOutcome:
    results: list[VideoResult]  # one per job, in manifest order
    seconds: float
    executor: str  # "ray" or "in-process"
    workers: dict[int, WorkerProgress] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_code(self) -> int:
        return 1 if self.count(FAILED) else 0


class _FanOut:
    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = observers

    def __getattr__(self, name: str):
        def call(*args: object) -> None:
            for observer in self.observers:
                getattr(observer, name)(*args)

        return call


def _choose_executor(options: BatchOptions) -> bool:
    installed = ray_installed()
    if options.use_ray and not installed:
        raise InputError("Ray is not installed: pip install 'unmask-video[ray]' (or leave out --ray)")
    if options.use_ray and options.ray.address:
        check_reachable(options.ray.address)  # before the display starts: Ray itself would retry for minutes
    if options.use_ray is False:
        log.info("running the videos one after another in this process (--no-ray)")
        return False
    if not installed:
        log.warning(
            "Ray is not installed: running the %d videos one after another in this process "
            "(pip install 'unmask-video[ray]' to run them in parallel)",
            len(options.jobs),
        )
    return installed


def run_batch(options: BatchOptions, observer: Observer | None = None) -> BatchOutcome:
    """Run the batch; raises :class:`InputError` (before any work) for outputs that exist and may not be replaced."""
    start = time.perf_counter()
    report_path = options.out_dir / REPORT_NAME
    previous = read_report(report_path)
    planned, problems = plan(options.jobs, options.template, previous, options.retry_failed, options.overwrite)
    if problems:
        shown = "; ".join(problems[:MAX_LISTED_OUTPUTS])
        more = f" and {len(problems) - MAX_LISTED_OUTPUTS} more" if len(problems) > MAX_LISTED_OUTPUTS else ""
        raise InputError(
            f"{len(problems)} output(s) already exist and are not this batch's results for the same inputs and "
            f"options: {shown}{more}; pass --overwrite to replace them, or choose another --out folder"
        )
    use_ray = _choose_executor(options)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    ours = {str(job.output) for job in options.jobs}
    others = [r for output, r in previous.items() if output not in ours]  # lines of other batches into this folder
    carried = [carried_result(p) for p in planned if p.action != RUN]
    tasks = [Task(p.job, p.fingerprint, p.replace) for p in planned if p.action == RUN]
    kept = sum(1 for p in planned if p.action == KEEP_FAILED)
    if kept:
        log.warning("%d video(s) failed in an earlier run and are not retried; --retry-failed retries them", kept)
    for task in tasks:
        remove_partials(task.job.output)  # left by a batch that was killed
    results: dict[str, VideoResult] = {r.output: r for r in carried}
    display = BatchDisplay(len(options.jobs)) if not options.quiet else None
    sink = _FanOut([o for o in (display, observer) if o is not None] or [NullObserver()])
    with ReportWriter(report_path, others + carried) as report, display or contextlib.nullcontext():
        for result in carried:
            sink.finished(result)

        def on_result(result: VideoResult) -> None:
            report.write(result)
            results[result.output] = result
            sink.finished(result)
            if result.status == FAILED:
                log.warning("%s failed: %s", Path(result.input).name, result.error)

        if not tasks:
            sink.workers(0)  # nothing to run: no worker starts
        elif use_ray:
            run_ray(tasks, options.template, options.ray, sink, on_result)
        else:
            run_local(tasks, options.template, sink, on_result)
    outcome = BatchOutcome(
        results=[results[str(job.output)] for job in options.jobs if str(job.output) in results],
        seconds=time.perf_counter() - start,
        executor="ray" if use_ray else "in-process",
        workers=dict(display.last) if display is not None else {},
    )
    if display is not None:
        Console(stderr=False).print(summary_table(outcome.results, outcome.seconds, outcome.workers))
    log.info(
        "batch done: %d ok, %d failed, %d skipped; report %s",
        outcome.count(OK),
        outcome.count(FAILED),
        outcome.count(SKIPPED),
        report_path,
    )
    return outcome
