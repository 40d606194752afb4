"""When the composite measures a face's ``light="skin"`` colour fields and when it reuses them, and which reads go
with a measure.

With :attr:`~unmask_video.reconstruct.composite.CompositeOptions.field_refresh` the fields measured on a face
(:class:`~unmask_video.reconstruct.light_fields.LightFields`) are reused on its next frames while it barely moves;
with :attr:`~unmask_video.reconstruct.composite.CompositeOptions.reads_in_turn` the reads that go with a measure (the
mask's and the reference skin's colours, the cloth's bleed, the colours its fringe is told by) are made one a frame,
in turn, on the frames that reuse them. :class:`FieldRefresh` keeps what was last measured on each face.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from unmask_video.reconstruct.face_history import FaceHistory, Located
from unmask_video.reconstruct.light_fields import Anchor, LightFields, LightTrack
from unmask_video.reconstruct.ridge_detail import HeldRidge
from unmask_video.reconstruct.under_jaw_shade import HeldLift

if TYPE_CHECKING:
    from unmask_video.reconstruct.composite import CompositeOptions

__all__ = ["FieldRefresh", "MeasuredFields"]

#: The reads that go with a measure of the colour fields, made one a frame in this order on the frames of a face that
#: reuse the fields (:attr:`CompositeOptions.reads_in_turn`).
_READS = ("colours", "bleed", "fringe")


@dataclass(frozen=True)
class MeasuredFields:
    """The ``light="skin"`` fields last measured on a face (:class:`LightFields`), its landmarks in the frame then
    ((468, 2)), and on how many frames since they were reused."""

    fields: LightFields
    landmarks: np.ndarray
    age: int
    #: Frames carried since the temporal averages were last advanced (:attr:`CompositeOptions.carry_frames`).
    skipped: int = 0
    #: The reads made on the face's frames since its first: whose turn it is to be read next, and the rebuilt frames
    #: since the last (:attr:`CompositeOptions.reads_in_turn`).
    turn: int = 0
    waited: int = 0
    #: The detail laid along the nose's ridge on the frame the fields were measured on, laid again on the frames that
    #: reuse them (:attr:`CompositeOptions.ridge`; None: none).
    ridge: HeldRidge | None = None
    #: The lift of the photo's shade under the jaw laid on that frame, laid again on the frames that reuse the fields
    #: (:attr:`CompositeOptions.under_jaw`; None: none).
    lift: HeldLift | None = None


class FieldRefresh:
    """Per face, the ``light="skin"`` fields last measured on it: whether a frame measures them or reuses them, and
    which reads it makes."""

    def __init__(self, options: CompositeOptions) -> None:
        self.options = options
        #: Per face: the ``light="skin"`` fields last measured on it (:attr:`CompositeOptions.field_refresh`).
        self.fields: FaceHistory[MeasuredFields] = FaceHistory()

    def carried(self, located: Located) -> None:
        """A frame of the face (``located``: :func:`face_in_frame` of it) carried its last rebuilt region: the colour
        fields' temporal averages count it as one that went by (the next rebuilt frame weighs the past as after as many
        frames measured alike)."""
        _, centre, size = located
        measured = self.fields.take(centre, size)
        if measured is not None:
            self.fields.put(centre, size, replace(measured, skipped=measured.skipped + 1))

    def track(
        self, landmarks: np.ndarray, located: Located
    ) -> tuple[LightTrack | None, MeasuredFields | None]:
        """(track, last): this face's ``light="skin"`` fields to reuse or to measure (None where the options measure
        them on every frame) and what was last measured on it (taken from the history; None: nothing).
        ``landmarks``: the face's in the pixels of the region rebuilt; ``located``: :func:`face_in_frame` of the
        face."""
        opts = self.options
        if (opts.field_refresh <= 1 or not opts.color_match or opts.local_color_sigma <= 0 or opts.light != "skin"
                or opts.transfer_std):  # fmt: skip
            return None, None
        in_frame, centre, size = located
        last = self.fields.take(centre, size)
        track = LightTrack(Anchor(landmarks.mean(axis=0).astype(np.float32), size), tolerance=opts.field_reuse_ring)
        if last is not None and last.age + 1 < opts.field_refresh and last.landmarks.shape == in_frame.shape:
            moved = float(np.mean(np.hypot(*(in_frame - last.landmarks).T)))
            if moved <= opts.field_reuse_motion * size:
                track.reuse = last.fields
        return track, last

    def reads_now(self, track: LightTrack | None, last: MeasuredFields | None) -> tuple[bool, bool] | None:
        """(bleed, fringe): whether this frame reads the cloth's bleed and the colours its fringe is told by
        (the composite's rebuild's ``reads``; None: where it measures the colour fields, as without
        :attr:`CompositeOptions.reads_in_turn`), with ``track`` and ``last`` from :meth:`track`. With
        ``reads_in_turn`` also sets whether ``track`` reads the mask's and the reference skin's colours
        (:attr:`LightTrack.read_colours`) or, measuring, takes those last read (:attr:`LightTrack.held`): one of the
        three in turn, none on a measuring frame that :meth:`_skips_reads`."""
        if not self.options.reads_in_turn or track is None:
            return None
        if last is None:  # (a face's first fields: all three read)
            return True, True
        if self._skips_reads(track, last):
            track.held = (last.fields.mask_colour, last.fields.skin_stats)
            return False, False
        turn = last.turn % len(_READS)
        track.read_colours = _READS[turn] == "colours"
        if not track.read_colours:
            track.held = (last.fields.mask_colour, last.fields.skin_stats)
        return _READS[turn] == "bleed", _READS[turn] == "fringe"

    def keep(
        self, track: LightTrack, last: MeasuredFields | None, located: Located, ridge: HeldRidge | None = None,
        lift: HeldLift | None = None,
    ) -> None:
        """Put this face's fields back in the history after the composite's rebuild with ``track`` (``last``: what
        :meth:`track` took from it; ``located``: :func:`face_in_frame` of the face; ``ridge``: the detail laid along
        the nose's ridge, and ``lift``: the lift under the jaw, kept with fields this frame measured)."""
        in_frame, centre, size = located
        # (:attr:`CompositeOptions.reads_in_turn`: the next read's turn, the frames since the last read)
        turn, waited = (0, 0) if last is None else (last.turn + 1, 0)
        if last is not None and self._skips_reads(track, last):
            turn, waited = last.turn, last.waited + 1
        if track.reused and last is not None:
            fields = last.fields
            if track.colours is not None:  # (read on this frame: :attr:`CompositeOptions.reads_in_turn`)
                fields = replace(fields, mask_colour=track.colours[0], skin_stats=track.colours[1])
            self.fields.put(centre, size, replace(last, fields=fields, age=last.age + 1, turn=turn, waited=waited))
        elif track.measured is not None:
            self.fields.put(centre, size, MeasuredFields(track.measured, in_frame, 0, turn=turn, waited=waited,
                                                         ridge=ridge, lift=lift))  # fmt: skip

    def _skips_reads(self, track: LightTrack, last: MeasuredFields) -> bool:
        """Whether a frame with ``track`` (:meth:`track`; ``last``: the face's fields then) makes none of the
        reads in turn (:attr:`CompositeOptions.reads_in_turn`): it measures the fields, and the last read is fewer than
        ``field_refresh`` rebuilt frames back."""
        return (self.options.reads_in_turn and track.reuse is None
                and last.waited + 1 < self.options.field_refresh)  # fmt: skip
