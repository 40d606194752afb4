"""The reference photo's own shade under its jaw, read once when the reference is loaded.

A photo taken from below or lit from above is dark under its jaw: once warped onto a frame and colour-matched, that
shade is a band under the rebuilt chin the frame itself may not show
(:mod:`unmask_video.reconstruct.under_jaw_shade` lifts it). Whether the photo has such a shade is a property of the
photo, the same for every frame of a video: it is read here, on the photo's own pixels, so that the composite does no
work on the frames of a reference without one. :func:`face_lines` gives both readers the same lines across and down
the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.face_axes import face_axes

__all__ = ["FaceLines", "ReferenceShade", "coordinates", "face_lines", "reference_shade"]

#: Reference pixels darker than this share of its chin's light are not its skin in shade (hair, a dark background
#: beside the jaw): left out of the smooth light.
LEAST_SHARE = 0.2
#: The Gaussian of the smooth light, in face heights.
SIGMA = 0.03
#: The zone read: the neck's column from this far above the chin's landmark ...
ABOVE = 0.05
#: ... to this far below it (face heights): where a mask's hole under the chin reaches.
BELOW = 0.15
#: The share of that zone's skin pixels the shade's depth is read at (its darkest, less the odd pixel).
PERCENTILE = 5.0
#: A photo whose face is taller than this (pixels, :func:`face_axes`' height) is read at a size where it is this
#: tall: the depth is a smooth light's low percentile, the same at that size to a few hundredths, and a 1080p
#: portrait read at its full size cost about 58 ms when it was loaded (the stand-ins looked at, 218-345 px, are read
#: as they are, in 1.5-3.5 ms).
READ_HEIGHT = 400.0


@dataclass(frozen=True)
class FaceLines:
    """Where a face's lower parts lie along its axes (:func:`~unmask_video.face_axes.face_axes`), in the pixels of
    its landmarks: each pixel's coordinate down the face is ``(x, y) @ down``, across it ``(x, y) @ across``."""

    down: np.ndarray  # (2,) float64 unit vector, forehead to chin
    across: np.ndarray  # (2,) float64 unit vector, ``down`` turned a quarter
    height: float  # the face's height in pixels
    lip: float  # the lower lip's lowest point, down the face
    chin: float  # the chin's landmark, down the face
    mid: float  # the chin's landmark, across the face
    mouth: float  # the mouth's width across the face
    sides: tuple[float, float]  # the neck's column (``NECK_SIDES``), across the face, the smaller first

    def chin_skin(self, t: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Where the chin's skin lies (between the lower lip and the chin's landmark, near the midline), for pixels at
        ``t`` down and ``s`` across the face."""
        span = self.chin - self.lip
        return (t > self.lip + 0.3 * span) & (t < self.chin - 0.15 * span) & (np.abs(s - self.mid) < 0.5 * self.mouth)

    def column(self, s: np.ndarray) -> np.ndarray:
        """Whether pixels ``s`` across the face lie in the neck's column."""
        return (s >= self.sides[0]) & (s <= self.sides[1])


def face_lines(landmarks: np.ndarray) -> FaceLines | None:
    """:class:`FaceLines` of a face's (468, 2) ``landmarks``; None where its chin or mouth is degenerate."""
    pts = np.asarray(landmarks, np.float64)
    down, height = face_axes(pts)
    across = np.array([-down[1], down[0]])
    lip = float(pts[landmark_sets.LOWER_LIP_BOTTOM] @ down)
    chin = float(pts[landmark_sets.CHIN] @ down)
    corners = pts[list(landmark_sets.MOUTH_CORNERS)]
    mouth = float(abs((corners[1] - corners[0]) @ across))
    if chin - lip <= 1.0 or mouth <= 1.0:
        return None
    a, b = sorted(float(pts[i] @ across) for i in landmark_sets.NECK_SIDES)
    return FaceLines(down, across, height, lip, chin, float(pts[landmark_sets.CHIN] @ across), mouth, (a, b))


def coordinates(lines: FaceLines, shape: tuple[int, int], origin: tuple[float, float] = (0.0, 0.0),
                steps: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(down, across): the coordinates ((h, w) float32) of a grid of ``shape`` whose first pixel's centre is at
    ``origin`` (x, y) and whose pixels are ``steps`` (x, y) apart."""
    h, w = shape
    xs = (np.arange(w, dtype=np.float32) * np.float32(steps[0]) + np.float32(origin[0]))[None, :]
    ys = (np.arange(h, dtype=np.float32) * np.float32(steps[1]) + np.float32(origin[1]))[:, None]
    d, a = lines.down.astype(np.float32), lines.across.astype(np.float32)
    return xs * d[0] + ys * d[1], xs * a[0] + ys * a[1]


@dataclass(frozen=True)
class ReferenceShade:
    """The reference photo's light under its jaw (:func:`reference_shade`)."""

    #: The median Lab lightness (0-100) of its chin's skin.
    chin: float
    #: Its smooth skin light under the jaw, in the neck's column, as a share of ``chin``: the :data:`PERCENTILE` th
    #: percentile (the shade's depth; about 1 where it shows none).
    depth: float


def reference_shade(image: np.ndarray, landmarks: np.ndarray, skin: np.ndarray) -> ReferenceShade | None:
    """How dark the reference photo ``image`` ((h, w, 3) uint8 RGB, its face's ``landmarks`` (468, 2)) is under its
    jaw: in the neck's column from :data:`ABOVE` above the chin's landmark to :data:`BELOW` below it, on ``skin``
    ((h, w) bool: the skin the warp carries), its smooth light (a Gaussian of :data:`SIGMA` face heights of the
    lightness of the pixels at least :data:`LEAST_SHARE` of the chin's) against its chin's; a face taller than
    :data:`READ_HEIGHT` is read at a reduced size. None: no chin or zone to read (too few pixels)."""
    lines = face_lines(landmarks)
    if lines is None:
        return None
    if lines.height > READ_HEIGHT:
        k = READ_HEIGHT / lines.height
        size = (max(int(round(image.shape[1] * k)), 1), max(int(round(image.shape[0] * k)), 1))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        skin = cv2.resize(skin.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        # (pixel centres: ``x`` at full size lies at ``(x + 0.5) * k - 0.5`` at the reduced one)
        lines = face_lines((np.asarray(landmarks, np.float64) + 0.5) * k - 0.5)
        if lines is None:
            return None
    sigma = max(SIGMA * lines.height, 0.5)
    # (a box around the chin and the zone under it, a Gaussian's reach wider: the photo's other pixels are not read)
    ends = [lines.lip, lines.chin + BELOW * lines.height]
    sides = [min(lines.sides[0], lines.mid - lines.mouth), max(lines.sides[1], lines.mid + lines.mouth)]
    corners = np.array([t * lines.down + s * lines.across for t in ends for s in sides])
    margin = 3.0 * sigma + 1.0
    x0, y0 = (max(int(v), 0) for v in np.floor(corners.min(axis=0) - margin))
    x1, y1 = (int(v) for v in np.ceil(corners.max(axis=0) + margin) + 1)
    x1, y1 = min(x1, image.shape[1]), min(y1, image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    box = slice(y0, y1), slice(x0, x1)
    t, s = coordinates(lines, (y1 - y0, x1 - x0), (x0, y0))
    # (Lab as :func:`~unmask_video.reconstruct.lab_pixels.to_lab` converts it; that package imports the warp)
    light = cv2.cvtColor(image[box].astype(np.float32) * np.float32(1.0 / 255.0), cv2.COLOR_RGB2Lab)[..., 0].copy()
    on_chin = lines.chin_skin(t, s) & skin[box]
    if np.count_nonzero(on_chin) < 20:
        return None
    chin = float(np.median(light[on_chin]))
    if chin <= 1.0:
        return None
    lit = (light >= np.float32(LEAST_SHARE * chin)).astype(np.float32)
    smooth = cv2.GaussianBlur(light * lit, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(lit, (0, 0), sigma), 1e-3)
    zone = lines.column(s) & (t > lines.chin - ABOVE * lines.height) & (t < lines.chin + BELOW * lines.height)
    zone &= skin[box] & (lit > 0)
    if np.count_nonzero(zone) < 20:
        return None
    return ReferenceShade(chin, float(np.percentile(smooth[zone], PERCENTILE)) / chin)
