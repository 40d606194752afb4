"""The reference photo's own shade under its jaw, lifted towards the frame's light where the frame shows none so deep.

A reference photographed from below (or lit from above) carries a deep shade under its jaw: the colour match scales its
light down to the contrast the frame's skin shows, but a band far darker than both the rebuilt chin above it and the
frame's own neck seen below the mask is left under the rebuilt chin (the grey-mask man with his stand-in: 8-bit L
165-172 under the chin against 190-199 on it and 185-193 on his neck below the mask). Here, inside the hole only and
below the jaw line, the rebuilt skin's smooth light (a Gaussian of its lightness, so its detail is kept) may sit at
most :attr:`UnderJawOptions.depth` below the darker of the two it lies between -- the rebuilt chin's skin and the
frame's visible neck straight below the mask -- and what lies deeper is lifted to that floor, by the share the
reference's own light there shows a shade of its own (its smooth light against its chin's), its chroma moved towards
the chin's by the share of the shade lifted. A frame whose neck below the mask is itself in
shade sets a low floor: that shade is the frame's light, and nothing is lifted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.blend import mask_bbox
from unmask_video.face_axes import face_axes, neck_column
from unmask_video.reconstruct.lab_pixels import from_lab, to_lab
from unmask_video.reconstruct.neck_side import below_hole

log = logging.getLogger(__name__)

__all__ = ["UnderJawOptions", "lift_under_jaw_shade"]

_LOWER_LIP = 17
_CORNERS = landmark_sets.MOUTH_CORNERS


@dataclass(frozen=True)
class UnderJawOptions:
    """Lengths as fractions of the face's height (:func:`~unmask_video.face_axes.face_axes`); lightness in Lab L
    (0-100)."""

    #: How far the rebuilt skin's smooth light may sit below the darker of the rebuilt chin's and the frame's neck's
    #: (Lab L). Negative: off.
    depth: float = 0.0
    #: Only where the warped reference's own smooth light under the jaw is this share of its chin's or less (its own
    #: shade, whatever the colour match made of it) ...
    shade_from: float = 0.6
    #: ... in full from this share down: a shade the reference's chin and neck show alike, or a mild one, is left.
    shade_full: float = 0.45
    #: Reference pixels darker than this share of its chin's light are not its skin in shade (hair, a dark
    #: background beside the jaw): never lifted, nor read into the smooth lights.
    least_share: float = 0.2
    #: The Gaussian of the rebuilt skin's smooth light.
    sigma: float = 0.03
    #: How far above FaceMesh's chin the lift fades in (the carried chin may lie above it).
    fade: float = 0.05
    #: The frame's neck is read in the band this far below the hole's edge (past ``gap``).
    band: float = 0.04
    #: ... skipping this much next to the edge (the mask's own shade and the segmentation's edge).
    gap: float = 0.015
    #: ... where the hole's nearest pixel lies this nearly straight up the face (the neck under the mask's lower edge,
    #: not what lies past its side).
    below: float = 0.9
    #: At least this many pixels of the frame's neck and of the rebuilt chin, or nothing is changed.
    least: int = 20


def _coords(shape: tuple[int, int], landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(down, across, unit down, unit across): each pixel's coordinates down and across the face ((h, w) float32) and
    the face's unit vectors."""
    down, _ = face_axes(landmarks)
    across = np.array([-down[1], down[0]])
    h, w = shape
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    return (xs * np.float32(down[0]) + ys * np.float32(down[1]),
            xs * np.float32(across[0]) + ys * np.float32(across[1]), down, across)  # fmt: skip


def lift_under_jaw_shade(
    out: np.ndarray, image: np.ndarray, reference: np.ndarray, hole: np.ndarray, pasted: np.ndarray, dist: np.ndarray,
    landmarks: np.ndarray, options: UnderJawOptions = UnderJawOptions(),
) -> bool:
    """Lift the rebuilt skin's shade under the jaw in ``out`` ((h, w, 3) uint8 RGB, changed in place on ``hole``
    only, where the warped reference is ``pasted``) towards the frame's light (module doc). ``image``: the frame's
    region; ``reference``: the warped reference before its colour match; ``dist``: each pixel's distance to
    ``hole`` ((h, w) float32); ``landmarks``: (468, 2) in the region's pixels. Returns whether anything changed."""
    if options.depth < 0 or not hole.any():
        return False
    pts = np.asarray(landmarks, np.float64)
    _, height = face_axes(pts)
    t, s, down, across = _coords(hole.shape, pts)
    lip = float(pts[_LOWER_LIP] @ down)
    chin = float(pts[landmark_sets.CHIN] @ down)
    mid = float(pts[landmark_sets.CHIN] @ across)
    mouth = float(abs((pts[_CORNERS[1]] - pts[_CORNERS[0]]) @ across))
    if chin - lip <= 1.0 or mouth <= 1.0:
        return False
    # The rebuilt chin's skin: the hole between the lower lip and the chin, near the midline.
    on_chin = hole & pasted & (t > lip + 0.3 * (chin - lip)) & (t < chin - 0.15 * (chin - lip)) & (np.abs(s - mid) < 0.5 * mouth)
    # The frame's neck seen straight below the mask's lower edge, in the neck's column.
    gap, band = options.gap * height, options.band * height
    column = neck_column(hole.shape, pts) > 0
    neck = (dist > gap) & (dist <= gap + band) & column & (t > chin)
    if neck.any():
        neck &= below_hole(dist, down) >= options.below
    if np.count_nonzero(on_chin) < options.least or np.count_nonzero(neck) < options.least:
        return False
    chin_lab = np.median(to_lab(out[on_chin]), axis=0)
    neck_l = float(np.median(to_lab(image[neck])[:, 0]))
    floor = min(float(chin_lab[0]), neck_l) - options.depth
    # Where it may change: in the hole where the warped reference is pasted, in the neck's column, below the chin's
    # landmark, faded in above it (the carried chin may lie above FaceMesh's).
    fade = max(options.fade * height, 1.0)
    weight = np.clip((t - (chin - fade)) / np.float32(fade), 0.0, 1.0) * (hole & pasted & column)
    where = mask_bbox(weight > 0, int(np.ceil(3 * options.sigma * height)) + 2, hole.shape)
    if where is None:
        return False
    lab = to_lab(out[where])
    sigma = max(options.sigma * height, 0.5)
    ref_chin = float(np.median(to_lab(reference[on_chin])[:, 0]))
    if ref_chin <= 1.0:
        return False
    # (the smooth lights are read on the reference's skin only: hair or a dark background beside the jaw is neither
    # lifted nor mixed into the skin's light beside it)
    ref_l = to_lab(reference[where])[..., 0]
    skin = (ref_l >= np.float32(options.least_share * ref_chin)).astype(np.float32)
    norm = np.maximum(cv2.GaussianBlur(skin, (0, 0), sigma), np.float32(1e-3))
    smooth = cv2.GaussianBlur(lab * skin[..., None], (0, 0), sigma) / norm[..., None]
    ref_smooth = cv2.GaussianBlur(ref_l * skin, (0, 0), sigma) / norm
    # How much of the reference's own shade this is: 0 at ``shade_from`` of its chin's light, 1 from ``shade_full``.
    span = max(options.shade_from - options.shade_full, 1e-3)
    own = np.clip((options.shade_from - ref_smooth / np.float32(ref_chin)) / np.float32(span), 0.0, 1.0) * skin
    deficit = np.clip(floor - smooth[..., 0], 0.0, None) * weight[where] * own
    if not (deficit > 0.5).any():
        return False
    share = np.clip(deficit / np.maximum(float(chin_lab[0]) - smooth[..., 0], 1e-3), 0.0, 1.0)
    lab[..., 0] += deficit
    lab[..., 1:] += share[..., None] * (chin_lab[None, None, 1:] - smooth[..., 1:])
    lifted = from_lab(lab)
    sub = out[where]
    change = (deficit > 0.5)
    sub[change] = lifted[change]
    log.debug("under-jaw shade: floor L %.1f (chin %.1f, neck %.1f), at most %.1f lifted", floor, chin_lab[0], neck_l,
              float(deficit.max()))  # fmt: skip
    return True
