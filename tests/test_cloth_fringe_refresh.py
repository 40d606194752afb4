"""The colours the cloth's fringe is told by (``cloth_bleed.fringe_medians``) read only on the frames the composite
measures its colour fields on (``CompositeOptions.field_refresh``), held between, as the bleed is."""

from __future__ import annotations

import dataclasses

import pytest

import unmask_video.reconstruct.composite as composite
from tests.test_composite import masked_face
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite


def _reads(monkeypatch: pytest.MonkeyPatch, options: CompositeOptions, frames: int) -> tuple[list[bool], int]:
    """(per frame of a still masked face given to one composite: whether the fringe's colours were read; how many
    times the fringe itself was looked for)."""
    reads, looks = [0], [0]
    read, look = composite.fringe_medians, composite.cloth_fringe

    def counted_read(*args: object, **kwargs: object) -> object:
        reads[0] += 1
        return read(*args, **kwargs)  # type: ignore[arg-type]

    def counted_look(*args: object, **kwargs: object) -> object:
        looks[0] += 1
        assert kwargs.get("medians") is not None  # (given: never read inside)
        return look(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(composite, "fringe_medians", counted_read)
    monkeypatch.setattr(composite, "cloth_fringe", counted_look)
    face, _ = masked_face()
    rebuild = ReferenceComposite(dataclasses.replace(options, carry_frames=1))  # (every frame rebuilt)
    out = []
    for _ in range(frames):
        before = reads[0]
        rebuild.reconstruct([face])
        out.append(reads[0] > before)
    return out, looks[0]


def test_the_fringe_colours_are_read_on_the_measured_frames_only(monkeypatch: pytest.MonkeyPatch) -> None:
    read, looks = _reads(monkeypatch, CompositeOptions(field_refresh=3), 5)
    assert read == [True, False, False, True, False]
    assert looks == 5  # (the fringe itself is looked for on every frame, with the colours held)


def test_the_fringe_colours_are_read_on_every_frame_with_refresh_1(monkeypatch: pytest.MonkeyPatch) -> None:
    read, _ = _reads(monkeypatch, CompositeOptions(field_refresh=1), 3)
    assert read == [True, True, True]


def test_no_fringe_no_read(monkeypatch: pytest.MonkeyPatch) -> None:
    read, looks = _reads(monkeypatch, CompositeOptions(field_refresh=1, fringe=composite.FaceLength(0.0)), 2)
    assert read == [False, False] and looks == 0
