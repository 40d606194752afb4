"""mask_pixels.pixel_rows / pixels_at on boxes of a larger image: the pixels numpy's fancy index reads, by flat index."""

import numpy as np
from skimage import data

from unmask_video.mask_pixels import pixel_rows, pixels_at


def test_pixels_at_a_box_of_an_image_are_the_fancy_index_by_flat_rows() -> None:
    rng = np.random.default_rng(11)
    astronaut = data.astronaut()
    images = (astronaut, np.dstack([astronaut, astronaut[..., :1]]), astronaut.astype(np.float32) / 255.0)
    for image in images:
        for _ in range(40):
            top, left = (int(v) for v in rng.integers(0, 400, 2))
            h, w = (int(v) for v in rng.integers(1, 100, 2))
            box = image[top : top + h, left : left + w]
            rows = pixel_rows(box)
            assert rows is not None  # (a box of rows of whole pixels: taken by flat index)
            pixels, step = rows
            assert step == image.shape[1] and not pixels.flags.writeable
            n = int(rng.integers(0, 300))
            ys, xs = rng.integers(0, box.shape[0], n), rng.integers(0, box.shape[1], n)
            assert np.array_equal(pixels_at(box, ys, xs), box[ys, xs])
            # (the last pixel of the box, the end of the rows)
            assert np.array_equal(pixels_at(box, [box.shape[0] - 1], [box.shape[1] - 1]), box[-1:, -1][:, :])


def test_pixels_at_other_layouts_fall_back_to_the_fancy_index() -> None:
    rng = np.random.default_rng(12)
    image = data.astronaut()
    ys, xs = rng.integers(0, 100, 50), rng.integers(0, 100, 50)
    for view in (image[::-1], image[:, ::2], image[..., ::-1], image[100:300, 50:250].transpose(1, 0, 2)):
        assert pixel_rows(view) is None
        assert np.array_equal(pixels_at(view, ys, xs), view[ys, xs])
    assert pixel_rows(np.ascontiguousarray(image[:, ::2])) is not None
