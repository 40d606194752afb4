"""The boundary step of the mask growth (mask_refine.snap_edges): synthetic images, no data needed."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.mask_refine import snap_edges


def _scene(skin=(214, 170, 150), cloth=(236, 240, 244), radius=40):
    """A cloth-coloured disc on a skin-coloured square (lightly noisy), and the disc as truth."""
    rng = np.random.default_rng(0)
    image = np.zeros((160, 160, 3), np.float32) + np.array(skin, np.float32)
    truth = np.zeros((160, 160), np.uint8)
    cv2.circle(truth, (80, 80), radius, 1, -1)
    image[truth > 0] = cloth
    image += rng.normal(0, 3, image.shape)
    rgb = np.clip(image, 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), truth


def _boundary_error(mask, truth):
    return int((mask != truth).sum())


def _noisy_prob(truth, low=0.1, high=0.9):
    """A colour model's per-pixel P(mask): high on the cloth, low off it, noisy."""
    rng = np.random.default_rng(1)
    prob = np.where(truth > 0, high, low) + rng.normal(0, 0.1, truth.shape)
    return np.clip(prob, 0, 1).astype(np.float32)


def test_a_mask_grown_past_the_cloth_is_pulled_back_to_its_edge():
    lab, truth = _scene()
    # The growth's smoothing and closing carried the mask 6 px past the cloth all round.
    grown = cv2.dilate(truth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13)))
    prob = _noisy_prob(truth)
    search = np.ones_like(truth)
    out = snap_edges(lab, prob, grown, search, size=160.0, band=0.06)
    assert _boundary_error(grown, truth) > 1500
    assert _boundary_error(out, truth) <= 0.15 * _boundary_error(grown, truth)


def test_a_mask_stopped_short_of_the_cloth_edge_is_pushed_out_to_it():
    lab, truth = _scene()
    grown = cv2.erode(truth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11)))  # 5 px short
    prob = _noisy_prob(truth, low=0.2, high=0.7)  # shaded cloth: a weak model
    out = snap_edges(lab, prob, grown, np.ones_like(truth), size=160.0, band=0.06)
    assert _boundary_error(out, truth) <= 0.15 * _boundary_error(grown, truth)


def test_an_occluder_hole_stays_open_and_nothing_leaves_the_search_region():
    lab, truth = _scene()
    grown = truth.copy()
    cv2.circle(grown, (80, 80), 8, 0, -1)  # a fingertip the growth left out
    search = np.ones_like(truth)
    search[:, 110:] = 0
    out = snap_edges(lab, grown.astype(np.float32), grown, search, size=160.0)
    assert out[76:85, 76:85].sum() == 0
    assert out[:, 110:].sum() == 0
    assert (out & grown)[:, :110].sum() >= 0.97 * grown[:, :110].sum()
