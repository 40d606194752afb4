"""Per-stage wall-clock accounting, shared by the command's summary and the benchmarks."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator


@dataclass
class StageTimer:
    """Accumulates seconds and call counts per named stage."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start
            self.calls[stage] += 1

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds
        self.calls[stage] += 1

    def ms_per(self, stage: str, count: int) -> float:
        """Milliseconds spent in ``stage`` per unit of ``count`` (for example per frame)."""
        return 1000.0 * self.seconds.get(stage, 0.0) / max(count, 1)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
