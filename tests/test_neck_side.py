"""The pasted neck's side faded into the frame's neck seen in the band below the mask (reconstruct/neck_side.py)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from tests.test_composite import masked_face
from unmask_video.face_axes import face_axes, neck_column
from unmask_video.face_units import face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.fill_seam import distance_to
from unmask_video.reconstruct.neck_side import (
    NeckSideOptions,
    _blur_at,
    _near_along_rows,
    _reach_box,
    below_hole,
    fade_neck_side,
    row_nearest,
    side_offset,
)
from unmask_video.reconstruct.outside_fill import OutsideFillOptions

_BAND = 14.0


def _skin(lightness: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB skin of the given (h, w) lightness (0-255), a little texture on it."""
    tone = np.array([1.0, 0.78, 0.66], np.float32)
    noise = np.random.default_rng(3).normal(0.0, 3.0, lightness.shape + (1,)).astype(np.float32)
    return np.clip(lightness[..., None] * tone + noise, 0, 255).astype(np.uint8)


def _scene(offset: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frame, out, paste, hole, landmarks): the astronaut's masked face with a light falling off across the picture
    (shaded on the left, lit on the right: the frame's skin, ``frame``); the reference's neck pasted over the hole
    and the band below it only up to a line down the middle of the neck's column (its matte narrower than the
    frame's neck), ``offset`` levels darker than the frame there (the colour match's face tone); past it, the frame's
    own lit neck in the band."""
    face, _ = masked_face()
    landmarks = face.landmarks
    hole = face.mask > 0
    h, w = hole.shape
    lightness = np.broadcast_to(np.linspace(120.0, 220.0, w, dtype=np.float32)[None, :], (h, w))
    frame = _skin(np.ascontiguousarray(lightness))
    chin = landmarks[152]
    paste = (distance_to(hole) <= _BAND) & (np.arange(w)[None, :] <= int(round(chin[0])) + 4)
    out = frame.copy()
    out[paste] = np.clip(out[paste].astype(np.int16) - offset, 0, 255).astype(np.uint8)
    return frame, out, paste, hole, landmarks


def _band_below(hole: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    dist = distance_to(hole)
    return (dist > 0) & (dist <= _BAND) & (below_hole(dist, face_axes(landmarks)[0]) >= 0.9)


def _steepest(row: np.ndarray) -> float:
    """The largest change from pixel to pixel of ``row`` averaged over 5 pixels (the skin's texture smoothed): a
    hard step of s levels gives s / 5."""
    return float(np.abs(np.diff(np.convolve(row.astype(np.float32), np.full(5, 0.2, np.float32), "valid"))).max())


def _edge_rows(paste: np.ndarray, hole: np.ndarray, landmarks: np.ndarray) -> list[tuple[int, int]]:
    """(row, column of the paste's last pixel) where the paste's side meets the band below the mask."""
    beside = _band_below(hole, landmarks) & ~paste & (neck_column(hole.shape, landmarks) > 0)
    rows = []
    for y in np.flatnonzero(beside.any(axis=1)):
        xs = np.flatnonzero(paste[y])
        if len(xs) and beside[y, xs[-1] + 1 : xs[-1] + 4].all():
            rows.append((int(y), int(xs[-1])))
    return rows


def test_row_nearest_counts_along_the_row_only() -> None:
    where = np.zeros((3, 9), bool)
    where[1, 2] = where[1, 7] = True
    distance, column = row_nearest(where)
    assert distance[1].tolist() == [2, 1, 0, 1, 2, 2, 1, 0, 1]
    assert column[1].tolist() == [2, 2, 2, 2, 2, 7, 7, 7, 7]
    assert np.isinf(distance[0]).all() and np.isinf(distance[2]).all() and (column[[0, 2]] == -1).all()


def test_below_hole_is_one_straight_under_the_hole_and_none_beside_it() -> None:
    hole = np.zeros((40, 40), bool)
    hole[5:15, 10:30] = True
    cosine = below_hole(distance_to(hole), np.array([0.0, 1.0]))
    assert cosine[25, 20] > 0.99 and cosine[10, 35] < 0.01 and cosine[10, 3] < 0.01
    assert cosine[2, 20] < -0.99 and cosine[10, 20] == 0.0  # (above the hole; on it, no way away from it)
    assert abs(cosine[20, 33] - 6 / np.hypot(4, 6)) < 0.05  # (below and beside the corner (14, 29): 6 down, 4 across)


def test_the_pasted_necks_side_meets_the_lit_neck_beside_it_without_a_step() -> None:
    frame, out, paste, hole, landmarks = _scene()
    rows = _edge_rows(paste, hole, landmarks)
    assert len(rows) >= 4, rows
    before = out.copy()
    fade_neck_side(out, paste, distance_to(hole), _BAND, landmarks)
    grey, grey_before = (cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.int32) for a in (out, before))
    for y, x in rows:
        # The 50-level step at the paste's side is spread inwards over more than a few pixels.
        assert grey_before[y, x + 1] - grey_before[y, x] > 30
        run = x - next(k for k in range(x, -1, -1) if not paste[y, k])  # (the paste's run to its side)
        start = x - min(run - 1, 30)
        assert run > 10 and _steepest(grey[y, start : x + 4]) <= 7, grey[y, start : x + 4]
        assert _steepest(grey_before[y, start : x + 4]) > 9
        assert abs(grey[y, x + 1] - grey[y, x]) <= 20  # (from 50: the change fades out where the rows beside end)
    # Only the paste changed, and its interior (past the fade) kept the colour match's colour.
    changed = np.any(out != before, axis=-1)
    assert changed.any() and not (changed & ~paste).any()
    size = face_size_px(landmarks)  # (the fade's width, 0.15 of it, and its blur down the rows, 3 x 0.03)
    far = paste & (distance_to(_band_below(hole, landmarks) & ~paste) > 0.25 * size)
    assert far.sum() > 200 and not (changed & far).any()


def test_a_collar_or_a_shade_beside_the_paste_is_not_drawn_into_it() -> None:
    frame, out, paste, hole, landmarks = _scene()
    beside = _band_below(hole, landmarks) & ~paste
    out[beside] = (35, 35, 45)  # (a dark collar: another colour, far darker than the paste)
    before = out.copy()
    fade_neck_side(out, paste, distance_to(hole), _BAND, landmarks)
    assert np.array_equal(out, before)
    out[beside] = np.clip(before[beside].astype(np.int16) * 0 + frame[beside] - 90, 0, 255).astype(np.uint8)
    shaded = out.copy()  # (the same skin, in shade: darker than the paste by more than ``darker``)
    fade_neck_side(out, paste, distance_to(hole), _BAND, landmarks)
    assert np.array_equal(out, shaded)


def test_a_paste_that_covers_the_band_or_an_option_at_zero_changes_nothing() -> None:
    _, out, paste, hole, landmarks = _scene()
    before = out.copy()
    fade_neck_side(out, paste, distance_to(hole), _BAND, landmarks, NeckSideOptions(width=0.0))
    assert np.array_equal(out, before)
    whole = distance_to(hole) <= _BAND  # (the reference's neck as wide as the frame's: nothing beside it)
    fade_neck_side(out, whole, distance_to(hole), _BAND, landmarks)
    assert np.array_equal(out, before)
    fade_neck_side(out, paste, distance_to(hole), _BAND, landmarks, NeckSideOptions(below=1.01))  # (none below it)
    assert np.array_equal(out, before)


def test_the_composite_of_a_reference_whose_neck_covers_the_band_is_unchanged_by_it() -> None:
    face, _ = masked_face()
    off = CompositeOptions(outside=dataclasses.replace(OutsideFillOptions(), neck_side=NeckSideOptions(width=0.0)))
    on, without = ReferenceComposite(CompositeOptions()), ReferenceComposite(off)
    assert np.array_equal(on.reconstruct([face])[0], without.reconstruct([face])[0])



def test_the_colours_read_on_the_fades_box_are_those_read_on_the_whole_frame() -> None:
    _, out, paste, hole, landmarks = _scene()
    beside = _band_below(hole, landmarks) & ~paste & (neck_column(hole.shape, landmarks) > 0)
    size = face_size_px(landmarks)
    width, sigma = 0.15 * size, 0.03 * size
    box = _reach_box(beside, width, sigma)
    assert box[0].stop - box[0].start < hole.shape[0] and box[1].stop - box[1].start < hole.shape[1]
    lab = cv2.cvtColor(out, cv2.COLOR_RGB2Lab).astype(np.float32)
    whole = side_offset(lab, paste, beside, row_nearest(beside)[0], width, sigma, NeckSideOptions())
    on_box = side_offset(
        np.ascontiguousarray(lab[box]), paste[box], beside[box], row_nearest(beside[box])[0], width, sigma,
        NeckSideOptions(),
    )
    assert whole is not None and on_box is not None
    for full, part in zip(whole, on_box):  # (bit for bit where the fade reads them: at the pixels beside)
        assert np.array_equal(full[box][beside[box]], part[beside[box]])
        assert np.abs(part[beside[box]]).max() > 0.1


def test_the_pixels_near_along_the_rows_are_those_row_nearest_counts() -> None:
    rng = np.random.default_rng(5)
    for width in (0.5, 1.0, 2.0, 3.0, 3.2, 7.999999, 8.0, 8.0000001, 47.75, 48.0):
        where = rng.random((23, 61)) < rng.uniform(0.005, 0.08)
        where[5] = False  # (a row without any)
        assert np.array_equal(_near_along_rows(where, width), row_nearest(where)[0] < width), width


def test_the_gaussian_on_a_box_is_opencvs_whole_image_blur_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        h, w = (int(v) for v in rng.integers(20, 140, 2))
        channels = (1, 3, 4)[trial % 3]
        image = (rng.random((h, w, channels)) * 255).astype(np.float32)
        support = np.zeros((h, w), bool)
        a, b = sorted(rng.integers(0, h, 2)), sorted(rng.integers(0, w, 2))
        support[a[0] : a[1] + 1, b[0] : b[1] + 1] = rng.random((a[1] - a[0] + 1, b[1] - b[0] + 1)) < 0.6
        image[~support] = 0.0
        at = np.zeros((h, w), bool)
        c, d = sorted(rng.integers(0, h, 2)), sorted(rng.integers(0, w, 2))
        at[c[0] : c[1] + 1, d[0] : d[1] + 1] = True
        sigma = float(rng.uniform(0.8, 12.0))
        found = _blur_at(lambda box: image[box], support, sigma, at, channels)
        assert found is not None
        box, blurred = found
        whole = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT).reshape(h, w, channels)
        assert np.array_equal(blurred, whole[box]), (trial, sigma)
    assert _blur_at(lambda box: image[box], support, 3.0, np.zeros((h, w), bool), channels) is None
