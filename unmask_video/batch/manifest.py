"""Which videos a batch processes: a CSV manifest or a folder of videos, every problem found before any work.

A manifest has the columns ``input`` and ``reference`` and optionally ``output``. Relative inputs and references
are read from the manifest's folder; a relative or empty output goes to the batch's output folder (empty:
``<input name>.mp4``). Validation collects every problem (missing columns, empty cells, missing files, two rows
writing one output, an output that is an input) and raises one :class:`InputError` naming them all.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from unmask_video.errors import InputError
from unmask_video.io import check_output_path

#: File name endings that folder mode treats as videos.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
#: How many problems the one-line error names before "and N more".
MAX_LISTED_PROBLEMS = 8


@dataclass(frozen=True)
class Job:
    """One video of a batch; paths are absolute. ``line`` is its manifest line (0 in folder mode)."""

    input: Path
    reference: Path
    output: Path
    line: int = 0


def default_output(input_path: Path, out_dir: Path) -> Path:
    return out_dir / f"{input_path.stem}.mp4"


def jobs_from_manifest(manifest: Path, out_dir: Path, reference: Path | None = None) -> list[Job]:
    """The jobs of a CSV manifest (``reference``: used where the manifest has no reference column or cell)."""
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip().lower() for c in (reader.fieldnames or [])]
            rows = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise InputError(f"manifest {manifest} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read manifest {manifest}: {exc}") from exc
    needed = ["input"] + ([] if reference is not None else ["reference"])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InputError(
            f"manifest {manifest} has no {' or '.join(repr(c) for c in missing)} column (its header is "
            f"{','.join(columns) or 'empty'}); the first line must name the columns input,reference[,output]"
        )
    base = manifest.parent
    jobs: list[Job] = []
    problems: list[str] = []
    for line, row in rows:
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue  # a blank line
        where = f"line {line}"
        if not cells.get("input"):
            problems.append(f"{where}: empty input")
            continue
        ref_text = cells.get("reference") or (str(reference) if reference is not None else "")
        if not ref_text:
            problems.append(f"{where}: empty reference (or pass --ref for rows without one)")
            continue
        input_path = _absolute(cells["input"], base)
        out_text = cells.get("output", "")
        output = _absolute(out_text, out_dir) if out_text else default_output(input_path, out_dir)
        jobs.append(Job(input_path, _absolute(ref_text, base), output, line))
    if not jobs and not problems:
        raise InputError(f"manifest {manifest} lists no videos; add lines input,reference[,output] under its header")
    problems += check_jobs(jobs, out_dir)
    _raise_problems(f"manifest {manifest}", problems)
    return jobs


def jobs_from_folder(folder: Path, reference: Path | None, out_dir: Path) -> list[Job]:
    """One job per video file directly inside ``folder`` (by name ending), all with ``reference``."""
    if reference is None:
        raise InputError(f"{folder} is a folder: pass --ref FACE.jpg (the person in its videos, without a mask)")
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise InputError(f"no videos in {folder} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
    ref = _absolute(str(reference), Path.cwd())
    jobs = [Job(v.absolute(), ref, default_output(v.absolute(), out_dir)) for v in videos]
    _raise_problems(f"folder {folder}", check_jobs(jobs, out_dir))
    return jobs


def check_jobs(jobs: list[Job], out_dir: Path) -> list[str]:
    """Every problem of the jobs that can be seen without opening the videos."""
    problems: list[str] = []
    missing: set[Path] = set()
    for job in jobs:
        where = f"line {job.line}: " if job.line else ""
        for what, path in (("input", job.input), ("reference", job.reference)):
            if path in missing:
                continue
            if not path.is_file():
                missing.add(path)
                state = "is not a file" if path.exists() else "does not exist"
                problems.append(f"{where}{what} {path} {state}")
    owners: dict[Path, Job] = {}
    inputs = {os.path.normcase(str(job.input.resolve())) for job in jobs}
    for job in jobs:
        where = f"line {job.line}: " if job.line else f"{job.input.name}: "
        key = Path(os.path.normcase(str(job.output.resolve())))
        if key in owners:
            first = owners[key]
            other = f"line {first.line}" if first.line else first.input.name
            problems.append(f"{where}output {job.output} is also written by {other}")
            continue
        owners[key] = job
        if str(key) in inputs:
            problems.append(f"{where}output {job.output} is an input of this batch")
            continue
        if job.output.parent == out_dir and not out_dir.exists():
            continue  # the batch creates its output folder
        try:
            check_output_path(str(job.input), str(job.output))
        except InputError as exc:
            problems.append(f"{where}{exc}")
    return problems


def _absolute(text: str, base: Path) -> Path:
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else (base / path).absolute()


def _raise_problems(what: str, problems: list[str]) -> None:
    if not problems:
        return
    shown = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    more = f"; and {len(problems) - MAX_LISTED_PROBLEMS} more" if len(problems) > MAX_LISTED_PROBLEMS else ""
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    raise InputError(f"{what} has {count}, nothing was processed: {shown}{more}")
