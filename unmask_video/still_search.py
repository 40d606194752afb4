"""Whether a frame still looks as it did when the tracker last searched it for faces (no face came in since).

The face search of a frame with no face costs some twenty detector passes (about 0.3 s of CPU at 720p), once every
``TrackerOptions.detect_interval``. Where the picture has not changed since the last search started, the search
would see what it saw then: it is skipped. The frame is compared as colour cells of half the smallest face's width:
a face at least ``min_face_size`` wide that came in covers at least one whole cell, and changes it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def cell_means(image: np.ndarray, min_face: float) -> np.ndarray:
    """The mean colour of ``image`` (uint8, h x w x c) over cells about ``min_face / 2`` pixels wide (uint8)."""
    h, w = image.shape[:2]
    side = max(min_face / 2.0, 1.0)
    cells = (math.ceil(w / side), math.ceil(h / side))  # (cells at most ``side`` wide)
    return cv2.resize(image, cells, interpolation=cv2.INTER_AREA)


def unchanged(cells: np.ndarray | None, image: np.ndarray, min_face: float, levels: float) -> bool:
    """Whether no cell of ``image`` (:func:`cell_means`) differs from ``cells`` by more than ``levels`` in any
    channel; False where there are no ``cells`` or they are of another size, or ``levels`` is 0 (off)."""
    if cells is None or levels <= 0:
        return False
    now = cell_means(image, min_face)
    if now.shape != cells.shape:
        return False
    return float(cv2.absdiff(now, cells).max()) <= levels
