"""Is a mask worn at all? A per-face score each frame and a decision with hysteresis over time.

The score combines two cues, each in [0, 1]:

- colour: how far the segmented mask's colour is from the forehead's skin (a bare face's "mask cluster" is
  skin, lips or beard, close to the forehead colour; a worn mask is cloth of another colour);
- cover: how much of the lower face under the nose (the landmark polygon between the cheeks, the nose and the
  chin) the segmented mask covers (a worn mask, even worn below the nose, covers nearly all of it; on a bare
  face the "mask" cluster is lips, shadow or beard and covers a part).

score = colour x cover. The decision follows a running average of the score: it turns on above ``on`` and off
below ``off``, so one odd frame neither starts nor stops the rebuild. No mask: the face passes through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PresenceOptions", "Presence", "presence_score"]


@dataclass
class PresenceOptions:
    """Options of the mask presence decision."""

    enabled: bool = True
    colour_near: float = 4.0  # colour distance to the skin (segmenter feature units) scoring 0 ...
    colour_far: float = 14.0  # ... and scoring 1
    cover_low: float = 0.75  # share of the lower face under the nose covered scoring 0 ...
    cover_high: float = 0.95  # ... and scoring 1
    on: float = 0.5  # the average score above which a mask is taken as worn ...
    off: float = 0.3  # ... and below which it is taken off
    smoothing: float = 0.5  # weight of the past in the running average, in [0, 1)


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(max((x - lo) / max(hi - lo, 1e-6), 0.0), 1.0))


def presence_score(skin_distance: float | None, cover: float, options: PresenceOptions) -> float:
    """The score in [0, 1]; ``skin_distance`` None (no forehead visible) leaves the cover alone to decide."""
    colour = 1.0 if skin_distance is None else _ramp(skin_distance, options.colour_near, options.colour_far)
    return colour * _ramp(cover, options.cover_low, options.cover_high)


class Presence:
    """The decision of one face over time."""

    def __init__(self, options: PresenceOptions) -> None:
        self.options = options
        self.average: float | None = None
        self.worn = False

    def update(self, score: float) -> bool:
        opt = self.options
        if self.average is None:
            self.average = score
            self.worn = score >= 0.5 * (opt.on + opt.off)
            return self.worn
        self.average = opt.smoothing * self.average + (1.0 - opt.smoothing) * score
        if self.worn and self.average < opt.off:
            self.worn = False
        elif not self.worn and self.average > opt.on:
            self.worn = True
        return self.worn
