"""The composite's fills of what the warp does not cover at a working face size (``CompositeOptions.fill_face_px``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_composite import masked_face, scaled_face
from tests.test_warp import psnr
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite, _grown, _halved
from unmask_video.stages import FaceROI


def _with_gap(face: FaceROI) -> FaceROI:
    """``face`` with the warp not valid on the image-right third of the mask's columns: a cheek and jaw to fill."""
    cols = np.flatnonzero((face.mask > 0).any(axis=0))
    valid = face.valid.copy()
    valid[:, cols[0] + 2 * (cols[-1] - cols[0]) // 3 :] = False
    return FaceROI(face.box, face.image, face.landmarks, face.mask, face.reference, valid)


def _rebuilt(face: FaceROI, fill_face_px: float) -> np.ndarray:
    return ReferenceComposite(CompositeOptions(fill_face_px=fill_face_px)).reconstruct([face])[0]


@pytest.mark.parametrize("face_px", [420.0, 800.0])
def test_a_big_faces_fills_at_the_working_size_are_the_full_sizes_nearly(face_px: float) -> None:
    """On a big face (shrunk 2 and 4 times for the fills) the fills differ a little from the full size's, the hole is
    as near the truth, and the pasted reference away from the fills (their fade reaches into it) is the same."""
    face, truth = scaled_face(*masked_face(), face_px)
    face = _with_gap(face)
    full, small = _rebuilt(face, 0.0), _rebuilt(face, 256.0)
    differ = (full != small).any(axis=2)
    assert differ.any()
    cut = np.flatnonzero((face.valid[:, 1:] & ~face.valid[:, :-1]).any(axis=0))  # (where the gap starts)
    left = int(cut.max()) - int(0.05 * face_px) if len(cut) else face.valid.shape[1]
    assert not differ[face.image.shape[0] // 2 :, :left].any()  # (the lower face's pasted skin away from the gap)
    gap = (face.mask > 0) & ~face.valid
    assert np.abs(full[gap].astype(np.int16) - small[gap]).mean() < 4.0
    hole = face.mask > 0
    assert psnr(small, truth, hole) > psnr(full, truth, hole) - 0.3, (psnr(small, truth, hole), psnr(full, truth, hole))


def test_a_face_under_the_working_size_is_filled_at_full_size() -> None:
    """A face under 1.41 times the working size: the fills at full size, the output the same."""
    face, _ = masked_face()
    face = _with_gap(face)
    assert np.array_equal(_rebuilt(face, 0.0), _rebuilt(face, 256.0))


def test_halved_is_the_area_resize() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    for n in (1, 2, 4):
        expected = cv2.resize(image, (48 // n, 64 // n), interpolation=cv2.INTER_AREA)
        assert np.abs(_halved(image, n).astype(np.int16) - expected).max() <= 1


@pytest.mark.parametrize("box", [(slice(0, 40), slice(0, 36)), (slice(9, 23), slice(5, 30)), (slice(37, 40), slice(3, 4))])
def test_grown_box_is_the_whole_grown(box: tuple[slice, slice]) -> None:
    """A box of the grown image from the cells around it only: the same pixels as the whole grown."""
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (10, 9, 3), dtype=np.uint8)
    for interpolation in (cv2.INTER_LINEAR, cv2.INTER_NEAREST):
        whole = cv2.resize(small, (36, 40), interpolation=interpolation)
        assert np.array_equal(_grown(small, 4, box, interpolation), whole[box])


def test_a_mask_at_the_rois_edge_is_filled_there() -> None:
    """The mask and the gap reach the ROI's last rows (the region a height no multiple of the working factor): filled
    to the edge, as at full size."""
    face, _ = scaled_face(*masked_face(), 420.0)
    face = _with_gap(face)
    rows = np.flatnonzero((face.mask > 0).any(axis=1))
    end = int(rows[-1]) - 15
    end -= end % 2 == 0  # (not a whole number of cells)
    cut = FaceROI(face.box, face.image[:end], face.landmarks, face.mask[:end], face.reference[:end], face.valid[:end])
    full, small = _rebuilt(cut, 0.0), _rebuilt(cut, 256.0)
    gap = (cut.mask > 0) & ~cut.valid
    assert gap[-1].any()
    assert np.abs(full[gap].astype(np.int16) - small[gap]).mean() < 4.0
    assert np.abs(full[-1][gap[-1]].astype(np.int16) - small[-1][gap[-1]]).mean() < 8.0
