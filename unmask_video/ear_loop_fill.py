"""The ear loops filled in the frame after the blend (:mod:`unmask_video.ear_loops`): OpenCV's Telea inpainting from
what surrounds them."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.stages import Image, Loops

__all__ = ["erase_loops", "inpaint_box", "off_front"]


def inpaint_box(loops: Loops, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The frame box (x0, y0, x1, y1) that :func:`erase_loops` reads and changes in a frame of ``shape``: the loops'
    box grown by the inpainting's reach, inside the frame."""
    pad = int(np.ceil(loops.radius)) + 2
    b = loops.box
    return max(b.x0 - pad, 0), max(b.y0 - pad, 0), min(b.x1 + pad, int(shape[1])), min(b.y1 + pad, int(shape[0]))


def erase_loops(frame: Image, loops: Loops) -> None:
    """Fill ``loops`` (their box inside the frame) in ``frame`` (uint8 RGB, in place) from what surrounds them
    (OpenCV's Telea inpainting), within :func:`inpaint_box`."""
    x0, y0, x1, y1 = inpaint_box(loops, frame.shape)
    b = loops.box
    hole = np.zeros((y1 - y0, x1 - x0), np.uint8)
    hole[b.y0 - y0 : b.y1 - y0, b.x0 - x0 : b.x1 - x0] = loops.pixels
    crop = frame[y0:y1, x0:x1]
    filled = cv2.inpaint(crop, hole, loops.radius, cv2.INPAINT_TELEA)
    np.copyto(crop, filled, where=hole[:, :, None] > 0)


def off_front(loops: Loops, front: tuple[int, int, np.ndarray] | None) -> Loops | None:
    """``loops`` less their pixels on ``front`` ((y0, x0, (h, w) bool) in the frame's pixels: what the blend kept in
    front of the rebuilt face, a finger over the mask, :func:`~unmask_video.blend.blend_into`): a finger's highlights
    and nails taken as loop strokes are the frame's finger, not a loop to fill (a smear over it). None: none left."""
    if front is None:
        return loops
    fy, fx, on = front
    b = loops.box
    y0, x0 = max(b.y0, fy), max(b.x0, fx)
    y1, x1 = min(b.y1, fy + on.shape[0]), min(b.x1, fx + on.shape[1])
    if y1 <= y0 or x1 <= x0:
        return loops
    cut = on[y0 - fy : y1 - fy, x0 - fx : x1 - fx]
    if not cut.any():
        return loops
    pixels = loops.pixels.copy()
    pixels[y0 - b.y0 : y1 - b.y0, x0 - b.x0 : x1 - b.x0][cut] = 0
    return Loops(b, pixels, loops.radius) if pixels.any() else None
