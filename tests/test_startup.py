"""A file run's set-up: what a fresh process imports before its first frame, and what runs beside it."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest

from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor


def _fresh(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (nothing imported by this test session)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_the_segmenter_does_not_import_scikit_learn() -> None:
    """scikit-learn (about 1.1 s of one core to import) is not used by a run: the runner and the pipeline load without
    it, and the segmenter's k-means fits (NumPy's, :mod:`unmask_video.kmeans_fit`) do not import it either."""
    code = (
        "import sys\nimport unmask_video.runner\n"
        "from unmask_video.segment import MaskSegmenter\nfrom unmask_video.synthetic import astronaut_landmarks\n"
        "image, lm = astronaut_landmarks()\nMaskSegmenter().segment(image.copy(), lm)\n"
        "print('sklearn' in sys.modules)\n"
    )
    assert _fresh(code) == "False"


def test_the_covered_check_warns_and_is_waited_for(synthetic_clip, caplog: pytest.LogCaptureFixture) -> None:
    """The reference's covered check runs on a thread of its own: its warning is given by the time the pipeline is
    checked (a masked reference), none for a bare one; no set-up thread is left running after close."""
    reconstructor = build_reconstructor(ReconstructorOptions(generator="none"))
    for reference, warned in ((synthetic_clip.masked[0], True), (synthetic_clip.reference, False)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="unmask_video.pipeline"):
            pipeline = FramePipeline(np.ascontiguousarray(reference), reconstructor, PipelineOptions())
            try:
                pipeline.check_reference()
            finally:
                pipeline.close()
        covered = [r for r in caplog.records if "may be covered" in r.getMessage()]
        assert bool(covered) is warned
        assert pipeline._check.done() and pipeline._warper.done()
