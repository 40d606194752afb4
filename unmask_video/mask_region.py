"""Where the segmenter looks on a face, read off its landmarks: the face's size, the k-means polygon
(:func:`region_polygon`), and the parts of a working window the rim cut and the side strips work in: under the jaw
line (:func:`under_jaw`), over the nose tip (:func:`over_nose`), the deep band's strips out along the jaw's sides
(:func:`side_strips`)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.errors import InputError
from unmask_video.search_region import jaw_profile


def face_size(landmarks: np.ndarray) -> float:
    """Face size in pixels: the larger side of the face-oval bounding box."""
    pts = landmarks[ls.index(ls.FACE_OVAL)]
    span = pts.max(axis=0) - pts.min(axis=0)
    return float(max(span.max(), 1.0))


def region_polygon(
    landmarks: np.ndarray,
    margin: float,
    top_margin_scale: float = 0.25,
    side_margin_scale: float = 0.2,
    size: float | None = None,
) -> np.ndarray:
    """The search polygon, (N, 2) float32: MASK_REGION pushed outward by ``margin`` x face size.

    The jaw part is pushed most under the chin (masks reach below it), ``side_margin_scale`` of that at
    the ears (pushing far sideways only brings in background); the under-eye part by
    ``top_margin_scale`` of it, so the eyes stay out of the search. ``size``: :func:`face_size` of the landmarks, when
    the caller has it.
    """
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (ls.NUM_LANDMARKS, 2):
        raise InputError(f"landmarks must have shape ({ls.NUM_LANDMARKS}, 2), got {lm.shape}")
    pts = lm[ls.index(ls.MASK_REGION)]
    centre = pts.mean(axis=0)
    out = pts - centre
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    direction = out / np.maximum(norm, 1e-6)
    n_jaw = len(ls.JAW)
    push = np.full((len(pts), 1), margin * (face_size(lm) if size is None else size), dtype=np.float32)
    profile = jaw_profile(n_jaw)[0]  # 0 at the ears, 1 at the chin (sin^2, made once)
    push[:n_jaw, 0] *= side_margin_scale + (1.0 - side_margin_scale) * profile
    push[n_jaw:] *= top_margin_scale
    return (pts + direction * push).astype(np.float32)


def under_jaw(lm: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 {0, 1}: under the FaceMesh jaw line, down to the bottom of ``shape`` (the neck, collars, shirts)."""
    neck = np.zeros(shape, np.uint8)
    jaw = lm[ls.index(ls.JAW)]
    under = np.vstack([jaw, [[jaw[-1, 0], shape[0] + 1], [jaw[0, 0], shape[0] + 1]]])
    cv2.fillPoly(neck, [np.round(under).astype(np.int32)], 1)
    return neck


def over_nose(lm: np.ndarray, shape: tuple[int, int], lift: float) -> np.ndarray:
    """uint8 {0, 1}: above the line across the face ``lift`` pixels over the nose tip (the nose bridge, the cheeks
    under the eyes: a worn mask's top edge is there, with skin above it)."""
    tip, bridge = lm[ls.NOSE_TIP], lm[ls.NOSE_BRIDGE]
    down = tip - bridge
    down /= max(float(np.linalg.norm(down)), 1e-6)
    # (a half-plane as a large quadrilateral, which fillPoly clips to the window)
    point, across, reach = tip - lift * down, np.array([down[1], -down[0]]), 2.0 * float(sum(shape))
    quad = np.array([point - reach * across, point + reach * across])
    quad = np.vstack([quad, quad[::-1] - reach * down])
    over = np.zeros(shape, np.uint8)
    cv2.fillPoly(over, [np.round(quad).astype(np.int32)], 1)
    return over


def side_strips(shape: tuple[int, int], deep: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """uint8 {0, 1}: the deep band's strips out along the jaw's sides, between the ``deep`` polygon (with them) and
    the ``reach`` one (without them)."""
    outer = np.zeros(shape, np.uint8)
    cv2.fillPoly(outer, [np.round(deep).astype(np.int32)], 1)
    inner = np.zeros(shape, np.uint8)
    cv2.fillPoly(inner, [np.round(reach).astype(np.int32)], 1)
    return outer & (1 - inner)

