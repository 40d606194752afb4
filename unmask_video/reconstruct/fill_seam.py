"""Where the warped reference meets the composite's fill: a soft edge, not a step.

The warp carries only the reference's own face and neck skin (:mod:`unmask_video.reference_matte`); beside it the
composite fills the hole from the frame's surroundings. The two meet along the edge of what the warp covers, which
follows the reference's matte (a neck's side, hair along a cheek), not any edge the frame shows: left as it is, the
warped skin stops in a hard, pixel-ragged step against the fill, and the last pixels sampled at the matte's edge
carry a thin dark or light rim of what lay beyond it. :func:`feather_into_fill` continues the warped skin's colour
outwards and fades it into the fill over a short distance instead; the warped pixels themselves change only along
their edge (the rim).
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.blend import mask_bbox
from unmask_video.mask_pixels import pixels_at
from unmask_video.reconstruct.scratch import scratch

__all__ = ["blur_around", "distance_to", "feather_into_fill", "rows_cols", "weighted_stack"]

#: The warped pixels this far inside their edge, as a fraction of the fade's width, are faded into the skin's local
#: colour (the rim sampled across the matte's edge); the fade into the fill runs outwards over the whole width.
_INNER = 0.35
#: A warped pixel next to the fill (within this many pixels of it: the first ring, diagonals too) whose colour strays
#: from the skin's local colour by more than :data:`_RIM_ASTRAY` (levels, the channels' mean; over a ramp of
#: :data:`_RIM_RAMP` levels centred there) takes that colour whole, its fade counted from :data:`_RIM_PX` in: the warp
#: samples the reference across its matte's edge (dark hair beside a stand-in's cheek), and on a small face, where the
#: fade inside is about a pixel and a half wide, the first warped pixel kept three quarters of that rim (the white-mask
#: woman with her stand-in: a dark, pixel-stepped line along her cheek's side against the wall). A first pixel near the
#: local colour (a reference of the person herself: her own skin to the edge) fades as before (taking every first pixel
#: whole cost the quality benchmark up to 0.16 dB).
_RIM_PX = 1.0
_RIM_FIRST = 1.5
_RIM_ASTRAY = 20.0
_RIM_RAMP = 10.0


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)  # no kink where the fade starts or ends


def _wide_blur(
    image: np.ndarray, sigma: float, least: float = 2.75, name: str | None = None, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """A Gaussian blur of ``sigma`` >= 4 px computed at 1/f of the size (f = 2, 4 or 8: :func:`_blur_factor`, the
    blur there at least ``least`` px) and scaled back: the wide average is smooth, so a sixteenth of the pixels and a
    quarter of the kernel carry it about as well as half the size did. (The border reflected about the image's edge
    there, not about its last cell's centre: that is where OpenCV's default reflects at full size, give or take half a
    pixel; about the last cell's centre, a wide blur near the border lost up to a tenth of its weight at 1/8 of the
    size.) ``name``: the result and its temporaries go into scratch buffers of that name (:func:`scratch`; valid until
    the next call with it); None: fresh arrays. ``shape``: the (h, w) of the image's pixels when ``image`` is them
    padded with zeros to whole cells of 8 px (:func:`weighted_stack`'s ``cell``): the reduced size is then the padded
    image's cells, each f x f pixels (OpenCV's area resize by a whole factor, its fast path), and the result the padded
    image's size (at full size, the blur of the (h, w) pixels alone, as without padding); read it at the pixels."""
    h, w = image.shape[:2] if shape is None else shape
    f = _blur_factor(sigma, least)

    def buffer(suffix: str, shape: tuple[int, ...]) -> np.ndarray | None:
        return None if name is None else scratch(f"{name}{suffix}", shape, image.dtype.type)

    if f == 1 or min(h, w) < 4 * f:
        pixels = image[:h, :w]
        return cv2.GaussianBlur(pixels, (0, 0), sigma, dst=buffer("", pixels.shape))
    ph, pw = image.shape[:2]
    whole = ph % f == 0 and pw % f == 0 and shape is not None
    if whole:
        h, w = ph, pw
    size = (w // f, h // f) if whole else (-(-w // f), -(-h // f))
    cells = (size[1], size[0]) + image.shape[2:]
    small = cv2.resize(image, size, dst=buffer(".small", cells), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / f, dst=buffer(".blurred", cells), borderType=cv2.BORDER_REFLECT)
    return cv2.resize(blurred, (w, h), dst=buffer("", (h, w) + image.shape[2:]), interpolation=cv2.INTER_LINEAR)


def _wide_blur_at(
    stack: np.ndarray, sigma: float, shape: tuple[int, int], ys: np.ndarray, xs: np.ndarray, name: str,
    least: float = 2.75,
) -> np.ndarray:
    """(N, c) float32: :func:`_wide_blur` of the (ph, pw, c) ``stack`` (its (h, w) ``shape`` of pixels padded with
    zeros to whole cells of 8 px, :func:`weighted_stack`), ``sigma``, ``least`` as there, read at the pixels ``ys``,
    ``xs``: the same numbers, worked only on the boxes around groups of those pixels' columns (the fill's two sides
    apart) that hold what they read. A box starts and ends on whole cells (or at the stack's edges) and reaches the
    reduced Gaussian's kernel and a few cells more past the pixels, so its area resize's cells, their blur and the
    bilinear read there are the whole stack's (the same sums in the same order, the same weights). Temporaries in
    scratch buffers of ``name`` (:func:`scratch`)."""
    f = _blur_factor(sigma, least)
    h, w = shape
    ph, pw = stack.shape[:2]
    if f == 1 or min(h, w) < 4 * f or ph % f or pw % f:
        return pixels_at(_wide_blur(stack, sigma, least, name=name, shape=shape), ys, xs)
    # (OpenCV's float Gaussian at the reduced size: round(8 sigma / f + 1) taps, odd; then one cell each way for the
    # bilinear read, one for the resize's edge, one spare)
    margin = ((int(round(sigma / f * 8 + 1)) | 1) // 2 + 3) * f

    def span(low: int, high: int, size: int) -> tuple[int, int]:
        start, stop = low - margin, high + 1 + margin
        return (0 if start <= 0 else start // f * f), (size if stop >= size else -(-stop // f) * f)

    columns = np.flatnonzero(np.bincount(xs))  # (the pixels' columns, in order)
    groups = []
    for run in np.split(columns, np.flatnonzero(np.diff(columns) > 2 * margin) + 1):
        member = (xs >= run[0]) & (xs <= run[-1])
        rows = ys[member]
        groups.append((member, span(int(rows.min()), int(rows.max()), ph), span(int(run[0]), int(run[-1]), pw)))
    if sum((r1 - r0) * (c1 - c0) for _, (r0, r1), (c0, c1) in groups) > 0.7 * ph * pw:
        # (boxes about as big as the stack: the whole of it, without the boxes' overhead)
        return pixels_at(_wide_blur(stack, sigma, least, name=name, shape=shape), ys, xs)
    out = np.empty((len(ys), stack.shape[2]), np.float32)
    for member, (r0, r1), (c0, c1) in groups:
        cells = ((r1 - r0) // f, (c1 - c0) // f, stack.shape[2])
        small = cv2.resize(stack[r0:r1, c0:c1], cells[1::-1], dst=scratch(f"{name}.small", cells),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        blurred = cv2.GaussianBlur(small, (0, 0), sigma / f, dst=scratch(f"{name}.blurred", cells),
                                   borderType=cv2.BORDER_REFLECT)  # fmt: skip
        up = cv2.resize(blurred, (c1 - c0, r1 - r0), dst=scratch(name, (r1 - r0, c1 - c0, stack.shape[2])),
                        interpolation=cv2.INTER_LINEAR)  # fmt: skip
        out[member] = pixels_at(up, ys[member] - r0, xs[member] - c0)
    return out


def _blur_factor(sigma: float, least: float = 2.75) -> int:
    """The size factor :func:`_wide_blur` works at for a blur of ``sigma`` px: 1 (full size) below 4 px, else the
    largest of 2, 4 and 8 that leaves at least ``least`` px at the reduced size (2 where none does). With 2.75 a band's
    blurred weight stays within 3 % of its peak of the full-size blur's, its colour within a fifth of a level on
    average (tests/test_fill_seam.py)."""
    if sigma < 4.0:
        return 1
    return next((f for f in (8, 4) if sigma / f >= least), 2)


def feather_into_fill(
    out: np.ndarray, filled: np.ndarray, covered: np.ndarray, width: float, inner: float = _INNER
) -> None:
    """Soften where the ``covered`` pixels of ``out`` ((h, w, 3) uint8, changed in place; (h, w) bool: the warped
    reference) meet the ``filled`` ones ((h, w) bool: the fill, already in ``out``).

    The warped skin's local colour (a normalised Gaussian average of the covered pixels near the edge, rim left out)
    is continued into the filled pixels and fades into the fill over ``width`` pixels from the edge; the covered
    pixels within ``width`` * ``inner`` (a fraction; :data:`_INNER` by default) of the edge fade into that local colour
    (their rim holds what lay past the reference's matte), a first pixel far from it taken whole (:data:`_RIM_PX`)."""
    if width <= 0 or not filled.any() or not covered.any():
        return
    boxes = pieces(filled, _reach(width, inner))
    if len(boxes) == 1:  # (one side only: the whole box, its arrays contiguous)
        _feather_piece(out, filled, covered, width, inner)
        return
    for rows, cols in boxes:
        _feather_piece(out[rows, cols], filled[rows, cols], covered[rows, cols], width, inner)


def _reach(width: float, inner: float = _INNER) -> int:
    """How far from the filled pixels :func:`_feather_piece` reads, in pixels, for a fade of ``width`` (``inner`` as
    there): the changed pixels lie within ``width`` of them, the skin's colour they take is read up to ``inner +
    width`` further in, with the near Gaussian's radius (4 sigma) or the wide one's (4 x 4 sigma)."""
    inner = max(inner * width, 1.0)
    return int(np.ceil(inner + width + 16.0 * max(0.5 * inner, 1.0))) + 2


def pieces(filled: np.ndarray, reach: int) -> list[tuple[slice, slice]]:
    """Boxes (rows, columns) that hold the ``filled`` pixels and everything within ``reach`` of them, one per group of
    columns with filled pixels less than ``2 * reach`` apart: the fill lies on both sides of the jaw and neck, and the
    box around both holds the whole face between them, which nothing here reads; one group: the whole box. (Boxes
    start on multiples of 8 pixels, so that the wide blur's reduced cells are the whole box's.)"""
    h, w = filled.shape
    cols = np.flatnonzero(filled.any(axis=0))
    cuts = np.flatnonzero(np.diff(cols) > 2 * reach)
    if not len(cuts):
        return [(slice(0, h), slice(0, w))]  # (one group: the whole box, as it is)
    boxes = []
    for group in np.split(cols, cuts + 1):
        c0, c1 = int(group[0]), int(group[-1]) + 1
        rows = np.flatnonzero(filled[:, c0:c1].any(axis=1))
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        rows_box = slice(max(r0 - reach, 0) & ~7, min(r1 + reach, h))
        boxes.append((rows_box, slice(max(c0 - reach, 0) & ~7, min(c1 + reach, w))))
    return boxes


def _feather_piece(
    out: np.ndarray, filled: np.ndarray, covered: np.ndarray, width: float, inner: float = _INNER
) -> None:
    """:func:`feather_into_fill` on one box of the fill and what it reads."""
    if not covered.any():
        return
    inner = max(inner * width, 1.0)
    # (each distance only where it is compared: the filled pixels' box grown by the distance it is tested below)
    to_filled = _distance_near(filled, filled, max(inner + width, _RIM_FIRST), "fill_seam.to_filled")
    to_covered = _distance_near(covered, filled, width, "fill_seam.to_covered")
    # (the first ring's pixels are faded however deep the fade: a rim astray is taken whole, below)
    inside = covered & (to_filled < max(inner, _RIM_FIRST))
    outside = filled & (to_covered < width)
    if not (inside.any() or outside.any()):
        return
    # The skin's local colour near the edge, from the covered pixels past the faded ones (not the rim's shade):
    # the covered colour and its weight blurred as one 4-channel image, read only where a pixel changes.
    source = np.ascontiguousarray(covered & (to_filled >= inner) & (to_filled < inner + width)).view(np.uint8)
    # (padded to whole cells of 8 px, the largest reduction :func:`_wide_blur` takes: its area resizes' fast path)
    stack = weighted_stack(out, source, "fill_seam", 8)
    shape = source.shape
    sigma = max(0.5 * inner, 1.0)
    changed = inside | outside
    # (at a reduced size when wide: a wide rim, as outside_fill.py fades, costs no more; at full size only around the
    # pixels that change, the only ones read)
    # Both averages read once, at the pixels that change (inside and outside, in raster order), and both written in
    # one pass: the fade into the local colour inside the edge, out of it outside.
    at = np.flatnonzero(changed)
    ys, xs = rows_cols(at, changed.shape[1])
    if _blur_factor(sigma) == 1:
        near = blur_around(stack[: shape[0], : shape[1]], sigma, changed, cv2.BORDER_DEFAULT, "fill_seam.near")
        n = pixels_at(near, ys, xs)
    else:  # (on the boxes around each side's changed pixels only)
        n = _wide_blur_at(stack, sigma, shape, ys, xs, "fill_seam.near")
    # (the wider average decides only where the nearer has nothing, and is smooth: coarser cells than the near one's)
    f = pixels_at(_wide_blur(stack, 4 * sigma, least=1.75, name="fill_seam.far", shape=shape), ys, xs)
    k = np.float32(1e-2)
    total = n[:, 3] + k * f[:, 3]
    known = (total > 1e-4)[:, None]
    local = (n[:, :3] + k * f[:, :3]) / np.maximum(total, 1e-6)[:, None]
    # (by row and column: ``out`` is mostly a view into a larger region, whose boolean index costs several times more)
    cur = pixels_at(out, ys, xs)
    depth = to_filled.reshape(-1)[at]
    # (the first ring's pixels far from the skin's local colour: the rim sampled across the matte's edge)
    # (by how far it strays, from none at _RIM_ASTRAY - _RIM_RAMP / 2 to whole at + _RIM_RAMP / 2: no threshold for a
    # pixel's colour to flip across from frame to frame)
    stray = np.abs(cur - local).mean(axis=1)
    share = np.clip((stray - (_RIM_ASTRAY - 0.5 * _RIM_RAMP)) / _RIM_RAMP, 0.0, 1.0)
    depth = np.where(depth <= _RIM_FIRST, depth - _RIM_PX * share, depth)
    keep = np.where(inside.reshape(-1)[at], _smoothstep(depth / inner),
                    1.0 - _smoothstep(1.0 - to_covered.reshape(-1)[at] / width))[:, None]  # fmt: skip
    out[ys, xs] = np.where(known, np.clip(keep * cur + (1.0 - keep) * local + 0.5, 0, 255), cur).astype(np.uint8)


def _distance_near(where: np.ndarray, at: np.ndarray, below: float, name: str) -> np.ndarray:
    """(h, w) float32 in the scratch buffer ``name``: :func:`distance_to` of ``where`` ((h, w) bool) at the ``at``
    pixels ((h, w) bool) where it is below ``below``; at least ``below`` where it is not (inf past the box worked on).
    Worked on the box of ``at`` grown by twice ``below`` + 2 px, each way: a distance below ``below`` is a path of the
    5x5 mask's steps, each at least as long as it moves along either axis, to a ``where`` pixel within that reach, and
    a path between two pixels runs within their own box, so the box holds it; a ``where`` pixel cut off only makes a
    distance longer. Where every ``where`` pixel lies in the box (``at`` holds them), every distance in it below
    ``below`` is the whole one's (tests/test_fill_seam.py)."""
    out = scratch(name, where.shape)
    out.fill(np.inf)
    reach = int(np.ceil(below)) + 2
    box = mask_bbox(at, 2 * reach, where.shape)
    if box is None:
        return out
    out[box] = distance_to(where[box], f"{name}.box")
    return out


def blur_around(image: np.ndarray, sigma: float, where: np.ndarray, border: int, name: str) -> np.ndarray:
    """``image`` ((h, w, c) float32) blurred with a Gaussian of ``sigma`` px (OpenCV's ``border`` past its edges),
    exact on the box of ``where`` ((h, w) bool) only, into the scratch buffer ``name`` (:func:`scratch`; valid until
    the next call with it): the blur is worked on that box and the kernel's reach around it (the same values there as
    over the whole image), undefined elsewhere. For averages read only at ``where``."""
    h, w = where.shape
    # (OpenCV's float kernel: round(8 sigma + 1) taps, odd; a pixel reads its radius each way, one more kept)
    box = mask_bbox(where, (int(round(sigma * 8 + 1)) | 1) // 2 + 1, (h, w))
    out = scratch(name, image.shape, image.dtype.type)
    # (a box of most of the image: the whole image, into the buffer directly, with no second write)
    if box is None or (box[0].stop - box[0].start) * (box[1].stop - box[1].start) > 0.8 * h * w:
        return cv2.GaussianBlur(image, (0, 0), sigma, dst=out, borderType=border)
    out[box] = cv2.GaussianBlur(image[box], (0, 0), sigma, borderType=border)
    return out


def rows_cols(flat: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the ``flat`` indices into an image ``width`` pixels wide (the column as what is left:
    ``np.divmod`` computes both with floor semantics, 1.6x the time). Indexing an (h, w, 3) view of a larger image by
    them costs a fraction of its (h, w) boolean index."""
    ys = flat // width
    return ys, flat - ys * width


def weighted_stack(image: np.ndarray, source: np.ndarray, name: str, cell: int = 1) -> np.ndarray:
    """(h, w, 4) float32 in scratch buffers of ``name`` (:func:`scratch`): the (h, w, 3) uint8 ``image`` where the
    (h, w) uint8 {0, 1} ``source`` is set (zeros elsewhere), and ``source`` as the fourth channel: a Gaussian blur of
    it is a normalised average's numerator and weight. (Built as uint8 with OpenCV's masked copy and merge, then
    converted: numpy's boolean-indexed writes into a 4-channel float image cost several times more.) ``cell`` > 1: the
    stack padded with zeros (no weight) to whole ``cell`` x ``cell`` cells, (ceil(h / cell) * cell, ceil(w / cell) *
    cell, 4): OpenCV's area resize by a whole factor takes its fast path (a size that is not a whole number of cells,
    its general one: about 3x the time for cells not aligned with the pixels)."""
    h, w = source.shape
    colour = scratch(f"{name}.colour", (h, w, 3), np.uint8)
    colour[...] = 0
    cv2.copyTo(image, source, colour)
    stack_u8 = cv2.merge([*cv2.split(colour), source], dst=scratch(f"{name}.stack_u8", (h, w, 4), np.uint8))
    ph, pw = -(-h // cell) * cell, -(-w // cell) * cell
    stack = scratch(f"{name}.stack", (ph, pw, 4))
    stack[:h, :w] = stack_u8
    stack[h:] = 0
    stack[:h, w:] = 0
    return stack


def distance_to(where: np.ndarray, name: str | None = None) -> np.ndarray:
    """(h, w) float32: every pixel's distance to the (h, w) bool ``where`` (0 on it; OpenCV's 5x5 L2 mask); in scratch
    buffers of ``name`` (:func:`scratch`; valid until the next call with it) if given, else fresh arrays."""
    # (the complement as one OpenCV comparison: numpy's ``~`` and ``astype`` make two region-sized arrays)
    outside = cv2.compare(where.view(np.uint8), 0, cv2.CMP_EQ,
                          dst=None if name is None else scratch(f"{name}.outside", where.shape, np.uint8))  # fmt: skip
    return cv2.distanceTransform(outside, cv2.DIST_L2, 5, dst=None if name is None else scratch(name, where.shape))
