"""A fringe of the cloth the segmentation missed, just past the hole: taken into it; skin, far specks, dark hair beside a
white cloth, a pale wall hardly leaning further than a grey and a third colour off the line left out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.test_cloth_bleed import CLOTH, _disc, _noisy_skin
from unmask_video.reconstruct.cloth_bleed import BleedOptions, cloth_fringe
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


def test_a_pale_strip_beside_a_white_cloth_is_taken_and_dark_hair_is_not() -> None:
    # (dark grey hair leans to a white cloth's chroma as far as its own pale edge: 0.92 of the way; its lightness does
    # not)
    pale, strip = _beside((226, 226, 230), WHITE)
    assert pale is not None and np.count_nonzero(pale & strip) >= 0.95 * np.count_nonzero(strip)
    hair, _ = _beside((40, 38, 36), WHITE)
    assert hair is None or not (hair & strip).any()
    by_chroma, _ = _beside((40, 38, 36), WHITE, replace(_OPTS, fringe_light=-np.inf))
    assert by_chroma is not None and np.count_nonzero(by_chroma & strip) >= 0.95 * np.count_nonzero(strip)


def test_a_third_colour_leaning_as_far_is_left_alone() -> None:
    # (a teal backdrop beside a blue cloth: 0.84 of the way from the skin's chroma to the cloth's, 0.79 of it aside)
    teal, strip = _beside((0, 180, 170), CLOTH)
    assert teal is None or not (teal & strip).any()
    along, _ = _beside((0, 180, 170), CLOTH, replace(_OPTS, fringe_aside=np.inf))
    assert along is not None and np.count_nonzero(along & strip) >= 0.95 * np.count_nonzero(strip)


def test_a_pale_wall_beside_a_mint_cloth_is_left_alone() -> None:
    # (a grey's chroma 0.40 of the way from the skin's to the cloth's; the wall's 0.53, past half way but hardly past a
    # grey's)
    mint = (120, 200, 160)
    wall, strip = _beside((185, 200, 190), mint)
    assert wall is None or not (wall & strip).any()
    by_half, _ = _beside((185, 200, 190), mint, replace(_OPTS, fringe_past_grey=0.0))
    assert by_half is not None and np.count_nonzero(by_half & strip) >= 0.95 * np.count_nonzero(strip)


def test_a_pale_wall_beside_a_pale_mint_cloth_is_not_told_by_its_lightness() -> None:
    # (a grey's chroma 0.55 of the way from the skin's to the cloth's, the wall's 0.59: a coloured cloth, whose fringe
    # is told by chroma; told by lightness, the wall as light as the cloth would be taken)
    mint = (150, 210, 190)
    wall, strip = _beside((200, 205, 200), mint)
    assert wall is None or not (wall & strip).any()
    by_light, _ = _beside((200, 205, 200), mint, replace(_OPTS, fringe_grey_cloth=0.5))
    assert by_light is not None and np.count_nonzero(by_light & strip) >= 0.95 * np.count_nonzero(strip)
