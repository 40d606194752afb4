"""benchmarks.segmentation's truth from a pair of photos (with and without a pasted mask): synthetic pairs only."""

from __future__ import annotations

import cv2
import numpy as np

from benchmarks.segmentation import truth_and_loops

PALE_SKIN = (236, 222, 214)
DARK_SKIN = (176, 128, 104)
MASK = (214, 230, 238)  # a pale blue mask: ~20 from the pale skin (under the strong difference's 25), far from the dark


def _pair(noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(masked, clean, mask drawn, loop drawn): a face of darker skin with a pale patch over the nose, on a dark
    background; a pale mask over the lower face, its top over the patch; an ear loop from its corner over the
    background; ``noise`` (std) added to the masked photo only (as on some masked_pairs photos)."""
    h, w = 240, 240
    clean = np.full((h, w, 3), 50, np.uint8)
    cv2.ellipse(clean, (120, 120), (80, 105), 0, 0, 360, DARK_SKIN, -1)
    cv2.circle(clean, (120, 105), 32, PALE_SKIN, -1)
    mask = np.zeros((h, w), np.uint8)
    poly = np.array([[60, 115], [120, 95], [180, 115], [175, 190], [120, 210], [65, 190]], np.int32)
    cv2.fillPoly(mask, [poly], 1)
    loop = np.zeros((h, w), np.uint8)
    cv2.line(loop, (60, 117), (20, 150), 1, 2)
    loop &= 1 - mask
    masked = clean.copy()
    masked[mask > 0] = MASK
    masked[loop > 0] = (250, 250, 250)
    if noise > 0:
        rng = np.random.default_rng(seed)
        masked = np.clip(masked + rng.normal(0, noise, masked.shape), 0, 255).astype(np.uint8)
    return masked, clean, mask > 0, loop > 0


def test_truth_covers_a_pale_mask_top_over_pale_skin_on_a_noisy_photo():
    # Where the pale mask lies over pale skin (a bite out of the top of the truth), the difference is under the strong
    # threshold; on a noisy photo the weak one is off: the top of the mask had been left out of the truth (and the nose
    # tip with it: "worn low").
    masked, clean, mask, _ = _pair(noise=12.0)
    truth, _ = truth_and_loops(masked, clean)
    top = mask & (np.abs(clean.astype(int) - PALE_SKIN).max(axis=2) == 0)  # (the mask over the pale skin)
    assert truth[top].mean() > 0.9
    assert (truth & ~mask).sum() < 0.03 * mask.sum()


def test_truth_on_a_clean_photo_is_the_mask():
    masked, clean, mask, _ = _pair(noise=0.0)
    truth, _ = truth_and_loops(masked, clean)
    assert (truth & mask).sum() / (truth | mask).sum() > 0.95


def test_ear_loop_beside_the_truth_counts_neither_way():
    masked, clean, mask, loop = _pair(noise=12.0)
    truth, loops = truth_and_loops(masked, clean)
    off = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) > 4  # (the loop, past the mask's edge)
    assert not (truth & loop & off).any()
    assert loops[loop & off].mean() > 0.9
    # (the noise itself is no loop)
    assert loops.sum() < 3 * loop.sum() + 0.02 * mask.sum()


def test_chroma_420_spreads_colour_a_pixel_past_an_edge_and_keeps_the_lightness():
    from benchmarks.segmentation import chroma_420

    image = np.zeros((16, 16, 3), np.uint8)
    image[:] = (200, 150, 130)  # skin
    image[:, 9:] = (150, 200, 240)  # a light blue cloth from column 9 (odd: the 2x2 chroma blocks straddle it)
    out = chroma_420(image)
    assert out.shape == image.shape and out.dtype == np.uint8
    luma = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)[..., 0].astype(int)  # noqa: E731
    assert np.abs(luma(out) - luma(image)).max() <= 2
    cr = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)[..., 1].astype(int)  # noqa: E731
    assert abs(cr(out)[8, 8] - cr(image)[8, 8]) >= 5  # (the skin's pixel by the edge takes some of the cloth's chroma)
    assert np.abs(out[:, :6].astype(int) - image[:, :6]).max() <= 1  # (flat colour away from the edge: unchanged)
