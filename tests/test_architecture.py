"""The house drawn from the imports: no circles, no arrows back up, the engine builder and training kept out.

The graph is read from the source with ``ast`` (every import, also those deferred into functions; only
``if TYPE_CHECKING:`` blocks are left out, as they never run): ``unmask_video/`` and the top-level
``engines/`` folder, which is installed as ``unmask_video.engines``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Package name -> folder, as pyproject.toml installs them.
SOURCES = {"unmask_video": ROOT / "unmask_video", "unmask_video.engines": ROOT / "engines"}


def _modules() -> dict[str, Path]:
    """Every module of the product by dotted name (a package is its ``__init__``)."""
    found: dict[str, Path] = {}
    for package, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported_names(module: str, path: Path) -> set[str]:
    """Dotted names ``module`` imports (``from X import Y`` gives X.Y where that is a module, else X)."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".")
                    base = base if is_package else base[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:
                    candidate = f"{target}.{alias.name}"
                    names.add(candidate if candidate in MODULES else target)
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return names


GRAPH = {module: _imported_names(module, path) for module, path in MODULES.items()}


def _internal_edges(level) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    edges: dict[str, set[str]] = {level(m): set() for m in MODULES}
    for module, names in GRAPH.items():
        for name in names:
            if name in MODULES and level(name) != level(module):
                edges[level(module)].add(level(name))
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges)))

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def _package(module: str) -> str:
    """A module's place in the house: its subpackage of unmask_video, or the top-level module itself."""
    parts = module.split(".")
    return ".".join(parts[:2])


#: The floors of the house, top to bottom; an import may point to its own floor or lower, never up.
#: A module or package of unmask_video not named here fails test_every_part_has_a_floor: give it one.
FLOORS: list[set[str]] = [
    {"cli", "commands", "demo", "engines", "batch"},  # the command and its subcommands; the engine builder
    {"runner", "frame_loop", "prepare_process", "live", "live_ahead", "live_output_thread", "summary"},  # a file run, live mode
    {"pipeline"},  # the stages wired per frame
    {"reconstruct", "blend", "notch_matte", "pale_rim", "low_mask", "landmarks", "face_detect", "face_landmark_model", "mask_presence", "mask_refine", "rim_cut", "chin_rim", "mask_edge", "mask_texture", "ear_loops", "ear_loop_options", "ear_loop_search", "ear_loop_follow", "ear_loop_pixels", "ear_loop_fill", "occluders", "segment", "segment_options", "segment_state", "mask_window", "mask_clusters", "side_growth", "presence_decision", "mask_paste", "mask_region", "kmeans_clusters", "kmeans_fit", "still_carry", "mask_cleanup", "search_region", "colour_model", "mask_pixels", "warp", "tps", "warp_maps", "below_jaw", "face_shape", "reference_picture", "jaw_opening", "nose_length", "warp_register", "same_place", "shape_smoothing", "neck_lag", "warp_control", "warp_reference", "align", "reference_check", "reference_advice", "reference_matte", "hair_strands", "repeat_frames", "steady_face", "still_search", "unsure_faces", "work_face", "debug", "synthetic"},
    {"io", "live_capture", "live_outputs", "live_output_thread", "progress"},  # files, cameras, streams, terminals
    {"", "errors", "messages", "cache", "stages", "face_units", "face_axes", "jaw_outline", "reference_shade", "landmark_sets", "one_euro", "order_stats", "cell_means", "metrics", "timing", "native_log", "live_stats", "background"},  # shared basics
]


def _floor(module: str) -> int:
    """0 for the top floor; ``len(FLOORS)`` for a part no floor names."""
    name = _package(module).removeprefix("unmask_video").removeprefix(".")
    return next((i for i, floor in enumerate(FLOORS) if name in floor), len(FLOORS))


def test_the_graph_is_read() -> None:
    assert "unmask_video.cli" in MODULES and "unmask_video.engines.build" in MODULES
    assert "unmask_video.reconstruct.factory" in GRAPH["unmask_video.commands.options"]
    assert "unmask_video.reconstruct.generator.parity" in GRAPH["unmask_video.engines.build"]  # absolute
    assert "unmask_video.engines.torch_trt" in GRAPH["unmask_video.engines.build"]  # relative, deferred
    assert "unmask_video.engines.cli" in GRAPH["unmask_video.cli"]  # from a package import a module
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(_internal_edges(lambda m: m)) == []


def test_no_import_cycle_between_packages() -> None:
    assert _cycles(_internal_edges(_package)) == []


def test_every_part_has_a_floor() -> None:
    assert sorted({_package(m) for m in MODULES if _floor(m) == len(FLOORS)}) == []


def test_no_import_points_up() -> None:
    upward = sorted(f"{m} -> {n}" for m, names in GRAPH.items() for n in names if n in MODULES and _floor(n) < _floor(m))
    assert upward == []


def test_the_product_never_imports_training() -> None:
    offenders = {m: n for m, names in GRAPH.items() for n in names if n == "training" or n.startswith("training.")}
    assert offenders == {}


def test_only_the_command_imports_the_engine_builder() -> None:
    offenders = {
        m: sorted(n for n in names if n == "unmask_video.engines" or n.startswith("unmask_video.engines."))
        for m, names in GRAPH.items()
        if not m.startswith("unmask_video.engines") and m != "unmask_video.cli"
    }
    assert {m: n for m, n in offenders.items() if n} == {}
    assert not any(n == "engines" or n.startswith("engines.") for names in GRAPH.values() for n in names)


def test_every_package_folder_is_installed() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert packages == set(config["packages"])
    assert config["package-dir"] == {"unmask_video.engines": "engines"}


def test_installed_names_stay_under_unmask_video(tmp_path: Path) -> None:
    """Outside the checkout, ``engines`` and ``training`` are not importable; ``unmask_video.engines`` is."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def imports(name: str) -> bool:
        code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({name!r}) else 1)"
        return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env).returncode == 0

    if not imports("unmask_video"):
        pytest.skip("unmask_video is not installed in this interpreter (pip install -e .)")
    assert imports("unmask_video.engines")
    assert not imports("engines") and not imports("training")
