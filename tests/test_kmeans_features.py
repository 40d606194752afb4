"""mask_clusters.features of some pixels only: the whole image's features at those pixels, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from unmask_video.mask_clusters import features
from unmask_video.segment import SegmentOptions


@pytest.mark.parametrize("size", [200.0, 10.0])  # (blurred; under half a pixel's sigma: not blurred)
def test_features_of_pixels_are_the_whole_images_at_them(size):
    image = data.astronaut()[100:260, 150:330]
    opt = SegmentOptions()
    rng = np.random.default_rng(3)
    pixels = np.sort(rng.choice(image.shape[0] * image.shape[1], 5000, replace=False))
    whole = features(image, size, opt).reshape(-1, 3)
    np.testing.assert_array_equal(features(image, size, opt, pixels), whole[pixels])
    # (a view into a larger image, as the segmenter passes its box)
    big = data.astronaut()
    view = big[100:260, 150:330]
    np.testing.assert_array_equal(features(view, size, opt, pixels), whole[pixels])


def test_features_of_no_pixels_are_empty():
    out = features(data.astronaut()[:50, :50], 200.0, SegmentOptions(), np.zeros(0, np.intp))
    assert out.shape == (0, 3) and out.dtype == np.float32
