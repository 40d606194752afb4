"""The batch on Ray: one actor per worker, each loading the models and FaceMesh once, fed one video at a time.

A local Ray is started on this machine (loopback addresses only, nothing reachable from the network) unless
``address`` joins a running cluster; a Ray already initialised in this process (a test, a notebook) is reused and
left running. A worker that dies mid-video (killed, out of memory, a native crash) is replaced; its video's
temporary output is removed and the video is run again, up to ``max_attempts`` times in all.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import logging
import os
import socket
import sys
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from unmask_video.batch.display import Observer
from unmask_video.batch.leftovers import remove_partials
from unmask_video.batch.report import FAILED, VideoResult
from unmask_video.batch.worker import Task, VideoWorker, WorkerProgress
from unmask_video.errors import InputError, UnmaskError
from unmask_video.runner import RunOptions

log = logging.getLogger(__name__)

#: Seconds between progress polls of the workers.
TICK_S = 0.25
#: Ray's own switch for "use the loopback address for this node" (its default off Linux clusters).
_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@dataclass
class RayOptions:
    address: str | None = None  # None: a local Ray on this machine; else a cluster's address (ray start --head)
    workers: int | None = None  # None: this machine's cores (local) or the cluster's CPUs / cpus_per_worker
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    max_attempts: int = 2  # tries per video when its worker dies


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def use_loopback() -> None:
    """Make a Ray started by this process bind 127.0.0.1 only (also its workers, which inherit the variable)."""
    os.environ[_LOOPBACK_ENV] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None and hasattr(constants, "ENABLE_RAY_CLUSTER"):
        constants.ENABLE_RAY_CLUSTER = False  # ray was imported before the variable was set


#: Seconds to wait for a cluster's address to answer before saying it cannot be reached.
CONNECT_TIMEOUT_S = 5.0


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of ``HOST:PORT`` (also ``ray://HOST:PORT``), None for ``auto`` or a form without a port."""
    text = address.split("://", 1)[-1]
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def check_reachable(address: str) -> None:
    """Raise :class:`InputError` at once when nothing answers at ``address`` (Ray itself retries for minutes)."""
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise InputError(
            f"nothing answers at the Ray address {address} ({exc.strerror or exc}); start the cluster with "
            "'ray start --head' there, or leave out --ray to run on this machine"
        ) from exc


@contextmanager
def ray_session(options: RayOptions) -> Iterator[int]:
    """Connect to (or start) Ray; yield the number of workers to start."""
    target = _host_port(options.address) if options.address else None
    if options.address is None or (target is not None and _is_loopback(target[0])):
        use_loopback()  # a local Ray, or a cluster on this machine's loopback address
    import ray

    started = False
    if not ray.is_initialized():
        common: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False, "logging_level": logging.ERROR}
        if options.address is not None:
            try:
                ray.init(address=options.address, **common)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(
                    f"cannot join the Ray cluster at {options.address}: {exc} (is 'ray start --head' running there?)"
                ) from exc
        else:
            cpus = options.workers * options.cpus_per_worker if options.workers else os.cpu_count() or 1
            ray.init(address="local", num_cpus=int(max(1, cpus)), **common)
        started = True
    try:
        yield _worker_count(ray.cluster_resources(), options)
    finally:
        if started:
            ray.shutdown()


def _worker_count(resources: dict[str, float], options: RayOptions) -> int:
    cpus = resources.get("CPU", 0.0)
    fit = int(cpus // options.cpus_per_worker) if options.cpus_per_worker > 0 else 1
    if options.gpus_per_worker > 0:
        gpus = resources.get("GPU", 0.0)
        if gpus < options.gpus_per_worker:
            raise InputError(f"--gpus-per-worker {options.gpus_per_worker:g} but the Ray cluster has {gpus:g} GPUs")
        fit = min(fit, int(gpus // options.gpus_per_worker))
    if fit < 1:
        raise InputError(f"the Ray cluster has {cpus:g} CPUs, fewer than one worker needs ({options.cpus_per_worker:g})")
    wanted = options.workers or fit
    if wanted > fit:
        log.warning("%d workers asked for, the Ray cluster's resources fit %d; starting %d", wanted, fit, fit)
    return min(wanted, fit)


class BatchActor:
    """What runs inside each Ray worker process (``max_concurrency=2``: ``progress`` answers while ``process``
    runs)."""

    def __init__(self, template: RunOptions, worker: int, threads: int) -> None:
        self._worker = VideoWorker(template, worker, threads=threads)

    def setup(self) -> tuple[int, str] | None:
        try:
            self._worker.setup()
        except UnmaskError as exc:
            return exc.exit_code, str(exc)
        return None

    def process(self, task: Task) -> VideoResult:
        return self._worker.process(task)

    def progress(self) -> tuple[WorkerProgress, float]:
        return self._worker.progress()


def run_ray(
    tasks: list[Task],
    template: RunOptions,
    options: RayOptions,
    observer: Observer,
    on_result: Callable[[VideoResult], None],
) -> None:
    import ray
    from ray.exceptions import RayActorError, RayError

    lost_worker: tuple[type[BaseException], ...] = (RayActorError,)
    if hasattr(ray.exceptions, "ActorUnavailableError"):
        lost_worker += (ray.exceptions.ActorUnavailableError,)
    with ray_session(options) as count:
        count = max(1, min(count, len(tasks)))
        remote = ray.remote(max_concurrency=2)(BatchActor)

        def new_actor(worker: int) -> Any:
            return remote.options(num_cpus=options.cpus_per_worker, num_gpus=options.gpus_per_worker).remote(
                template, worker, max(1, round(options.cpus_per_worker))
            )

        actors = {w: new_actor(w) for w in range(count)}
        running: dict[Any, tuple[int, Task]] = {}
        try:
            for error in ray.get([a.setup.remote() for a in actors.values()]):
                if error is not None:
                    raise (InputError if error[0] == InputError.exit_code else UnmaskError)(error[1])
            log.info("%d Ray workers ready on %s", count, ray.get_runtime_context().gcs_address)
            observer.workers(count)
            queue = deque(tasks)
            busy: dict[int, Any] = {}
            while queue or running:
                for worker in actors:
                    if worker not in busy and queue:
                        task = queue.popleft()
                        ref = actors[worker].process.remote(task)
                        running[ref], busy[worker] = (worker, task), ref
                        observer.started(task)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=TICK_S)
                if ready:
                    ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
                for ref in ready:
                    worker, task = running.pop(ref)
                    del busy[worker]
                    try:
                        result = ray.get(ref)
                    except lost_worker as exc:
                        result = _worker_lost(task, worker, exc, options.max_attempts, queue)
                        actors[worker] = new_actor(worker)
                        if result is None:
                            continue
                    except RayError as exc:
                        result = _failed(task, worker, f"Ray error: {_first_line(exc)}")
                    on_result(result)
                observer.update(_poll(ray, actors))
        except BaseException:
            for worker, task in running.values():
                ray.kill(actors[worker], no_restart=True)
                remove_partials(task.job.output)
            raise
        finally:
            for actor in actors.values():
                ray.kill(actor, no_restart=True)


def _worker_lost(task: Task, worker: int, exc: BaseException, max_attempts: int, queue: deque) -> VideoResult | None:
    """Clean up after a dead worker; requeue its video (None) or, after the last try, its failed result."""
    removed = remove_partials(task.job.output)
    why = _first_line(exc)
    if task.attempt < max_attempts:
        log.warning(
            "worker %d stopped while processing %s (%s); %sretrying it (try %d of %d)",
            worker + 1,
            task.job.input.name,
            why,
            "removed its unfinished output; " if removed else "",
            task.attempt + 1,
            max_attempts,
        )
        queue.appendleft(dataclasses.replace(task, attempt=task.attempt + 1))
        return None
    return _failed(task, worker, f"its worker stopped on each of {task.attempt} tries (killed, out of memory or crashed)")


def _failed(task: Task, worker: int, error: str) -> VideoResult:
    job = task.job
    return VideoResult(
        input=str(job.input),
        output=str(job.output),
        status=FAILED,
        error=error,
        fingerprint=task.fingerprint,
        attempts=task.attempt,
        worker=worker,
    )


def _poll(ray: Any, actors: dict[int, Any]) -> list[tuple[WorkerProgress, float]]:
    """Each worker's progress; a worker that does not answer at once (busy starting, or dead) is left out."""
    refs = [actor.progress.remote() for actor in actors.values()]
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=TICK_S / 2)
    snapshots = []
    for ref in ready:
        try:
            snapshots.append(ray.get(ref))
        except ray.exceptions.RayError:
            pass
    return snapshots


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
