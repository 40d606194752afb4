"""A light mask's blurred rim left past its outline, a pale line between the rebuilt cheek and a finger beside it,
is filled after the blend; a thin light thing of the frame's own beside the mask and the mask's top edge are left
(:mod:`unmask_video.pale_rim`)."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from unmask_video.pale_rim import PaleRimOptions, box_pixels, fill_pale_rim, pale_rim
from unmask_video.stages import Box

CLOTH = (236, 236, 240)  # RGB: a white mask
RIM = (222, 196, 200)  # RGB: the cloth's blurred edge mixed with the finger beside it
SKIN = (206, 150, 140)  # RGB: a finger
REBUILT = (186, 134, 124)  # RGB: the rebuilt face, darker than the cloth, of the skin round it (a little darker)
HAIR = (40, 30, 30)
FACE = (190, 140, 130)  # RGB: the face's skin round the mask, plain: its only light line is the one drawn
WIDTH = 14.0  # the blend width (px): the rim is looked for up to 0.35 of it (4.9 px) past the mask


def _scene(rim_at: str = "side") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frame (the astronaut, plain skin and hair round a white mask, a finger along the mask's right side with a 3 px rim of mixed cloth
    between; ``rim_at="top"``: the rim and the finger along its top edge instead), the segmented mask (the cloth
    without the rim, soft-edged) and the rim's pixels."""
    frame = cv2.resize(data.astronaut(), (320, 320), interpolation=cv2.INTER_AREA)
    frame[60:300, 40:200] = FACE
    frame[60:300, 200:320] = HAIR
    mask = np.zeros((320, 320), np.float32)
    mask[120:260, 80:200] = 1.0
    frame[mask > 0] = CLOTH
    rim = np.zeros((320, 320), bool)
    if rim_at == "side":
        rim[130:250, 200:203] = True
        frame[130:250, 203:230] = SKIN
    else:
        rim[117:120, 90:190] = True
        frame[90:117, 90:190] = SKIN
    frame[rim] = RIM
    return frame, mask, rim


def _rebuilt(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The blend as the composite leaves it past the face's outline: the mask rebuilt, the frame kept outside it."""
    out = frame.copy()
    out[mask >= 0.5] = REBUILT
    return out


def test_the_pale_rim_beside_a_finger_is_filled_and_nothing_else_changes() -> None:
    frame, mask, rim = _scene()
    after = _rebuilt(frame, mask)
    found = pale_rim(frame, after, mask, WIDTH, PaleRimOptions())
    assert found is not None
    # (the rim's pixels, all of them but its ends' corners; none elsewhere)
    assert found[rim].mean() > 0.9
    assert not found[~rim].any()
    out = after.copy()
    box = Box(0, 0, 320, 320)
    filled = fill_pale_rim(out, box_pixels(frame, box), box, mask, WIDTH, PaleRimOptions())
    assert filled == int(found.sum())
    assert np.array_equal(out[found == 0], after[found == 0])
    # the line is gone: each rim pixel now lies between the rebuilt face and the finger beside it, not lighter than both
    lab = cv2.cvtColor(out, cv2.COLOR_RGB2Lab)[..., 0].astype(int)
    before = cv2.cvtColor(after, cv2.COLOR_RGB2Lab)[..., 0].astype(int)
    side = max(int(cv2.cvtColor(np.uint8([[REBUILT, SKIN]]), cv2.COLOR_RGB2Lab)[0, :, 0].max()), 0)
    assert before[150:230, 200:203].min() > side + 10
    assert lab[150:230, 200:203].max() <= side + 2


def test_off_leaves_the_blend_as_it_is() -> None:
    frame, mask, _ = _scene()
    after = _rebuilt(frame, mask)
    out = after.copy()
    box = Box(0, 0, 320, 320)
    assert pale_rim(frame, after, mask, WIDTH, PaleRimOptions(depth=0.0)) is None
    assert fill_pale_rim(out, box_pixels(frame, box), box, mask, WIDTH, PaleRimOptions(depth=0.0)) == 0
    assert np.array_equal(out, after)


def test_a_thin_light_line_of_the_frames_own_beside_the_mask_is_left() -> None:
    # an earring's or a strand's highlight, 1 px of dark hair from the mask's side: lighter than its sides in the
    # frame already (not the rebuild's doing)
    frame, mask, _ = _scene()
    frame[130:250, 200:232] = HAIR
    frame[130:250, 201:203] = (228, 228, 228)
    after = _rebuilt(frame, mask)
    assert pale_rim(frame, after, mask, WIDTH, PaleRimOptions()) is None


def test_the_masks_top_edge_is_left() -> None:
    # above the mask's top edge lie the lower lids and the nose's ridge: the face's own light lines
    frame, mask, rim = _scene("top")
    after = _rebuilt(frame, mask)
    found = pale_rim(frame, after, mask, WIDTH, PaleRimOptions())
    assert found is None or not found[rim].any()


def test_a_box_partly_outside_the_frame() -> None:
    frame, mask, rim = _scene()
    after = _rebuilt(frame, mask)
    out = after[:, :260].copy()  # (the frame ends 60 px into the box)
    box = Box(0, 0, 320, 320)
    filled = fill_pale_rim(out, box_pixels(frame[:, :260], box), box, mask, WIDTH, PaleRimOptions())
    assert filled > 0
    assert np.array_equal(out[:, :190], after[:, :190])
