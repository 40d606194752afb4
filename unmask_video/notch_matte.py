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

A fingertip moving over the cloth (the real KF94 clip, frames 166-180) leaves more than a strip: the finger's shade
on the cloth and the cloth its blur spreads round it, a finger's width of grey-lavender round the tip, are rebuilt
wholly where joined to the mask through the cloth's side of the line (``joined_cloth``); the shade blurred into the
finger's edge (darker than a mix of the two colours, off their line's hue) goes with the cloth a few pixels further
(``shade_rim_px``); and the finger's pixels blurred into the cloth, the two mixed, have the cloth's share of them
replaced by the rebuilt face (``frame + alpha * (rebuilt - cloth)``: :class:`Unmixed`, ``unmix``), where a blend
left them pale and translucent over the rebuilt cheek. The finger's shadow on the cloth beside it (its chroma short
of the finger's, darker than the mix and than the finger next to it) goes with the cloth (``shadow_end``: KF94
frames 166-179, a grey-lavender band under the finger). The pixels settled in front come back to the blend's caller:
the ear loops are not filled over them (a finger's highlights and nails taken as loop strokes).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["NotchMatte", "Unmixed", "settle_notch_edges"]


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
    #: ... and this many onto its pixels darker than the mix of the two colours their chroma places them at and off
    #: the line by more than ``shade_hue`` of the two colours' chroma distance (with ``joined_cloth``): the finger's
    #: shade on the cloth blurred into its edge, a dark lavender outline a few pixels wide round a moving fingertip
    #: (KF94 frames 166-175). A finger's edge blurred into a pale cloth is lighter; its own shaded side is darker but
    #: keeps its hue (on the line).
    shade_rim_px: int = 3
    shade_hue: float = 0.2
    #: A pixel whose chroma lies further from the line than this share of the two colours' chroma distance, or whose
    #: lightness lies below both colours' by more than this share of their distance (lightness weighted), is
    #: neither: its alpha is kept.
    off_line: float = 0.6
    #: The cloth's pixels (up to ``cloth_end`` on the line) joined to the mask through cloth's pixels in the band are
    #: rebuilt wholly wherever the feather reaches, not only within ``near`` of the mask: the finger's shade on the
    #: cloth and the cloth its blur spreads round it (a grey-lavender halo a finger's width round a moving fingertip,
    #: KF94 frames 166-175) were left as the frame's, a pale finger-shaped ghost in the rebuilt cheek (False: ``near``).
    joined_cloth: bool = True
    #: A finger moving over the cloth is blurred into it: its pixels are the finger's colour and the cloth's mixed, and
    #: where they were kept as the frame's (alpha 0 from ``front_start`` on) or blended with the rebuilt face the
    #: cloth's share stayed in them (a pale translucent finger over the rebuilt cheek). With ``unmix`` > 0, the pixels
    #: on the line from ``cloth_end`` up to ``unmix`` (the occluder's median at 1; its pixels spread round it, a
    #: finger's shaded side at 0.85-0.95) joined to the occluder have their cloth's share (1 - their place on the
    #: line) replaced by the rebuilt face (``frame + alpha * (rebuilt - cloth)``), the mask's own pixels among them
    #: too (the segmentation takes a blurred finger's rim as cloth). 0: the blend as above.
    unmix: float = 0.8
    #: ... the cloth's share taken out of a pixel rises over this much of the line past ``cloth_end`` (a shade on the
    #: cloth just past it is not carried onto the rebuilt skin as a grey step) ...
    unmix_ramp: float = 0.1
    #: ... and is faded out over this much of the line before ``unmix`` (no step where the finger's own pixels begin).
    unmix_fade: float = 0.2
    #: ... and only a pixel whose lightness goes with that mix: not darker than the mix its chroma places it at by more
    #: than ``unmix_dark`` of the two colours' Lab distance (lightness weighted as above; a finger's own shaded side
    #: keeps most of its chroma and is darker, no mix with a pale cloth), nor lighter by more than ``unmix_off``.
    unmix_off: float = 0.35
    unmix_dark: float = 0.1
    #: With ``joined_cloth``: a pixel on the line short of this place (the occluder's median at 1) and darker than the
    #: mix its chroma places it at by more than ``unmix_dark`` of the two colours' distance is the finger's shadow on
    #: the cloth, not the finger: it joins the cloth's side (rebuilt where joined to the mask). A finger's own shaded
    #: side keeps its chroma (near 1 on the line); a finger blurred into a pale cloth is lighter, no darker, than the
    #: mix. The shadow along a finger's lower edge on KF94's white mask (frames 166-179: t 0.45-0.8, 0.2-0.4 of the
    #: distance darker than the mix) stayed the frame's, a grey-lavender band with a dark outline (0: off).
    shadow_end: float = 0.85
    #: ... and darker than the finger's pixels within this many feather widths by more than ``unmix_dark`` of the
    #: distance (a dark finger's edge blurred into the cloth lies between them and is lighter than that finger).
    shadow_reach: float = 0.5


@dataclass(frozen=True)
class Unmixed:
    """Where the settled band's pixels are a blurred finger and the cloth mixed: the rebuilt face there is to be laid
    over the frame as ``frame + alpha * (rebuilt - cloth)`` (the cloth's share of the pixel replaced), i.e. the
    rebuilt pixel plus ``share * (frame - cloth)`` blended with the frame by the settled alpha."""

    #: The pixels (rows, columns of the settled box).
    ys: np.ndarray
    xs: np.ndarray
    #: (n,) float32: how much of the frame's difference from the cloth is added to the rebuilt pixel (1: all).
    share: np.ndarray
    #: (3,) float32: the cloth's colour (the frame's channels, RGB).
    cloth: np.ndarray
    #: (h, w) bool over the settled box: the pixels settled as in front of the rebuilt face (the occluder's side of
    #: the line, off the mask): what lies there is the frame's finger, no ear loop to fill.
    front: np.ndarray

    def apply(self, rebuilt: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """``rebuilt`` ((h, w, 3) uint8 over the settled box) with the frame's (``frame``, the same box) difference from
        the cloth added where a finger's blur mixed with it: a copy."""
        out = rebuilt.copy()
        if self.ys.size:
            diff = frame[self.ys, self.xs].astype(np.float32) - self.cloth
            added = out[self.ys, self.xs] + self.share[:, None] * diff + 0.5
            out[self.ys, self.xs] = np.clip(added, 0, 255).astype(np.uint8)
        return out


def settle_notch_edges(
    alpha: np.ndarray,
    plain: np.ndarray,
    mask8: np.ndarray,
    frame: np.ndarray,
    band: np.ndarray,
    notches: np.ndarray,
    width_px: float,
    options: NotchMatte | None = None,
) -> Unmixed | None:
    """Settle ``alpha`` (float32 (h, w), in place; never above ``plain``, the feather's alpha without the shield: the
    rebuilt face reaches no further than the feather does, but for the cloth joined to the mask, rebuilt wholly where
    the feather reaches) on ``band`` (float32 (h, w), > 0: the shield's band round the notches) by the colours of
    ``frame`` ((h, w, 3) uint8 RGB, the frame's pixels under ``alpha``): the cloth's colour is the median of
    ``mask8``'s full pixels (uint8, 255) in the band, the occluder's that of ``notches``' (uint8 {0, 1}) pixels off the
    mask; ``width_px``: the feather's width. See the module docstring. Returns where the rebuilt face is to have the
    frame's difference from the cloth added (:class:`Unmixed`; with ``NotchMatte.unmix``), None where the band was left
    as the shield made it."""
    o = options or NotchMatte()
    full = mask8 == 255
    zone = band > 0
    cloth_px = zone & full
    front_px = zone & (notches > 0) & (mask8 == 0)
    if np.count_nonzero(cloth_px) < 16 or np.count_nonzero(front_px) < max(o.min_front * width_px * width_px, 16.0):
        return None
    lab = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2Lab).astype(np.float32)
    lab[..., 0] *= np.float32(o.lightness_weight)
    cloth = np.median(lab[cloth_px], axis=0)
    front = np.median(lab[front_px], axis=0)
    axis = front - cloth
    chroma = axis.copy()
    chroma[0] = 0.0
    length2 = float(chroma @ chroma)
    if length2 < o.min_contrast * o.min_contrast:
        return None
    r = max(int(round(o.near * width_px)), 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    close = cv2.dilate((mask8 > 0).view(np.uint8), disc)
    # (every band pixel's place on the line; the mask's own full pixels are rebuilt whatever their colour, but for a
    # blurred finger's rim in them, below)
    zy, zx = np.nonzero(zone)
    rel = lab[zy, zx] - cloth
    t_all = rel @ (chroma / np.float32(length2))  # (the chroma alone places it: a shade on the cloth is cloth)
    off = rel[:, 1:] - t_all[:, None] * chroma[None, 1:]
    # (on the line: its chroma near it, and not darker than both ends by more than ``off_line`` of the two colours'
    # distance: hair, a dark gap between fingers is neither; a highlight on the cloth, lighter than both, is cloth)
    floor = min(float(cloth[0]), float(front[0])) - o.off_line * float(np.sqrt(float(axis @ axis)))
    on_all = (np.einsum("ij,ij->i", off, off) <= o.off_line * o.off_line * length2) & (lab[zy, zx, 0] >= floor)
    part = ~full[zy, zx]
    ys, xs, t, on_line = zy[part], zx[part], t_all[part], on_all[part]
    settled = np.clip((o.front_start - t) / np.float32(o.front_start - o.cloth_end), 0.0, 1.0).astype(np.float32)
    now = alpha[ys, xs]
    settled = np.minimum(settled, plain[ys, xs])
    # (raised next to the mask only; lowered wherever the band is)
    raised = close[ys, xs] > 0
    h, w = alpha.shape
    if o.joined_cloth:
        # (the cloth's side of the line joined to the mask through the cloth's side: the finger's shade and blur round
        # it, rebuilt wholly where the feather reaches)
        side = np.zeros((h, w), np.uint8)
        cloth_side = on_line & (t <= o.cloth_end)
        if o.shadow_end > o.cloth_end:
            cloth_side |= on_line & _shadow(lab, ys, xs, t, on_line, cloth, axis, width_px, o)
        side[ys[cloth_side], xs[cloth_side]] = 1
        joined = _joined(side, (mask8 > 0).view(np.uint8))
        if o.rim_px > 0:
            k = 2 * o.rim_px + 1
            close = close | cv2.dilate(joined, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        at = joined[ys, xs] > 0
        settled = np.where(at & (plain[ys, xs] > 0), np.float32(1.0), settled)
        raised |= at
    settled = np.where(raised, settled, np.minimum(settled, now))
    alpha[ys, xs] = np.where(on_line, settled, now)
    unmixed = None
    if o.unmix > o.cloth_end:
        # (a blurred finger's pixels, the cloth's share in them: on the line between ``cloth_end`` and ``unmix``, joined
        # to the occluder's pixels off the mask through such pixels, the mask's own among them)
        # (its lightness as the mix its chroma places it at would have: a finger's shaded side keeps most of its
        # chroma, and is darker)
        gap = rel[:, 0] - t_all * axis[0]
        spread = float(np.sqrt(float(axis @ axis)))
        mixed = on_all & (t_all > o.cloth_end) & (t_all < o.unmix)
        mixed &= (gap >= -o.unmix_dark * spread) & (gap <= o.unmix_off * spread)
        seed = np.zeros((h, w), np.uint8)
        seed[zy[mixed], zx[mixed]] = 1
        front_on = np.zeros((h, w), np.uint8)
        front_on[zy[on_all & (t_all > o.cloth_end)], zx[on_all & (t_all > o.cloth_end)]] = 1
        front_on &= front_px.view(np.uint8)
        blurred = _joined(seed | front_on, front_on) & seed
        at = blurred[zy, zx] > 0
        my, mx, mt = zy[at], zx[at], t_all[at]
        reach = (plain[my, mx] > 0) | full[my, mx]
        my, mx, mt = my[reach], mx[reach], mt[reach]
        # (the cloth's share of a mix at ``t`` along the line is 1 - t; faded out before ``unmix``, where a finger's
        # own paler or shaded pixels lie)
        fade = np.clip((o.unmix - mt) / np.float32(max(o.unmix_fade, 1e-6)), 0.0, 1.0)
        alpha[my, mx] = np.clip(1.0 - mt, 0.0, 1.0) * fade
        share = np.clip((mt - o.cloth_end) / np.float32(max(o.unmix_ramp, 1e-6)), 0.0, 1.0).astype(np.float32)
        rgb_cloth = np.median(frame[cloth_px].astype(np.float32), axis=0)
        unmixed = Unmixed(my, mx, share, rgb_cloth, (notches > 0) & (mask8 == 0))
    if o.rim_px > 0:
        # (the cloth's dark rim round the finger, its shade and the finger's chroma spread onto it, goes with the
        # cloth: the cloth's alpha grown that far onto the occluder's edge, next to the mask only; further onto the
        # pixels darker than the mix their chroma gives, the shade blurred into the finger's edge)
        k = 2 * o.rim_px + 1
        grown = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        on = on_line & (close[ys, xs] > 0)
        if o.joined_cloth and o.shade_rim_px > o.rim_px:
            k = 2 * o.shade_rim_px + 1
            wide = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
            shade = np.zeros((h, w), bool)
            dark = (lab[ys, xs, 0] - cloth[0]) - t * axis[0] < -o.unmix_dark * float(np.sqrt(float(axis @ axis)))
            dark &= np.einsum("ij,ij->i", off[part], off[part]) > o.shade_hue * o.shade_hue * length2
            shade[ys[dark], xs[dark]] = True
            grown = np.where(shade, wide, grown)
        cap = plain[ys[on], xs[on]]
        if o.joined_cloth:  # (the rim goes with the cloth, rebuilt wholly where the feather reaches)
            cap = np.where(cap > 0, np.float32(1.0), cap)
        rim = np.maximum(np.minimum(grown[ys[on], xs[on]], cap), alpha[ys[on], xs[on]])
        if unmixed is not None and unmixed.ys.size:
            # (a rim pixel the cloth's alpha grew onto is the cloth's: rebuilt as it is, its shade not carried over)
            lifted = np.zeros((h, w), bool)
            lifted[ys[on], xs[on]] = rim > alpha[ys[on], xs[on]]
            keep = ~lifted[unmixed.ys, unmixed.xs]
            unmixed = Unmixed(unmixed.ys[keep], unmixed.xs[keep], unmixed.share[keep], unmixed.cloth, unmixed.front)
        alpha[ys[on], xs[on]] = rim
    if unmixed is None:
        unmixed = Unmixed(np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.float32),
                          np.median(frame[cloth_px].astype(np.float32), axis=0), (notches > 0) & (mask8 == 0))
    return unmixed


def _shadow(
    lab: np.ndarray, ys: np.ndarray, xs: np.ndarray, t: np.ndarray, on_line: np.ndarray, cloth: np.ndarray,
    axis: np.ndarray, width_px: float, o: NotchMatte,
) -> np.ndarray:
    """bool per pixel ``ys, xs`` (its place ``t`` on the line, ``on_line``): the finger's shadow on the cloth. Short
    of the finger's chroma (``t`` under ``shadow_end``), darker than the mix its chroma places it at, and darker than
    the finger beside it (the mean lightness of the finger's pixels, ``t`` past ``front_start``, within
    ``shadow_reach`` feather widths) by more than ``unmix_dark`` of the two colours' distance: a shadow is darker
    than the cloth and the finger on either side of it; a dark finger's edge blurred into the cloth is lighter than
    that finger."""
    spread = float(np.sqrt(float(axis @ axis)))
    light = lab[ys, xs, 0]
    shadow = on_line & (t > o.cloth_end) & (t < o.shadow_end)
    shadow &= (light - cloth[0]) - t * axis[0] < -o.unmix_dark * spread
    if not shadow.any():
        return shadow
    h, w = lab.shape[:2]
    finger = np.zeros((h, w), np.float32)
    fy, fx = ys[on_line & (t >= o.front_start)], xs[on_line & (t >= o.front_start)]
    finger[fy, fx] = 1.0
    lit = np.zeros((h, w), np.float32)
    lit[fy, fx] = lab[fy, fx, 0]
    k = 2 * max(int(round(o.shadow_reach * width_px)), 1) + 1
    count = cv2.boxFilter(finger, -1, (k, k), normalize=False)[ys, xs]
    total = cv2.boxFilter(lit, -1, (k, k), normalize=False)[ys, xs]
    beside = total / np.maximum(count, np.float32(1.0))
    return shadow & (count > 0) & (light < beside - o.unmix_dark * spread)


def _joined(where: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """uint8 {0, 1}: the 8-connected pieces of ``where | seeds`` (uint8 {0, 1}) that hold a pixel of ``seeds``, less
    the seeds' own pixels that are not in ``where``."""
    n, labels = cv2.connectedComponents(where | seeds, connectivity=8)
    keep = np.zeros(n, np.uint8)
    keep[labels[seeds > 0]] = 1
    keep[0] = 0
    return np.take(keep, labels) & where
