"""What a batch must do for each job: run it, skip it (its output is complete for the same input and options),
or keep an earlier failure (``--retry-failed`` runs those again).

A job's fingerprint hashes the input's absolute path, size and modification time, the reference photo's content,
the options that change the output, and the unmask-video version. An output counts as complete when the earlier
report says ok (or skipped) with the same fingerprint and the file is still there with the size it had.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from unmask_video import __version__
from unmask_video.batch.manifest import Job
from unmask_video.batch.report import FAILED, OK, SKIPPED, VideoResult
from unmask_video.runner import RunOptions

log = logging.getLogger(__name__)

RUN, SKIP, KEEP_FAILED = "run", "skip", "keep-failed"
#: RunOptions fields that name the video or only change how the run is shown, not its output.
_NOT_OUTPUT_OPTIONS = ("input", "output", "reference", "quiet", "overwrite", "encode_queue")


@dataclass
class PlannedJob:
    job: Job
    fingerprint: str
    action: str  # run | skip | keep-failed
    previous: VideoResult | None = None
    #: The output exists and may be replaced (--overwrite, or it is this batch's own earlier, failed output).
    replace: bool = False


def options_key(template: RunOptions) -> str:
    """A stable text of the options that decide the output of every video."""
    data = {k: v for k, v in dataclasses.asdict(template).items() if k not in _NOT_OUTPUT_OPTIONS}
    data["version"] = __version__
    return json.dumps(data, sort_keys=True, default=str)


@functools.lru_cache(maxsize=256)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(job: Job, key: str) -> str:
    stat = job.input.stat()
    ref = job.reference.stat()
    parts = {
        "input": str(job.input),
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "reference_sha256": _file_sha256(job.reference, ref.st_size, ref.st_mtime_ns),
        "options": key,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def output_is_complete(previous: VideoResult | None, fp: str, output: Path) -> bool:
    if previous is None or previous.fingerprint != fp or previous.status not in (OK, SKIPPED):
        return False
    try:
        return output.stat().st_size == previous.output_size
    except OSError:
        return False


def plan(
    jobs: list[Job], template: RunOptions, previous: dict[str, VideoResult], retry_failed: bool, overwrite: bool
) -> tuple[list[PlannedJob], list[str]]:
    """The action for each job, and the outputs that exist and may not be replaced (not this batch's result for
    the same input and options, and no ``overwrite``)."""
    key = options_key(template)
    planned: list[PlannedJob] = []
    problems: list[str] = []
    for job in jobs:
        fp = fingerprint(job, key)
        prev = previous.get(str(job.output))
        if output_is_complete(prev, fp, job.output):
            planned.append(PlannedJob(job, fp, SKIP, prev))
            continue
        if prev is not None and prev.fingerprint == fp and prev.status == FAILED and not retry_failed:
            planned.append(PlannedJob(job, fp, KEEP_FAILED, prev))
            continue
        replace = False
        if job.output.exists():
            # A damaged input's output holds the frames that decoded: retrying it may replace that partial result.
            ours = prev is not None and prev.status == FAILED and prev.output_size == job.output.stat().st_size
            replace = overwrite or ours
            if not replace:
                problems.append(str(job.output))
        planned.append(PlannedJob(job, fp, RUN, prev, replace))
    return planned, problems


def carried_result(item: PlannedJob) -> VideoResult:
    """The report line of a job that is not run again."""
    prev = item.previous
    assert prev is not None
    if item.action == SKIP:
        return dataclasses.replace(prev, status=SKIPPED, seconds=0.0, fps=None, error=None, attempts=0, worker=None)
    error = prev.error or "failed"
    if not error.startswith("earlier run: "):
        error = f"earlier run: {error}"
    return dataclasses.replace(prev, error=error, seconds=0.0, fps=None, attempts=0, worker=None)
