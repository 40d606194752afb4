"""The user's cache folder for files the tool derives and reuses (ONNX exports of the generator weights).

Where: ``$XDG_CACHE_HOME/unmask-video`` if set, else the platform's user cache folder (``~/.cache`` on Linux,
``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows). Never inside the installed package, so other users
of a shared install and read-only installs work. Files are made readable by others (per the umask), like any file
the user creates. Where no cache folder can be written (no home, a read-only home) a temporary folder is used for
this run only and removed at exit: everything still works, it is just not reused.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

APP = "unmask-video"
_session_dirs: dict[str, Path] = {}


def user_cache_root() -> Path | None:
    """The user's cache folder for this tool (not created), or None when there is no home to put it in."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / APP
    try:
        home = Path.home()
    except (RuntimeError, KeyError):
        return None
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / APP
    if sys.platform in ("win32", "cygwin"):
        local = os.environ.get("LOCALAPPDATA")
        return (Path(local) if local else home / "AppData" / "Local") / APP / "Cache"
    return home / ".cache" / APP


def cache_dir(kind: str) -> Path:
    """A writable folder for cached ``kind`` files: the user's cache, or (none writable) one for this run only."""
    root = user_cache_root()
    if root is not None:
        folder = root / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK | os.X_OK):
                return folder
        except OSError:
            pass
    if kind not in _session_dirs:
        _session_dirs[kind] = Path(tempfile.mkdtemp(prefix=f"{APP}-{kind}-"))
        atexit.register(shutil.rmtree, _session_dirs[kind], True)
        log.info(
            "no writable cache folder (%s; set XDG_CACHE_HOME to choose one): %s files are kept for this run only",
            root or "no home folder", kind,
        )  # fmt: skip
    return _session_dirs[kind]


def make_readable(path: Path) -> None:
    """Give a cached file the permissions of a file the user creates (temporary files are owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(path, 0o666 & ~umask)
    except OSError as exc:
        log.debug("could not change the permissions of %s: %s", path, exc)
