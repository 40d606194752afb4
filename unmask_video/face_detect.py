"""Face detection at any size: MediaPipe's full-range face detector over an image pyramid of tiles.

The full-range model (``face_detection_full_range_sparse.tflite``, shipped in the mediapipe wheel and run by
``mp.solutions.face_detection`` with ``model_selection=1``) sees a 192x192 input. It finds small bare faces,
but a masked face only once it is larger in that input (the mask hides half of what it looks for), so a
40-pixel face in a 4K frame, 2 pixels once the frame is shrunk to 192, is out of reach in one pass. The
frame is therefore searched as a pyramid: the finest level is scaled so that ``min_face`` pixels become
:data:`FACE_MIN_PX` model pixels and cut into overlapping 192x192 tiles; each coarser level is
:data:`LEVEL_RATIO` times smaller, down to one pass over the whole frame. The cost of a full search grows
with the frame area over ``min_face`` squared, which is why the tracker runs it only when it must.

Every search ends with one pass of the short-range model (``model_selection=0``, the detector FaceMesh itself
uses) over the whole frame: it finds large masked faces the full-range model misses (it scores a masked face
lower the more of its input the face fills).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import sys
import types
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from unmask_video.errors import ProcessingError

log = logging.getLogger(__name__)

#: The detector's input side (pixels).
TILE = 192
#: Face width (model input pixels) the finest level gives a ``min_face`` face: masked faces are found from here.
FACE_MIN_PX = 24
#: Scale between pyramid levels; a level's tiles overlap by the widest face it is meant for (FACE_MIN_PX x this).
LEVEL_RATIO = 3.0
#: The whole frame is shrunk to at most this many pixels (long side) for the short-range pass (its input is 128).
_SHORT_SIDE = 256


@dataclass(frozen=True)
class Detection:
    """A face found in a frame: box (frame pixels), score, and the two eye key points (image-left first)."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    left_eye: np.ndarray
    right_eye: np.ndarray

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0])

    def shifted(self, dx: float, dy: float) -> "Detection":
        """The same detection in a frame where the searched image starts at (dx, dy)."""
        d = np.array([dx, dy], np.float64)
        return Detection(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy, self.score,
                         self.left_eye + d, self.right_eye + d)

    @property
    def area(self) -> float:
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)


@dataclass(frozen=True)
class Pass:
    """One run of a detector model: the short-range one (over the whole frame) or the full-range one on a tile
    ``box`` (x0, y0, x1, y1, frame pixels) shrunk by ``scale``."""

    short: bool
    scale: float
    box: tuple[int, int, int, int]


def _iou(a: Detection, b: Detection) -> float:
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def pyramid(width: int, height: int, min_face: float) -> list[tuple[float, list[tuple[int, int, int, int]]]]:
    """The search plan: for each level, its scale and its tiles as (x0, y0, x1, y1) boxes in frame pixels.

    Finest level first. A level whose scaled frame fits one input is a single tile (the whole frame); levels
    go on until one is meant for faces as large as the frame's shorter side.
    """
    levels = []
    scale = min(FACE_MIN_PX / max(min_face, 1.0), 2.0)
    while True:
        if max(width, height) * scale <= TILE * 1.05:
            levels.append((scale, [(0, 0, width, height)]))
            if FACE_MIN_PX * LEVEL_RATIO / scale >= min(width, height):
                return levels
            scale /= LEVEL_RATIO
            continue
        side = TILE / scale  # a tile, in frame pixels
        overlap = FACE_MIN_PX * LEVEL_RATIO / scale
        stride = side - overlap
        xs = _starts(width, side, stride)
        ys = _starts(height, side, stride)
        tiles = [(x, y, min(int(round(x + side)), width), min(int(round(y + side)), height)) for y in ys for x in xs]
        levels.append((scale, tiles))
        scale /= LEVEL_RATIO


def _starts(length: int, side: float, stride: float) -> list[int]:
    if length <= side:
        return [0]
    n = int(math.ceil((length - side) / stride)) + 1
    step = (length - side) / (n - 1)
    return [int(round(i * step)) for i in range(n)]


#: mediapipe's modules this package never uses, which ``import mediapipe`` loads (its package imports every solution and
#: the whole tasks API: audio, text and vision; about 0.2 s of CPU at every start, on the first frame's path): stood in
#: for while mediapipe is imported (:func:`_deferred`) and loaded on first use. Only ``solutions.face_mesh`` and
#: ``solutions.face_detection`` (and what they import) are used.
UNUSED_MEDIAPIPE = (
    "mediapipe.tasks",
    "mediapipe.tasks.python",
    *(
        f"mediapipe.python.solutions.{name}"
        for name in ("drawing_styles", "drawing_utils", "hands", "hands_connections", "holistic", "objectron", "pose",
                     "selfie_segmentation")
    ),
)  # fmt: skip
#: The protobuf modules (calculators' options, formats) that a plain ``import mediapipe`` loads through those (but the
#: tasks API's own), imported all the same: a graph's options the Python side does not know are not carried through
#: ``SolutionBase``'s copy of the graph (without them the tracker's landmarks on a synthetic clip changed;
#: benchmarks/README.md, helper startup).
MEDIAPIPE_OPTIONS = (
    "mediapipe.calculators.core.flow_limiter_calculator_pb2",
    "mediapipe.calculators.image.warp_affine_calculator_pb2",
    "mediapipe.calculators.tensor.tensors_to_floats_calculator_pb2",
    "mediapipe.calculators.tensor.tensors_to_segmentation_calculator_pb2",
    "mediapipe.calculators.util.collection_has_min_size_calculator_pb2",
    "mediapipe.calculators.util.detection_label_id_to_text_calculator_pb2",
    "mediapipe.calculators.util.landmark_projection_calculator_pb2",
    "mediapipe.calculators.util.landmarks_smoothing_calculator_pb2",
    "mediapipe.calculators.util.local_file_contents_calculator_pb2",
    "mediapipe.calculators.util.visibility_smoothing_calculator_pb2",
    "mediapipe.framework.formats.landmark_pb2",
    "mediapipe.framework.tool.switch_container_pb2",
    "mediapipe.modules.holistic_landmark.calculators.roi_tracking_calculator_pb2",
    "mediapipe.modules.objectron.calculators.annotation_data_pb2",
    "mediapipe.modules.objectron.calculators.frame_annotation_to_rect_calculator_pb2",
    "mediapipe.modules.objectron.calculators.lift_2d_frame_annotation_to_3d_calculator_pb2",
    "mediapipe.util.color_pb2",
    "mediapipe.util.render_data_pb2",
)


def import_mediapipe():  # -> the mediapipe module
    """Import mediapipe (lazily: it is slow to import and loads TFLite); Ctrl-C during the import stays an interrupt."""
    try:
        with _without_pyplot(), _deferred(() if "mediapipe" in sys.modules else UNUSED_MEDIAPIPE):
            import mediapipe as mp
        for name in MEDIAPIPE_OPTIONS:
            importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):  # Ctrl-C while its extension loaded
            raise KeyboardInterrupt from None
        raise ProcessingError("mediapipe is not installed; reinstall unmask-video (pip install -e .)") from exc
    return mp


class _DeferredModule(types.ModuleType):
    """A stand-in for a module while it must not load; once it is out of ``sys.modules``, any attribute read imports
    the real module and is taken from it."""

    def __getattr__(self, attribute: str):
        if sys.modules.get(self.__name__) is self:  # still standing in (e.g. ``import a.b`` asking a for b)
            raise AttributeError(attribute)
        return getattr(importlib.import_module(self.__name__), attribute)


@contextlib.contextmanager
def _without_pyplot() -> Iterator[None]:
    """Stand-ins for matplotlib and its pyplot while mediapipe is imported, where neither is loaded yet: its drawing
    helpers import pyplot (about 0.75 s of CPU at every start, two thirds of mediapipe's import) for a 3-D plot this
    package never draws. The stand-ins are taken out again afterwards: a later ``import matplotlib`` loads the real
    one, and the stand-in a module kept (``drawing_utils.plt``) loads it on first use."""
    with _deferred(("matplotlib", "matplotlib.pyplot")):
        yield


@contextlib.contextmanager
def _deferred(names: tuple[str, ...]) -> Iterator[None]:
    """Stand-ins (:class:`_DeferredModule`) in ``sys.modules`` for the modules ``names`` not loaded yet, for the
    duration; taken out afterwards, each left as an attribute of its parent package where the import bound none there
    (an ``import a.b`` that finds ``a.b`` in ``sys.modules`` binds nothing on ``a``): a later import, or an attribute
    read through a stand-in something kept, loads the real module."""
    stubs = {name: _DeferredModule(name) for name in names if name not in sys.modules}
    sys.modules.update(stubs)
    try:
        yield
    finally:
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if parent and parent in sys.modules and not hasattr(sys.modules[parent], child):
                setattr(sys.modules[parent], child, stub)


class FaceDetector:
    """MediaPipe full-range face detection over a tile pyramid. Build once, reuse; :meth:`close` when done."""

    def __init__(self, min_confidence: float = 0.5) -> None:
        mp = import_mediapipe()
        self._model = mp.solutions.face_detection.FaceDetection(
            min_detection_confidence=min_confidence, model_selection=1
        )
        self._short = mp.solutions.face_detection.FaceDetection(
            min_detection_confidence=min_confidence, model_selection=0
        )
        #: Model passes run so far (for benchmarks and stats).
        self.passes = 0

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
            self._short.close()
            self._model = None

    def plan(self, width: int, height: int, min_face: float) -> list[Pass]:
        """The passes of a search for faces from about ``min_face`` pixels wide up, cheapest and coarsest first:
        the short-range pass over the whole frame, then the pyramid levels from the coarsest to the finest."""
        whole = min(1.0, _SHORT_SIDE / max(width, height))
        passes = [Pass(True, whole, (0, 0, width, height))]
        for scale, tiles in reversed(pyramid(width, height, min_face)):
            passes.extend(Pass(False, scale, tile) for tile in tiles)
        return passes

    def run(self, image: np.ndarray, passes: list[Pass]) -> list[Detection]:
        """The faces these passes find in ``image`` (uint8 RGB), best score first, overlaps merged."""
        if self._model is None:
            raise ProcessingError("the face detector was used after close()")
        found: list[Detection] = []
        for p in passes:
            found.extend(self._detect_tile(self._short if p.short else self._model, image, p.scale, *p.box))
        return merge_overlapping(found)

    def detect(self, image: np.ndarray, min_face: float) -> list[Detection]:
        """Faces in ``image`` (uint8 RGB) from about ``min_face`` pixels wide up: all of :meth:`plan` at once."""
        h, w = image.shape[:2]
        return self.run(image, self.plan(w, h, min_face))

    def _detect_tile(
        self, model, image: np.ndarray, scale: float, x0: int, y0: int, x1: int, y1: int
    ) -> list[Detection]:
        region = image[y0:y1, x0:x1]
        tw, th = max(1, int(round((x1 - x0) * scale))), max(1, int(round((y1 - y0) * scale)))
        tile = np.ascontiguousarray(resize(region, tw, th))
        self.passes += 1
        result = model.process(tile)
        out = []
        for det in result.detections or []:
            box = det.location_data.relative_bounding_box
            kp = det.location_data.relative_keypoints

            def to_frame(u: float, v: float) -> np.ndarray:
                return np.array([x0 + u * tw / scale, y0 + v * th / scale])

            a = to_frame(box.xmin, box.ymin)
            b = to_frame(box.xmin + box.width, box.ymin + box.height)
            # Key points 0 and 1 are the subject's right and left eye: image-left, image-right.
            out.append(Detection(float(a[0]), float(a[1]), float(b[0]), float(b[1]), float(det.score[0]),
                                 to_frame(kp[0].x, kp[0].y), to_frame(kp[1].x, kp[1].y)))
        return out


def halvings(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, int]:
    """``image`` halved by 2 x 2 area cells as many times as it stays at least ``width`` x ``height``, and the
    cell's side: pixel (i, j) of the result averages ``image[i*cell:(i+1)*cell, j*cell:(j+1)*cell]`` (a last odd row
    or column of each level is left out). OpenCV's fast area path; see :func:`resize`."""
    small, cell = image, 1
    while small.shape[1] // 2 >= max(width, 1) and small.shape[0] // 2 >= max(height, 1):
        sh, sw = small.shape[0] // 2, small.shape[1] // 2
        small = cv2.resize(small[: 2 * sh, : 2 * sw], (sw, sh), interpolation=cv2.INTER_AREA)
        cell *= 2
    return small, cell


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` resized to ``width`` x ``height`` (pixel centres aligned as ``cv2.resize`` aligns them); shrinking
    is area-averaged over 2 x 2 cells as many times as the size allows halving, then bilinear for the rest (at most
    2x further).

    OpenCV's fast area path is the halving of a size that is an exact multiple of 2 (a general factor, or a size
    not a multiple of it, takes its general path: 4-10x slower). Each halving averages the largest even part of
    the image; the bilinear step maps the target onto the cells with the whole image's geometry (a last odd row
    or column is read by replicating its neighbours' average).
    """
    h, w = image.shape[:2]
    small, cell = halvings(image, width, height)
    sh, sw = small.shape[:2]
    if sw * cell == w and sh * cell == h:  # (cv2.resize maps the cells onto the target as it maps the image)
        if (sw, sh) == (width, height):
            return small
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    # Target pixel x -> image x (x + 0.5) * w / width - 0.5 -> cell (image x + 0.5) / cell - 0.5.
    kx, ky = w / (width * cell), h / (height * cell)
    to_cells = np.array([[kx, 0.0, 0.5 * kx - 0.5], [0.0, ky, 0.5 * ky - 0.5]])
    return cv2.warpAffine(small, to_cells, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def merge_overlapping(found: list[Detection]) -> list[Detection]:
    """One detection per face (the best scored) where several passes found the same face; best score first."""
    kept: list[Detection] = []
    for d in sorted(found, key=lambda d: d.score, reverse=True):
        if all(_iou(d, k) < 0.3 and not _inside(d, k) for k in kept):
            kept.append(d)
    return kept


def _inside(a: Detection, b: Detection) -> bool:
    """Whether ``a``'s centre lies in ``b`` and their sizes are alike (the same face found at two levels)."""
    c = a.center
    alike = 0.5 < (a.width / max(b.width, 1e-6)) < 2.0
    return alike and b.x0 <= c[0] <= b.x1 and b.y0 <= c[1] <= b.y1


__all__ = ["Detection", "FaceDetector", "Pass", "halvings", "merge_overlapping", "resize", "pyramid", "TILE", "FACE_MIN_PX", "LEVEL_RATIO"]
