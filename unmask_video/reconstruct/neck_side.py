"""The pasted neck's side faded into the frame's neck beside it, so no vertical step is left.

Below the jaw the warp pastes the reference's neck as far as its matte reaches, a straight side down the neck, over
the hole and the blend's band past it. The colour match brings the paste to the face's ring (the skin beside the
nose, under the eyes), so where the frame's neck is lit differently from its face (the white-mask woman's lit neck
under a shaded chin, with a stand-in whose neck is narrower) the paste's side met her own lit neck beside it, in the
band below the mask, in a hard vertical edge: a step of 50-70 levels.

Helper neckedge's flat offset from the frame's neck below the mask, spread up the whole pasted neck, removed the
edge but lost 0.5-1.2 dB on the quality benchmark's lp_d0, whose chin shadows the neck under its drawn mask and not
below it. Here only the paste's side changes: within :attr:`NeckSideOptions.width` of the frame's neck beside it
(along the rows, across the neck), the paste takes the difference (Lab) between that neck's local colour and its
own, in full at the edge and fading to nothing inward; the pasted neck's interior is left as the colour match made
it. The neck beside is read only in the blend's band straight below the mask (not past its side: fingers, hair),
in the neck's column, where its chroma is the paste's and it is not darker than the paste (not a collar, a hood's
lining or its shade). A paste that covers the band beside it (a reference's neck as wide as the frame's, as on lp_d0)
has nothing beside it and is left alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from unmask_video.below_jaw import neck_region
from unmask_video.blend import mask_bbox
from unmask_video.face_axes import face_axes, neck_column
from unmask_video.face_units import face_size_px
from unmask_video.mask_pixels import pixels_at
from unmask_video.reconstruct.fill_seam import pieces

__all__ = ["NeckSideOptions", "row_nearest", "below_hole", "side_offset", "fade_neck_side"]


@dataclass(frozen=True)
class NeckSideOptions:
    """Lengths as fractions of the face's size (:func:`~unmask_video.face_units.face_size_px`)."""

    #: How far into the paste, along the rows, its side fades into the skin beside it. 0: off.
    width: float = 0.15
    #: The Gaussian of the local colours on either side of the edge (the paste's within :attr:`width` of it, the
    #: skin's beside it within as much).
    sigma: float = 0.03
    #: The region below the jaw that may change: the neck down to this many face heights below the jaw line
    #: (:func:`~unmask_video.below_jaw.neck_region`, as the warp's ``neck_reach``).
    neck_reach: float = 0.4
    #: A pixel beside the paste is read only where its chroma (Lab a, b) lies within this many units of the paste's
    #: local colour: the neck's skin, not a collar, a grey shirt, a hood's lining or the wall.
    chroma: float = 12.0
    #: A pixel beside the paste is read only where it is at most this many lightness units (Lab L, 8-bit) darker than
    #: the paste's local colour: a shade beside the neck (a hood's, its own side turning away) is an edge the frame
    #: has too. The grey-mask man's hood's shade beside his jaw (frames 186-199) passed the chroma test and a skin
    #: model and was drawn into his neck as a grey patch.
    darker: float = 20.0
    #: A pixel of the band beside the paste is read only where the hole's nearest pixel lies this nearly straight up
    #: the face from it (the cosine of the angle from the line down the face): the neck seen under the mask's lower
    #: edge, not what lies past its side (the KF94 woman's fingers and hair at the mask's lower corners, frames
    #: 166-174, all skin-coloured, took a pale patch with a hard edge at -1; there the band beside the paste faces the
    #: hole at 0.64-0.74 of straight up (median), the white-mask woman's neck below it at 0.97).
    below: float = 0.9
    #: At least this many pixels beside the paste read, or nothing is changed.
    least: int = 20


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab).astype(np.float32)


def row_nearest(where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance, column): for each pixel, the distance along its row to the nearest ``where`` pixel ((h, w) bool) of
    that row ((h, w) float32, inf in rows without one) and that pixel's column ((h, w) int64, -1 there)."""
    w = where.shape[1]
    x = np.arange(w)
    left = np.maximum.accumulate(np.where(where, x, -1), axis=1)
    right = np.minimum.accumulate(np.where(where, x, 2 * w)[:, ::-1], axis=1)[:, ::-1]
    to_left = np.where(left >= 0, x - left, np.inf).astype(np.float32)
    to_right = np.where(right < 2 * w, right - x, np.inf).astype(np.float32)
    column = np.where(to_left <= to_right, left, np.where(right < 2 * w, right, -1))
    return np.minimum(to_left, to_right), column


def _near_along_rows(where: np.ndarray, width: float) -> np.ndarray:
    """(h, w) bool: the pixels less than ``width`` px along their row from a ``where`` pixel ((h, w) bool): the same
    as ``row_nearest(where)[0] < width`` (whole pixels in float32: at most ``ceil(width) - 1``, the bound taken in
    float32 as numpy compares them), by a dilation along the rows."""
    reach = int(np.ceil(np.float32(width))) - 1
    if reach < 0:
        return np.zeros_like(where)
    kernel = np.ones((1, 2 * reach + 1), np.uint8)
    return cv2.dilate(np.ascontiguousarray(where).view(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT) > 0


def _blur_at(
    values: Callable[[tuple[slice, slice]], np.ndarray], support: np.ndarray, sigma: float, at: np.ndarray,
    channels: int,
) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """(box, blurred): OpenCV's Gaussian blur of ``sigma`` px (zero borders) of an (h, w, ``channels``) float32 image
    that is zero off the ``support`` pixels ((h, w) bool), on the bounding box of the ``at`` pixels ((h, w) bool)
    only: the same numbers, bit for bit. ``values(box)``: the image on a box (zero off ``support`` there). None: no
    ``at`` pixels.

    OpenCV's float Gaussian is its separable filter: a pass along the rows, then one down the columns, of the same
    kernel (round(8 sigma + 1) taps, odd). The rows' pass is worked on the rows within the kernel's reach of the box
    that hold ``support`` pixels (the others' are zero), on the columns that reach the box (clipped where nothing is
    supported), and kept on the box's columns; the columns' pass on those alone. A pixel's sums are taken in the same
    order whatever the array's size, and the zeros the borders add are the zeros the image holds there."""
    h, w = at.shape
    box = mask_bbox(at, 0, (h, w))
    if box is None:
        return None
    (r0, r1), (c0, c1) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    taps = int(round(sigma * 8 + 1)) | 1
    reach = taps // 2
    held = mask_bbox(support, 0, (h, w))
    if held is None:
        return box, np.zeros((r1 - r0, c1 - c0, channels), np.float32)
    (s0, s1), (t0, t1) = (held[0].start, held[0].stop), (held[1].start, held[1].stop)
    rows = slice(max(min(s0, r0), r0 - reach, 0), min(max(s1, r1), r1 + reach, h))
    cols = slice(max(min(t0, c0), c0 - reach, 0), min(max(t1, c1), c1 + reach, w))
    kernel = cv2.getGaussianKernel(taps, sigma, cv2.CV_32F)
    one = np.ones((1, 1), np.float32)
    image = np.ascontiguousarray(values((rows, cols)))
    along = cv2.sepFilter2D(image, -1, kernel, one, borderType=cv2.BORDER_CONSTANT)
    down = cv2.sepFilter2D(np.ascontiguousarray(along[:, c0 - cols.start : c1 - cols.start]), -1, one, kernel,
                           borderType=cv2.BORDER_CONSTANT)  # fmt: skip
    return box, down[r0 - rows.start : r1 - rows.start].reshape(r1 - r0, c1 - c0, channels)


def _local_mean(
    lab: np.ndarray, where: np.ndarray, sigma: float, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, mass): the normalised Gaussian average of ``lab`` over ``where`` ((h, w, 3) float32) and the blurred
    weight ((h, w) float32), on the bounding box of the ``at`` pixels ((h, w) bool: :func:`_blur_at`); zero
    elsewhere."""
    h, w = where.shape

    def weighted(box: tuple[slice, slice]) -> np.ndarray:  # (the weighted colour and the weight: one blur)
        inside = where[box]
        stack = np.empty(inside.shape + (4,), np.float32)
        np.multiply(lab[box], inside[..., None], out=stack[..., :3])  # (Lab of 8-bit pixels: never below 0)
        stack[..., 3] = inside
        return stack

    mean, mass = np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    found = _blur_at(weighted, where, sigma, at, 4)
    if found is not None:
        box, blurred = found
        mass[box] = blurred[..., 3]
        mean[box] = blurred[..., :3] / np.maximum(blurred[..., 3], np.float32(1e-6))[..., None]
    return mean, mass


def below_hole(dist: np.ndarray, down: np.ndarray) -> np.ndarray:
    """(h, w) float32: for each pixel off the hole (``dist``: (h, w) float32, each pixel's distance to it, 0 on it),
    the cosine of the angle between the unit vector ``down`` the face ((2,) x, y) and the way away from the hole (the
    distance's gradient: 1 straight below the hole); 0 where the distance is flat (on the hole)."""
    across, along = np.gradient(dist, axis=(1, 0))
    slope = np.hypot(across, along)
    cosine = (across * np.float32(down[0]) + along * np.float32(down[1])) / np.maximum(slope, np.float32(1e-6))
    return np.where(slope > 1e-3, cosine, np.float32(0.0)).astype(np.float32)


def side_offset(
    lab: np.ndarray, pasted: np.ndarray, beside: np.ndarray, to_beside: np.ndarray, width: float, sigma: float,
    options: NeckSideOptions,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(offset, share): the local colour of the skin ``beside`` ((h, w) bool) less the ``pasted`` pixels' ((h, w)
    bool) near their common edge, both read within ``width`` px of it along the rows, in the Lab of ``lab`` ((h, w, 3)
    float32), Gaussians of ``sigma`` px; ``share``: the part of the pixels beside that agree in chroma
    (:attr:`NeckSideOptions.chroma`, :attr:`NeckSideOptions.darker`), (h, w) float32 in [0, 1]. None: too few agree.
    ``to_beside``: each pixel's distance along its row to the nearest pixel beside (:func:`row_nearest`). Both are
    worked on the box of the pixels ``beside``, the only ones the fade reads them at (zero off it)."""
    near_beside = beside & _near_along_rows(pasted, width)
    if np.count_nonzero(near_beside) < options.least:
        return None  # (those that agree are among these)
    paste_mean, paste_mass = _local_mean(lab, pasted & (to_beside < width), sigma, beside)
    agree = _agree(lab, paste_mean, paste_mass, near_beside, options)
    if np.count_nonzero(agree) < options.least:
        return None
    beside_mean, agree_mass = _local_mean(lab, agree, sigma, beside)
    near_mass = np.zeros(beside.shape, np.float32)
    found = _blur_at(lambda box: near_beside[box].astype(np.float32), near_beside, sigma, beside, 1)
    if found is not None:
        near_mass[found[0]] = found[1][..., 0]
    share = np.clip(agree_mass / np.maximum(near_mass, np.float32(1e-6)), 0.0, 1.0)
    return beside_mean - paste_mean, np.where(agree_mass > 1e-3, share, np.float32(0.0))


def _agree(
    lab: np.ndarray, paste_mean: np.ndarray, paste_mass: np.ndarray, near_beside: np.ndarray, options: NeckSideOptions,
) -> np.ndarray:
    """(h, w) bool: the pixels ``near_beside`` the paste ((h, w) bool) that agree with its local colour
    (``paste_mean``, (h, w, 3) float32 Lab, read where ``paste_mass`` is not nil) in chroma and lightness (each
    tested on those pixels only)."""
    ys, xs = np.nonzero(near_beside)
    colour, mean = pixels_at(lab, ys, xs), pixels_at(paste_mean, ys, xs)
    chroma = np.abs(colour[:, 1:] - mean[:, 1:]).max(axis=-1)
    ok = (paste_mass[ys, xs] > 1e-3) & (chroma <= options.chroma) & (colour[:, 0] >= mean[:, 0] - options.darker)
    agree = np.zeros_like(near_beside)
    agree[ys[ok], xs[ok]] = True
    return agree


def fade_neck_side(
    out: np.ndarray, paste: np.ndarray, dist: np.ndarray, band: float, landmarks: np.ndarray,
    options: NeckSideOptions | None = None,
) -> None:
    """Fade the side of the pasted neck (``paste`` ((h, w) bool) below the jaw) in ``out`` ((h, w, 3) uint8 RGB,
    changed in place) into the skin beside it (:func:`side_offset`): in full at the edge, smoothly to nothing
    :attr:`NeckSideOptions.width` inside it. The skin beside is the frame's, read in the blend's band, within ``band``
    px of the hole (``dist``: (h, w) float32, each pixel's distance to it, 0 on it) and below it
    (:attr:`NeckSideOptions.below`), where the warp's matte ended short of the frame's neck: a paste that covers the
    band (the reference's neck as wide as the frame's) is left alone, whatever lies past it (a jacket's collar).
    ``landmarks``: the frame's, in the same pixels."""
    options = options or NeckSideOptions()
    if options.width <= 0:
        return
    unpasted = (dist > 0) & (dist <= band) & ~paste
    if np.count_nonzero(unpasted) < options.least:
        return  # (the paste covers the band: nothing beside it to meet)
    # (below the jaw and in the neck's column: the jaw's sides beside the cheeks keep their own edges)
    neck = (neck_region(paste.shape, landmarks, options.neck_reach) >= 128) & (neck_column(paste.shape, landmarks) > 0)
    beside = neck & unpasted
    if np.count_nonzero(beside) < options.least:
        return
    size = face_size_px(landmarks)
    width, sigma = max(options.width * size, 1.0), max(options.sigma * size, 1.0)
    down, reach = face_axes(landmarks)[0], int(np.ceil(width + 3 * sigma)) + 1
    # (each side of the neck on its own box: the box around both holds the whole neck between them)
    boxes = pieces(beside, reach)
    for box in boxes if len(boxes) > 1 else [mask_bbox(beside, reach, beside.shape)]:
        under = _beside_under(beside[box], dist[box], down, options.below)
        _fade_box(out[box], neck[box] & paste[box], under, width, sigma, options)


def _beside_under(beside: np.ndarray, dist: np.ndarray, down: np.ndarray, below: float) -> np.ndarray:
    """``beside`` ((h, w) bool) where the hole lies :func:`below_hole` straight above it (at least ``below``), the
    distance's gradient taken on the box around ``beside`` only (a pixel's margin: the same values as on the whole
    ``dist``, whose edges are kept where the box meets them)."""
    found = beside.copy()
    box = mask_bbox(beside, 1, beside.shape)
    if box is not None:
        found[box] &= below_hole(dist[box], down) >= below
    return found


def _reach_box(beside: np.ndarray, width: float, sigma: float) -> tuple[slice, slice]:
    """The box that holds all :func:`_fade_box` reads and changes: the pixels ``beside`` ((h, w) bool, not empty),
    the paste within ``width`` (and the fade's pixel) of them along the rows, the change's blur down the rows."""
    rows = np.flatnonzero(beside.any(axis=1))
    cols = np.flatnonzero(beside.any(axis=0))
    across, along = int(np.ceil(width)) + 1, int(np.ceil(3 * sigma))
    h, w = beside.shape
    return (slice(max(int(rows[0]) - along, 0), min(int(rows[-1]) + 1 + along, h)),
            slice(max(int(cols[0]) - across, 0), min(int(cols[-1]) + 1 + across, w)))  # fmt: skip


def _fade_box(
    out: np.ndarray, pasted: np.ndarray, beside: np.ndarray, width: float, sigma: float, options: NeckSideOptions,
) -> None:
    """:func:`fade_neck_side` on one box: ``out`` (its view, changed in place), the ``pasted`` neck, the band's pixels
    ``beside`` it in the neck under the hole ((h, w) bool each); ``width``, ``sigma`` in pixels. The work is done on
    :func:`_reach_box` only: zero outside it, the Gaussians (zero borders) give the same values inside it."""
    if np.count_nonzero(beside) < options.least or not pasted.any():
        return
    box = _reach_box(beside, width, sigma)
    out, pasted, beside = out[box], pasted[box], beside[box]
    if not pasted.any():
        return
    lab = _lab(out)
    distance, column = row_nearest(beside)
    found = side_offset(lab, pasted, beside, distance, width, sigma, options)
    if found is None:
        return
    offset, share = found
    # (each pasted pixel takes the difference read at its row's nearest pixel beside, faded with the distance to it;
    # then blurred down the rows, so that where the pixels beside end the paste's change fades out rather than stops)
    t = np.clip(1.0 - (distance - 1.0) / np.float32(width), 0.0, 1.0)  # (1 at the edge's pixels)
    ys, xs = np.nonzero(pasted & (t > 0))
    if not len(ys):
        return
    # (worked on the columns of the pixels that change only: the blur runs down the columns, each on its own; the
    # others' change is nil)
    c0 = int(xs.min())
    cols = slice(c0, int(xs.max()) + 1)
    near = column[ys, xs]
    change = np.zeros((lab.shape[0], cols.stop - c0, 3), np.float32)
    change[ys, xs - c0] = offset[ys, near] * (t[ys, xs] * t[ys, xs] * (3.0 - 2.0 * t[ys, xs]) * share[ys, near])[:, None]
    down = cv2.getGaussianKernel(2 * int(np.ceil(3 * sigma)) + 1, sigma, cv2.CV_32F)
    change = cv2.sepFilter2D(change, -1, np.ones((1, 1), np.float32), down, borderType=cv2.BORDER_CONSTANT)
    at = pasted[:, cols] & np.any(np.abs(change) > 0.05, axis=-1)
    lab = lab[:, cols]
    lab[at] += change[at]
    rgb = cv2.cvtColor(np.rint(np.clip(lab, 0, 255)).astype(np.uint8), cv2.COLOR_Lab2RGB)
    out[:, cols][at] = rgb[at]
