"""unmask-video: remove a surgical face mask from people in video, using one reference still."""

__version__ = "0.1.0"
