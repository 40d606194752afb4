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


def landmarks_width(landmarks: np.ndarray) -> float:
    """A face's width in pixels as the trackers measure it: the larger side of its landmarks' bounding box (at least 1)."""
    span = landmarks.max(axis=0) - landmarks.min(axis=0)
    return float(max(span[0], span[1], 1.0))


def landmark_drift(model: "RoiLandmarker", image: np.ndarray, first: np.ndarray) -> tuple[float, np.ndarray | None]:
    """How far (mean, face widths: :func:`landmarks_width`) ``first``'s landmarks move when ``model`` looks again on
    their own ROI, and that second look (``inf`` and None where it finds no face): a real face holds still, the model's
    guess at a face in a patterned background jumps."""
    again = model.landmarks(image, roi_from_landmarks(first))
    if again is None:
        return float("inf"), None
    return float(np.linalg.norm(again - first, axis=1).mean()) / landmarks_width(first), again


def roi_from_box(x0: float, y0: float, x1: float, y1: float, left_eye: np.ndarray, right_eye: np.ndarray) -> Roi:
    """The ROI of a face detection box, levelled on the detection's eye key points."""
    return Roi((x0 + x1) / 2.0, (y0 + y1) / 2.0, max(x1 - x0, y1 - y0) * ROI_SCALE, _rotation(left_eye, right_eye))


class RoiLandmarker:
    """FaceMesh's landmark model on an ROI of a frame. Build once, reuse; :meth:`close` when done.

    ``landmarks(image, roi)`` returns (468, 2) float32 frame-pixel landmarks, or ``None`` when the model's
    face presence score is under ``min_presence`` (no face in the ROI).
    """

    def __init__(self, min_presence: float = 0.5, crop_size: int = 256, one_resample: bool = False) -> None:
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
        self._run = _GraphRun.of(self._graph)
        self.crop_size = int(crop_size)
        self.one_resample = bool(one_resample)

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
        if self.one_resample:
            return self._one_resample(image, roi, x0, y0, side)
        if k < 1.0:  # warpAffine has no area filter: pre-shrink the region so the crop does not alias
            crop = _shrink_region(image, x0, y0, side, s)
        else:
            warp = np.array([[k, 0.0, -x0 * k], [0.0, k, -y0 * k]], np.float32)
            crop = cv2.warpAffine(image, warp, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        rect = self._rect(x_center=0.5, y_center=0.5, width=roi.size * k / s, height=roi.size * k / s,
                          rotation=roi.rotation)
        found = self._normalized(np.ascontiguousarray(crop), rect)
        if found is None:
            return None
        pts = found[: landmark_sets.NUM_LANDMARKS].astype(np.float64) * s
        return (pts / k + np.array([x0, y0])).astype(np.float32)

    def _normalized(self, image: np.ndarray, rect) -> np.ndarray | None:
        """(N, 2) float32 normalized landmarks of the graph run on ``image`` (uint8 RGB, C-contiguous) in ``rect``;
        None: no face. Through :class:`_GraphRun`, or ``process`` where another mediapipe's internals differ."""
        if self._run is not None:
            return self._run(image, rect)
        landmark_list = self._graph.process({"image": image, "roi": rect}).face_landmarks  # pragma: no cover
        return None if landmark_list is None else _xy(landmark_list)  # pragma: no cover

    def _one_resample(self, image: np.ndarray, roi: Roi, x0: float, y0: float, side: float) -> np.ndarray | None:
        """:meth:`landmarks` with the model's own crop as the only resampling: the square's part inside the image,
        area-halved while it stays at least the model's scale, padded to a square (edges replicated) and handed
        over with the ROI placed in it (no crop to ``crop_size`` first, which the model then resamples again)."""
        h, w = image.shape[:2]
        rx0, ry0 = max(int(math.floor(x0)), 0), max(int(math.floor(y0)), 0)
        rx1, ry1 = min(int(math.ceil(x0 + side)), w), min(int(math.ceil(y0 + side)), h)
        if rx1 - rx0 < 2 or ry1 - ry0 < 2:
            return None
        scale = MODEL_INPUT / roi.size
        region = image[ry0:ry1, rx0:rx1]
        small, cell = halvings(region, max(1, int(math.ceil((rx1 - rx0) * scale))),
                               max(1, int(math.ceil((ry1 - ry0) * scale))))  # fmt: skip
        # The square in the cells' pixels (a cell's edge coordinate v is the image's rx0 + v * cell), grown to whole
        # cells, padded where it leaves the image.
        sx0, sy0 = math.floor((x0 - rx0) / cell), math.floor((y0 - ry0) / cell)
        n = max(math.ceil((x0 + side - rx0) / cell) - sx0, math.ceil((y0 + side - ry0) / cell) - sy0)
        sh, sw = small.shape[:2]
        left, top = max(-sx0, 0), max(-sy0, 0)
        right, bottom = max(sx0 + n - sw, 0), max(sy0 + n - sh, 0)
        square = small[max(sy0, 0) : sy0 + n, max(sx0, 0) : sx0 + n]
        if left or top or right or bottom:
            square = cv2.copyMakeBorder(square, top, bottom, left, right, cv2.BORDER_REPLICATE)
        square = np.ascontiguousarray(square)
        if square.shape[:2] != (n, n):  # pragma: no cover - the arithmetic above
            return None
        ox, oy = rx0 + sx0 * cell, ry0 + sy0 * cell  # the square's corner in image pixels
        extent = n * cell
        size = roi.size / extent
        rect = self._rect(x_center=(roi.cx - ox) / extent, y_center=(roi.cy - oy) / extent, width=size, height=size,
                          rotation=roi.rotation)  # fmt: skip
        found = self._normalized(square, rect)
        if found is None:
            return None
        pts = found[: landmark_sets.NUM_LANDMARKS].astype(np.float64) * extent
        return (pts + np.array([ox, oy])).astype(np.float32)


#: The landmark model's input side (pixels): FaceLandmarkCpu reads the ROI at 192 x 192.
MODEL_INPUT = 192


#: One serialized NormalizedLandmark with x, y, z set: a length-delimited field (tag 1, length 15) holding three
#: fixed32 fields (tags 1, 2, 3), each a tag byte and 4 little-endian float bytes.
_LANDMARK_BYTES = np.dtype(
    [("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"), ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")]
)


def _xy(landmark_list) -> np.ndarray:
    """(N, 2) float32 normalized x, y of a NormalizedLandmarkList: read from its serialized bytes at once (reading
    468 protobuf messages field by field in Python costs more than the landmark model's own bookkeeping), or
    message by message when the layout is not the plain one."""
    found = _xy_of_bytes(landmark_list.SerializeToString())
    if found is not None and len(found) == len(landmark_list.landmark):
        return found
    return np.array([(p.x, p.y) for p in landmark_list.landmark], np.float32)


def _xy_of_bytes(data: bytes) -> np.ndarray | None:
    """:func:`_xy` of a serialized NormalizedLandmarkList in the plain layout (every landmark with x, y, z set and
    nothing else); None when the bytes are laid out otherwise."""
    if not data or len(data) % _LANDMARK_BYTES.itemsize:
        return None
    rows = np.frombuffer(data, _LANDMARK_BYTES)
    plain = (rows["tag"] == 0x0A) & (rows["len"] == 15) & (rows["tx"] == 0x0D) & (rows["ty"] == 0x15) & (
        rows["tz"] == 0x1D
    )
    if not plain.all():
        return None
    xy = np.empty((len(rows), 2), np.float32)
    xy[:, 0], xy[:, 1] = rows["x"], rows["y"]
    return xy


class _GraphRun:
    """One run of the landmark graph without :meth:`SolutionBase.process`'s wrapping (per call it builds a
    namedtuple class, looks each stream's packet maker up by name and parses the landmarks into a message that
    :func:`_xy` would serialize again): the same packets at the same timestamps into the same graph, the landmarks
    read from the output packet's serialized bytes. For the pinned mediapipe (0.10.21); :meth:`of` gives None where
    its internals differ, and the caller goes through ``process``."""

    def __init__(self, solution, make_image, make_proto, serialized) -> None:
        self._solution = solution
        self._graph = solution._graph
        self._outputs: dict = solution._graph_outputs  # (filled by the solution's output stream observer)
        self._make_image = make_image
        self._make_proto = make_proto
        self._serialized = serialized
        self._srgb = None

    @classmethod
    def of(cls, solution) -> "_GraphRun | None":
        try:
            from mediapipe.python._framework_bindings import _packet_creator, _packet_getter, image_frame
            from mediapipe.python.solution_base import PacketDataType

            types = (dict(solution._input_stream_type_info), dict(solution._output_stream_type_info))
            wanted = ({"image": PacketDataType.IMAGE, "roi": PacketDataType.PROTO},
                      {"face_landmarks": PacketDataType.PROTO})  # fmt: skip
            if types != wanted or not isinstance(solution._simulated_timestamp, int):
                return None
            run = cls(solution, _packet_creator._create_image_from_pixel_data, _packet_creator._create_proto,
                      _packet_getter._get_serialized_proto)  # fmt: skip
            run._srgb = image_frame.ImageFormat.SRGB
            return run
        except (ImportError, AttributeError, TypeError):  # pragma: no cover - another mediapipe
            return None

    def __call__(self, crop: np.ndarray, rect) -> np.ndarray | None:
        """(N, 2) float32 normalized landmarks of ``crop`` (uint8 RGB, C-contiguous) in ``rect``; None: no face."""
        solution, outputs = self._solution, self._outputs
        outputs.clear()
        solution._simulated_timestamp += 33333  # (as process() counts, so the two may alternate)
        ts = solution._simulated_timestamp
        # (the same packets process() makes: the image copied, the ROI serialized)
        self._graph.add_packet_to_input_stream(
            stream="image", packet=self._make_image(self._srgb, crop, crop.flags.writeable).at(ts)
        )
        self._graph.add_packet_to_input_stream(
            stream="roi", packet=self._make_proto(rect.DESCRIPTOR.full_name, rect.SerializeToString()).at(ts)
        )
        self._graph.wait_until_idle()
        packet = outputs.get("face_landmarks")
        if packet is None or packet.is_empty():
            return None
        data = self._serialized(packet)
        found = _xy_of_bytes(data)
        if found is None:  # another layout: the message's own fields
            from mediapipe.framework.formats import landmark_pb2

            message = landmark_pb2.NormalizedLandmarkList()
            message.ParseFromString(data)
            found = np.array([(p.x, p.y) for p in message.landmark], np.float32)
        return found


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


__all__ = ["Roi", "RoiLandmarker", "landmark_drift", "landmarks_width", "roi_from_box", "roi_from_landmarks", "ROI_SCALE"]
