"""The mask's outline settled at the ROI's own resolution: the pixels just outside it that are partly mask join it.

The segmenter decides the mask at a working size and its boundary on the sharpest step of the colour (the snap),
which on a blurred or anti-aliased edge lies where the pixel is about half cloth. The pixels beyond it that are still a
fifth cloth or more are a pale (or dark) line along the outline once the rest is rebuilt: the "mask remnant" at the nose
bridge and the cheeks. :func:`edge_model` takes, at the working size, the local mean colours of the cloth just inside
the outline (m) and of what lies a few pixels beyond it (o), and the spread of the latter along the axis from o to m;
:func:`settle_edge` then takes, at the ROI's resolution, each pixel touching the mask's outline whose colour lies at
least ``edge_towards`` of the way from o to m, by at least ``edge_floor`` Lab units and ``edge_noise`` x that spread (a
noisy skin, hair or a textured background beside the mask is no edge), one pixel deep (the segmenter's
:class:`~unmask_video.segment_options.SegmentOptions` hold these settings).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.mask_pixels import pixels_at
from unmask_video.segment_options import SegmentOptions

__all__ = ["EdgeModel", "edge_model", "settle_edge"]

_ALL = np.ones((3, 3), np.uint8)
# (the 8 steps to a pixel's neighbours)
_STEP_Y = np.array([-1, -1, -1, 0, 0, 1, 1, 1], np.int32)
_STEP_X = np.array([-1, 0, 1, -1, 1, -1, 0, 1], np.int32)
# (the channel pairs (i, j), i <= j, of a colour's second moments)
_PAIRS = (np.array([0, 0, 0, 1, 1, 2]), np.array([0, 1, 2, 1, 2, 2]))


@dataclass
class _Read:
    """The pixels :func:`_test_points` told: those with a cell of the model (rows ``ys``, columns ``xs``), which of
    them join (``join``, a bool each), and which did not join but are of the cloth's own colour (``own``; None where
    that was not told)."""

    ys: np.ndarray
    xs: np.ndarray
    join: np.ndarray
    own: np.ndarray | None = None


@dataclass
class _Ring:
    """One ring of :func:`_settle_once`: its pixels (uint8 ``ring``, 255 on them), what was told of them (``read``)
    and the pixels that joined (rows ``joined_ys``, columns ``joined_xs``)."""

    ring: np.ndarray
    read: _Read
    joined_ys: np.ndarray
    joined_xs: np.ndarray


@dataclass
class EdgeModel:
    """Where the working-size mask's outline is read and what a pixel there must show to join: on a grid of ``cell`` x
    ``cell`` working pixels (``shape`` cells) whose first cell starts at working pixel ``origin`` (x, y), ``row`` (flat
    cell index -> row, -1 where nothing joins: no colours on either side, or no contrast between them); per row the
    unit ``axis`` (Lab) from the colour beyond (o) to the cloth's (m), ``offset`` (o . axis) and ``need``: the least
    projection p . axis - offset of a pixel's colour p that joins; and the same in chroma alone (Lab a, b):
    ``chroma_axis``, ``chroma_offset``, ``chroma_need`` (inf where the cloth's chroma is too near the colour beyond's, or
    all None when the chroma is not read). ``options``: the rule's settings (the segmenter's ``edge_*`` fields)."""

    origin: tuple[int, int]
    cell: int
    shape: tuple[int, int]
    row: np.ndarray
    axis: np.ndarray
    offset: np.ndarray
    need: np.ndarray
    options: SegmentOptions
    chroma_axis: np.ndarray | None = None
    chroma_offset: np.ndarray | None = None
    chroma_need: np.ndarray | None = None
    #: With ``edge_cloth`` > 0: per row |m - o| (Lab); a pixel whose projection lies at least ``edge_cloth`` x that
    #: past o (the cloth's own colour, shaded; no further than ``edge_cloth_cap`` x it) joins whatever the spread
    #: beyond, and the outline is settled again up to ``edge_depth`` pixels deep through such pixels only (a strip of
    #: shaded cloth between the mask and a finger beside it). None: not read.
    size: np.ndarray | None = None
    #: The face's size (working pixels) and its skin's chroma (Lab a, b; None: none read): with ``edge_run`` > 0 the
    #: deep strips are kept only where they run along the outline as a finger's side does and end at that skin
    #: (:func:`_settle_runs`; no strip on a skin near grey, ``edge_skin_warm``, or with none read).
    face: float = 0.0
    skin_ab: np.ndarray | None = None


def _square(radius: int) -> np.ndarray:
    return np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)


def _block_sums(values: np.ndarray, cells: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(gh * gw, k) float32: the rows of ``values`` (n, k) summed per grid cell (``cells``: the flat cell index of each
    row), then over each cell's 3 x 3 neighbourhood of cells. (one bincount for all k columns)"""
    gh, gw = shape
    k = values.shape[1]
    sums = np.bincount((cells[:, None] * k + np.arange(k)).ravel(), values.ravel(), minlength=gh * gw * k)
    out = np.zeros((gh + 2, gw + 2, k), np.float32)
    out[1:-1, 1:-1] = sums.reshape(gh, gw, k)
    # (the 3 x 3 sum: separable, rows then columns)
    rows = out[:-2] + out[1:-1] + out[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]).reshape(gh * gw, k)


def edge_model(
    lab: np.ndarray,
    mask: np.ndarray,
    options: SegmentOptions,
    face: float = 0.0,
    skin_ab: np.ndarray | None = None,
    contrast: float = 10.0,
    inner: tuple[int, int] = (2, 4),
    outer: tuple[int, int] = (3, 5),
    cell: int = 3,
) -> EdgeModel | None:
    """The :class:`EdgeModel` of ``mask`` (uint8 {0, 1}, working size) in ``lab`` (uint8 Lab, same size), by the
    ``edge_*`` settings of ``options``: the cloth's mean m over the mask's pixels ``inner`` (first, last) rings deep
    (the edge's own mixed pixels left out), the mean o of what lies beyond over the ``outer`` rings out and its spread
    along the axis from o to m, each over the 3 x 3 cells of ``cell`` working pixels around a point (sums gathered at
    the rings' pixels only: the model costs what the outline's length does, not the mask's area). A pixel there joins
    when its colour's projection on that axis lies at least ``edge_towards`` x |m - o| past o, and ``edge_floor`` and
    ``edge_noise`` x the spread; where |m - o| is under ``contrast`` (a mask of the skin's colour has no edge to read)
    none does. With ``edge_chroma`` > 0 a pixel also joins when its chroma (Lab a, b) alone lies at least that many
    Lab units and ``edge_chroma_noise`` x the chroma's spread beyond past o's towards m's, where the two chromas differ
    by ``edge_chroma_min`` or more: the cloth's colour that the video's (or JPEG's) halved chroma resolution spreads a
    pixel onto the skin, whose lightness stays the skin's. ``face`` (working pixels) and ``skin_ab``: for the deep
    strips' gate (:class:`EdgeModel`). None for an empty mask."""
    towards, floor, noise = options.edge_towards, options.edge_floor, options.edge_noise
    chroma_floor, chroma_noise = options.edge_chroma, options.edge_chroma_noise
    chroma_contrast = options.edge_chroma_min
    x, y, w, h = cv2.boundingRect(mask)  # (cv2's: np.nonzero over the window costs more than the model)
    if w == 0:
        return None
    r = outer[1] + 1
    box = (slice(max(y - r, 0), y + h + r), slice(max(x - r, 0), x + w + r))
    m8 = mask[box]
    # (the rings as differences of dilations and erosions by squares: one pass each, as 3 x 3 ones repeated)
    far = cv2.subtract(cv2.dilate(m8, _square(outer[1])), cv2.dilate(m8, _square(outer[0] - 1)))
    deep = cv2.subtract(cv2.erode(m8, _square(inner[0] - 1)), cv2.erode(m8, _square(inner[1])))
    gh, gw = -(-m8.shape[0] // cell), -(-m8.shape[1] // cell)
    origin = (box[1].start, box[0].start)

    def gather(ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pts = cv2.findNonZero(ring)
        if pts is None:
            return np.zeros((0, 3), np.float32), np.zeros(0, np.int64)
        px, py = pts[:, 0, 0], pts[:, 0, 1]
        return pixels_at(lab, py, px, origin).astype(np.float32), (py // cell).astype(np.int64) * gw + px // cell

    colour_o, cells_o = gather(far)
    colour_m, cells_m = gather(deep)
    if len(cells_o) == 0 or len(cells_m) == 0:
        return None
    first, second = _PAIRS
    # (per pixel beyond: a count, the colour, its second moments; per pixel of the cloth: a count, the colour)
    values = np.empty((len(cells_o), 10), np.float32)
    values[:, 0], values[:, 1:4] = 1.0, colour_o
    np.multiply(colour_o[:, first], colour_o[:, second], out=values[:, 4:])
    beyond = _block_sums(values, cells_o, (gh, gw))
    values = np.empty((len(cells_m), 4), np.float32)
    values[:, 0], values[:, 1:4] = 1.0, colour_m
    cloth = _block_sums(values, cells_m, (gh, gw))
    # (the rest only on the cells with colours on both sides: those along the outline)
    cells = np.flatnonzero((beyond[:, 0] > 0.5) & (cloth[:, 0] > 0.5))
    beyond, cloth = beyond[cells], cloth[cells]
    o = beyond[:, 1:4] / beyond[:, :1]
    mo = cloth[:, 1:4] / cloth[:, :1] - o
    size = np.sqrt((mo * mo).sum(axis=1))
    axis = mo / np.maximum(size, 1e-3)[:, None]
    # (the spread along the axis: E[(x . u)^2] - (o . u)^2, from the second moments)
    weights = np.where(first == second, 1.0, 2.0)
    moment = (weights * axis[:, first] * axis[:, second] * beyond[:, 4:]).sum(axis=1) / beyond[:, 0]
    offset = (o * axis).sum(axis=1)
    spread = np.sqrt(np.maximum(moment - offset**2, 0.0))
    ok = size >= contrast
    cells = cells[ok]
    row = np.full(gh * gw, -1, np.int32)
    row[cells] = np.arange(len(cells), dtype=np.int32)
    need = np.maximum(np.maximum(towards * size[ok], floor), noise * spread[ok])
    chroma = (None, None, None)
    if chroma_floor > 0:
        # (the same along the chroma's own axis: the second moments of a and b are the pairs (1, 1), (1, 2), (2, 2))
        mo_ab = mo[ok, 1:]
        size_ab = np.sqrt((mo_ab * mo_ab).sum(axis=1))
        axis_ab = mo_ab / np.maximum(size_ab, 1e-3)[:, None]
        o_ab = o[ok, 1:]
        offset_ab = (o_ab * axis_ab).sum(axis=1)
        sq = beyond[ok, 7:] / beyond[ok, :1]  # (E[a a], E[a b], E[b b])
        moment_ab = axis_ab[:, 0] ** 2 * sq[:, 0] + 2.0 * axis_ab[:, 0] * axis_ab[:, 1] * sq[:, 1] + axis_ab[:, 1] ** 2 * sq[:, 2]
        spread_ab = np.sqrt(np.maximum(moment_ab - offset_ab**2, 0.0))
        need_ab = np.where(size_ab >= chroma_contrast, np.maximum(chroma_floor, chroma_noise * spread_ab), np.inf)
        chroma = (axis_ab.astype(np.float32), offset_ab.astype(np.float32), need_ab.astype(np.float32))
    return EdgeModel(origin, cell, (gh, gw), row, axis[ok].astype(np.float32), offset[ok].astype(np.float32),
                     need.astype(np.float32), options, *chroma, size[ok].astype(np.float32) if options.edge_cloth > 0
                     else None, face, skin_ab)  # fmt: skip


def settle_edge(image: np.ndarray, hard: np.ndarray, model: EdgeModel, to_work: tuple[float, float, float, float]
                ) -> np.ndarray:
    """``hard`` (uint8 {0, 255}, ROI pixels; changed in place and returned) with the pixels touching its outline
    (8-connected) that are partly mask (:class:`EdgeModel`) set to 255; with ``edge_cloth`` > 0, then up to
    ``edge_depth`` more pixels deep through pixels of the cloth's own colour (with ``edge_run`` > 0 only the strips
    that run along the outline as a finger's side does). ``image``: the ROI's uint8 RGB pixels under ``hard`` (same
    shape); ``to_work`` (ax, bx, ay, by): ROI pixel x of ``hard`` lies at working pixel ax x + bx (and y likewise) of
    the model's mask."""
    if model.size is not None and model.options.edge_run > 0:
        return _settle_runs(image, hard, model, to_work)
    first = _settle_once(image, hard, model, to_work, True)
    if model.size is None or model.options.edge_depth <= 1 or first is None or not len(first.joined_ys):
        return hard
    # (deeper: through the cloth's own colour only, one more ring than ``depth`` as a probe; a strip still growing at
    # the probe runs on into something of the cloth's colour (a white collar, a pale wall) and is dropped; one that
    # stopped (at a finger, the hair) is kept)
    settled = hard.copy()
    before = _grow_rings(image, hard, model, to_work, model.options.edge_depth, 0)
    if before is None and not (hard > settled).any():
        return hard
    deep = cv2.subtract(hard, settled)
    if before is not None:
        _drop_open(deep, cv2.subtract(hard, before))
    np.maximum(settled, deep, out=hard)
    return hard


def _settle_runs(image: np.ndarray, hard: np.ndarray, model: EdgeModel, to_work: tuple[float, float, float, float]
                 ) -> np.ndarray:
    """:func:`settle_edge` with the strips gated (``edge_run`` > 0): the first ring by the usual rules alone; the own
    colour's pixels (first ring included) come only as whole strips that run along the outline and end at skin."""
    opt = model.options
    depth = opt.edge_depth
    warm = model.skin_ab is not None and float(np.sum(model.skin_ab)) - 256.0 >= opt.edge_skin_warm
    first = _settle_once(image, hard, model, to_work, True, False, tell_own=warm and depth > 1)
    if first is None or first.read.own is None:
        return hard  # (no finger to tell by its colour, or no ring: the usual rule alone)
    # (the first ring of the cloth's own colour, read from the usual rule's ring where it has one: its pixels that did
    # not join, and the pixels past the ones that did, read now; where no part of it may make a run, done here)
    ys, xs = _first_own_ring(image, hard, model, to_work, first)
    least = max(opt.edge_run * model.face / to_work[0], opt.edge_run_px)
    near = _zones_may_run(ys, xs, hard.shape, least, depth)
    if near is None:
        return hard
    # (the parts told, and the strips grown at most ``depth`` px from their first ring's pixels and what lies just
    # past them read, in the box of the first ring's pixels that may make a run, ``depth`` + 3 px wider)
    ys, xs = ys[near], xs[near]
    pad = depth + 3
    y0, x0 = max(int(ys.min()) - pad, 0), max(int(xs.min()) - pad, 0)
    box = (slice(y0, int(ys.max()) + pad + 1), slice(x0, int(xs.max()) + pad + 1))
    part, pixels = hard[box], image[box]
    below = part.copy()
    part[ys - y0, xs - x0] = 255
    if not _may_run(part, below, least, depth):
        np.copyto(part, below)  # (no strip could touch the outline along ``least``: the rings are not read)
        return hard
    # (and the rings in the box of the ring's pixels left, as wide)
    x, y, w, h = cv2.boundingRect(cv2.subtract(part, below))
    bx0, by0 = max(x - pad, 0), max(y - pad, 0)
    inner = (slice(by0, y + h + pad), slice(bx0, x + w + pad))
    part, below, pixels = part[inner], below[inner], pixels[inner]
    before = _grow_rings(pixels, part, model, to_work, depth + 1, 1, (x0 + bx0, y0 + by0))
    deep = cv2.subtract(part, below)
    n, labels = cv2.connectedComponents(deep, connectivity=8)
    if before is not None:
        _drop_open(deep, cv2.subtract(part, before), labels)
    deep = _finger_runs(pixels, deep, labels, n, below, least, opt.edge_run_depth, model.skin_ab, opt.edge_run_skin)
    np.maximum(below, deep, out=part)
    return hard


def _grow_rings(image: np.ndarray, hard: np.ndarray, model: EdgeModel, to_work: tuple[float, float, float, float],
                rings: int, start: int, at: tuple[int, int] = (0, 0)) -> np.ndarray | None:
    """Rings ``start`` .. ``rings`` - 1 of the cloth's own colour grown into ``hard`` (in place); ``hard`` as it was
    before the last ring where that ring was read and a pixel joined in it (the probe), else None."""
    for step in range(start, rings):
        before = hard.copy() if step == rings - 1 else None
        ring = _settle_once(image, hard, model, to_work, False, at=at)
        if ring is None or not len(ring.joined_ys):
            return None
        if before is not None:
            return before
    return None


def _drop_open(deep: np.ndarray, probe: np.ndarray, labels: np.ndarray | None = None) -> None:
    """``deep``'s strips (8-connected; ``labels`` if given) that hold a pixel of ``probe`` set to 0 (in place)."""
    if labels is None:
        _, labels = cv2.connectedComponents(deep, connectivity=8)
    open_ = np.unique(labels[probe > 0])
    deep[np.isin(labels, open_[open_ > 0])] = 0


def _first_own_ring(image: np.ndarray, hard: np.ndarray, model: EdgeModel, to_work: tuple[float, float, float, float],
                    first: _Ring) -> tuple[np.ndarray, np.ndarray]:
    """The pixels (rows, columns) of the cloth's own colour touching ``hard`` (8-connected), as the ring of
    :func:`_settle_once` would read them, from ``first`` (the usual rule's ring of ``hard`` just read, its own colour
    told): that ring's pixels that did not join and are of that colour, and the pixels touching the joined ones read
    now (few)."""
    ring, jy, jx = first.ring, first.joined_ys, first.joined_xs
    assert first.read.own is not None
    ys, xs, own = first.read.ys, first.read.xs, first.read.own
    if not len(jy):
        return ys[own], xs[own]
    h, w = hard.shape
    ny = (jy[:, None] + _STEP_Y[None]).ravel()
    nx = (jx[:, None] + _STEP_X[None]).ravel()
    ok = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
    flat = ny[ok] * w + nx[ok]
    # (not in ``hard`` nor in the ring read: each pixel once)
    flat = np.unique(flat[(hard.ravel()[flat] == 0) & (ring.ravel()[flat] == 0)])
    found = _test_points(image, flat // w, flat % w, model, to_work, False, True) if len(flat) else None
    if found is None or not found.join.any():
        return ys[own], xs[own]
    return np.concatenate([ys[own], found.ys[found.join]]), np.concatenate([xs[own], found.xs[found.join]])


def _zones_may_run(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, ...], least: float, depth: int
                   ) -> np.ndarray | None:
    """Which of the first ring's pixels (``ys``, ``xs``) may lie in a part of their dilation by the depth's square that
    holds ``least`` of them (:func:`_may_run`; a bool each), None where none may; told on a grid of cells 2 ``depth``
    + 1 px wide: two pixels whose squares touch lie in the same or touching cells, so each part lies in one
    8-connected group of cells, which holds at least as many (a bound, cheap: no image-wide labelling)."""
    if len(ys) < least:
        return None
    cell = 2 * depth + 1
    gw = shape[1] // cell + 1
    at = (ys // cell) * gw + xs // cell
    counts = np.bincount(at, minlength=(shape[0] // cell + 1) * gw)
    n, groups = cv2.connectedComponents((counts > 0).astype(np.uint8).reshape(-1, gw), connectivity=8)
    held = np.bincount(groups.ravel(), weights=counts, minlength=n) >= least
    held[0] = False
    if not held.any():
        return None
    return held[groups.ravel()[at]]


def _may_run(hard: np.ndarray, settled: np.ndarray, least: float, depth: int) -> bool:
    """After the first ring of the cloth's own colour (``hard`` less ``settled``: the strips' pixels touching the
    outline, all of them, as a pixel of that ring that did not join never joins later): drop from ``hard`` those that
    cannot make a strip touching it along ``least`` pixels, and say whether any is left. A strip grows at most
    ``depth`` pixels from its first ring's pixels (a square's reach), so its first ring lies in one connected part of
    their dilation by that square: the parts with fewer than ``least`` of them are dropped (the same strips kept as
    when all are grown; the rings' cost only where one may be)."""
    seeds = cv2.subtract(hard, settled)
    n, zones = cv2.connectedComponents(cv2.dilate(seeds, _square(depth)), connectivity=8)
    on = seeds > 0
    enough = np.bincount(zones[on], minlength=n) >= least
    enough[0] = False
    hard[on & ~enough[zones]] = 0
    return bool(enough.any())


def _finger_runs(image: np.ndarray, deep: np.ndarray, labels: np.ndarray, n: int, settled: np.ndarray, least: float,
                 depth: float, skin_ab: np.ndarray, near: float) -> np.ndarray:
    """``deep`` (uint8 {0, 255}; its strips labelled ``labels``, ``n`` labels) with only the strips that touch
    ``settled`` on at least ``least`` pixels, hold at least ``depth`` x that many pixels, and end at skin: the median
    chroma of the pixels just past each (in ``image``, the ROI's uint8 RGB) within ``near`` of ``skin_ab``."""
    if not deep.any():
        return deep
    touch = cv2.dilate(settled, _ALL)
    on = deep > 0
    pixels = np.bincount(labels[on], minlength=n)
    contact = np.bincount(labels[on & (touch > 0)], minlength=n)
    keep = (contact >= least) & (pixels >= depth * contact)
    keep[0] = False
    if keep.any():
        # (only the strips left: few, a few hundred pixels each)
        past = cv2.subtract(cv2.dilate(deep, _ALL), cv2.max(settled, deep)) > 0
        skin = np.asarray(skin_ab, np.float32)
        for label in np.flatnonzero(keep):
            beyond = past & (cv2.dilate((labels == label).view(np.uint8), _ALL) > 0)
            if not beyond.any():
                keep[label] = False
                continue
            ab = np.median(cv2.cvtColor(image[beyond][None], cv2.COLOR_RGB2LAB)[0, :, 1:].astype(np.float32), axis=0)
            keep[label] = float(np.hypot(*(ab - skin))) <= near
    if not keep.any():
        deep[:] = 0
        return deep
    return np.where(keep[labels] & on, np.uint8(255), np.uint8(0))


def _settle_once(image: np.ndarray, hard: np.ndarray, model: EdgeModel, to_work: tuple[float, float, float, float],
                 first: bool, own: bool = True, at: tuple[int, int] = (0, 0), tell_own: bool = False) -> _Ring | None:
    """One ring of :func:`settle_edge` (``first``: the usual rules, and the cloth's own colour with ``own``; later:
    the cloth's own colour only), its pixels joined to ``hard`` (in place); the ring read, None where it has no pixel
    or none with a cell of the model. ``hard`` and ``image`` may be a box of the ROI's, its corner at ROI pixel ``at``
    (x, y); ``tell_own``: see :func:`_test_points`."""
    ring = cv2.subtract(cv2.dilate(hard, _ALL), hard)
    pts = cv2.findNonZero(ring)
    if pts is None:
        return None
    xs, ys = pts[:, 0, 0], pts[:, 0, 1]
    read = _test_points(image, ys, xs, model, to_work, first, own, tell_own, at)
    if read is None:
        return None
    jy, jx = read.ys[read.join], read.xs[read.join]
    hard[jy, jx] = 255
    return _Ring(ring, read, jy, jx)


def _test_points(image: np.ndarray, ys: np.ndarray, xs: np.ndarray, model: EdgeModel,
                 to_work: tuple[float, float, float, float], first: bool, own: bool, tell_own: bool = False,
                 at: tuple[int, int] = (0, 0)) -> _Read | None:
    """The pixels (``ys``, ``xs``) told by :func:`_settle_once`'s rules, None where none has a cell of the model;
    ``tell_own``: which of them did not join but are of the cloth's own colour told too (with ``model.size``)."""
    ax, bx, ay, by = to_work
    # (the grid cell of the working pixel nearest to each)
    gy = (np.rint((ys + at[1]) * ay + by).astype(np.int64) - model.origin[1]) // model.cell
    gx = (np.rint((xs + at[0]) * ax + bx).astype(np.int64) - model.origin[0]) // model.cell
    gh, gw = model.shape
    inside = (gy >= 0) & (gy < gh) & (gx >= 0) & (gx < gw)
    rows = np.full(len(xs), -1, np.int32)
    rows[inside] = model.row[gy[inside] * gw + gx[inside]]
    keep = rows >= 0
    if not keep.any():
        return None
    ys, xs, rows = ys[keep], xs[keep], rows[keep]
    # (the pixel's own colour: a blur would mix the cloth inside into every pixel beside a sharp edge, and a ring of
    # skin would join)
    # (one row of pixels: OpenCV converts row by row, and a column of one-pixel rows costs 20x more)
    lab = cv2.cvtColor(image[ys, xs][None], cv2.COLOR_RGB2LAB)[0].astype(np.float32)
    # (the columns added in turn: the sum over the last axis adds them in the same order, at 2.5x the cost)
    terms = lab * model.axis[rows]
    proj = terms[:, 0] + terms[:, 1] + terms[:, 2] - model.offset[rows]
    cloth = None
    if model.size is not None and (own or tell_own):
        size = model.size[rows]
        cloth = (proj >= size * model.options.edge_cloth) & (proj <= size * model.options.edge_cloth_cap)
    join = cloth.copy() if own and cloth is not None else np.zeros(len(rows), bool)
    if first:
        join |= proj >= model.need[rows]
        if model.chroma_need is not None:
            terms = lab[:, 1:] * model.chroma_axis[rows]
            join |= terms[:, 0] + terms[:, 1] - model.chroma_offset[rows] >= model.chroma_need[rows]
    return _Read(ys, xs, join, cloth & ~join if tell_own and cloth is not None else None)
