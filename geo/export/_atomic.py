"""Writing export files so a failure never leaves a half-written file looking complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.errors import ExportError


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def ensure_dir(out_dir: Path) -> Path:
    """Create ``out_dir`` (and parents); ExportError naming it when that fails."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out_dir}: cannot create the export folder: {_describe(exc)}") from None
    if not out_dir.is_dir():
        raise ExportError(f"{out_dir}: is not a folder")
    if not os.access(out_dir, os.W_OK):
        raise ExportError(f"{out_dir}: the export folder is not writable")
    return out_dir


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed to ``target``
    (atomic on one file system), on any error it is removed.

    Raises
    ------
    ExportError
        Naming ``target`` when writing or renaming fails (full disk, permissions).
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
        os.close(fd)
        os.unlink(name)  # writers (GDAL) want to create the file themselves
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {_describe(exc)}") from None
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, target)
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {_describe(exc)}") from None
    except ExportError:
        raise
    except Exception as exc:  # a writer library failing (GDAL, folium): still an export error
        raise ExportError(f"{target}: cannot write: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    with atomic_path(target) as temp:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return target


def write_text_atomic(target: Path, text: str) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"))
