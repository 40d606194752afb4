"""benchmarks.steady_speed's replay of recorded calls: every module's averaging runs the calls in order, alike."""

from __future__ import annotations

from pathlib import Path

from benchmarks.steady_speed import _replay_real, _track
from unmask_video import steady_face


def test_the_replay_of_recorded_calls_times_each_module_and_compares_their_outputs() -> None:
    calls = [(1, k, roi, rebuilt, region) for k, (roi, rebuilt, region) in enumerate(_track(160, frames=4))]
    given = [rebuilt.copy() for _, _, _, rebuilt, _ in calls]
    (a, b), levels = _replay_real([steady_face, steady_face], calls, rounds=2)
    assert a > 0 and b > 0
    assert levels == 0  # (the same module: the same outputs)
    assert all((rebuilt == g).all() for (_, _, _, rebuilt, _), g in zip(calls, given))  # (each call got its own copy)


def test_the_clips_option_names_each_video_and_its_reference() -> None:
    import pytest

    from benchmarks.steady_speed import _clip_list

    assert _clip_list("a=/v/a.mp4:/r/a.png,b=b.mp4:b.jpg") == [
        ("a", Path("/v/a.mp4"), Path("/r/a.png")), ("b", Path("b.mp4"), Path("b.jpg"))
    ]
    assert _clip_list("") == []
    with pytest.raises(SystemExit):
        _clip_list("a=/v/a.mp4")  # (no reference)
