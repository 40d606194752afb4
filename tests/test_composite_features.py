"""The eyes and brows are not skin: the composite does not paste the reference's there."""

from __future__ import annotations

import numpy as np

from tests.test_composite import masked_face
from unmask_video import landmark_sets
from unmask_video.face_units import face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reference_matte import features


def test_the_eyes_and_brows_are_taken_out_of_where_the_reference_is_used() -> None:
    face, _ = masked_face()
    kept = ReferenceComposite()._off_features(face.valid, face.landmarks)
    eyes = features(face.valid.shape, face.landmarks, landmark_sets.EYES_AND_BROWS, 0.0) > 0
    assert (face.valid & eyes).any() and not (kept & eyes).any()
    margin = CompositeOptions().eye_margin * face_size_px(face.landmarks)
    far = features(face.valid.shape, face.landmarks, landmark_sets.EYES_AND_BROWS, margin + 2) == 0
    assert np.array_equal(kept[far], face.valid[far])
    off = ReferenceComposite(CompositeOptions(eye_margin=0.0))._off_features(face.valid, face.landmarks)
    assert np.array_equal(off, face.valid)

