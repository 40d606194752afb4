"""A rich progress bar for frame-by-frame work: frames, fps and time left."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class FrameProgress:
    """Progress over a known or unknown number of frames; silent when ``quiet``."""

    def __init__(self, total: int | None, *, quiet: bool = False, description: str = "unmasking") -> None:
        self._progress: Progress | None = None
        self._task = None
        if not quiet:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[fps]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._task = self._progress.add_task(description, total=total, fps="")

    def __enter__(self) -> "FrameProgress":
        if self._progress is not None:
            self._progress.start()
        return self

    def advance(self, frames: int) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.advance(self._task, frames)
        speed = self._progress.tasks[0].speed
        self._progress.update(self._task, fps=f"{speed:5.1f} fps" if speed else "")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
