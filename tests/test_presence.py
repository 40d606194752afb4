"""The mask presence decision: its score, its hysteresis, and the pipeline leaving bare faces untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import decode_frames
from unmask_video.mask_presence import Presence, PresenceOptions, presence_score
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.synthetic import ClipSpec, MaskStyle


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
