"""Without Ray: the videos one after another in this process, with the same worker, report and resume."""

from __future__ import annotations

import threading
from typing import Callable

from unmask_video.batch.display import Observer
from unmask_video.batch.report import VideoResult
from unmask_video.batch.worker import Task, VideoWorker
from unmask_video.runner import RunOptions

#: Seconds between progress snapshots sent to the display.
TICK_S = 0.2


def run_local(
    tasks: list[Task], template: RunOptions, observer: Observer, on_result: Callable[[VideoResult], None]
) -> None:
    worker = VideoWorker(template, worker=0)
    try:
        worker.setup()  # a bad option (generator, backend, engine) fails here, before any video
        observer.workers(1)
        stop = threading.Event()
        ticker = threading.Thread(target=_tick, args=(worker, observer, stop), name="batch-progress", daemon=True)
        ticker.start()
        try:
            for task in tasks:
                observer.started(task)
                result = worker.process(task)
                observer.update([worker.progress()])
                on_result(result)
        finally:
            stop.set()
            ticker.join()
    finally:
        worker.close()


def _tick(worker: VideoWorker, observer: Observer, stop: threading.Event) -> None:
    while not stop.wait(TICK_S):
        observer.update([worker.progress()])
