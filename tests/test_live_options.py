"""Live mode's pipeline options (:func:`unmask_video.live.pipeline_options_for_live`): what differs from a file run."""

from __future__ import annotations

from unmask_video.live import pipeline_options_for_live
from unmask_video.pipeline import PipelineOptions


def test_live_options_turn_repeats_off_and_leave_the_file_runs_alone() -> None:
    file_run = PipelineOptions()
    live = pipeline_options_for_live(file_run)
    assert not live.repeats.enabled
    assert file_run.repeats.enabled  # (the file run's options are left as they were)
    assert live.segment == file_run.segment and live.warp == file_run.warp and live.steady == file_run.steady
