"""The engine builder's choices (precisions and builders), apart from :mod:`.build`: the command line lists them in
its parser without importing the builder and what it pulls in (the generator, scipy), which every start of
``unmask-video``, ``--help`` included, would pay."""

from __future__ import annotations

PRECISIONS = ("fp16", "fp32")
BUILDERS = ("tensorrt", "torch-tensorrt")
