"""The contracts between the per-frame stages.

Conventions used by every stage:
- images are ``uint8`` RGB arrays of shape (H, W, 3), in frame pixel order;
- landmarks are ``float32`` arrays of shape (468, 2) in pixel coordinates (x, y) of the image they go with;
- masks are ``float32`` arrays of shape (H, W) with values in [0, 1] (1 = masked, to be rebuilt);
- validity maps are ``bool`` arrays of shape (H, W).

The pipeline works on a face region of interest (ROI), a box around one face: every array in a
:class:`FaceROI` is cropped to that box, so the cost of the face stages does not grow with the
frame size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask_video.jaw_outline import JawProfile
from unmask_video.reference_shade import ReferenceShade

Image = np.ndarray
Landmarks = np.ndarray
Mask = np.ndarray


@dataclass(frozen=True)
class Box:
    """A pixel box, ``x1``/``y1`` exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


@dataclass
class WorkFace:
    """The full-size face of a :class:`FaceROI` made at a working size (:mod:`unmask_video.work_face`): where the
    rebuilt face is grown back to and blended with its full-size mask."""

    box: Box  # the full-size ROI's box in the frame
    landmarks: Landmarks  # full-size ROI coordinates
    mask: Mask  # the full-size mask (the blend's feather is cut on it)
    mask_box: tuple[slice, slice] | None  # the box of ``mask > 0``
    crop: tuple[slice, slice]  # the (rows, cols) of the full-size ROI that the working-size ROI covers
    scale: tuple[float, float]  # (x, y): working-size pixels per full-size pixel


@dataclass(frozen=True)
class Loops:
    """A mask's ear loops past its edge (:mod:`unmask_video.ear_loops`), filled in the frame after the blend."""

    box: Box  # the loops' box in the frame
    pixels: np.ndarray  # (h, w) uint8 {0, 1} over ``box``: the loops' pixels
    radius: float  # the inpainting's radius (px)


@dataclass
class FaceROI:
    """One face of one frame, cropped to ``box``, ready for reconstruction."""

    box: Box
    image: Image  # (h, w, 3) uint8, the decoded frame inside the box
    landmarks: Landmarks  # (468, 2) float32, ROI coordinates
    mask: Mask  # (h, w) float32 in [0, 1], the segmented mask
    reference: Image  # (h, w, 3) uint8, the reference still warped onto this face
    valid: np.ndarray  # (h, w) bool, where ``reference`` holds warped pixels
    #: (rows, cols) slices of the bounding box of ``mask > 0`` when the maker of the ROI found it already (the
    #: pipeline does, once per face: the warp, the blend and the encoder's box all start from it); None: not known.
    mask_box: tuple[slice, slice] | None = None
    #: The reference still's head turn (:func:`~unmask_video.warp.yaw` of its landmarks; None: not known): the
    #: composite tells from it a reference turned from the frame, whose cheek on one side is hidden.
    reference_yaw: float | None = None
    #: This ROI is a face shrunk to a working size (``PipelineOptions.work_face_px``): its full-size face; None: the
    #: ROI is at the frame's size.
    full: WorkFace | None = None
    #: The mask's ear loops past its edge, at the frame's size (None: none found).
    loops: Loops | None = None
    #: The reference still's jaw (:func:`~unmask_video.jaw_outline.jaw_profile` of its landmarks; None: not known):
    #: the composite predicts the frame's jaw from it, past which the cheek is not widened
    #: (:attr:`~unmask_video.reconstruct.outside_fill.OutsideFillOptions.jaw_margin`).
    reference_jaw: JawProfile | None = None
    #: The reference still's own light under its jaw (:func:`~unmask_video.reference_shade.reference_shade`; None: not
    #: known): the composite lifts a shade of the photo's own under the rebuilt chin
    #: (:mod:`~unmask_video.reconstruct.under_jaw_shade`), and does nothing for a photo without one.
    reference_shade: ReferenceShade | None = None
    #: Where the warp put the reference's own lips (:attr:`~unmask_video.warp.WarpedReference.lips`): its LIPS_OUTER
    #: points ((K, 2) float32, ROI coordinates; None: not known): the composite leaves the colour unbounded as the
    #: lips' only there.
    reference_lips: np.ndarray | None = None
