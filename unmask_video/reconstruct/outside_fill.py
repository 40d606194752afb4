"""What the warped reference does not cover inside the mask: the frame's own face, or what lies past its edge.

The warp carries only the reference's own face and neck skin, and another person's face (or one photographed in
another pose) never has the frame's shape: its cheek can end inside the frame's. The composite filled the rest of
the hole from the frame's surroundings wherever it lay outside FaceMesh's face outline, and with Telea inside it;
but under a mask FaceMesh's outline is a guess that often runs inside the real cheek (a turned head, a wide face),
and what lies beyond the mask's side edge there is the wall, so both fills drew the wall into the cheek: a grey smear
with a straight edge where the warped face ends.

A surgical mask's side edge lies on the face (the cloth wraps round the cheek), so the hole near FaceMesh's outline is
face too: :func:`on_face` takes the face oval, grown beside the cheeks by :attr:`OutsideFillOptions.reach`, within the
hole's body (its thin ear loops left out, they cross the background); below the jaw lies the neck or a collar.
There :func:`continue_skin` continues the rebuilt skin around the gap (a normalised Gaussian average of it, never the
frame's pixels past the mask); only what lies beyond is left to the surroundings' fill.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.blend import mask_bbox
from unmask_video.face_units import face_size_px
from unmask_video.reconstruct.fill_seam import feather_into_fill, weighted_stack
from unmask_video.reconstruct.scratch import scratch
from unmask_video.reference_matte import disc
from unmask_video.warp import face_region

__all__ = ["OutsideFillOptions", "on_face", "continue_skin", "fill_on_face"]


@dataclass(frozen=True)
class OutsideFillOptions:
    """Lengths as fractions of the face's size (:func:`~unmask_video.face_units.face_size_px`)."""

    #: How far past FaceMesh's face outline, beside the cheeks (above the jaw's corners), the hole still counts as face
    #: (the cheek FaceMesh guesses too narrow under a mask). 0: the oval only. Off: with 0.05 the quality benchmark's
    #: references from elsewhere lost 0.1-3.6 dB (lp_d9 23.50 -> 19.95, lp_d10 17.77 -> 14.57: skin drawn over the
    #: hair beside the jaw where the drawn mask reaches past the face), though it took the last of the wall's smear
    #: off the real woman_white_mask_720 clip with stand-in references.
    reach: float = 0.0
    #: Parts of the hole thinner than this are its ear loops (they cross the background, not the face).
    loop_width: float = 0.03
    #: The Gaussian of the skin's continuation into a gap (a second one 4x wider reaches a wide gap's middle).
    sigma: float = 0.03
    #: Where the warped skin meets its continuation, the continuation fades from the skin's local colour over this
    #: width, and the warped pixels' rim within :attr:`rim` of the edge fades into that colour
    #: (:func:`~unmask_video.reconstruct.fill_seam.feather_into_fill`): the reference's matte ends where its cheek
    #: turns away, often a few pixels of shade or hair, which inside the frame's cheek showed as a dark line.
    feather: float = 0.08
    rim: float = 0.05


def on_face(hole: np.ndarray, landmarks: np.ndarray, options: OutsideFillOptions | None = None) -> np.ndarray:
    """(h, w) bool: the pixels of ``hole`` ((h, w) bool) that lie on the frame's face (``landmarks``: its (468, 2)
    landmarks in the same pixels), not past its edge: inside the face oval, or within ``reach`` of it beside the cheeks
    (above the jaw's corners) and in the hole's body (not its ear loops)."""
    options = options or OutsideFillOptions()
    shape = hole.shape
    size = face_size_px(landmarks)
    face = face_region(shape, landmarks, antialiased=False)
    if options.reach <= 0:
        return hole & (face > 0)
    # (a distance, not a dilation with a disc: its cost does not grow with the face)
    near = cv2.distanceTransform(cv2.bitwise_not(face), cv2.DIST_L2, 3) <= options.reach * size
    # Beside the cheeks only: below the jaw's corners lies the neck, or a collar, which the reference's own neck covers
    # or the surroundings fill.
    pts = np.asarray(landmarks, np.float64)
    down = pts[landmark_sets.FACE_HEIGHT[1]] - pts[landmark_sets.FACE_HEIGHT[0]]
    down /= max(float(np.hypot(*down)), 1e-9)
    corners = float((pts[list(landmark_sets.NECK_SIDES)] @ down).min())
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    near &= (xs * down[0] + ys * down[1]) < corners
    body = cv2.morphologyEx(hole.astype(np.uint8), cv2.MORPH_OPEN, disc(0.5 * options.loop_width * size)) > 0
    return hole & ((face > 0) | (near & body))


def continue_skin(out: np.ndarray, gaps: np.ndarray, covered: np.ndarray, sigma: float) -> None:
    """Fill the ``gaps`` of ``out`` ((h, w, 3) uint8, changed in place; (h, w) bool) with the colour of the ``covered``
    pixels around them ((h, w) bool: the rebuilt skin), a normalised Gaussian average of ``sigma`` pixels, and of
    ``4 * sigma`` where no covered pixel is near; nothing else is read (not the frame past the mask)."""
    if not gaps.any() or not covered.any():
        return
    h, w = gaps.shape
    # (the region-sized temporaries in scratch buffers: fresh ones cost a page fault per 4 KiB, more than their work)
    stack = weighted_stack(out, covered.view(np.uint8), "outside_fill")
    sigma = max(float(sigma), 1.0)
    f = max(1, int(sigma // 2))  # (smooth averages: built at 1/f of the size, then resized)
    small = cv2.resize(stack, (-(-w // f), -(-h // f)), interpolation=cv2.INTER_AREA) if f > 1 else stack
    near = cv2.GaussianBlur(small, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    far = _far_blur(small, sigma / f)
    k = np.float32(1e-3)  # (the far average decides only where the near one has almost nothing)
    both = near + k * far
    if f > 1:
        both = cv2.resize(both, (w, h), dst=scratch("outside_fill.both", (h, w, 4)), interpolation=cv2.INTER_LINEAR)
    at = both[gaps]
    out[gaps] = np.clip(at[:, :3] / np.maximum(at[:, 3:], 1e-6) + 0.5, 0, 255).astype(np.uint8)


def _far_blur(small: np.ndarray, sigma: float) -> np.ndarray:
    """``small`` blurred with a Gaussian of ``4 * sigma`` (zeros past its border), computed at a quarter of its size
    and scaled back: the far average only decides where the near one has almost nothing, and is smooth (a sixteenth of
    the pixels and a quarter of the kernel: the wide blur was most of :func:`continue_skin`'s time)."""
    h, w = small.shape[:2]
    if min(h, w) < 16:
        return cv2.GaussianBlur(small, (0, 0), 4 * sigma, borderType=cv2.BORDER_CONSTANT)
    quarter = cv2.resize(small, (-(-w // 4), -(-h // 4)), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(quarter, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)


def fill_on_face(
    out: np.ndarray, gaps: np.ndarray, hole: np.ndarray, covered: np.ndarray, landmarks: np.ndarray,
    options: OutsideFillOptions | None = None,
) -> np.ndarray:
    """Fill the ``gaps`` ((h, w) bool: what the warp does not cover in and just around the ``hole``) that lie on the
    face (:func:`on_face`) with the ``covered`` skin continued (:func:`continue_skin`), in ``out`` (changed in place).
    Returns those pixels, (h, w) bool; the rest of the gaps lie past the face's edge."""
    options = options or OutsideFillOptions()
    inner = np.zeros_like(gaps)
    size = face_size_px(landmarks)
    # Only the gaps' box and what the fill reads around them is worked on (the cost follows the gaps, not the face).
    box = mask_bbox(gaps, int(np.ceil((options.feather + 2 * options.sigma + options.loop_width) * size)) + 2, gaps.shape)
    if box is None:
        return inner
    origin = np.array([box[1].start, box[0].start], np.float32)
    sub_gaps, sub_out = gaps[box], out[box]
    sub = sub_gaps & on_face(hole[box] | sub_gaps, np.asarray(landmarks, np.float32) - origin, options)
    inner[box] = sub
    if not sub.any():
        return inner
    covered = covered[box] & ~sub_gaps
    # The warped skin's rim is faded only along the wide gaps (where the reference's cheek ended inside the frame's):
    # a sliver between warped pixels (a fold, a resampled edge) is filled from its neighbours and the skin around it
    # keeps its detail.
    radius = 0.5 * options.rim * size
    core = cv2.distanceTransform(sub.view(np.uint8), cv2.DIST_L2, 3) > radius
    wide = sub & (cv2.distanceTransform(cv2.bitwise_not(core.view(np.uint8) * np.uint8(255)), cv2.DIST_L2, 3) <= radius + 1)
    rim = cv2.distanceTransform(cv2.bitwise_not(wide.view(np.uint8) * np.uint8(255)), cv2.DIST_L2, 3) <= options.rim * size
    # (the continuation reads past that rim: the rim is faded into the skin's colour just after)
    past_rim = covered & ~rim
    continue_skin(sub_out, sub, past_rim if past_rim.any() else covered, options.sigma * size)
    if wide.any():
        feather_into_fill(sub_out, wide, covered, options.feather * size, options.rim / max(options.feather, 1e-6))
    return inner
