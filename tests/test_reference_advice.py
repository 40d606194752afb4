"""Advice on the reference photo: a turned head, an open mouth, a face much smaller than the video's."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.face_shape import yaw
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.reference_advice import mouth_opening, photo_advice, size_advice
from unmask_video.synthetic import draw_surgical_mask


def _closed(landmarks: np.ndarray) -> np.ndarray:
    """The landmarks with the inner lips' middle points together (a closed mouth)."""
    out = np.array(landmarks, np.float32)
    upper, lower = landmark_sets.INNER_LIPS_MIDDLE
    out[lower] = out[upper] + [0.0, 1.0]
    return out


def test_a_front_view_with_closed_lips_gets_no_advice(astronaut_landmarks):
    closed = _closed(astronaut_landmarks)
    assert mouth_opening(closed) < 0.05
    assert photo_advice(closed) == []


def test_an_open_mouth_is_said(astronaut_landmarks):
    # The astronaut smiles with her teeth showing.
    assert mouth_opening(astronaut_landmarks) > 0.12
    advice = photo_advice(astronaut_landmarks)
    assert len(advice) == 1 and "mouth is open" in advice[0]
    # A smile the warp leaves open is said as before; a mouth it closes is said as closed.
    assert photo_advice(astronaut_landmarks, closed_past=0.25) == advice
    closed = photo_advice(astronaut_landmarks, closed_past=0.12)
    assert len(closed) == 1 and "it is closed for the rebuild" in closed[0]


def test_a_turned_head_is_said(astronaut_landmarks):
    turned = _closed(astronaut_landmarks)
    left, bridge, right = landmark_sets.YAW_PROBE
    # The nose bridge moved a fifth of the face's width towards one side: as a head turned to show one cheek.
    turned[bridge] += 0.2 * (turned[right] - turned[left])
    assert abs(yaw(turned)) > 0.15
    advice = photo_advice(turned)
    assert len(advice) == 1 and "turned" in advice[0]


def test_a_much_larger_face_in_the_video_is_said(astronaut_landmarks):
    centre = astronaut_landmarks.mean(axis=0)
    twice = (astronaut_landmarks - centre) * 2.0 + centre
    a_little = (astronaut_landmarks - centre) * 1.2 + centre
    advice = size_advice(astronaut_landmarks, twice)
    assert advice is not None and "softer" in advice
    assert size_advice(astronaut_landmarks, a_little) is None


def test_the_pipeline_gives_the_advice_once(astronaut, astronaut_landmarks, caplog):
    # A frame where the face is twice the reference photo's, with a mask on it.
    big = cv2.resize(astronaut, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    frame, _ = draw_surgical_mask(big, astronaut_landmarks * 2.0)
    reconstructor = build_reconstructor(ReconstructorOptions(generator="none"))
    with caplog.at_level(logging.WARNING, logger="unmask_video"):
        pipeline = FramePipeline(np.ascontiguousarray(astronaut), reconstructor, PipelineOptions())
        for t in range(3):
            pipeline.process(frame, t / 25.0)
        pipeline.close()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("mouth is open" in line for line in said) == 1
    assert sum("softer" in line for line in said) == 1, said
    assert pipeline.stats.frames_with_mask == 3

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="unmask_video"):
        quiet = FramePipeline(np.ascontiguousarray(astronaut), reconstructor, PipelineOptions(reference_advice=None))
        quiet.process(frame, 0.0)
        quiet.close()
    assert not any("mouth is open" in r.getMessage() or "softer" in r.getMessage() for r in caplog.records)
