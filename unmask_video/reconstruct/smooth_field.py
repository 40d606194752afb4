"""The reference composite's smooth colour fields.

Values known at some pixels of a region (the ring of visible skin around the mask) spread smoothly over all of it by
normalised convolution with a Gaussian (:func:`spread`; every pixel's values at once: :func:`spread_dense`), built at a
working size whose longer side is at most ``_COLOUR_WORK_PX`` (:func:`work_size`, :func:`at_work_size`), and the
warped reference resized to it without the black the warp leaves where it does not cover (:func:`resize_covered`).
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.face_detect import resize
from unmask_video.order_stats import median
from unmask_video.reconstruct.lab_pixels import channel_rows, coords_of, written


#: The smooth colour fields are built at most this many pixels across and applied as per-channel gains:
#: no full-size Lab conversion of the region. 96 (was 128): the light field's Gaussian is a third of the region, the
#: reference's detail is carried at full size by the gains; the colour match 0.82-0.95x the CPU, the quality benchmark
#: (20 frames, --relit) within 0.02 dB and 0.01 cast overall, every clip within 0.10 dB, 0.04 cast, 0.06 TDE, the
#: contact sheets alike (benchmarks/README.md, compfast2).
_COLOUR_WORK_PX = 96


def spread(
    values: np.ndarray,
    where: np.ndarray,
    sigma: float,
    bias: np.ndarray | None = None,
    fade: bool = False,
    size: tuple[int, int] | None = None,
    coords: tuple[np.ndarray, np.ndarray] | None = None,
    weights: np.ndarray | None = None,
    planar: bool = False,
) -> np.ndarray:
    """Normalised convolution: the (C, N) ``values`` (:func:`channel_rows`) known at the ``where`` pixels of an (h, w)
    grid, spread smoothly over the whole grid with a Gaussian of ``sigma`` pixels, plus ``bias`` ((C,), if
    given). With ``fade``, the field falls to 0 away from the known pixels (beyond about ``sigma``)
    instead of extending their average everywhere. ``weights``: (N,) weights of the known pixels (1 if None). Returns
    (h, w, C) float32, or the field resized to ``size`` ((w, h), a working size) if given; with ``planar``, (C, h * w)
    (each channel contiguous). ``coords``: ``np.nonzero(where)``, if the caller has it."""
    h, w = where.shape
    channels = values.shape[0]
    # The field is smooth by construction: accumulate the known values into cells of f x f pixels
    # (a histogram of the few known pixels, not a pass over the dense grid) and blur those.
    f = max(1, int(sigma // 4))
    sw, sh = max(-(-w // f), 1), max(-(-h // f), 1)
    ys, xs = coords_of(where) if coords is None else coords
    cell = (ys // f) * sw + xs // f
    ws = np.bincount(cell, weights=weights, minlength=sh * sw).astype(np.float32).reshape(sh, sw)
    vs = np.empty((sh, sw, channels), np.float32)
    for c in range(channels):
        vs[..., c] = np.bincount(
            cell, weights=values[c] if weights is None else values[c] * weights, minlength=sh * sw
        ).reshape(sh, sw)
    return _spread_cells(ws, vs, sigma / f, bias, fade, size if size is not None else (w, h), planar)


def spread_dense(planes: np.ndarray, where: np.ndarray, sigma: float) -> np.ndarray:
    """:func:`spread` of the ``planes`` ((C, h * w), C <= 3: every pixel's values) at the ``where`` pixels ((h, w)
    bool; weight 1), planar, the same field (its cells' sums as OpenCV's area resize of the masked values, padded to
    whole cells, times their area: a dense map's pixels need no list and no histogram)."""
    h, w = where.shape
    channels = planes.shape[0]
    f = max(1, int(sigma // 4))
    sw, sh = max(-(-w // f), 1), max(-(-h // f), 1)
    stack = cv2.merge([*planes.reshape(channels, h, w), np.ones((h, w), np.float32)])
    padded = np.zeros((sh * f, sw * f, channels + 1), np.float32)
    written(padded[:h, :w], cv2.copyTo(stack, where.view(np.uint8), padded[:h, :w]))
    cells = cv2.resize(padded, (sw, sh), interpolation=cv2.INTER_AREA).reshape(sh, sw, channels + 1)
    cells *= np.float32(f * f)
    return _spread_cells(np.ascontiguousarray(cells[..., channels]), np.ascontiguousarray(cells[..., :channels]),
                         sigma / f, None, False, (w, h), True)  # fmt: skip


def _spread_cells(
    ws: np.ndarray, vs: np.ndarray, sigma: float, bias: np.ndarray | None, fade: bool, size: tuple[int, int],
    planar: bool,
) -> np.ndarray:  # fmt: skip
    """The rest of :func:`spread` from its cells' weights ``ws`` ((sh, sw)) and weighted sums ``vs`` ((sh, sw, C)),
    ``sigma`` in cells, the field resized to ``size`` (w, h)."""
    sh, sw = ws.shape
    channels = vs.shape[2]
    known = ws > 0
    ws = cv2.GaussianBlur(ws, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    vs = cv2.GaussianBlur(vs, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    floor = 1e-6
    if fade and known.any():
        # Half the weight found on the known cells: the field is exact there and fades where they are far.
        floor = max(0.5 * float(median(ws[known])), 1e-6)
    field = vs.reshape(sh, sw, channels) / np.maximum(ws, floor)[..., None]
    if bias is not None:
        field += np.asarray(bias, np.float32)
    out_w, out_h = size
    field = cv2.resize(field, (out_w, out_h), interpolation=cv2.INTER_LINEAR).reshape(out_h, out_w, channels)
    return channel_rows(field.reshape(-1, channels)) if planar else field


def work_size(h: int, w: int) -> tuple[tuple[int, int], float]:
    """The working size the smooth colour fields of an (h, w) region are built at, (width, height), its longer side
    at most ``_COLOUR_WORK_PX``, and the scale to it."""
    k = min(1.0, _COLOUR_WORK_PX / max(h, w))
    return (max(int(round(w * k)), 1), max(int(round(h * k)), 1)), k


def at_work_size(
    coords: tuple[np.ndarray, np.ndarray], small: tuple[int, int], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The (ys, xs) pixels of a region of ``shape`` (h, w) as indices into its working size ``small`` (w, h)."""
    ys, xs = coords
    return (np.minimum((ys * (small[1] / shape[0])).astype(np.intp), small[1] - 1),
            np.minimum((xs * (small[0] / shape[1])).astype(np.intp), small[0] - 1))


def resize_covered(reference: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The warped ``reference`` (black where the warp is not valid) resized to ``size`` (width, height) as
    :func:`resize` does, its black pixels left out: a working pixel across the edge of what the warp covers gets the
    covered pixels' colour (a normalised convolution), not a darker mix with black, which would make the gain there
    (corrected colour over it) too strong and, scaled back up, light a rim along that edge."""
    small = resize(reference, *size)
    # (a pixel the warp covers is not black; its grey level is 0 only if nearly black, and then no matter)
    covered = cv2.compare(cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY), 0, cv2.CMP_GT)
    if cv2.countNonZero(covered) == covered.size:
        return small
    cover = resize(covered, *size)
    weight = cv2.GaussianBlur(cover.astype(np.float32), (5, 5), 0, borderType=cv2.BORDER_REPLICATE)
    blurred = cv2.GaussianBlur(small.astype(np.float32), (5, 5), 0, borderType=cv2.BORDER_REPLICATE)
    # (both blurred alike: their ratio, times 255, is the mean colour of the covered pixels nearby)
    spread = cv2.convertScaleAbs(cv2.divide(blurred, cv2.merge([weight, weight, weight]), scale=255.0))
    edge = cv2.bitwise_and(cv2.compare(cover, 254, cv2.CMP_LT), cv2.compare(weight, 0.5, cv2.CMP_GT))
    out = small.copy()
    cv2.copyTo(spread, edge, out)
    return out
