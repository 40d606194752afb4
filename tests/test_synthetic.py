"""Synthetic masked clips: real H.264/AAC files, plausible masks, exact landmarks, a usable reference."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from unmask_video.landmark_sets import FACE_OVAL, LEFT_EYE_CORNERS, MASK_CORE, MASK_REGION, RIGHT_EYE_CORNERS
from unmask_video.landmarks import FaceTracker, TrackerOptions, detect_reference_landmarks
from unmask_video.synthetic import BLACK, WHITE, ClipSpec, MaskStyle, draw_surgical_mask, make_clip


def _polygon(landmarks: np.ndarray, indices: tuple[int, ...], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(landmarks[list(indices)]).astype(np.int32)], 1)
    return out


def _decode(path) -> tuple[np.ndarray, list[int], list[str]]:
    with av.open(str(path)) as container:
        kinds = [s.type for s in container.streams]
        frames, pts = [], []
        for f in container.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            pts.append(f.pts)
    return np.array(frames), pts, kinds


def test_clip_file_has_the_frames_timestamps_and_audio(synthetic_clip) -> None:
    clip = synthetic_clip
    n, h, w = clip.spec.frames, clip.spec.size[1], clip.spec.size[0]
    frames, pts, kinds = _decode(clip.video_path)
    assert frames.shape == (n, h, w, 3)
    assert kinds == ["video", "audio"]
    with av.open(str(clip.video_path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert abs(float(audio.duration * audio.time_base) - n / clip.spec.fps) < 0.1
    assert pts == clip.pts
    assert clip.times == pytest.approx([i / clip.spec.fps for i in range(n)], abs=1e-3)
    # crf 12: the encoding loss is small.
    mse = np.mean((frames.astype(np.float64) - clip.masked) ** 2)
    assert 10 * np.log10(255.0**2 / mse) > 34.0


def test_clip_arrays_shapes_and_mask_only_changes_the_mask(synthetic_clip) -> None:
    clip = synthetic_clip
    n, (w, h) = clip.spec.frames, clip.spec.size
    assert clip.truth.shape == clip.masked.shape == (n, h, w, 3) and clip.truth.dtype == np.uint8
    assert clip.masks.shape == (n, h, w) and clip.masks.dtype == np.float32
    assert set(np.unique(clip.masks)) <= {0.0, 1.0}
    assert clip.landmarks.shape == (n, 468, 2) and clip.landmarks.dtype == np.float32
    for i in range(0, n, 7):
        near = cv2.dilate(clip.masks[i], np.ones((5, 5), np.uint8)) > 0
        diff = np.abs(clip.masked[i].astype(int) - clip.truth[i]).sum(axis=-1)
        assert not diff[~near].any()  # nothing drawn outside the mask (and its antialiased edge)
        assert np.mean(diff[clip.masks[i] > 0] > 30) > 0.9  # the mask hides the face under it
    assert not np.array_equal(clip.truth[0], clip.truth[-1])  # the head moves


def test_mask_area_and_placement_are_plausible(synthetic_clip) -> None:
    clip = synthetic_clip
    shape = clip.masks.shape[1:]
    for i in range(0, clip.spec.frames, 5):
        lm, mask = clip.landmarks[i], clip.masks[i]
        oval = _polygon(lm, FACE_OVAL, shape)
        assert 0.4 < mask.sum() / oval.sum() < 0.75  # the lower half of the face, more or less
        ij = np.round(lm).astype(int)
        core = [mask[ij[k, 1], ij[k, 0]] for k in MASK_CORE]
        assert all(core)  # nose tip and mouth are under the mask
        eyes = [mask[ij[k, 1], ij[k, 0]] for k in LEFT_EYE_CORNERS + RIGHT_EYE_CORNERS]
        assert not any(eyes)
        # The segmenter searches MASK_REGION with a margin: the drawn mask must lie in it.
        region = _polygon(lm, MASK_REGION, shape)
        k = 2 * int(round(0.04 * np.ptp(lm[:, 0]))) + 1
        region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        assert (mask * region).sum() / mask.sum() > 0.9


def test_landmarks_are_exact(synthetic_clip_factory) -> None:
    still = synthetic_clip_factory(ClipSpec(frames=3, size=(256, 256), motion=0.0, audio_hz=None))
    assert np.array_equal(still.landmarks[0], still.landmarks[-1])
    assert np.array_equal(still.truth[0], still.truth[-1])
    # The landmarks moved with the known warp match what FaceMesh finds on the unmasked frame.
    found = detect_reference_landmarks(np.ascontiguousarray(still.truth[0]))
    face_w = np.ptp(still.landmarks[0][:, 0])
    assert 0.35 < face_w / 256 < 0.45  # the face is about 40 % of the frame width
    assert np.linalg.norm(found - still.landmarks[0], axis=1).mean() < 0.02 * face_w


def test_reference_is_the_same_face_in_another_pose(synthetic_clip) -> None:
    clip = synthetic_clip
    png = cv2.cvtColor(cv2.imread(str(clip.reference_path)), cv2.COLOR_BGR2RGB)
    assert np.array_equal(png, clip.reference)
    found = detect_reference_landmarks(png)
    face_w = np.ptp(clip.reference_landmarks[:, 0])
    assert np.linalg.norm(found - clip.reference_landmarks, axis=1).mean() < 0.02 * face_w
    # Another pose: not where the face is in the first frame.
    assert np.linalg.norm(clip.reference_landmarks - clip.landmarks[0], axis=1).mean() > 5.0


def test_facemesh_tracks_the_masked_face(synthetic_clip) -> None:
    clip = synthetic_clip
    frames, _, _ = _decode(clip.video_path)
    errors = []
    with FaceTracker(TrackerOptions(smoothing=False)) as tracker:
        for i, frame in enumerate(frames):
            faces = tracker.track(frame, clip.times[i])
            if faces:
                errors.append(np.linalg.norm(faces[0] - clip.landmarks[i], axis=1).mean())
    assert len(errors) >= 0.9 * len(frames)
    assert np.mean(errors) < 0.06 * np.ptp(clip.landmarks[0][:, 0])


def test_no_audio_and_bad_specs(tmp_path) -> None:
    clip = make_clip(tmp_path, ClipSpec(frames=2, size=(128, 96), audio_hz=None))
    frames, _, kinds = _decode(clip.video_path)
    assert kinds == ["video"] and frames.shape == (2, 96, 128, 3)
    with pytest.raises(ValueError, match="even"):
        make_clip(tmp_path, ClipSpec(frames=2, size=(127, 96)))
    with pytest.raises(ValueError, match="at least one frame"):
        make_clip(tmp_path, ClipSpec(frames=0))


@pytest.mark.parametrize(
    "style",
    [MaskStyle(color=WHITE), MaskStyle(color=BLACK), MaskStyle(pattern="stripes"), MaskStyle(pattern="dots")],
    ids=["white", "black", "stripes", "dots"],
)
def test_mask_styles(synthetic_clip, style: MaskStyle) -> None:
    truth, lm = synthetic_clip.truth[0], synthetic_clip.landmarks[0]
    plain, plain_mask = draw_surgical_mask(truth, lm, MaskStyle())
    drawn, mask = draw_surgical_mask(truth, lm, style)
    assert np.array_equal(mask, plain_mask)  # the style changes the look, not the shape
    inside = mask > 0
    if style.pattern is None:
        mean = drawn[inside].mean(axis=0)
        assert np.abs(mean - np.array(style.color)).max() < 40  # shaded, but that colour
    else:
        change = np.abs(drawn.astype(int) - plain)[inside].max(axis=-1)
        assert 0.05 < np.mean(change > 15) < 0.7  # a printed pattern over part of the mask
    # Not a flat colour: shading and pleats.
    assert drawn[inside].astype(float).std(axis=0).mean() > 3.0


def test_unknown_pattern_is_rejected(synthetic_clip) -> None:
    with pytest.raises(ValueError, match="unknown mask pattern"):
        draw_surgical_mask(synthetic_clip.truth[0], synthetic_clip.landmarks[0], MaskStyle(pattern="plaid"))


def test_named_points_are_where_the_mask_needs_them(astronaut_landmarks) -> None:
    from unmask_video import synthetic
    from unmask_video.landmark_sets import JAW

    lm = astronaut_landmarks
    assert lm[synthetic._CHIN, 1] == lm[list(JAW), 1].max()  # the chin is the lowest jaw point
    eyes_y = lm[list(LEFT_EYE_CORNERS + RIGHT_EYE_CORNERS), 1].mean()
    inner_x = sorted(lm[[LEFT_EYE_CORNERS[1], RIGHT_EYE_CORNERS[0]], 0])
    bridge = lm[synthetic._BRIDGE]
    assert inner_x[0] < bridge[0] < inner_x[1] and bridge[1] > eyes_y  # on the nose, below the eyes
    assert lm[synthetic._EAR_LEFT, 0] < bridge[0] < lm[synthetic._EAR_RIGHT, 0]


def test_factory_caches_per_spec(synthetic_clip_factory, synthetic_clip) -> None:
    assert synthetic_clip_factory(ClipSpec()) is synthetic_clip
    assert not synthetic_clip.truth.flags.writeable


def test_mask_style_reach_below_the_chin_and_worn_low(astronaut, astronaut_landmarks) -> None:
    lm = astronaut_landmarks
    _, default = draw_surgical_mask(astronaut, lm, MaskStyle())
    _, deep = draw_surgical_mask(astronaut, lm, MaskStyle(below_chin=0.25))
    _, low = draw_surgical_mask(astronaut, lm, MaskStyle(drop=0.33))
    rows = lambda m: np.flatnonzero(m.any(axis=1))  # noqa: E731
    face_h = float(lm[152, 1] - lm[197, 1])
    assert rows(deep)[-1] - rows(default)[-1] >= 0.15 * face_h  # it reaches further down the neck
    col = int(round(lm[1, 0]))
    assert rows(low[:, col : col + 1])[0] - rows(default[:, col : col + 1])[0] >= 0.25 * face_h  # lower over the nose
    tip = np.round(lm[1]).astype(int)
    assert default[tip[1], tip[0]] == 1 and low[tip[1], tip[0]] == 0  # the nose tip shows above a low mask
    assert (deep >= default).all()


def test_draw_finger_paints_only_the_finger(astronaut, astronaut_landmarks) -> None:
    from unmask_video.synthetic import draw_finger

    masked, truth = draw_surgical_mask(astronaut, astronaut_landmarks, MaskStyle())
    out, finger = draw_finger(masked, astronaut_landmarks, length=0.15)
    on = finger > 0
    assert on.sum() > 50 and (truth[on] > 0).all()  # a short finger lies wholly on the mask
    assert (out[~on] == masked[~on]).all()
    assert np.abs(out[on].astype(int) - masked[on]).sum(axis=-1).mean() > 30


def test_clip_with_the_mask_on_part_of_the_frames(synthetic_clip_factory) -> None:
    clip = synthetic_clip_factory(ClipSpec(frames=6, size=(160, 160), audio_hz=None, motion=0.0, mask_frames=(2, 4)))
    for i in range(6):
        if 2 <= i < 4:
            assert clip.masks[i].sum() > 100 and (clip.masked[i] != clip.truth[i]).any()
        else:
            assert clip.masks[i].sum() == 0 and (clip.masked[i] == clip.truth[i]).all()
