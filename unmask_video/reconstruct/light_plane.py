"""The light's slopes over a face, fitted by least squares, for the reference composite's ``light="skin"`` match.

Down the face (:func:`light_plane`: the frame's change of light against the reference's, continued where the ring of
visible skin is far) and across it (:func:`across_share`, :func:`across_light`: how far a reference lit from another
side than the frame is, and its own slopes of lightness and redness across the face to replace by the frame's).
"""

from __future__ import annotations

import numpy as np

from unmask_video.reconstruct.ring_colour import MIN_RING_PIXELS


#: With ``light="skin"``: the light's slope down the face (:func:`light_plane`) is shrunk by a ridge of this times the
#: pixels' weight (in the region's size squared): a ring that hardly spreads in a direction tells no slope along it.
_PLANE_RIDGE = 0.003
#: The plane reaches beyond the ring's range of it by at most this fraction of that range.
_PLANE_REACH = 2.0
#: Slopes of lightness across the ring (Lab L units from its left end to its right) below this count as this when the
#: frame's and the reference's are compared (:func:`across_share`): an even light's small slopes differ at random.
_ACROSS_FLOOR = 8.0
#: The same for the slopes of redness (Lab a) across the ring, taken only where the reference's lighter side is its
#: less red one: a side light bleaches the skin it falls on (a stand-in lit from one side is 10-14 a less red from one
#: cheek to the other on the grey-mask man's ring, his own skin 4-6 a redder that way). Yellowness (b) is left alone:
#: taken across as well, it moved the rebuilt skin's mean colour away from the truth's on the quality benchmark (a
#: black mask's clip, cast +0.1).
_ACROSS_FLOOR_RED = 4.0
_ACROSS_FLOORS = np.array([_ACROSS_FLOOR, _ACROSS_FLOOR_RED])
#: The reference's light across the face replaced by the frame's (:func:`across_share`): the share, per Lab channel,
#: and the frame's slope across (Lab units per pixel of the region), (3,) each; and the columns of the region the ring's
#: skin spans ((2,): its first and last), past which the slope is not continued (:func:`across_light`).
Across = tuple[np.ndarray, np.ndarray, np.ndarray]


def _plane_slopes(values: np.ndarray, px: np.ndarray, py: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(across, down): the least-squares slopes of ``values`` ((C, K)) along the centred pixel coordinates ``px`` and
    ``py`` ((K,) each), per channel ((C,) float64 each), with ``ridge`` added to the normal matrix's diagonal."""
    a = np.array([[np.dot(px, px), np.dot(px, py)], [np.dot(px, py), np.dot(py, py)]], np.float64)
    a += ridge * np.eye(2)
    b = np.stack([values @ px, values @ py]).astype(np.float64)
    # (the 2x2 system by Cramer's rule, as :func:`light_plane`: LAPACK's call overhead is the larger cost)
    det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
    return (a[1, 1] * b[0] - a[0, 1] * b[1]) / det, (a[0, 0] * b[1] - a[1, 0] * b[0]) / det


def across_share(
    tgt_ring: np.ndarray, ref_ring: np.ndarray, both: np.ndarray, ring_coords: tuple[np.ndarray, np.ndarray]
) -> Across:
    """(share, slope, columns): (3,) each per Lab channel, b 0, the frame's slope of lightness and of redness (L, a)
    across the ring (Lab units per pixel) and the share of the reference's across to be replaced by it, in [0, 1], per
    channel; and (2,) the first and last column of the ring's pixels where both show skin (:data:`Across`). The share: how
    far the reference's is not the frame's, from the slopes across the ring (from its left end to its right, fitted with
    the slope down by least squares) of the frame ``tgt_ring`` and the reference ``ref_ring`` ((3, N) Lab at the
    ``ring_coords`` pixels) where both show skin (``both``): 0 where the two slopes differ by at most half the larger
    (the same light), 1 where by all of it or more (a photo lit from one side on a face lit from the other, or from the
    front; a side light's bleached cheek: a only where the reference's lighter side is its less red one); slopes under
    ``_ACROSS_FLOOR`` (L) and ``_ACROSS_FLOOR_RED`` (a) count as that. Zeros with fewer than ``MIN_RING_PIXELS``
    pixels."""
    share, slope = np.zeros(3, np.float32), np.zeros(3, np.float32)
    if np.count_nonzero(both) < MIN_RING_PIXELS:
        return share, slope, np.zeros(2, np.float32)
    ys, xs = (c[both].astype(np.float32) for c in ring_coords)
    span = max(float(xs.max() - xs.min()), 1.0)
    px, py = (xs - xs.mean()) / span, (ys - ys.mean()) / span
    ours = _plane_slopes(tgt_ring[:2, both], px, py, 1e-6 * len(px))[0]
    theirs = _plane_slopes(ref_ring[:2, both], px, py, 1e-6 * len(px))[0]
    scale = np.maximum(np.maximum(np.abs(ours), np.abs(theirs)), _ACROSS_FLOORS)
    share[:2] = np.clip(2.0 * np.abs(ours - theirs) / scale - 1.0, 0.0, 1.0)
    if theirs[0] * theirs[1] >= 0:
        # (redness only where the reference's lighter side is its less red one: a light that bleaches the cheek it
        # falls on; a warm light's redder lit side, or a blush on one cheek, is left to the colour bound)
        share[1] = 0.0
    slope[:2] = ours / span
    return share, slope, np.array([xs.min(), xs.max()], np.float32)


def across_light(
    lab: np.ndarray, on: np.ndarray, small: tuple[int, int], share: np.ndarray, target: np.ndarray,
    columns: tuple[float, float] | None = None,
) -> np.ndarray | None:
    """``share`` ((3,)) of how far the reference's light across the face is from the ``target`` slope ((3,), Lab units
    per working pixel): the slope along the rows of its Lab ``lab`` ((3, w * h) at the working size ``small``) on its
    skin pixels ``on`` ((w * h,) bool), fitted per channel by least squares with the slope down the face, less the
    target, as a field over the working size ((3, w * h)), zero at the pixels' mean column; held at its value at the
    first and last of ``columns`` (working pixels: the ring's skin, :data:`Across`) beyond them (None: continued to the
    region's edges). None: too few pixels."""
    idx = np.flatnonzero(on)
    if len(idx) < MIN_RING_PIXELS:
        return None
    w = small[0]
    scale = np.float32(1.0 / max(small))
    px = (idx % w).astype(np.float32) * scale
    py = (idx // w).astype(np.float32) * scale
    mx, my = float(px.mean()), float(py.mean())
    px -= np.float32(mx)
    py -= np.float32(my)
    slope = _plane_slopes(lab[:, idx], px, py, _PLANE_RIDGE * len(idx))[0].astype(np.float32)
    slope -= np.asarray(target, np.float32) * np.float32(max(small))  # (per working pixel -> per ``scale`` unit)
    cols = np.arange(w, dtype=np.float32)
    if columns is not None:
        # (the frame's slope is known where the ring shows skin: continued past a cheek's side it darkened the side
        # lit least into a dark strip along the face's edge, and lit the other past the frame's own brightest skin)
        np.clip(cols, np.float32(columns[0]), np.float32(max(columns[1], columns[0])), out=cols)
    cols = cols * scale - np.float32(mx)
    field = np.empty((3, small[1], w), np.float32)
    field[...] = ((np.asarray(share, np.float32) * slope)[:, None] * cols[None, :])[:, None, :]
    return field.reshape(3, -1)


def light_plane(
    change: np.ndarray, ys: np.ndarray, xs: np.ndarray, weights: np.ndarray, shape: tuple[int, int],
    small: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """The light's slope down the face: the planar part of its ``change`` ((3, K) Lab, frame minus reference, at the
    ring pixels ``ys``, ``xs`` of a region of ``shape`` (h, w), weighted by ``weights``, 0: not used), per Lab channel,
    fitted by weighted least squares (both slopes, the one across dropped after) with the slopes shrunk where the
    pixels hardly spread (``_PLANE_RIDGE``), zero on the pixels' weighted mean row. Returns (plane, at): the slope's
    field over the working size ``small`` ((3, w * h); bounded to ``_PLANE_REACH`` times the range it has on the pixels
    beyond it) and its values at the pixels ((3, K)); zeros with fewer than ``MIN_RING_PIXELS`` pixels used."""
    h, w = shape
    used = weights > 0
    if np.count_nonzero(used) < MIN_RING_PIXELS:
        return np.zeros((3, small[0] * small[1]), np.float32), np.zeros_like(change)
    scale = np.float32(1.0 / max(h, w))
    px, py = xs.astype(np.float32) * scale, ys.astype(np.float32) * scale
    wsum = float(weights.sum())
    mx, my = float(np.dot(weights, px)) / wsum, float(np.dot(weights, py)) / wsum
    px -= np.float32(mx)
    py -= np.float32(my)
    wx, wy = weights * px, weights * py
    a = np.array([[np.dot(wx, px), np.dot(wx, py)], [np.dot(wx, py), np.dot(wy, py)]], np.float64)
    a += _PLANE_RIDGE * wsum * np.eye(2)
    b = np.stack([change @ wx, change @ wy]).astype(np.float64)
    # (the y slope per channel of the 2x2 system, by Cramer's rule: LAPACK's solve costs 20-40 us of call overhead, and
    # where numpy's BLAS threads are not limited, waking them cost up to 2 ms a face)
    down = ((a[0, 0] * b[1] - a[1, 0] * b[0]) / (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0])).astype(np.float32)
    # Only the slope down the face is continued: across it the ring shows the light on both sides (its spread follows
    # it), and a slope across, continued past a cheek's edge, darkens or reddens a band there.
    at = down[:, None] * py[None, :]
    sw, sh = small
    rows = (np.arange(sh, dtype=np.float32) + 0.5) * np.float32(h / sh) * scale - np.float32(my)
    lo, hi = float(py[used].min()), float(py[used].max())
    room = _PLANE_REACH * (hi - lo)
    rows = np.clip(rows, lo - room, hi + room)  # (the slope's field is linear in the row: bounded through it)
    plane = np.empty((3, sh, sw), np.float32)
    plane[...] = (down[:, None] * rows[None, :])[:, :, None]
    return plane.reshape(3, -1), at
