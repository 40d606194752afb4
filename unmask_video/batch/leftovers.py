"""Temporary files that a killed worker leaves beside an output, removed before its video is run again.

:func:`unmask_video.io.paths.temp_path_for` names the temporary file of ``OUTPUT`` ``.<name>.<pid>-<8 hex>.partial<suffix>`` in the output's
folder and renames it on success; a process killed before the rename cannot remove it itself.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)


def partial_files(output: Path) -> list[Path]:
    pattern = re.compile(rf"^\.{re.escape(output.name)}\.(?:[0-9]+-)?[0-9a-f]{{8}}\.partial{re.escape(output.suffix)}$")
    try:
        return sorted(p for p in output.parent.iterdir() if pattern.match(p.name))
    except OSError:
        return []


def remove_partials(output: Path) -> int:
    """Remove the unfinished temporary files of ``output``; return how many there were."""
    removed = 0
    for path in partial_files(output):
        try:
            path.unlink()
            removed += 1
            log.info("removed %s, left by a worker that stopped", path)
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc)
    return removed
