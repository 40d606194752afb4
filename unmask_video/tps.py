"""The thin-plate spline the reference warp is made of.

:func:`fit_tps` fits a 2-D thin-plate spline (:class:`TPS`) to pairs of points, optionally regularised, in normalised
coordinates so the regularisation means the same at every face size; the spline is evaluated at points
(``TPS.__call__``) or on a grid (:meth:`TPS.grid`, the fast path the warp's maps use).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.errors import ProcessingError


def _kernel(d2: np.ndarray) -> np.ndarray:
    """The thin-plate radial basis U(r) = r^2 log r^2, written on squared distances (U(0) = 0)."""
    # d2 * log(d2) -> 0 as d2 -> 0; the floor keeps log finite and gives exactly 0 at the centres.
    return d2 * np.log(np.maximum(d2, 1e-300))


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of ``a`` (N, 2) and ``b`` (M, 2): (N, M)."""
    dx = a[:, 0:1] - b[None, :, 0]
    dy = a[:, 1:2] - b[None, :, 1]
    return dx * dx + dy * dy


@dataclass(frozen=True)
class TPS:
    """A fitted 2-D thin-plate spline ``f(p) = A [1, p] + sum_i w_i U(|p - c_i|)``.

    Coordinates are normalised (``(p - center) / scale``) before the kernel is applied, so the
    regularisation means the same thing at every face size. Call it with (N, 2) points.
    """

    centers: np.ndarray  # (K, 2) normalised control points (the fit's ``dst``)
    weights: np.ndarray  # (K, 2) radial weights
    affine: np.ndarray  # (3, 2) rows: constant, x, y
    center: np.ndarray  # (2,) normalisation offset
    scale: float  # normalisation scale

    def __call__(self, points: np.ndarray) -> np.ndarray:
        p = (np.asarray(points, dtype=np.float64).reshape(-1, 2) - self.center) / self.scale
        u = _kernel(_sq_dists(p, self.centers))
        out = u @ self.weights + self.affine[0] + p @ self.affine[1:]
        return out

    def grid(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate on the grid ``xs`` x ``ys``; returns (map_x, map_y), each (len(ys), len(xs)) float32.

        Computed in float32 with separable squared distances (several times faster than ``__call__``
        on the grid; the error is far below a thousandth of a pixel at face sizes).
        """
        c = self.centers.astype(np.float32)
        px = ((np.asarray(xs, np.float64) - self.center[0]) / self.scale).astype(np.float32)
        py = ((np.asarray(ys, np.float64) - self.center[1]) / self.scale).astype(np.float32)
        dx2 = (px[:, None] - c[None, :, 0]) ** 2  # (nx, K)
        dy2 = (py[:, None] - c[None, :, 1]) ** 2  # (ny, K)
        d2 = (dy2[:, None, :] + dx2[None, :, :]).reshape(-1, len(c))  # (ny * nx, K)
        # u = d2 log(max(d2, eps)), written into one buffer (without three more temporaries of the (ny, nx, K) size).
        # OpenCV's log: several times faster than numpy's here, and within 1e-4 px on the maps (the remap's fixed
        # point has 1/32 px).
        u = np.maximum(d2, np.float32(1e-30))
        cv2.log(u, dst=u)
        np.multiply(d2, u, out=u)
        # (OpenCV's product, not numpy's: this one is big enough for OpenBLAS to wake its threads, which on busy cores
        # costs more than the product)
        out = cv2.gemm(u, self.weights.astype(np.float32), 1.0, None, 0.0).reshape(len(py), len(px), 2)
        a = self.affine.astype(np.float32)
        map_x = out[..., 0] + (a[0, 0] + px[None, :] * a[1, 0] + py[:, None] * a[2, 0])
        map_y = out[..., 1] + (a[0, 1] + px[None, :] * a[1, 1] + py[:, None] * a[2, 1])
        return np.ascontiguousarray(map_x), np.ascontiguousarray(map_y)


def fit_tps(src: np.ndarray, dst: np.ndarray, regularization: float = 0.0) -> TPS:
    """Fit the spline that maps ``dst`` points onto ``src`` points (a backward map for ``cv2.remap``).

    ``src`` and ``dst`` are (K, 2) arrays of corresponding points, K >= 3 and not all on a line.
    With ``regularization == 0`` the spline interpolates the points exactly; a positive value
    (in normalised units, about 1e-3 .. 1e-1 is sensible) trades exactness for smoothness, which
    keeps jittery or inconsistent landmarks from folding the map.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 3:
        raise ValueError(f"fit_tps needs two equal (K, 2) point arrays with K >= 3, got {src.shape} and {dst.shape}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ProcessingError("thin-plate-spline warp got non-finite landmarks; check the face tracking")
    if regularization < 0:
        raise ValueError(f"regularization must be >= 0, got {regularization}")

    center = dst.mean(axis=0)
    scale = float(np.sqrt(((dst - center) ** 2).sum(axis=1).mean()))
    if not scale > 1e-9:
        raise ProcessingError("thin-plate-spline warp got coincident landmarks; check the face tracking")
    d = (dst - center) / scale
    s = (src - center) / scale

    k = len(d)
    kmat = _kernel(_sq_dists(d, d))
    if regularization:
        kmat[np.diag_indices(k)] += regularization
    p = np.hstack([np.ones((k, 1)), d])
    lhs = np.zeros((k + 3, k + 3))
    lhs[:k, :k] = kmat
    lhs[:k, k:] = p
    lhs[k:, :k] = p.T
    rhs = np.zeros((k + 3, 2))
    rhs[:k] = s
    # OpenCV's LU, not numpy's: LAPACK through a multi-threaded OpenBLAS pays thread wake-ups on this
    # small system when the cores are busy, far more than the solve itself; OpenCV's runs in-thread.
    ok, sol = cv2.solve(lhs, rhs, flags=cv2.DECOMP_LU)
    if not ok or not np.isfinite(sol).all():
        raise ProcessingError(
            "thin-plate-spline warp is degenerate (landmarks collinear); check the face tracking"
        )
    # The fit is done in normalised coordinates on both sides; scale the output back to pixels.
    weights = sol[:k] * scale
    affine = sol[k:] * scale
    affine[0] += center
    return TPS(centers=d, weights=weights, affine=affine, center=center, scale=scale)

