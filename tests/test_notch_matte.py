"""A finger laid over the mask's side stays whole in front of the rebuilt face, and the strip of cloth the segmentation
left between the mask and the finger is rebuilt, not left as a pale fringe round it
(:mod:`unmask_video.notch_matte`)."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from unmask_video.blend import BlendOptions, blend_into
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.stages import Box
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
