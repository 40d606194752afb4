"""The user's cache folder (unmask_video.cache) and the ONNX export cache that uses it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from unmask_video import cache


def test_cache_dir_is_the_xdg_cache_and_files_are_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = cache.cache_dir("onnx")
    assert folder == tmp_path / "xdg" / "unmask-video" / "onnx" and folder.is_dir()
    path = folder / "x.onnx"
    path.write_bytes(b"x")
    os.chmod(path, 0o600)  # what tempfile.mkstemp gives
    old = os.umask(0o022)
    try:
        cache.make_readable(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_without_any_writable_cache_a_folder_for_this_run_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")  # no cache can be made under it, even by root
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(cache, "_session_dirs", {})
    folder = cache.cache_dir("onnx")
    assert not folder.is_relative_to(home) and folder.is_dir() and os.access(folder, os.W_OK)
    assert cache.cache_dir("onnx") == folder  # one per run
