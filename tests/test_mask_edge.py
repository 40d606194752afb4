"""The outline settled at the ROI's resolution (mask_edge): a blurred edge's partly-mask pixels join, skin does not."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from unmask_video.mask_edge import EdgeModel, edge_model, settle_edge
from unmask_video.segment_options import SegmentOptions

#: The usual rule alone (the partly-mask pixels, one deep): no chroma rule, no deep settle through the own colour.
_PLAIN = SegmentOptions(edge_chroma=0.0, edge_cloth=0.0, edge_run=0.0, edge_run_depth=0.0, edge_run_px=0.0)


def _soft_disc(size=160, radius=50.0, ramp=2.5, skin=(200, 150, 130), cloth=(190, 220, 240), noise=2.0, seed=5):
    """A cloth disc on skin whose edge blends over ``ramp`` pixels (alpha falls linearly from 1 to 0 across it, as a
    blurred or anti-aliased edge does): the RGB image and the alpha."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    r = np.hypot(xx - size / 2, yy - size / 2)
    alpha = np.clip((radius - r) / ramp + 0.5, 0.0, 1.0)
    image = alpha[..., None] * np.array(cloth, np.float32) + (1 - alpha[..., None]) * np.array(skin, np.float32)
    image += np.random.default_rng(seed).normal(0, noise, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), alpha


def _settle(image, hard, scale=1):
    """The model at a working size ``1 / scale`` of the image's (the segmenter's), the decision at the image's own."""
    work = image if scale == 1 else cv2.resize(image, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
    mask = (hard > 0).astype(np.uint8)
    if scale != 1:
        mask = (cv2.resize(mask.astype(np.float32), work.shape[1::-1], interpolation=cv2.INTER_AREA) >= 0.5)
        mask = mask.astype(np.uint8)
    model = edge_model(cv2.cvtColor(work, cv2.COLOR_RGB2LAB), mask, _PLAIN)
    assert model is not None
    s = 1.0 / scale
    return settle_edge(image, hard.astype(np.uint8) * 255, model, (s, 0.5 * s - 0.5, s, 0.5 * s - 0.5)) > 0


def test_a_blurred_edges_partly_mask_pixels_join_and_the_skin_beyond_does_not():
    for scale in (1, 2):  # (the working size the image's own, and half of it: the decision at the finer one)
        image, alpha = _soft_disc()
        hard = alpha >= 0.5  # where the snap puts the outline: the steepest step, half cloth
        out = _settle(image, hard, scale)
        partly = (alpha >= 0.3) & ~hard
        assert partly.sum() > 100
        assert out[partly].mean() > 0.95, scale  # (without the settle: none of them)
        assert not (out & (alpha == 0)).any(), scale  # the skin just beyond stays out
        assert (out[hard]).all()


def test_noise_textured_skin_and_a_mask_of_the_skins_colour_take_nothing():
    # a sharp edge on grainy skin: single pixels stray towards the cloth, none is partly mask
    image, alpha = _soft_disc(ramp=0.01, noise=14.0)
    hard = alpha >= 0.5
    out = _settle(image, hard)
    ring = (cv2.dilate(hard.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~hard
    assert (out & ~hard).sum() < 0.03 * ring.sum()
    # a cloth of nearly the skin's colour: no edge to read, nothing joins
    image, alpha = _soft_disc(cloth=(204, 154, 134))
    hard = alpha >= 0.5
    assert (_settle(image, hard) == hard).all()


def test_the_segmenter_settles_a_blurred_masks_outline(astronaut, astronaut_landmarks):
    """Wired into MaskSegmenter: a drawn mask whose edge is blurred over a few pixels (a soft or out-of-focus edge) is
    covered further out into its blend with the skin than without the settle, and no pixel the mask does not reach
    at all joins."""
    from unmask_video.landmarks import face_box
    from unmask_video.segment import MaskSegmenter, SegmentOptions
    from unmask_video.synthetic import LIGHT_BLUE, MaskStyle, draw_surgical_mask

    big = cv2.resize(astronaut, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    lm = (astronaut_landmarks * 2.0).astype(np.float32)
    masked, truth = draw_surgical_mask(big, lm, MaskStyle(LIGHT_BLUE))
    alpha = cv2.GaussianBlur((truth > 0.5).astype(np.float32), (0, 0), 1.5)[..., None]
    soft = np.clip(np.rint(alpha * masked + (1 - alpha) * big), 0, 255).astype(np.uint8)
    box = face_box(lm, soft.shape)
    roi, roi_lm = np.ascontiguousarray(soft[box.slices]), lm - np.array([box.x0, box.y0], np.float32)
    a = alpha[box.slices][..., 0]
    on = MaskSegmenter(SegmentOptions(edge_settle=True)).segment(roi, roi_lm) >= 0.5
    off = MaskSegmenter(SegmentOptions(edge_settle=False)).segment(roi, roi_lm) >= 0.5
    assert off.any()
    partly = (a >= 0.2) & (a < 0.5)
    assert (on & partly).sum() >= (off & partly).sum() + 0.04 * partly.sum()  # (119 against 77 of 658 px)
    assert (on & (a < 0.01)).sum() <= (off & (a < 0.01)).sum()


def _lab_to_rgb(lab):
    return cv2.cvtColor(np.uint8([[lab]]), cv2.COLOR_LAB2RGB)[0, 0].astype(np.float32)


def _chroma_bled_disc(share, size=160, radius=50.0, noise=2.0, chroma_noise=0.0, seed=7):
    """A sharp cloth disc on skin whose one-pixel ring outside keeps the skin's lightness but takes ``share`` of the way
    from the skin's chroma to the cloth's (the cloth's colour that halved chroma resolution spreads onto the skin): the
    image, the disc, the ring. ``chroma_noise``: the skin's a and b vary by this much (Lab units, per pixel)."""
    skin = cv2.cvtColor(np.uint8([[[200, 150, 130]]]), cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    cloth = cv2.cvtColor(np.uint8([[[225, 240, 255]]]), cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    disc = np.hypot(xx - size / 2, yy - size / 2) <= radius
    ring = (cv2.dilate(disc.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~disc
    rng = np.random.default_rng(seed)
    lab = np.empty((size, size, 3), np.float32)
    lab[:] = skin
    lab[..., 1:] += rng.normal(0, chroma_noise, (size, size, 2)) if chroma_noise > 0 else 0.0
    lab[ring, 1:] += share * (cloth[1:] - skin[1:])
    lab[disc] = cloth
    image = cv2.cvtColor(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    image += rng.normal(0, noise, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), disc, ring


def _settle_chroma(image, hard, chroma_floor):
    mask = hard.astype(np.uint8)
    model = edge_model(cv2.cvtColor(image, cv2.COLOR_RGB2LAB), mask, replace(_PLAIN, edge_chroma=chroma_floor))
    assert model is not None
    return settle_edge(image, mask * 255, model, (1.0, 0.0, 1.0, 0.0)) > 0


def test_the_cloths_chroma_spread_onto_the_skin_joins_when_the_chroma_is_read():
    image, disc, ring = _chroma_bled_disc(0.6)
    # (the lightness is the skin's: the Lab rule leaves the ring out)
    assert _settle_chroma(image, disc, 0.0)[ring].mean() < 0.05
    out = _settle_chroma(image, disc, 12.0)
    assert out[ring].mean() > 0.9
    assert not (out & ~disc & ~ring).any()  # one pixel deep
    # a ring whose chroma moved only a little towards the cloth's (under the floor) stays out
    image, disc, ring = _chroma_bled_disc(0.15)
    assert _settle_chroma(image, disc, 12.0)[ring].mean() < 0.05


def test_noisy_chroma_beside_the_mask_takes_little():
    # skin whose chroma varies by 8 Lab units, no bleed: single pixels stray towards the cloth, the ring is not the cloth's
    image, disc, ring = _chroma_bled_disc(0.0, chroma_noise=8.0)
    out = _settle_chroma(image, disc, 12.0)
    assert (out & ring).sum() < 0.05 * ring.sum()


def _cloth_strip_fingers(strip_px=4, size=160, edge=70, seed=3, gap=(40, 28, 32)):
    """A white cloth left of column ``edge``, then ``strip_px`` columns of the same cloth in the fingers' shade (darker,
    a little of their pink), then fingers in bands of rows with dark hair (``gap``) between them: the RGB image and the
    masks of the cloth, the strip and the fingers."""
    rng = np.random.default_rng(seed)
    image = np.empty((size, size, 3), np.float32)
    xx = np.arange(size)[None, :].repeat(size, 0)
    yy = np.arange(size)[:, None].repeat(size, 1)
    cloth = xx < edge
    strip = (xx >= edge) & (xx < edge + strip_px)
    finger = (xx >= edge + strip_px) & ((yy // 12) % 2 == 0)
    image[cloth] = (232, 226, 234)
    image[strip] = (214, 190, 200)
    image[~cloth & ~strip] = gap
    image[finger] = (160, 96, 108)
    image += rng.normal(0, 2.0, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), cloth, strip, finger


def _settle_own(image, hard, own, depth, scale=2):
    work = cv2.resize(image, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
    mask = (cv2.resize(hard.astype(np.float32), work.shape[1::-1], interpolation=cv2.INTER_AREA) >= 0.5).astype(np.uint8)
    model = edge_model(cv2.cvtColor(work, cv2.COLOR_RGB2LAB), mask, replace(_PLAIN, edge_cloth=own, edge_depth=depth))
    assert model is not None
    s = 1.0 / scale
    return settle_edge(image, hard.astype(np.uint8) * 255, model, (s, 0.5 * s - 0.5, s, 0.5 * s - 0.5)) > 0


def test_a_strip_of_shaded_cloth_between_the_mask_and_the_fingers_joins_and_the_fingers_stay_out():
    image, cloth, strip, finger = _cloth_strip_fingers()
    rows = slice(10, 150)  # (away from the image's top and bottom edges)
    # the fingers and the hair between them spread the colour beyond: the partly-mask rule takes the strip's first
    # column at most
    before = _settle_own(image, cloth, 0.0, 1)
    assert before[rows][strip[rows]].mean() < 0.3
    after = _settle_own(image, cloth, 0.75, 8)
    assert after[rows][strip[rows]].mean() > 0.95
    assert not after[finger].any()  # the fingers stay in front
    assert not (after & ~cloth & ~strip & ~finger).any()  # and the hair between them out


def test_the_cloths_own_colour_rule_leaves_a_blurred_edges_skin_out():
    image, alpha = _soft_disc()
    hard = alpha >= 0.5
    work_mask = hard.astype(np.uint8)
    options = replace(_PLAIN, edge_cloth=0.75, edge_depth=8)
    model = edge_model(cv2.cvtColor(image, cv2.COLOR_RGB2LAB), work_mask, options)
    out = settle_edge(image, work_mask * 255, model, (1.0, 0.0, 1.0, 0.0)) > 0
    assert not (out & (alpha == 0)).any()  # the skin beyond stays out, however deep the settle may go


def test_cloth_coloured_ground_running_on_past_the_depth_stays_out():
    # one model for the whole image: the cloth's grey 220, the ground beyond 60 (the rule: 0.75 of the way, 180 or
    # lighter). Beside the mask a strip of grey 200 stops at a dark finger after 4 columns on the first rows, and runs
    # on (a white collar, a pale wall) on the others: the deep settle reaches past ``depth`` there and keeps none of it
    size, edge = 80, 30
    image = np.full((size, size, 3), 60, np.uint8)
    image[:, :edge] = 220
    image[:, edge : edge + 4] = 200
    hard = np.zeros((size, size), np.uint8)
    hard[:, :edge] = 255
    model = EdgeModel(
        (0, 0), 4 * size, (1, 1), np.zeros(1, np.int32), np.array([[1.0, 0.0, 0.0]], np.float32),
        np.zeros(1, np.float32), np.full(1, 1e9, np.float32), replace(_PLAIN, edge_cloth=0.75, edge_depth=8),
        size=np.ones(1, np.float32),
    )
    lab_l = cv2.cvtColor(image[:1, -1:], cv2.COLOR_RGB2LAB)[0, 0, 0]
    model.offset[:] = cv2.cvtColor(np.full((1, 1, 3), 60, np.uint8), cv2.COLOR_RGB2LAB)[0, 0, 0]
    model.size[:] = cv2.cvtColor(np.full((1, 1, 3), 220, np.uint8), cv2.COLOR_RGB2LAB)[0, 0, 0] - model.offset
    assert lab_l < model.offset[0] + 0.75 * model.size[0]  # (the ground beyond never joins)
    closed = settle_edge(image, hard.copy(), model, (1.0, 0.0, 1.0, 0.0)) > 0
    assert closed[:, edge : edge + 4].all() and not closed[:, edge + 4 :].any()  # the strip that stops: taken
    image[size // 2 :, edge + 4 :] = 200
    open_ = settle_edge(image, hard.copy(), model, (1.0, 0.0, 1.0, 0.0)) > 0
    assert not open_[:, edge + 1 :].any()  # (the first ring only; 8 columns deep on the lower rows without the probe)


_FINGER_AB = cv2.cvtColor(np.array([[[160, 96, 108]]], np.uint8), cv2.COLOR_RGB2LAB)[0, 0, 1:].astype(np.float32)
# (the gaps between the fingers in their own shade: dark, of the fingers' chroma)
_SHADE = tuple(int(v) for v in cv2.cvtColor(
    np.array([[[40, *_FINGER_AB]]], np.uint8), cv2.COLOR_LAB2RGB)[0, 0])


def _settle_runs(image, hard, run, face=80.0, scale=2, skin_ab=_FINGER_AB):
    """:func:`_settle_own` at 0.75 and depth 8, the strips kept only where they run along the outline (``run`` x the
    working ``face`` size, 2.2 pixels deep on average, 16 pixels at least; 0: every strip) and end at skin of
    ``skin_ab`` (the fingers' colour by default)."""
    work = cv2.resize(image, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
    mask = (cv2.resize(hard.astype(np.float32), work.shape[1::-1], interpolation=cv2.INTER_AREA) >= 0.5).astype(np.uint8)
    options = replace(_PLAIN, edge_cloth=0.75, edge_depth=8, edge_run=run, edge_run_depth=2.2,
                      edge_run_px=16.0 if run > 0 else 0.0)  # fmt: skip
    model = edge_model(cv2.cvtColor(work, cv2.COLOR_RGB2LAB), mask, options, face, skin_ab)
    assert model is not None
    s = 1.0 / scale
    return settle_edge(image, hard.astype(np.uint8) * 255, model, (s, 0.5 * s - 0.5, s, 0.5 * s - 0.5)) > 0


def test_a_strip_along_the_fingers_is_taken_where_the_runs_are_read():
    image, cloth, strip, finger = _cloth_strip_fingers(gap=_SHADE)
    rows = slice(10, 150)
    after = _settle_runs(image, cloth, 0.065)
    assert after[rows][strip[rows]].mean() > 0.95  # (its 160 rows touch the outline: a finger's side, 4 deep)
    assert not after[finger].any() and not (after & ~cloth & ~strip & ~finger).any()


def test_a_speck_or_a_thin_line_of_shaded_cloth_is_no_fingers_strip():
    image, cloth, strip, finger = _cloth_strip_fingers(gap=_SHADE)
    rows = np.arange(160)
    # a speck: the shaded strip only on 8 rows of 80 (dark hair beside the rest); a line: its first two columns only
    speck = image.copy()
    speck[strip & (rows[:, None] % 80 >= 8)] = (40, 28, 32)
    line = image.copy()
    line[strip & (rows[None, :] > 71)] = (40, 28, 32)
    for picture in (speck, line):
        usual = _settle_own(picture, cloth, 0.0, 1)  # (the partly-mask rule alone: the rule off)
        every = _settle_runs(picture, cloth, 0.0)  # (every strip, as first written)
        assert (every & ~usual).sum() >= 20
        assert np.array_equal(_settle_runs(picture, cloth, 0.065), usual)  # no finger's run: the rule off, exactly


def test_a_strip_that_ends_at_no_skin_or_on_a_greyish_face_is_not_taken():
    image, cloth, strip, finger = _cloth_strip_fingers(gap=_SHADE)
    usual = _settle_own(image, cloth, 0.0, 1)
    assert not np.array_equal(_settle_runs(image, cloth, 0.065), usual)  # (the fingers' skin: taken)
    # the same strip on a face whose skin is another colour (it ends at no skin of the face's): the rule off
    blue = cv2.cvtColor(np.array([[[120, 140, 200]]], np.uint8), cv2.COLOR_RGB2LAB)[0, 0, 1:].astype(np.float32)
    assert np.array_equal(_settle_runs(image, cloth, 0.065, skin_ab=blue), usual)
    # a skin near grey (a finger not told by colour from a grey mask's shade, a hood): the rule off
    assert np.array_equal(_settle_runs(image, cloth, 0.065, skin_ab=np.float32([134.0, 133.0])), usual)
    assert np.array_equal(_settle_runs(image, cloth, 0.065, skin_ab=None), usual)


def test_specks_of_shaded_cloth_read_no_ring_past_the_usual_one(monkeypatch):
    # (the cost: where no part of the first own ring may make a run, the usual rule's ring is the only one read, and
    # the ring's parts are told on a coarse grid, with no image-wide labelling)
    from unmask_video import mask_edge

    image, cloth, strip, finger = _cloth_strip_fingers(gap=_SHADE)
    rows = np.arange(160)
    speck = image.copy()
    speck[strip & (rows[:, None] % 80 >= 8)] = (40, 28, 32)
    calls = {"ring": 0, "labelled": 0}
    settle_once, may_run = mask_edge._settle_once, mask_edge._may_run

    def counted_once(*args, **kwargs):
        calls["ring"] += 1
        return settle_once(*args, **kwargs)

    def counted_may(*args, **kwargs):
        calls["labelled"] += 1
        return may_run(*args, **kwargs)

    usual = _settle_own(speck, cloth, 0.0, 1)
    monkeypatch.setattr(mask_edge, "_settle_once", counted_once)
    monkeypatch.setattr(mask_edge, "_may_run", counted_may)
    assert np.array_equal(_settle_runs(speck, cloth, 0.065), usual)
    assert calls == {"ring": 1, "labelled": 0}  # (the usual rule's ring: the same mask, nothing more read)
    calls.update(ring=0, labelled=0)
    after = _settle_runs(image, cloth, 0.065)  # (the fingers' strip: its rings read, in their box, and taken)
    assert calls["labelled"] == 1 and calls["ring"] > 2
    assert after[10:150][strip[10:150]].mean() > 0.95

