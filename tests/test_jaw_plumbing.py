"""The reference's jaw (unmask_video/jaw_outline.py) carried from the warper to the composite's fill."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from tests.test_outside_fill import _bluish, _narrow_reference_on_a_wall, _sides
from unmask_video.face_shape import yaw
from unmask_video.jaw_outline import jaw_profile
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.synthetic import astronaut_landmarks
from unmask_video.warp import ReferenceWarper, WarpOptions


def test_the_warper_gives_its_references_jaw() -> None:
    image, lm = astronaut_landmarks()
    jaw = ReferenceWarper(image, lm, WarpOptions()).reference_jaw
    own = jaw_profile(lm)
    assert jaw is not None and own is not None
    assert np.allclose(jaw.widths, own.widths) and np.isclose(jaw.chin, own.chin)


def test_the_composite_stops_a_turned_cheek_at_the_references_jaw() -> None:
    # Through the composite (FaceROI.reference_jaw): a turned reference widens the image-right cheek to the mask's
    # side edge; with a jaw as narrow as the face's own outline, past it the wall beside the mask fills; with one as
    # wide as the mask's reach, the output is the same as with the jaw not known.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=40)
    _, right, _ = _sides(face, hole, oval)
    right &= cv2.distanceTransform((~oval).astype(np.uint8), cv2.DIST_L2, 5) > 12  # (past the skin's fade)
    assert right.sum() > 100
    turned = replace(face, reference_yaw=yaw(face.landmarks) + 0.15)
    own = jaw_profile(face.landmarks)
    assert own is not None
    plain = ReferenceComposite(CompositeOptions()).reconstruct([turned])[0]
    assert _bluish(plain[right]).mean() < 0.01
    wider = replace(own, widths=own.widths * 1.6)
    wide = ReferenceComposite(CompositeOptions()).reconstruct([replace(turned, reference_jaw=wider)])[0]
    assert np.array_equal(wide, plain)
    narrow = ReferenceComposite(CompositeOptions()).reconstruct([replace(turned, reference_jaw=own)])[0]
    assert _bluish(narrow[right]).mean() > 0.3, _bluish(narrow[right]).mean()
