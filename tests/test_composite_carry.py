"""The composite's last rebuilt region carried onto the next frame of a face (``CompositeOptions.carry_frames``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.test_composite import masked_face
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.stages import Box, FaceROI


def _carried_frames(monkeypatch: pytest.MonkeyPatch, options: CompositeOptions, faces: list[FaceROI]) -> list[bool]:
    """Per face given in turn to one composite: whether it was carried (not rebuilt)."""
    rebuilt = [0]
    original = ReferenceComposite._rebuild

    def counted(self: ReferenceComposite, *args: object, **kwargs: object) -> object:
        rebuilt[0] += 1
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ReferenceComposite, "_rebuild", counted)
    rebuild = ReferenceComposite(options)
    carried = []
    for face in faces:
        before = rebuilt[0]
        rebuild.reconstruct([face])
        carried.append(rebuilt[0] == before)
    return carried


def _moved(face: FaceROI, dx: int, dy: int = 0) -> FaceROI:
    """The same ROI placed ``dx``, ``dy`` pixels further in the frame (the face moved, its pixels alike)."""
    box = face.box
    return dataclasses.replace(face, box=Box(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy))


def test_a_still_face_is_carried_on_every_second_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    face, _ = masked_face()
    assert _carried_frames(monkeypatch, CompositeOptions(), [face] * 5) == [False, True, False, True, False]
    assert _carried_frames(monkeypatch, CompositeOptions(carry_frames=3), [face] * 4) == [False, True, True, False]
    assert _carried_frames(monkeypatch, CompositeOptions(carry_frames=1), [face] * 3) == [False] * 3


def test_a_mask_up_to_the_eyes_is_carried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mask raised to the eyes: the blend band on them is not pasted (``eye_margin``), so the carry does not need it
    either (the white-mask clip's faces were rebuilt on every frame: 215 of the band's 7463 pixels here)."""
    from unmask_video import landmark_sets

    face, _ = masked_face()
    outlines = (landmark_sets.LEFT_EYE_OUTLINE, landmark_sets.RIGHT_EYE_OUTLINE)
    eyes = np.concatenate([face.landmarks[landmark_sets.index(outline)] for outline in outlines])
    mask = face.mask.copy()
    cols, rows = np.flatnonzero(mask.max(axis=0) > 0), np.flatnonzero(mask.max(axis=1) > 0)
    mask[int(eyes[:, 1].max()) : rows[0] + 5, cols[0] : cols[-1] + 1] = 1.0  # (its top along the eyes' lower lids)
    raised = dataclasses.replace(face, mask=mask)
    assert _carried_frames(monkeypatch, CompositeOptions(), [raised] * 3) == [False, True, False]


def test_a_carried_frame_is_the_rebuilt_one_moved_with_the_face() -> None:
    face, _ = masked_face()
    moved = _moved(face, 3, 2)
    carrying, rebuilding = ReferenceComposite(CompositeOptions()), ReferenceComposite(CompositeOptions(carry_frames=1))
    for rebuild in (carrying, rebuilding):
        rebuild.reconstruct([face])
    a, b = carrying.reconstruct([moved])[0], rebuilding.reconstruct([moved])[0]
    hole = face.mask > 0
    difference = np.abs(a.astype(np.float32) - b)
    assert difference[hole].mean() < 1.0
    # (what the blend shows of it: the mask, where nothing of the frame's mask colour is left)
    mask_colour = face.image[hole][0]
    assert not np.any(np.all(a[hole] == mask_colour, axis=1))


def test_a_jaw_that_moves_is_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Landmarks that one affine map does not take to the next frame's (the lower face's alone moved): rebuilt."""
    face, _ = masked_face()
    landmarks = face.landmarks.copy()
    lower = landmarks[:, 1] > np.median(landmarks[:, 1])
    landmarks[lower, 1] += 0.03 * float(np.ptp(landmarks[:, 0]))
    opened = dataclasses.replace(face, landmarks=landmarks)
    assert _carried_frames(monkeypatch, CompositeOptions(), [face, opened]) == [False, False]


def test_a_change_around_the_mask_is_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The skin around the mask changes (a hand, a light): rebuilt, not carried."""
    face, _ = masked_face()
    image = face.image.copy()
    hole = face.mask > 0
    rows, cols = np.nonzero(hole)
    # (a dark patch on the cheek beside the mask, inside the ring the colour is matched on)
    y, x = int(rows.mean()), int(cols.max()) + 10
    image[y - 8 : y + 8, x - 4 : x + 4] = 20
    darker = dataclasses.replace(face, image=image)
    assert _carried_frames(monkeypatch, CompositeOptions(), [face, darker]) == [False, False]


def test_a_mask_that_grows_past_the_carried_region_is_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    face, _ = masked_face()
    mask = face.mask.copy()
    rows = np.flatnonzero((mask > 0).any(axis=1))
    cols = np.flatnonzero((mask > 0).any(axis=0))
    # (the mask grows by a face's tenth on one side: its band there was never rebuilt)
    grow = int(0.1 * float(np.ptp(face.landmarks[:, 0])))
    mask[rows[0] : rows[-1], cols[-1] : cols[-1] + grow] = mask.max()
    grown = dataclasses.replace(face, mask=mask, mask_box=None)
    assert _carried_frames(monkeypatch, CompositeOptions(), [face, grown]) == [False, False]


def test_a_face_rebuilt_after_its_carry_test_draws_its_distances_and_features_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A frame whose carry test fails late (the frame changed on the colour ring: rebuilt after all) reuses the test's
    distance to the mask and its eyes-and-brows map in the rebuild: each drawn once, the same output."""
    import unmask_video.reconstruct.composite as composite_module
    import unmask_video.reconstruct.rebuilt_carry as carry_module

    face, _ = masked_face()
    lit = face.image.astype(np.int16)
    lit[face.mask <= 0] += 40  # (the skin round the mask lighter: the ring changed, no carry)
    changed = dataclasses.replace(face, image=np.clip(lit, 0, 255).astype(np.uint8))
    drawn = {"features": 0, "dist": 0}
    features, distance_to = composite_module.features, composite_module.distance_to

    def counted_features(*args: object, **kwargs: object) -> np.ndarray:
        drawn["features"] += 1
        return features(*args, **kwargs)  # type: ignore[arg-type]

    def counted_distance(where: np.ndarray, name: str | None = None) -> np.ndarray:
        drawn["dist"] += name == "composite.dist"
        return distance_to(where, name)

    monkeypatch.setattr(composite_module, "features", counted_features)
    monkeypatch.setattr(composite_module, "distance_to", counted_distance)
    monkeypatch.setattr(carry_module, "distance_to", counted_distance)
    rebuild = ReferenceComposite(CompositeOptions())
    rebuild.reconstruct([face])
    drawn.update(features=0, dist=0)
    out = rebuild.reconstruct([changed])[0]
    # (the features at most once: a face whose landmarks did not move reads its last frame's map)
    assert drawn["dist"] == 1 and drawn["features"] <= 1
    # (the same pixels as a composite whose carry test did not run: a rebuild from scratch of that frame's fields)
    fresh = ReferenceComposite(CompositeOptions(carry_frames=1))
    fresh.reconstruct([face])
    np.testing.assert_array_equal(out, fresh.reconstruct([changed])[0])
