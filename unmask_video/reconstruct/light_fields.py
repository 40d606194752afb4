"""What the reference composite's ``light="skin"`` match measures on a face and carries to its next frames.

Where the face is in the pixels of the arrays matched (:class:`Anchor`), the fields measured on one frame of it
(:class:`LightFields`: the light field, the contrast, the colour bound, ...; moved with the face onto a later frame),
and one face's fields from frame to frame (:class:`LightTrack`: reused where the ring is about theirs, else measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.reconstruct.lab_pixels import channel_rows, interleaved
from unmask_video.reconstruct.light_plane import Across
from unmask_video.reconstruct.ring_colour import MaskColour


@dataclass
class Anchor:
    """Where the face is in the pixels of the arrays given to :func:`match_color`: its landmarks' mean ``centre``
    ((2,) x, y) and its ``size`` (their width), in pixels. Fields measured on one frame are moved to another's by it."""

    centre: np.ndarray
    size: float

    def shifted(self, x0: int, y0: int) -> Anchor:
        """The same in the pixels of a box of those arrays starting at (``x0``, ``y0``)."""
        return Anchor(self.centre - np.array([x0, y0], np.float32), self.size)


@dataclass
class LightFields:
    """What ``light="skin"`` measured on a face's ring in one frame (:func:`match_skin_light`), for the next frames of
    the face (:attr:`CompositeOptions.field_refresh`): the light field ``d`` (after the temporal filter), (3, w * h) at
    the working size ``small`` (w, h) of a region of ``shape`` (h, w) in which the face was at ``anchor``; the contrast,
    the colour bound and trust, the reference skin's spread on the ring (``theirs``), the highlight's knee and the frame
    skin's robust spread the seam is capped with (``skin_spread``; None: not capped), the ring's size and the colours of
    the mask and the reference's skin (:func:`hole_colours`).
    The seam field is measured on every frame (it follows the frame's mask edge)."""

    d: np.ndarray
    contrast: np.ndarray
    limit: float
    trust: float
    theirs: np.ndarray | None
    knee: float
    skin_spread: np.ndarray | None
    small: tuple[int, int]
    shape: tuple[int, int]
    anchor: Anchor
    #: The ring's pixels, over the face's size squared.
    ring_px: float = 0.0
    #: The mask's colour and the reference skin's (:func:`hole_colours`).
    mask_colour: MaskColour | None = None
    skin_stats: tuple[np.ndarray, np.ndarray] | None = None
    #: The share of the reference's light across the face replaced by the frame's, and the frame's
    #: (:func:`~unmask_video.reconstruct.light_plane.across_share`; None: none).
    across: Across | None = None
    #: How far the ring pixels in the reference's own shade were left out (:func:`shade_strength`; > 0: out of the seam
    #: too, on the frames between as well).
    shade: float = 0.0
    #: The share of the reference's smooth skin light's variation taken out (:meth:`_SkinBase.level`), per Lab channel.
    level: np.ndarray | None = None
    #: The frame skin's fine detail over the reference's, per Lab channel, after the temporal filter
    #: (:func:`~unmask_video.reconstruct.skin_detail.detail_ratio`; None: not measured, the contrast carries it).
    detail: np.ndarray | None = None
    #: The reference's skin bands' gains and the face's size in working pixels
    #: (:func:`~unmask_video.reconstruct.skin_grain.grain_gains`; None: none scaled).
    grain: tuple[np.ndarray, float] | None = None

    def fits(self, ring_px: int, anchor: Anchor, tolerance: float) -> bool:
        """Whether a frame whose ring holds ``ring_px`` pixels, its face at ``anchor``, has about the ring these
        fields were measured on (its pixels, relative to the face's size, within ``tolerance`` of theirs)."""
        density = ring_px / max(anchor.size, 1.0) ** 2
        return abs(density - self.ring_px) <= tolerance * self.ring_px

    def moved(self, field: np.ndarray, anchor: Anchor, shape: tuple[int, int], small: tuple[int, int]) -> np.ndarray:
        """One of the fields ((3, w * h) at :attr:`small`) moved with the face to a region of ``shape`` (h, w) where it
        is at ``anchor``, at that region's working size ``small`` (w, h): (3, w' * h'), the edge's values held past
        the edge."""
        scale = self.anchor.size / max(anchor.size, 1e-6)
        m = np.zeros((2, 3), np.float64)
        for axis in range(2):  # x, then y
            n_new, n_old = small[axis], self.small[axis]
            px_new, px_old = shape[1 - axis], self.shape[1 - axis]
            # working pixel -> region pixel -> relative to the face -> the old region's pixel -> its working pixel
            a_new, a_old = px_new / n_new, n_old / px_old
            m[axis, axis] = scale * a_new * a_old
            offset = 0.5 * a_new - 0.5 - float(anchor.centre[axis])
            m[axis, 2] = (float(self.anchor.centre[axis]) + scale * offset + 0.5) * a_old - 0.5
        image = interleaved(field, self.small)
        moved = cv2.warpAffine(image, m, small, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        return channel_rows(moved.reshape(-1, 3))


@dataclass
class LightTrack:
    """One face's ``light="skin"`` fields from frame to frame (:attr:`CompositeOptions.field_refresh`): where the face
    is in the pixels of the arrays given to :func:`match_color` (``anchor``), the fields an earlier frame measured to
    reuse if its ring is about theirs (``tolerance``: :attr:`CompositeOptions.field_reuse_ring`; None: measure them on
    this one), and, set by :func:`match_color`, whether they were reused (``reused``) or what this frame measured
    (``measured``; None: reused, or no colour match could be made).

    With the reads made in turn (:attr:`CompositeOptions.reads_in_turn`): whether this frame reads the mask's and the
    reference skin's colours (:func:`hole_colours`; ``read_colours``: a frame that reuses the fields reads them afresh),
    those a frame that measures takes instead (``held``; None: read them), and, set by :func:`match_color`, what a frame
    that reused the fields read (``colours``; None: not read)."""

    anchor: Anchor
    reuse: LightFields | None = None
    tolerance: float = 0.0
    reused: bool = False
    measured: LightFields | None = None
    held: tuple[MaskColour | None, tuple[np.ndarray, np.ndarray] | None] | None = None
    read_colours: bool = False
    colours: tuple[MaskColour | None, tuple[np.ndarray, np.ndarray] | None] | None = None
