"""The quality benchmark's hand in front of the drawn mask: its pixels are no mask (the input is right there), and
they are scored as pixels that must stay."""

from __future__ import annotations

import numpy as np

from benchmarks.drawn_masks import Hand, draw, draw_frame, mask_plan
from benchmarks.quality import FACES, Clip, evaluate, run_ours, scored
from unmask_video.synthetic import astronaut_landmarks


def test_the_hand_in_front_of_the_mask_is_no_mask_and_is_marked_in_front() -> None:
    image, landmarks = astronaut_landmarks()
    spec = mask_plan(1, 40)
    assert spec.hand is not None
    frame = spec.hand.start + 7  # the hand halfway across the face
    drawn = draw_frame(image, landmarks, spec, frame)
    assert drawn.front.dtype == bool and drawn.front.sum() > 500
    assert not (drawn.mask[drawn.front] > 0.5).any()  # not mask to rebuild ...
    # ... the input is right there (but for the hand's antialiased rim, partly the mask's colour)
    same = (drawn.masked == drawn.truth).all(axis=-1)
    assert same[drawn.front].mean() > 0.9
    # the hand's pixels in front are those of the mask's outline it hides: with no hand, all mask
    bare = draw_frame(image, landmarks, spec.__class__(**{**spec.__dict__, "hand": None}), frame)
    assert (bare.mask[drawn.front] > 0.5).all() and not bare.front.any()
    assert np.array_equal(bare.mask[~drawn.front], drawn.mask[~drawn.front])
    # ``draw`` is the same frame without the hand's map
    for a, b in zip(draw(image, landmarks, spec, frame), drawn[:3]):
        assert np.array_equal(a, b)


def _clip_with_a_hand() -> tuple[Clip, np.ndarray]:
    image, landmarks = astronaut_landmarks()
    spec = mask_plan(1, 40)
    assert spec.hand is not None
    spec = spec.__class__(**{**spec.__dict__, "hand": Hand(1, 3)})
    frames = [draw_frame(image, landmarks, spec, t) for t in range(4)]
    clip = Clip("astronaut", spec, [f.truth for f in frames], [f.masked for f in frames], [f.mask for f in frames],
                [landmarks] * 4, [f.front for f in frames])
    return clip, frames[2].front


def test_a_method_that_rebuilds_over_the_hand_scores_worse_than_one_that_keeps_it() -> None:
    clip, front = _clip_with_a_hand()
    assert front.any() and scored(clip, 2)[front].all()
    perfect = evaluate(clip, clip.truth)
    assert np.isinf(perfect.psnr).all() and max(perfect.cast) < 1e-6 and max(perfect.tde) == 0.0
    # the face rebuilt right where the mask was, but over the hand too (a feather that fades into it)
    over = [t.copy() for t in clip.truth]
    for t in range(1, 4):
        over[t][clip.fronts[t]] = 128
    worse = evaluate(clip, over)
    assert np.isfinite(worse.psnr[1]) and worse.cast[1] > 1.0 and worse.tde[0] > 0.0


def test_a_clip_without_fronts_is_scored_on_its_true_mask() -> None:
    clip, _ = _clip_with_a_hand()
    clip.fronts = []
    assert np.array_equal(scored(clip, 2), clip.masks[2] > 0.5)


def test_the_composite_time_is_counted_per_face_and_the_input_frames_stay_as_they_are() -> None:
    clip, _ = _clip_with_a_hand()
    before = [m.copy() for m in clip.masked]
    outputs, _, timer = run_ours(clip, "none", true_mask=True)
    # frames 1-3 each have one face rebuilt; the blend stage is entered twice per face (the averaging over time, then
    # the blend), so it cannot be the count the stages' time is divided by
    assert timer.calls[FACES] == 3
    assert timer.calls["blend"] == 2 * timer.calls[FACES]
    # the faces are blended into copies: the clip's masked frames are left as they were
    assert all(np.array_equal(a, b) for a, b in zip(before, clip.masked))
    assert not np.array_equal(outputs[2], clip.masked[2])
