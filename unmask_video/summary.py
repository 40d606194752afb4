"""The short table printed when a run ends: frames, faces, time per stage, what ran."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from unmask_video.runner import RunSummary

STAGE_ORDER = (
    "decode", "landmarks", "input wait", "segment", "loops", "warp", "reconstruct", "blend", "encode wait", "encode"
)


def summary_table(summary: RunSummary) -> Table:
    table = Table(title=f"unmask-video: {summary.output}", show_header=True, header_style="bold")
    table.add_column("", style="bold")
    table.add_column("value", justify="right")
    expected = f" of ~{summary.frames_expected}" if summary.damage and summary.frames_expected else ""
    table.add_row("frames", f"{summary.frames}{expected}")
    table.add_row("frames with a face", str(summary.frames_with_face))
    table.add_row("frames without a face (unchanged)", str(summary.frames_without_face))
    table.add_row("frames with faces too small to process", str(summary.frames_with_small_faces))
    if summary.frames_with_mask is not None:
        table.add_row("frames with a mask (rebuilt)", str(summary.frames_with_mask))
        bare = summary.frames_with_face - summary.frames_with_mask
        table.add_row("frames with faces but no mask (unchanged)", str(bare))
    if summary.frames_repeated:
        table.add_row("frames repeating the one before (faces reused)", str(summary.frames_repeated))
    table.add_row("generator / backend", f"{summary.generator} / {summary.backend}")
    table.add_row("wall time", f"{summary.seconds:.1f} s ({summary.fps:.1f} fps)")
    for stage in STAGE_ORDER:
        if stage in summary.timer.seconds:
            table.add_row(f"  {stage}", f"{summary.timer.ms_per(stage, summary.frames):.1f} ms/frame")
    return table


def print_summary(summary: RunSummary, console: Console | None = None) -> None:
    (console or Console()).print(summary_table(summary))
