"""The ear loops' shared pixel steps (unmask_video.ear_loop_pixels): their fast forms against numpy's and OpenCV's
plain ones, on the astronaut (no data needed)."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from unmask_video.ear_loop_pixels import dot, samples


def test_colour_samples_and_tests_match_numpys_plain_forms():
    """The fast forms of the colour samples (flat index) and the colour tests' dot products (channel by channel) give
    what a boolean gather and a product summed over the channels give."""
    lab = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2Lab)
    where = np.zeros(lab.shape[:2], np.uint8)
    cv2.circle(where, (250, 200), 90, 1, -1)
    assert np.array_equal(samples(lab, where), lab[where > 0][::7])
    assert len(samples(lab, np.zeros_like(where))) == 0
    a = lab.reshape(-1, 3)[::97].astype(np.float32) - 128.0
    b = a[::-1].copy()
    assert np.array_equal(dot(list(a.T), list(b.T)), (a * b).sum(axis=1))
