"""How far the rebuilt skin's colour may stray from its smooth light, for the reference composite's ``light="skin"``.

The bound is what the frame's visible skin shows around its own smooth colour on the ring (:func:`chroma_bound`, with
how far the reference's strays there are the frame's); the rebuilt skin's a/b offsets are bent towards it, their hue
kept (:func:`bounded_chroma`), except where the colour is the person's own: the lips near the mouth, lipstick, what
is no skin (:func:`own_colour`).
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.landmark_sets import LIPS_OUTER, MOUTH_CORNERS
from unmask_video.order_stats import percentile
from unmask_video.reconstruct.ring_colour import MIN_RING_PIXELS
from unmask_video.reconstruct.smooth_field import spread


#: With ``light="skin"``: the rebuilt skin's a/b offsets from its smooth light are bounded by this percentile of the
#: frame's skin's own (on the ring, from its smooth colour), at least ``_MIN_CHROMA_LIMIT`` Lab units.
_CHROMA_PERCENTILE, _MIN_CHROMA_LIMIT = 90.0, 2.0
#: The bound leaves a/b offsets up to this fraction of it as they are.
_CHROMA_KNEE = 0.7
#: The bound where none can be measured (no bound).
_NO_CHROMA_BOUND = 1e4
#: With ``light="skin"``: the lips are looked for this far (times the mouth's width) around the frame's mouth
#: landmarks (the warp carries the reference's mouth rigidly with the face above the mask, not onto FaceMesh's guess
#: under it), and there a colour from the first to the second of ``_LIP_STRENGTH`` times the skin's own variation is
#: the lips' (kept as the reference shows it).
_LIP_REACH = 0.3
_LIP_STRENGTH = (1.5, 3.0)
#: Where the warp's reference lips are known (:func:`lip_polygon`): their outline grown by this fraction of the
#: mouth's width, and faded to nothing over this much past it. The outline is the reference's own lip points carried
#: by the warp's spline (its inverse), on the warped lips to a pixel: grown (by 0.08 and faded over 0.08, as first
#: written) it took in the skin right above a stand-in's upper lip, its shaded, redder moustache there kept as the
#: lips' colour (a pink rim above the grey-mask man's rebuilt upper lip; benchmarks/README.md, lips27).
_LIP_GROW, _LIP_FEATHER = 0.0, 0.04


def chroma_bound(
    tgt_ring: np.ndarray,
    ref_ring: np.ndarray,
    skin_keep: np.ndarray,
    both: np.ndarray,
    ring: np.ndarray,
    sigma: float,
    small: tuple[int, int],
    ring_coords: tuple[np.ndarray, np.ndarray],
    at: np.ndarray,
) -> tuple[float, float]:
    """(bound, trust): how far (Lab a/b distance) the frame's visible skin's colour strays from its own smooth colour
    (the ``_CHROMA_PERCENTILE`` of the ring pixels' distance to their smooth a/b field, spread over the ring ``ring``
    ((h, w)) with a Gaussian of ``sigma`` pixels; at least ``_MIN_CHROMA_LIMIT``, ``_NO_CHROMA_BOUND`` with too few
    pixels), on the ring pixels where both show skin (``both``; too few: where the frame does, ``skin_keep``); and how
    far the reference's own strays there are the frame's (0: not at all, a photo of someone else or of other skin; 1:
    the same, the same skin seen in the same light), from the distance between the two's strays against the
    reference's.
    ``tgt_ring``/``ref_ring``: (3, N) Lab at the ``ring_coords`` pixels, ``at`` their working pixels at ``small``."""
    pair = np.count_nonzero(both) >= MIN_RING_PIXELS
    use = both if pair else skin_keep
    if np.count_nonzero(use) < MIN_RING_PIXELS:
        return _NO_CHROMA_BOUND, 0.0
    ys, xs = ring_coords
    ab = np.concatenate([tgt_ring[1:, use], ref_ring[1:, use]]) if pair else tgt_ring[1:, use]
    smooth = spread(ab, ring, sigma, size=small, coords=(ys[use], xs[use]), planar=True)
    off = ab - smooth[:, at[use]]
    bound = max(float(percentile(np.hypot(off[0], off[1]), _CHROMA_PERCENTILE)), _MIN_CHROMA_LIMIT)
    if not pair:
        return bound, 0.0
    theirs = float(percentile(np.hypot(off[2], off[3]), 75))
    apart = float(percentile(np.hypot(off[0] - off[2], off[1] - off[3]), 75))
    return bound, float(np.clip(1.0 - apart / max(theirs, 1.0), 0.0, 1.0))


def bounded_chroma(chroma: np.ndarray, limit: float) -> np.ndarray:
    """The (2, N) a/b offsets with their length bounded by ``limit``: unchanged up to ``_CHROMA_KNEE`` of it, then bent
    smoothly towards it (never past it), their hue kept."""
    if not np.isfinite(limit):
        return chroma.copy()
    length = np.hypot(chroma[0], chroma[1])
    knee = np.float32(_CHROMA_KNEE * limit)
    room = np.float32(limit) - knee
    # (below the knee the scale is (knee + 0) / knee = 1)
    bent = np.tanh(np.maximum(length - knee, np.float32(0.0)) * np.float32(1.0 / room))
    bent *= room
    bent += knee
    bent /= np.maximum(length, knee)
    return chroma * bent


def own_colour(
    dev: np.ndarray,
    zone: np.ndarray | None,
    limit: float,
    theirs: np.ndarray | None,
    on_skin: np.ndarray | np.float32,
    polygon: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Where the reference's colour is the person's own, not its light's, over the working size, from its a/b offsets
    from its smooth skin colour ``dev`` ((2, N)): (lips, strong), None each where there is none.

    ``lips`` ((N,) in [0, 1]): in the mouth's ``zone`` (:func:`mouth_zone`; None: the mouth is not known), a colour
    from the first to the second of ``_LIP_STRENGTH`` times the frame skin's ``limit``: not bounded by it. ``strong``
    ((2, N) in [0, 1], per channel): near the mouth or where the reference shows no skin (1 - ``on_skin``), a colour
    far stronger than the reference skin's own variation on the ring (``theirs``, per Lab channel; from 3x, fully at
    5x: lipstick): its chroma not scaled down by the contrast. ``polygon`` ((N,) in [0, 1], :func:`lip_polygon`; None:
    not known): where the warp put the reference's own lips; ``lips`` only there (a redder moustache or shaded skin
    beside them is bounded as skin)."""
    lips = strong = None
    if zone is not None and np.isfinite(limit):
        low, high = _LIP_STRENGTH
        length = np.hypot(dev[0], dev[1]) * np.float32(1.0 / max(limit, 1.0))
        lips = (zone * np.clip((length - low) / (high - low), 0.0, 1.0)).astype(np.float32)
        if polygon is not None:
            lips *= polygon
    where = (1.0 - on_skin) if zone is None else np.maximum(zone, 1.0 - on_skin)
    if theirs is not None and np.any(where > 0):
        ratio = np.abs(dev) / np.maximum(theirs[1:], 1.0).astype(np.float32)[:, None]
        strong = (where * np.clip((ratio - 3.0) * 0.5, 0.0, 1.0)).astype(np.float32)
    return lips, strong


def mouth_zone(mouth: np.ndarray | None, small: tuple[int, int], shape: tuple[int, int]) -> np.ndarray | None:
    """(N,) float32 in [0, 1] over the working size ``small`` (w, h): the ellipse around the ``mouth`` (LIPS_OUTER
    points, (K, 2) in the pixels of a region of ``shape`` (h, w); its axes along the mouth corners' line and across it),
    grown by ``_LIP_REACH`` times its width, its edge soft. None: no mouth given."""
    if mouth is None or len(mouth) < 3:
        return None
    w, h = small
    pts = np.asarray(mouth, np.float32) * np.array([w / shape[1], h / shape[0]], np.float32)
    left, right = (LIPS_OUTER.index(i) for i in MOUTH_CORNERS)
    along = pts[right] - pts[left]
    width = float(np.hypot(*along))
    if width < 1.0:
        return None
    u = along / width
    centre = pts.mean(axis=0)
    rel = pts - centre
    across = rel @ np.array([-u[1], u[0]], np.float32)
    reach = _LIP_REACH * width
    half_w, half_h = 0.5 * width + reach, 0.5 * float(np.ptp(across)) + reach
    # (on the bounding box of the ellipse only: the rest of the working size is 0)
    r = int(np.ceil(max(half_w, half_h) * 1.25)) + 1
    x0, x1 = max(int(centre[0]) - r, 0), min(int(centre[0]) + r + 1, w)
    y0, y1 = max(int(centre[1]) - r, 0), min(int(centre[1]) + r + 1, h)
    zone = np.zeros((h, w), np.float32)
    if x1 <= x0 or y1 <= y0:
        return zone.reshape(-1)
    dx = (np.arange(x0, x1, dtype=np.float32) - centre[0])[None, :]
    dy = (np.arange(y0, y1, dtype=np.float32) - centre[1])[:, None]
    a = (dx * u[0] + dy * u[1]) * np.float32(1.0 / half_w)
    b = (dy * u[0] - dx * u[1]) * np.float32(1.0 / half_h)
    zone[y0:y1, x0:x1] = np.clip((1.25 - np.sqrt(a * a + b * b)) * 2.0, 0.0, 1.0)
    return zone.reshape(-1)


def lip_polygon(lips: np.ndarray | None, small: tuple[int, int], shape: tuple[int, int]) -> np.ndarray | None:
    """(N,) float32 in [0, 1] over the working size ``small`` (w, h): where the warp put the reference's own lips
    (``lips``: its LIPS_OUTER points carried onto the frame, (K, 2) in the pixels of a region of ``shape`` (h, w)),
    their outline grown by ``_LIP_GROW`` times the mouth's width, then faded over ``_LIP_FEATHER`` times it. None: not
    known."""
    if lips is None or len(lips) < 3:
        return None
    w, h = small
    pts = np.asarray(lips, np.float32) * np.array([w / shape[1], h / shape[0]], np.float32)
    left, right = (LIPS_OUTER.index(i) for i in MOUTH_CORNERS)
    width = float(np.hypot(*(pts[right] - pts[left])))
    if not np.isfinite(pts).all() or width < 1.0:
        return None
    inside = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside, [np.round(pts * 16.0).astype(np.int32)], 1, cv2.LINE_8, 4)
    # (distance, in working pixels, of every pixel outside the outline to it: 0 inside)
    far = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    grow, feather = _LIP_GROW * width, max(_LIP_FEATHER * width, 1.0)
    return np.clip(1.0 - (far - grow) / feather, 0.0, 1.0).astype(np.float32).reshape(-1)
