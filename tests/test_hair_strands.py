"""The thin dark hair strands across the reference's skin, found and painted out (synthetic faces)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.hair_strands import paint_out_strands, strands_on_skin

SKIN = (200, 160, 140)
#: Landmarks far outside the picture: no eyes, brows, nose or mouth to leave out.
NO_FEATURES = np.full((468, 2), -500.0, np.float32)


def _face(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 240 x 200 skin-coloured face with a little noise, its oval (uint8 255)."""
    rng = np.random.default_rng(seed)
    image = np.clip(np.array(SKIN, np.float32) + rng.normal(0, 3, (240, 200, 3)), 0, 255).astype(np.uint8)
    oval = np.zeros((240, 200), np.uint8)
    cv2.ellipse(oval, (100, 120), (90, 110), 0, 0, 360, 255, -1)
    return image, oval


def test_a_thin_dark_strand_across_the_cheek_is_found_and_painted_out() -> None:
    image, oval = _face()
    strand = np.zeros_like(oval)
    cv2.polylines(strand, [np.array([[50, 40], [45, 90], [48, 150]], np.int32)], False, 255, 2)
    image[strand > 0] = (60, 40, 30)
    found = strands_on_skin(image, NO_FEATURES, oval, oval, 220.0)
    assert np.count_nonzero(found & (strand > 0)) >= 0.8 * np.count_nonzero(strand)
    assert np.count_nonzero(found & (strand == 0)) <= 0.1 * np.count_nonzero(strand)
    painted = paint_out_strands(image, NO_FEATURES, oval, oval, 220.0)
    light = cv2.cvtColor(painted, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
    skin_l = int(np.median(light[oval > 0]))
    assert np.abs(light[strand > 0] - skin_l).max() <= 15  # (on the strand, the skin's lightness)


def test_a_fold_a_mole_and_the_faces_edge_are_left() -> None:
    image, oval = _face(1)
    # a broad shallow fold (7 px wide, 18 levels darker), a compact mole, a thin dark crease along the oval's outline
    fold = np.zeros_like(oval)
    cv2.line(fold, (120, 100), (150, 170), 255, 7)
    image[fold > 0] = np.clip(image[fold > 0].astype(int) - 18, 0, 255).astype(np.uint8)
    cv2.circle(image, (80, 180), 2, (60, 40, 30), -1)
    cv2.ellipse(image, (100, 120), (88, 108), 0, 150, 210, (60, 40, 30), 2)
    matte = cv2.dilate(oval, np.ones((9, 9), np.uint8))  # (the skin past the outline too: an ear, a neck)
    assert not strands_on_skin(image, NO_FEATURES, matte, oval, 220.0).any()
    assert paint_out_strands(image, NO_FEATURES, matte, oval, 220.0) is image  # (nothing found: the photo as it is)


def test_a_strand_on_the_eyes_features_is_left() -> None:
    image, oval = _face(2)
    cv2.line(image, (100, 60), (100, 130), (60, 40, 30), 2)
    landmarks = np.full((468, 2), -500.0, np.float32)
    landmarks[:] = (100.0, 95.0)  # (every feature's hull at the line's middle, grown by the margin: 6.6 px)
    assert strands_on_skin(image, NO_FEATURES, oval, oval, 220.0).any()
    found = strands_on_skin(image, landmarks, oval, oval, 220.0)
    assert not found[90:101, 97:104].any()


def test_a_strand_that_ends_at_the_eyes_is_left() -> None:
    landmarks = np.full((468, 2), (160.0, 95.0), np.float32)  # (the lower lids' line at row 95, the features far right)
    for bottom, found in ((100, False), (140, True)):  # (below the lids by 0.02 and by 0.2 face heights of 220 px)
        image, oval = _face(3)
        cv2.line(image, (60, 30), (60, bottom), (60, 40, 30), 2)
        assert strands_on_skin(image, landmarks, oval, oval, 220.0).any() == found
