"""Faces the landmark model is unsure of (a tilted head under a flat mask pasted level): found by the unsure look,
tracked and rebuilt; a bare tilted face stays bare; a face the model is sure of costs no unsure look."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask_video import landmark_sets as ls
from unmask_video.face_landmark_model import Roi
from unmask_video.landmarks import FaceTracker, TrackerOptions
from unmask_video.metrics import psnr_in_mask
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.synthetic import make_reference
from unmask_video.face_landmark_model import roi_from_landmarks
from unmask_video.unsure_faces import UnsureFollow, UnsureLooker, variants


def _tilted(image: np.ndarray, landmarks: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned by ``angle`` degrees (OpenCV's sign: positive is anticlockwise) about the face's centre, and
    the landmarks turned with it."""
    c = landmarks.mean(axis=0)
    m = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), angle, 1.0)
    out = cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    return out, (np.c_[landmarks, np.ones(len(landmarks))] @ m.T).astype(np.float32)


def _pasted_level(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A flat light-blue mask with three fold lines pasted level (not turned with the head) from just under the eyes to
    below the chin, a little wider than the face: as the masked_pairs photos paste theirs (297: a tilted head)."""
    eyes = (landmarks[ls.index(ls.LEFT_EYE_CORNERS)].mean(0) + landmarks[ls.index(ls.RIGHT_EYE_CORNERS)].mean(0)) / 2
    chin, span, c = landmarks[ls.CHIN], float(np.ptp(landmarks[:, 0])), landmarks.mean(0)
    y0, y1 = eyes[1] + 0.15 * (chin[1] - eyes[1]), chin[1] + 0.08 * span
    x0, x1 = c[0] - 0.55 * span, c[0] + 0.55 * span
    box = np.zeros(frame.shape[:2], np.uint8)
    cv2.rectangle(box, (int(x0), int(y0)), (int(x1), int(y1)), 255, -1)
    inside = (cv2.GaussianBlur(box, (0, 0), 4) > 128)[..., None]
    shade = np.ones(frame.shape[:2], np.float32)
    for k in range(1, 4):
        y = int(y0 + k * (y1 - y0) / 4)
        shade[y : y + 2] = 0.85
    cloth = np.array([215, 232, 240], np.float32) * shade[..., None]
    return np.where(inside, cloth, frame).astype(np.uint8)


@pytest.fixture(scope="module")
def tilted(astronaut, astronaut_landmarks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the astronaut's head tilted 30 degrees, that under a mask pasted level, the tilted face's true landmarks)."""
    bare, truth = _tilted(astronaut, astronaut_landmarks, -30.0)
    return bare, _pasted_level(bare, truth), truth


def test_a_tilted_face_under_a_level_mask_is_found_by_the_unsure_look_and_tracked(tilted) -> None:
    _, masked, truth = tilted
    size = float(np.ptp(truth[:, 0]))
    with FaceTracker(TrackerOptions(unsure_presence=0.0)) as off:
        assert [len(off.track(masked, i / 25)) for i in range(3)] == [0, 0, 0]  # the model is not sure of it
    with FaceTracker(TrackerOptions()) as tracker:
        errors, ids = [], []
        for i in range(6):
            faces = tracker.track_faces(masked, i / 25)
            assert len(faces) == 1 and not faces[0].held, f"frame {i}"
            errors.append(float(np.linalg.norm(faces[0].landmarks - truth, axis=1).mean()) / size)
            ids.append(faces[0].id)
        assert tracker.searches == 1  # started on the first frame, then followed (by the unsure look) unsearched
    assert len(set(ids)) == 1
    assert max(errors) < 0.08, errors


def test_a_face_the_unsure_look_started_costs_one_model_run_a_frame(tilted) -> None:
    """Followed as any tracked face: the unsure model alone on one ROI a frame (its landmarks' own here), no usual look
    first, no second look."""
    _, masked, truth = tilted
    with FaceTracker(TrackerOptions()) as tracker:
        assert len(tracker.track(masked, 0.0)) == 1
        assert tracker._unsure is not None and tracker._tracks[0].unsure is not None
        usual = tracker._model
        assert usual is not None
        runs = {"usual": 0}
        original = usual.landmarks

        def counted(image: np.ndarray, roi: Roi) -> np.ndarray | None:
            runs["usual"] += 1
            return original(image, roi)

        usual.landmarks = counted  # type: ignore[method-assign]
        for i in range(1, 6):
            looks = tracker._unsure.looks
            faces = tracker.track_faces(masked, i / 25)
            assert len(faces) == 1 and not faces[0].held
            assert tracker._unsure.looks - looks == 1, f"frame {i}"
        assert runs["usual"] == 0


def test_landmarks_found_in_a_wider_roi_are_read_again_on_their_own_where_they_hold_still(tilted) -> None:
    """:meth:`UnsureLooker._refined`: landmarks a little off the face (as a wider ROI's are) come back nearer it from a
    second look on their own ROI; with no drift allowed they are kept as they were."""
    _, masked, truth = tilted
    size = float(np.ptp(truth[:, 0]))
    looker, strict = UnsureLooker(0.4, 0.06), UnsureLooker(0.4, 0.0)
    try:
        face = looker._refined(masked, truth)  # (the model's own reading of the face)
        off = face + np.float32([0.03 * size, 0.02 * size])
        again = looker._refined(masked, off)
        assert np.linalg.norm(again - face, axis=1).mean() < 0.75 * np.linalg.norm(off - face, axis=1).mean()
        assert looker.looks == 2
        assert np.array_equal(strict._refined(masked, off), off)
    finally:
        looker.close()
        strict.close()


def test_the_start_s_roi_follows_the_face_s_landmarks(astronaut_landmarks) -> None:
    """:meth:`UnsureFollow.moved`: the ROI the start found the face in, moved and scaled as its landmarks' ROI."""
    lm = astronaut_landmarks.astype(np.float32)
    own = roi_from_landmarks(lm)
    found_in = Roi(own.cx + 10.0, own.cy - 4.0, own.size * 1.25, own.rotation + 0.1)
    how = UnsureFollow(found_in, own)
    assert how.moved(lm) == found_in
    c = np.float32([own.cx, own.cy])  # (the landmarks' box's centre: their ROI's)
    moved = how.moved((lm - c) * 2.0 + c + np.float32([30.0, -20.0]))
    assert moved.size == pytest.approx(2 * found_in.size, rel=1e-5)
    assert (moved.cx, moved.cy) == pytest.approx((own.cx + 30.0 + 20.0, own.cy - 20.0 - 8.0), abs=0.05)
    assert moved.rotation == pytest.approx(found_in.rotation, abs=1e-5)


def test_a_tilted_face_under_a_level_mask_is_rebuilt_and_a_bare_one_stays_bare(tilted) -> None:
    bare, masked, _ = tilted
    reference, _ = make_reference()
    cloth = np.any(masked != bare, axis=2).astype(np.float32)

    def run(frame: np.ndarray) -> list[np.ndarray]:
        pipeline = FramePipeline(reference, build_reconstructor(ReconstructorOptions(generator="none")),
                                 PipelineOptions())  # fmt: skip
        outputs = [pipeline.process(frame.copy(), i / 25) for i in range(3)]
        assert pipeline.stats.frames_with_face == 3
        return outputs

    before = psnr_in_mask(masked, bare, cloth)
    for out in run(masked):
        assert psnr_in_mask(out, bare, cloth) > before + 2.5
    for out in run(bare):
        assert np.array_equal(out, bare)


def test_a_face_the_model_is_sure_of_costs_no_unsure_look(astronaut) -> None:
    with FaceTracker(TrackerOptions()) as tracker:
        for i in range(4):
            assert len(tracker.track(astronaut, i / 25)) == 1
        assert tracker._unsure is not None and tracker._unsure.looks == 0


def test_the_unsure_look_takes_only_landmarks_that_hold_still(tilted) -> None:
    _, masked, truth = tilted
    lo, hi = truth.min(axis=0), truth.max(axis=0)
    c = (lo + hi) / 2
    roi = Roi(float(c[0]), float(c[1]), float(max(hi - lo)) * 1.5, 0.0)
    steady = UnsureLooker(0.4, 0.06)
    strict = UnsureLooker(0.4, 0.0)  # no drift allowed: no look holds
    try:
        assert steady.start(masked, roi) is not None
        assert strict.start(masked, roi) is None
        blank = np.full_like(masked, 128)
        assert steady.start(blank, roi) is None
    finally:
        steady.close()
        strict.close()


def test_the_unsure_rois_are_the_detection_s_then_upright_then_larger() -> None:
    roi = Roi(10.0, 20.0, 100.0, 0.4)
    assert list(variants(roi)) == [roi, Roi(10.0, 20.0, 100.0, 0.0), Roi(10.0, 20.0, 125.0, 0.4)]


def test_the_unsure_presence_is_checked() -> None:
    from unmask_video.errors import InputError

    with pytest.raises(InputError):
        FaceTracker(TrackerOptions(unsure_presence=-0.1))
