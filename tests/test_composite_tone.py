"""The rebuilt skin's tone with a reference in other light: the reference's own light across the face (issue 11)."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_composite import masked_face
from unmask_video import landmark_sets
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite, _across_share


def _lightness(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def _side_lit(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The reference photo lit from its image-right side: 0.6x at the face's left edge to 1.3x at its right."""
    w = reference.shape[1]
    x0, x1 = float(landmarks[:, 0].min()), float(landmarks[:, 0].max())
    side = np.clip(0.6 + 0.7 * (np.arange(w, dtype=np.float32) - x0) / (x1 - x0), 0.5, 1.4)[None, :, None]
    return np.clip(reference.astype(np.float32) * side, 0, 255).astype(np.uint8)


def _halves(face, image: np.ndarray) -> float:
    """The mean lightness of the hole's image-right half less its image-left half, the lips left out."""
    hole = face.mask > 0
    lips = np.zeros(hole.shape, np.uint8)
    cv2.fillPoly(lips, [np.round(face.landmarks[list(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 1)
    skin = hole & (cv2.dilate(lips, np.ones((9, 9), np.uint8)) == 0)
    nose_x = face.landmarks[landmark_sets.NOSE_TIP, 0]
    right = np.zeros_like(skin)
    right[:, int(round(nose_x)):] = True
    lightness = _lightness(image)
    return float(lightness[skin & right].mean() - lightness[skin & ~right].mean())


def _ring(slope_frame: float, slope_reference: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """A ring of pixels above and below a mask (two rows of 200 pixels), the frame's and the reference's L rising by
    the given slopes from its left end to its right (a by half of it, b flat, a little noise)."""
    rng = np.random.default_rng(3)
    xs = np.tile(np.arange(200), 2)
    ys = np.repeat([10, 150], 200)
    t = xs / 199.0

    def lab(slope: float) -> np.ndarray:
        # (a rises as L does: a colour across is not light, it is left alone)
        return np.stack([60.0 + slope * (t - 0.5), 15.0 + 0.5 * slope * (t - 0.5), 15.0 + 0 * t]) + rng.normal(
            0, 1.0, (3, len(t)))

    return lab(slope_frame), lab(slope_reference), np.ones(len(t), bool), (ys, xs)


def test_the_share_of_the_references_light_across_taken_out_is_how_far_the_ring_says_it_is_not_the_frames() -> None:
    for frame, reference, expected in ((20, 20, 0.0), (20, 18, 0.0), (-12, 26, 1.0), (0, 30, 1.0), (30, 0, 1.0),
                                       (2, -2, 0.0)):  # fmt: skip
        tgt, ref, both, coords = _ring(frame, reference)
        share, slope = _across_share(tgt, ref, both, coords)
        assert abs(float(share[0]) - expected) < 0.15, (frame, reference, share)
        assert not share[1:].any() and not slope[1:].any()  # (lightness only)
        assert abs(float(slope[0]) * 199 - frame) < 1.0, (frame, slope)  # (the frame's, per pixel)
    tgt, ref, both, coords = _ring(-12, 26)
    assert not _across_share(tgt, ref, np.zeros_like(both), coords)[0].any()  # too few pixels: nothing taken out


def test_a_reference_lit_from_one_side_does_not_carry_its_bright_side_onto_an_evenly_lit_face() -> None:
    face, truth = masked_face(light=_side_lit)
    steps = {}
    for across in (0.0, 1.0):
        out = ReferenceComposite(CompositeOptions(across=across)).reconstruct([face])[0]
        steps[across] = _halves(face, out)
    truth_step = _halves(face, truth)
    # (with the reference's light across carried, its bright side shows: the halves differ by far more than the truth's)
    assert abs(steps[0.0] - truth_step) > 6.0, (steps, truth_step)
    # (the frame's own light across, darker on the image right, comes from the ring: not all of it reaches the hole's
    # middle, but the reference's bright side is gone)
    assert abs(steps[1.0] - truth_step) < 0.75 * abs(steps[0.0] - truth_step), (steps, truth_step)
    assert steps[1.0] < steps[0.0] - 2.0, (steps, truth_step)


def test_a_reference_in_the_frames_own_light_keeps_its_light_across() -> None:
    # The reference is the truth's own photo: the ring shows the same light across in both, nothing is taken out.
    face, _ = masked_face()
    on = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(across=0.0)).reconstruct([face])[0]
    assert np.array_equal(on, off)
