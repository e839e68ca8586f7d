"""A throw-away copy of a project for a bench that changes it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def project_copy(project: Path, tag: str) -> Iterator[Path]:
    """A copy of ``project`` beside it (so that a video and telemetry it names relative to
    itself are found), removed afterwards with the files SQLite kept beside it."""
    copy = project.with_name(f".bench-{os.getpid()}-{tag}{project.suffix}")
    shutil.copy(project, copy)
    try:
        yield copy
    finally:
        for leftover in copy.parent.glob(copy.name + "*"):
            leftover.unlink()
