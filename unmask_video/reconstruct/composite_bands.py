"""The composite's distances and bands around the hole, in one face's pixels.

:class:`Lengths` holds :class:`~unmask_video.reconstruct.composite.CompositeOptions`' face lengths at one face's size;
from the distance to the hole, :func:`bands` gives the paste band (the hole and the band the blend cross-fades over,
where the warp is valid), the ring of visible skin the colour is matched on and its statistics part,
:func:`with_fringe` takes the cloth's fringe into the hole, :func:`beside` gives the ring's pixels the warp does not
reach.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from unmask_video.reconstruct.fill_seam import distance_to

__all__ = ["Lengths", "band_px", "bands", "beside", "with_fringe"]


@dataclass(frozen=True)
class Lengths:
    """The composite's distances in pixels for one face: the face lengths of
    :class:`~unmask_video.reconstruct.composite.CompositeOptions` at its size."""

    band: float
    ring: float
    ring_gap: float
    stats_gap: float
    inpaint_radius: float
    inpaint_grow: float
    fill_feather: float
    bleed: float
    fringe: float

    def scaled(self, k: float) -> Lengths:
        """The same lengths on the region resized by ``k`` (a working size: the full-size face's floors kept)."""
        return Lengths(*(k * v for v in astuple(self)))


def bands(
    dist: np.ndarray, valid: np.ndarray, lengths: Lengths, upsampled: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(paste, ring, stats): the hole and its blend band where the warp is valid, the ring of visible
    skin the seam is matched on, and the part of it the colour statistics come from (None: all of it),
    (h, w) bool each, from the distance to the hole."""
    # The band the blend cross-fades over is filled too (where the warp is valid); at a working
    # scale (``upsampled``) one pixel more, so that it still covers the full-size band once scaled back.
    paste = (dist <= band_px(lengths, upsampled)) & valid
    gap, width = lengths.ring_gap, max(lengths.ring, 1.5)
    stats_gap = lengths.stats_gap
    # Skin only: where the warp is valid (the reference's face and the region below its jaw); the
    # mask's colour, hair, shadows and hands are dropped from the ring's statistics as outliers.
    ring = (dist > gap) & (dist <= max(gap, stats_gap) + width) & valid
    return paste, ring, (ring & (dist > stats_gap)) if stats_gap > gap else None


def with_fringe(
    hole: np.ndarray, fringe: np.ndarray, valid: np.ndarray, lengths: Lengths, upsampled: bool,
    ring: np.ndarray, stats: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hole, dist, paste): the ``hole`` with the cloth's ``fringe``
    (:attr:`~unmask_video.reconstruct.composite.CompositeOptions.fringe`) taken in, every pixel's distance to it and the
    paste band from it (:func:`bands`); the colour ``ring`` and ``stats`` keep their distances from the segmented line,
    less the fringe (changed in place)."""
    hole = hole | fringe
    ring &= ~fringe
    if stats is not None:
        stats &= ~fringe
    dist = distance_to(hole, "composite.dist")
    return hole, dist, (dist <= band_px(lengths, upsampled)) & valid


def beside(dist: np.ndarray, valid: np.ndarray, lengths: Lengths) -> np.ndarray:
    """(h, w) bool: the colour ring's band (past ``stats_gap``, as its statistics) where the warp does not reach
    (:attr:`~unmask_video.reconstruct.composite.CompositeOptions.beside`)."""
    far = max(lengths.ring_gap, lengths.stats_gap)
    return (dist > far) & (dist <= far + max(lengths.ring, 1.5)) & ~valid


def band_px(lengths: Lengths, upsampled: bool = False) -> int:
    """How far outside the hole the band the blend cross-fades over is filled (px; ``upsampled``: see
    :func:`bands`)."""
    return max(int(np.ceil(lengths.band)), 0) + (1 if upsampled else 0)
