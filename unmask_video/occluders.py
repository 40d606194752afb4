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

__all__ = ["skin_occluders", "entering"]


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
    ab = lab[..., 1:].astype(np.float32) - np.asarray(skin_ab, np.float32)
    skin = ((ab * ab).sum(axis=2) <= tolerance * tolerance) & (mask == 0)
    return entering(skin.astype(np.uint8), landmarks, size)


def entering(skin: np.ndarray, landmarks: np.ndarray, size: float) -> np.ndarray:
    """uint8 {0, 1}: the connected regions of the ``skin`` map ({0, 1}; thin bridges cut by an opening) that touch the
    area outside the face outline and below the mouth (``landmarks`` and the face ``size`` in its pixels)."""
    h, w = skin.shape
    k = max(int(round(0.02 * size)) | 1, 3)
    skin = cv2.morphologyEx(skin, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if not skin.any():
        return skin
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [np.round(landmarks[ls.index(ls.FACE_OVAL)]).astype(np.int32)], 1)
    mouth_y = float(landmarks[ls.index(ls.MOUTH)][:, 1].max())
    entry = (face == 0) & (np.arange(h)[:, None] > mouth_y)
    n, comp = cv2.connectedComponents(skin, connectivity=8)
    keep = np.unique(comp[(entry & (skin > 0))])
    keep = keep[keep > 0]
    if keep.size == 0:
        return np.zeros((h, w), np.uint8)
    return np.isin(comp, keep).astype(np.uint8)
