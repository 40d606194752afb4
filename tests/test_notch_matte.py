"""A finger laid over the mask's side stays whole in front of the rebuilt face, and the strip of cloth the segmentation
left between the mask and the finger is rebuilt, not left as a pale fringe round it
(:mod:`unmask_video.notch_matte`)."""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np
from skimage import data

from unmask_video import blend as blend_module
from unmask_video.blend import BlendOptions, blend_into
from unmask_video.ear_loop_fill import off_front
from unmask_video.notch_matte import NotchMatte, settle_notch_edges
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.stages import Box, Loops
from unmask_video.synthetic import WHITE, MaskStyle, astronaut_landmarks, draw_finger, draw_surgical_mask

SKIN = (222, 168, 148)  # RGB: a finger
CLOTH = (236, 236, 240)  # RGB: a white mask
REBUILT = (196, 128, 112)  # RGB: the rebuilt face, flat, so what shows of it is plain
WIDTH = 12.0


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A frame (the astronaut, a white mask over her lower face, a finger over its left side from outside it), the
    segmented mask (the cloth without the finger and a 3 px strip of cloth round it, soft-edged), the finger's
    pixels and the cloth's."""
    frame = cv2.resize(data.astronaut(), (360, 300), interpolation=cv2.INTER_AREA)
    cloth = np.zeros((300, 360), np.uint8)
    cv2.ellipse(cloth, (190, 170), (130, 100), 0, 0, 360, 1, -1)
    finger = np.zeros_like(cloth)
    cv2.rectangle(finger, (0, 150), (115, 180), 1, -1)
    cv2.circle(finger, (115, 165), 15, 1, -1)
    frame[cloth > 0] = CLOTH
    frame[finger > 0] = SKIN
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0)  # (a camera's soft edges: the finger's rim mixes with the cloth)
    left = cloth & (1 - cv2.dilate(finger, np.ones((7, 7), np.uint8)))
    mask = np.clip(cv2.GaussianBlur(left.astype(np.float32), (0, 0), 1.0) * 2.0 - 0.5, 0.0, 1.0) * left
    return frame, mask.astype(np.float32), finger > 0, cloth > 0


def _blended(frame: np.ndarray, mask: np.ndarray, matte: bool) -> np.ndarray:
    out = frame.copy()
    rebuilt = np.empty_like(frame)
    rebuilt[:] = REBUILT
    h, w = mask.shape
    blend_into(out, Box(0, 0, w, h), rebuilt, mask, WIDTH, notch_reach=BlendOptions().notch_reach, notch_matte=matte)
    return out


def test_a_finger_over_the_masks_side_stays_whole_and_its_cloth_fringe_is_rebuilt() -> None:
    frame, mask, finger, cloth = _scene()
    new = _blended(frame, mask, matte=True)
    old = _blended(frame, mask, matte=False)
    core = cv2.erode(finger.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    # the finger, inside the mask's outline and beyond it, is the frame's (within a level where it crosses the
    # mask's outer edge, whose feather still reaches it) ...
    def moved(out: np.ndarray) -> int:
        return int(np.abs(out[core].astype(np.int16) - frame[core]).max())

    assert moved(new) <= 1 and np.count_nonzero(np.any(new[core] != frame[core], axis=-1)) < 10
    assert moved(old) >= 8  # (where the mask's soft edge ran onto it, the rebuilt face faded over its rim)
    # the cloth the segmentation left round the finger (inside the mask's outline, off the mask): rebuilt now ...
    near = cv2.dilate(finger.view(np.uint8), np.ones((9, 9), np.uint8)) > 0
    strip = near & cloth & ~finger & (mask < 0.5)
    strip &= cv2.erode(cloth.view(np.uint8), np.ones((15, 15), np.uint8)) > 0  # (off the mask's own outer edge)
    assert strip.sum() > 100
    rebuilt = np.float32(REBUILT)
    assert np.abs(new[strip].astype(np.float32) - rebuilt).mean() < 12.0
    # ... where the shield's band alone left it pale, a fringe round the fingertip
    assert np.abs(old[strip].astype(np.float32) - rebuilt).mean() > 30.0
    # and away from the finger's band the blend is as it was
    band = cv2.dilate(finger.view(np.uint8), np.ones((121, 121), np.uint8)) > 0
    assert np.array_equal(new[~band], old[~band])


def test_a_mask_without_a_finger_blends_as_before() -> None:
    frame, _, _, cloth = _scene()
    mask = cloth.astype(np.float32)
    assert np.array_equal(_blended(frame, mask, matte=True), _blended(frame, mask, matte=False))


def test_the_pipeline_keeps_a_finger_over_the_masks_edge_whole() -> None:
    """End to end (the real FaceMesh, segmenter, warp, composite and blend): the astronaut at twice her size in a
    white surgical mask, a finger from below laid over the mask's lower edge up to beside the mouth; the finger's
    pixels stay as they are with the notches' band settled, and its tip fades into the rebuilt face without it."""
    image, landmarks = astronaut_landmarks()
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    masked, _ = draw_surgical_mask(big, landmarks * 2, MaskStyle(color=WHITE))
    frame, finger = draw_finger(masked, landmarks * 2, width=0.12, length=0.6)
    core = cv2.erode((finger > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    moved = {}
    for matte in (True, False):
        pipeline = FramePipeline(big, build_reconstructor(ReconstructorOptions(generator="none")),
                                 PipelineOptions(blend=BlendOptions(notch_matte=matte)))  # fmt: skip
        try:
            for t in range(3):
                out = pipeline.process(frame, t / 25.0)
        finally:
            pipeline.close()
        moved[matte] = np.abs(out.astype(np.int16) - frame).max(axis=-1)[core]
    assert np.count_nonzero(moved[True]) <= 10 and moved[True].max() <= 2
    assert np.count_nonzero(moved[False] > 8) > 50  # (the shield's band alone: the fingertip faded)


SHADE = (196, 188, 206)  # RGB: the cloth in the finger's shade (greyer, a lavender cast)


def _settled_with(monkeypatch, **changes) -> None:
    """The blend's band settled with these :class:`NotchMatte` fields changed."""
    monkeypatch.setattr(blend_module, "settle_notch_edges", partial(settle_notch_edges, options=NotchMatte(**changes)))


def _shaded_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The scene of :func:`_scene` with the finger's shade on the cloth round it, 7 px wide, left out of the segmented
    mask with it (the segmentation stops at the shade): the frame, the mask, the shade's pixels, the finger's."""
    frame, _, finger, cloth = _scene()
    f8 = finger.view(np.uint8)
    shade = cloth & ~finger & (cv2.dilate(f8, np.ones((15, 15), np.uint8)) > 0)
    frame[shade] = SHADE
    frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
    left = cloth & ~(cv2.dilate(f8, np.ones((17, 17), np.uint8)) > 0)
    mask = np.clip(cv2.GaussianBlur(left.astype(np.float32), (0, 0), 1.0) * 2.0 - 0.5, 0.0, 1.0) * left
    return frame, mask.astype(np.float32), shade, finger


def test_the_fingers_shade_on_the_cloth_round_it_is_rebuilt_not_left_as_a_pale_ghost(monkeypatch) -> None:
    frame, mask, shade, finger = _shaded_scene()
    new = _blended(frame, mask, matte=True)
    _settled_with(monkeypatch, joined_cloth=False)
    old = _blended(frame, mask, matte=True)
    # the shade more than ``near`` of the feather from the mask (its middle and the finger's side of it)
    far = shade & (cv2.distanceTransform((mask == 0).view(np.uint8), cv2.DIST_L2, 3) > 0.3 * WIDTH + 1.0)
    far &= cv2.erode(shade.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert far.sum() > 150
    rebuilt = np.float32(REBUILT)
    assert np.abs(new[far].astype(np.float32) - rebuilt).mean() < 8.0
    assert np.abs(old[far].astype(np.float32) - rebuilt).mean() > 40.0  # (the shade kept: a pale outline)
    # the finger stays the frame's
    core = cv2.erode(finger.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.abs(new[core].astype(np.int16) - frame[core]).max() <= 1


def test_a_blurred_fingers_cloth_share_is_replaced_by_the_rebuilt_face(monkeypatch) -> None:
    """A finger moving over the cloth is blurred into it: the pixels along its side are the finger and the cloth mixed.
    The cloth's share of them is replaced by the rebuilt face (a pale, translucent finger over the rebuilt cheek
    without it); the finger's own pixels stay the frame's."""
    frame, mask, finger, cloth = _scene()
    f8 = finger.view(np.uint8)
    # (a blur trail below the finger over the cloth: half finger, half cloth, 8 px tall)
    trail = cloth & ~finger & (cv2.dilate(f8, np.ones((17, 1), np.uint8)) > 0)
    trail &= np.arange(frame.shape[0])[:, None] > 170
    mixed = (np.float32(SKIN) + np.float32(CLOTH)) / 2.0
    frame[trail] = mixed.astype(np.uint8)
    expected = (np.float32(SKIN) + np.float32(REBUILT)) / 2.0  # (the finger's half kept, the cloth's rebuilt)
    new = _blended(frame, mask, matte=True)
    _settled_with(monkeypatch, unmix=0.0)
    old = _blended(frame, mask, matte=True)
    inner = trail & (cv2.erode(trail.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    assert inner.sum() > 100
    err_new = float(np.abs(new[inner].astype(np.float32) - expected).mean())
    err_old = float(np.abs(old[inner].astype(np.float32) - expected).mean())
    assert err_new < 5.0
    # (blended, not unmixed: a quarter of the cloth left in those the ramp half rebuilt, paler by 10-20 levels)
    assert err_old > 2.0 * err_new and err_old > 8.0
    core = cv2.erode(f8, np.ones((5, 5), np.uint8)) > 0
    assert np.abs(new[core].astype(np.int16) - frame[core]).max() <= 1


def test_the_blend_says_where_the_finger_stays_and_the_loops_are_not_filled_there() -> None:
    """The pixels the settled band keeps in front (the finger off the mask) come back from the blend; the ear loops'
    pixels on them are dropped before the loops are filled (a finger's highlights taken as loop strokes were smeared)."""
    frame, mask, finger, _ = _scene()
    out = frame.copy()
    rebuilt = np.empty_like(frame)
    rebuilt[:] = REBUILT
    h, w = mask.shape
    front = blend_into(out, Box(0, 0, w, h), rebuilt, mask, WIDTH, notch_reach=BlendOptions().notch_reach,
                       notch_matte=True)  # fmt: skip
    assert front is not None
    y0, x0, on = front
    seen = np.zeros((h, w), bool)
    seen[y0 : y0 + on.shape[0], x0 : x0 + on.shape[1]] = on
    tip = finger & (np.arange(w)[None, :] > 80)  # (the fingertip over the mask, in its notch)
    assert seen[tip].mean() > 0.9
    # a loop stroke along the fingertip and on past it over the cloth: only its part off the finger is left to fill
    stroke = np.zeros((h, w), np.uint8)
    stroke[164:167, 90:200] = 1
    loops = Loops(Box(90, 164, 200, 167), stroke[164:167, 90:200].copy(), 3.0)
    left = off_front(loops, front)
    assert left is not None and left.box == loops.box
    kept = np.zeros((h, w), np.uint8)
    kept[164:167, 90:200] = left.pixels
    assert not (kept.astype(bool) & seen).any()
    assert kept[164:167, 160:200].all()
    # no front: the loops as they were; all on the front: none
    assert off_front(loops, None) is loops
    assert off_front(Loops(Box(95, 164, 105, 167), np.ones((3, 10), np.uint8), 3.0), front) is None


def _shadow_scene(shadow_rgb: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The scene of :func:`_scene` with a band 6 px tall under the finger in ``shadow_rgb``, left out of the segmented
    mask with the finger: the frame, the mask, the band's pixels, the finger's."""
    frame, _, finger, cloth = _scene()
    f8 = finger.view(np.uint8)
    below = cloth & ~finger & (cv2.dilate(f8, np.ones((13, 1), np.uint8)) > 0)
    below &= np.arange(frame.shape[0])[:, None] > 170
    below &= np.arange(frame.shape[1])[None, :] < 100  # (along the finger's side, off its rounded tip)
    frame[below] = shadow_rgb
    frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
    left = cloth & ~(cv2.dilate(f8, np.ones((7, 7), np.uint8)) > 0)
    left &= ~(cv2.dilate(below.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    mask = np.clip(cv2.GaussianBlur(left.astype(np.float32), (0, 0), 1.0) * 2.0 - 0.5, 0.0, 1.0) * left
    return frame, mask.astype(np.float32), below, finger


def test_the_fingers_shadow_on_the_cloth_below_it_is_rebuilt(monkeypatch) -> None:
    """KF94 frames 166-179: under a finger over a white mask, its shadow on the cloth (the two chromas' mix, darker
    than the cloth and than the finger) was kept in front with the finger, a grey-lavender band with a dark outline
    between the finger and the rebuilt cheek. It is the cloth's: rebuilt; the finger stays the frame's."""
    skin, cloth = np.float32(SKIN), np.float32(CLOTH)
    shadow = tuple(int(v) for v in 0.8 * (0.7 * skin + 0.3 * cloth))  # (darker than both, between their chromas)
    frame, mask, below, finger = _shadow_scene(shadow)
    new = _blended(frame, mask, matte=True)
    _settled_with(monkeypatch, shadow_end=0.0)
    old = _blended(frame, mask, matte=True)
    inner = below & (cv2.erode(below.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    assert inner.sum() > 100
    rebuilt = np.float32(REBUILT)
    assert np.abs(new[inner].astype(np.float32) - rebuilt).mean() < 3.0
    # (without the rule: mostly the frame's shadow, 22 levels from the rebuilt face, kept: the dark band)
    assert np.abs(old[inner].astype(np.float32) - frame[inner]).mean() < 8.0
    assert np.abs(old[inner].astype(np.float32) - rebuilt).mean() > 12.0
    core = cv2.erode(finger.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.abs(new[core].astype(np.int16) - frame[core]).max() <= 1


def test_a_dark_fingers_edge_is_no_shadow(monkeypatch) -> None:
    """The same band, lighter than the finger beside it (a darker finger's edge blurred into the cloth, the image-left
    fingers of KF94): not the finger's shadow, the blend as without the rule."""
    frame, mask, below, finger = _shadow_scene((0, 0, 0))
    skin, cloth = np.float32(SKIN), np.float32(CLOTH)
    dark = 0.6 * skin
    frame[finger & (cv2.erode(finger.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)] = dark.astype(np.uint8)
    edge = tuple(int(v) for v in 0.8 * (0.55 * skin + 0.45 * cloth))  # (between the dark finger and the cloth)
    frame[below] = edge
    new = _blended(frame, mask, matte=True)
    _settled_with(monkeypatch, shadow_end=0.0)
    old = _blended(frame, mask, matte=True)
    assert np.array_equal(new, old)
