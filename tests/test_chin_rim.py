"""The pale rim under a light mask's lower edge joined to the mask (unmask_video.chin_rim): the astronaut's face grown
to a 720p face's size, a drawn white mask, a flat neck painted under it with a pale band along the mask's edge."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask_video import landmark_sets as ls
from unmask_video.chin_rim import ChinRimOptions, join_chin_rim
from unmask_video.face_units import face_size_px
from unmask_video.synthetic import MaskStyle, astronaut_landmarks, draw_surgical_mask

NECK = (150, 110, 90)
PALE = (185, 148, 128)  # (about 30 levels of 8-bit L above the neck)


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image, landmarks = astronaut_landmarks()
    scale, x0 = 2.5, 110
    bare = cv2.resize(np.array(image)[:240, x0 : x0 + 240], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    lm = ((landmarks - np.array([x0, 0], np.float32)) * scale).astype(np.float32)
    masked, mask = draw_surgical_mask(bare, lm, MaskStyle(color=(240, 242, 245)))
    return masked, lm, mask


def _bottom(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mask's columns and each one's lowest mask row."""
    inside = mask > 0.5
    cols = np.flatnonzero(inside.any(axis=0))
    return cols, mask.shape[0] - 1 - np.argmax(inside[::-1, cols], axis=0)


def _neck(image: np.ndarray, mask: np.ndarray, band: int, colour: tuple[int, int, int] = PALE) -> np.ndarray:
    """``image`` with a flat neck under the mask's lower edge and ``band`` rows of ``colour`` along the edge."""
    out = image.copy()
    for c, b in zip(*_bottom(mask)):
        out[b + 1 :, c] = NECK
        out[b + 1 : b + 1 + band, c] = colour
    return out


def _neck_columns(lm: np.ndarray, cols: np.ndarray) -> np.ndarray:
    a, b = sorted(float(lm[i][0]) for i in ls.NECK_SIDES)
    return (cols >= a) & (cols <= b)


def test_a_pale_band_under_the_chin_joins_the_mask_above_the_neck_only(face):
    masked, lm, mask = face
    size = face_size_px(lm)
    out = join_chin_rim(_neck(masked, mask, 3), lm, mask)
    cols, bottom = _bottom(mask)
    under = _neck_columns(lm, cols)
    # (the middle of the chin: a run's ends slope in)
    middle = under & (np.abs(cols - cols[under].mean()) < 0.25 * (cols[under].max() - cols[under].min()))
    for d in (1, 2, 3):
        assert (out[bottom[middle] + d, cols[middle]] > 0.5).all()
    assert (out[bottom + 4, cols] <= 0.5).all()  # (no deeper than the band)
    beside = ~under
    assert beside.any() and np.array_equal(out[:, cols[beside]], mask[:, cols[beside]])  # (beside the neck: as it was)
    assert np.array_equal(out[: int(bottom.min()) - 3], mask[: int(bottom.min()) - 3])  # (above the edge: as it was)
    assert (out >= mask).all() and (out[bottom[middle] + 3, cols[middle]] > 0.5).sum() > 0.1 * size


@pytest.mark.parametrize(
    "band, colour, why",
    [
        (0, PALE, "no band: the neck as it is"),
        (40, PALE, "a pale collar, thicker than a rim"),
        (3, (60, 30, 20), "a dark band (the chin's shade)"),
        (3, (250, 250, 250), "a band far lighter than the neck: a white collar's edge, a hand"),
    ],
)
def test_no_rim_joins_where_the_band_is_not_a_pale_rim(face, band, colour, why):
    masked, lm, mask = face
    assert join_chin_rim(_neck(masked, mask, band, colour), lm, mask) is mask, why


def test_a_short_pale_spot_and_a_grey_cloth_leave_the_mask_as_it_is(face):
    masked, lm, mask = face
    size = face_size_px(lm)
    cols, bottom = _bottom(mask)
    image = _neck(masked, mask, 0)
    middle = int(np.argmin(np.abs(cols - lm[ls.CHIN][0])))
    for i in range(middle, middle + int(0.06 * size)):  # (a spot along the edge narrower than ``width``)
        image[bottom[i] + 1 : bottom[i] + 4, cols[i]] = PALE
    assert join_chin_rim(image, lm, mask) is mask
    grey, _ = draw_surgical_mask(_neck(masked, mask, 3), lm, MaskStyle(color=(110, 110, 110)))
    assert join_chin_rim(grey, lm, mask) is mask  # (a cloth no lighter than the neck: the band is no cloth light)
    assert join_chin_rim(_neck(masked, mask, 3), lm, mask, ChinRimOptions(enabled=False)) is mask


def _join_as_first_written(image: np.ndarray, lm: np.ndarray, mask: np.ndarray, options: ChinRimOptions) -> np.ndarray:
    """The rule's reading as first written (every column's rows read at once, the whole mask below the mouth
    searched), the depths and the moved edge by the module's own steps: the reference the staged reading must give
    bit for bit."""
    from unmask_video.chin_rim import _moved_down, _rim_depth
    from unmask_video.face_axes import face_axes

    h, w = mask.shape
    pts = np.asarray(lm, np.float64)
    mouth = float(pts[list(ls.MOUTH_CORNERS), 1].max())
    start = min(max(int(np.floor(mouth)) + 1, 0), h)
    inside = mask[start:] > 0.5
    if not options.enabled or not inside.any():
        return mask
    size = face_size_px(lm)
    deep = max(int(round(options.depth * size)), 1)
    n0 = max(int(round(options.neck[0] * size)), deep + 1)
    n1 = max(int(round(options.neck[1] * size)), n0 + 1)
    cols = np.flatnonzero(inside.any(axis=0))
    bottom = h - 1 - np.argmax(inside[::-1, cols], axis=0)
    down, _ = face_axes(pts)
    across = cols * down[1] - bottom * down[0]
    a, b = sorted(float(pts[i][0] * down[1] - pts[i][1] * down[0]) for i in ls.NECK_SIDES)
    keep = (bottom > mouth) & (bottom + n1 < h) & (across >= a) & (across <= b)
    cols, bottom = cols[keep], bottom[keep]
    if not len(cols):
        return mask
    rows = bottom[None, :] + np.arange(-5, n1 + 1)[:, None]
    picked = np.ascontiguousarray(image[np.maximum(rows, 0), cols[None, :]])
    light = cv2.cvtColor(picked, cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32)
    neck = np.median(light[5 + n0 : 5 + n1 + 1], axis=0)
    cloth = np.median(light[0:4], axis=0)
    below = light[6 : 5 + n0]
    depth = _rim_depth(below, cloth, neck, deep, n0, options)
    return _moved_down(mask, cols, bottom, depth, size, n1, options) if depth.any() else mask


def _turned(image: np.ndarray, lm: np.ndarray, mask: np.ndarray, degrees: float):
    """The face turned in the image plane by ``degrees`` about the chin (image, landmarks, mask)."""
    h, w = mask.shape
    m = cv2.getRotationMatrix2D((float(lm[ls.CHIN][0]), float(lm[ls.CHIN][1])), degrees, 1.0)
    turn = lambda a, interp: cv2.warpAffine(a, m, (w, h), flags=interp)  # noqa: E731
    pts = (np.c_[lm, np.ones(len(lm))] @ m.T).astype(np.float32)
    return turn(image, cv2.INTER_LINEAR), pts, turn(mask, cv2.INTER_LINEAR)


@pytest.mark.parametrize("degrees", [0.0, 20.0, -35.0, 120.0])
def test_the_rim_read_in_stages_gives_the_rule_as_first_written_bit_for_bit(face, degrees):
    masked, lm, mask = face
    rng = np.random.default_rng(7)
    noisy = np.clip(_neck(masked, mask, 3).astype(np.int16) + rng.integers(-12, 13, masked.shape), 0, 255)
    n0 = int(round(ChinRimOptions().neck[0] * face_size_px(lm)))
    fading = _neck_rows(masked, mask, list(np.linspace(24.0, 10.0, n0 - 1)), _cloth_lightness(masked, mask, lm) - 30.0)
    cases = [_neck(masked, mask, 3), _neck(masked, mask, 0), _neck(masked, mask, 40), noisy.astype(np.uint8), fading]
    options = [ChinRimOptions(), ChinRimOptions(smooth=1), ChinRimOptions(smooth=4, width=0.02, taper=1),
               ChinRimOptions(lighter=2.0, cloth_above=4.0, width=0.3)]  # fmt: skip
    joined = 0
    for image in cases:
        image, pts, turned = _turned(image, lm, mask, degrees)
        for opt in options:
            want = _join_as_first_written(image, pts, turned, opt)
            got = join_chin_rim(image, pts, turned, opt)
            assert np.array_equal(got, want) and (got is turned) == (want is turned), (degrees, opt)
            joined += int(want is not turned)
    assert joined >= 3  # (the cases do join, upright and turned)


def test_where_no_rim_can_start_at_the_edge_the_rows_between_are_not_read(face, monkeypatch):
    from unmask_video import chin_rim

    masked, lm, mask = face
    reads: list[int] = []
    original = chin_rim._lightness

    def counted(image, bottom, cols, rows):
        reads.append(len(rows))
        return original(image, bottom, cols, rows)

    monkeypatch.setattr(chin_rim, "_lightness", counted)
    assert join_chin_rim(_neck(masked, mask, 0), lm, mask) is mask
    assert len(reads) == 1  # (the cloth's rows, the first past the edge, the neck's: no band starts there)
    reads.clear()
    assert join_chin_rim(_neck(masked, mask, 3), lm, mask) is not mask
    assert len(reads) == 2  # (a band: the rows between read too)


def _lab_rgb(lightness: float, a: float = 138.0, b: float = 140.0) -> tuple[int, int, int]:
    """The RGB of an 8-bit Lab colour (a warm skin's chroma by default)."""
    lab = np.array([[[lightness, a, b]]], np.float32).clip(0, 255).astype(np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)[0, 0])


def _cloth_lightness(masked: np.ndarray, mask: np.ndarray, lm: np.ndarray) -> float:
    """The drawn cloth's 8-bit L 2 to 5 rows inside its lower edge, over the neck's columns (its median)."""
    cols, bottom = _bottom(mask)
    under = _neck_columns(lm, cols)
    light = cv2.cvtColor(masked, cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32)
    return float(np.median([light[bottom[under] - d, cols[under]] for d in (2, 3, 4, 5)]))


def _neck_rows(image: np.ndarray, mask: np.ndarray, leads: list[float], neck: float) -> np.ndarray:
    """``image`` with a flat neck of 8-bit L ``neck`` under the mask's lower edge, its first rows lighter than it by
    ``leads`` (row 1 first)."""
    out = image.copy()
    for c, b in zip(*_bottom(mask)):
        out[b + 1 :, c] = _lab_rgb(neck)
        for d, lead in enumerate(leads, start=1):
            out[b + d, c] = _lab_rgb(neck + lead)
    return out


def test_a_pale_band_under_a_cloth_hardly_lighter_than_the_neck_joins(face):
    # (the white-mask woman's image-right side: her neck lit nearly as light as the cloth; the band 14 levels above the
    # neck, the cloth 16 above it: 24 levels of ``cloth_above`` left it)
    masked, lm, mask = face
    neck = _cloth_lightness(masked, mask, lm) - 16.0
    image = _neck_rows(masked, mask, [14.0, 14.0, 14.0], neck)
    assert join_chin_rim(image, lm, mask, ChinRimOptions(cloth_above=24.0)) is mask
    out = join_chin_rim(image, lm, mask)
    cols, bottom = _bottom(mask)
    under = _neck_columns(lm, cols)
    middle = under & (np.abs(cols - cols[under].mean()) < 0.25 * (cols[under].max() - cols[under].min()))
    for d in (1, 2, 3):
        assert (out[bottom[middle] + d, cols[middle]] > 0.5).all()
    assert (out[bottom + 4, cols] <= 0.5).all()


def test_a_band_that_fades_into_the_neck_joins_a_flat_one_as_deep_does_not(face):
    # (the cloth's light spilling onto a lit neck fades down over the rows before the neck's median; a collar or a
    # hood's lining as deep stays as light all the way)
    masked, lm, mask = face
    size = face_size_px(lm)
    n0 = int(round(ChinRimOptions().neck[0] * size))
    neck = _cloth_lightness(masked, mask, lm) - 30.0
    fading = list(np.linspace(24.0, 10.0, n0 - 1))
    out = join_chin_rim(_neck_rows(masked, mask, fading, neck), lm, mask)
    cols, bottom = _bottom(mask)
    middle = _neck_columns(lm, cols) & (np.abs(cols - lm[ls.CHIN][0]) < 0.1 * size)
    deep = int(round(ChinRimOptions().depth * size))
    assert (out[bottom[middle] + deep, cols[middle]] > 0.5).all()
    assert (out[bottom + deep + 1, cols] <= 0.5).all()  # (no deeper than ``depth``)
    assert join_chin_rim(_neck_rows(masked, mask, fading, neck), lm, mask, ChinRimOptions(fade=0.0)) is mask
    assert join_chin_rim(_neck_rows(masked, mask, [18.0] * (n0 - 1), neck), lm, mask) is mask
