"""The reference composite as the pipeline calls it, replayed: today's against a git revision's, part by part.

    python -m benchmarks.composite_replay [--data ../shared/data/videos] [--sizes 720p] [--quality lp_s32]
                                          [--faces 40] [--rounds 5] [--baseline-rev REV] [--astronaut 300,500]

Runs the real command path once on each clip and records every face the reference composite is given (the ROI,
its mask, landmarks, warped reference and validity): the real masked clip ``masked/woman_puts_on_kf94_720p.mp4``
with its frame 54 (no mask yet) as the reference, where ``--data`` holds it, and the speed benchmark's self-made
clips (``--sizes``: face 40 % of the width); the quality benchmark's talking-head clips named by ``--quality`` (its
drawn mask as the true mask, its frame 0 as the reference, as ``benchmarks.quality`` runs them: ``lp_s32`` is the
clip of 720 lines whose faces give its "ms per face at 720p"); plus the astronaut scenes of
``benchmarks.warp_speed`` (``--astronaut``: ROI sizes, always there). Each face is replayed twice: with its warped
reference as recorded and relit (``benchmarks.quality.relight``: another white balance, exposure, gamma and side
light; on the quality clips the reference still is relit as ``--relit`` does it, elsewhere the warped reference),
the case where the composite's light field has most to do. ``--faces`` of the faces, evenly spread, go in order
through a fresh composite of today's ``unmask_video/reconstruct/composite.py`` and of the module as it was at
``--baseline-rev`` (read with ``git show``, with that revision's ``blend`` and ``reconstruct/fill_seam`` where it has
them; its other sibling modules today's), taking turns face by face, ``--rounds`` times.

Prints process CPU ms per face (one OpenCV thread; the mean over the faces, the median over the rounds) and page faults
per face (minor faults: new memory touched; on this project's machine each costs about 3.5 us of CPU, and how many a run
gets depends on the allocator's state, so that they make CPU ms differ between runs) for the whole composite and its
parts -- the colour match (``match_color``), within it the light field (``light="skin"``: ``match_skin_light``), the
fill beside the face (``surround``, ``nearest_colour``) and the rest (bands, Telea inpainting, pastes) -- each timed in
the modules of its revision that call it (:data:`PARTS`: today's split modules, or the one composite.py of a revision
before the split, where they had other names), the median of the rounds' ratios, and the largest difference between the
two outputs and the PSNR of today's output against the revision's on the face where it is lowest (over the pixels either
changed); then today's composite with ``light="ring"`` against its default (``light="skin"``) on the relit faces,
alternating the same way. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, Sequence

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import unmask_video.reconstruct.composite as composite_module  # noqa: E402
import benchmarks.quality as quality  # noqa: E402
from benchmarks.speed import SIZES, Clip  # noqa: E402
from benchmarks.warp_replay import replay_clips  # noqa: E402
from benchmarks.warp_speed import _composite_at, _scene  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions  # noqa: E402
from unmask_video.runner import RunOptions, run_file  # noqa: E402
from unmask_video.stages import FaceROI  # noqa: E402
from unmask_video.timing import StageTimer  # noqa: E402
from unmask_video.warp import ReferenceWarper, WarpOptions  # noqa: E402

#: The composite before issue 11/14's speed round on the skin light.
BASELINE_REV = "44e81d0"


@dataclass(frozen=True)
class Part:
    """A part of the composite timed: some functions' calls, inclusive of what they call, from the modules that call
    them (at today's tree and at a revision before the composite was split alike)."""

    #: The table's label.
    label: str
    #: The part's key in the figures.
    key: str
    #: Per function, the names it has had, today's first: each module's calls through the first of them it has are
    #: timed.
    functions: tuple[tuple[str, ...], ...]
    #: The modules they are called from, by file stem (``composite``: the composite module itself; another: that module
    #: of the composite's revision, where the revision has it).
    callers: tuple[str, ...]


#: The skin light's function (``_skin_light`` in composite.py before the split), the fill beside the face's two (its
#: smooth field and, by default, the nearest ring pixels' colours; ``_surround`` and ``_nearest`` before the split).
SKIN_LIGHT = (("match_skin_light", "_skin_light"),)
FILL = (("surround", "_surround"), ("nearest_colour", "_nearest"))
#: The parts timed: the colour match, within it the skin light (called from ``color_match`` since the split, from
#: ``composite`` before it), the fill beside the face and the soft edge of the fill.
PARTS = (
    Part("colour match", "match_color", (("match_color",),), ("composite",)),
    Part("  of it: skin light", "match_skin_light", SKIN_LIGHT, ("color_match", "composite")),
    Part("fill beside the face", "fill", FILL, ("composite",)),
    Part("soft edge of the fill", "feather_into_fill", (("feather_into_fill",),), ("composite",)),
)


@contextmanager
def _recording(faces: list[FaceROI]) -> Iterator[None]:
    """While in it, every face the composite is given is added to ``faces`` (copies)."""
    original = composite_module.ReferenceComposite.reconstruct

    def recording(self: Any, batch: list[FaceROI]) -> Any:
        faces.extend(replace(f, image=f.image.copy(), mask=f.mask.copy(), reference=f.reference.copy(),
                             valid=f.valid.copy(), landmarks=f.landmarks.copy()) for f in batch)  # fmt: skip
        return original(self, batch)

    composite_module.ReferenceComposite.reconstruct = recording  # type: ignore[method-assign]
    try:
        yield
    finally:
        composite_module.ReferenceComposite.reconstruct = original  # type: ignore[method-assign]


def _record(clip: Clip, out: Path) -> list[FaceROI]:
    """Every face the composite is given in one run of the command path on ``clip``."""
    faces: list[FaceROI] = []
    with _recording(faces):
        run_file(RunOptions(input=str(clip.video), output=str(out), reference=str(clip.reference),
                            reconstructor=ReconstructorOptions(generator="none"), quiet=True, overwrite=True))  # fmt: skip
    return faces


def _quality_faces(data: Path, name: str, frames: int) -> tuple[list[FaceROI], list[FaceROI]] | None:
    """The faces of ``benchmarks.quality``'s run with the true mask on its clip ``name`` (None: not there), with the
    reference still as it is and relit as its ``--relit`` relights it."""
    clips = sorted((data / "talking").glob("*.mp4"))
    numbered = [(k, c) for k, c in enumerate(clips) if c.stem == name]
    if not numbered:
        return None
    number, path = numbered[0]
    clip = quality.load_clip(path, frames, number)
    runs = []
    for reference in (None, quality.relight(clip.truth[0], clip.landmarks[0], seed=number)):
        faces: list[FaceROI] = []
        with _recording(faces):
            quality.run_ours(clip, "none", True, reference=reference)
        runs.append(faces)
    return runs[0], runs[1]


def _astronaut(size: int) -> list[FaceROI]:
    """The astronaut scene of ``benchmarks.warp_speed`` at an ROI of about ``size`` px (one face, a gap in what the
    warp covers, as there)."""
    ref, ref_lm, _frame, box, roi, roi_lm, mask = _scene(size)
    warped, valid, _ = ReferenceWarper(ref, ref_lm, WarpOptions()).warp(roi_lm, roi.shape[:2])
    return [FaceROI(box=box, image=roi, landmarks=roi_lm, mask=mask, reference=warped, valid=valid)]


def _relit(faces: list[FaceROI], seed: int) -> list[FaceROI]:
    """The faces with their warped reference in another light (black, where the warp does not cover, stays black)."""
    return [replace(f, reference=quality.relight(f.reference, f.landmarks, seed)) for f in faces]


def sibling(composite: ModuleType, stem: str) -> ModuleType | None:
    """The module ``stem`` of ``composite``'s revision: the composite itself for ``composite``; today's
    ``unmask_video.reconstruct.<stem>`` for today's composite; for a revision's (``warp_speed._composite_at``, which
    imports the composite's own modules of that revision as ``_<stem>_baseline_<tag>``), that revision's, None where it
    has no such module."""
    if stem == "composite":
        return composite
    prefix = "_composite_baseline_"
    if composite.__name__.startswith(prefix):
        return sys.modules.get(f"_{stem}_baseline_{composite.__name__[len(prefix):]}")
    return sys.modules.get(f"unmask_video.reconstruct.{stem}")


class _PartTimer:
    """Process CPU seconds spent in the composite's :class:`Part` s (inclusive), by wrapping each part's function in
    the modules of the composite's revision that call it."""

    def __init__(self, composite: ModuleType, parts: Sequence[Part]) -> None:
        self._timer = StageTimer(clock=time.process_time)
        self.seconds = self._timer.seconds
        #: (module, name, function, part key) of every function wrapped.
        self._saved: list[tuple[ModuleType, str, Any, str]] = []
        for part in parts:
            for module in filter(None, (sibling(composite, stem) for stem in part.callers)):
                for names in part.functions:
                    name = next((n for n in names if callable(getattr(module, n, None))), None)
                    if name is not None:
                        self._saved.append((module, name, getattr(module, name), part.key))

    def __enter__(self) -> _PartTimer:
        for module, name, fn, key in self._saved:
            setattr(module, name, self._timer.wrap(key, fn))
        return self

    def __exit__(self, *exc: object) -> None:
        for module, name, fn, _ in self._saved:
            setattr(module, name, fn)

    def has(self, key: str) -> bool:
        """Whether the part ``key`` is timed (the revision has its function in a module that calls it)."""
        return any(k == key for *_, k in self._saved)


def _replay(
    modules: list[ModuleType], faces: list[FaceROI], options: list[dict[str, Any]] | None = None
) -> list[tuple[dict[str, float], list[np.ndarray]]]:
    """For each of ``modules``, a fresh composite (with its ``CompositeOptions(**options[i])``, the defaults if None)
    over ``faces`` (in order; the modules take turns face by face): its CPU ms per face, in all and by part (NaN: the
    module has no such function), and its outputs."""
    names = [part.key for part in PARTS]
    composites = [m.ReferenceComposite(m.CompositeOptions(**(options[i] if options else {}))) for i, m in enumerate(modules)]
    timers = [_PartTimer(m, PARTS) for m in modules]
    totals = [0.0 for _ in modules]
    faults = [0 for _ in modules]
    outputs: list[list[np.ndarray]] = [[] for _ in modules]
    for face in faces:
        for i, (composite, timer) in enumerate(zip(composites, timers)):
            with timer:
                f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.process_time()
                outputs[i].append(composite.reconstruct([face])[0])
                totals[i] += time.process_time() - t0
                faults[i] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    results = []
    for total, fault, timer, out in zip(totals, faults, timers, outputs):
        ms = {"total": total * 1000.0 / len(faces), "faults": fault / len(faces)}
        ms.update({n: (timer.seconds[n] * 1000.0 / len(faces) if timer.has(n) else float("nan")) for n in names})
        parts = sum(0.0 if np.isnan(ms[n]) else ms[n] for n in ("fill", "feather_into_fill"))
        ms["rest"] = ms["total"] - ms["match_color"] - parts
        results.append((ms, out))
    return results


def _output_difference(new_out: list, old_out: list, faces: list) -> tuple[str, str]:
    """The table's two comparison cells: the largest level difference and the worst face's PSNR (new vs old)."""
    diff = str(max(int(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(old_out, new_out)))
    worst = min(_psnr(a, b, face.image) for a, b, face in zip(new_out, old_out, faces))
    return diff, "identical" if np.isinf(worst) else f"{worst:.1f}"


def _psnr(new: np.ndarray, old: np.ndarray, image: np.ndarray) -> float:
    """PSNR (dB) of one face's ``new`` output against the ``old`` over the pixels either changed in the ROI ``image``
    (the rebuilt hole and band: the untouched rest would only raise it); inf where they are the same."""
    changed = (new != image).any(axis=2) | (old != image).any(axis=2)
    if not changed.any():
        return float("inf")
    err = float(np.mean(np.square(new[changed].astype(np.float64) - old[changed])))
    return float("inf") if err == 0 else 10.0 * np.log10(255.0**2 / err)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "videos")
    parser.add_argument("--sizes", default="720p", help=f"self-made clips, of {', '.join(SIZES)} ('' for none)")
    parser.add_argument("--frames", type=int, default=36, help="frames of each self-made clip")
    parser.add_argument("--quality", default="lp_s32", help="benchmarks.quality clips, by name ('' for none)")
    parser.add_argument("--quality-frames", type=int, default=30, help="frames of each quality clip")
    parser.add_argument("--astronaut", default="300,500", help="astronaut scenes: ROI sizes ('' for none)")
    parser.add_argument("--faces", type=int, default=40, help="faces replayed per clip (evenly spread)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    args = parser.parse_args()
    console = Console(width=200)
    baseline = _composite_at(args.baseline_rev)
    tmp = Path(tempfile.mkdtemp(prefix="composite_replay_"))
    scenes: dict[str, tuple[list[FaceROI], list[FaceROI] | None]] = {}  # faces, and relit (None: relight them)
    clips = replay_clips(args.data, args.sizes, args.frames, tmp, console)
    for name, clip in clips.items():
        faces = _record(clip, tmp / "out.mp4")
        if not faces:
            console.print(f"{name}: the composite was never called (no mask found)")
            continue
        faces = faces[:: max(1, len(faces) // args.faces)][: args.faces]
        scenes[f"{name}, {faces[0].image.shape[1]}x{faces[0].image.shape[0]}"] = (faces, None)
    for name in filter(None, args.quality.split(",")):
        found = _quality_faces(args.data, name, args.quality_frames)
        if found is None or not found[0]:
            console.print(f"{name}: not found under {args.data / 'talking'} (or no face): skipped")
            continue
        plain, relit = (f[:: max(1, len(f) // args.faces)][: args.faces] for f in found)
        scenes[f"{name} (quality), {plain[0].image.shape[1]}x{plain[0].image.shape[0]}"] = (plain, relit)
    for size in (int(s) for s in filter(None, args.astronaut.split(","))):
        faces = _astronaut(size)
        scenes[f"astronaut {faces[0].image.shape[1]}x{faces[0].image.shape[0]}"] = (faces * 5, None)
    cv2.setNumThreads(1)
    # (numpy's BLAS on one thread, as the pipeline runs it: its idle pool threads, woken by the light plane's small
    # products, cost up to 2 ms a face on the shared cores)
    threadpool_limits(limits=1, user_api="blas")
    modules = [composite_module] if baseline is None else [composite_module, baseline]
    columns = [("total", "composite"), *((part.key, part.label) for part in PARTS)]
    columns += [("rest", "rest"), ("faults", "page faults")]
    table = Table(title=f"reference composite, CPU ms per face, @{args.baseline_rev} -> today (medians of {args.rounds} "
                        f"rounds, the two taking turns face by face, 1 OpenCV thread)")  # fmt: skip
    table.add_column("scene (faces)")
    table.add_column("reference")
    for _, label in columns:
        table.add_column(label.strip(), justify="right")
    table.add_column("max |new - baseline|", justify="right")
    table.add_column("PSNR new vs baseline, worst face (dB)", justify="right")
    for seed, (name, (faces, relit)) in enumerate(scenes.items()):
        for kind, batch in (("as warped", faces), ("relit", _relit(faces, seed) if relit is None else relit)):
            rounds = [_replay(modules, batch) for _ in range(args.rounds)]
            new = [r[0][0] for r in rounds]
            cells = []
            for key, _ in columns:
                n = statistics.median(m[key] for m in new)
                if baseline is None:
                    cells.append(f"{n:.0f}" if key == "faults" else f"{n:.2f}")
                    continue
                old = [r[1][0] for r in rounds]
                o = statistics.median(m[key] for m in old)
                if np.isnan(o) or np.isnan(n):
                    cells.append(f"{o:.2f} -> {n:.2f}")
                    continue
                if key == "faults":
                    cells.append(f"{o:.0f} -> {n:.0f}")
                    continue
                ratios = [b[key] / a[key] for a, b in zip(old, new) if a[key] > 0]  # (none: a part never called)
                cells.append(f"{o:.2f} -> {n:.2f}" + (f" ({statistics.median(ratios):.2f}x)" if ratios else ""))
            diff = psnr = "-"
            if baseline is not None:
                diff, psnr = _output_difference(rounds[-1][0][1], rounds[-1][1][1], batch)
            table.add_row(f"{name} ({len(batch)})", kind, *cells, diff, psnr)
    console.print(table)
    # Today's composite with the light from the ring (light="ring", the default before issue 11's skin light)
    # against the default, alternating the same way.
    for seed, (name, (faces, relit)) in enumerate(scenes.items()):
        batch = _relit(faces, seed) if relit is None else relit
        rounds = [_replay([composite_module, composite_module], batch, [{"light": "ring"}, {}]) for _ in range(args.rounds)]
        ring, skin = (statistics.median(r[i][0]["total"] for r in rounds) for i in (0, 1))
        ratio = statistics.median(r[1][0]["total"] / r[0][0]["total"] for r in rounds)
        console.print(f"{name}, relit: today's composite with light=ring {ring:.2f} ms, light=skin (the default) "
                      f"{skin:.2f} ms per face ({ratio:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
