"""Timing this checkout against another git revision: the other revision's files in a
temporary folder, and one timed run of a snippet in a tree, each a fresh process.

A machine's speed drifts (a shared 2-core VM ran the same code in 60 s one hour and 78 s
the next), so the scripts that compare two versions (``compare_revisions.py``,
``bench_map_cold.py``) run both in turn; each run is a fresh process so each pays its
cold costs, as a user's run does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def revision_tree(revision: str) -> Iterator[Path]:
    """The files of ``revision`` of this repository in a temporary folder (``git
    archive``: no git state changed), removed afterwards; a revision git does not know
    is a ``SystemExit`` naming it."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"--base {revision}: cannot check it out: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="damagemap-base-") as tmp:
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


def run_in_tree(tree: Path, code: str, *args: str, what: str) -> dict[str, Any]:
    """Run ``code`` (Python, with ``args`` as ``sys.argv[1:]``) in a fresh process with
    ``tree``'s own packages first on the path; the JSON it prints on its last line. A run
    that fails ends the bench, saying ``what`` failed in which tree."""
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed in {tree}:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


__all__ = ["ROOT", "revision_tree", "run_in_tree"]
