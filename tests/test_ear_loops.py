"""The ear loops past a worn mask (unmask_video.ear_loops): the astronaut's face, grown to a 720p face's size, with a
drawn mask and drawn loops from its side edges up around the ears (real FaceMesh landmarks, no data needed)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from skimage import data

from unmask_video import ear_loop_follow, ear_loop_search
from unmask_video import ear_loops as ear_loops_module
from unmask_video import landmark_sets as ls
from unmask_video.ear_loop_options import Look
from unmask_video.ear_loop_pixels import stroke_pixels
from unmask_video.ear_loops import EarLoopOptions, EarLoops, erase_loops, inpaint_box
from unmask_video.face_units import face_size_px
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.stages import Box, Loops
from unmask_video.synthetic import MaskStyle, astronaut_landmarks, draw_surgical_mask

CLOTH = (240, 242, 245)


@dataclass
class Scene:
    bare: np.ndarray  # the face without a mask (uint8 RGB)
    masked: np.ndarray  # with the drawn mask, no loops
    looped: np.ndarray  # with the drawn mask and its loops
    landmarks: np.ndarray
    mask: np.ndarray  # the drawn mask, float32 {0, 1}
    loops: np.ndarray  # the loops' pixels (more than half covered), bool


def _loop_paths(mask: np.ndarray, landmarks: np.ndarray) -> list[np.ndarray]:
    """Each side's loop: from the mask's side edge near its top, up past the ear and over its top."""
    inside = (mask > 0.5).astype(np.uint8)
    size = face_size_px(landmarks)
    x, _, w, _ = cv2.boundingRect(inside)
    paths = []
    for ear_ids, sx, out in zip(ls.OUTLINE_SIDES, (x + 2, x + w - 3), (-1, 1)):
        ear = landmarks[list(ear_ids)].mean(axis=0)
        start = (sx, int(np.flatnonzero(inside[:, sx]).min()) + 4)
        turns = [(0.03, 0.05), (0.06, 0.15), (0.1, 0.12)]  # (out, up) past the ear, in face sizes
        points = [start] + [(ear[0] + out * a * size, ear[1] - b * size) for a, b in turns]
        paths.append(np.array(points, np.int32))
    return paths


def _draw(image: np.ndarray, mask: np.ndarray, paths: list[np.ndarray], strength: float = 1.0) -> np.ndarray:
    """``image`` with anti-aliased 3 px lines of the cloth's colour along ``paths`` outside the mask; and where."""
    cover = np.zeros(mask.shape, np.uint8)
    cv2.polylines(cover, paths, False, 255, 3, cv2.LINE_AA)
    alpha = strength * (cover.astype(np.float32) / 255.0)[:, :, None] * (mask[:, :, None] <= 0.5)
    return (image * (1 - alpha) + np.array(CLOTH, np.float32) * alpha).round().astype(np.uint8)


@pytest.fixture(scope="module")
def scene() -> Scene:
    image, landmarks = astronaut_landmarks()
    scale, x0 = 2.5, 110  # (the face 260 px wide: a 720p face)
    bare = cv2.resize(np.array(image)[:220, x0 : x0 + 240], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    lm = ((landmarks - np.array([x0, 0], np.float32)) * scale).astype(np.float32)
    masked, mask = draw_surgical_mask(bare, lm, MaskStyle(color=CLOTH))
    paths = _loop_paths(mask, lm)
    looped = _draw(masked, mask, paths)
    loops = np.abs(looped.astype(np.int16) - masked).max(axis=2) > 60
    return Scene(bare, masked, looped, lm, mask, loops)


def _found(loops: Loops | None, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape[:2], bool)
    if loops is not None:
        b = loops.box
        out[b.y0 : b.y1, b.x0 : b.x1] = loops.pixels > 0
    return out


def _whole(image: np.ndarray) -> Box:
    return Box(0, 0, image.shape[1], image.shape[0])


def _assert_found_as_drawn(found: np.ndarray, scene: Scene, share: float, near_px: int, stray: int) -> None:
    """At least ``share`` of the drawn loops found, at most ``stray`` pixels farther than ``near_px`` // 2 from them,
    none inside the mask."""
    assert (found & scene.loops).sum() >= share * scene.loops.sum()
    near = cv2.dilate(scene.loops.astype(np.uint8), np.ones((near_px, near_px), np.uint8)) > 0
    assert (found & ~near).sum() <= stray
    assert not (found & (scene.mask > 0.5)).any()


def test_loops_from_the_masks_side_edges_to_the_ears_are_found_and_nothing_else(scene):
    loops = EarLoops().find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped))
    _assert_found_as_drawn(_found(loops, scene.mask.shape), scene, share=0.95, near_px=5, stray=10)


def test_without_loops_the_hair_the_collar_and_the_wall_are_left_alone(scene):
    assert EarLoops().find(scene.masked, scene.landmarks, scene.mask, 0, _whole(scene.masked)) is None


def test_pale_lines_away_from_the_masks_side_edges_are_left_alone(scene):
    size = face_size_px(scene.landmarks)
    inside = (scene.mask > 0.5).astype(np.uint8)
    x, y, w, h = cv2.boundingRect(inside)
    ear = scene.landmarks[list(ls.OUTLINE_SIDES[0])].mean(axis=0)
    strand = np.array([(ear[0] - 0.05 * size, ear[1] - 0.3 * size), (ear[0] - 0.02 * size, ear[1] - 0.1 * size)])
    collar = np.array([(x + 0.3 * w, y + h + 0.05 * size), (x + 0.7 * w, y + h + 0.05 * size)])  # (under the chin)
    image = _draw(scene.masked, scene.mask, [strand.astype(np.int32), collar.astype(np.int32)])
    assert EarLoops().find(image, scene.landmarks, scene.mask, 0, _whole(image)) is None


def test_pale_strokes_up_at_the_eyes_corner_over_a_mask_worn_high_are_left_alone(scene):
    # (the white-mask clip: the lid's pale skin at the eye's outer corner, above the top edge of a mask worn high,
    # read as short strokes of the cloth's colour chained to its top corner, and filled over)
    size = face_size_px(scene.landmarks)
    lm = scene.landmarks
    masked, mask = draw_surgical_mask(scene.bare, lm - np.float32([0, 0.09 * size]), MaskStyle(color=CLOTH))
    inside = mask > 0.5
    looped = _draw(masked, mask, _loop_paths(mask, lm))
    strokes = []
    for ear_ids, corner in zip(ls.OUTLINE_SIDES, (ls.LEFT_EYE_CORNERS[0], ls.RIGHT_EYE_CORNERS[1])):
        out = np.sign(lm[list(ear_ids)].mean(axis=0)[0] - lm[corner][0])
        col = int(round(lm[corner][0] + out * 0.02 * size))
        top = int(np.flatnonzero(inside[:, col]).min())
        assert top - lm[corner][1] < 0.06 * size  # (the mask's top edge just under the eye)
        tip = (lm[corner] + np.float32([out * 0.01, -0.02]) * size).round()
        strokes.append(np.array([(col, top), tip], np.int32))
    image = _draw(looped, mask, strokes)
    drawn = np.abs(looped.astype(np.int16) - masked).max(axis=2) > 60
    at_eyes = np.abs(image.astype(np.int16) - looped).max(axis=2) > 60
    near = cv2.dilate(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    for options, taken in ((EarLoopOptions(eye_clear=0.0), True), (EarLoopOptions(), False)):
        loops = EarLoops(options)
        for frame in (looped, image, image):  # (a search, then a follow and a search with the strokes at the eyes)
            found = _found(loops.find(frame, lm, mask, 0, _whole(frame)), mask.shape)
            assert (found & drawn).sum() >= 0.95 * drawn.sum()
        assert ((found & at_eyes).sum() > 0.5 * at_eyes.sum()) == taken  # (without the eye's disc: taken)
        assert ((found & ~near).sum() > 10) == taken


def _past_the_ear_over_hair(scene: Scene, bend: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The masked face with dark hair round each ear and a loop from the mask's top corner arcing out past the ear
    over it, its bend drawn at ``bend`` strength (the rest at full); and where its far part (past the bend) and the
    whole loop lie."""
    lm, mask = scene.landmarks, scene.mask
    size = face_size_px(lm)
    inside = (mask > 0.5).astype(np.uint8)
    x, _, w, _ = cv2.boundingRect(inside)
    hair = np.zeros(mask.shape, np.uint8)
    parts: list[list[np.ndarray]] = [[], [], []]
    for ear_ids, sx, out in zip(ls.OUTLINE_SIDES, (x + 2, x + w - 3), (-1, 1)):
        ear = lm[list(ear_ids)].mean(axis=0)
        centre = (int(round(ear[0] + out * 0.11 * size)), int(round(ear[1] - 0.1 * size)))
        cv2.ellipse(hair, centre, (int(0.15 * size), int(0.22 * size)), 0, 0, 360, 255, -1)
        top = int(np.flatnonzero(inside[:, sx]).min())
        turns = ((0.02, -0.08), (0.1, -0.12), (0.16, 0.05), (0.12, 0.06))  # (out, down) from the ear, in face sizes
        at = [(ear[0] + out * a * size, ear[1] + b * size) for a, b in turns]
        parts[0].append(np.array([(sx, top + 4), at[0]], np.int32))  # (from the mask's top corner)
        parts[1].append(np.array(at[:2], np.int32))  # (the bend)
        parts[2].append(np.array(at[1:], np.int32))  # (down past the ear)
    dark = (cv2.GaussianBlur(hair, (0, 0), 0.01 * size).astype(np.float32) / 255.0 * (mask <= 0.5))[:, :, None]
    haired = (scene.masked * (1 - dark) + np.float32([30, 25, 22]) * dark).round().astype(np.uint8)
    bent = _draw(_draw(haired, mask, parts[0]), mask, parts[1], bend)
    looped = _draw(bent, mask, parts[2])
    far = np.abs(looped.astype(np.int16) - bent).max(axis=2) > 60
    whole = np.abs(looped.astype(np.int16) - haired).max(axis=2) > 30
    return looped, far, whole


@pytest.mark.parametrize("bend", [0.3, 0.45])
def test_a_loop_arcing_past_the_ear_over_dark_hair_is_followed_past_its_faint_bend(scene, bend):
    # (the real photos with pasted-on masks: a loop leaves the mask's top corner, bends out over the dark hair and
    # comes down past the ear; its thin bend reads only weakly, and the strong stroke past it was left)
    looped, far, whole = _past_the_ear_over_hair(scene, bend)
    near = cv2.dilate(whole.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    for options, taken in ((EarLoopOptions(bridge=False), False), (EarLoopOptions(), True)):
        found = _found(EarLoops(options).find(looped, scene.landmarks, scene.mask, 0, _whole(looped)), scene.mask.shape)
        assert ((found & far).sum() >= 0.95 * far.sum()) == taken
        assert (found & far).sum() == 0 or taken
        assert (found & ~near).sum() <= 10 and not (found & (scene.mask > 0.5)).any()


def _round_the_ear_and_back(scene: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The masked face with each loop drawn whole: from the mask's top corner up past the ear, down behind it and
    back to the mask's side edge near its lower corner (a loop worn as the pasted-on masks show it); and where its
    lower part (below the ear) and the whole loop lie."""
    lm, mask = scene.landmarks, scene.mask
    size = face_size_px(lm)
    inside = (mask > 0.5).astype(np.uint8)
    x, y, w, h = cv2.boundingRect(inside)
    upper: list[np.ndarray] = []
    lower: list[np.ndarray] = []
    for ear_ids, sx, out in zip(ls.OUTLINE_SIDES, (x + 2, x + w - 3), (-1, 1)):
        ear = lm[list(ear_ids)].mean(axis=0)
        top = int(np.flatnonzero(inside[:, sx]).min())
        row = np.flatnonzero(inside[y + int(0.85 * h)])
        ex = int(row.min() if out < 0 else row.max())
        turns = ((0.04, -0.1), (0.12, -0.06), (0.16, 0.08), (0.14, 0.22))  # (out, down) from the ear, in face sizes
        at = [(ear[0] + out * a * size, ear[1] + b * size) for a, b in turns]
        upper.append(np.array([(sx, top + 4)] + at[:3], np.int32))
        lower.append(np.array(at[2:] + [(ex - out * 4, y + int(0.85 * h))], np.int32))
    top_drawn = _draw(scene.masked, mask, upper)
    looped = _draw(top_drawn, mask, lower)
    low = np.abs(looped.astype(np.int16) - top_drawn).max(axis=2) > 60
    whole = np.abs(looped.astype(np.int16) - scene.masked).max(axis=2) > 30
    return looped, low, whole


def test_a_loop_coming_back_to_the_masks_lower_corner_is_found_down_to_it(scene):
    # (the real photos with pasted-on masks: the loop's lower part runs from below the ear back to the mask's lower
    # corner, out of the ear's disc and beside the side edge's lowest third: left as a white line over the neck)
    looped, low, whole = _round_the_ear_and_back(scene)
    near = cv2.dilate(whole.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    shares = []
    for options in (EarLoopOptions(low_side=None), EarLoopOptions()):
        found = _found(EarLoops(options).find(looped, scene.landmarks, scene.mask, 0, _whole(looped)), scene.mask.shape)
        shares.append((found & low).sum() / low.sum())
        assert (found & ~near).sum() <= 30 and not (found & (scene.mask > 0.5)).any()  # (its ends' fringe at the mask)
    assert shares[0] < 0.8 and shares[1] >= 0.9  # (without: the image-right one's lower half left)


def test_a_bare_face_has_no_loops(scene):
    empty = np.zeros(scene.mask.shape, np.float32)
    assert EarLoops().find(scene.looped, scene.landmarks, empty, 0, _whole(scene.looped)) is None


def test_loops_too_faint_to_start_are_held_where_the_last_frame_had_them(scene):
    faint = _draw(scene.masked, scene.mask, _loop_paths(scene.mask, scene.landmarks), strength=0.4)
    # (no bridge: the faint loop's end over her brown hair reads strongly, joined to the mask by its faint run there)
    loops = EarLoops(EarLoopOptions(bridge=False))
    assert loops.find(faint, scene.landmarks, scene.mask, 0, _whole(faint)) is None
    loops.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(faint))
    held = _found(loops.find(faint, scene.landmarks, scene.mask, 0, _whole(faint)), scene.mask.shape)
    assert (held & scene.loops).sum() >= 0.7 * scene.loops.sum()
    loops.reset(0)
    assert loops.find(faint, scene.landmarks, scene.mask, 0, _whole(faint)) is None


def test_erased_loops_take_their_surroundings_and_nothing_else_changes(scene):
    found = EarLoops().find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped))
    assert found is not None
    out = scene.looped.copy()
    erase_loops(out, found)
    before = np.abs(scene.looped.astype(np.int16) - scene.masked)[scene.loops].mean()
    after = np.abs(out.astype(np.int16) - scene.masked)[scene.loops].mean()
    assert after < 0.2 * before
    changed = np.abs(out.astype(np.int16) - scene.looped).max(axis=2) > 0
    assert not (changed & ~_found(found, out.shape)).any()
    x0, y0, x1, y1 = inpaint_box(found, out.shape)
    assert x0 <= found.box.x0 and y0 <= found.box.y0 and x1 >= found.box.x1 and y1 >= found.box.y1


def test_the_pipeline_erases_the_loops_inside_the_boxes_it_says_it_changed(scene):
    reconstructor = build_reconstructor(ReconstructorOptions(generator="none"))
    on = FramePipeline(scene.bare, reconstructor, PipelineOptions(reference_advice=None))
    without_loops = PipelineOptions(reference_advice=None, ear_loops=EarLoopOptions(enabled=False))
    off = FramePipeline(scene.bare, reconstructor, without_loops)
    try:
        with_loops, without = on.process(scene.looped, 0.0), off.process(scene.looped, 0.0)
        boxes = on.last_changed[0]
        # (the loops are timed in a stage of their own, not as the segmenter's)
        assert on.timer.calls["loops"] == on.timer.calls["segment"] == 1
        assert "loops" not in off.timer.calls or off.timer.seconds["loops"] < on.timer.seconds["loops"]
    finally:
        on.close()
        off.close()
    left = lambda out: np.abs(out.astype(np.int16) - scene.masked)[scene.loops].mean()  # noqa: E731
    assert left(with_loops) < 0.5 * left(without)
    inside_boxes = np.zeros(scene.mask.shape, bool)
    for x0, y0, x1, y1 in boxes:
        inside_boxes[y0:y1, x0:x1] = True
    assert np.array_equal(with_loops[~inside_boxes], scene.looped[~inside_boxes])


@pytest.fixture
def searches(monkeypatch) -> list[int]:
    """Counts the full searches of :class:`EarLoops` (one entry a search)."""
    calls: list[int] = []
    search = ear_loops_module.search_loops

    def counted(*args, **kwargs):
        calls.append(1)
        return search(*args, **kwargs)

    monkeypatch.setattr(ear_loops_module, "search_loops", counted)
    return calls


def _shifted(scene: Scene, dx: int, dy: int) -> Scene:
    """``scene`` moved by (``dx``, ``dy``) px (its edges repeated)."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    move = lambda a, flags=cv2.INTER_NEAREST: cv2.warpAffine(  # noqa: E731
        a, m, (a.shape[1], a.shape[0]), flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
    return Scene(move(scene.bare), move(scene.masked), move(scene.looped), scene.landmarks + np.float32([dx, dy]),
                 move(scene.mask), move(scene.loops.astype(np.uint8)) > 0)  # fmt: skip


def test_between_searches_the_loops_are_followed_as_found(scene, searches):
    loops = EarLoops(EarLoopOptions(search_every=3))
    for frame in range(4):
        found = loops.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped))
        _assert_found_as_drawn(_found(found, scene.mask.shape), scene, share=0.95, near_px=5, stray=10)
        assert len(searches) == (1 if frame < 3 else 2)  # (a search on the first frame and every third)


def test_followed_loops_move_with_the_face(scene, searches):
    loops = EarLoops()
    loops.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped))
    moved = _shifted(scene, 5, -3)
    found = loops.find(moved.looped, moved.landmarks, moved.mask, 0, _whole(moved.looped))
    assert len(searches) == 1
    _assert_found_as_drawn(_found(found, scene.mask.shape), moved, share=0.9, near_px=7, stray=20)


def test_loops_gone_between_searches_are_searched_for_and_dropped(scene, searches):
    loops = EarLoops()
    assert loops.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped)) is not None
    gone = loops.find(scene.masked, scene.landmarks, scene.mask, 0, _whole(scene.masked))
    assert len(searches) == 2
    assert _found(gone, scene.mask.shape).sum() <= 10  # (a search holds a pixel or two of last frame's loops)


def test_a_face_that_moved_far_is_searched_again(scene, searches):
    loops = EarLoops()
    loops.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped))
    far = int(round(0.08 * face_size_px(scene.landmarks)))
    moved = _shifted(scene, far, 0)
    found = loops.find(moved.looped, moved.landmarks, moved.mask, 0, _whole(moved.looped))
    assert len(searches) == 2
    # (a few pixels held where the last frame's loops were: a search holds them, unmoved)
    _assert_found_as_drawn(_found(found, scene.mask.shape), moved, share=0.95, near_px=5, stray=30)


@pytest.mark.parametrize("after, searched", [(1, [0, 4, 8]), (2, [0, 1, 5]), (None, list(range(9)))])
def test_a_still_face_without_loops_holds_none_between_searches_after_searches_without(
    scene, searches, after, searched
):
    loops = EarLoops(EarLoopOptions(search_every=4, hold_none_after=after))
    at = []
    for frame in range(9):
        n = len(searches)
        assert loops.find(scene.masked, scene.landmarks, scene.mask, 0, _whole(scene.masked)) is None
        at += [frame] * (len(searches) - n)
    assert at == searched  # (after `after` searches in a row found none: one in search_every frames; None: each)


@pytest.mark.parametrize("before", [0, 1, 2, 3, 5, 6])
def test_a_loop_that_appears_after_frames_without_is_found_within_search_every_frames(scene, searches, before):
    every, after = 4, 2
    loops = EarLoops(EarLoopOptions(search_every=every, hold_none_after=after))
    for _ in range(before):
        assert loops.find(scene.masked, scene.landmarks, scene.mask, 0, _whole(scene.masked)) is None
    shown = []
    for frame in range(every):
        found = loops.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped))
        shown.append(found is not None)
    # (searched on the first `after` frames, then on frames after - 1 + k * every: found there, then followed)
    first = shown.index(True)
    assert first == (0 if before < after else (after - 1 - before) % every) and all(shown[first:])
    _assert_found_as_drawn(_found(found, scene.mask.shape), scene, share=0.95, near_px=5, stray=10)


def test_a_face_without_loops_is_searched_at_once_when_it_moved_or_its_mask_changed(scene, searches):
    options = EarLoopOptions(hold_none_after=1)
    loops = EarLoops(options)
    for _ in range(2):  # (a search, then "none" held on the still face)
        assert loops.find(scene.masked, scene.landmarks, scene.mask, 0, _whole(scene.masked)) is None
    assert len(searches) == 1
    far = int(round(0.08 * face_size_px(scene.landmarks)))
    moved = _shifted(scene, far, 0)
    found = loops.find(moved.looped, moved.landmarks, moved.mask, 0, _whole(moved.looped))
    assert len(searches) == 2  # (moved: a search, which finds the loops the moved face now shows)
    _assert_found_as_drawn(_found(found, scene.mask.shape), moved, share=0.95, near_px=5, stray=10)
    loops = EarLoops(options)
    for _ in range(2):
        loops.find(scene.masked, scene.landmarks, scene.mask, 0, _whole(scene.masked))
    smaller = scene.mask * (np.arange(scene.mask.shape[0])[:, None] > _top_row(scene.mask, 0.2))  # (a mask put on)
    loops.find(scene.masked, scene.landmarks, smaller.astype(np.float32), 0, _whole(scene.masked))
    assert len(searches) == 4


def _top_row(mask: np.ndarray, share: float) -> int:
    """The row above which lies ``share`` of ``mask``'s pixels."""
    rows = np.cumsum((mask > 0.5).sum(axis=1))
    return int(np.searchsorted(rows, share * rows[-1]))


def test_a_large_face_is_looked_at_shrunk_and_its_loops_grown_back(scene):
    options = EarLoopOptions(work_face_px=0.6 * face_size_px(scene.landmarks))
    found = EarLoops(options).find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped))
    # (a pixel or two wider than at full size: the shrunk loops' widening grown back)
    _assert_found_as_drawn(_found(found, scene.mask.shape), scene, share=0.9, near_px=9, stray=20)





def test_each_side_searched_on_its_own_box_finds_what_the_zones_joint_box_finds(scene, monkeypatch):
    """The search reads each side on its zone's box grown by its filters' reach: the loops, the strokes and the
    colours as on the zones' joint box (grown into the last frame's loops too)."""
    searched = ear_loop_search.search_loops

    def search(before: np.ndarray | None = None) -> list[np.ndarray]:
        found, strokes, look = searched(scene.looped, scene.landmarks, scene.mask, EarLoopOptions(split_px=0), before)
        return [found, strokes, look.cloth]

    sides = search() + search(np.roll(search()[0], 2, axis=0))
    monkeypatch.setattr(ear_loop_search, "_side_boxes", lambda zone, hulls, box, reach: [box])
    joint = search() + search(np.roll(search()[0], 2, axis=0))
    assert sides[0].any() and all(np.array_equal(a, b) for a, b in zip(sides, joint))


def test_the_search_reach_covers_its_filters_on_a_textured_image():
    """The stroke pixels of a zone read on its box grown by the search's reach are those read on the whole image
    (the astronaut's textures); on a box grown by half of it, some differ."""
    lab = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2Lab)
    zone = np.zeros(lab.shape[:2], np.uint8)
    cv2.circle(zone, (300, 250), 80, 1, -1)
    options, size = EarLoopOptions(), 260.0
    look = Look(np.float32([60, 128, 128]), (False, True, True))
    whole = stroke_pixels(lab, zone, look, size, options)
    differ = []
    for reach in (ear_loop_search._reach(size, options), ear_loop_search._reach(size, options) // 2):
        box = (slice(170 - reach, 331 + reach), slice(220 - reach, 381 + reach))
        boxed = stroke_pixels(lab[box], zone[box], look, size, options)
        differ.append(sum(int((a != b[box]).sum()) for a, b in zip(boxed, whole)))
    assert whole[0].sum() > 1000 and differ[0] == 0 and differ[1] > 0


def test_sides_whose_boxes_meet_are_searched_on_one_box():
    """Two sides' boxes that overlap (a turned face) become their joint box: no stroke cut in two."""
    zone = np.zeros((200, 300), np.uint8)
    zone[50:150, 20:120] = zone[50:150, 140:280] = 1
    hulls = (np.float32([[20, 50], [119, 149]]), np.float32([[140, 50], [279, 149]]))
    box = (slice(50, 150), slice(20, 280))
    apart = ear_loop_search._side_boxes(zone, hulls, box, 5)
    assert apart == [(slice(50, 150), slice(20, 125)), (slice(50, 150), slice(135, 280))]
    assert ear_loop_search._side_boxes(zone, hulls, box, 15) == [box]


@pytest.mark.parametrize(
    "every, top, seen",
    [(2, 0.15, [True, True]), (2, 0.0, [False, True]), (1, 0.0, [True, True])],
    ids=["every-other-frame-its-top", "every-other-frame", "every-frame"],
)
def test_a_new_loop_stub_at_the_masks_side_edge_is_looked_for_at_its_top_or_every_edge_every_frames(
    scene, every, top, seen
):
    paths = _loop_paths(scene.mask, scene.landmarks)
    one = _draw(scene.masked, scene.mask, paths[:1])  # (one side's loop)
    start = paths[1][0]  # (the other's, a stub from the top of the mask's side edge)
    paths[1] = np.array([start, start + np.array([0.12, -0.03]) * face_size_px(scene.landmarks)], np.int32)
    both = _draw(scene.masked, scene.mask, paths)
    stub = (np.abs(both.astype(np.int16) - one).max(axis=2) > 60) & (scene.mask <= 0.5)
    loops = EarLoops(EarLoopOptions(edge_every=every, edge_top=top))
    loops.find(one, scene.landmarks, scene.mask, 0, _whole(one))  # (a search: one side's loop)
    for expected in seen:  # (then the stub comes: a follow looks for it round the mask's side edge)
        found = _found(loops.find(both, scene.landmarks, scene.mask, 0, _whole(one)), scene.mask.shape)
        assert ((found & stub).sum() >= 0.9 * stub.sum() > 0) == expected


def test_a_follow_looks_at_the_side_without_loops_first_and_stops_there_when_it_finds_new_strokes(
    scene, searches, monkeypatch
):
    paths = _loop_paths(scene.mask, scene.landmarks)
    one = _draw(scene.masked, scene.mask, paths[:1])  # (the first side's loop only)
    start = paths[1][0]  # (then a stub from the top of the other side's edge)
    paths[1] = np.array([start, start + np.array([0.12, -0.03]) * face_size_px(scene.landmarks)], np.int32)
    both = _draw(scene.masked, scene.mask, paths)
    stub = (np.abs(both.astype(np.int16) - one).max(axis=2) > 60) & (scene.mask <= 0.5)
    looked: list[bool] = []  # (per side a follow reads: whether it held loops)
    follow_at = ear_loop_follow._follow_at

    def recorded(image, mask, last, *args):
        looked.append(bool(last.any()))
        return follow_at(image, mask, last, *args)

    monkeypatch.setattr(ear_loop_follow, "_follow_at", recorded)
    loops = EarLoops(EarLoopOptions(edge_every=1))
    loops.find(one, scene.landmarks, scene.mask, 0, _whole(one))  # (a search: one side's loop)
    followed = loops.find(one, scene.landmarks, scene.mask, 0, _whole(one))
    assert len(searches) == 1 and looked == [False, True]  # (followed: the empty side read first)
    drawn = _found(followed, scene.mask.shape)
    assert (drawn & scene.loops).sum() > 0 and not (drawn & stub).any()
    looked.clear()
    found = _found(loops.find(both, scene.landmarks, scene.mask, 0, _whole(both)), scene.mask.shape)
    assert looked == [False] and len(searches) == 2  # (the stub fails the follow: searched, the other side unread)
    assert (found & stub).sum() >= 0.9 * stub.sum() > 0


def test_the_mask_read_only_within_its_box_gives_the_same_area_box_and_loops(scene):
    """``within`` (the box outside which the mask is 0, as the pipeline reads it once a face): the search's box of the
    mask (:func:`ear_loop_search.inside_box`) and the loops found and followed are those of the whole mask read; an
    empty box is an empty mask (the track's loops forgotten)."""
    from unmask_video.blend import mask_bbox

    mask = scene.mask
    within = mask_bbox(mask > 0, 0, mask.shape[:2])
    assert within is not None and within != (slice(0, mask.shape[0]), slice(0, mask.shape[1]))
    soft = mask.copy()
    soft[within][soft[within] > 0] *= 0.7  # (values on both sides of 0.5 inside the box)
    edge = np.zeros_like(mask)
    edge[-5:, :9] = 0.9  # (at the image's corner: the margin cut there)
    for m in (mask, soft, edge):
        box = mask_bbox(m > 0, 0, m.shape[:2])
        for margin in (0, 7, 400):
            assert ear_loop_search.inside_box(m, margin, box) == ear_loop_search.inside_box(m, margin), margin
            assert ear_loop_search.inside_box(m, margin) == mask_bbox(m > 0.5, margin, m.shape[:2])
    assert ear_loop_search.inside_box(mask, 5, (slice(0, 0), slice(0, 0))) is None
    whole, boxed = EarLoops(EarLoopOptions(search_every=2)), EarLoops(EarLoopOptions(search_every=2))
    for frame in (scene, _shifted(scene, 3, 2), _shifted(scene, 5, 3)):
        box = mask_bbox(frame.mask > 0, 0, frame.mask.shape[:2])
        a = whole.find(frame.looped, frame.landmarks, frame.mask, 0, _whole(frame.looped))
        b = boxed.find(frame.looped, frame.landmarks, frame.mask, 0, _whole(frame.looped), box)
        assert a is not None and b is not None and a.box == b.box and np.array_equal(a.pixels, b.pixels)
    assert boxed.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped), (slice(0, 0),) * 2) is None
    assert boxed.find(scene.looped, scene.landmarks, scene.mask, 0, _whole(scene.looped), box) is not None
