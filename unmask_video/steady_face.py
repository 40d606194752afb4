"""The rebuilt face averaged over time per face track, in the face's rigid frame: less flicker on a still head.

The rebuilt lower face changes from frame to frame more than the truth does where the frame's pixels drive it (the
fill beside the jaw, the colour statistics of the ring around a mask whose outline moves by a pixel or so). Each
face's rebuilt ROI is mixed, on its mask only (beside it the blend shows the frame, where a carried past would be a
trail), with the last one carried onto it by the similarity of the landmarks FaceMesh sees
steadily (:data:`~unmask_video.landmark_sets.STABLE_FACE`): an exponential average whose weight of the past falls
with the head's speed, so that a moving head is followed without a trail.

FaceMesh's landmarks around a mask jump by a pixel or two from frame to frame where the head does not move (their
guess under the mask changes with the mask's folds and print), and the warp, so the whole rebuilt face, jumps with
them; the past carried by the same landmarks jumped too, so averaging did not steady it. The past's map is therefore
registered onto the frame itself where the face is seen, above the mask (:meth:`SteadyFace._registered`), and the
rebuilt face is held where the frame's own motion puts it, up to :attr:`SteadyOptions.hold` away from where the
landmarks put it (:meth:`SteadyFace._shifted`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.align import affine_fit
from unmask_video.blend import grown_mask_box
from unmask_video.cell_means import cell_means
from unmask_video.face_units import face_size_px
from unmask_video.landmark_sets import STABLE_FACE
from unmask_video.stages import FaceROI, Image

_STABLE = np.asarray(STABLE_FACE)
#: The registration works on the band above the mask resized to about this many pixels a face.
_REGISTER_FACE_PX = 160.0


@dataclass
class SteadyOptions:
    """Options of :class:`SteadyFace`."""

    #: Weight of the past for a still head (0: off). Quality benchmark, 8 clips x 20 frames, true mask: 0.7 / 0.9 /
    #: 0.95 with ``speed`` 0.1 gave TDE 4.16 / 4.15 against 4.51 without (Telea 5.17), but the lips and jaw doubled
    #: in lp_d12's fast turns; 0.9 with 0.03: 4.21, no trail seen (the landmarks' map, before ``register``).
    weight: float = 0.9
    #: Head speed (root-mean-square motion of the steady landmarks, face widths per frame; with ``register``, as the
    #: registered map moves them) at which the past's weight has fallen to 1/e of ``weight``. With the registration
    #: 0.05 (TDE 4.16 -> 4.14, lp_d12 11.05 -> 10.98, no doubling seen in its turns); 0.08: 4.14.
    speed: float = 0.05
    #: The landmarks the past is carried by (a least-squares affine map): "stable", those FaceMesh sees steadily above
    #: a mask, or "all" (the guesses under the mask jitter: TDE 4.36 instead of 4.19 at weight 0.9, speed 0.05).
    points: str = "stable"
    #: Grey levels: where the frame itself and its carried past differ by this much, the past has
    #: no weight (a hand passing); by less, a weight that falls linearly to that.
    change: float = 24.0
    #: A track not rebuilt for more than this many frames starts afresh.
    gap: int = 3
    #: Register the past's map (the landmarks') onto the frame: the translation (ECC) that best lays the last frame's
    #: pixels on this one's in a band above the mask, of ``register_band`` face sizes; the head's speed is then that
    #: of the registered map. (ECC with a Euclidean motion: no better; a band of 0.15 / 0.4: TDE 4.15 / 4.19.)
    register: bool = True
    register_band: float = 0.25
    #: With ``register``: the rebuilt face (on the mask) is moved by the registered motion's difference from the
    #: landmarks' motion, summed over the frames, up to this fraction of the face's size (0: off): a landmark jump
    #: that the frame does not show is not followed, a drift beyond it is. (0.015 / 0.02: as 0.01 within 0.01 TDE;
    #: an offset leaking back to 0 by 10 % / 30 % a frame: worse, 4.18 / 4.20.)
    hold: float = 0.01
    #: The past mixed in only where it was rebuilt itself (its own mask, carried): beside its mask the past shows the
    #: frame as it was, a mask's rim the segmentation missed there would stay on this frame's mask (the KF94 clip's
    #: frame 80 -> 82-84: a white sliver fading out over the frames after). False: the past everywhere on the mask.
    past_mask: bool = True
    #: The past's weight (the frame's change and the carried mask) is measured on the region shrunk by this whole
    #: factor and scaled back (1: at full size). It is smooth (a block average of the change, the masks' soft
    #: edges) and the same OpenCV passes cost in proportion to the pixels; the past itself is still carried and mixed
    #: at full size, and the weight is cut to this frame's full-size mask.
    weight_shrink: int = 2


@dataclass
class _Last:
    frame: int
    points: np.ndarray  # the steady landmarks, frame pixels
    origin: np.ndarray  # the ROI's top-left corner in the frame (x, y)
    image: Image  # the ROI as last given out
    seen: np.ndarray  # the ROI of the frame itself (what the camera saw), grey
    mask: np.ndarray | None = None  # the ROI's mask (float, [0, 1]): where ``image`` was rebuilt (``past_mask``)


def _on_mask(
    roi: FaceROI, region: tuple[slice, slice] | None, box: tuple[slice, slice] | None
) -> tuple[slice, slice] | None:
    """``region`` (None: the whole ROI) cut to ``box``, the box of ``roi``'s mask (None where they do not meet, or
    no mask)."""
    h, w = roi.mask.shape[:2]
    if box is None:
        return None
    rows, cols = region if region is not None else (slice(0, h), slice(0, w))
    rows = slice(max(rows.start, box[0].start), min(rows.stop, box[0].stop))
    cols = slice(max(cols.start, box[1].start), min(cols.stop, box[1].stop))
    return (rows, cols) if rows.stop > rows.start and cols.stop > cols.start else None


def _written(part: np.ndarray, result: np.ndarray) -> None:
    """Make sure the view ``part`` holds ``result``, what an OpenCV call given it as its output returned (OpenCV writes
    a box of an image in place, but into a copy of a view it cannot write)."""
    if result.__array_interface__["data"][0] != part.__array_interface__["data"][0]:
        part[...] = result


class SteadyFace:
    """Averages each track's rebuilt ROI over its frames (see the module); call in frame order."""

    def __init__(self, options: SteadyOptions | None = None) -> None:
        self.options = options or SteadyOptions()
        self._last: dict[int, _Last] = {}
        self._held: dict[int, np.ndarray] = {}  # per track: the rebuilt face's offset from the landmarks' (x, y)
        self._points = _STABLE if self.options.points == "stable" else slice(None)
        #: Per grey level of the frame's change: how much of the past's weight is left (:meth:`_mix`).
        self._fall = np.clip(1.0 - np.arange(256, dtype=np.float32) / self.options.change, 0.0, 1.0)

    def reset(self) -> None:
        self._last.clear()
        self._held.clear()

    def _forget_before(self, frame: int) -> None:
        """Drop the tracks last rebuilt before ``frame`` (too long ago to be averaged with: a lost face's track, whose
        kept ROI would otherwise stay in memory for the rest of the run)."""
        for track in [t for t, last in self._last.items() if last.frame < frame]:
            del self._last[track]
            self._held.pop(track, None)

    def __call__(
        self, track: int, frame: int, roi: FaceROI, rebuilt: Image, region: tuple[slice, slice] | None = None,
        own: bool = False,
    ) -> Image:
        """``rebuilt`` (the ROI ``roi`` of frame number ``frame`` rebuilt) mixed with the track's past inside
        ``region`` of the ROI (None: all of it; elsewhere ``rebuilt`` as it is). ``own``: ``rebuilt`` is given
        away (changed in place, kept as the track's past; else it is left as it is, and copied where it changes)."""
        o = self.options
        if o.weight <= 0:
            return rebuilt
        self._forget_before(frame - o.gap)
        # (the past is mixed in, and the face held, only on the mask: outside the mask's box ``rebuilt`` stays as it is)
        mask_box = grown_mask_box(roi.mask, 0, roi.mask_box)
        region = _on_mask(roi, region, mask_box)
        origin = np.array([roi.box.x0, roi.box.y0], np.float32)
        points = (roi.landmarks[self._points] + origin).astype(np.float32)
        last = self._last.get(track)
        out = rebuilt
        seen = cv2.cvtColor(roi.image, cv2.COLOR_RGB2GRAY)
        if (last is not None and region is not None and 0 < frame - last.frame <= o.gap
                and last.image.shape[2:] == rebuilt.shape[2:]):  # fmt: skip
            size = face_size_px(roi.landmarks)
            matrix = affine_fit(last.points - last.origin, points - origin)
            matrix = None if matrix is None else matrix.astype(np.float32)
            moved = points  # (the steady landmarks where the head's motion since the last frame puts them)
            registered = False
            if matrix is not None and o.register and mask_box is not None:
                matrix, registered = self._registered(matrix, last, seen, roi.mask, mask_box, size)
                if registered:
                    moved = (last.points - last.origin) @ matrix[:, :2].T + matrix[:, 2] + origin
            given = None if own else rebuilt  # (what must be left as it is)
            if o.register and o.hold > 0:
                out = rebuilt = self._hold(track, rebuilt, roi.mask, region, (moved - points).mean(axis=0) if registered else None,
                                           o.hold * size, in_place=own)  # fmt: skip
            speed = float(np.sqrt(np.mean(np.sum((moved - last.points) ** 2, axis=1)))) / size
            weight = o.weight * math.exp(-speed / max(o.speed, 1e-9))
            if weight > 0.01 and matrix is not None:
                # (the hold's moved copy is this call's own: mixed into in place)
                out = self._mix(rebuilt, seen, roi.mask, last, matrix, weight, region, rebuilt is not given)
        else:
            self._held.pop(track, None)
        self._last[track] = _Last(frame, points, origin, out, seen, roi.mask if o.past_mask else None)
        return out

    def _registered(
        self, matrix: np.ndarray, last: _Last, seen: Image, mask: np.ndarray, mask_box: tuple[slice, slice],
        size: float,
    ) -> tuple[np.ndarray, bool]:
        """``matrix`` (the past's map onto this ROI, 2 x 3) with the translation added that best lays the last frame's
        pixels, carried by it, on this frame's (``seen``, grey) in a band of ``register_band`` face sizes above the
        ``mask`` (``mask_box``: the box of ``mask > 0``), and True; ``(matrix, False)`` where none is found (no band,
        ECC fails or moves it by more than 3 % of the face's ``size``)."""
        # (all of ``mask > 0.5`` lies in the box of ``mask > 0``; its own box by OpenCV's comparison and bounding
        # rectangle: a third of numpy's comparison and projections)
        bx, by, bw, _ = cv2.boundingRect(cv2.compare(mask[mask_box], 0.5, cv2.CMP_GT))
        if bw == 0:
            return matrix, False
        top, left = mask_box[0].start, mask_box[1].start
        y0, y1 = max(top + by - int(self.options.register_band * size), 0), top + by
        x0, x1 = left + bx, left + bx + bw
        if y1 - y0 < 16 or x1 - x0 < 16:
            return matrix, False
        shifted = matrix.copy()
        shifted[:, 2] -= (x0, y0)
        was = cv2.warpAffine(last.seen, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        now = seen[y0:y1, x0:x1]
        scale = min(1.0, _REGISTER_FACE_PX / max(size, 1.0))  # (at about 160 px a face: the cost bounded)
        if scale < 1.0:
            cells = (max(int(round((x1 - x0) * scale)), 8), max(int(round((y1 - y0) * scale)), 8))
            now, was = (cv2.resize(a, cells, interpolation=cv2.INTER_AREA) for a in (now, was))
        try:
            # (the 8-bit bands as they are: OpenCV converts them to float itself, the same values)
            _, warp = cv2.findTransformECC(
                now, was, np.eye(2, 3, dtype=np.float32),
                cv2.MOTION_TRANSLATION, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-3), None, 3,
            )
        except cv2.error:  # (no convergence: a flat band)
            return matrix, False
        # (ECC maps this frame's band onto the carried past's: the frame moved the other way)
        shift = -warp[:, 2] * np.float32([(x1 - x0) / now.shape[1], (y1 - y0) / now.shape[0]])
        if float(np.hypot(*shift)) > 0.03 * size:
            return matrix, False
        out = matrix.copy()
        out[:, 2] += shift
        return out, True

    def _hold(
        self, track: int, rebuilt: Image, mask: np.ndarray, region: tuple[slice, slice], step: np.ndarray | None,
        reach: float, in_place: bool = False,
    ) -> Image:
        """``rebuilt`` moved on its ``mask`` by the track's offset from the landmarks' placement: the last offset plus
        ``step`` (the registered motion less the landmarks', x y pixels; None: not known, the offset halves), at most
        ``reach`` pixels long (``in_place``: moved in ``rebuilt`` itself, else in a copy where it moves)."""
        held = self._held.get(track, np.zeros(2, np.float32))
        held = held + step if step is not None else 0.5 * held
        length = float(np.hypot(*held))
        if length > reach:
            held = held * (reach / length)
        self._held[track] = held.astype(np.float32)
        return self._shifted(rebuilt, mask, held, region, in_place) if float(np.hypot(*held)) > 0.05 else rebuilt

    @staticmethod
    def _shifted(
        rebuilt: Image, mask: np.ndarray, shift: np.ndarray, region: tuple[slice, slice], in_place: bool = False
    ) -> Image:
        """``rebuilt`` moved by ``shift`` (x, y pixels) on its ``mask`` (float, [0, 1]; as it is elsewhere) inside
        ``region`` of the ROI (``in_place``: in ``rebuilt`` itself, else in a copy)."""
        rows, cols = region
        move = np.float32([[1, 0, shift[0] - cols.start], [0, 1, shift[1] - rows.start]])
        # (read from the whole ROI: what moves into the region from beside it is its own)
        moved = cv2.warpAffine(rebuilt, move, (cols.stop - cols.start, rows.stop - rows.start), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        weight = mask[rows, cols]
        out = rebuilt if in_place else rebuilt.copy()
        # (written into ``out``'s region itself, which it also reads (in place: ``rebuilt``'s): OpenCV reads each
        # pixel before it writes it, so no region-sized result is made and copied)
        part = out[rows, cols]
        _written(part, cv2.blendLinear(moved, part, weight, 1.0 - weight, dst=part))
        return out

    def _mix(
        self, rebuilt: Image, seen: Image, mask: np.ndarray, last: _Last, matrix: np.ndarray, weight: float,
        region: tuple[slice, slice], in_place: bool = False,
    ) -> Image:
        """``rebuilt`` mixed with the ``last`` one carried by ``matrix`` on this frame's ``mask`` (float, [0, 1]),
        the past's weight falling to 0 where the frame itself (``seen``) changed by ``change`` levels (a hand
        passing: taken at once, no trail). Outside the mask the blend shows the frame: a past carried there (a hand
        or hair moving beside the face) would be a trail. ``in_place``: ``rebuilt`` is the caller's to change."""
        rows, cols = region
        y0, y1, x0, x1 = rows.start, rows.stop, cols.start, cols.stop
        shifted = matrix.copy()
        shifted[:, 2] -= (x0, y0)  # (the past carried onto the region only)
        size = (x1 - x0, y1 - y0)
        past = cv2.warpAffine(last.image, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        now = rebuilt[y0:y1, x0:x1]
        table = (weight * self._fall).astype(np.float32)
        k = max(int(self.options.weight_shrink), 1)
        if k > 1:
            past_weight = self._small_weight(seen, mask, last, matrix, table, region, k)
        else:
            was = cv2.warpAffine(last.seen, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            # (over small blocks: the sensor's and the coder's noise, and a pixel of jitter at an edge, average out)
            differ = cv2.blur(cv2.absdiff(seen[y0:y1, x0:x1], was), (9, 9))
            # (OpenCV's look-up: the same values as numpy's indexing, a third of its time)
            past_weight = cv2.multiply(cv2.LUT(differ, table), mask[y0:y1, x0:x1], dtype=cv2.CV_32F)
            if last.mask is not None:  # (``past_mask``: none of the past where it showed the frame itself)
                had = cv2.warpAffine(last.mask.astype(np.float32, copy=False), shifted, size, flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
                past_weight = cv2.multiply(past_weight, had, dtype=cv2.CV_32F)
        out = rebuilt if in_place else rebuilt.copy()
        # (into ``out``'s region itself, as in :meth:`_shifted`; ``now`` is that region where in place)
        part = out[y0:y1, x0:x1]
        _written(part, cv2.blendLinear(now, past, 1.0 - past_weight, past_weight, dst=part))
        return out

    @staticmethod
    def _small_weight(
        seen: Image, mask: np.ndarray, last: _Last, matrix: np.ndarray, table: np.ndarray, region: tuple[slice, slice],
        k: int,
    ) -> np.ndarray:
        """:meth:`_mix`'s weight of the past on ``region`` (float32, the region's shape), measured on cells of ``k`` x
        ``k`` pixels: the frame's change (``seen`` against ``last.seen`` carried by ``matrix``, averaged over blocks
        of about 9 pixels) looked up in ``table``, times the carried mask (``past_mask``), scaled back to full size
        (pixel centres aligned) and cut to this frame's ``mask``."""
        rows, cols = region
        y0, y1, x0, x1 = rows.start, rows.stop, cols.start, cols.stop
        # The cells cover the region from the cell holding its first pixel: cell (i, j) is centred on full-size pixel
        # (k * (j + c0) + (k - 1) / 2, k * (i + r0) + (k - 1) / 2) of this ROI.
        r0, c0 = y0 // k, x0 // k
        cells = (-(-x1 // k) - c0, -(-y1 // k) - r0)
        half = (k - 1) / 2.0
        at = np.float64([[k, 0, k * c0 + half], [0, k, k * r0 + half]])  # (cell -> this ROI's pixel)
        back = cv2.invertAffineTransform(matrix.astype(np.float64))  # (``matrix``: the last ROI's pixel -> this one's)
        carried = np.hstack([back[:, :2] @ at[:, :2], (back[:, :2] @ at[:, 2] + back[:, 2])[:, None]])
        # (maps from a cell to where it reads; at k = 2 a cell's bilinear sample at its centre is the mean of its
        # 2 x 2 pixels)
        inverse = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        if k == 2:  # (the same cells by OpenCV's area resize by 2: a tenth of the warp's time)
            now = cell_means(seen, (r0, c0), cells)
        else:
            now = cv2.warpAffine(seen, at, cells, flags=inverse, borderMode=cv2.BORDER_REPLICATE)
        was = cv2.warpAffine(last.seen, carried, cells, flags=inverse, borderMode=cv2.BORDER_REPLICATE)
        block = max(int(round(9.0 / k)) | 1, 1)
        small = cv2.LUT(cv2.blur(cv2.absdiff(now, was), (block, block)), table)
        if last.mask is not None:  # (``past_mask``: none of the past where it showed the frame itself)
            had = cv2.warpAffine(last.mask.astype(np.float32, copy=False), carried, cells, flags=inverse,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
            small = cv2.multiply(small, had, dtype=cv2.CV_32F)
        grown = cv2.resize(small, (cells[0] * k, cells[1] * k), interpolation=cv2.INTER_LINEAR)
        part = grown[y0 - k * r0 : y1 - k * r0, x0 - k * c0 : x1 - k * c0]
        return cv2.multiply(part, mask[y0:y1, x0:x1], dtype=cv2.CV_32F)
