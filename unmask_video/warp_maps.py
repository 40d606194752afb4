"""The reference warp's maps and remap plumbing.

A fitted spline (:mod:`unmask_video.tps`) evaluated on a coarse grid of nodes and bilinearly upsampled to every pixel
of a region (:func:`tps_maps`, :class:`MapNodes`), with the map's Jacobian determinant where folds are checked; the
reference and its validity map as one 4-channel picture (:func:`merge_with_validity`), sampled at the maps in one
fixed-point remap (:func:`remap_with_validity`), from a Gaussian pyramid level (:func:`pyramid`) when the reference
face is much bigger than the target's.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.tps import TPS


def tps_maps(
    tps: TPS,
    shape: tuple[int, int],
    step: int = 4,
    origin: tuple[float, float] = (0.0, 0.0),
    jacobian: bool = False,
    scale: float = 1.0,
) -> tuple[np.ndarray, ...]:
    """``tps`` evaluated at every pixel of an (h, w) region, as float32 ``map_x``, ``map_y`` for ``cv2.remap``.

    The spline is evaluated every ``step`` pixels and bilinearly upsampled with ``cv2.resize``; the
    nodes are placed where ``cv2.resize`` expects them, so every pixel is an exact bilinear blend of
    its four nodes (no half-cell shift). ``origin`` is the region's top-left (x, y) in the spline's
    coordinates. With ``jacobian``, a third (h, w) float32 array is returned: the map's Jacobian
    determinant (source area per pixel), computed on the nodes and upsampled the same way. ``scale`` multiplies
    the map (not the Jacobian): applied to the nodes before they are upsampled, which for a power of two (a
    pyramid level) gives the same maps, bit for bit, as scaling the full-size maps, at the nodes' cost.
    """
    h, w = int(shape[0]), int(shape[1])
    ox, oy = float(origin[0]), float(origin[1])
    step = max(int(step), 1)
    if step == 1:
        gx, gy = tps.grid(ox + np.arange(w, dtype=np.float64), oy + np.arange(h, dtype=np.float64))
        jac = _jacobian(gx, gy, 1.0) if jacobian else None
        if scale != 1.0:
            gx, gy = gx * np.float32(scale), gy * np.float32(scale)
        return (gx, gy, jac) if jac is not None else (gx, gy)
    nodes = MapNodes(tps, (h, w), step, (ox, oy), jacobian, scale)
    return tuple(nodes.upsampled(g) for g in nodes.nodes)


#: Map values within this many pixels (either way) leave int16's whole-pixel positions far from their end.
_BOUNDED_MAP = 30000.0


class MapNodes:
    """:func:`tps_maps`'s spline on its grid of nodes (``step`` > 1), before the upsampling: ``nodes`` holds map_x,
    map_y (``scale`` applied) and, with ``jacobian``, the Jacobian determinant, each on the nodes; :meth:`upsampled`
    gives one of them at every pixel of the region, as :func:`tps_maps` returns it."""

    def __init__(
        self, tps: TPS, shape: tuple[int, int], step: int, origin: tuple[float, float], jacobian: bool, scale: float
    ) -> None:
        h, w = shape
        ox, oy = origin
        # cv2.resize by exactly ``step`` puts node j at output pixel ``j * step + step/2 - 0.5``; one
        # extra node of padding on each side keeps every pixel of the region between four nodes.
        pad = step
        nx = -(-(w + 2 * pad) // step)
        ny = -(-(h + 2 * pad) // step)
        start = step / 2.0 - 0.5 - pad
        xs = ox + start + step * np.arange(nx, dtype=np.float64)
        ys = oy + start + step * np.arange(ny, dtype=np.float64)
        gx, gy = tps.grid(xs, ys)
        jac = [_jacobian(gx, gy, float(step))] if jacobian else []
        if scale != 1.0:
            gx, gy = gx * np.float32(scale), gy * np.float32(scale)
        self.nodes: list[np.ndarray] = [gx, gy, *jac]
        self._size = (nx * step, ny * step)
        self._crop = (slice(pad, pad + h), slice(pad, pad + w))
        self._maps: tuple[np.ndarray, np.ndarray] | None = None  # (the last :meth:`remapped`'s)
        self._bounded: bool | None = None  # (:meth:`bounded`, once: the nodes do not change)

    def upsampled(self, nodes: np.ndarray) -> np.ndarray:
        """(h, w) float32: ``nodes`` (one of :attr:`nodes`) bilinearly upsampled to every pixel of the region."""
        return cv2.resize(nodes, self._size, interpolation=cv2.INTER_LINEAR)[self._crop]

    def remapped(self, merged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`remap_with_validity` of ``merged`` at the upsampled maps (kept for :meth:`sampled`)."""
        self._maps = (self.upsampled(self.nodes[0]), self.upsampled(self.nodes[1]))
        return remap_with_validity(merged, *self._maps, self.bounded())

    def sampled(self, merged: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 3) uint8: the RGB of :meth:`remapped` of ``merged`` at the region's pixels ``rows``, ``cols`` ((N,) int)
        only, the same values (each pixel is remapped on its own; the maps of the last :meth:`remapped`, if any)."""
        maps = self._maps or (self.upsampled(self.nodes[0]), self.upsampled(self.nodes[1]))
        at = (rows, cols)
        return remap_with_validity(merged, maps[0][at][None], maps[1][at][None], self.bounded())[0][0]

    def bounded(self) -> bool:
        """Whether map_x and map_y lie within +-30000 px everywhere (each pixel is a blend of four nodes; see
        :func:`remap_with_validity`; read once, as the nodes do not change)."""
        if self._bounded is None:
            self._bounded = all(float(np.abs(g).max()) < _BOUNDED_MAP for g in self.nodes[:2])
        return self._bounded

    def all_above(self, index: int, threshold: float) -> bool:
        """Whether every pixel of :meth:`upsampled` of ``nodes[index]`` is surely >= ``threshold`` (> 0): every node
        is above it by a margin that the bilinear weights' rounding cannot take off (each pixel is a blend of four nodes
        with weights >= 0 that sum to 1 within float32's rounding)."""
        return bool(threshold > 0 and float(self.nodes[index].min()) >= threshold * (1.0 + 1e-4))


def shifted_sample(
    nodes: MapNodes, merged: np.ndarray, shift: tuple[int, int], rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:  # fmt: skip
    """:meth:`MapNodes.sampled` of ``merged`` at the pixels (``rows``, ``cols``) of a box that lies ``shift`` (rows,
    cols) into the nodes' region."""
    return nodes.sampled(merged, rows + shift[0], cols + shift[1])


def pyramid(image: np.ndarray, validity: np.ndarray, levels: bool) -> list[np.ndarray]:
    """The Gaussian pyramid of ``image`` and its ``validity`` (level k is 2**-k the size; pixel i of level k sits at
    2**k * i of level 0), each level one picture for :func:`remap_with_validity` (one remap instead of two); ``levels``
    False: level 0 only."""
    out = [merge_with_validity(image, validity)]
    if levels:
        while min(image.shape[:2]) >= 64:
            image, validity = cv2.pyrDown(image), cv2.pyrDown(validity)
            out.append(merge_with_validity(image, validity))
    return out


def merge_with_validity(image: np.ndarray, validity: np.ndarray) -> np.ndarray:
    """(h + 2, w + 2, 4) uint8: an RGB ``image`` and its (h, w) uint8 ``validity`` map as one picture for
    :func:`remap_with_validity`, with a 1-pixel border: the RGB replicated, the validity 0."""
    rgb = cv2.copyMakeBorder(image, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    return cv2.merge([*cv2.split(rgb), cv2.copyMakeBorder(validity, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)])


def remap_with_validity(
    merged: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, bounded: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The RGB picture and the validity map of :func:`merge_with_validity` sampled at the float32 maps (bilinear):
    the same pixels, bit for bit (tests), as ``cv2.remap`` of the image with ``BORDER_REPLICATE`` and of the
    validity with ``BORDER_CONSTANT`` 0, in one 4-channel remap (it costs about what a 3-channel one does; the
    1-channel one was half as much again). The maps are converted once to OpenCV's fixed-point form (what
    ``cv2.remap`` does to float maps on every call) and shifted by the border in whole pixels (exact; a far-off
    position that saturated stays far off). Returns (h, w, 3) and (h, w) uint8 (the latter a view). ``bounded``: the
    caller knows every map value lies within +-30000 px, so no whole-pixel position is near int16's end and numpy's
    add (about a tenth of OpenCV's saturated add of a 2-channel scalar's cost) gives the same positions."""
    fixed, fraction = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    if bounded:
        np.add(fixed, np.int16(1), out=fixed)
    else:
        cv2.add(fixed, (1, 1, 0, 0), dst=fixed)  # (saturated at 32767: min(x, 32766) + 1 in one pass)
    both = cv2.remap(merged, fixed, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(both, cv2.COLOR_RGBA2RGB), both[..., 3]


def _jacobian(map_x: np.ndarray, map_y: np.ndarray, spacing: float) -> np.ndarray:
    """Jacobian determinant of a sampled map (central differences; ``spacing`` pixels between samples)."""
    if min(map_x.shape) < 2:
        return np.ones_like(map_x)
    gx_x = _gradient(map_x, 1)
    gx_y = _gradient(map_x, 0)
    gy_x = _gradient(map_y, 1)
    gy_y = _gradient(map_y, 0)
    return ((gx_x * gy_y - gx_y * gy_x) / (spacing * spacing)).astype(np.float32)


def _gradient(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.gradient(values, axis=axis)`` of a 2-D array with at least 2 samples along ``axis``, written out: the same
    operations (central differences / 2 inside, one-sided differences at the ends), bit for bit, without its set-up
    (a few times its arithmetic on the grid's nodes)."""
    v = np.moveaxis(values, axis, 0)
    out = np.empty_like(values)
    o = np.moveaxis(out, axis, 0)
    np.subtract(v[2:], v[:-2], out=o[1:-1])
    o[1:-1] /= 2.0
    np.subtract(v[1], v[0], out=o[0])
    np.subtract(v[-1], v[-2], out=o[-1])
    return out

