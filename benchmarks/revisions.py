"""A git revision's files, for benchmarks that run an older revision's code as their same-run baseline."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
