"""A face's working window for the mask segmenter: its polygons, its box in the ROI and its pixels at the working
size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask_video.face_detect import resize
from unmask_video.mask_region import face_size, region_polygon
from unmask_video.search_region import search_polygons
from unmask_video.segment_options import SegmentOptions

__all__ = ["Window", "face_window"]


@dataclass
class Window:
    """A face's working window (:func:`face_window`): ROI coordinates, then the working size's."""

    poly: np.ndarray  # (M, 2) int32: the k-means polygon, ROI pixels
    search: np.ndarray  # (N, 2) float32: the search polygon, ROI pixels
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the window in the ROI (the deep band's reach included)
    base: tuple[int, int, int, int]  # the same without the deep band's extension (the colour model's window)
    full_shape: tuple[int, int]  # (h, w) of the window in ROI pixels
    sx: float  # working pixels per ROI pixel across
    sy: float  # ... and down
    sub: np.ndarray  # the window at the working size, uint8 RGB
    lm: np.ndarray  # the landmarks, working pixels
    size: float  # the face size, working pixels
    poly_w: np.ndarray  # the k-means polygon, working pixels (float32)
    search_w: np.ndarray  # the search polygon, working pixels
    deep_w: np.ndarray | None  # the deep band's polygon, working pixels (None: no deep band)
    reach_w: np.ndarray | None  # the deep band without its reach out along the jaw's sides, or None
    ears_w: np.ndarray | None = None  # the deep band reaching ``deep_ear`` further out at the ears, or None


def face_window(image: np.ndarray, lm: np.ndarray, opt: SegmentOptions) -> Window | None:
    """The working window of the face of ROI ``image`` with landmarks ``lm``: its polygons, its box in the ROI
    and its pixels at the working size; None when the mask region lies outside the ROI."""
    h, w = image.shape[:2]
    size = face_size(lm)

    poly = np.round(region_polygon(lm, opt.polygon_margin, opt.top_margin_scale, opt.side_margin_scale, size))
    poly = poly.astype(np.int32)
    # (the search region, and with the deep band: that band with its reach along the jaw's sides, without it, and
    # reaching further out at the ears; one call: what the polygons share is done once)
    shapes = [(opt.below_jaw, opt.search_side, opt.search_cheek)]
    deep_band = opt.refine and opt.deep_below > opt.below_jaw
    if deep_band:
        shapes.append((opt.deep_below, opt.search_side, opt.search_cheek))
        if opt.deep_cheek > 0:
            shapes.append((opt.deep_below, opt.search_side, opt.search_cheek + opt.deep_cheek))
        if opt.deep_ear > 0:
            shapes.append((opt.deep_below, opt.search_side + opt.deep_ear, opt.search_cheek + opt.deep_cheek))
    polygons = search_polygons(lm, size, shapes, opt.search_above, opt.search_jaw_floor)
    search = polygons[0]
    deep = deep_reach = ears = None
    if deep_band:
        deep = deep_reach = polygons[1]
        if opt.deep_cheek > 0:
            deep = polygons[2]
        if opt.deep_ear > 0:
            ears = polygons[-1]
    # Work inside the search region's bounding box only (with a rim around it for the colour model's
    # "not mask" samples): the cost follows the face, not the ROI.
    pts = np.vstack([poly, search]) if opt.refine else poly.astype(np.float32)
    pad = np.array([2, 2]) + (int(round(0.08 * size)) if opt.refine else 0)
    x0, y0 = np.clip(np.floor(pts.min(axis=0)).astype(int) - pad, 0, [w, h])
    x1, y1 = np.clip(np.ceil(pts.max(axis=0)).astype(int) + pad + 1, 0, [w, h])
    # The deep band extends the window downward (and sideways where it must); the working scale and the
    # colour model's samples stay those of the search region's window.
    base = (int(x0), int(y0), int(x1), int(y1))
    if deep_reach is not None:
        x0, y0 = np.minimum([x0, y0], np.clip(np.floor(deep_reach.min(axis=0)).astype(int) - pad, 0, [w, h]))
        x1, y1 = np.maximum([x1, y1], np.clip(np.ceil(deep_reach.max(axis=0)).astype(int) + pad + 1, 0, [w, h]))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    offset = np.array([x0, y0], np.float32)
    sub, sub_lm, sub_size = image[y0:y1, x0:x1], lm - offset, size
    sub_poly, sub_search = (poly - offset).astype(np.float32), search - offset
    sub_deep = None if deep is None else deep - offset
    sub_ears = None if ears is None else ears - offset
    # (the deep band without its reach out along the jaw's sides: what lies between the two is the sides' strip)
    sub_reach = None if deep is None or deep is deep_reach else deep_reach - offset
    full_shape = sub.shape[:2]
    # A large face is segmented at a capped working size: the mask needs no more detail than that.
    scale = min(1.0, opt.work_size / max(base[2] - base[0], base[3] - base[1]))
    if opt.work_face > 0:  # (and at most ``work_face`` pixels of face: the cost follows the face's scale)
        scale = min(scale, opt.work_face / size)
    sx = sy = 1.0
    if scale < 1.0:
        shape = (max(int(round(full_shape[0] * scale)), 4), max(int(round(full_shape[1] * scale)), 4))
        sub = resize(sub, shape[1], shape[0])  # (area by halvings, then bilinear: a plain area resize costs 5x)
        sx, sy = shape[1] / full_shape[1], shape[0] / full_shape[0]  # exact, after rounding
        axes = np.array([sx, sy], np.float32)
        # Pixel centres: the resize maps x to (x + 0.5) * s - 0.5.
        sub_lm, sub_poly = (sub_lm + 0.5) * axes - 0.5, (sub_poly + 0.5) * axes - 0.5
        sub_search = (sub_search + 0.5) * axes - 0.5
        sub_deep = None if sub_deep is None else (sub_deep + 0.5) * axes - 0.5
        sub_reach = None if sub_reach is None else (sub_reach + 0.5) * axes - 0.5
        sub_ears = None if sub_ears is None else (sub_ears + 0.5) * axes - 0.5
        sub_size = size * scale
    return Window(
        poly, search, (int(x0), int(y0), int(x1), int(y1)), base, full_shape, sx, sy, sub, sub_lm, sub_size,
        sub_poly, sub_search, sub_deep, sub_reach, sub_ears,
    )
