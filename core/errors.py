"""The one error hierarchy of damagemap.

Every message says what was expected, what arrived (``!r``) and what to do next, and
names the file involved where there is one, so the CLI can print it as one line and the
GUI can show it in one dialog (``app/errors.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal


class DamagemapError(Exception):
    """Root of every error damagemap raises on purpose."""


def first_line(exc: BaseException) -> str:
    """The first non-blank line of what ``exc`` says (its type's name when it says
    nothing): a library's error inside one line of ours."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class InputError(DamagemapError):
    """A user-supplied file or value is missing, malformed or unusable."""


class VideoError(InputError):
    """A video cannot be opened or decoded."""


class TelemetryError(InputError):
    """A telemetry file (GPX, SRT, CSV) cannot be read or does not fit the video."""


class GeoreferenceError(DamagemapError):
    """A pixel or detection cannot be placed on the ground."""


class ModelError(DamagemapError):
    """Model weights or configuration are wrong, corrupt or incompatible."""


class StoreError(DamagemapError):
    """A project store cannot be opened, read or written."""


class ProjectExistsError(StoreError):
    """A project could not be created because the file exists (possibly created by
    another process a moment ago): open it instead."""


class ExportError(DamagemapError):
    """An export could not be written (full disk, permissions, bad target)."""


class DamagemapWarning(UserWarning):
    """Warnings we emit on purpose; the test suite turns them into errors."""


# ------------------------------------------------------------- the machine's failures

#: What an SQLite (or file-system) failure on a project file means for the user.
StorageFailure = Literal["full", "read-only", "locked", "not-a-database", "damaged", "unreachable", "other"]

#: One line per kind of failure, for each thing that was being done: ``create`` a
#: project, ``open`` one, or ``use`` an open one (``{verb}``: read, write, read or
#: write). ``{where}`` is the project as the user named it, ``{text}`` SQLite's words,
#: ``{mode}`` ``"read-only "`` or nothing, ``{hint}`` a note on overlong paths.
_STORAGE_MESSAGES: dict[str, dict[StorageFailure, str]] = {
    "create": {
        "full": "cannot create project {where}: the disk is full ({text}); free some space and try again",
        "read-only": "cannot create project {where}: the folder is read-only ({text}); choose a folder you can write to",
        "locked": "cannot create project {where}: {text}{hint}",
        "not-a-database": "cannot create project {where}: {text}{hint}",
        "damaged": "cannot create project {where}: {text}{hint}",
        "unreachable": "cannot create project {where}: {text}{hint}",
        "other": "cannot create project {where}: {text}{hint}",
    },
    "open": {
        "full": "{where} cannot be opened: the disk is full ({text}); free some space and try again",
        "read-only": "{where} cannot be opened: it or its folder is read-only ({text})",
        "locked": "{where} is in use by another damagemap ({text}); wait for it to finish and try again",
        "not-a-database": "{where} is not a damagemap project (not an SQLite file); "
                          "create a project with `damagemap analyze VIDEO --project NEW`",
        "damaged": "{where} is damaged ({text}); restore a copy of it",
        "unreachable": "cannot open the {mode}project {where}: {text}{hint}",
        "other": "{where} is damaged ({text}); restore a copy of it",
    },
    "use": {
        "full": "{where}: cannot write: the disk is full ({text}); free some space and run the same command again "
                "(an analysis resumes where it stopped)",
        "read-only": "{where} is read-only ({text}): it can be viewed and exported, not changed; copy it to a folder "
                     "you can write to",
        "locked": "{where} is in use by another damagemap ({text}); wait for it to finish and try again",
        "not-a-database": "{where} is damaged ({text}); restore a copy of it (nothing more is written into it)",
        "damaged": "{where} is damaged ({text}); restore a copy of it (nothing more is written into it)",
        "unreachable": "{where}: cannot {verb} the file ({text}); is the drive still connected?",
        "other": "{where}: cannot {verb} the project: {text}",
    },
}


def disk_full(path: str | os.PathLike[str]) -> bool:
    """Whether the disk holding ``path`` (or its nearest existing folder) has no room left
    (under 64 KiB for its users)."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs (Windows), or the drive is gone
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def classify_storage_failure(exc: BaseException, path: str | os.PathLike[str] | None = None) -> StorageFailure:
    """What an ``sqlite3.Error`` (or an ``OSError`` met on a project file) means: the disk
    is full, the file or folder is read-only, another process holds it, it is not an
    SQLite file, it is damaged, the drive cannot be reached, or something else.
    ``path``: the project's file, whose disk is looked at where SQLite says only "disk
    I/O error" (its shared-memory file could not grow on a full disk)."""
    import errno
    import sqlite3

    text = str(exc).lower()
    number = exc.errno if isinstance(exc, OSError) else None
    if "is full" in text or number == errno.ENOSPC:
        return "full"
    if ("i/o" in text or number == errno.EIO) and path is not None and disk_full(path):
        return "full"
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError) or number == errno.EROFS:
        return "read-only"
    if "locked" in text or "busy" in text:
        return "locked"
    if "not a database" in text:
        return "not-a-database"
    if "malformed" in text or "decode" in text:
        return "damaged"
    if "i/o" in text or "unable to open" in text or number == errno.EIO:
        return "unreachable"
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.ProgrammingError):
        return "damaged"  # a file SQLite reads but whose content is not what it should be
    return "other"


def storage_failure_message(
    context: Literal["create", "open", "use"],
    exc: BaseException,
    *,
    where: str,
    verb: str = "read or write",
    mode: str = "",
    hint: str = "",
    path: str | os.PathLike[str] | None = None,
) -> str:
    """One line for ``exc`` met while doing ``context`` to the project ``where`` (its file
    ``path``, where known): what it means for the user, and what to do (see
    :data:`_STORAGE_MESSAGES`)."""
    template = _STORAGE_MESSAGES[context][classify_storage_failure(exc, path)]
    return template.format(where=where, text=_sqlite_words(exc), verb=verb, mode=mode, hint=hint)


def _sqlite_words(exc: BaseException) -> str:
    """SQLite's words, without the damaged text it may quote: a column that is not UTF-8
    is quoted whole ("... with text '...'"), which fills a line with U+FFFD."""
    text = str(exc) or type(exc).__name__
    quoted = text.find(" with text '")
    return text[:quoted] if text.startswith("Could not decode to UTF-8") and quoted > 0 else text
