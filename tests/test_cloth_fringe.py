"""A fringe of the cloth the segmentation missed, just past the hole: taken into it; skin, far specks, dark hair beside a
white cloth, a pale wall hardly leaning further than a grey and a third colour off the line left out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.test_cloth_bleed import CLOTH, _disc, _noisy_skin
from tests.test_composite import MASK_COLOUR, masked_face
from unmask_video.face_units import FaceLength
from unmask_video.reconstruct.cloth_bleed import BleedOptions, cloth_fringe
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.fill_seam import distance_to

_OPTS = BleedOptions(skin_from=12.0, skin_to=20.0)


def _framed(cloth: np.ndarray, seed: int = 0, colour: tuple[int, int, int] = CLOTH) -> np.ndarray:
    """(h, w, 3) uint8: noisy skin with the cloth's ``colour`` on ``cloth`` ((h, w) bool)."""
    image = _noisy_skin(cloth.shape, seed)
    image[cloth] = colour
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _missed_corner(hole: np.ndarray, rows: slice, cols: slice, depth: int) -> np.ndarray:
    """(h, w) bool: ``hole`` with the cloth reaching ``depth`` px further out on the ``rows``, ``cols`` box."""
    dist = distance_to(hole)
    cloth = hole.copy()
    cloth[rows, cols] |= dist[rows, cols] <= depth
    return cloth


def test_the_missed_corner_is_taken_in_and_the_skin_is_not() -> None:
    hole = _disc()
    cloth = _missed_corner(hole, slice(40, 80), slice(120, 160), 4)
    image = _framed(cloth)
    fringe = cloth_fringe(image, hole, np.ones(hole.shape, bool), distance_to(hole), 5.0, 0.5, _OPTS)
    assert fringe is not None
    missed = cloth & ~hole
    assert np.count_nonzero(fringe & missed) >= 0.95 * np.count_nonzero(missed)
    assert not (fringe & ~cloth).any()


def test_nothing_is_taken_past_its_depth() -> None:
    hole = _disc()
    cloth = _missed_corner(hole, slice(40, 80), slice(120, 160), 4)
    dist = distance_to(hole)
    fringe = cloth_fringe(_framed(cloth), hole, np.ones(hole.shape, bool), dist, 2.0, 0.5, _OPTS)
    assert fringe is not None
    assert dist[fringe].max() <= 2.0 < dist[cloth].max()


def test_a_speck_apart_from_the_hole_is_left_alone() -> None:
    hole = _disc()
    cloth = _missed_corner(hole, slice(40, 80), slice(120, 160), 4)
    dist = distance_to(hole)
    speck = (dist > 3.5) & (dist <= 4.5)  # (a piece of a ring 4 px out, skin between it and the hole)
    speck[:, :100] = False
    speck[30:90, 110:170] = False
    fringe = cloth_fringe(_framed(cloth | speck), hole, np.ones(hole.shape, bool), dist, 6.0, 0.5, _OPTS)
    assert fringe is not None
    assert speck.any() and not (fringe & speck).any()


def test_no_fringe_where_the_cloth_is_the_skins_colour() -> None:
    hole = _disc()
    image = np.clip(np.round(_noisy_skin(hole.shape)), 0, 255).astype(np.uint8)
    assert cloth_fringe(image, hole, np.ones(hole.shape, bool), distance_to(hole), 5.0, 0.5, _OPTS) is None


WHITE = (235, 235, 238)


def _beside(
    colour: tuple[int, int, int], cloth: tuple[int, int, int], opts: BleedOptions = _OPTS
) -> tuple[np.ndarray | None, np.ndarray]:
    """(what :func:`cloth_fringe` takes, the strip): a disc of ``cloth`` with a strip of ``colour`` 4 px deep past it on
    one box."""
    hole = _disc()
    strip = _missed_corner(hole, slice(40, 80), slice(120, 160), 4) & ~hole
    image = _framed(hole, colour=cloth)
    image[strip] = colour
    return cloth_fringe(image, hole, np.ones(hole.shape, bool), distance_to(hole), 5.0, 0.5, opts), strip


def _taken(fringe: np.ndarray | None, strip: np.ndarray) -> bool:
    """Whether ``fringe`` (:func:`cloth_fringe`'s) holds nearly all of ``strip``; False where it holds none of it."""
    held = 0 if fringe is None else np.count_nonzero(fringe & strip)
    assert held == 0 or held >= 0.95 * np.count_nonzero(strip), held
    return held > 0


def test_a_pale_strip_beside_a_white_cloth_is_taken() -> None:
    assert _taken(*_beside((226, 226, 230), WHITE))


@pytest.mark.parametrize(
    ("colour", "cloth", "relaxed"),
    [
        # dark grey hair beside a white cloth: its chroma 0.92 of the way from the skin's to the cloth's, as far as the
        # cloth's own pale edge; its lightness is not
        ((40, 38, 36), WHITE, {"fringe_light": -np.inf}),
        # a teal backdrop beside a blue cloth: 0.84 of the way, 0.79 of it aside
        ((0, 180, 170), CLOTH, {"fringe_aside": np.inf}),
        # a pale wall beside a mint cloth: a grey's chroma 0.40 of the way, the wall's 0.53, hardly past a grey's
        ((185, 200, 190), (120, 200, 160), {"fringe_past_grey": 0.0}),
        # a pale wall beside a pale mint cloth as light: a grey's 0.55, the wall's 0.59; a coloured cloth, whose fringe
        # is told by chroma (told by lightness too, the wall would be taken)
        ((200, 205, 200), (150, 210, 190), {"fringe_grey_cloth": 0.5}),
    ],
)
def test_what_only_leans_toward_the_cloth_is_left_alone(
    colour: tuple[int, int, int], cloth: tuple[int, int, int], relaxed: dict[str, float]
) -> None:
    assert not _taken(*_beside(colour, cloth))
    assert _taken(*_beside(colour, cloth, replace(_OPTS, **relaxed)))


def test_the_composite_rebuilds_a_missed_top_corner_of_the_cloth() -> None:
    face, truth = masked_face()
    hole = face.mask > 0
    rows, cols = np.nonzero(hole)
    yy, xx = np.mgrid[: hole.shape[0], : hole.shape[1]]
    # (3 px of the cloth past the hole along its upper right edge, above the mouth)
    dist = distance_to(hole)
    corner = (dist > 0) & (dist <= 3) & (yy < rows.min() + 25) & (xx > cols.mean())
    assert corner.sum() > 150
    face.image = face.image.copy()
    face.image[corner] = MASK_COLOUR
    error = {}
    for fringe in (FaceLength(0.0), CompositeOptions().fringe):
        out = ReferenceComposite(CompositeOptions(fringe=fringe)).reconstruct([face])[0]
        error[fringe.at_reference_px] = float(np.abs(out[corner].astype(np.float32) - truth[corner]).mean())
    assert error[CompositeOptions().fringe.at_reference_px] < min(5.0, 0.5 * error[0.0]), error


def _mouth_at(centre: tuple[float, float], tilt: float) -> np.ndarray:
    """(468, 2) float32 landmarks whose only points that count for :func:`above_mouth` put the mouth's line through
    ``centre`` (x, y), the face's down ``tilt`` radians from straight down."""
    from unmask_video.landmark_sets import FACE_HEIGHT, MOUTH_CORNERS

    lm = np.zeros((468, 2), np.float32)
    down = np.array([np.sin(tilt), np.cos(tilt)])
    along = np.array([down[1], -down[0]])
    lm[FACE_HEIGHT[0]], lm[FACE_HEIGHT[1]] = np.array(centre) - 90.0 * down, np.array(centre) + 40.0 * down
    lm[MOUTH_CORNERS[0]], lm[MOUTH_CORNERS[1]] = np.array(centre) - 20.0 * along, np.array(centre) + 20.0 * along
    return lm


def test_the_fringe_above_the_mouth_is_what_the_whole_fringe_cut_there_is() -> None:
    """``landmarks`` given, :func:`cloth_fringe` reads the band's colours only where they can join a pixel above the
    mouth's line to the hole, and cuts there: the same pixels as the whole fringe cut by :func:`above_mouth`, for a
    fringe joined to the hole only through pixels below the line (a hook that climbs back up), lines through it at
    many heights and tilts, one above all of it (none left) and one below all of it (all kept)."""
    from unmask_video.reconstruct.cloth_bleed import above_mouth

    hole = _disc()
    dist = distance_to(hole)
    cloth = _missed_corner(hole, slice(40, 160), slice(140, 160), 5)
    # (a hook: out from the hole's side below, then up past it, a pixel or two off the hole)
    cloth[100:112, 150:153] = True
    cloth[88:112, 152:155] = True
    image = _framed(cloth, seed=3)
    valid = np.ones(hole.shape, bool)
    whole = cloth_fringe(image, hole, valid, dist, 5.0, 0.5, _OPTS)
    assert whole is not None
    rows = np.nonzero(whole)[0]
    heights = np.linspace(rows.min() - 3, rows.max() + 3, 17)
    lines = [((150.0, float(y)), t) for y in heights for t in (-0.6, -0.2, 0.0, 0.3, 0.7)]
    lines += [((150.0, 0.0), 0.0), ((150.0, 199.0), 0.0)]
    for centre, tilt in lines:
        lm = _mouth_at(centre, tilt)
        cut = cloth_fringe(image, hole, valid, dist, 5.0, 0.5, _OPTS, landmarks=lm)
        want = above_mouth(whole.copy(), lm)
        assert (cut is None) == (want is None), (centre, tilt)
        if want is not None:
            assert np.array_equal(cut, want), (centre, tilt)
    above_all, below_all = _mouth_at((150.0, 0.0), 0.0), _mouth_at((150.0, 199.0), 0.0)
    assert cloth_fringe(image, hole, valid, dist, 5.0, 0.5, _OPTS, landmarks=above_all) is None
    assert np.array_equal(cloth_fringe(image, hole, valid, dist, 5.0, 0.5, _OPTS, landmarks=below_all), whole)
