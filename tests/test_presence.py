"""The mask presence decision: its score, its hysteresis, the pipeline leaving bare faces untouched, and hands in
front of a worn mask (the mask stays found, the hand stays in front)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import decode_frames
from unmask_video import landmark_sets
from unmask_video.landmarks import face_box
from unmask_video.mask_cleanup import clean_kmeans_mask, fill_hand_holes
from unmask_video.mask_presence import Presence, PresenceOptions, median_u8, presence_score
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.segment import MaskSegmenter, SegmentOptions
from unmask_video.synthetic import BLACK, LIGHT_BLUE, ClipSpec, MaskStyle, draw_finger, draw_surgical_mask


def test_score_cues():
    opt = PresenceOptions()
    # unlike skin, covers the lower face, no lips showing, a clear upper edge
    assert presence_score(30.0, 1.0, 0.0, 30.0, opt) == pytest.approx(1.0)
    assert presence_score(1.0, 1.0, 0.0, 30.0, opt) == 0.0  # skin-coloured: a bare lower face
    assert presence_score(30.0, 0.3, 0.0, 30.0, opt) == 0.0  # a small piece: shadow, beard
    assert presence_score(30.0, 1.0, 15.0, 30.0, opt) == 0.0  # red lips in view: no mask over the mouth
    assert presence_score(30.0, 1.0, 0.0, 3.0, opt) == 0.0  # fades into the skin above: shaded skin
    assert presence_score(None, 1.0, None, None, opt) == pytest.approx(1.0)  # missing cues are left out


def test_hysteresis_needs_more_than_one_odd_frame():
    presence = Presence(PresenceOptions())
    assert not presence.update(0.0)
    assert not presence.update(1.0)  # one masked-looking frame does not start the rebuild ...
    assert presence.update(1.0)  # ... a second does
    assert presence.update(0.2)  # one bare-looking frame does not stop it
    assert not presence.update(0.0)
    first = Presence(PresenceOptions())
    assert first.update(0.9)  # the first frame decides on its own


@pytest.mark.parametrize("style", [MaskStyle(), MaskStyle(color=(30, 30, 35), pleats=2)], ids=["light-blue", "black"])
def test_pipeline_leaves_frames_without_a_mask_untouched(synthetic_clip_factory, style, tmp_path: Path):
    # The mask goes on at frame 6 and comes off at frame 16: FaceMesh tracks the face throughout.
    clip = synthetic_clip_factory(
        ClipSpec(frames=24, size=(256, 256), audio_hz=None, motion=0.4, style=style, mask_frames=(6, 16), crf=16)
    )
    frames, _ = decode_frames(clip.video_path)
    reconstructor = build_reconstructor(ReconstructorOptions(generator="none"))
    pipeline = FramePipeline(clip.reference, reconstructor, PipelineOptions(debug_dir=tmp_path, debug_frames=30))
    changed = []
    for index, frame in enumerate(frames):
        out = pipeline.process(frame, index / clip.spec.fps)
        changed.append(not np.array_equal(out, frame))
    assert pipeline.stats.frames_with_face == 24
    assert not any(changed[:6]), "a bare face was changed before the mask went on"
    assert all(changed[8:16]), "the mask was not rebuilt"
    assert not any(changed[18:]), "the face kept being changed after the mask came off"
    assert 8 <= pipeline.stats.frames_with_mask <= 14
    assert pipeline.stats.bare_faces == 24 - pipeline.stats.frames_with_mask
    overlays = sorted(tmp_path.glob("*.png"))
    assert len(overlays) == 24  # one per face, bare faces too (their decision is in the overlay)


# ------------------------------------------------------------------------------------------ hands in front


@pytest.fixture(scope="module")
def big_face(astronaut, astronaut_landmarks):
    """The astronaut at twice the size (a face about 180 px wide, as in a 720p talking head), and her skin colour
    (the median of the forehead points' surroundings): a hand in front of her face has it."""
    big = cv2.resize(astronaut, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    lm = (astronaut_landmarks * 2.0).astype(np.float32)
    points = np.round(lm[list(landmark_sets.FOREHEAD)]).astype(int)
    skin = np.median(np.concatenate([big[y - 6 : y + 6, x - 6 : x + 6].reshape(-1, 3) for x, y in points]), axis=0)
    return big, lm, tuple(int(v) for v in skin)


def _segment_full(seg: MaskSegmenter, image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    box = face_box(lm, image.shape)
    out = np.zeros(image.shape[:2], bool)
    offset = np.array([box.x0, box.y0], np.float32)
    out[box.slices] = seg.segment(np.ascontiguousarray(image[box.slices]), lm - offset) >= 0.5
    return out


def _hand_clip(image, lm, skin, frames=12, hand=(4, 10)):
    """Noisy frames of ``image`` with a skin-coloured hand (a wide, shaded capsule from under the chin up beside the
    mouth) in front of the face in frames ``hand``; also the hand's pixels."""
    with_hand, pixels = draw_finger(image, lm, color=skin, width=0.3, length=0.8)
    rng = np.random.default_rng(3)
    clip = [with_hand if hand[0] <= i < hand[1] else image for i in range(frames)]
    return [np.clip(f + rng.normal(0, 3, f.shape), 0, 255).astype(np.uint8) for f in clip], pixels > 0


@pytest.mark.parametrize("colour", [LIGHT_BLUE, BLACK], ids=["light-blue", "black"])
def test_a_hand_in_front_of_a_worn_mask_keeps_it_found_and_stays_in_front(big_face, colour):
    image, lm, skin = big_face
    masked, truth = draw_surgical_mask(image, lm, MaskStyle(colour))
    truth = truth > 0
    frames, hand = _hand_clip(masked, lm, skin)
    assert (hand & truth).sum() / truth.sum() > 0.2  # the hand hides a good part of the mask
    seg = MaskSegmenter()
    for i, frame in enumerate(frames):
        mask = _segment_full(seg, frame, lm)
        assert mask.any(), f"frame {i}: the mask was dropped"
        if 4 <= i < 10:
            assert (mask & hand).sum() / hand.sum() <= 0.02, f"frame {i}: the hand is painted over"
            rest = truth & ~hand
            assert (mask & rest).sum() / rest.sum() >= 0.97, f"frame {i}: the mask around the hand is not covered"
    # Without the occluder rule the hand turns the mask off (the cover and lips cues drop): the checks above mean
    # something.
    plain = MaskSegmenter(SegmentOptions(presence=PresenceOptions(occluder_tolerance=0.0)))
    worn = [_segment_full(plain, frame, lm).any() for frame in frames]
    assert not all(worn[4:10])


def test_a_hand_in_front_of_a_bare_face_makes_no_mask(big_face):
    image, lm, skin = big_face
    frames, _ = _hand_clip(image, lm, skin)
    seg = MaskSegmenter()
    for i, frame in enumerate(frames):
        assert not _segment_full(seg, frame, lm).any(), f"frame {i}: a bare face got a mask"


def _paint_skin(image: np.ndarray, layer: np.ndarray, skin) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with the ``layer`` (> 0) painted in the ``skin`` colour, shaded across from image-left to right
    (0.8x to 1.0x), and the (h, w) bool map of the painted pixels."""
    on = layer > 0
    shade = 0.9 + 0.1 * np.linspace(-1, 1, image.shape[1])[None, :].repeat(image.shape[0], 0)
    out = image.copy()
    out[on] = np.clip(np.asarray(skin, np.float32)[None, :] * shade[on][:, None], 0, 255).astype(np.uint8)
    return out, on


def _palm(image: np.ndarray, lm: np.ndarray, skin) -> tuple[np.ndarray, np.ndarray]:
    """A hand flat over the mouth: a shaded skin-coloured palm from under the chin, four fingers up to the nose."""
    size = float(np.ptp(lm[list(landmark_sets.FACE_OVAL)][:, 1]))
    mouth = lm[13]
    layer = np.zeros(image.shape[:2], np.uint8)
    centre = (int(round(mouth[0])), int(round(mouth[1] + 0.17 * size)))
    cv2.ellipse(layer, centre, (int(0.16 * size), int(0.22 * size)), 0, 0, 360, 1, -1)
    for k in range(4):
        x = int(round(mouth[0] + (k - 1.5) * 0.07 * size))
        cv2.line(layer, (x, centre[1]), (x, int(round(mouth[1] - 0.16 * size))), 1, max(int(0.06 * size), 2))
    return _paint_skin(image, layer, skin)


@pytest.mark.parametrize("colour", [LIGHT_BLUE, BLACK], ids=["light-blue", "black"])
def test_a_hand_over_the_mouth_of_a_masked_face_on_one_frame(big_face, colour):
    # The hand holds the nose and mouth (the k-means core): the mask is the cluster around it, on both sides.
    image, lm, skin = big_face
    masked, truth = draw_surgical_mask(image, lm, MaskStyle(colour))
    with_hand, hand = _palm(masked, lm, skin)
    truth = truth > 0
    assert (hand & truth).sum() / truth.sum() > 0.3
    mask = _segment_full(MaskSegmenter(), with_hand, lm)
    assert (mask & hand).sum() / hand.sum() <= 0.05, "the hand is painted over"  # (its outline: a pixel or two)
    rest = truth & ~hand
    assert (mask & rest).sum() / rest.sum() >= 0.9, "the mask around the hand is not covered"
    plain = MaskSegmenter(SegmentOptions(presence=PresenceOptions(occluder_tolerance=0.0)))
    assert not _segment_full(plain, with_hand, lm).any()  # without the occluder rules: taken for a bare face
    bare, _ = _palm(image, lm, skin)
    assert not _segment_full(MaskSegmenter(), bare, lm).any(), "a hand over a bare face's mouth made a mask"


def _side_hand(image: np.ndarray, lm: np.ndarray, skin, side: float) -> tuple[np.ndarray, np.ndarray]:
    """A hand flat over the mouth and most of one side of the lower face (``side`` -1: image-left, 1: right), from
    under the chin, in shadow (darker than the forehead): the mask shows on the other side only."""
    size = float(np.ptp(lm[list(landmark_sets.FACE_OVAL)][:, 1]))
    mouth = lm[13]
    layer = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(layer, (int(round(mouth[0])), int(round(mouth[1] + 0.17 * size))), (int(0.16 * size), int(0.22 * size)),
                0, 0, 360, 1, -1)  # (the palm over the mouth, as _palm's)
    centre = (int(round(mouth[0] + side * 0.25 * size)), int(round(mouth[1] + 0.15 * size)))
    cv2.ellipse(layer, centre, (int(0.22 * size), int(0.35 * size)), 0, 0, 360, 1, -1)
    on = layer > 0
    out = image.copy()
    out[on] = np.clip(np.asarray(skin, np.float32) * 0.8, 0, 255).astype(np.uint8)
    return out, on


@pytest.mark.parametrize("side", [-1.0, 1.0], ids=["left", "right"])
def test_a_hand_over_one_side_of_a_masked_face_keeps_the_other_side(big_face, side):
    # The hand holds the core and one side of the lower face: the mask shows on the other side only, and is still
    # found there (the hand stays in front); the same hand over a bare face makes no mask.
    image, lm, skin = big_face
    masked, truth = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    with_hand, hand = _side_hand(masked, lm, skin, side)
    truth = truth > 0
    assert (hand & truth).sum() / truth.sum() > 0.25
    mask = _segment_full(MaskSegmenter(), with_hand, lm)
    assert (mask & hand).sum() / hand.sum() <= 0.05, "the hand is painted over"
    rest = truth & ~hand
    assert (mask & rest).sum() / rest.sum() >= 0.85, "the mask beside the hand is not covered"
    bare, _ = _side_hand(image, lm, skin, side)
    assert not _segment_full(MaskSegmenter(), bare, lm).any(), "a hand over a bare face's side made a mask"


def test_hold_keeps_a_worn_mask_while_something_skin_coloured_hides_it():
    opt = PresenceOptions(hold_frames=3)
    presence = Presence(opt)
    assert presence.update(1.0) and presence.update(1.0)
    for _ in range(3):  # a hand in front: the score drops, the decision holds
        assert presence.update(0.0, hidden=True)
    assert presence.update(0.0, hidden=True)  # past ``hold_frames`` the average falls again (1 -> 0.5) ...
    assert not presence.update(0.0, hidden=True)  # ... (0.25) and the mask is taken off
    bare = Presence(opt)  # a face not taken as masked is never held
    assert not any(bare.update(0.0, hidden=True) for _ in range(4))
    assert not bare.update(1.0, hidden=True)


def _passing_hand(image: np.ndarray, lm: np.ndarray, skin, t: float) -> tuple[np.ndarray, np.ndarray]:
    """A flat hand (palm and four fingers, no wrist: it need not come from outside the face) crossing the lower face
    from image-left (``t`` 0) to image-right (``t`` 1), shaded across."""
    size = float(np.ptp(lm[list(landmark_sets.FACE_OVAL)][:, 1]))
    mouth = lm[13]
    palm = (int(round(mouth[0] + (0.5 - 1.0 * t) * -0.6 * size)), int(round(mouth[1] + 0.1 * size)))
    layer = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(layer, palm, (int(0.17 * size), int(0.2 * size)), 0, 0, 360, 1, -1)
    for k in range(4):
        x = int(round(palm[0] + (k - 1.5) * 0.08 * size))
        cv2.line(layer, (x, palm[1]), (x, int(round(palm[1] - 0.35 * size))), 1, max(int(0.065 * size), 2))
    return _paint_skin(image, layer, skin)


def _passing_clip(image, lm, skin, frames=12, hand=(3, 10)):
    rng = np.random.default_rng(5)
    clip, hands = [], []
    for i in range(frames):
        frame, on = image, np.zeros(image.shape[:2], bool)
        if hand[0] <= i < hand[1]:
            frame, on = _passing_hand(image, lm, skin, (i - hand[0]) / (hand[1] - hand[0] - 1))
        clip.append(np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8))
        hands.append(on)
    return clip, hands


def test_a_hand_passing_over_a_worn_mask_keeps_the_face_rebuilt_behind_it(big_face):
    image, lm, skin = big_face
    masked, truth = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    truth = truth > 0
    frames, hands = _passing_clip(masked, lm, skin)
    assert max((h & truth).sum() / truth.sum() for h in hands) > 0.3  # the hand hides a good part of the mask
    seg = MaskSegmenter()
    for i, (frame, hand) in enumerate(zip(frames, hands)):
        mask = _segment_full(seg, frame, lm)
        assert mask.any(), f"frame {i}: the mask was dropped"
        if hand.any():
            assert (mask & hand).sum() / hand.sum() <= 0.05, f"frame {i}: the hand is painted over"
    # Without the hold the hand turns the mask off: the check above means something.
    plain = MaskSegmenter(SegmentOptions(presence=PresenceOptions(hold_frames=0)))
    assert not all(_segment_full(plain, frame, lm).any() for frame in frames)
    # The same hand passing over the bare face makes no mask.
    bare = MaskSegmenter()
    for i, frame in enumerate(_passing_clip(image, lm, skin)[0]):
        assert not _segment_full(bare, frame, lm).any(), f"frame {i}: a bare face got a mask"


def test_a_worn_mask_stays_rebuilt_through_blurred_frames_with_landmarks_placed_too_high(big_face):
    # Motion blur: FaceMesh places a masked face's landmarks too high (its mouth on the nose), the clusters are refit
    # around a core that lies on bare skin and the mask covers little of the "lower face" measured: the decision holds
    # (skin in front of the measured region, no lips), the mask stays found.
    image, lm, _ = big_face
    masked, _ = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    size = float(np.ptp(lm[list(landmark_sets.FACE_OVAL)][:, 1]))
    kernel = np.zeros((1, 21), np.float32)
    kernel[0, :] = 1.0 / 21.0
    blurred = cv2.filter2D(masked, -1, kernel)
    high = (lm - np.array([0.0, 0.3 * size], np.float32)).astype(np.float32)  # (its mouth above the mask)
    frames = [(masked, lm)] * 4 + [(blurred, high)] * 4 + [(masked, lm)] * 3

    def run(options: SegmentOptions) -> list[bool]:
        seg = MaskSegmenter(options)
        return [bool(_segment_full(seg, f, m).any()) for f, m in frames]

    assert all(run(SegmentOptions())), "the mask was dropped on the blurred frames"
    # Without the hold it is (the mouth cue off too: the landmarks placed too high put their mouth on the cloth, which
    # shows no mouth, and that alone backs the weak edge there)
    assert not all(run(SegmentOptions(presence=PresenceOptions(hold_frames=0, mouth_high=0.0))))


def test_the_edge_cue_reads_the_masks_upper_edge_not_its_sides(astronaut_landmarks):
    # A mask reaching the face's outline: beside the k-means mask (narrower than the cloth, cut by its polygon) is more
    # cloth. The cue compares the cloth under the mask's upper edge with the skin above it, not with the cloth beside.
    from unmask_video.mask_presence import edge_contrast
    from unmask_video.segment import face_size

    lm = np.asarray(astronaut_landmarks, np.float32)
    size = face_size(lm)
    skin, cloth = np.array([170, 145, 150], np.uint8), np.array([215, 124, 118], np.uint8)  # Lab: warm skin, pale blue
    lab = np.empty((512, 512, 3), np.uint8)
    lab[:] = skin
    face = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(face, [np.round(lm[list(landmark_sets.FACE_OVAL)]).astype(np.int32)], 1)
    top = int(round(float(lm[landmark_sets.NOSE_BRIDGE, 1])))  # the cloth's top edge on the nose bridge
    worn = (face > 0) & (np.arange(512)[:, None] >= top)
    lab[worn] = cloth
    xs = np.flatnonzero(worn.any(axis=0))
    seed = worn.copy()
    side = int(0.25 * (xs[-1] - xs[0]))
    seed[:, : xs[0] + side] = False
    seed[:, xs[-1] - side :] = False
    step = float(np.linalg.norm((cloth.astype(np.float32) - skin) * np.array([0.5, 1.0, 1.0])))
    edge = edge_contrast(lab, seed.astype(np.uint8), lm, size)
    assert edge is not None and edge >= 0.9 * step
    assert edge >= PresenceOptions().edge_high
    # A bare face: the "mask" is the lower face's own skin, no step at its top.
    bare = np.empty_like(lab)
    bare[:] = skin
    edge = edge_contrast(bare, seed.astype(np.uint8), lm, size)
    assert edge is not None and edge < PresenceOptions().edge_low


@pytest.mark.parametrize("n", [1, 2, 7, 500, 1001])
def test_median_u8_is_numpys_median(n):
    rng = np.random.default_rng(n)
    values = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    values[: n // 2, 1] = 200  # ties, and the two middle values apart
    got = median_u8(values)
    assert got.dtype == np.float32
    assert np.array_equal(got, np.median(values.astype(np.float32), axis=0))


def test_the_mouth_cue_stands_in_for_a_missing_forehead_colour_and_backs_a_weak_edge():
    opt = PresenceOptions()
    # No usable forehead colour, a clear upper edge, the lower face covered: a bare face's mouth in its "mask" says no.
    assert presence_score(None, 1.0, None, 20.0, opt) == pytest.approx(1.0)
    assert presence_score(None, 1.0, None, 20.0, opt, mouth=50.0) == 0.0
    assert presence_score(None, 1.0, None, 20.0, opt, mouth=4.0) == pytest.approx(1.0)
    # A pale mask far from the skin's colour with a weak upper edge: no mouth in it says mask.
    assert presence_score(34.0, 0.96, None, 6.5, opt) == 0.0
    assert presence_score(34.0, 0.96, None, 6.5, opt, mouth=4.0) == pytest.approx(1.0)
    assert presence_score(34.0, 0.96, None, 6.5, opt, mouth=50.0) == 0.0
    # A clear edge and colour are not taken back by a mouth-like dark print: the cue only backs up the weak ones.
    assert presence_score(30.0, 1.0, None, 30.0, opt, mouth=50.0) == pytest.approx(1.0)
    # A mouth far darker than the rest of the "mask" is a bare face's, whatever the other cues say; a print is as dark
    # elsewhere on the cloth.
    assert presence_score(30.0, 1.0, None, 30.0, opt, mouth=60.0, rest=5.0) == 0.0
    assert presence_score(30.0, 1.0, None, 30.0, opt, mouth=60.0, rest=50.0) == pytest.approx(1.0)
    # Off: as without it.
    off = PresenceOptions(mouth_high=0.0)
    assert presence_score(None, 1.0, None, 20.0, off, mouth=50.0) == pytest.approx(1.0)


def _grey(image: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def test_mouth_darkness_finds_a_bare_mouth_not_a_pale_masks_pleats(big_face):
    from unmask_video.mask_presence import lower_face, mouth_darkness
    from unmask_video.segment import face_size

    image, lm, _ = big_face
    size = face_size(lm)
    lower = lower_face(image.shape[:2], lm)
    opt = PresenceOptions()
    for photo in (image, _grey(image)):
        bare, rest = mouth_darkness(cv2.cvtColor(photo, cv2.COLOR_RGB2LAB), lower, lm, size, opt.mouth_reach, opt.mouth_far)
        assert bare is not None and bare >= opt.mouth_high  # the line between her lips ...
        assert rest is not None and bare - rest >= 10.0  # ... darker than the rest of her lower face
        for colour in ((215, 215, 215), (200, 222, 235)):
            masked, truth = draw_surgical_mask(photo, lm, MaskStyle(colour, pleats=3))
            cloth, _ = mouth_darkness(cv2.cvtColor(masked, cv2.COLOR_RGB2LAB), truth, lm, size, opt.mouth_reach)
            assert cloth is not None and cloth <= opt.mouth_low
        # A dotted print: dark around the mouth, as dark elsewhere on the cloth.
        dotted, truth = draw_surgical_mask(photo, lm, MaskStyle((20, 30, 40), pattern="dots"))
        got = mouth_darkness(cv2.cvtColor(dotted, cv2.COLOR_RGB2LAB), truth, lm, size, opt.mouth_reach, opt.mouth_far)
        assert got[0] is not None and got[1] is not None and got[0] - got[1] <= opt.mouth_over_low
    # Nothing of the mask around the lips: no cue.
    assert mouth_darkness(cv2.cvtColor(image, cv2.COLOR_RGB2LAB), np.zeros_like(lower), lm, size, 0.06) == (None, None)


def test_a_pale_mask_with_a_weak_top_edge_and_no_forehead_colour_is_found(big_face):
    # A grey photo (no warm forehead: no colour cue) of a pale grey mask, whose top shows little step on the skin.
    image, lm, _ = big_face
    masked, truth = draw_surgical_mask(_grey(image), lm, MaskStyle((215, 215, 215)))
    found = _segment_full(MaskSegmenter(), masked, lm)
    assert (found & (truth > 0)).sum() >= 0.9 * (truth > 0).sum()
    # Without the mouth cue the weak edge alone drops it: the check above means something.
    plain = MaskSegmenter(SegmentOptions(presence=PresenceOptions(mouth_high=0.0)))
    assert not _segment_full(plain, masked, lm).any()


def test_a_bare_face_with_no_forehead_colour_and_a_clear_edge_stays_bare(big_face):
    # A grey photo of a bare face (no warm forehead: no colour cue), its edge cue made to read "clear" (as on real bare
    # photos whose shaded lower face or beard steps from the skin above): the mouth in the "mask" keeps it bare.
    image, lm, _ = big_face
    grey = _grey(image)
    clear = PresenceOptions(edge_low=0.0, edge_high=1.0)
    assert not _segment_full(MaskSegmenter(SegmentOptions(presence=clear)), grey, lm).any()
    # Without the mouth cue, the same face is given a mask: the check above means something.
    plain = replace(clear, mouth_high=0.0)
    assert _segment_full(MaskSegmenter(SegmentOptions(presence=plain)), grey, lm).any()


def _count_edge_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """``presence_decision.edge_contrast`` counted: the returned dict's "edge" goes up by one a call."""
    from unmask_video import presence_decision

    calls = {"edge": 0}
    edge = presence_decision.edge_contrast

    def counted(*args, **kwargs):
        calls["edge"] += 1
        return edge(*args, **kwargs)

    monkeypatch.setattr(presence_decision, "edge_contrast", counted)
    return calls


def test_settled_cues_are_reused_and_a_mask_taken_off_is_still_seen(big_face, monkeypatch):
    """Settled on a worn mask, the costly cues (edge, lips, mouth) are measured every ``settled_every`` frames only; the
    decisions frame by frame are those of measuring them every frame, the mask coming off included."""

    image, lm, _ = big_face
    masked, _ = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    frames = [masked] * 8 + [image] * 6 + [masked] * 6
    calls = _count_edge_calls(monkeypatch)
    decisions = {}
    for every in (1, 3):
        calls["edge"] = 0
        # (the still face's reuse off: these frames repeat exactly, and each must run the presence decision)
        # (nor a settled bare face's skipped runs: the bare frames too run the decision)
        options = PresenceOptions(settled_every=every, bare_every=1)
        seg = MaskSegmenter(SegmentOptions(presence=options, still_frames=0))
        decisions[every] = [bool(_segment_full(seg, frame, lm).any()) for frame in frames]
        if every == 3:
            assert calls["edge"] <= len(frames) - 4  # (at least two settled stretches of two reused frames)
        else:
            assert calls["edge"] == len(frames)
    assert decisions[3] == decisions[1]
    assert decisions[1][:8] == [True] * 8 and not any(decisions[1][10:14]) and all(decisions[1][-3:])


def _shaded_blotched(image: np.ndarray, truth: np.ndarray, lm: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """The mask's image-right side shaded to half its lightness (a turned face's far side) and a purple print's
    blotch on the cloth beside the hand's image-left edge."""
    out = image.copy()
    size = float(np.ptp(lm[list(landmark_sets.FACE_OVAL)][:, 1]))
    xs = np.flatnonzero(hand.any(axis=0))
    right = truth.copy()
    right[:, : xs[-1] + 1] = False
    out[right] = (out[right] * 0.55).astype(np.uint8)
    blotch = np.zeros(truth.shape, np.uint8)
    centre = (int(xs[0]), int(round(lm[13][1] + 0.08 * size)))
    cv2.ellipse(blotch, centre, (int(0.07 * size), int(0.05 * size)), 0, 0, 360, 1, -1)
    spot = (blotch > 0) & truth & ~hand
    out[spot] = (150, 100, 170)
    return out


def test_a_hand_over_a_shaded_printed_mask_keeps_its_far_side_and_prints(big_face):
    # The hand holds the middle of the lower face: the mask shows its lit side and its shaded side (the shaded one
    # further toward the rim), and a print's blotch lies between the cloth and the hand. All of it is mask.
    image, lm, skin = big_face
    masked, truth = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    truth = truth > 0
    _, hand = _palm(masked, lm, skin)
    shaded = _shaded_blotched(masked, truth, lm, hand)
    with_hand, hand = _palm(shaded, lm, skin)
    rest = truth & ~hand
    mask = _segment_full(MaskSegmenter(), with_hand, lm)
    assert (mask & hand).sum() / hand.sum() <= 0.05, "the hand is painted over"
    assert (mask & rest).sum() / rest.sum() >= 0.9, "the mask around the hand is not covered"


def test_holes_between_the_mask_and_a_hand_are_mask_but_not_over_the_lips(astronaut_landmarks):
    lm = astronaut_landmarks
    mouth = np.round(lm[13]).astype(int)
    shape = (int(lm[:, 1].max()) + 40, int(lm[:, 0].max()) + 40)
    hand = np.zeros(shape, np.uint8)
    hand[mouth[1] - 15 : mouth[1] + 60, mouth[0] - 12 : mouth[0] + 12] = 1  # over the mouth, from below
    seed = np.zeros(shape, np.uint8)
    seed[mouth[1] - 40 : mouth[1] + 40, mouth[0] - 60 : mouth[0] + 60] = 1
    eye = np.zeros(shape, np.uint8)
    eye[mouth[1] - 150 : mouth[1] - 120, mouth[0] - 20 : mouth[0] + 20] = 1  # a hole in the skin above the mask
    seed &= 1 - hand
    blotch = np.zeros(shape, np.uint8)
    blotch[mouth[1] + 10 : mouth[1] + 25, mouth[0] + 12 : mouth[0] + 22] = 1  # beside the hand, under the lips
    lips = np.zeros(shape, np.uint8)
    lips[mouth[1] - 2 : mouth[1] + 3, mouth[0] - 40 : mouth[0] - 12] = 1  # the lips' corner, past the hand's edge
    skin = hand.copy()
    skin[mouth[1] - 160 : mouth[1] - 110, mouth[0] - 30 : mouth[0] + 30] = 1  # the face's skin around an eye ...
    skin[mouth[1] - 110 : mouth[1] - 15, mouth[0] - 12 : mouth[0] + 12] = 1  # ... joined to the hand
    skin &= 1 - eye
    seed &= 1 - skin
    out = fill_hand_holes(seed & (1 - blotch) & (1 - lips), skin, lm)
    assert not out[eye > 0].any(), "an eye in the skin above the mask was filled"
    assert out[blotch > 0].all(), "the blotch between the cloth and the hand is left out"
    assert not out[lips > 0].any(), "a hole over the lips was filled"
    assert not out[skin > 0].any()
    assert (fill_hand_holes(seed, np.zeros(shape, np.uint8), lm) == seed).all()


def test_the_mask_strip_beyond_a_hand_is_kept_when_it_touches_it():
    seg = MaskSegmenter()
    raw = np.zeros((120, 200), np.uint8)
    raw[20:100, 90:190] = 1  # the mask's side holding the core
    raw[20:100, 20:30] = 1  # a narrow strip of it beyond the hand
    hand = np.zeros_like(raw)
    hand[10:120, 30:89] = 1
    core = np.zeros((120, 200), bool)
    core[50:60, 120:130] = True
    kept = clean_kmeans_mask(raw, core, 200.0, seg.options, 0.2)
    assert not kept[:, 20:30].any()  # (too small for ``split_share`` alone)
    touching = clean_kmeans_mask(raw, core, 200.0, seg.options, 0.2, cv2.dilate(hand, np.ones((3, 3), np.uint8)))
    assert touching[40:80, 21:29].all() and touching[40:80, 100:180].all()



def _edge_contrast_whole_window(lab, mask, landmarks, size):
    """edge_contrast as it was, with masks of the whole window (the reference the listed rows must equal)."""
    from unmask_video.mask_presence import median_u8

    k = max(int(round(0.05 * size)) | 1, 3)
    limit = (float(landmarks[landmark_sets.NOSE_BASE, 1]) + float(landmarks[landmark_sets.CHIN, 1])) / 2
    oval = np.asarray(landmarks, np.float32)[list(landmark_sets.FACE_OVAL)]
    h, w = mask.shape
    pad = k + 2
    x0, y0 = np.maximum(np.floor(oval.min(axis=0)).astype(int) - pad, 0)
    x1 = min(int(np.ceil(oval[:, 0].max())) + pad + 1, w)
    y1 = min(int(np.ceil(min(float(oval[:, 1].max()), limit))) + pad + 1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    lab, mask = lab[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    h, w = mask.shape
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [np.round(oval - np.array([x0, y0], np.float32)).astype(np.int32)], 1)
    binary = mask > 0
    has = binary.any(axis=0)
    top = np.where(has, binary.argmax(axis=0), h)
    rows_i = np.arange(h)[:, None]
    outside = (rows_i >= top[None, :] - k // 2) & (rows_i < top[None, :]) & has[None, :] & (face > 0)
    inside = (rows_i >= top[None, :]) & (rows_i < top[None, :] + k // 2) & binary & (face > 0)
    rows = rows_i + int(y0) < limit
    outside &= rows
    inside &= rows
    if outside.sum() < 12 or inside.sum() < 12:
        return None
    weight = np.array([0.5, 1.0, 1.0], np.float32)
    return float(np.linalg.norm(median_u8(lab[inside]) * weight - median_u8(lab[outside]) * weight))


def test_the_edge_cue_lists_the_same_pixels_as_masks_of_the_whole_window(astronaut_landmarks):
    from unmask_video.mask_presence import edge_contrast
    from unmask_video.segment import face_size

    rng = np.random.default_rng(7)
    base = np.asarray(astronaut_landmarks, np.float32)
    for i in range(40):
        lm = (base * rng.uniform(0.6, 1.1) + rng.uniform(-60, 60, 2)).astype(np.float32)
        size = face_size(lm)
        lab = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
        mask = np.zeros((512, 512), np.uint8)
        top = int(rng.integers(150, 400))
        cv2.fillPoly(mask, [np.round(lm[list(landmark_sets.MASK_REGION)]).astype(np.int32)], 1)
        if i % 3:  # (a mask worn lower: its top edge across the face)
            mask[:top] = 0
        mask[rng.random((512, 512)) < 0.02] = 0  # (ragged tops)
        assert edge_contrast(lab, mask, lm, size) == _edge_contrast_whole_window(lab, mask, lm, size)


def test_a_settled_bare_face_skips_the_refinement_and_a_mask_put_on_is_still_seen(big_face, monkeypatch):
    """A face settled bare whose k-means mask keeps its colour and cover is returned bare without the refinement and
    the costly cues (``bare_every``); a mask put on changes the k-means mask and is found on the frames it is found
    on when every frame is measured."""

    image, lm, _ = big_face
    masked, _ = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    rng = np.random.default_rng(5)
    frames = [np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8) for f in [image] * 12 + [masked] * 6]
    calls = _count_edge_calls(monkeypatch)
    decisions, measured, skipped = {}, {}, {}
    for every in (1, 4):
        calls["edge"] = 0
        seg = MaskSegmenter(SegmentOptions(presence=PresenceOptions(bare_every=every), still_frames=0))
        decisions[every] = [bool(_segment_full(seg, frame, lm).any()) for frame in frames]
        measured[every], skipped[every] = calls["edge"], seg.stats.bare_settled
    assert not any(decisions[1][:12]) and all(decisions[1][-4:])
    assert decisions[4] == decisions[1]
    assert skipped[1] == 0 and skipped[4] >= 6  # (of the 12 bare frames: at most 3 in a row, after a measured one)
    assert measured[4] == measured[1] - skipped[4]


def test_a_mask_of_the_skins_own_colour_is_told_by_its_clear_edge_and_no_mouth():
    opt = PresenceOptions()
    # Cloth of nearly the forehead's colour (colour_near from it: colour cue 0), a clear upper edge, no mouth in it:
    # a mask.
    assert presence_score(6.0, 1.0, None, 30.0, opt, mouth=2.0) == pytest.approx(1.0)
    # Either one alone is no mask: a mouth in it (a bare face's shaded lower face with a clear step) ...
    assert presence_score(6.0, 1.0, None, 30.0, opt, mouth=40.0) == 0.0
    # ... or no clear edge (a bare face whose mouth reads faint fades into the skin above it).
    assert presence_score(6.0, 1.0, None, 3.0, opt, mouth=2.0) == 0.0
    # The skin's own colour (a hand over the mouth: a clear edge, no mouth in view) stays no mask.
    assert presence_score(3.0, 1.0, None, 30.0, opt, mouth=2.0) == 0.0
    # No edge measured: the colour cue alone, as before.
    assert presence_score(6.0, 1.0, None, None, opt, mouth=2.0) == 0.0
    # Off: as before.
    assert presence_score(6.0, 1.0, None, 30.0, replace(opt, skin_coloured=False), mouth=2.0) == 0.0


def test_a_mask_of_the_skins_own_colour_is_found_and_a_bare_face_stays_bare(big_face):
    # A mask of her skin's hue (beige on fair skin, brown on dark skin): her forehead's colour, 15 % darker (the same
    # colour as the cheeks above its edge would show no edge at all: no cue can tell that from skin).
    image, lm, skin = big_face
    masked, truth = draw_surgical_mask(image, lm, MaskStyle(tuple(int(v * 0.85) for v in skin)))
    found = _segment_full(MaskSegmenter(), masked, lm)
    assert (found & (truth > 0)).sum() >= 0.9 * (truth > 0).sum()
    assert not _segment_full(MaskSegmenter(), image, lm).any()
    # A hand over her bare mouth (a clear edge, no mouth in view) is her skin's own colour: no mask.
    hand, _ = _palm(image, lm, skin)
    assert not _segment_full(MaskSegmenter(), hand, lm).any()
    # Without the rule the mask is taken for her skin and left on her face: the check above means something.
    plain = MaskSegmenter(SegmentOptions(presence=PresenceOptions(skin_coloured=False)))
    assert not _segment_full(plain, masked, lm).any()


def test_a_mask_of_the_skins_very_colour_is_told_by_no_mouth_no_nostrils_an_even_rest_and_a_step():
    opt = PresenceOptions()
    cloth = dict(mouth=3.0, rest=3.0, nostrils=2.0)
    # Cloth of the forehead's very colour (2 from it: colour cue 0), no mouth, no nostrils, faint pleats, a step at
    # its top: a mask.
    assert presence_score(2.0, 1.0, 0.0, 12.0, opt, **cloth) == pytest.approx(1.0)
    # Without the nostrils cue (not measured) it is the colour alone, as before: no mask.
    assert presence_score(2.0, 1.0, 0.0, 12.0, opt, mouth=3.0, rest=3.0) == 0.0
    assert presence_score(2.0, 1.0, 0.0, 12.0, replace(opt, nostril_high=0.0), **cloth) == 0.0
    # A bare face's closed mouth (11 or more: under the mouth cue's own 12, over this rule's 10) ...
    assert presence_score(2.0, 1.0, 0.0, 12.0, opt, mouth=11.0, rest=3.0, nostrils=2.0) == 0.0
    # ... its nostrils' dark holes ...
    assert presence_score(2.0, 1.0, 0.0, 12.0, opt, mouth=3.0, rest=3.0, nostrils=15.0) == 0.0
    # ... a hand's fingers over the nose and mouth (dark lines between them) ...
    assert presence_score(2.0, 1.0, 0.0, 12.0, opt, mouth=6.0, rest=27.0, nostrils=6.0) == 0.0
    # ... or no step at the top (the skin's own shade fading): no mask.
    assert presence_score(2.0, 1.0, 0.0, 3.0, opt, **cloth) == 0.0
    # Each cue's ramp: half-way scores in between.
    assert 0.0 < presence_score(2.0, 1.0, 0.0, 7.0, opt, **cloth) < 1.0
    # Off with ``skin_coloured`` too.
    assert presence_score(2.0, 1.0, 0.0, 12.0, replace(opt, skin_coloured=False), **cloth) == 0.0


def test_the_nostrils_cue_reads_dark_holes_and_needs_the_mask_over_them(big_face):
    from unmask_video.mask_presence import nostril_darkness

    image, lm, skin = big_face
    size = float(np.ptp(lm[list(landmark_sets.FACE_OVAL)][:, 1]))
    plain = np.zeros(image.shape, np.uint8)
    plain[:] = skin
    lab = cv2.cvtColor(plain, cv2.COLOR_RGB2LAB)
    holes = plain.copy()
    for i in landmark_sets.NOSTRILS[3:5]:  # (the nostrils' holes: 79, 309)
        x, y = np.round(lm[i]).astype(int)
        cv2.ellipse(holes, (int(x), int(y)), (max(int(0.025 * size), 2), max(int(0.012 * size), 1)), 0, 0, 360,
                    (40, 25, 20), -1)
    whole = np.ones(image.shape[:2], np.uint8)
    flat = nostril_darkness(lab, whole, lm, size, 0.04)
    dark = nostril_darkness(cv2.cvtColor(holes, cv2.COLOR_RGB2LAB), whole, lm, size, 0.04)
    assert flat is not None and dark is not None
    assert flat < 2.0 and dark > 30.0
    # A mask that leaves the nose (a hand under it, a mask worn low): not measured.
    low = whole.copy()
    low[: int(lm[landmark_sets.NOSE_BASE, 1]) + 2] = 0
    assert nostril_darkness(lab, low, lm, size, 0.04) is None


def _plain_mask(image: np.ndarray, lm: np.ndarray, colour) -> tuple[np.ndarray, np.ndarray]:
    """A smooth cloth of ``colour`` over the drawn mask's outline, 8 % darker towards the chin, with no pleats or hem
    (as a pasted photo mask of the skin's colour looks): the image and the cloth's map."""
    from unmask_video.synthetic import mask_outline

    poly = np.round(mask_outline(lm)).astype(np.int32)
    area = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(area, [poly], 1)
    rows = np.arange(image.shape[0], dtype=np.float32)[:, None]
    y0, y1 = int(poly[:, 1].min()), int(poly[:, 1].max())
    shade = 1.0 - 0.08 * np.clip((rows - y0) / max(y1 - y0, 1), 0.0, 1.0)
    cloth = np.clip(np.array(colour, np.float32)[None, None, :] * shade[..., None], 0, 255)
    soft = cv2.GaussianBlur(area.astype(np.float32), (0, 0), 1.0)[..., None]
    out = (image * (1.0 - soft) + np.broadcast_to(cloth, image.shape) * soft).astype(np.uint8)
    return out, area > 0


@pytest.mark.parametrize("shade, outline", [(0.88, False), (1.0, True)], ids=["12-percent-darker", "outlined"])
def test_a_smooth_mask_of_the_skins_very_colour_is_found_and_bare_faces_stay_bare(big_face, shade, outline):
    # Her forehead's colour 12 % darker, smooth (5.8 from her skin: under colour_near, the colour cue says nothing);
    # or her forehead's very colour with a thin dark outline, as the pasted photo masks are drawn (3.2 from her skin).
    from unmask_video.synthetic import mask_outline

    image, lm, skin = big_face
    masked, truth = _plain_mask(image, lm, tuple(shade * v for v in skin))
    if outline:
        cv2.polylines(masked, [np.round(mask_outline(lm)).astype(np.int32)], True, (60, 50, 45), 3, cv2.LINE_AA)
    found = _segment_full(MaskSegmenter(), masked, lm)
    assert (found & truth).sum() >= 0.9 * truth.sum()
    # Without the nostrils cue the rule does not act: the mask is left on her face.
    plain = MaskSegmenter(SegmentOptions(presence=PresenceOptions(nostril_high=0.0)))
    assert not _segment_full(plain, masked, lm).any()
    # Her bare face and a palm over her bare mouth stay bare.
    assert not _segment_full(MaskSegmenter(), image, lm).any()
    hand, _ = _palm(image, lm, skin)
    assert not _segment_full(MaskSegmenter(), hand, lm).any()


def _with_neck(image: np.ndarray, lm: np.ndarray, masked: np.ndarray, truth: np.ndarray, colour) -> np.ndarray:
    """``masked`` with a neck of ``colour`` under the mask's bottom (its own pixels kept): skin that a colour model
    fitted on cloth of the skin's colour cannot tell from the cloth."""
    from unmask_video.synthetic import mask_outline

    oval = lm[list(landmark_sets.FACE_OVAL)]
    centre, width = float(oval[:, 0].mean()), float(np.ptp(oval[:, 0]))
    bottom = float(mask_outline(lm)[:, 1].max())
    out = masked.copy()
    top_left = (int(centre - 0.3 * width), int(bottom) - 5)
    cv2.rectangle(out, top_left, (int(centre + 0.3 * width), int(bottom + 0.5 * width)), colour, -1)
    out[truth] = masked[truth]
    return out


def test_a_mask_of_the_skins_colour_grows_under_the_jaw_only_on_its_k_means_map(big_face):
    # Her forehead's very colour (no outline: the neck touches the cloth), over a neck of the cloth's colour at its
    # hem: the growth past the k-means map onto the neck is what ``near_skin_gap`` stops.
    image, lm, skin = big_face
    masked, truth = _plain_mask(image, lm, skin)
    neck = _with_neck(image, lm, masked, truth, tuple(int(0.93 * v) for v in skin))
    limited = _segment_full(MaskSegmenter(), neck, lm)
    free = _segment_full(MaskSegmenter(SegmentOptions(near_skin_gap=0.0)), neck, lm)
    area = truth.sum()
    assert (limited & truth).sum() >= 0.98 * area and (free & truth).sum() >= 0.98 * area
    assert (limited & ~truth).sum() < 0.85 * (free & ~truth).sum()
    # A light blue mask is far from her skin: the rule does not act (the same pixels).
    blue, _ = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    blue_neck = _with_neck(image, lm, blue, truth, skin)
    assert np.array_equal(
        _segment_full(MaskSegmenter(), blue_neck, lm),
        _segment_full(MaskSegmenter(SegmentOptions(near_skin_gap=0.0)), blue_neck, lm),
    )


@pytest.mark.parametrize("shade", [1.0, 1.04], ids=["very-colour", "4-percent-lighter"])
def test_a_mask_of_the_skins_colour_is_cut_at_its_top_outline_not_at_the_eyes_shade(big_face, shade):
    # Her forehead's colour with a thin outline a fifth darker (as the pasted photo masks are drawn): the k-means
    # cluster is also her cheeks under the eyes. The rim cut keeps the outline (``near_skin_line``: a 3 x 3 median)
    # and what it takes there beside the nose does not come back for its colour (``near_skin_cut``): over the nose tip
    # line, the mask spills onto her cheeks under 0.65 of what it does with both off, and covers the cloth as much.
    # (The pale grey mask on her grey photo, whose top band beyond a pleat comes back over the nose, is
    # ``test_a_pale_mask_with_a_weak_top_edge_and_no_forehead_colour_is_found``.)
    from unmask_video.mask_region import over_nose
    from unmask_video.synthetic import mask_outline

    image, lm, skin = big_face
    masked, truth = _plain_mask(image, lm, tuple(min(shade * v, 255.0) for v in skin))
    outline = np.round(mask_outline(lm)).astype(np.int32)
    cv2.polylines(masked, [outline], True, tuple(0.8 * v for v in skin), 2, cv2.LINE_AA)
    over = over_nose(lm, image.shape[:2], 0.0) > 0
    area = truth.sum()
    kept = _segment_full(MaskSegmenter(), masked, lm)
    both_off = SegmentOptions(near_skin_cut=False, near_skin_line=0.0)
    free = _segment_full(MaskSegmenter(both_off), masked, lm)
    assert (kept & truth).sum() >= 0.98 * area and (free & truth).sum() >= 0.98 * area
    assert (kept & ~truth & over).sum() < 0.65 * (free & ~truth & over).sum()
    # A light blue mask is far from her skin: the rules do not act (the same pixels).
    blue, _ = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    assert np.array_equal(
        _segment_full(MaskSegmenter(), blue, lm),
        _segment_full(MaskSegmenter(both_off), blue, lm),
    )
