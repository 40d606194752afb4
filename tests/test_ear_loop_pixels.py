"""The ear loops' shared pixel steps (unmask_video.ear_loop_pixels): their fast forms against numpy's and OpenCV's
plain ones, on the astronaut (no data needed)."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from unmask_video.ear_loop_options import EarLoopOptions
from unmask_video.ear_loop_pixels import chain_strokes, dot, grow_loops, samples


def test_colour_samples_and_tests_match_numpys_plain_forms():
    """The fast forms of the colour samples (flat index, only the samples converted to Lab) and the colour tests' dot
    products (channel by channel) give what a boolean gather from the whole image's Lab and a product summed over the
    channels give."""
    rgb = data.astronaut()
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    where = np.zeros(lab.shape[:2], np.uint8)
    cv2.circle(where, (250, 200), 90, 1, -1)
    assert np.array_equal(samples(rgb[40:, 30:], where[40:, 30:]), lab[40:, 30:][where[40:, 30:] > 0][::7])
    assert samples(rgb, np.zeros_like(where)).shape == (0, 3)
    a = lab.reshape(-1, 3)[::97].astype(np.float32) - 128.0
    b = a[::-1].copy()
    assert np.array_equal(dot(list(a.T), list(b.T)), (a * b).sum(axis=1))


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strokes (uint8 {0, 1}): lines near and far from a rim (a circle's outline), some in chains through gaps; the
    rim; weak pixels (the strokes widened, a thick patch and a few lines of their own)."""
    strokes = np.zeros((240, 320), np.uint8)
    rim = np.zeros_like(strokes)
    cv2.circle(rim, (110, 120), 60, 1, 1)
    for (x0, y0), (x1, y1) in [((172, 120), (230, 60)), ((236, 55), (290, 20)), ((296, 16), (318, 4)),
                               ((250, 200), (300, 230)), ((200, 140), (240, 150))]:  # fmt: skip
        cv2.line(strokes, (x0, y0), (x1, y1), 1, 2)
    weak = cv2.dilate(strokes, np.ones((5, 5), np.uint8))
    cv2.rectangle(weak, (176, 128), (196, 150), 1, -1)
    cv2.rectangle(weak, (236, 150), (260, 180), 1, -1)
    cv2.line(weak, (0, 239), (319, 100), 1, 1)
    return strokes, rim, weak


def test_the_chain_and_the_growth_on_their_boxes_match_the_whole_images():
    """The chain (on the strokes' box) and the growth (on the loops' box) give what the whole image gives."""
    strokes, rim, weak = _scene()
    size, options = 200.0, EarLoopOptions()
    g = max(int(round(options.gap * size)) | 1, 3)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (g, g))
    n, comp = cv2.connectedComponents(strokes, connectivity=8)
    kept, reach = np.zeros(n, bool), cv2.dilate(rim, disc)
    for _ in range(options.links):
        kept[np.unique(comp[(reach > 0) & (comp > 0)])] = True
        kept[0] = False
        reach = cv2.dilate(kept[comp].astype(np.uint8), disc)
    chained = chain_strokes(strokes, rim, size, options)
    assert np.array_equal(chained, kept[comp].astype(np.uint8))
    assert 0 < chained.sum() < strokes.sum()  # (some chained through their gaps, some too far)
    w = max(int(round(options.patch * size)) | 1, 3)
    thin = weak & (cv2.morphologyEx(weak, cv2.MORPH_OPEN, np.ones((w, w), np.uint8)) == 0)
    grown = chained.copy()
    for _ in range(max(int(round(options.grow * size)), 1)):
        grown = (cv2.dilate(grown, np.ones((3, 3), np.uint8)) & thin) | chained
    before = np.zeros_like(strokes)
    before[135:160, 195:250] = weak[135:160, 195:250]
    plain = grown | (cv2.dilate(before, np.ones((3, 3), np.uint8)) & thin)
    assert np.array_equal(grow_loops(chained, weak, before, size, options), plain)
    assert np.array_equal(grow_loops(chained, weak, None, size, options), grown)
    assert not grow_loops(np.zeros_like(strokes), weak, None, size, options).any()
    # (a thin weak band across a stroke's end, at the edge of the stroke's box: grown into as on the whole image)
    seed = np.zeros_like(strokes)
    cv2.line(seed, (100, 100), (140, 100), 1, 2)
    band = cv2.dilate(seed, np.ones((3, 3), np.uint8))
    band[90:112, 141:145] = 1
    alone = grow_loops(seed, band, None, size, options)
    assert alone[:, 142:].sum() > seed[:, 142:].sum()


def _whole_image_chain(strokes: np.ndarray, rim: np.ndarray, g: int, links: int, joined: np.ndarray) -> np.ndarray:
    """The chain's plain form on the whole image: the components read on ``joined``, kept as they come within the
    gap's disc of the rim, then of what is kept, ``links`` times."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (g, g))
    n, comp = cv2.connectedComponents(joined, connectivity=8)
    kept, reach = np.zeros(n, bool), cv2.dilate(rim, disc)
    for _ in range(links):
        kept[np.unique(comp[(reach > 0) & (comp > 0)])] = True
        kept[0] = False
        reach = cv2.dilate(kept[comp].astype(np.uint8), disc)
    return kept[comp].astype(np.uint8) & strokes


def test_the_bridged_chain_on_its_boxes_matches_the_whole_images():
    """With ``weak`` pixels (the bridge), the chain again with the strokes joined by the thin weak pixels, on the
    strokes' box (the rim's reach read once where both chains' boxes are the same: the opening no wider than the gap,
    the default) or on the wider box the opening needs: what the whole image gives, and the bridge joins a stroke
    that the plain chain leaves out."""
    strokes, rim, _ = _scene()
    weak = np.zeros_like(strokes)
    cv2.line(weak, (231, 59), (250, 44), 1, 1)  # (a thin run from a chained stroke to one beyond the gap)
    cv2.line(weak, (240, 150), (250, 200), 1, 1)  # (and one between two strokes left out: they stay out)
    cv2.rectangle(weak, (20, 20), (40, 40), 1, -1)  # (a patch: no bridge)
    # (with room around the strokes: their boxes are not cut by the image's edges)
    strokes, rim, weak = (cv2.copyMakeBorder(a, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=0) for a in (strokes, rim, weak))
    size = 200.0
    for options in (EarLoopOptions(), EarLoopOptions(patch=0.06), EarLoopOptions(gap=0.05, patch=0.02)):
        g = max(int(round(options.gap * size)) | 1, 3)
        w = max(int(round(options.patch * size)) | 1, 3)
        plain = _whole_image_chain(strokes, rim, g, options.links, strokes)
        assert np.array_equal(chain_strokes(strokes, rim, size, options), plain)
        thin = weak & (cv2.morphologyEx(weak, cv2.MORPH_OPEN, np.ones((w, w), np.uint8)) == 0)
        bridged = _whole_image_chain(strokes, rim, g, options.links, thin | strokes)
        got = chain_strokes(strokes, rim, size, options, weak)
        assert np.array_equal(got, bridged), (options.gap, options.patch)
        assert got.sum() > plain.sum(), (options.gap, options.patch)  # (the bridge took a stroke the chain left)
