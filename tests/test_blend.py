"""The blend's feather computed fast: the same alpha as the plain float formula (8-bit dilation by rectangles)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask_video.blend import BlendOptions, _ellipse, disk_morph, disk_morph_near, feather_alpha


@pytest.mark.parametrize("radius", [1, 2, 4, 7, 8, 11, 15])
def test_the_dilation_by_rectangles_is_the_dilation_by_the_ellipse(radius: int) -> None:
    rng = np.random.default_rng(radius)
    image = (rng.random((90, 110)) ** 6 * 255).astype(np.uint8)  # sparse peaks: each shows the kernel's shape
    assert np.array_equal(disk_morph(image, cv2.MORPH_DILATE, 2 * radius + 1), cv2.dilate(image, _ellipse(radius)))


@pytest.mark.parametrize("op", [cv2.MORPH_ERODE, cv2.MORPH_DILATE, cv2.MORPH_OPEN, cv2.MORPH_CLOSE])
@pytest.mark.parametrize("radius", [10, 12, 15, 16, 24])
def test_a_big_disc_s_thin_passes_are_the_ellipse_s_morphology(op: int, radius: int) -> None:
    # (from 21 px across: the nested row and column passes, :func:`blend._by_nested_rects`) Sparse peaks and a soft
    # shape with holes and specks, touching the image's border: every rectangle and the border show.
    rng = np.random.default_rng(radius)
    image = (rng.random((70, 95)) ** 8 * 255).astype(np.uint8)
    cv2.ellipse(image, (10, 60), (30, 18), 15, 0, 360, 230, -1)
    image[rng.random(image.shape) < 0.05] = 0
    assert np.array_equal(disk_morph(image, op, 2 * radius + 1), cv2.morphologyEx(image, op, _ellipse(radius)))
    binary = (image > 128).astype(np.uint8)
    assert np.array_equal(disk_morph(binary, op, 2 * radius + 1), cv2.morphologyEx(binary, op, _ellipse(radius)))


@pytest.mark.parametrize("op", [cv2.MORPH_ERODE, cv2.MORPH_DILATE, cv2.MORPH_OPEN, cv2.MORPH_CLOSE])
@pytest.mark.parametrize("radius", [1, 6, 13])
@pytest.mark.parametrize("where", ["inside", "at the border", "nowhere"])
def test_the_morphology_near_the_region_is_the_whole_image_s(op: int, radius: int, where: str) -> None:
    rng = np.random.default_rng(radius)
    image = np.zeros((120, 150), np.uint8)
    if where != "nowhere":
        soft = np.zeros((120, 150), np.uint8)
        cv2.ellipse(soft, (75, 60) if where == "inside" else (20, 110), (30, 22), 20, 0, 360, 255, -1)
        near = cv2.dilate(soft, np.ones((15, 15), np.uint8)) > 0
        soft[rng.random(soft.shape) < 0.08] = 0  # holes a closing fills, specks (near it) an opening takes out
        soft[near & (rng.random(soft.shape) < 0.01)] = 200
        image = cv2.GaussianBlur(soft, (0, 0), 1.5)  # grey levels along the rim
    expected = cv2.morphologyEx(image, op, _ellipse(radius))
    assert where != "inside" or not image[:, :20].any()  # (the box is smaller than the image)
    assert np.array_equal(disk_morph_near(image, op, 2 * radius + 1), expected)


@pytest.mark.parametrize("width", [3.0, 9.0, 15.0, 17.0])
def test_the_feather_is_the_float_dilation_and_blur_within_rounding(width: float) -> None:
    # A soft mask (an ellipse with a blurred rim and a soft hole): the alpha the feather promises, in float.
    mask = np.zeros((160, 200), np.float32)
    cv2.ellipse(mask, (100, 80), (60, 45), 15, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 4.0)
    mask[70:80, 90:110] *= 0.3
    g = max(int(round(width / 2.0)), 1)
    grown = cv2.dilate(mask, _ellipse(g))
    expected = cv2.GaussianBlur(grown, (2 * g + 1, 2 * g + 1), g / 2.0, borderType=cv2.BORDER_REPLICATE)
    expected = np.clip(np.maximum(expected, mask), 0.0, 1.0)
    alpha = feather_alpha(mask, width)
    assert alpha.dtype == np.float32 and alpha.shape == mask.shape
    assert np.abs(alpha - expected).max() <= 0.5 / 255 + 1e-6
    assert (alpha >= mask).all() and alpha.max() <= 1.0


def _mask_with_a_finger(finger_px: int) -> tuple[np.ndarray, np.ndarray]:
    """A mask (ellipse) with a strip ``finger_px`` wide laid over it from below, and the strip's own pixels."""
    mask = np.zeros((420, 460), np.float32)
    cv2.ellipse(mask, (230, 230), (180, 150), 0, 0, 360, 1.0, -1)
    finger = np.zeros_like(mask, dtype=bool)
    finger[200:, 215 - finger_px // 2 : 215 + finger_px // 2] = True
    mask[finger] = 0.0
    return mask, finger


@pytest.mark.parametrize("width", [6.0, 19.0, 40.0])
def test_the_feather_stops_at_a_finger_laid_over_the_mask(width: float) -> None:
    # (a finger is about 0.07 face sizes wide, the blend's width 12 px at a 256 px face: 1.5 widths)
    mask, finger = _mask_with_a_finger(max(int(1.5 * width), 10))
    plain = feather_alpha(mask, width)
    shielded = feather_alpha(mask, width, notch_reach=BlendOptions().notch_reach)
    inside_finger = finger.copy()
    inside_finger[360:] = False  # the finger's part within the mask's outline (a notch)
    assert plain[inside_finger].max() > 0.5  # without the shield the rebuilt face fades over the finger
    # at most a tenth of the rebuilt face along the finger's edge (the notch is found at a coarser scale)
    assert shielded[inside_finger].max() < 0.1
    assert shielded[inside_finger].mean() < 0.01
    # the mask itself and the feather away from the notch are untouched
    assert np.array_equal(shielded[mask > 0], plain[mask > 0])
    far = np.zeros_like(finger)
    far[:, :120] = True
    assert np.array_equal(shielded[far], plain[far])


def _mask_with_a_hand(palm_px: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A mask (ellipse) with a hand laid over it: a palm of radius ``palm_px`` and its wrist from below; returns the
    mask, the hand's pixels and the mask without the hand."""
    whole = np.zeros((420, 520), np.uint8)
    cv2.ellipse(whole, (260, 210), (200, 150), 0, 0, 360, 1, -1)
    hand = np.zeros_like(whole)
    cv2.circle(hand, (180, 240), palm_px, 1, -1)
    cv2.rectangle(hand, (180 - palm_px // 2, 240), (180 + palm_px // 2, 419), 1, -1)
    mask = whole.astype(np.float32)
    mask[hand > 0] = 0.0
    return mask, hand > 0, whole


@pytest.mark.parametrize("width", [12.0, 19.0])
def test_a_whole_hand_over_the_mask_stays_in_front(width: float) -> None:
    # (the quality benchmark's drawn hand: a palm about 0.4 face heights across, 8 blend widths at a 300 px face)
    mask, hand, whole = _mask_with_a_hand(int(4 * width))
    deep = cv2.erode(whole, np.ones((3, 3), np.uint8), iterations=int(2 * width)) > 0
    palm = hand & deep  # the hand's part well inside the mask's outline
    assert feather_alpha(mask, width)[palm].max() > 0.5  # without the shield the rebuilt face fades over the palm
    # the default reach (5 widths) shields the whole hand; 2.5 widths did not (the feather ate into the palm)
    assert feather_alpha(mask, width, notch_reach=2.5)[palm].max() > 0.5
    shielded = feather_alpha(mask, width, notch_reach=BlendOptions().notch_reach)
    assert shielded[palm].max() < 0.1 and shielded[palm].mean() < 0.01
    assert np.array_equal(shielded[mask > 0], np.ones(int((mask > 0).sum()), np.float32))


def test_a_mask_without_notches_keeps_its_feather() -> None:
    mask = np.zeros((300, 300), np.float32)
    cv2.ellipse(mask, (150, 150), (110, 90), 0, 0, 360, 1.0, -1)
    assert np.array_equal(feather_alpha(mask, 19.0, notch_reach=BlendOptions().notch_reach), feather_alpha(mask, 19.0))
