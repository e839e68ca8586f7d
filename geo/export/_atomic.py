"""Writing export files so a failure never leaves a half-written file looking complete."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.errors import ExportError

#: Files SQLite (hence GDAL's GeoPackage driver) keeps beside a database while writing it.
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
#: A temporary file of an older version (no process id in its name) counts as abandoned
#: once it is this old (seconds).
_ORPHAN_AGE_S = 3600.0


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _host_tag() -> str:
    """This machine's name reduced to letters and digits, to tell its temporary files apart
    from another machine's in a shared folder."""
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16] or "host"


def utf8_safe(text: str) -> str:
    """``text`` with every lone surrogate (the bytes of a file name that is not UTF-8,
    legal on Linux, as Python reads them) replaced by U+FFFD: UTF-8 throughout, as GDAL
    and every text file written here need it."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _safe_stem(target: Path) -> str:
    """``target``'s stem as a temporary file's name carries it: bytes of a file name that
    is not UTF-8 become ``_``, so that GDAL, which takes UTF-8 paths only, can write the
    file."""
    return utf8_safe(target.stem).replace("\ufffd", "_")


def _utf8(path: Path) -> bool:
    """Whether ``path`` can be given to a library that takes UTF-8 paths (GDAL)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _temp_prefix(target: Path) -> str:
    return f".{_safe_stem(target)}.{_host_tag()}-{os.getpid()}-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _abandoned(name: str, target: Path, now: float, path: Path) -> bool:
    """Whether ``name`` is a temporary file of ``target`` whose writer is gone."""
    for side in ("", *_SQLITE_SIDE_FILES):
        if side and name.endswith(side):
            name = name[: -len(side)]
            break
    head, tail = f".{_safe_stem(target)}.", f".part{target.suffix}"
    if not (name.startswith(head) and name.endswith(tail)):
        return False
    middle = name[len(head) : len(name) - len(tail)]
    match = re.fullmatch(r"([A-Za-z0-9]+)-(\d+)-[A-Za-z0-9_]+", middle)
    if match:  # ours: gone when its process is, on this machine
        host, pid = match.group(1), int(match.group(2))
        if host == _host_tag():
            return pid != os.getpid() and not _process_alive(pid)
    elif not re.fullmatch(r"[A-Za-z0-9_]+", middle):
        return False
    try:  # an older version's or another machine's: gone when long untouched
        return now - path.lstat().st_mtime > _ORPHAN_AGE_S
    except OSError:
        return False


def remove_abandoned_temp_files(out_dir: Path, targets: Iterable[Path]) -> list[Path]:
    """Delete the temporary files that an export killed part-way left beside ``targets``.

    A temporary file is removed when the process that wrote it no longer runs on this
    machine, or (written by another machine or an older version) when it has not changed
    for an hour; an export running now keeps its own. Returns what was removed.
    """
    try:
        entries = list(os.scandir(out_dir))
    except OSError:
        return []
    now = time.time()
    removed: list[Path] = []
    for entry in entries:
        if not entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if any(_abandoned(entry.name, Path(target), now, path) for target in targets):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def ensure_dir(out_dir: Path) -> Path:
    """Create ``out_dir`` (and parents); ExportError naming it when that fails."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir}: is a file, not a folder; give a folder to export into")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out_dir}: cannot create the export folder: {_describe(exc)}") from None
    if not out_dir.is_dir():
        raise ExportError(f"{out_dir}: is not a folder")
    if not os.access(out_dir, os.W_OK):
        raise ExportError(f"{out_dir}: the export folder is not writable")
    return out_dir


#: Free space under which a writer library's failure is put down to a full disk.
FULL_DISK_BYTES = 1 << 20


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed to ``target``
    (atomic on one file system), on any error it is removed (with any SQLite journal
    beside it). Its name carries this machine and process, so that
    :func:`remove_abandoned_temp_files` can tell when its writer was killed. In a folder
    whose path is not UTF-8 (legal on Linux, and no path GDAL can take) the file is
    written in a temporary folder first and copied beside ``target``.

    Raises
    ------
    ExportError
        Naming ``target`` when writing or renaming fails (full disk, permissions).
    """
    try:
        fd, name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=f".part{target.suffix}", dir=target.parent)
        os.close(fd)
        os.unlink(name)  # writers (GDAL) want to create the file themselves
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {_describe(exc)}") from None
    temp = Path(name)
    elsewhere = None if _utf8(temp) else Path(tempfile.mkdtemp(prefix="damagemap-export-"))
    try:
        if elsewhere is None:
            yield temp
        else:
            written = elsewhere / f"export{target.suffix}"
            yield written
            shutil.copyfile(written, temp)
        os.replace(temp, target)
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {_describe(exc)}") from None
    except ExportError:
        raise
    except Exception as exc:  # a writer library failing (GDAL, folium): still an export error
        if _disk_full(target.parent):  # GDAL says what failed next ("no such table: gpkg_contents", or its
            # whole CREATE TABLE script of some 5000 characters), not why: that is left out
            raise ExportError(f"{target}: cannot write: no space left on the disk") from exc
        raise ExportError(f"{target}: cannot write: {exc}") from exc
    finally:
        for leftover in (temp, *(temp.with_name(temp.name + side) for side in _SQLITE_SIDE_FILES)):
            with contextlib.suppress(OSError):
                leftover.unlink()
        if elsewhere is not None:
            shutil.rmtree(elsewhere, ignore_errors=True)


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    with atomic_path(target) as temp:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return target


def write_text_atomic(target: Path, text: str) -> Path:
    """``text`` as UTF-8; lone surrogates (from a file name that is not UTF-8) become U+FFFD."""
    return write_bytes_atomic(target, utf8_safe(text).encode("utf-8"))
