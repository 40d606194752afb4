"""The stand-in's fine skin detail brought down to the frame skin's (:mod:`unmask_video.reconstruct.skin_detail`)."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_composite import _elliptic_hole
from unmask_video.reconstruct.color_match import match_color
from unmask_video.reconstruct.lab_pixels import channel_rows, to_lab
from unmask_video.reconstruct.ring_colour import sampled_coords
from unmask_video.reconstruct.skin_detail import MIN_DETAIL, detail_ratio, scale_detail
from unmask_video.reconstruct.smooth_field import at_work_size, work_size


def _freckled_stand_in(seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frame, hole, ring, freckled reference, plain reference): a frame whose skin around an elliptic mask is even
    (a little sensor noise) but shaded, crossed by a lash line and a shirt's edge; the stand-in's skin lighter and
    yellower, with or without dark freckles a few pixels across."""
    rng = np.random.default_rng(seed)
    h, w = 160, 160
    _, _, hole, ring = _elliptic_hole(h, w, (85, 80), (48.0, 56.0), 16)
    frame = np.array([236, 200, 190], np.float32) + rng.normal(0.0, 1.5, (h, w, 1))
    # (the frame's own shading around the mask, broader than the freckles: lids, the nose bridge, the cheekbones, the
    # jaw's and the neck's shade; a lash line; a shirt's edge)
    shading = cv2.resize(rng.random((14, 14)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    frame *= 1.0 - 0.3 * np.clip(shading, 0.0, 1.0)[..., None]
    frame[30:32] *= 0.55
    frame[142:] *= 0.6
    frame = np.clip(frame, 0, 255)
    frame[hole] = (220, 222, 226)  # a grey mask
    skin = np.array([225, 185, 150], np.float32) + rng.normal(0.0, 1.5, (h, w, 1))
    spots = np.zeros((h, w), np.float32)
    for y, x in rng.integers(0, 160, (400, 2)):
        cv2.circle(spots, (int(x), int(y)), int(rng.integers(2, 4)), 1.0, -1)
    freckled = skin * (1.0 - 0.25 * cv2.GaussianBlur(spots, (0, 0), 1.0)[..., None])
    return (frame.astype(np.uint8), hole, ring, np.clip(freckled, 0, 255).astype(np.uint8),
            np.clip(skin, 0, 255).astype(np.uint8))  # fmt: skip


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def _carried_freckles(frame: np.ndarray, hole: np.ndarray, ring: np.ndarray, freckled: np.ndarray,
                      plain: np.ndarray) -> float:  # fmt: skip
    """How strong the stand-in's freckles are in the rebuilt face, over how strong they are in the photo (the spread
    of the lightness they add, well inside the mask)."""

    def rebuilt(reference: np.ndarray) -> np.ndarray:
        return match_color(reference, frame, ring, hole, 0.35, False, hole, seam_sigma=0.05, light="skin")

    inner = hole & (cv2.erode(hole.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0)
    painted = _lightness(freckled) - _lightness(plain)
    carried = _lightness(rebuilt(freckled)) - _lightness(rebuilt(plain))
    return float(np.std(carried[inner]) / np.std(painted[inner]))


def test_a_stand_ins_freckles_are_toned_down_to_the_frames_even_skin_whatever_edges_its_ring_crosses() -> None:
    # The frame's skin around the mask is even but shaded (broader than the freckles) and crossed by a lash line and a
    # shirt's edge; the stand-in's is freckled. That shading and those edges are not the frame skin's fine detail: the
    # freckles are toned down towards the frame's even skin (0.72 of their strength in the photo; 0.81 when the
    # contrast alone, which counts the frame's shading against the warp's smooth light, scaled them).
    carried = _carried_freckles(*_freckled_stand_in())
    assert carried < 0.76, carried


def test_a_frame_as_freckled_as_the_stand_in_keeps_its_freckles() -> None:
    # The same photo as the frame (the frame's skin around the mask freckled like the stand-in's): nothing to tone
    # down, the freckles carried as the contrast alone carries them (within a few percent).
    frame, hole, ring, freckled, plain = _freckled_stand_in()
    own = freckled.copy()
    own[hole] = frame[hole]
    carried = _carried_freckles(own, hole, ring, freckled, plain)
    assert carried > 0.9, carried


def _ring_samples(frame: np.ndarray, reference: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, ...]:
    """The two images' Lab at the colour match's ring samples, their working pixels and the working size."""
    ys, xs = sampled_coords(ring)
    small = work_size(*ring.shape)[0]
    ys_s, xs_s = at_work_size((ys, xs), small, ring.shape)
    return (channel_rows(to_lab(frame[ys, xs])), channel_rows(to_lab(reference[ys, xs])), ys_s * small[0] + xs_s,
            small)  # fmt: skip


def test_the_detail_ratio_reads_the_freckles_and_not_the_frames_edges_or_shading() -> None:
    frame, hole, ring, freckled, plain = _freckled_stand_in()
    tgt, ref, at, small = _ring_samples(frame, freckled, ring)
    everywhere = np.ones(len(at), bool)
    ratio = detail_ratio(tgt, ref, at, small, everywhere)
    # (the frame's skin is even: its lightness's detail is well under the freckled stand-in's)
    assert ratio.dtype == np.float32 and ratio.shape == (3,)
    assert ratio[0] < 0.6, ratio
    assert np.all((ratio >= MIN_DETAIL) & (ratio <= 1.0)), ratio
    # The same image on both sides: 1 (nothing taken), whatever edges cross it.
    np.testing.assert_allclose(detail_ratio(tgt, tgt, at, small, everywhere), 1.0)
    # Too few pixels where both show skin: 1.
    few = np.zeros(len(at), bool)
    few[:10] = True
    np.testing.assert_array_equal(detail_ratio(tgt, ref, at, small, few), np.ones(3, np.float32))
    # A plain stand-in (as even as the frame, no freckles): not toned down below what the frame shows.
    _, ref_plain, _, _ = _ring_samples(frame, plain, ring)
    assert detail_ratio(tgt, ref_plain, at, small, everywhere)[0] > 0.8


def test_the_detail_ratio_leaves_out_an_edge_in_the_frame() -> None:
    # The frame's ring: the freckled stand-in's own skin, a dark lash line and a shirt's edge drawn across it. The
    # lines are edges, not skin detail: the ratio stays near 1 (the same skin on both sides).
    _, hole, ring, freckled, _ = _freckled_stand_in()
    frame = freckled.copy()
    frame[30:32] = (frame[30:32] * 0.5).astype(np.uint8)
    frame[142:] = (frame[142:] * 0.6).astype(np.uint8)
    tgt, ref, at, small = _ring_samples(frame, freckled, ring)
    ratio = detail_ratio(tgt, ref, at, small, np.ones(len(at), bool))
    assert ratio[0] < 1.15 and ratio[0] > 0.85, ratio


def test_scale_detail_takes_the_fine_detail_off_where_weighted_and_leaves_smooth_light() -> None:
    rng = np.random.default_rng(5)
    w, h = 40, 30
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    smooth = 50.0 + 0.5 * xx + 0.3 * yy  # a slope of light: kept
    fine = cv2.GaussianBlur(rng.normal(0.0, 3.0, (h, w)).astype(np.float32), (0, 0), 0.7)
    lab = np.stack([(smooth + fine).reshape(-1), np.full(w * h, 10.0, np.float32), np.full(w * h, 20.0, np.float32)])
    lab = lab.astype(np.float32)
    new = lab.copy()
    weight = np.ones(w * h, np.float32)
    weight[: w * 10] = 0.0  # the top rows are the lips: left alone
    scale_detail(new, lab, (w, h), np.float32([0.5, 0.0, 0.0]), weight)
    np.testing.assert_array_equal(new[1:], lab[1:])
    np.testing.assert_array_equal(new[0, : w * 10], lab[0, : w * 10])
    inner = (slice(15, 26), slice(5, 35))
    before = (lab[0].reshape(h, w) - smooth)[inner]
    after = (new[0].reshape(h, w) - smooth)[inner]
    assert 0.4 < np.std(after) / np.std(before) < 0.75
    # The smooth light is left as it was: the mean over the inner pixels moves by a fraction of the detail's spread.
    assert abs(float(np.mean(after)) - float(np.mean(before))) < 0.3 * float(np.std(before))


def test_the_detail_scale_measured_on_one_frame_holds_on_the_frames_between() -> None:
    # The ratio is measured only with the fields; a frame that reuses them takes the stand-in's freckles down as far.
    import dataclasses

    from unmask_video.reconstruct.light_fields import Anchor, LightTrack

    frame, hole, ring, freckled, plain = _freckled_stand_in()
    anchor = Anchor(np.float32([80.0, 85.0]), 112.0)

    def rebuilt(track: LightTrack) -> np.ndarray:
        return match_color(freckled, frame, ring, hole, 0.35, False, hole, seam_sigma=0.05, light="skin", track=track)

    first = LightTrack(anchor)
    measured = rebuilt(first)
    fields = first.measured
    assert fields is not None and fields.detail is not None and fields.detail[0] < 0.7
    again = LightTrack(anchor, reuse=fields, tolerance=0.1)
    reused = rebuilt(again)
    assert again.reused
    assert np.abs(reused.astype(np.int16) - measured).max() <= 1
    # Without the scale held, the reused frame carries the freckles stronger.
    bare = LightTrack(anchor, reuse=dataclasses.replace(fields, detail=None), tolerance=0.1)
    inner = hole & (cv2.erode(hole.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0)
    spread_held = np.std((_lightness(reused) - _lightness(plain))[inner])
    spread_bare = np.std((_lightness(rebuilt(bare)) - _lightness(plain))[inner])
    assert spread_held < 0.95 * spread_bare, (spread_held, spread_bare)
