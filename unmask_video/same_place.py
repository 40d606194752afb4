"""Whether the warp carries the reference's surroundings past its face outline (a reference taken where the frame is).

Past its face outline (the region below its jaw and the band past its outline, outside the reference matte) the
reference shows its wall, hair or collar: carried onto a frame of another place they show as strips beside the jaw,
so only a reference whose surroundings there look like what the frame shows outside the mask, judged per face track
and seen in the reference's pose (:meth:`SamePlace.pose`), carries them (:meth:`SamePlace.carried`). The per-track
state lives here; :class:`~unmask_video.warp.ReferenceWarper` asks.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from unmask_video.face_shape import yaw

__all__ = ["SAME_PLACE_LOCAL", "SamePlace"]

#: Past its face outline the reference shows what the frame shows (the same place) when most of those pixels seen
#: outside the mask are within this many Lab units of the frame's...
_SAME_PLACE_LAB = 20.0
#: ... judged on at least this many pixels, and averaged over a track's frames with this weight of the past.
_SAME_PLACE_MIN_PIXELS = 30
_SAME_PLACE_SMOOTHING = 0.8
#: At most this many of those pixels are compared (an even subsample).
_SAME_PLACE_MAX_PIXELS = 1500
#: Even from the same place, the reference's surroundings are carried only where, near the mask, few of those pixels
#: (at most this fraction, in a Gaussian neighbourhood of :data:`_SAME_PLACE_SIGMA` face heights) differ from the frame's
#: by more than :data:`_SAME_PLACE_LAB`: the spline follows the face, and a wall the head has moved in front of since
#: the photo lands beside the jaw shifted (its edges where the frame shows none, in arcs); there the frame's own
#: surroundings are continued (the composite's fill).
SAME_PLACE_LOCAL = 0.1
_SAME_PLACE_SIGMA = 0.04
#: The reference's surroundings are carried only while the frame's face turns (:func:`yaw`) within this much of the
#: reference's, and stop once it differs by more than this.
_SAME_POSE_ENTER = 0.08
_SAME_POSE_LEAVE = 0.11


class SamePlace:
    """Per face track: whether the frame is seen in the reference's pose (turned as the reference's head within
    :data:`_SAME_POSE_ENTER`), and whether the reference's surroundings look like the frame's there."""

    def __init__(self, reference_yaw: float) -> None:
        #: The reference still's head turn (:func:`yaw` of its landmarks).
        self._yaw = reference_yaw
        #: Per face track: the averaged fraction of the reference's surroundings that look like the frame's.
        self.places: dict[int, float] = {}
        #: Per face track: whether it is seen in the reference's pose (hysteresis of :meth:`pose`).
        self.poses: dict[int, bool] = {}

    def reset(self, track: int | None = None) -> None:
        """Forget one face track (``None``: every track)."""
        for per_track in (self.places, self.poses):
            for key in list(per_track) if track is None else [track]:
                per_track.pop(key, None)

    def carried_before(self, track: int | None, pose: bool) -> bool:
        """Whether the track's frames so far carried the reference's surroundings (:meth:`carried`'s average at least a
        half) and the face is in the reference's pose (``pose``)."""
        if track is None or not pose:
            return False
        return self.places.get(track, 0.0) >= 0.5

    def carried(
        self,
        sub: np.ndarray,
        inside: np.ndarray,
        image: np.ndarray | None,
        mask: np.ndarray | None,
        box: tuple[int, int, int, int],
        track: int | None,
        height: float = 0.0,
        photo: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray | None:
        """Where the reference's surroundings past its face outline (``inside``, the box's validity level, from 64 up to
        192: past the matte, within the region) are carried: None
        (nowhere) unless they look like what the frame shows there outside the mask (most of those pixels within
        :data:`_SAME_PLACE_LAB` Lab units of the frame's, averaged over the track's frames); then an (h, w) bool map of
        the box, False near where many of them differ (:data:`SAME_PLACE_LOCAL`; ``height``: the face height in pixels,
        0: everywhere True). No frame or mask given: None. ``photo``: the reference as the photo shows it at the box's
        pixels (rows, cols) -> (N, 3) uint8, where ``sub`` holds ``matte_edge``'s recolour (None: ``sub`` is the photo's):
        the decision is the same whichever picture was remapped first."""
        if image is None or mask is None:
            return None
        x0, y0, x1, y1 = box
        # On a grid of every k-th pixel (about 150 across): a fraction needs no more.
        k = max(1, min(y1 - y0, x1 - x0) // 150)
        covered = np.greater(mask[y0:y1:k, x0:x1:k], 0).view(np.uint8)
        near = cv2.dilate(covered, np.ones((2 * (3 // k) + 3, 2 * (3 // k) + 3), np.uint8))
        # (OpenCV's tests and flat indices: the same pixels as numpy's three tests and 2-D nonzero, several times faster)
        around = cv2.bitwise_and(cv2.inRange(inside[::k, ::k], 64, 191), (near == 0).view(np.uint8))  # (0 or 1)
        held = self.places.get(track) if track is not None else None
        far = None
        if cv2.countNonZero(around) >= _SAME_PLACE_MIN_PIXELS:
            # (OpenCV's list of the pixels, in np.flatnonzero's row-major order; the pixels read at their places in the
            # whole pictures: the same pixels as through the subsampled views, without those views' fancy indexing)
            where = cv2.findNonZero(around)[:, 0]
            step = -(-len(where) // _SAME_PLACE_MAX_PIXELS)  # an even subsample is enough for a fraction
            ys, xs = where[::step, 1], where[::step, 0]
            read = sub[ys * k, xs * k] if photo is None else photo(ys * k, xs * k)
            ref = cv2.cvtColor(read.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
            seen = image[y0 + ys * k, x0 + xs * k]
            frame = cv2.cvtColor(seen.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
            diff = (ref - frame).reshape(-1, 3)
            alike = float(np.mean(np.linalg.norm(diff, axis=1) < _SAME_PLACE_LAB))
            held = alike if held is None else _SAME_PLACE_SMOOTHING * held + (1.0 - _SAME_PLACE_SMOOTHING) * alike
            if track is not None:
                self.places[track] = held
            far = (ys, xs, diff)
        if held is None or held < 0.5:
            return None
        h, w = y1 - y0, x1 - x0
        if far is None or height <= 0:
            return np.ones((h, w), bool)
        # The fraction of the compared pixels that differ, near each pixel (normalised convolution on the grid): the
        # carried surroundings stop where the frame's continue otherwise.
        ys, xs, diff = far
        grid = around.shape
        sigma = max(_SAME_PLACE_SIGMA * height / k, 1.0)
        # What differs once the change of light is taken off (the difference's smooth part, over twice the
        # neighbourhood): the same place in other light is still the same place, a shifted edge is not.
        sums = np.zeros(grid + (4,), np.float32)
        np.add.at(sums, (ys, xs), np.concatenate([diff, np.ones((len(ys), 1), np.float32)], axis=1))
        sums = cv2.GaussianBlur(sums, (0, 0), 2.0 * sigma, borderType=cv2.BORDER_CONSTANT)
        light = sums[ys, xs, :3] / np.maximum(sums[ys, xs, 3:], 1e-6)
        apart = np.linalg.norm(diff - light, axis=1) >= _SAME_PLACE_LAB
        count = np.zeros(grid, np.float32)
        differ = np.zeros(grid, np.float32)
        np.add.at(count, (ys, xs), 1.0)
        np.add.at(differ, (ys, xs), apart.astype(np.float32))
        count = cv2.GaussianBlur(count, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        differ = cv2.GaussianBlur(differ, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        # (far from every compared pixel, the fraction over them all)
        floor = np.float32(1e-3 * len(ys) / max(grid[0] * grid[1], 1))
        fraction = (differ + floor * (1.0 - held)) / (count + floor)
        carry = (fraction <= SAME_PLACE_LOCAL).astype(np.uint8)
        return cv2.resize(carry, (w, h), interpolation=cv2.INTER_NEAREST) > 0

    def pose(self, landmarks: np.ndarray, track: int | None) -> bool:
        """Whether the face turns about as the reference's does (:func:`yaw` within :data:`_SAME_POSE_ENTER` of it;
        a track that was, until it differs by more than :data:`_SAME_POSE_LEAVE`). Only then does the reference's
        surroundings beside its face lie beside the frame's: once the head has turned, its wall lands on the cheek."""
        turn = abs(yaw(landmarks) - self._yaw)
        held = self.poses.get(track, False) if track is not None else False
        same = turn <= (_SAME_POSE_LEAVE if held else _SAME_POSE_ENTER)
        if track is not None:
            self.poses[track] = same
        return same
