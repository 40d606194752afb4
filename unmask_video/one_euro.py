"""The One-Euro filter (Casiez et al., CHI 2012): speed-adaptive low-pass smoothing of landmarks."""

from __future__ import annotations

import math

import numpy as np


def _smoothing_factor(te: float, cutoff: np.ndarray | float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / te)


class OneEuroFilter:
    """The One-Euro filter (Casiez et al., CHI 2012), vectorised over an array of any shape.

    By default every element is filtered independently with its own speed-adaptive cutoff. With
    ``shared_speed=True`` one cutoff, driven by the root-mean-square speed of all elements, is used
    for the whole array: the points of a rigidly moving shape (a face) are then smoothed alike, so the
    shape does not distort, and the speed estimate is far less noisy.

    ``__call__(x, t)`` takes the raw value ``x`` (any shape, fixed from the first call) at time ``t``
    seconds and returns the filtered value (float64 array of the same shape). A time that does not
    move forward returns the last output (same ``t``) or restarts the filter (earlier ``t``).
    """

    def __init__(
        self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0, shared_speed: bool = False
    ) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("OneEuroFilter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.shared_speed = bool(shared_speed)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next call returns its input unchanged."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @property
    def velocity(self) -> np.ndarray | None:
        """The filtered derivative (units per second), ``None`` before the first call."""
        return None if self._dx is None else self._dx.copy()

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is not None and x.shape != self._x.shape:
            raise ValueError(f"OneEuroFilter got shape {x.shape}, expected {self._x.shape}")
        if self._x is None or self._t is None or t < self._t:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            self._t = float(t)
            return self._x.copy()
        te = float(t) - self._t
        if te <= 0.0:
            return self._x.copy()
        assert self._dx is not None
        dx = (x - self._x) / te
        a_d = _smoothing_factor(te, self.d_cutoff)
        dx_hat = self._dx + a_d * (dx - self._dx)
        speed = np.sqrt(np.mean(dx_hat**2)) if self.shared_speed else np.abs(dx_hat)
        cutoff = self.min_cutoff + self.beta * speed
        a = _smoothing_factor(te, cutoff)
        x_hat = self._x + a * (x - self._x)
        self._x, self._dx, self._t = x_hat, dx_hat, float(t)
        return x_hat.copy()


__all__ = ["OneEuroFilter"]
