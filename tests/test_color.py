"""The decoder's YUV -> RGB conversion keeps its intermediates between frames: each frame's result is its own."""

from __future__ import annotations

import os

import av
import numpy as np
import pytest

from unmask_video.io.color import _SWS_ENCODE, FrameToRGB, RGBToFrame


def _frame(width: int, height: int, seed: int) -> av.VideoFrame:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def test_one_converter_gives_each_frame_what_a_fresh_one_gives() -> None:
    shared = FrameToRGB()
    frames = [_frame(64, 48, 0), _frame(64, 48, 1), _frame(90, 60, 2), _frame(64, 48, 3)]  # (a size change too)
    outputs = [shared(frame) for frame in frames]
    for frame, output in zip(frames, outputs):  # (read after all were converted: none was overwritten)
        assert np.array_equal(output, FrameToRGB()(frame))
    assert len({id(output) for output in outputs}) == len(outputs)
    assert not np.array_equal(outputs[0], outputs[1])


def _boxes_converted_alone(source: av.VideoFrame, image: np.ndarray, boxes) -> list[np.ndarray]:
    """The planes :meth:`RGBToFrame.patched` promises: each box (grown to even coordinates) converted on its own."""
    planes = [p.copy() for p in _planes(source)]
    for x0, y0, x1, y1 in boxes:
        x0, y0, x1, y1 = x0 & ~1, y0 & ~1, min(source.width, x1 + (x1 & 1)), min(source.height, y1 + (y1 & 1))
        crop = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[y0:y1, x0:x1]), format="rgb24")
        yuv = crop.reformat(format="yuv420p", dst_color_range=1, interpolation=_SWS_ENCODE).to_ndarray()
        h, w = y1 - y0, x1 - x0
        planes[0][y0:y1, x0:x1] = yuv[:h]
        for plane, values in zip(planes[1:], yuv[h:].reshape(2, h // 2, w // 2)):
            plane[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = values
    return planes


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    yuv = frame.to_ndarray()
    h, w = frame.height, frame.width
    return [yuv[:h], *yuv[h:].reshape(2, h // 2, w // 2)]


def test_the_blended_boxes_converted_in_steps_give_the_planes_of_each_box_alone() -> None:
    rng = np.random.default_rng(7)
    for width, height in ((1280, 720), (202, 150)):
        source = _frame(width, height, 11)
        image = FrameToRGB()(source)
        boxes = [(37, 21, 151, 133), (width - 45, height - 31, width, height), (0, 0, 9, 7), (100, 64, 164, 128)]
        for x0, y0, x1, y1 in boxes:  # the stages' pixels in the boxes, the decoded frame's around them
            image[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
        converter = RGBToFrame(width, height, "yuv420p", None)
        patched = converter.patched(source, image, boxes)
        for got, expected in zip(_planes(patched), _boxes_converted_alone(source, image, boxes)):
            assert np.array_equal(got, expected)


def test_a_whole_image_converts_as_pyav_converts_it_from_its_array() -> None:
    """:meth:`RGBToFrame.__call__` copies the image once into the frame swscale reads: the planes PyAV's own
    ``from_ndarray`` gives, for a contiguous image, a view into a larger one, a mirrored one and an odd size."""
    rng = np.random.default_rng(5)
    big = rng.integers(0, 256, (70, 110, 3), dtype=np.uint8)
    for image in (np.ascontiguousarray(big[:48, :64]), big[3:51, 5:69], big[:48, :64][:, ::-1], big[:49, :65]):
        height, width = image.shape[:2]
        size = (width + (width & 1), height + (height & 1))
        for pix_fmt, colorspace in (("yuv420p", 1), ("yuv420p", None), ("yuv444p", 5)):
            converter = RGBToFrame(*size, pix_fmt, colorspace)
            ours = converter(image)
            padded = np.pad(image, ((0, size[1] - height), (0, size[0] - width), (0, 0)), mode="edge")
            theirs = av.VideoFrame.from_ndarray(np.ascontiguousarray(padded), format="rgb24").reformat(
                width=size[0], height=size[1], format=pix_fmt, dst_colorspace=converter._colorspace,
                dst_color_range=1, interpolation=_SWS_ENCODE,
            )  # fmt: skip
            assert np.array_equal(ours.to_ndarray(), theirs.to_ndarray())


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts the process's threads in /proc (Linux)")
def test_the_boxes_convert_on_the_calling_thread_without_a_pool_of_threads() -> None:
    """swscale's automatic threads are a pool its context starts again whenever the box's size changes (each frame):
    the writer's conversions start none (PyAV's default left two threads parked after each call on 2 cores)."""
    source = _frame(320, 240, 3)
    image = FrameToRGB()(source)
    image[40:150, 60:200] = 200
    converter = RGBToFrame(320, 240, "yuv420p", None)
    before = _threads()
    for box in ((60, 40, 200, 150), (58, 40, 204, 152), (60, 42, 198, 150)):
        converter.patched(source, image, [box])
        converter(image)
        assert _threads() == before
