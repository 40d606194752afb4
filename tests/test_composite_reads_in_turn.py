"""The composite's reads that go with a measure of its colour fields made one a frame in turn on the frames that reuse
the fields (``CompositeOptions.reads_in_turn``, live mode's): which frame reads what, and a live-shaped run's output
close to the one with every read on its measuring frame."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import pytest

import unmask_video.reconstruct.color_match as color_match
import unmask_video.reconstruct.composite as composite
from tests.helpers import decode_frames
from tests.test_composite import masked_face
from unmask_video.live import pipeline_options_for_live, reconstructor_options_for_live
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.stages import Box

#: What is spied on: (module, name, the letter a call of it leaves in the frame's record).
_SPIED = (
    (color_match, "match_skin_light", "M"),  # the colour fields measured
    (color_match, "match_skin_light_again", "r"),  # ... reused
    (color_match, "hole_colours", "H"),  # the mask's and the reference skin's colours read
    (composite, "bleed_px", "B"),  # the cloth's bleed read
    (composite, "fringe_medians", "F"),  # the colours the cloth's fringe is told by read
)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the spied calls: the calls of a frame are the letters appended to the list's last string."""
    record = [""]

    def wrap(fn: Callable[..., Any], letter: str) -> Callable[..., Any]:
        def spied(*args: Any, **kwargs: Any) -> Any:
            record[-1] += letter
            return fn(*args, **kwargs)

        return spied

    for module, name, letter in _SPIED:
        monkeypatch.setattr(module, name, wrap(getattr(module, name), letter))
    return record


def _frames(monkeypatch: pytest.MonkeyPatch, reads_in_turn: bool, frames: int, step_px: int = 0) -> list[str]:
    """The spied calls of each frame of a masked face given to one composite (every frame rebuilt, none carried),
    the face moved ``step_px`` to the right on each (0: still)."""
    record = _spy(monkeypatch)
    face, _ = masked_face()
    rebuild = ReferenceComposite(CompositeOptions(field_refresh=3, carry_frames=1, reads_in_turn=reads_in_turn))
    calls = []
    for k in range(frames):
        b = face.box
        moved = dataclasses.replace(face, box=Box(b.x0 + k * step_px, b.y0, b.x1 + k * step_px, b.y1))
        record.append("")
        rebuild.reconstruct([moved])
        calls.append("".join(sorted(record[-1])))  # (the letters of a frame in one order: B F H M r)
    return calls


def test_without_the_option_a_measuring_frame_makes_all_three_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _frames(monkeypatch, False, 7) == ["BFHM", "r", "r", "BFHM", "r", "r", "BFHM"]


def test_in_turn_each_reusing_frame_makes_one_read_and_a_measuring_one_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # (the fields measured on the same frames as without the option; the face's first frame reads all three)
    assert _frames(monkeypatch, True, 10) == ["BFHM", "Hr", "Br", "M", "Fr", "Hr", "M", "Br", "Fr", "M"]


def test_in_turn_a_moving_face_reads_one_on_one_frame_in_three(monkeypatch: pytest.MonkeyPatch) -> None:
    # (moved by more than ``field_reuse_motion`` each frame: measured on every frame, as without the option; a measure
    # makes a read where the last is ``field_refresh`` frames back)
    assert _frames(monkeypatch, False, 5, step_px=8) == ["BFHM"] * 5
    assert _frames(monkeypatch, True, 8, step_px=8) == ["BFHM", "M", "M", "HM", "M", "M", "BM", "M"]


def test_live_mode_turns_the_reads_in_turn_on_and_a_file_run_keeps_them_off() -> None:
    file_run = ReconstructorOptions(generator="none")
    live = reconstructor_options_for_live(file_run)
    assert live.composite.reads_in_turn and not file_run.composite.reads_in_turn
    assert dataclasses.replace(live.composite, reads_in_turn=False) == file_run.composite


def test_a_live_run_with_the_reads_in_turn_stays_close_to_one_without(synthetic_clip) -> None:
    """The synthetic masked clip (moving head) through the pipeline with live mode's options, frame by frame as a
    live session shows them, with the reads in turn and without: the rebuilt faces differ by a fraction of a level."""
    frames, _ = decode_frames(synthetic_clip.video_path)
    outputs = {}
    for in_turn in (False, True):
        options = reconstructor_options_for_live(ReconstructorOptions(generator="none"))
        options.composite.reads_in_turn = in_turn
        pipeline = FramePipeline(synthetic_clip.reference, build_reconstructor(options),
                                 pipeline_options_for_live(PipelineOptions()))  # fmt: skip
        try:
            outputs[in_turn] = np.stack([pipeline.process(f, t) for f, t in zip(frames, synthetic_clip.times)])
        finally:
            pipeline.close()
        assert pipeline.stats.frames_with_mask == len(frames)
    inside = synthetic_clip.masks > 0.5
    on, off = outputs[True].astype(np.float32), outputs[False].astype(np.float32)
    differ = np.abs(on - off)
    assert differ[inside].mean() < 0.1 and differ.max() <= 12
    # (each frame alike, and both as far from the truth as each other, far nearer than the masked frame)
    assert all(differ[k][inside[k]].mean() < 0.3 for k in range(len(frames)))
    truth = synthetic_clip.truth.astype(np.float32)
    error_on, error_off = np.abs(on - truth)[inside].mean(), np.abs(off - truth)[inside].mean()
    assert abs(error_on - error_off) < 0.05 * error_off
    assert error_on < 0.3 * np.abs(synthetic_clip.masked.astype(np.float32) - truth)[inside].mean()
