"""The ear loops' options (:mod:`unmask_video.ear_loops`) and what a search read that the frames after it follow
with."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["EarLoopOptions", "Look"]


@dataclass(frozen=True)
class EarLoopOptions:
    """Lengths as fractions of the face's size (:func:`~unmask_video.face_units.face_size_px`)."""

    #: Off: the mask is returned as the segmenter made it.
    enabled: bool = True
    #: The zone where loops are looked for on each side: a disc of this radius around the face outline at the ear
    #: (``landmark_sets.OUTLINE_SIDES``), joined (convex hull) to the mask's side edge there.
    ear_radius: float = 0.3
    #: Each zone lies past the eye's outer corner (towards the ear) and leaves out a disc of this radius round it: a
    #: loop leaves the mask's side edge for the ear across the cheek, never up at the eye, whose corner's pale lid and
    #: the skin under it, over the top edge of a mask worn high, read as short strokes of a white mask's colour (the
    #: real loops on the KF94 and grey-mask clips pass no nearer than 0.11 and 0.15).
    eye_clear: float = 0.08
    #: The mask's side edges: its outer ``side`` of its width on either side, above its lowest third.
    side: float = 0.2
    #: Each zone's hull also takes the side edge down to this share of the mask's height above its lowest row: a
    #: loop's lower part runs back to the mask's lower corner, below the ear's disc (over the neck, the hair or a wall
    #: beside the jaw). The loops still start only from the side edge above the lowest third, and the colours the
    #: strokes are read against (the zone's typical colour) are still read on the zone it bounds. None: not taken.
    low_side: float | None = 0.1
    #: The local background's square (odd, at least 3 px): wider than a loop, so it wipes one out.
    background: float = 0.05
    #: A stroke pixel lies at least this far (a fraction: the projection) from its background towards the mask's
    #: colour, by at least ``floor`` Lab units, where background and mask differ by ``contrast`` Lab units.
    towards: float = 0.5
    floor: float = 12.0
    contrast: float = 20.0
    #: The weaker stroke pixels a kept stroke and the last frame's loops grow into (``towards`` and ``floor``
    #: times this).
    weak: float = 0.6
    #: Within this many Lab units of the mask's colour in each channel, a patch that an opening of ``patch`` keeps is
    #: that colour's own area (a collar, a wall, the mask's wing), never a loop; weak stroke pixels are grown into
    #: where such an opening of them leaves none (thin, not a pale patch).
    same_colour: float = 18.0
    patch: float = 0.03
    #: A loop is thinner than this (its area over its length) ...
    width: float = 0.02
    #: ... and each stroke is at least this long (its outline's half).
    min_length: float = 0.03
    #: A stroke joins the loop when it comes within half this distance of the mask's side edge or of a stroke already
    #: joined (a loop broken by a finger, a strand of hair): the chain is grown by a disc this wide (an odd number of
    #: pixels, at least 3), so it reaches half of it (0.03 of a 240 px face: a 7 px disc, 3 px of reach).
    gap: float = 0.03
    #: The search also keeps the strokes joined to a kept one by a run of thin weaker stroke pixels over dark hair
    #: (their background darker than the mask's colour by ``bridge_dark`` Lab units of lightness): a loop that arcs
    #: out past the ear over dark hair, read only weakly at its bend, is followed on to its strong strokes there
    #: (off: each strong stroke comes within the gap's reach of the chain). Not over lighter backgrounds: there a
    #: finger's edge or an ear's lit rim reads as such a run (the KF94 and grey-mask clips).
    bridge: bool = True
    bridge_dark: float = 140.0
    #: A kept stroke grows this far into the weaker stroke pixels next to it (its blurred ends and sides).
    grow: float = 0.01
    #: How many times strokes are joined to the chain (each time, those within the gap's reach of it).
    links: int = 4
    #: Faces wider than this (px) are looked at shrunk to this size (their loops are as many pixels wide as a 720p
    #: face's, or more); None: at the frame's size.
    work_face_px: float | None = 320.0
    #: The radius (px) of OpenCV's Telea inpainting that fills the loops from what surrounds them.
    inpaint_radius: float = 3.0
    #: The full search runs at least every this many frames of a track (1: every frame); on the frames between, the
    #: last frame's loops are followed (:func:`~unmask_video.ear_loop_follow.follow_loops`): looked for only near where they were, moved with
    #: the ear beside them, in their own box, with the colours the search found.
    search_every: int = 4
    #: A track whose last this many searches in a row found no loops holds that "none" until its next search (under
    #: the conditions above and below: a loop that shows is found within ``search_every`` frames); before, and after
    #: a search that found loops, each frame without loops searches. (A new face's loops, and loops at a search's
    #: threshold, show on some frames and not on others: one search that found none is not yet a face without.)
    #: None: a track without loops searches on every frame.
    hold_none_after: int | None = 2
    #: ... and again as soon as the face moved more than this (the landmarks' mean shift since the search) ...
    moved: float = 0.05
    #: ... or the mask's area changed by more than this fraction of its area at the search ...
    mask_change: float = 0.1
    #: ... or fewer than this share of the searched loops, moved with their ear, lie on or next to thin weak stroke
    #: pixels.
    kept_share: float = 0.6
    #: Followed loops are the searched ones, moved with their ear, and the thin weak stroke pixels within this
    #: distance of them.
    follow_reach: float = 0.01
    #: A follow also looks round the mask's side edges (the box of the rim loops start from: new loops there, a stub
    #: at a top corner) on every this many frames after a search (1: every frame; the search looks there too);
    #: between, only round the loops held, the strokes searched and the top ``edge_top`` of that box (a fraction of the
    #: face's size: the mask's top corners, where loops leave it).
    edge_every: int = 2
    edge_top: float = 0.15
    #: The search reads each side on its own box (its zone's, grown by its filters' reach: the pixels between the
    #: sides never read) only where the zones' joint box is larger than this (px); on a smaller face the calls per
    #: side cost more than the pixels they skip, and the joint box is read (the same loops either way).
    split_px: int = 40000


@dataclass(frozen=True)
class Look:
    """What a search read: the mask's colour (Lab) and, per Lab channel, whether the loops are brighter there than
    their zone's typical pixel (their background is an opening, else a closing); its zones' hulls and starts."""

    cloth: np.ndarray
    opened: tuple[bool, bool, bool]
    #: Per side (``OUTLINE_SIDES``' order): the convex hull (n, 2) float32 of its zone, before the eye's corner cuts
    #: it (:mod:`~unmask_video.ear_loop_search`), in the searched image's pixels (then the ROI's, then the frame's).
    hulls: tuple[np.ndarray, ...] = ()
    #: Per side: the box ((x0, y0), (x1, y1)) float32 of the mask's side edge the loops start from ((0, 2): none).
    starts: tuple[np.ndarray, ...] = ()

    def moved(self, offset: np.ndarray, scale: float) -> Look:
        """This look with its zones' hulls and starts scaled by ``scale`` and then moved by ``offset`` (x, y)."""
        return replace(self, hulls=tuple((hull * scale + offset).astype(np.float32) for hull in self.hulls),
                       starts=tuple((start * scale + offset).astype(np.float32) for start in self.starts))  # fmt: skip
