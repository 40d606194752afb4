"""The cheeks' sides under a cloth mask, carried down from the skin the frame shows above the mask.

Under a mask FaceMesh guesses the lower face's outline: it curves in towards the chin from about the mask's top edge,
while a real cheek runs on down from the cheekbone to the jaw's corner, and a cloth mask's side edge lies on that
cheek. With a stand-in reference whose cheeks are narrower than the frame's, the strip between the warped cheek and
the mask's side edge lay past FaceMesh's outline and was filled from what lies past the mask (the hair, a pale wall, a
hood's lining): a pale band down the sides of the rebuilt face (the grey-mask man with his stand-in).

What the frame does show is its skin just above the mask's top edge, out to where the face ends there
(:func:`~unmask_video.reconstruct.outside_fill.frame_skin`). :func:`cheeks_down` carries that skin straight down the
face to the height of the jaw's corners; the convex hull of FaceMesh's outline, that skin and the skin carried down
is the face (it tapers from the jaw's corners to the chin, as the outline does), a little inside the mask's edge (its
segmented soft edge runs onto what lies past it, which the surroundings' fill then continues, faded into the skin).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["cheeks_down", "narrower_sides"]


def narrower_sides(
    skin: np.ndarray, warped: np.ndarray, bridge: np.ndarray, down: np.ndarray, corners: float, short: float
) -> tuple[bool, bool]:
    """(image-left, image-right): whether on that side of the line down the face through the nose ``bridge`` ((2,)
    pixels; ``down``: the unit vector down the face) the ``warped`` reference's pixels ((h, w) bool: its pasted skin)
    end more than ``short`` pixels inside the frame's ``skin`` ((h, w) bool: seen just above the mask), across the face
    at the heights of that skin above the jaw's corners (``corners``: their height along ``down``): a reference whose
    face is narrower there than the frame's (a stand-in), not the frame's own face (its own photo: its cheek is the
    frame's, and the hole past it is not face)."""
    down = np.asarray(down, np.float64)
    across = np.array([down[1], -down[0]])  # (towards the image-right side)
    ys, xs = np.nonzero(skin)
    if not len(ys):
        return False, False
    pts = np.stack([xs, ys], axis=1).astype(np.float64) - bridge
    depth, side = pts @ down, pts @ across
    keep = depth < corners - float(np.asarray(bridge, np.float64) @ down)
    depth, side = depth[keep], side[keep]
    wy, wx = np.nonzero(warped)
    wpts = np.stack([wx, wy], axis=1).astype(np.float64) - bridge
    wdepth, wside = wpts @ down, wpts @ across
    out = []
    for sign in (-1.0, 1.0):
        mine = sign * side > 0
        if not mine.any():
            out.append(False)
            continue
        low, high = float(depth[mine].min()), float(depth[mine].max())
        theirs = (sign * wside > 0) & (wdepth >= low) & (wdepth <= high)
        reach = float((sign * side[mine]).max())
        warp_reach = float((sign * wside[theirs]).max()) if theirs.any() else 0.0
        out.append(reach - warp_reach > short)
    return out[0], out[1]


def cheeks_down(
    hole: np.ndarray, oval: np.ndarray, skin: np.ndarray, outline: np.ndarray, down: np.ndarray, corners: float,
    inset: float, sides: tuple[bool, bool] = (True, True), bridge: np.ndarray | None = None,
) -> np.ndarray | None:
    """(h, w) bool: the pixels of ``hole`` ((h, w) bool: the mask and the gaps beside it) past the face ``oval``
    ((h, w) bool) that lie inside the convex hull of the face's ``outline`` points ((N, 2) float, FaceMesh's oval
    through its landmarks, in the same pixels), the frame's ``skin`` ((h, w) bool: seen just above the mask's top edge)
    above the jaw's corners, and that skin carried along the unit vector ``down`` the face to the corners' height
    (``corners``: how far along ``down`` the higher corner lies), more than ``inset`` pixels inside the hole's edge; on
    the ``sides`` (image-left, image-right) of the line down the face through the nose ``bridge`` ((2,) pixels; needed
    unless both sides are taken) that are True; None where no skin lies above the corners or nothing lies there."""
    if not any(sides):
        return None
    ys, xs = np.nonzero(skin)
    seen = np.stack([xs, ys], axis=1).astype(np.float32)
    down = np.asarray(down, np.float32)
    depth = seen @ down
    seen = seen[depth < corners]
    if not len(seen):
        return None
    carried = seen + (np.float32(corners) - seen @ down)[:, None] * down[None, :]
    hull = cv2.convexHull(np.concatenate([np.asarray(outline, np.float32), seen, carried]))
    out = np.zeros(hole.shape, np.uint8)
    cv2.fillConvexPoly(out, np.round(hull).astype(np.int32), 1)
    cheeks = (out > 0) & hole & ~oval
    if not all(sides):
        assert bridge is not None
        h, w = hole.shape
        across = (np.arange(w, dtype=np.float32)[None, :] - np.float32(bridge[0])) * down[1] - (
            np.arange(h, dtype=np.float32)[:, None] - np.float32(bridge[1])) * down[0]
        cheeks &= (across > 0) if sides[1] else (across < 0)
    if not cheeks.any():
        return None
    if inset > 0:
        cheeks &= cv2.distanceTransform(hole.view(np.uint8), cv2.DIST_L2, 3) > inset
    return cheeks if cheeks.any() else None
