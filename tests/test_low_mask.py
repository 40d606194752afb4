"""A mask worn below the nose: the blend leaves the bare nose above its top edge as the frame shows it
(unmask_video/low_mask.py, ``BlendOptions.low_top``)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from unmask_video import landmark_sets as ls
from unmask_video.blend import BlendOptions, feather_alpha, feather_reach
from unmask_video.low_mask import cap_above_top, nose_bare
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.synthetic import MaskStyle, draw_surgical_mask


def test_the_cap_ramps_down_above_each_columns_top_and_leaves_the_rest() -> None:
    mask = np.zeros((30, 20), np.float32)
    mask[10:25, 5:10] = 1.0
    mask[14:25, 10:15] = 0.6  # (a lower top on the right; a soft value counts as mask)
    alpha = np.full(mask.shape, 0.9, np.float32)
    alpha[mask > 0] = 1.0
    before = alpha.copy()
    cap_above_top(alpha, mask, 2.0)
    for col, top in ((7, 10), (12, 14)):
        assert alpha[top - 1, col] == pytest.approx(2.0 / 3.0)
        assert alpha[top - 2, col] == pytest.approx(1.0 / 3.0)
        assert not alpha[: top - 2, col].any()
        assert np.array_equal(alpha[top:, col], before[top:, col])
    # (beside the mask's columns, and a cap above the alpha already there: left as they are)
    assert np.array_equal(alpha[:, :5], before[:, :5]) and np.array_equal(alpha[:, 15:], before[:, 15:])
    low = np.full(mask.shape, 0.1, np.float32)
    cap_above_top(low, mask, 2.0)
    assert low[9, 7] == pytest.approx(0.1) and low[7, 7] == 0.0
    empty = before.copy()
    cap_above_top(empty, np.zeros_like(mask), 2.0)
    assert np.array_equal(empty, before)
    # A notch two columns wide in the top edge (a sliver of cloth the segmentation left out) takes its neighbours' top.
    notched = np.zeros((30, 30), np.float32)
    notched[10:25, 5:25] = 1.0
    notched[10:16, 14:16] = 0.0
    alpha = np.full(notched.shape, 0.9, np.float32)
    alpha[notched > 0] = 1.0
    before = alpha.copy()
    cap_above_top(alpha, notched, 2.0)
    assert alpha[9, 14] == pytest.approx(2.0 / 3.0) and not alpha[:8, 14].any()
    assert np.array_equal(alpha[10:, 14:16], before[10:, 14:16])  # (the notch's feather is kept)
    # (on a real feather, the rows it never reaches left unread: the same alpha)
    feather = feather_alpha(mask, 6.0)
    everywhere, near = feather.copy(), feather.copy()
    cap_above_top(everywhere, mask, 2.0)
    cap_above_top(near, mask, 2.0, feather_reach(6.0))
    assert np.array_equal(everywhere, near) and not np.array_equal(everywhere, feather)


def below_the_nose(image: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with a surgical mask worn below the nose: the drawn mask with its top cut off level 3 px under the
    nose's base, the face above as it was; and the drawn mask, float32 {0, 1}."""
    masked, drawn = draw_surgical_mask(image, lm, MaskStyle())
    cut = int(round(float(lm[ls.NOSE_BASE, 1]))) + 3
    masked[:cut] = image[:cut]
    drawn[:cut] = 0.0
    return masked, drawn


def test_nose_bare_tells_a_mask_below_the_nose_from_a_worn_one(astronaut, astronaut_landmarks) -> None:
    worn = draw_surgical_mask(astronaut, astronaut_landmarks, MaskStyle())[1]
    slipped = draw_surgical_mask(astronaut, astronaut_landmarks, MaskStyle(drop=0.25))[1]  # (over the nose's tip)
    assert not nose_bare(worn, astronaut_landmarks)
    assert not nose_bare(slipped, astronaut_landmarks)
    assert nose_bare(below_the_nose(astronaut, astronaut_landmarks)[1], astronaut_landmarks)


def _unmasked(image: np.ndarray, reference: np.ndarray, blend: BlendOptions) -> np.ndarray:
    """``image`` through the pipeline (the composite) with ``reference``."""
    options = PipelineOptions(reference_advice=None, blend=blend)
    pipeline = FramePipeline(reference, build_reconstructor(ReconstructorOptions(generator="none")), options)
    try:
        return pipeline.process(image, 0.0)
    finally:
        pipeline.close()


def test_the_astronaut_with_a_mask_below_her_nose_keeps_her_nose(astronaut, astronaut_landmarks) -> None:
    # (at twice her size: a face about 180 px wide, as in a 720p talking head; the blend's band 12 px)
    image = cv2.resize(astronaut, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    lm = (astronaut_landmarks * 2.0).astype(np.float32)
    masked, drawn = below_the_nose(image, lm)
    # A stand-in reference: her mirror image (another nose's shape where the warp lands it), in warmer light.
    reference = np.clip(image[:, ::-1] * np.array([1.0, 0.85, 0.7]), 0, 255).astype(np.uint8)
    kept = _unmasked(masked, reference, BlendOptions())
    whole = _unmasked(masked, reference, replace(BlendOptions(), low_top=None))
    # (it is taken as worn and rebuilt)
    on = drawn > 0.5
    assert np.abs(kept.astype(np.int16) - masked)[on].max(axis=1).mean() > 20
    # Her nose: the columns of its wings, from the nose tip's height down to 6 px above the drawn mask's top edge
    # there (the feather's reach above the segmented top is 4 px on this face, and the outline may be off by a pixel).
    top = np.argmax(on, axis=0)
    x0, x1 = (int(round(v)) for v in sorted(lm[list(ls.NOSE_UNDERSIDE[1:]), 0]))  # (its wings' bases)
    tip_y = int(round(float(lm[ls.NOSE_TIP, 1])))
    nose = np.zeros(on.shape, bool)
    for x in range(x0, x1 + 1):
        nose[tip_y : top[x] - 6, x] = True
    assert nose.sum() > 50
    change = lambda out: np.abs(out.astype(np.int16) - masked).max(axis=2)[nose]  # noqa: E731
    assert change(kept).max() <= 2  # (as the frame shows it: the pixels the feather no longer reaches)
    assert np.mean(change(whole) > 4) > 0.2  # (the blend's whole band had reached over it)
