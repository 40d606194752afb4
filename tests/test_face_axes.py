"""The line down the face, the neck's column along it (one definition for the warp and the segmenter) and the face
oval's map (one for the segmenter, the occluders and the reference check)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.face_axes import column_between, face_axes, neck_column, oval_map

SHAPE = (512, 512)


def _turned(landmarks: np.ndarray, degrees: float) -> np.ndarray:
    """The landmarks turned in the image plane about the chin (a head tilted to one shoulder)."""
    m = cv2.getRotationMatrix2D(tuple(float(v) for v in landmarks[ls.CHIN]), degrees, 1.0)
    return np.asarray(landmarks, np.float64) @ m[:, :2].T + m[:, 2]


def test_the_face_axis_runs_from_the_forehead_to_the_chin(astronaut_landmarks: np.ndarray) -> None:
    down, height = face_axes(astronaut_landmarks)
    top, chin = (astronaut_landmarks[i].astype(np.float64) for i in ls.FACE_HEIGHT)
    assert np.isclose(np.linalg.norm(down), 1.0) and down[1] > 0.9  # (the astronaut's face is upright)
    np.testing.assert_allclose(top + down * height, chin, atol=1e-6)


def test_the_neck_column_holds_the_neck_sides_and_chin_not_the_cheeks(astronaut_landmarks: np.ndarray) -> None:
    column = neck_column(SHAPE, astronaut_landmarks)
    assert column.dtype == np.uint8 and set(np.unique(column)) == {0, 255}

    def inside(point: np.ndarray) -> bool:
        x, y = np.round(point).astype(int)
        return bool(column[y, x])

    for i in (*ls.NECK_SIDES, ls.CHIN):
        inside_point = astronaut_landmarks[i] + (astronaut_landmarks[ls.CHIN] - astronaut_landmarks[i]) * 0.05
        assert inside(inside_point), i
    for i in ls.YAW_PROBE[::2]:  # (the face's sides by the ears)
        assert not inside(astronaut_landmarks[i]), i


def test_the_neck_column_turns_with_the_head(astronaut_landmarks: np.ndarray) -> None:
    # Tilted 25 degrees about the chin, the column is the upright one turned alike (within a pixel at its edges).
    turned = _turned(astronaut_landmarks, 25.0)
    chin = tuple(float(v) for v in astronaut_landmarks[ls.CHIN])
    expected = cv2.warpAffine(neck_column(SHAPE, astronaut_landmarks), cv2.getRotationMatrix2D(chin, 25.0, 1.0),
                              SHAPE[::-1], flags=cv2.INTER_NEAREST)
    got = neck_column(SHAPE, turned)
    near_chin = np.zeros(SHAPE, bool)
    cy = int(chin[1])
    near_chin[max(cy - 100, 0):cy + 100] = True  # (away from where the turned upright column leaves the picture)
    differ = (got != expected) & near_chin
    edge = cv2.morphologyEx(expected, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    assert np.count_nonzero(differ & ~edge) == 0
    assert np.count_nonzero(got[near_chin]) > 0.1 * near_chin.sum()  # (a neck about 70 px wide across 512)


def test_the_oval_map_holds_the_face_not_what_lies_past_its_outline(astronaut_landmarks: np.ndarray) -> None:
    oval = oval_map(astronaut_landmarks, SHAPE)
    assert oval.dtype == np.uint8 and set(np.unique(oval)) == {0, 1}
    for i in (ls.NOSE_TIP, ls.NOSE_BRIDGE, *ls.MOUTH_CORNERS):
        x, y = np.round(astronaut_landmarks[i]).astype(int)
        assert oval[y, x] == 1, i
    outline = astronaut_landmarks[ls.index(ls.FACE_OVAL)]
    x0, y0 = np.floor(outline.min(axis=0)).astype(int)
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int)
    assert not oval[:, : x0 - 1].any() and not oval[:, x1 + 2 :].any() and not oval[: y0 - 1].any()
    assert not oval[y1 + 2 :].any()
    # (the whole outline's box is not filled: the oval leaves its corners out)
    assert oval[y0:y1 + 1, x0:x1 + 1].mean() < 0.9


def test_the_column_under_the_eyes_holds_them_and_turns_with_the_head(astronaut_landmarks: np.ndarray) -> None:
    # The column across the under-eye line's width (the segmenter's top cut keeps the cloth there): both ends of the
    # line inside, the ears beside it; on the head tilted 30 degrees the same points, turned, likewise.
    for degrees in (0.0, 30.0, -30.0):
        lm = _turned(astronaut_landmarks, degrees)
        column = column_between(SHAPE, lm, ls.UNDER_EYES)
        middle = lm[ls.UNDER_EYES[len(ls.UNDER_EYES) // 2]]
        for i in (ls.UNDER_EYES[0], ls.UNDER_EYES[-1]):
            x, y = np.round(lm[i] + 0.05 * (middle - lm[i])).astype(int)  # (just inside the line's end)
            assert column[y, x], (degrees, i)
        for i in ls.YAW_PROBE[::2]:
            x, y = np.round(lm[i]).astype(int)
            assert not column[y, x], (degrees, i)
    # The neck column is the same function on the neck's sides.
    np.testing.assert_array_equal(
        neck_column(SHAPE, astronaut_landmarks), column_between(SHAPE, astronaut_landmarks, ls.NECK_SIDES)
    )
