"""The quality benchmark's --cast-parts: where inside the true mask a colour cast comes from."""

from __future__ import annotations

import numpy as np
from skimage import data

from benchmarks.drawn_masks import mask_plan
from benchmarks.quality import CAST_PARTS, Clip, cast_parts


def _clip(frames: int = 4) -> tuple[Clip, np.ndarray]:
    """A still clip of the astronaut with a rectangular true mask over her lower face (frame 0, the reference, has
    none)."""
    truth = np.ascontiguousarray(data.astronaut()[100:300, 120:320])
    mask = np.zeros(truth.shape[:2], np.float32)
    mask[60:180, 40:160] = 1.0
    masks = [np.zeros_like(mask)] + [mask] * (frames - 1)
    clip = Clip("still", mask_plan(0, frames), [truth] * frames, [truth] * frames, masks, [np.zeros((478, 2))] * frames)
    return clip, mask > 0.5


def _brighter(image: np.ndarray, where: np.ndarray, by: int) -> np.ndarray:
    out = image.astype(np.int16)
    out[where] += by
    return np.clip(out, 0, 255).astype(np.uint8)


def test_a_cast_on_the_filled_pixels_shows_there_and_not_on_the_warped_ones() -> None:
    clip, hole = _clip()
    valid = np.zeros(hole.shape, bool)
    valid[:, :100] = True  # the warp covers the mask's left part; its right part (x 100-159) is filled
    outputs = [_brighter(t, hole & ~valid, 30) for t in clip.truth]
    means, share = cast_parts(clip, outputs, [valid] * len(outputs))
    assert set(means) == set(CAST_PARTS)
    assert abs(share - 60 / 120) < 1e-6, share
    assert means["filled"][0] > 8.0, means
    assert np.all(np.abs(means["warped"]) < 1e-3), means
    # Every third of the rows holds the same share of filled pixels: the cast shows alike in each.
    assert np.allclose(means["top"], means["bottom"], atol=0.5), means


def test_a_cast_at_the_bottom_of_the_mask_shows_in_its_bottom_third_only() -> None:
    clip, hole = _clip()
    bottom = hole.copy()
    bottom[:140] = False  # the mask's rows are 60-179: its bottom third starts at row 140
    outputs = [_brighter(t, bottom, -40) for t in clip.truth]
    means, share = cast_parts(clip, outputs, [hole] * len(outputs))
    assert share == 0.0
    assert means["bottom"][0] < -8.0, means
    assert np.all(np.abs(means["top"]) < 1e-3) and np.all(np.abs(means["middle"]) < 1e-3), means
    assert np.isnan(means["filled"]).all(), means  # nothing filled: no figure
