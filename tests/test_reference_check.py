"""The reference-photo check: a bare lower face passes, a masked one is flagged."""

from __future__ import annotations

from unmask_video.reference_check import lower_face_looks_covered, strokes_across_cheeks
from unmask_video.warp import ReferenceWarper, WarpOptions
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


def _loop(image, landmarks, colour, width=2):
    """A mask's ear loop hanging across the left cheek: a thin curve from beside the eye down to the jaw."""
    import cv2
    import numpy as np

    out = image.copy()
    lm = np.asarray(landmarks, np.float64)
    start, end, inner = lm[234], lm[150], lm[205]  # the face's side at eye level, the lower jaw, the cheek's middle
    t = np.linspace(0, 1, 40)[:, None]
    curve = (1 - t) ** 2 * start + 2 * t * (1 - t) * inner + t**2 * end
    cv2.polylines(out, [np.round(curve * 4).astype(np.int32)], False, colour, width, cv2.LINE_AA, shift=2)
    return out


def test_an_ear_loop_across_a_cheek_is_noticed(astronaut, astronaut_landmarks, caplog):
    # A mask held off the face leaves its loop across her cheek: the segmenter sees no mask, but the composite
    # would paste the loop onto every frame. White and light blue loops are found; the bare face has none.
    from unmask_video.reference_check import strokes_across_cheeks

    assert not strokes_across_cheeks(astronaut, astronaut_landmarks).any()
    for colour in ((250, 250, 250), (200, 225, 245)):
        looped = _loop(astronaut, astronaut_landmarks, colour)
        found = strokes_across_cheeks(looped, astronaut_landmarks)
        drawn = (looped != astronaut).any(axis=2)
        assert found.sum() > 0.2 * drawn.sum(), colour
        assert not (found & ~drawn).any()  # only the loop itself
        assert not lower_face_looks_covered(looped, astronaut_landmarks)  # (no mask worn: no "covered" warning)
        caplog.clear()
        with caplog.at_level("WARNING", logger="unmask_video.reference_picture"):
            ReferenceWarper(looped, astronaut_landmarks, WarpOptions())
        assert any("ear loop" in record.getMessage() and "painted out" in record.getMessage() for record in caplog.records)


def test_a_highlight_or_a_broad_light_patch_is_not_a_loop(astronaut, astronaut_landmarks):
    import numpy as np

    # A thin highlight keeps the skin's hue (brighter skin, not a white strap)...
    lm = np.asarray(astronaut_landmarks)
    skin = astronaut[int(lm[205, 1]), int(lm[205, 0])].astype(int)
    highlight = tuple(int(v) for v in np.clip(skin * 1.3, 0, 255))
    assert not strokes_across_cheeks(_loop(astronaut, astronaut_landmarks, highlight), astronaut_landmarks).any()
    # ... and a broad white band (a collar, a held object) is not thin.
    assert not strokes_across_cheeks(_loop(astronaut, astronaut_landmarks, (250, 250, 250), 14), astronaut_landmarks).any()
