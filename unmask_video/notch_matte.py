"""The blend's alpha around fingers laid over the mask, settled on the frame's own colours (issue 10).

The blend keeps the mask's notches and holes (fingers, a hand in front of the mask, which the segmentation leaves
out) in front of the rebuilt face: :func:`~unmask_video.blend.shield_notches` lowers the feather on them and on a
band around them. That band is a shape, not the finger's edge: the strip of cloth between the segmented mask and the
finger (the mask's soft edge, a blurred or shaded rim of cloth next to the finger) stayed the frame's, a pale or grey
fringe round the fingertips, and where the mask's soft edge ran onto the finger the rebuilt face faded over it.

Here, in that band, each pixel's colour is placed on the line from the cloth's colour (the mask's pixels nearby) to
the occluder's (the notches' own pixels): a pixel near the occluder's end is in front (alpha 0), one near the cloth's
end, next to the mask, is cloth and is rebuilt (the feather's alpha without the shield: 1 next to the mask), with a
short ramp between (the frame's own blur of the finger's edge). A pixel far from the line (hair, a nail, a shadow of
another colour) keeps the alpha it had, and so do the mask's own full pixels (rebuilt whatever their colour: a print,
a fold). Where the two colours are too alike to tell apart (a skin-coloured mask), nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["NotchMatte", "settle_notch_edges"]


@dataclass(frozen=True)
class NotchMatte:
    """How the notches' band is settled on the frame's colours (Lab units, 8-bit OpenCV Lab)."""

    #: The cloth's and the occluder's chroma (Lab a, b) must lie at least this far apart, else the band is left as
    #: the shield made it.
    min_contrast: float = 13.0
    #: ... and the occluder's pixels off the mask in the notches must cover at least this many squared feather
    #: widths (a finger's tip is about 1.5 widths across; a sliver between the mask and an ear, or a wall the
    #: segmentation took round it, is no occluder to settle on).
    min_front: float = 1.0
    #: A pixel's place on the line is read off its chroma alone (a shaded fold of the cloth, a finger's shadow on
    #: it: the light changes more than the colour); the lightness, weighted this much, only tells what is darker
    #: than both (hair, a dark gap between fingers).
    lightness_weight: float = 0.5
    #: Along the cloth-to-occluder line (0: the cloth, 1: the occluder), a pixel is all cloth up to ``cloth_end`` and
    #: all occluder from ``front_start``, the alpha falling linearly between.
    cloth_end: float = 0.35
    front_start: float = 0.65
    #: The alpha is raised (cloth) only within this share of the feather's width of the mask (its soft edge
    #: included): the strip of cloth the segmentation left beside a finger is a few pixels wide; further out (a wall,
    #: a collar, an ear beside the mask) it is only ever lowered (an occluder's pixels).
    near: float = 0.3
    #: The cloth's alpha is then grown this many pixels onto the occluder's edge next to the mask: the cloth's
    #: dark rim round a finger (its shade, the finger's chroma spread onto it by 4:2:0 video) is the cloth's.
    rim_px: int = 1
    #: A pixel whose chroma lies further from the line than this share of the two colours' chroma distance, or whose
    #: lightness lies below both colours' by more than this share of their distance (lightness weighted), is
    #: neither: its alpha is kept.
    off_line: float = 0.6


def settle_notch_edges(
    alpha: np.ndarray,
    plain: np.ndarray,
    mask8: np.ndarray,
    frame: np.ndarray,
    band: np.ndarray,
    notches: np.ndarray,
    width_px: float,
    options: NotchMatte | None = None,
) -> None:
    """Settle ``alpha`` (float32 (h, w), in place; never above ``plain``, the feather's alpha without the shield: the
    rebuilt face reaches no further than the feather does) on ``band`` (float32 (h, w), > 0: the shield's band round
    the notches) by the colours of ``frame`` ((h, w, 3) uint8 RGB, the frame's pixels under ``alpha``): the cloth's
    colour is the median of ``mask8``'s full pixels (uint8, 255) in the band, the occluder's that of ``notches``'
    (uint8 {0, 1}) pixels off the mask; ``width_px``: the feather's width. See the module docstring."""
    o = options or NotchMatte()
    full = mask8 == 255
    zone = band > 0
    cloth_px = zone & full
    front_px = zone & (notches > 0) & (mask8 == 0)
    if np.count_nonzero(cloth_px) < 16 or np.count_nonzero(front_px) < max(o.min_front * width_px * width_px, 16.0):
        return
    lab = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2Lab).astype(np.float32)
    lab[..., 0] *= np.float32(o.lightness_weight)
    cloth = np.median(lab[cloth_px], axis=0)
    front = np.median(lab[front_px], axis=0)
    axis = front - cloth
    chroma = axis.copy()
    chroma[0] = 0.0
    length2 = float(chroma @ chroma)
    if length2 < o.min_contrast * o.min_contrast:
        return
    r = max(int(round(o.near * width_px)), 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    close = cv2.dilate((mask8 > 0).view(np.uint8), disc)
    # (the mask's own full pixels are rebuilt whatever their colour)
    ys, xs = np.nonzero(zone & ~full)
    rel = lab[ys, xs] - cloth
    t = rel @ (chroma / np.float32(length2))  # (the chroma alone places it: a shade on the cloth is cloth)
    off = rel[:, 1:] - t[:, None] * chroma[None, 1:]
    # (on the line: its chroma near it, and not darker than both ends by more than ``off_line`` of the two colours'
    # distance: hair, a dark gap between fingers is neither; a highlight on the cloth, lighter than both, is cloth)
    floor = min(float(cloth[0]), float(front[0])) - o.off_line * float(np.sqrt(float(axis @ axis)))
    on_line = (np.einsum("ij,ij->i", off, off) <= o.off_line * o.off_line * length2) & (lab[ys, xs, 0] >= floor)
    settled = np.clip((o.front_start - t) / np.float32(o.front_start - o.cloth_end), 0.0, 1.0).astype(np.float32)
    now = alpha[ys, xs]
    settled = np.minimum(settled, plain[ys, xs])
    # (raised next to the mask only; lowered wherever the band is)
    settled = np.where(close[ys, xs] > 0, settled, np.minimum(settled, now))
    alpha[ys, xs] = np.where(on_line, settled, now)
    if o.rim_px > 0:
        # (the cloth's dark rim round the finger, its shade and the finger's chroma spread onto it, goes with the
        # cloth: the cloth's alpha grown that far onto the occluder's edge, next to the mask only)
        k = 2 * o.rim_px + 1
        grown = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        on = on_line & (close[ys, xs] > 0)
        alpha[ys[on], xs[on]] = np.minimum(grown[ys[on], xs[on]], plain[ys[on], xs[on]])
