"""The `unmask-video` command end to end on self-made clips, and every kind of bad input."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data

from tests.helpers import audio_packets, decode_frames, write_audio_only
from unmask_video import __version__
from unmask_video.cli import main
from unmask_video.metrics import psnr_in_mask


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, expected_code: int, output: Path) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected_code, err
    assert len(lines) == 1 and lines[0].startswith("unmask-video: error:"), err
    assert "Traceback" not in err
    assert not output.exists()
    leftovers = [p for p in output.parent.iterdir() if p.name.startswith(".") and output.stem in p.name]
    assert not leftovers, leftovers


@pytest.fixture(scope="module")
def processed(synthetic_clip, tmp_path_factory):
    """One run of the command on the default synthetic clip (with audio), encoded losslessly."""
    output = tmp_path_factory.mktemp("cli") / "out.mp4"
    code = main([str(synthetic_clip.video_path), "--ref", str(synthetic_clip.reference_path), "-o", str(output),
                 "--generator", "none", "-q", "--crf", "0"])
    assert code == 0
    return output


def test_frame_count_and_timestamps_survive(synthetic_clip, processed):
    _, pts_in = decode_frames(synthetic_clip.video_path)
    _, pts_out = decode_frames(processed)
    assert len(pts_out) == len(pts_in) == len(synthetic_clip.truth)
    with av.open(str(synthetic_clip.video_path)) as a, av.open(str(processed)) as b:
        tb_in, tb_out = a.streams.video[0].time_base, b.streams.video[0].time_base
    assert [p * tb_out for p in pts_out] == [p * tb_in for p in pts_in]


def test_audio_packets_are_copied_identically(synthetic_clip, processed):
    original = audio_packets(synthetic_clip.video_path)
    copied = audio_packets(processed)
    assert original, "the test clip has no audio"
    assert [payload for payload, _ in copied] == [payload for payload, _ in original]


def test_output_says_it_was_processed(processed):
    with av.open(str(processed)) as container:
        tags = " ".join(f"{k}={v}" for k, v in container.metadata.items())
    assert "unmask-video" in tags and __version__ in tags


def test_output_is_closer_to_the_truth_inside_the_mask(synthetic_clip, processed):
    masked, _ = decode_frames(synthetic_clip.video_path)
    out, _ = decode_frames(processed)
    before = np.mean([psnr_in_mask(m, t, k) for m, t, k in zip(masked, synthetic_clip.truth, synthetic_clip.masks)])
    after = np.mean([psnr_in_mask(o, t, k) for o, t, k in zip(out, synthetic_clip.truth, synthetic_clip.masks)])
    assert after > before + 3.0, (before, after)


def test_output_far_from_the_face_matches_the_input(synthetic_clip, processed):
    masked, _ = decode_frames(synthetic_clip.video_path)
    out, _ = decode_frames(processed)
    for m, o, k in zip(masked, out, synthetic_clip.masks):
        far = cv2.dilate((k > 0).astype(np.uint8), np.ones((61, 61), np.uint8)) == 0
        # re-encoded losslessly (crf 0) but through RGB -> yuv420p again, so equal up to colour-conversion rounding
        # (the pipeline itself is exact: see test_pipeline)
        assert np.abs(m[far].astype(int) - o[far].astype(int)).mean() < 0.3


def test_debug_dir_gets_overlays(synthetic_clip, tmp_path, capsys):
    debug = tmp_path / "debug"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", synthetic_clip.reference_path,
                       "-o", tmp_path / "o.mp4", "--generator", "none", "-q", "--debug-dir", debug)
    assert code == 0, err
    pngs = sorted(debug.glob("*.png"))
    assert 1 <= len(pngs) <= 8
    assert cv2.imread(str(pngs[0])) is not None
    # One face in the clip: each frame's overlay is its face 00 (the file name counts faces within a frame).
    assert all(p.name.endswith("_face00.png") for p in pngs), [p.name for p in pngs]


def test_existing_output_is_not_overwritten_without_the_flag(synthetic_clip, tmp_path, capsys):
    output = tmp_path / "exists.mp4"
    output.write_bytes(b"precious")
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", synthetic_clip.reference_path, "-o", output, "-q")
    assert code == 2 and "--overwrite" in err
    assert output.read_bytes() == b"precious"


# ---------------------------------------------------------------------------------------------- bad input


@pytest.fixture
def reference(synthetic_clip):
    return synthetic_clip.reference_path


def test_missing_input(tmp_path, reference, capsys):
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, tmp_path / "nope.mp4", "--ref", reference, "-o", output)
    assert_one_line_error(code, err, 2, output)


def test_unreadable_input_a_folder(tmp_path, reference, capsys):
    folder = tmp_path / "clip.mp4"
    folder.mkdir()
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, folder, "--ref", reference, "-o", output)
    assert_one_line_error(code, err, 2, output)


def test_input_that_is_not_a_video(tmp_path, reference, capsys):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 100)
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, fake, "--ref", reference, "-o", output)
    assert_one_line_error(code, err, 2, output)


def test_input_with_no_video_stream(tmp_path, reference, capsys):
    audio = tmp_path / "tone.m4a"
    write_audio_only(audio)
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, audio, "--ref", reference, "-o", output)
    assert_one_line_error(code, err, 2, output)
    assert "video stream" in err


def test_truncated_input_keeps_what_decodes_and_says_what_was_lost(synthetic_clip, tmp_path, reference, capsys):
    data_ = synthetic_clip.video_path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data_[: len(data_) * 6 // 10])
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, cut, "--ref", reference, "-o", output, "--generator", "none", "-q")
    frames, _ = decode_frames(output) if output.exists() else ([], [])
    if code == 2:  # nothing decodable at all (e.g. the index at the end of the file was lost): clean refusal
        assert_one_line_error(code, err, 2, output)
    else:
        assert code == 1, err
        assert "damaged" in err and "lost" in err
        assert 0 < len(frames) < len(synthetic_clip.truth)


def test_missing_reference(synthetic_clip, tmp_path, capsys):
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", tmp_path / "nobody.jpg", "-o", output)
    assert_one_line_error(code, err, 2, output)


def test_reference_that_is_not_an_image(synthetic_clip, tmp_path, capsys):
    fake = tmp_path / "face.jpg"
    fake.write_text("not an image")
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", fake, "-o", output)
    assert_one_line_error(code, err, 2, output)


def test_reference_without_a_face(synthetic_clip, tmp_path, capsys):
    ref = tmp_path / "coffee.png"
    cv2.imwrite(str(ref), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", ref, "-o", output)
    assert_one_line_error(code, err, 2, output)
    assert "face" in err


def test_reference_with_several_faces(synthetic_clip, tmp_path, capsys):
    face = data.astronaut()[40:300, 100:360]
    ref = tmp_path / "two.png"
    cv2.imwrite(str(ref), cv2.cvtColor(np.concatenate([face, face], axis=1), cv2.COLOR_RGB2BGR))
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", ref, "-o", output)
    assert_one_line_error(code, err, 2, output)


def test_output_equal_to_input(synthetic_clip, tmp_path, reference, capsys):
    copy = tmp_path / "in.mp4"
    copy.write_bytes(synthetic_clip.video_path.read_bytes())
    before = copy.read_bytes()
    code, _, err = run(capsys, copy, "--ref", reference, "-o", tmp_path / "." / "in.mp4")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert copy.read_bytes() == before


def test_output_folder_missing(synthetic_clip, tmp_path, reference, capsys):
    output = tmp_path / "missing" / "out.mp4"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", reference, "-o", output)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert not output.parent.exists()


def test_output_folder_not_writable(synthetic_clip, tmp_path, reference, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    output = blocker / "out.mp4"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", reference, "-o", output)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unknown_codec(synthetic_clip, tmp_path, reference, capsys):
    output = tmp_path / "out.mp4"
    code, _, err = run(capsys, synthetic_clip.video_path, "--ref", reference, "-o", output, "--codec", "nosuchcodec")
    assert_one_line_error(code, err, 2, output)
    assert "nosuchcodec" in err


def test_bad_usage_is_one_line_with_exit_2(capsys):
    code, _, err = run(capsys, "--crf", "notanumber")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_ctrl_c_leaves_no_file(synthetic_clip_factory, tmp_path):
    from unmask_video.synthetic import ClipSpec

    clip = synthetic_clip_factory(ClipSpec(frames=150, audio_hz=None))
    output = tmp_path / "out.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "unmask_video.cli", str(clip.video_path), "--ref", str(clip.reference_path),
         "-o", str(output), "--generator", "none", "-q"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        # Interrupt mid-run: a second after the temporary output appears (the reference is read, the encoder open,
        # frames on their way). Its size is no sign of progress: the muxer holds the frames in its buffer until
        # the end of this short clip, so waiting for it to grow interrupted within the run's last half second.
        while time.monotonic() < deadline and not any(p.name.startswith(".") for p in tmp_path.iterdir()):
            time.sleep(0.05)
        time.sleep(1.0)
        assert process.poll() is None, "finished before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------- subcommands


def test_run_is_the_default_subcommand():
    from unmask_video.cli import parse_args
    from unmask_video.commands import run as run_command

    argv = ["in.mp4", "--ref", "face.jpg", "-o", "out.mp4", "--crf", "20", "-q"]
    implied, explicit = parse_args(argv), parse_args(["run", *argv])
    assert vars(implied) == vars(explicit)
    assert implied.command == "run" and implied.run is run_command.run and implied.crf == 20
    assert parse_args(["-q", "in.mp4"]).command == "run"  # a flag first: still run


@pytest.mark.parametrize(
    "argv, command, flag",
    [
        (["in.mp4", "--ref", "f.jpg", "-o", "o.mp4", "--record", "r.mp4"], "run", "--record"),
        (["run", "in.mp4", "--virtual-cam"], "run", "--virtual-cam"),
        (["live", "--ref", "f.jpg", "--crf", "20"], "live", "--crf"),
        (["live", "--ref", "f.jpg", "--batch", "2"], "live", "--batch"),
        (["demo", "--ref", "f.jpg"], "demo", "--ref"),
        (["build-engine", "w.safetensors", "-o", "g.engine", "--generator", "none"], "build-engine", "--generator"),
    ],
)
def test_a_flag_of_another_subcommand_is_a_usage_error(capsys, argv, command, flag):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert f"'unmask-video {command}' does not take {flag}" in err and f"unmask-video {command} --help" in err


@pytest.mark.parametrize("flag", ["--webcam", "--list-cameras"])
def test_live_flags_in_file_mode_point_to_live(capsys, flag):
    code, _, err = run(capsys, flag, "--ref", "face.jpg")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "unmask-video live" in err, err


def test_each_subcommand_has_a_short_grouped_help_with_only_its_own_flags(capsys):
    flags = {  # command: (flags its help shows, flags of other subcommands it must not have)
        "run": (["--overwrite", "--crf", "--batch"], ["--record", "--virtual-cam", "--list-cameras", "--out-dir",
                                                      "--precision"]),
        "live": (["--record", "--virtual-cam", "--list-cameras"], ["--crf", "--batch", "--out-dir", "--precision"]),
        "demo": (["--out-dir", "--frames", "--batch"], ["--ref", "--crf", "--overwrite", "--record", "--precision"]),
        "build-engine": (["--precision", "--timing-cache"], ["--generator", "--ref", "--crf", "--record"]),
    }
    for command, (present, absent) in flags.items():
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        out = capsys.readouterr().out
        assert exit_.value.code == 0 and out.startswith(f"usage: unmask-video {'[run]' if command == 'run' else command}")
        assert len(out.splitlines()) < 80, out
        groups = [line for line in out.splitlines() if line.endswith(":") and not line.startswith(" ")]
        assert len(groups) >= 3, groups
        assert [f for f in present if f" {f}" not in out] == [] and [f for f in absent if f" {f}" in out] == []
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in flags)


def test_live_needs_a_reference_and_lists_cameras_without_one(capsys):
    code, _, err = run(capsys, "live", "--no-window")
    assert code == 2 and "--ref" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, "live", "--list-cameras")
    assert code == 0 and out.strip(), err
