"""Live-mode figures: processing fps, capture-to-output delay (median, 95th percentile) and dropped frames."""

from __future__ import annotations

import logging
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, TextIO

import numpy as np

log = logging.getLogger(__name__)


#: The spans a shown frame's delay is made of, in order (they add up to it): ``capture`` from its decode until a
#: thread takes it (in the capture's slot of one), ``locate`` its RGB conversion and landmarks (with a pipeline, its
#: mask and warp too) on the worker, ``slot`` waiting for the processing thread, ``process`` the remaining stages and
#: the window, ``queue`` waiting for the outputs thread, ``output`` the recording's, stream's and virtual camera's
#: writes. Without a worker, ``locate`` and ``slot`` are 0 and ``process`` has every stage.
SPANS = ("capture", "locate", "slot", "process", "queue", "output")


@dataclass
class FrameMarks:
    """When a frame crossed each stage boundary (``time.perf_counter()``), carried with it to the outputs."""

    index: int  # capture order
    captured_at: float  # decoded
    stream_time: float | None  # its own timestamp in seconds, if it has one
    taken_at: float  # taken from the capture's slot (worker or processing thread)
    located_at: float  # the worker's stages done (= taken_at without a worker)
    picked_at: float  # taken by the processing thread
    processed_at: float = 0.0  # processing and the window done
    output_at: float = 0.0  # the outputs thread started writing it (= processed_at when written in turn)

    def spans_ms(self, written_at: float) -> dict[str, float]:
        """The :data:`SPANS` of this frame, in milliseconds, ending at ``written_at`` (every output had it)."""
        marks = (self.captured_at, self.taken_at, self.located_at, self.picked_at, self.processed_at,
                 self.output_at, written_at)  # fmt: skip
        return {name: (b - a) * 1000.0 for name, a, b in zip(SPANS, marks, marks[1:])}


@dataclass
class LiveStats:
    """What a live session did. Delays are from a frame's decode to the moment every output had it."""

    frames_captured: int = 0  # decoded after warm-up
    frames_shown: int = 0  # processed and sent to the outputs
    frames_dropped: int = 0  # decoded while the loop was busy and replaced by a newer one before it was taken
    frames_corrupt: int = 0  # packets that did not decode (e.g. lost UDP packets)
    frames_before_start: int = 0  # decoded during warm-up and not counted above
    fresher_waits: int = 0  # times a stale frame was dropped for the next one (``LiveOptions.stale_after``)
    duration_s: float = 0.0  # from the first shown frame to the end
    end_reason: str = ""
    source_lost: bool = False  # the source failed or went silent (not a normal end of stream)
    delays_ms: list[float] = field(default_factory=list)  # per shown frame, capture to output
    lags_ms: list[float] = field(default_factory=list)  # per shown frame: output clock minus stream clock (see below)
    indices: list[int] = field(default_factory=list)  # capture index of each shown frame (increasing)
    #: per shown frame: from its decode to the start of its processing (its RGB conversion), the time it waited
    waits_ms: list[float] = field(default_factory=list)
    #: per shown frame, where its delay went: one list per name of :data:`SPANS` (milliseconds)
    spans_ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in SPANS})

    @property
    def fps(self) -> float:
        return self.frames_shown / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def delay_median_ms(self) -> float:
        return float(np.median(self.delays_ms)) if self.delays_ms else 0.0

    @property
    def delay_p95_ms(self) -> float:
        return float(np.percentile(self.delays_ms, 95)) if self.delays_ms else 0.0

    @property
    def delay_max_ms(self) -> float:
        return max(self.delays_ms) if self.delays_ms else 0.0

    @property
    def lag_growth_ms(self) -> float | None:
        """How much further behind its own clock the stream got over the session (stream sources only).

        ``lags_ms[i]`` is the time since the first shown frame on the wall clock minus the same on the
        stream's timestamps. For a source that delivers in real time it stays flat when nothing piles up
        anywhere (decoder, socket, pipe); a buffer that grows shows as a steady rise.
        """
        if len(self.lags_ms) < 4:
            return None
        quarter = max(1, len(self.lags_ms) // 4)
        return float(np.median(self.lags_ms[-quarter:]) - np.median(self.lags_ms[:quarter]))

    def span_percentiles(self, q: float) -> dict[str, float]:
        """The ``q``-th percentile of each span of :attr:`spans_ms` (0 where no frame was shown)."""
        return {name: float(np.percentile(v, q)) if v else 0.0 for name, v in self.spans_ms.items()}

    def summary(self) -> str:
        """The end-of-session line."""
        text = (
            f"{self.frames_shown} frames shown in {self.duration_s:.1f} s ({self.fps:.1f} fps), "
            f"delay median {self.delay_median_ms:.0f} ms, p95 {self.delay_p95_ms:.0f} ms, "
            f"{self.frames_dropped} of {self.frames_captured} captured frames dropped"
        )
        if self.frames_corrupt:
            text += f", {self.frames_corrupt} damaged packets skipped"
        return text + (f"; ended: {self.end_reason}" if self.end_reason else "")


class LiveMeter:
    """Collects :class:`LiveStats` and the recent figures of the status line."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.stats = LiveStats()
        self.window_s = window_s
        self._recent: deque[tuple[float, float]] = deque()  # (output time, delay ms)
        self._first_out: float | None = None
        self._first_stream: float | None = None
        self._last_out = 0.0

    def record_marks(self, marks: FrameMarks, written_at: float) -> None:
        """:meth:`record` a frame with where its delay went."""
        for name, ms in marks.spans_ms(written_at).items():
            self.stats.spans_ms[name].append(ms)
        self.stats.waits_ms.append((marks.taken_at - marks.captured_at) * 1000.0)
        self.record(marks.index, marks.captured_at, marks.stream_time, written_at)

    def record(self, index: int, captured_at: float, stream_time: float | None, output_at: float) -> None:
        stats = self.stats
        delay_ms = (output_at - captured_at) * 1000.0
        stats.frames_shown += 1
        stats.delays_ms.append(delay_ms)
        stats.indices.append(index)
        if self._first_out is None:
            self._first_out = output_at
            self._first_stream = stream_time
        if stream_time is not None and self._first_stream is not None:
            stats.lags_ms.append(((output_at - self._first_out) - (stream_time - self._first_stream)) * 1000.0)
        self._last_out = output_at
        stats.duration_s = output_at - self._first_out
        self._recent.append((output_at, delay_ms))
        while self._recent and self._recent[0][0] < output_at - self.window_s:
            self._recent.popleft()

    def finish(self, now: float) -> LiveStats:
        if self._first_out is not None:
            self.stats.duration_s = max(self.stats.duration_s, now - self._first_out)
        return self.stats

    def status_line(self, dropped: int, effect_on: bool = True) -> str:
        """Figures over the last ``window_s`` seconds, plus the dropped count so far."""
        if len(self._recent) >= 2:
            span = self._recent[-1][0] - self._recent[0][0]
            fps = (len(self._recent) - 1) / span if span > 0 else 0.0
        else:
            fps = 0.0
        delays = [d for _, d in self._recent]
        median = float(np.median(delays)) if delays else 0.0
        p95 = float(np.percentile(delays, 95)) if delays else 0.0
        effect = "" if effect_on else "  [effect off]"
        return f"{fps:5.1f} fps  delay {median:4.0f} ms (p95 {p95:4.0f} ms)  dropped {dropped}{effect}"


def log_status(line: str) -> None:
    """The default status sink: an INFO log line."""
    log.info("%s", line)


def terminal_status(stream: TextIO | None = None) -> Callable[[str], None]:
    """A status sink that rewrites one line on a terminal (for the CLI); falls back to logging off a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return log_status

    def write(line: str) -> None:
        stream.write("\r" + line + "\x1b[K")
        stream.flush()

    return write
