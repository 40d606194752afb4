"""Skin-coloured occluders in front of a face's lower half: hands and fingers that come into the face from outside.

A hand adjusting a worn mask, or passing in front of it, has the colour of the person's skin (the forehead's), is
not part of the segmented mask, and reaches the face from below or from the side: its pixels are connected, through
skin-coloured pixels, to outside the face outline below the mouth (the wrist, the arm). :func:`skin_occluders`
finds them. On a bare face the lower face's own skin is connected to the neck the same way, so the map alone does not
tell a hand from a bare chin: the presence decision (:mod:`unmask_video.mask_presence`) discounts it only where the
visible mask already covers most of the lower face.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.face_axes import oval_map

__all__ = ["skin_occluders", "skin_table", "entering"]


def skin_occluders(
    lab: np.ndarray,
    mask: np.ndarray,
    landmarks: np.ndarray,
    size: float,
    skin_ab: np.ndarray,
    tolerance: float,
) -> np.ndarray:
    """uint8 {0, 1} map of the skin-coloured pixels outside ``mask`` that reach into the face from outside it.

    ``lab`` is a uint8 Lab image, ``mask`` the segmented mask ({0, 1}, same shape), ``landmarks`` in its pixels,
    ``size`` the face size in its pixels, ``skin_ab`` the skin's Lab (a, b) (the forehead's median); a pixel is
    skin-coloured when its (a, b) is within ``tolerance`` of it. Kept are the connected skin-coloured regions (thin
    bridges cut by an opening) that touch the area outside the face outline and below the mouth: a hand, a wrist,
    fingers reaching up the face; also a bare neck and chin (see the module docstring).
    """
    near = skin_table(skin_ab, tolerance)
    skin = np.take(near, (lab[..., 1].astype(np.uint16) << 8) | lab[..., 2]) & (mask == 0).view(np.uint8)
    return entering(skin, landmarks, size)


def skin_table(skin_ab: np.ndarray, tolerance: float) -> np.ndarray:
    """(65536,) uint8 {0, 1} over (a << 8) | b of uint8 Lab (a, b): 1 where (a, b) lies within ``tolerance`` of
    ``skin_ab``, in the float32 operations a per-pixel test does (the squared differences summed, a then b): the same
    answers, one look-up per pixel."""
    sa, sb = np.asarray(skin_ab, np.float32)
    da = np.arange(256, dtype=np.float32) - sa
    db = np.arange(256, dtype=np.float32) - sb
    return ((da * da)[:, None] + (db * db)[None, :] <= tolerance * tolerance).astype(np.uint8).ravel()


def entering(skin: np.ndarray, landmarks: np.ndarray, size: float) -> np.ndarray:
    """uint8 {0, 1}: the connected regions of the ``skin`` map ({0, 1}; thin bridges cut by an opening) that touch the
    area outside the face outline and below the mouth (``landmarks`` and the face ``size`` in its pixels)."""
    h, w = skin.shape
    k = max(int(round(0.02 * size)) | 1, 3)
    skin = cv2.morphologyEx(skin, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if not skin.any():
        return skin
    face = oval_map(landmarks, (h, w))
    mouth_y = float(landmarks[ls.index(ls.MOUTH)][:, 1].max())
    entry = (face == 0) & (np.arange(h)[:, None] > mouth_y)
    n, comp = cv2.connectedComponents(skin, connectivity=8)
    keep = np.zeros(n, np.uint8)
    keep[comp[(entry & (skin > 0))]] = 1
    keep[0] = 0
    if not keep.any():
        return np.zeros((h, w), np.uint8)
    return np.take(keep, comp)  # (a look-up by label: np.isin sorts the window's labels)
