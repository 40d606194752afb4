"""The FaceMesh landmark model run on one face's region of interest (ROI), cropped from the frame.

MediaPipe's FaceMesh solution finds faces itself with its short-range detector, which misses small faces
(it sees the whole frame at 128x128) and masked faces upscaled from a few dozen pixels. Here the landmark
subgraph of the same wheel (``FaceLandmarkCpu``: ROI -> 192x192 tensor -> 468 landmarks, with the face
presence threshold) is run directly on an ROI the caller gives: from a face detection when a track starts,
from the previous frame's landmarks while it lasts. The frame is first cropped around the ROI and resized to
a fixed ``crop_size`` square (upscaled for small faces, downscaled for huge ones), so the cost follows the
face, not the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.errors import ProcessingError
from unmask_video.face_detect import halvings, import_mediapipe

#: The landmark subgraph with its inputs exposed: the image and the ROI (a NormalizedRect) to read it in.
_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "face_landmarks"
node {
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:face_landmarks"
}
"""

#: FaceMesh reads a face in a square 1.5 times the face's bounding box (as MediaPipe's own ROI subgraphs do).
ROI_SCALE = 1.5


@dataclass(frozen=True)
class Roi:
    """A square region around a face in frame pixels: centre, side and rotation (radians, MediaPipe's sign)."""

    cx: float
    cy: float
    size: float
    rotation: float = 0.0


def _rotation(a: np.ndarray, b: np.ndarray) -> float:
    """MediaPipe's ROI rotation that levels the line from ``a`` (image-left eye) to ``b``."""
    return -math.atan2(-(float(b[1]) - float(a[1])), float(b[0]) - float(a[0]))


def roi_from_landmarks(landmarks: np.ndarray) -> Roi:
    """The ROI FaceMesh tracks a face in from its landmarks (bounding box x1.5, levelled on the eye corners)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    left, right = landmark_sets.ROI_ROTATION
    centre = (lo + hi) / 2.0
    return Roi(float(centre[0]), float(centre[1]), float(max(hi - lo)) * ROI_SCALE, _rotation(pts[left], pts[right]))


def roi_from_box(x0: float, y0: float, x1: float, y1: float, left_eye: np.ndarray, right_eye: np.ndarray) -> Roi:
    """The ROI of a face detection box, levelled on the detection's eye key points."""
    return Roi((x0 + x1) / 2.0, (y0 + y1) / 2.0, max(x1 - x0, y1 - y0) * ROI_SCALE, _rotation(left_eye, right_eye))


class RoiLandmarker:
    """FaceMesh's landmark model on an ROI of a frame. Build once, reuse; :meth:`close` when done.

    ``landmarks(image, roi)`` returns (468, 2) float32 frame-pixel landmarks, or ``None`` when the model's
    face presence score is under ``min_presence`` (no face in the ROI).
    """

    def __init__(self, min_presence: float = 0.5, crop_size: int = 256) -> None:
        import_mediapipe()  # its extension first: Ctrl-C during that load stays an interrupt
        try:
            from google.protobuf import text_format
            from mediapipe.framework import calculator_pb2
            from mediapipe.framework.formats import rect_pb2
            from mediapipe.python.solution_base import SolutionBase
        except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
            raise ProcessingError("mediapipe is not installed; reinstall unmask-video (pip install -e .)") from exc
        self._rect = rect_pb2.NormalizedRect
        config = text_format.Parse(_GRAPH, calculator_pb2.CalculatorGraphConfig())
        self._graph = SolutionBase(
            graph_config=config,
            side_inputs={"with_attention": False},
            calculator_params={"facelandmarkcpu__ThresholdingCalculator.threshold": float(min_presence)},
        )
        self.crop_size = int(crop_size)

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None

    def landmarks(self, image: np.ndarray, roi: Roi) -> np.ndarray | None:
        if self._graph is None:
            raise ProcessingError("the landmark model was used after close()")
        if not (roi.size > 1.0 and math.isfinite(roi.cx) and math.isfinite(roi.cy)):
            return None
        s = self.crop_size
        # An upright square holding the rotated ROI, resized to s x s.
        side = roi.size * (abs(math.cos(roi.rotation)) + abs(math.sin(roi.rotation)))
        k = s / side
        x0, y0 = roi.cx - side / 2.0, roi.cy - side / 2.0
        if k < 1.0:  # warpAffine has no area filter: pre-shrink the region so the crop does not alias
            crop = _shrink_region(image, x0, y0, side, s)
        else:
            warp = np.array([[k, 0.0, -x0 * k], [0.0, k, -y0 * k]], np.float32)
            crop = cv2.warpAffine(image, warp, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        rect = self._rect(x_center=0.5, y_center=0.5, width=roi.size * k / s, height=roi.size * k / s,
                          rotation=roi.rotation)
        result = self._graph.process({"image": np.ascontiguousarray(crop), "roi": rect})
        found = result.face_landmarks
        if found is None:
            return None
        pts = _xy(found)[: landmark_sets.NUM_LANDMARKS].astype(np.float64) * s
        return (pts / k + np.array([x0, y0])).astype(np.float32)


#: One serialized NormalizedLandmark with x, y, z set: a length-delimited field (tag 1, length 15) holding three
#: fixed32 fields (tags 1, 2, 3), each a tag byte and 4 little-endian float bytes.
_LANDMARK_BYTES = np.dtype(
    [("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"), ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")]
)


def _xy(landmark_list) -> np.ndarray:
    """(N, 2) float32 normalized x, y of a NormalizedLandmarkList: read from its serialized bytes at once (reading
    468 protobuf messages field by field in Python costs more than the landmark model's own bookkeeping), or
    message by message when the layout is not the plain one."""
    data = landmark_list.SerializeToString()
    n = len(landmark_list.landmark)
    if len(data) == n * _LANDMARK_BYTES.itemsize:
        rows = np.frombuffer(data, _LANDMARK_BYTES)
        if (rows["tag"] == 0x0A).all() and (rows["len"] == 15).all() and (rows["tx"] == 0x0D).all() and (
            rows["ty"] == 0x15
        ).all():
            return np.stack([rows["x"], rows["y"]], axis=1).astype(np.float32)
    return np.array([(p.x, p.y) for p in landmark_list.landmark], np.float32)


def _shrink_region(image: np.ndarray, x0: float, y0: float, side: float, size: int) -> np.ndarray:
    """The square (x0, y0, side) of ``image`` (edges replicated past the image) resized to ``size`` with area
    filtering."""
    h, w = image.shape[:2]
    rx0, ry0 = max(int(math.floor(x0)), 0), max(int(math.floor(y0)), 0)
    region = image[ry0 : min(int(math.ceil(y0 + side)), h), rx0 : min(int(math.ceil(x0 + side)), w)]
    if region.size == 0:
        return np.zeros((size, size, 3), np.uint8)
    # The part of the square inside the image (rounded outwards) area-halved while it stays at least the crop's
    # scale, then one bilinear warp of the exact square from the halved cells, replicating their edge where the square
    # leaves the image: crop pixel u is image x0 + (u + 0.5) / scale - 0.5, and the region's pixel r is cell
    # (r + 0.5) / cell - 0.5.
    scale = size / side
    small, cell = halvings(region, max(1, int(round(region.shape[1] * scale))),
                           max(1, int(round(region.shape[0] * scale))))  # fmt: skip
    step = 1.0 / (scale * cell)
    to_cells = np.array([[step, 0.0, (x0 - rx0 + 0.5 / scale) / cell - 0.5],
                         [0.0, step, (y0 - ry0 + 0.5 / scale) / cell - 0.5]])  # fmt: skip
    return cv2.warpAffine(small, to_cells, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


__all__ = ["Roi", "RoiLandmarker", "roi_from_box", "roi_from_landmarks", "ROI_SCALE"]
