"""``DIR/report.jsonl``: one JSON line per video, written as each video ends, so a killed batch keeps its progress."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

REPORT_NAME = "report.jsonl"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class VideoResult:
    """What became of one video. ``fingerprint`` and ``output_size`` let a rerun skip a finished video."""

    input: str
    output: str
    status: str  # ok | failed | skipped
    frames: int = 0
    frames_with_face: int = 0
    fps: float | None = None
    seconds: float = 0.0
    error: str | None = None
    fingerprint: str = ""
    output_size: int | None = None
    attempts: int = 0
    worker: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> "VideoResult":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def read_report(path: Path) -> dict[str, VideoResult]:
    """The last line for each output of an earlier report (empty when there is none); bad lines are skipped."""
    results: dict[str, VideoResult] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return results
    except OSError as exc:
        log.warning("cannot read the earlier report %s (%s); every video will be processed", path, exc)
        return results
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            result = VideoResult.from_dict(json.loads(line))
        except (ValueError, TypeError) as exc:  # a line cut short by a killed batch, or edited by hand
            log.warning("%s line %d is not a report line (%s); ignored", path, number, exc)
            continue
        results[result.output] = result
    return results


class ReportWriter:
    """Writes a new report: the carried-over lines first (replacing the old file at once), then one line per video
    as it ends, each flushed to disk."""

    def __init__(self, path: Path, carried: Iterable[VideoResult]) -> None:
        self.path = path
        tmp = path.with_name(f".{path.name}.partial")
        with open(tmp, "w", encoding="utf-8") as handle:
            for result in carried:
                handle.write(result.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        self._handle = open(path, "a", encoding="utf-8")

    def write(self, result: VideoResult) -> None:
        self._handle.write(result.to_json() + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "ReportWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
