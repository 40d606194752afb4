"""The cloth's bleed read only on the frames the composite measures its colour fields on
(``CompositeOptions.field_refresh``); between them the face's average holds."""

from __future__ import annotations

import dataclasses

import cv2
import pytest

import unmask_video.reconstruct.composite as composite
from tests.test_composite import masked_face
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite


def _bleeds(monkeypatch: pytest.MonkeyPatch, options: CompositeOptions, frames: int) -> tuple[list[bool], list[float]]:
    """(per frame of a still masked face given to one composite: whether its bleed was read, the face's averaged bleed
    share after it). The first frame's cloth bleeds past the mask (the frame blurred), the others' do not."""
    calls = [0]
    original = composite.bleed_px

    def counted(*args: object, **kwargs: object) -> float | None:
        calls[0] += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(composite, "bleed_px", counted)
    face, _ = masked_face()
    smeared = dataclasses.replace(face, image=cv2.GaussianBlur(face.image, (0, 0), 3.0))
    rebuild = ReferenceComposite(dataclasses.replace(options, carry_frames=1))  # (every frame rebuilt)
    read, shares = [], []
    for k in range(frames):
        before = calls[0]
        rebuild.reconstruct([smeared if k == 0 else face])
        read.append(calls[0] > before)
        (entry,) = rebuild._averages.bleeds._entries  # (one face)
        shares.append(entry[2])
    return read, shares


def test_the_bleed_is_read_on_the_measured_frames_only(monkeypatch: pytest.MonkeyPatch) -> None:
    read, shares = _bleeds(monkeypatch, CompositeOptions(field_refresh=3), 5)
    assert read == [True, False, False, True, False]
    assert shares[0] > 0.0  # (the smeared cloth's edge is read as bleeding)
    assert shares[1] == shares[2] == shares[0]  # (held between, though the clean frames would lower it)
    assert shares[3] < shares[0] and shares[4] == shares[3]


def test_the_bleed_is_read_on_every_frame_with_refresh_1(monkeypatch: pytest.MonkeyPatch) -> None:
    read, shares = _bleeds(monkeypatch, CompositeOptions(field_refresh=1), 3)
    assert read == [True, True, True]
    assert shares[0] > shares[1] > shares[2]
