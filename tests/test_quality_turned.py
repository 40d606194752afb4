"""The quality benchmark's --turned case: the head pose it picks the reference by."""

from __future__ import annotations

import numpy as np

from benchmarks.quality import head_pose
from tests.test_warp import _yawed, astronaut, detect


def test_head_pose_tells_a_turned_face_from_a_frontal_one_and_its_mirror() -> None:
    image, lm = astronaut()
    pose = head_pose(lm)
    mirrored = head_pose(detect(np.ascontiguousarray(image[:, ::-1])))
    turned = head_pose(detect(_yawed(image)))
    # Mirrored: the same pitch, the yaw's sign flipped (the face turned the other way by as much).
    assert abs(mirrored[1] - pose[1]) < 0.02 and abs(mirrored[0] + pose[0]) < 0.02, (pose, mirrored)
    # A perspective turn moves the yaw, not (much) the pitch.
    assert abs(turned[0] - pose[0]) > 0.02 and abs(turned[1] - pose[1]) < abs(turned[0] - pose[0]), (pose, turned)
