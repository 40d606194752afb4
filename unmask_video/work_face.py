"""The face chain of a large face at a working size tied to the face (``PipelineOptions.work_face_px``).

A face wider than the working size is segmented at its own size (the segmenter works at its own small size anyway),
then shrunk once, its frame pixels and its mask, to the working size: the reference is warped straight onto the
shrunk face, the composite and the steadying run there, and only the rebuilt pixels the blend can reach are grown
back once, into the blend at full size with the full-size mask (its feather, the seam, stays sharp). The reference
photo's own face is usually smaller than such a face (the real references: 220-345 px), so a warp at the frame's
size only upsampled it: little detail is lost.

The scale is held per face track while the face's size stays within ``tolerance`` of the working size (the warper's
and the steadying's state per track is in the track's working pixels); a new scale resets the track's warp.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.blend import grow_box, mask_bbox
from unmask_video.face_detect import resize
from unmask_video.stages import Box, Image, Landmarks, Mask, WorkFace

__all__ = ["GROW_FILTERS", "WORK_FACE_MARGIN", "WorkScales", "grow_back", "shrink_face", "work_crop"]

#: The grow back's filters by name (``PipelineOptions.work_face_grow``).
GROW_FILTERS = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}

#: The face box the working-size crop covers at least (``landmarks.face_box``'s margin, face sizes): the warp's
#: face box (the oval and 0.1 face sizes) and the band above the mask the steadying registers on.
WORK_FACE_MARGIN = 0.2


class WorkScales:
    """The working scale of each face track: ``cap / face size`` when the face is wider than ``cap`` px, held while
    the face at that scale stays within ``tolerance`` (a fraction) of ``cap``. A face never wider than ``cap`` is
    never scaled."""

    def __init__(self, cap: float | None, tolerance: float) -> None:
        self.cap = cap
        self.tolerance = tolerance
        #: Per track seen: its last scale (None: at full size).
        self._held: dict[int, float | None] = {}

    def scale(self, track: int, face_px: float) -> tuple[float | None, bool]:
        """(the scale of this frame's face, None: at full size; whether it changed from the track's last one)."""
        cap = self.cap
        seen = track in self._held
        held = self._held.get(track)
        if not cap:
            scale = None
        elif held is not None and abs(held * face_px / cap - 1.0) <= self.tolerance:
            scale = held  # (also a face back a little below the cap: no switch to and fro on a face at the cap)
        else:
            scale = cap / face_px if face_px > cap else None
        self._held[track] = scale
        return scale, seen and scale != held

    def forget(self, track: int) -> None:
        self._held.pop(track, None)


def work_crop(
    face: Box, roi: Box, mask_box: tuple[slice, slice], margin: int
) -> tuple[slice, slice]:
    """The (rows, cols) of the ROI ``roi`` that the face chain reads: the ``face`` box (frame pixels; the warp's face
    box, the bands above the mask that the warp and the steadying register on) and the mask's box (``mask_box``, ROI
    pixels) grown by ``margin`` (what the composite and the blend reach), clipped to the ROI. The face box leads, so
    that the crop's corner moves with the face, not with the mask's outline (the warp's filters follow the face in the
    crop's pixels)."""
    rows, cols = grow_box(mask_box, margin, (roi.height, roi.width))
    y0, y1 = min(max(face.y0 - roi.y0, 0), rows.start), max(min(face.y1 - roi.y0, roi.height), rows.stop)
    x0, x1 = min(max(face.x0 - roi.x0, 0), cols.start), max(min(face.x1 - roi.x0, roi.width), cols.stop)
    return slice(y0, y1), slice(x0, x1)


def shrink_face(
    image: Image, landmarks: Landmarks, mask: Mask, box: Box, mask_box: tuple[slice, slice] | None,
    crop: tuple[slice, slice], scale: float,
) -> tuple[Image, Landmarks, Mask, Box, tuple[slice, slice] | None, WorkFace]:
    """The ``crop`` of a face's ROI (``image``, ROI ``landmarks``, ``mask``, frame ``box``) shrunk by ``scale``: its
    image, landmarks, mask, frame box in the shrunk frame's pixels and the box of its mask > 0, and the
    :class:`WorkFace` that maps it back. Pixel centres are aligned as ``cv2.resize`` aligns them."""
    rows, cols = crop
    ch, cw = rows.stop - rows.start, cols.stop - cols.start
    sw, sh = max(1, int(round(cw * scale))), max(1, int(round(ch * scale)))
    sx, sy = sw / cw, sh / ch
    # (OpenCV reads the crops' strided rows as they are: no copy, the same pixels)
    small_image = resize(image[crop], sw, sh)
    small_mask = resize(mask[crop], sw, sh)
    origin = np.array([cols.start - 0.5, rows.start - 0.5], np.float32)
    small_landmarks = ((landmarks - origin) * np.array([sx, sy], np.float32) - 0.5).astype(np.float32)
    x0, y0 = int(round((box.x0 + cols.start) * sx)), int(round((box.y0 + rows.start) * sy))
    small_box = Box(x0, y0, x0 + sw, y0 + sh)
    small_mask_box = mask_bbox(cv2.compare(small_mask, 0, cv2.CMP_GT), 0, small_mask.shape[:2])
    work = WorkFace(box, landmarks, mask, mask_box, crop, (sx, sy))
    return small_image, small_landmarks, small_mask, small_box, small_mask_box, work


def grow_back(rebuilt: Image, work: WorkFace, region: tuple[slice, slice], filter: str = "cubic") -> Image:
    """The working-size ``rebuilt`` face grown back to full size on ``region`` (rows, cols of the full-size ROI, inside
    ``work.crop``), pixel centres as :func:`shrink_face` aligned them: the whole working crop resized to the crop's
    full size (``cv2.resize`` maps full-size pixel x to working pixel (x + 0.5) * sx - 0.5, as the shrink did), then
    the region cut out (a view). ``filter``: a name in :data:`GROW_FILTERS`. Bicubic keeps the lips' edges, the
    nostrils and the skin's grain that bilinear softened (issue 14: at 288 px a 720p close-up's rebuilt pixels kept
    0.87 of their fine detail bilinear, all of it bicubic); the separable resize of the whole crop costs a third to a
    half of a bilinear ``warpAffine`` of the region alone."""
    rows, cols = region
    crop_rows, crop_cols = work.crop
    size = (crop_cols.stop - crop_cols.start, crop_rows.stop - crop_rows.start)
    grown = cv2.resize(rebuilt, size, interpolation=GROW_FILTERS[filter])
    return grown[rows.start - crop_rows.start : rows.stop - crop_rows.start,
                 cols.start - crop_cols.start : cols.stop - crop_cols.start]  # fmt: skip
