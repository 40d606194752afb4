"""The reference-photo check: a bare lower face passes, a masked one is flagged."""

from __future__ import annotations

from unmask_video.reference_check import lower_face_looks_covered
from unmask_video.synthetic import BLACK, LIGHT_BLUE, WHITE, MaskStyle, draw_surgical_mask


def test_bare_reference_is_not_flagged(astronaut, astronaut_landmarks):
    assert not lower_face_looks_covered(astronaut, astronaut_landmarks)


def test_masked_references_are_flagged(astronaut, astronaut_landmarks):
    for color in (LIGHT_BLUE, WHITE, BLACK):
        masked, _ = draw_surgical_mask(astronaut, astronaut_landmarks, MaskStyle(color=color))
        assert lower_face_looks_covered(masked, astronaut_landmarks), color


def test_the_pipeline_warns_about_a_masked_reference(astronaut, astronaut_landmarks, caplog):
    from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
    from unmask_video.pipeline import FramePipeline

    masked, _ = draw_surgical_mask(astronaut, astronaut_landmarks, MaskStyle(color=WHITE))
    with caplog.at_level("INFO", logger="unmask_video.pipeline"):
        FramePipeline(masked, ReferenceComposite(CompositeOptions())).close()
    assert any("covered" in record.getMessage() for record in caplog.records)
    caplog.clear()
    with caplog.at_level("INFO", logger="unmask_video.pipeline"):
        FramePipeline(astronaut, ReferenceComposite(CompositeOptions())).close()
    assert not any("covered" in record.getMessage() for record in caplog.records)
