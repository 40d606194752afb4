"""Where engines and the timing cache live, and the list of engines this user built.

``--backend auto`` only loads an engine the user pointed at (``--engine PATH``) or one that
``unmask-video build-engine`` built and recorded here: the tool never picks up an engine file it finds
lying around. The list is a small JSON file in the user's cache folder mapping a weights hash to engine
paths; each entry is still checked against its sidecar before it is loaded.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from unmask_video.reconstruct.backends.engine_sidecar import atomic_write

log = logging.getLogger(__name__)

CACHE_ENV = "UNMASK_VIDEO_CACHE"


def cache_dir() -> Path:
    """``$UNMASK_VIDEO_CACHE``, else ``$XDG_CACHE_HOME/unmask-video``, else ``~/.cache/unmask-video``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "unmask-video"


def default_timing_cache() -> Path:
    return cache_dir() / "tensorrt" / "timing.cache"


def _index_path() -> Path:
    return cache_dir() / "engines.json"


def _load() -> dict[str, list[str]]:
    path = _index_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        return {str(k): [str(p) for p in v] for k, v in data.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("ignoring unreadable engine list %s (%s)", path, exc)
        return {}


def record_engine(weights_sha256: str, engine_path: Path | str) -> None:
    """Remember that the user built ``engine_path`` for these weights (newest first)."""
    data = _load()
    path = str(Path(engine_path).resolve())
    entries = [p for p in data.get(weights_sha256, []) if p != path]
    data[weights_sha256] = [path, *entries]
    atomic_write(_index_path(), json.dumps(data, indent=2, sort_keys=True).encode())


def engines_for(weights_sha256: str) -> list[Path]:
    """Engines recorded for these weights that still exist, newest first."""
    return [Path(p) for p in _load().get(weights_sha256, []) if Path(p).is_file()]
