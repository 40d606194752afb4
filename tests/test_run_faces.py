"""A run says at the end when it found no face, or faces too small to process, and its summary counts them."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from tests.helpers import decode_frames
from unmask_video.reconstruct.factory import ReconstructorOptions
from unmask_video.runner import RunOptions, run_file
from unmask_video.summary import summary_table


def _write(path: Path, frames: list[np.ndarray]) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"crf": "10"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def _run(tmp_path: Path, frames: list[np.ndarray], reference: Path) -> object:
    video = tmp_path / "in.mp4"
    _write(video, frames)
    options = RunOptions(str(video), str(tmp_path / "out.mp4"), str(reference), quiet=True,
                         reconstructor=ReconstructorOptions(generator="none"))
    return run_file(options)


def _cells(summary) -> dict[str, str]:
    table = summary_table(summary)
    names, values = (list(c.cells) for c in table.columns)
    return dict(zip(names, values))


def test_a_video_without_a_face_says_so(tmp_path, synthetic_clip, caplog) -> None:
    frames = [np.full((144, 256, 3), 100 + i, np.uint8) for i in range(4)]
    with caplog.at_level(logging.WARNING):
        summary = _run(tmp_path, frames, synthetic_clip.reference_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no face was found in any of the 4 frames" in w for w in warnings), warnings
    assert summary.frames_with_face == 0 and summary.frames_with_small_faces == 0
    cells = _cells(summary)
    assert cells["frames with a face"] == "0" and cells["frames with faces too small to process"] == "0"


def test_faces_too_small_are_counted_and_said(tmp_path, synthetic_clip, astronaut, caplog) -> None:
    head = cv2.resize(astronaut[20:260, 110:340], None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # ~28 px face
    frames = []
    for i in range(4):
        frame = np.full((360, 640, 3), 120, np.uint8)
        frame[150 : 150 + head.shape[0], 300 + i : 300 + i + head.shape[1]] = head
        frames.append(frame)
    with caplog.at_level(logging.WARNING):
        summary = _run(tmp_path, frames, synthetic_clip.reference_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("too small to process" in w and "4 frames" in w for w in warnings), warnings
    assert summary.frames_with_face == 0
    assert summary.frames_with_small_faces == 4 and summary.most_small_faces == 1
    assert _cells(summary)["frames with faces too small to process"] == "4"


def test_duplicated_source_frames_are_counted(tmp_path, synthetic_clip) -> None:
    decoded, _ = decode_frames(synthetic_clip.video_path)
    frames = [decoded[0], decoded[1], decoded[1], decoded[2], decoded[2], decoded[2]]  # two frames shown again
    summary = _run(tmp_path, frames, synthetic_clip.reference_path)
    assert summary.frames == 6 and summary.frames_repeated == 3
    assert _cells(summary)["frames repeating the one before (faces reused)"] == "3"


def test_a_reference_the_warper_rejects_fails_the_run_even_without_a_face(tmp_path, synthetic_clip, monkeypatch) -> None:
    # (the warper's set-up runs on a thread of its own, overlapping the first frames: its error still fails the run,
    # also when no frame needed a warp, and no output is left)
    import pytest

    from unmask_video import pipeline
    from unmask_video.errors import InputError

    def rejects(*args: object, **kwargs: object) -> None:
        raise InputError("the reference face is too small")

    monkeypatch.setattr(pipeline, "ReferenceWarper", rejects)
    frames = [np.full((144, 256, 3), 100 + i, np.uint8) for i in range(4)]
    with pytest.raises(InputError, match="too small"):
        _run(tmp_path, frames, synthetic_clip.reference_path)
    assert not (tmp_path / "out.mp4").exists()
