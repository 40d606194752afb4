"""The composite's colour fields reused on the frames between measured ones (``CompositeOptions.field_refresh``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import unmask_video.reconstruct.color_match as color_match
from tests.test_composite import masked_face
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.light_fields import Anchor, LightFields
from unmask_video.stages import Box, FaceROI


def _measured_frames(monkeypatch: pytest.MonkeyPatch, options: CompositeOptions, faces: list[FaceROI]) -> list[bool]:
    """Per face given in turn to one composite: whether its fields were measured (not reused)."""
    calls = [0]
    original = color_match.match_skin_light

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(color_match, "match_skin_light", counted)
    rebuild = ReferenceComposite(dataclasses.replace(options, carry_frames=1))  # (every frame rebuilt)
    measured = []
    for face in faces:
        before = calls[0]
        rebuild.reconstruct([face])
        measured.append(calls[0] > before)
    return measured


def _moved_box(face: FaceROI, dx: int) -> FaceROI:
    """The same ROI placed ``dx`` pixels further right in the frame (the face moved, its pixels alike)."""
    box = face.box
    return dataclasses.replace(face, box=Box(box.x0 + dx, box.y0, box.x1 + dx, box.y1))


def test_fields_are_measured_on_every_second_frame_of_a_still_face(monkeypatch: pytest.MonkeyPatch) -> None:
    face, _ = masked_face()
    measured = _measured_frames(monkeypatch, CompositeOptions(field_refresh=2), [face] * 5)
    assert measured == [True, False, True, False, True]
    assert _measured_frames(monkeypatch, CompositeOptions(field_refresh=3), [face] * 5) == [True, False, False, True, False]


def test_fields_are_measured_on_every_frame_with_refresh_1(monkeypatch: pytest.MonkeyPatch) -> None:
    face, _ = masked_face()
    assert _measured_frames(monkeypatch, CompositeOptions(field_refresh=1), [face] * 3) == [True, True, True]


def test_fields_are_measured_afresh_when_the_face_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    face, _ = masked_face()
    size = float(np.ptp(face.landmarks[:, 0]))
    step = int(np.ceil(0.05 * size))  # (more than field_reuse_motion, 0.02 of the face's width, each frame)
    faces = [_moved_box(face, k * step) for k in range(4)]
    assert _measured_frames(monkeypatch, CompositeOptions(field_refresh=2), faces) == [True] * 4
    # A move within the bound: reused.
    slow = [_moved_box(face, k) for k in range(4)]
    assert _measured_frames(monkeypatch, CompositeOptions(field_refresh=2), slow) == [True, False, True, False]


def test_fields_are_measured_afresh_when_the_ring_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    face, _ = masked_face()
    # The warp covers less below the mask on the next frame (a neck no longer carried): the ring loses pixels.
    valid = face.valid.copy()
    rows = np.flatnonzero((face.mask > 0).any(axis=1))
    valid[(rows[0] + rows[-1]) // 2:] = False
    shrunk = dataclasses.replace(face, valid=valid)
    assert _measured_frames(monkeypatch, CompositeOptions(field_refresh=2), [face, shrunk]) == [True, True]


def test_a_reused_frame_matches_a_measured_one_on_a_still_face() -> None:
    face, _ = masked_face()
    reusing = ReferenceComposite(CompositeOptions(carry_frames=1))
    measuring = ReferenceComposite(CompositeOptions(field_refresh=1, carry_frames=1))
    for rebuild in (reusing, measuring):
        rebuild.reconstruct([face])
    a, b = reusing.reconstruct([face])[0], measuring.reconstruct([face])[0]
    assert np.abs(a.astype(np.int16) - b).max() <= 1


def test_a_reused_frame_of_a_moved_face_is_close_to_a_measured_one() -> None:
    face, _ = masked_face()
    moved = _moved_box(face, 2)
    reusing = ReferenceComposite(CompositeOptions(carry_frames=1))
    measuring = ReferenceComposite(CompositeOptions(field_refresh=1, carry_frames=1))
    for rebuild in (reusing, measuring):
        rebuild.reconstruct([face])
    a, b = reusing.reconstruct([moved])[0], measuring.reconstruct([moved])[0]
    hole = face.mask > 0
    assert np.abs(a.astype(np.float32) - b)[hole].mean() < 0.5


def test_moved_fields_follow_the_face() -> None:
    """A field measured with the face at one place, read where the face is 8 pixels (2 working pixels) to the right in
    a region of the same size: the same values, 2 working pixels to the right."""
    h, w = 64, 80
    field = np.zeros((3, h * w), np.float32)
    field[:, :] = np.tile(np.arange(w, dtype=np.float32), h)[None, :]
    anchor = Anchor(np.array([100.0, 120.0], np.float32), 200.0)
    fields = LightFields(
        d=field, contrast=np.ones(3, np.float32), limit=2.0, trust=0.0, theirs=None, knee=60.0, skin_spread=None,
        small=(w, h), shape=(4 * h, 4 * w), anchor=anchor,
    )
    same = fields.moved(field, anchor, (4 * h, 4 * w), (w, h))
    np.testing.assert_allclose(same, field, atol=1e-4)
    right = fields.moved(field, Anchor(anchor.centre + np.float32([8.0, 0.0]), 200.0), (4 * h, 4 * w), (w, h))
    image = right[0].reshape(h, w)
    np.testing.assert_allclose(image[:, 10:], np.arange(8, w - 2, dtype=np.float32)[None, :].repeat(h, 0), atol=1e-3)
