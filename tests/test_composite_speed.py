"""benchmarks/composite_speed.py's --clips: every face of each named file's run, in order, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

import benchmarks.composite_speed as composite_speed


def test_each_clip_is_recorded_whole_under_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def record(clip: object, out: Path) -> list[str]:
        seen.append(clip)
        return [f"{clip.video.name}:{k}" for k in range(3)]  # type: ignore[attr-defined]

    monkeypatch.setattr(composite_speed, "_record", record)
    scenes = composite_speed._record_clips("kf94=/v/kf94.mp4:/r/ref54.png,man=/v/man.mp4:/r/refM.jpg")
    assert list(scenes) == ["kf94", "man"]
    assert scenes["man"] == ["man.mp4:0", "man.mp4:1", "man.mp4:2"]  # (every face, in order: not spread)
    assert [(c.video, c.reference) for c in seen] == [  # type: ignore[attr-defined]
        (Path("/v/kf94.mp4"), Path("/r/ref54.png")), (Path("/v/man.mp4"), Path("/r/refM.jpg"))]
    with pytest.raises(SystemExit):
        composite_speed._record_clips("kf94=/v/kf94.mp4")
