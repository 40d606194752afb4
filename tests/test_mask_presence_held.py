"""A mask held up in front of the face is not worn (issue 10): it covers the lower face as a worn one does, but lies
across it at a slant, its upper edge falling steadily from one side of the face to the other
(:func:`unmask_video.mask_presence.edge_slant`); a worn mask's upper edge peaks at the nose bridge."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.test_presence import _segment_full
from unmask_video import landmark_sets as ls
from unmask_video.mask_presence import PresenceOptions, edge_slant, presence_score
from unmask_video.segment import MaskSegmenter, SegmentOptions, face_size
from unmask_video.synthetic import LIGHT_BLUE, WHITE, MaskStyle, draw_surgical_mask


@pytest.fixture(scope="module")
def big_face(astronaut, astronaut_landmarks):
    """The astronaut at twice the size (a face about 180 px wide, as in a 720p talking head)."""
    big = cv2.resize(astronaut, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    return big, (astronaut_landmarks * 2.0).astype(np.float32)


def held_card(image: np.ndarray, lm: np.ndarray, colour, side: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with a mask-coloured card held diagonally across the face, as a mask shown before it is put on: its
    upper edge from the outer corner of one eye down to the mouth's height at the other side's outline (``side`` -1:
    the low end image-left), on past that outline nearly a face width to the frame's edge; 0.75 face heights tall,
    lighter at its top, with folds along it. Returns (image, the card's pixels)."""
    oval = lm[list(ls.FACE_OVAL)]
    height, width = float(np.ptp(oval[:, 1])), float(np.ptp(oval[:, 0]))
    low_x = float(oval[:, 0].min() if side < 0 else oval[:, 0].max())
    high_x = float(oval[:, 0].max() if side < 0 else oval[:, 0].min())
    eye = lm[ls.ROI_ROTATION[1] if side < 0 else ls.ROI_ROTATION[0]]
    mouth = lm[ls.MOUTH_CORNERS[0] if side < 0 else ls.MOUTH_CORNERS[1]]
    slope = (float(eye[1]) - float(mouth[1])) / (high_x - low_x)

    def line(x: float) -> float:
        return float(mouth[1]) + slope * (x - low_x)

    far, near = low_x + side * 0.9 * width, high_x - side * 0.05 * width
    poly = np.array([(far, line(far)), (near, line(near)), (near, line(near) + 0.75 * height),
                     (far, line(far) + 0.75 * height)], np.float32)
    on = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(on, [np.round(poly).astype(np.int32)], 1)
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    depth = ((yy - line(far)) - slope * (xx - far)) / np.hypot(slope, 1.0) / height  # (face heights under its top)
    shade = 1.0 - 0.08 * depth + 0.04 * np.sin(depth * 40.0)
    rgb = np.clip(np.asarray(colour, np.float32) * shade[..., None], 0, 255).astype(np.uint8)
    out = image.copy()
    out[on > 0] = rgb[on > 0]
    return out, on > 0


def _noisy(image: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)


def _rotated(image: np.ndarray, lm: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` and its landmarks rotated by ``degrees`` about the face's centre (a tilted head)."""
    centre = lm[list(ls.FACE_OVAL)].mean(axis=0)
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), degrees, 1.0)
    out = cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    return out, (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)


@pytest.mark.parametrize("degrees", [0.0, 15.0], ids=["level", "tilted"])
def test_edge_slant_is_level_for_a_worn_mask_and_steep_for_a_held_one(big_face, degrees):
    image, lm = _rotated(*big_face, degrees)
    size = face_size(lm)
    _, worn = draw_surgical_mask(image, lm, MaskStyle())
    low = draw_surgical_mask(image, lm, MaskStyle(drop=0.25))[1]  # (worn below the nose)
    for mask in (worn, low):
        slant = edge_slant((mask > 0).astype(np.uint8), lm, size)
        assert slant is not None and slant <= 0.5 * PresenceOptions().slant_low
    for side in (-1, 1):
        _, card = held_card(image, lm, LIGHT_BLUE, side)
        slant = edge_slant(card.astype(np.uint8), lm, size)
        assert slant is not None and slant >= PresenceOptions().slant_high
    # A hand over one side's upper edge lowers that side only: no slant.
    hand = (worn > 0).copy()
    nose_x = float(lm[ls.NOSE_TIP, 0])
    hand[: int(round(float(lm[ls.NOSE_TIP, 1]))), : int(round(nose_x - 0.1 * size))] = False
    assert edge_slant(hand.astype(np.uint8), lm, size) == 0.0
    assert edge_slant(np.zeros_like(hand, np.uint8), lm, size) is None


def test_the_slant_turns_the_score_down():
    opt = PresenceOptions()
    assert presence_score(30.0, 1.0, 0.0, 30.0, opt, slant=0.0) == pytest.approx(1.0)
    assert presence_score(30.0, 1.0, 0.0, 30.0, opt, slant=opt.slant_high) == 0.0
    assert presence_score(30.0, 1.0, 0.0, 30.0, opt, slant=None) == pytest.approx(1.0)  # (not measured: left out)
    assert presence_score(30.0, 1.0, 0.0, 30.0, replace(opt, slant_high=0.0), slant=1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("colour", [LIGHT_BLUE, WHITE], ids=["light-blue", "white"])
@pytest.mark.parametrize("side", [-1, 1], ids=["low-left", "low-right"])
def test_a_mask_held_across_the_face_is_not_worn_and_a_worn_one_still_is(big_face, colour, side):
    # A few frames holding the card up, then the same colour worn: the card makes no mask, the worn mask is found;
    # taken off and held up again, it is dropped within a few frames (the settled decision measures the slant too).
    # Without the slant cue the card is taken for a worn mask (the checks mean something).
    image, lm = big_face
    held, _ = held_card(image, lm, colour, side)
    worn, truth = draw_surgical_mask(image, lm, MaskStyle(colour))
    seg = MaskSegmenter()
    for i in range(4):
        assert not _segment_full(seg, _noisy(held, i), lm).any(), f"frame {i}: the held card was taken for a worn mask"
    masks = [_segment_full(seg, _noisy(worn, 10 + i), lm) for i in range(4)]
    assert all(m.any() for m in masks[1:]), "the worn mask after it was not found"
    assert (masks[-1] & (truth > 0)).sum() / (truth > 0).sum() >= 0.9
    again = [_segment_full(seg, _noisy(held, 20 + i), lm).any() for i in range(4)]
    assert not any(again[2:]), "the mask taken off and held up again was kept"
    plain = MaskSegmenter(SegmentOptions(presence=PresenceOptions(slant_high=0.0)))
    assert _segment_full(plain, _noisy(held, 0), lm).any()


def test_a_tilted_head_wearing_a_mask_keeps_it_and_holding_one_does_not(big_face):
    image, lm = _rotated(*big_face, 15.0)
    worn, _ = draw_surgical_mask(image, lm, MaskStyle())
    assert _segment_full(MaskSegmenter(), worn, lm).any()
    held, _ = held_card(image, lm, LIGHT_BLUE, -1)
    assert not _segment_full(MaskSegmenter(), held, lm).any()
