"""Former home of the video reader and writer, now :mod:`unmask_video.io`; re-exported for existing imports."""

from unmask_video.io import *  # noqa: F401,F403
from unmask_video.io import __all__  # noqa: F401
