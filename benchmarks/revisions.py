"""A git revision's files, for benchmarks that run an older revision's code as their same-run baseline."""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

REPO = Path(__file__).resolve().parents[1]


def checkout(rev: str, folder: Path) -> Path:
    """The files of git revision ``rev`` of this repository (``git archive``), written under ``folder``."""
    tree = folder / f"rev-{rev}"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"--baseline-rev {rev}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def module_at(rev: str, module_path: str, name: str, source_edit: Callable[[str], str] = lambda s: s) -> ModuleType:
    """``module_path`` as it was at git revision ``rev``, imported as the module ``name`` (CalledProcessError or
    OSError where git or the revision is not there)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{module_path}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source_edit(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def modules_at(rev: str, module_paths: Sequence[str], prefix: str) -> list[ModuleType]:
    """Each of ``module_paths`` as it was at git revision ``rev``, imported under a name of its own (``prefix``, the
    file's stem and the revision); SystemExit with a one-line message where git or the revision is not there."""
    tag = re.sub(r"\W", "_", rev)  # (a module name: HEAD~1 -> HEAD_1)
    try:
        return [module_at(rev, path, f"_{prefix}_{Path(path).stem}_{tag}") for path in module_paths]
    except (OSError, subprocess.CalledProcessError):
        names = " / ".join(Path(path).name for path in module_paths)
        raise SystemExit(f"{names} at {rev}: not found (no git checkout or no such revision)") from None


def baseline_arguments(description: str, baseline_rev: str, repeat: int) -> argparse.Namespace:
    """The command line of a benchmark that times this checkout against ``--baseline-rev`` in ``--repeat`` calls a
    round."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--baseline-rev", default=baseline_rev)
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser.parse_args()
