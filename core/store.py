"""The project store: one SQLite file per project.

A project holds the video and telemetry references, typed settings (time offset,
field of view, ...), one *run* per analysis (the model and settings used), every
analysed frame's detections as soon as they exist, and the review edits with their full
history. Exports are derived from it, never the other way round.

Why SQLite
----------
WAL journaling lets the GUI read while an analysis writes, each frame is committed in
one transaction (a killed run loses at most the frame it was writing, never half of
one), and the file is a single portable artefact a user can copy or e-mail: changes
are copied from the write-ahead log (``P.dmproj-wal``) into the file itself every
:data:`CHECKPOINT_EVERY_FRAMES` frames, at the end of a run, after each review edit and
on close (:meth:`ProjectStore.checkpoint`), so the ``.dmproj`` alone holds the work even
while a project is open (at most the last few frames of a running analysis are only in
the log). A file is created complete under a temporary name and linked into place, so
two processes creating the same project cannot harm each other; a damaged file is
refused at open, and a file or folder that cannot be written opens read-only.

Layout
------
``meta``            key/value: application tag, video/telemetry paths, creation time.
``schema_version``  one row: the schema this file was written with.
``settings``        key -> JSON value; the typed ones are the fields of
                    :class:`core.settings.ProjectSettings` (``time_offset_s``, ...).
``runs``            one analysis: model (JSON), settings (JSON), created/finished time.
``frames``          (run, frame index) -> pts, size; its presence means "analysed".
``detections``      current state of every detection, review edits applied; deletions
                    are soft (``deleted = 1``) so undo and redo keep ids stable.
``edits``           the review history: who, when, what, and the changed fields before
                    and after, for every apply, undo and redo; a ``discard`` line where
                    the steps Redo offered were dropped (another change pushed them off).
``site_groups``     a reviewer's split or merge of damage sites: detections that form a
                    site of their own (``active`` goes to 0 when it is undone).
``site_decisions``  a reviewer's decision on a whole site (accept, reject, relabel) with
                    the site's ground position, so a later run of the same project can
                    apply it to the site at the same place, and the map's score threshold
                    then (sightings below it were not on the map the reviewer decided on).
``site_numbers``    (run, detection, number): the numbers of the damage sites a detection
                    was placed in (the first, and each new one given to a site it was
                    in), so a site keeps its number when the map is rebuilt (a threshold
                    moved, a decision, a split) and numbers are never given twice; the
                    run's ``site_numbers_version`` counts the additions.

Masks are stored as :meth:`core.masks.RleMask.to_bytes` gives them (run lengths packed
as little-endian ``uint32`` and zlib'd): a 1280x720 building mask takes a few hundred
bytes.

Only this module touches SQLite. Every method is safe to call from several threads
(one connection guarded by a lock); several processes may open the same file (WAL plus
a busy timeout).
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import errno
import os
import secrets
import shutil
import socket
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import ProjectExistsError, StoreError, classify_storage_failure, storage_failure_message
from core.file_kind import special_file_kind
from core.frame_quality import FrameQuality
from core.masks import RleMask
from core.settings import ProjectSettings
from core.text import one_line
from core.types import DamageLevel, Detection, Frame, Origin, ReviewState

#: ``PRAGMA application_id`` of a damagemap project ("DMAP"), so a stray SQLite file
#: is recognised as "not a project" before any table is read.
APPLICATION_ID = 0x444D4150
#: Bump with a migration in ``_MIGRATIONS`` whenever the schema changes.
SCHEMA_VERSION = 5
#: The oldest schema a read-only opening reads as it is (one it cannot upgrade): frames
#: measured since schema 3 (core.frame_quality) read as not measured there, site numbers
#: kept since schema 4 as none kept, a review history from before schema 5 as one that
#: dropped no redo (it could not say so).
OLDEST_READABLE_SCHEMA = 2
#: The conventional project suffix (not enforced).
PROJECT_SUFFIX = ".dmproj"

_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value_json TEXT NOT NULL
);
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    created_utc   TEXT NOT NULL,
    model_json    TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    finished_utc  TEXT
);
CREATE TABLE frames (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    frame_index  INTEGER NOT NULL,
    pts_s        REAL NOT NULL,
    width_px     INTEGER NOT NULL,
    height_px    INTEGER NOT NULL,
    analysed_utc TEXT NOT NULL,
    quality_mean      REAL,
    quality_contrast  REAL,
    quality_sharpness REAL,
    PRIMARY KEY (run_id, frame_index)
) WITHOUT ROWID;
CREATE TABLE detections (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    frame_index   INTEGER NOT NULL,
    level         INTEGER NOT NULL CHECK (level IN (1, 2, 3)),
    score         REAL NOT NULL,
    refined_score REAL,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    bx1 REAL, by1 REAL, bx2 REAL, by2 REAL,
    mask_height   INTEGER,
    mask_width    INTEGER,
    mask_counts   BLOB,
    origin        TEXT NOT NULL,
    review        TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX detections_by_frame ON detections (run_id, frame_index);
"""

#: The review history's lines (``action``: ``'discard'`` since schema 5), the table's
#: columns after its name.
_EDITS_COLUMNS = """(
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    detection_id   INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('apply', 'undo', 'redo', 'discard')),
    target_edit_id INTEGER REFERENCES edits(id),
    author         TEXT NOT NULL,
    created_utc    TEXT NOT NULL,
    before_json    TEXT NOT NULL,
    after_json     TEXT NOT NULL
)"""

_SCHEMA += "CREATE TABLE edits " + _EDITS_COLUMNS + """;
CREATE INDEX edits_by_detection ON edits (detection_id);
"""

_SITE_SCHEMA = """
CREATE TABLE site_groups (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind               TEXT NOT NULL CHECK (kind IN ('split', 'merge')),
    detection_ids_json TEXT NOT NULL,
    active             INTEGER NOT NULL DEFAULT 1,
    changes            INTEGER NOT NULL DEFAULT 1,
    author             TEXT NOT NULL,
    created_utc        TEXT NOT NULL
);
CREATE INDEX site_groups_by_run ON site_groups (run_id);
CREATE TABLE site_decisions (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    lon_deg            REAL NOT NULL,
    lat_deg            REAL NOT NULL,
    review             TEXT NOT NULL,
    level              INTEGER CHECK (level IS NULL OR level IN (1, 2, 3)),
    detection_ids_json TEXT NOT NULL,
    active             INTEGER NOT NULL DEFAULT 1,
    author             TEXT NOT NULL,
    created_utc        TEXT NOT NULL
);
CREATE INDEX site_decisions_by_run ON site_decisions (run_id);
"""

_SCHEMA += _SITE_SCHEMA

#: version -> SQL that upgrades a file from ``version - 1``.
#: what each analysed frame measured (core.frame_quality); NULL in frames stored before
_FRAME_QUALITY_SCHEMA = """
ALTER TABLE frames ADD COLUMN quality_mean REAL;
ALTER TABLE frames ADD COLUMN quality_contrast REAL;
ALTER TABLE frames ADD COLUMN quality_sharpness REAL;
"""

_SITE_NUMBER_SCHEMA = """
CREATE TABLE site_numbers (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    detection_id INTEGER NOT NULL,
    number       INTEGER NOT NULL CHECK (number > 0),
    PRIMARY KEY (run_id, detection_id, number)
) WITHOUT ROWID;
ALTER TABLE runs ADD COLUMN site_numbers_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE site_decisions ADD COLUMN min_score REAL;
"""

_SCHEMA += _SITE_NUMBER_SCHEMA

#: the history's ``'discard'`` lines (a step Redo offered, dropped: core.review). SQLite
#: changes no CHECK in place: the table is built again under another name, its lines
#: copied as they are (same ids), and renamed (foreign keys off meanwhile, see _migrate).
_DISCARD_SCHEMA = "CREATE TABLE edits_with_discards " + _EDITS_COLUMNS + """;
INSERT INTO edits_with_discards (id, run_id, detection_id, kind, action, target_edit_id, author, created_utc,
                                 before_json, after_json)
    SELECT id, run_id, detection_id, kind, action, target_edit_id, author, created_utc, before_json, after_json
    FROM edits ORDER BY id;
DROP TABLE edits;
ALTER TABLE edits_with_discards RENAME TO edits;
CREATE INDEX edits_by_detection ON edits (detection_id);
"""

_MIGRATIONS: dict[int, str] = {2: _SITE_SCHEMA, 3: _FRAME_QUALITY_SCHEMA, 4: _SITE_NUMBER_SCHEMA,
                               5: _DISCARD_SCHEMA}

#: A write-ahead-log checkpoint (see :meth:`ProjectStore.checkpoint`) every this many
#: frames stored, so a ``.dmproj`` copied on its own during an analysis lacks at most
#: these last frames.
CHECKPOINT_EVERY_FRAMES = 10
_BUSY_TIMEOUT_MS = 10_000
#: How long closing (or finishing a run) waits for readers to let the log be emptied.
_CHECKPOINT_WAIT_MS = 2_000
#: A process that stored a frame of a run this recently (seconds) is taken to be
#: analysing it still (see :meth:`ProjectStore.active_writer`).
WRITER_ACTIVE_S = 120.0
#: SQLite opens paths of at most 512 bytes, the name of its longest companion file
#: (``-journal``) included: a project's path may be 504 bytes long.
_SQLITE_MAX_PATH_BYTES = 512 - len("-journal")

_RUNS_QUERY = ("SELECT r.id, r.created_utc, r.model_json, r.settings_json, r.finished_utc, "
               "(SELECT COUNT(*) FROM frames f WHERE f.run_id = r.id) AS frames_done FROM runs r")

#: A detection the window shows at a score threshold (two parameters: the accepted
#: state, the threshold): it scores at least it (refined where the SRN ran), or a
#: reviewer accepted it.
_SHOWN_AT_SCORE = "(review = ? OR COALESCE(refined_score, score) >= ?)"

_DETECTION_COLUMNS = (
    "id, run_id, frame_index, level, score, refined_score, x1, y1, x2, y2, "
    "bx1, by1, bx2, by2, mask_height, mask_width, mask_counts, origin, review, deleted"
)


# --------------------------------------------------------------------------- records


#: A run's settings key: the frames it selected that could not be decoded (``frames``,
#: indices) and why the first of them could not (``reason``), as the analysis records them.
UNREADABLE_FRAMES_KEY = "unreadable_frames"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One analysis run of a project.

    ``created_utc``/``finished_utc`` are ISO 8601 UTC strings; ``finished_utc`` is
    ``None`` while the run is incomplete (running, cancelled or killed).
    """

    id: int
    created_utc: str
    model: dict[str, Any]
    settings: dict[str, Any]
    finished: bool
    frames_done: int
    finished_utc: str | None = None


@dataclass(frozen=True, slots=True)
class SiteGroupRecord:
    """A split (``kind`` ``"split"``) or merge (``"merge"``) of damage sites: the
    detections that form one site of their own, in the order the groups were made."""

    id: int
    run_id: int
    kind: str
    detection_ids: tuple[int, ...]
    active: bool
    author: str
    created_utc: str


@dataclass(frozen=True, slots=True)
class SiteDecisionRecord:
    """A decision on a whole site: its review state, the level it was given (``None``
    when it kept its own), where the site was (WGS84) and which detections it held."""

    id: int
    run_id: int
    lon_deg: float
    lat_deg: float
    review: ReviewState
    level: DamageLevel | None
    detection_ids: tuple[int, ...]
    active: bool
    author: str
    created_utc: str
    #: the map's score threshold when it was made (``None``: recorded before schema 4)
    min_score: float | None = None


@dataclass(frozen=True, slots=True)
class EditRecord:
    """One line of the review history.

    ``action`` is ``"apply"`` for a new edit, ``"undo"``/``"redo"`` when an earlier
    edit (``target_edit_id``) was taken back or replayed, ``"discard"`` when the steps
    Redo offered were dropped (``target_edit_id``: the step it offered first; nothing
    changed, ``before`` and ``after`` are empty). ``before``/``after`` hold only
    the detection fields that changed, in their JSON form (see
    :func:`core.review.encode_state`; :func:`core.review.decode_state` reads it back).
    """

    id: int
    run_id: int
    detection_id: int
    kind: str
    action: str
    target_edit_id: int | None
    author: str
    created_utc: str
    before: dict[str, Any]
    after: dict[str, Any]


# ------------------------------------------------------------------------ helpers


def _this_process() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "user": current_user(), "since_utc": _utc_now()}


def _readable_utc(stamp: Any) -> str:
    """A writer record's ISO time (``2026-12-07T08:34:52.541Z``) as people read it:
    ``2026-12-07 08:34:52 UTC``; as it is when it is not one."""
    try:
        when = _dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    if when.tzinfo is not None:
        when = when.astimezone(_dt.timezone.utc)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def describe_writer(writer: Mapping[str, Any]) -> str:
    """``another damagemap (process 123 on host, by user, since 2026-12-07 08:34:52 UTC)``,
    for messages."""
    return (f"another damagemap (process {writer.get('pid')} on {writer.get('host')}, by {writer.get('user')}, "
            f"since {_readable_utc(writer.get('since_utc'))})")


def analysed_elsewhere_message(run_id: int, writer: Mapping[str, Any]) -> str:
    """``run 2 is being analysed by another damagemap (...), which stored a frame at ...;
    wait for it to finish``: why a second analysis of the run is refused, worded once for
    the command line and the window (each adds what to do meanwhile); ``writer`` is
    :meth:`ProjectStore.active_writer`'s record."""
    return (f"run {run_id} is being analysed by {describe_writer(writer)}, which stored a frame at "
            f"{_readable_utc(writer.get('last_utc'))}; wait for it to finish")


#: A project's temporary file older than this whose process is gone was left by a
#: creation that was killed: creating one takes well under a second. (The age guards a
#: folder shared with other machines, whose process ids mean nothing here.)
_ABANDONED_CREATION_S = 3600.0


def _remove_abandoned_creations(folder: Path) -> None:
    """Remove the temporary files (``.dm-PID-XXXX.creating``) that project creations
    killed part-way left in ``folder``."""
    now = _dt.datetime.now().timestamp()
    for candidate in folder.glob(".dm-*-*.creating"):
        try:
            pid = int(candidate.name.split("-")[1])
            old = now - candidate.stat().st_mtime > _ABANDONED_CREATION_S
        except (ValueError, IndexError, OSError):
            continue
        if old and not _process_alive(pid):
            _remove_quietly(candidate)


def _process_alive(pid: object) -> bool:
    """Whether process ``pid`` of this machine runs (POSIX; elsewhere assumed so)."""
    if os.name != "posix" or not isinstance(pid, int) or pid <= 0:
        return True  # os.kill(pid, 0) would end the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _utc_now() -> str:
    return _utc_text(_dt.datetime.now(_dt.timezone.utc))


def _utc_text(moment: _dt.datetime) -> str:
    """``moment`` as the store writes times: ISO 8601 UTC to the millisecond, ``Z``."""
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stamp_after(cur: sqlite3.Cursor, run_id: int) -> str:
    """Now, or a millisecond after the run's latest split, merge or site decision when
    the clock gives no later time.

    The reviewer's splits, merges and decisions on whole sites are kept in two tables and
    applied in the order of their times (``services.maps.reviewer_groups``); a decision
    and a merge made within one millisecond, or after the clock was set back, would
    otherwise be applied in the wrong order (the merge first, and the decision then
    splitting the merged site again)."""
    now = _utc_now()
    cur.execute("SELECT MAX(created_utc) FROM (SELECT created_utc FROM site_groups WHERE run_id = ? "
                "UNION ALL SELECT created_utc FROM site_decisions WHERE run_id = ?)", (run_id, run_id))
    latest = cur.fetchone()[0]
    if latest is None or now > latest:
        return now
    try:
        after = _dt.datetime.fromisoformat(latest) + _dt.timedelta(milliseconds=1)
    except ValueError:  # not a time this store wrote
        return now
    return _utc_text(after)


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} must be JSON-serialisable (finite numbers, str, list, dict); got {value!r}: {exc}") from None


def _row_id(cur: sqlite3.Cursor) -> int:
    """The id of the row the cursor just inserted."""
    if cur.lastrowid is None:  # pragma: no cover - only after an INSERT
        raise StoreError("no row was inserted")
    return int(cur.lastrowid)


def current_user() -> str:
    """Who is editing: the login name as one line of text (:func:`core.text.one_line`),
    or ``"unknown"`` where there is none. The name is read from ``LOGNAME`` or ``USER``
    first, which a shell or a script may set to anything: one with a line break, a
    terminal escape or a right-to-left override went as it was into every decision
    (``survey decide``) and from there into the exports' ``reviewed_by``."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - getuser raises OSError/KeyError on odd systems
        return "unknown"
    return one_line(name) or "unknown"


@lru_cache(maxsize=256)
def _reviewer(recorded: str) -> str:
    """A reviewer's name as read from a project: one line of text (:func:`core.text.one_line`),
    whatever an older damagemap recorded (a name with a line break, a terminal escape or a
    right-to-left override, which every export's ``reviewed_by`` then carried)."""
    return one_line(str(recorded))


#: How many masks read from projects are kept decoded (:func:`_stored_mask`).
MASK_CACHE_SIZE = 100_000


@lru_cache(maxsize=MASK_CACHE_SIZE)
def _stored_mask(blob: bytes, height_px: int, width_px: int) -> RleMask:
    """:meth:`RleMask.from_bytes`, kept: the map is built again after every review decision
    from the run's detections read again, their masks as they were (a redrawn one is
    other bytes). The same bytes give back the same mask object."""
    return RleMask.from_bytes(blob, height_px, width_px)


#: How many detections read from projects are kept, by their whole row (:func:`_kept_detection`).
DETECTION_CACHE_SIZE = 200_000
_DETECTION_COLUMN_NAMES = tuple(name.strip() for name in _DETECTION_COLUMNS.split(","))


@lru_cache(maxsize=DETECTION_CACHE_SIZE)
def _kept_detection(row: tuple[Any, ...]) -> Detection:
    """:func:`_row_to_detection` of a row of :data:`_DETECTION_COLUMNS` as a tuple, kept:
    the map is built again after every review decision from the run's detections read
    again, nearly all of them as they were. A row read again gives back the very same
    object (which the map's own caches then recognise at once); a changed row is another
    key."""
    return _row_to_detection(dict(zip(_DETECTION_COLUMN_NAMES, row)))


def clear_cache() -> None:
    """Forget the detections and masks kept as read (tests, benchmarks; memory)."""
    _kept_detection.cache_clear()
    _stored_mask.cache_clear()


def _row_to_detection(row: sqlite3.Row | dict[str, Any]) -> Detection:
    mask = None
    if row["mask_counts"] is not None:
        mask = _stored_mask(bytes(row["mask_counts"]), int(row["mask_height"]), int(row["mask_width"]))
    building = None
    if row["bx1"] is not None:
        building = (row["bx1"], row["by1"], row["bx2"], row["by2"])
    return Detection(
        frame_index=row["frame_index"],
        level=DamageLevel(row["level"]),
        score=row["score"],
        box_xyxy_px=(row["x1"], row["y1"], row["x2"], row["y2"]),
        mask=mask,
        building_box_xyxy_px=building,
        refined_score=row["refined_score"],
        origin=Origin(row["origin"]),
        review=ReviewState(row["review"]),
        id=row["id"],
    )


def _detection_fields(det: Detection, *, deleted: bool) -> dict[str, Any]:
    """Every field of a new row, by state field name (see :func:`_state_columns`)."""
    return {
        "level": det.level, "score": det.score, "refined_score": det.refined_score, "box_xyxy_px": det.box_xyxy_px,
        "building_box_xyxy_px": det.building_box_xyxy_px, "mask": det.mask, "origin": det.origin,
        "review": det.review, "deleted": deleted,
    }


def _state_columns(state: Mapping[str, Any]) -> dict[str, Any]:
    """Map (partial) detection state fields (``core.review.STATE_FIELDS``, Python values)
    to column values."""
    cols: dict[str, Any] = {}
    for key, value in state.items():
        if key == "level":
            cols["level"] = int(value)
        elif key in ("score", "refined_score"):
            cols[key] = None if value is None else float(value)
        elif key == "box_xyxy_px":
            cols.update(zip(("x1", "y1", "x2", "y2"), (float(v) for v in value)))
        elif key == "building_box_xyxy_px":
            values = (None,) * 4 if value is None else tuple(float(v) for v in value)
            cols.update(zip(("bx1", "by1", "bx2", "by2"), values))
        elif key == "mask":
            if value is None:
                cols.update(mask_height=None, mask_width=None, mask_counts=None)
            else:
                cols.update(mask_height=value.height_px, mask_width=value.width_px, mask_counts=value.to_bytes())
        elif key in ("origin", "review"):
            cols[key] = value.value
        elif key == "deleted":
            cols["deleted"] = int(bool(value))
        else:  # pragma: no cover - guarded by core.review.STATE_FIELDS
            raise KeyError(key)
    return cols


def _path_text(path: str | os.PathLike[str]) -> str | bytes:
    """A path as stored in ``meta``: text, or the file system's bytes for a name that is
    not valid UTF-8 (legal on Linux), so it round-trips exactly."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def _path_rows(project: Path, name: str, path: str | os.PathLike[str] | None) -> list[tuple[str, str | bytes | None]]:
    """``meta`` rows for a referenced file, relative to the project's folder (so a
    project moved together with its video still finds it) and absolute (for a project
    moved on its own)."""
    relative: str | bytes | None = None
    absolute: str | bytes | None = None
    if path is not None:
        target = Path(path).absolute()
        absolute = _path_text(target)
        beside = relative_to_project(project, target)
        relative = None if beside is None else _path_text(beside)
    return [(f"{name}_path_relative", relative), (f"{name}_path_absolute", absolute)]


def relative_to_project(project: Path, target: Path) -> str | None:
    """``target`` relative to the folder of the project file ``project`` (``/``-separated),
    kept with a referenced file so that it follows a project moved together with it;
    ``None`` on another drive (Windows)."""
    try:
        return Path(os.path.relpath(target, project.parent)).as_posix()
    except ValueError:
        return None


def resolve_referenced(project: Path, relative: str | None, absolute: str | None) -> Path | None:
    """Where a file the project file ``project`` references is now: beside the project as
    it was (``relative``) when a file is there or the ``absolute`` path leads nowhere (a
    project moved with its files, or handed over without them: the file is looked for
    there and named), else the absolute path."""
    if relative is not None:
        candidate = Path(os.path.normpath(project.parent / relative))
        if candidate.exists() or absolute is None or not Path(absolute).exists():
            return candidate
    return None if absolute is None else Path(absolute)


def _stored_path(value: object) -> str | None:
    if value is None:
        return None
    return os.fsdecode(value) if isinstance(value, bytes) else str(value)


#: Project files this process has checked (``PRAGMA quick_check``) and found sound, by
#: path, with the file's identity then (device, inode, size, modification time): opening
#: the same unchanged file again (the window's background jobs do, for every map) skips
#: the check, which reads the whole file. Refreshed after this process's own checkpoints.
_SOUND: dict[str, tuple[int, int, int, int]] = {}
_SOUND_LOCK = threading.Lock()


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _known_sound(path: Path) -> bool:
    identity = _identity(path)
    with _SOUND_LOCK:
        return identity is not None and _SOUND.get(str(path)) == identity


def _remember_sound(path: Path, *, only_if_known: bool = False) -> None:
    identity = _identity(path)
    with _SOUND_LOCK:
        if identity is None or (only_if_known and str(path) not in _SOUND):
            return
        _SOUND[str(path)] = identity


def _link_exclusively(source: Path, target: Path) -> None:
    """Give the finished file ``source`` the name ``target``, never replacing a file."""
    try:
        os.link(source, target)
        return
    except FileExistsError:
        raise ProjectExistsError(
            f"{str(target)!r} already exists (created by someone else a moment ago); open it, or choose another name"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise StoreError(f"cannot create project {str(target)!r}: {exc.strerror or exc}") from None
    # A file system without hard links (FAT, exFAT, some network shares): reserve the
    # name exclusively, then put the finished file in its place.
    try:
        descriptor = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        raise ProjectExistsError(
            f"{str(target)!r} already exists (created by someone else a moment ago); open it, or choose another name"
        ) from None
    except OSError as exc:
        raise StoreError(f"cannot create project {str(target)!r}: {exc.strerror or exc}") from None
    reserved = os.fstat(descriptor)
    os.close(descriptor)
    try:
        os.replace(source, target)
    except OSError as exc:
        now = _identity(target)
        if now is not None and now[:3] == (reserved.st_dev, reserved.st_ino, 0):
            _remove_quietly(target)  # our own empty placeholder, nobody else's file
        raise StoreError(f"cannot create project {str(target)!r}: {exc.strerror or exc}") from None


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _insert_run(cur: sqlite3.Cursor, model: dict[str, Any], settings: dict[str, Any]) -> int:
    """Record a new analysis run in the open write transaction; its id."""
    cur.execute(
        "INSERT INTO runs (created_utc, model_json, settings_json) VALUES (?, ?, ?)",
        (_utc_now(), _json(model, "run model"), _json(settings, "run settings")),
    )
    return _row_id(cur)


def _private_copy(path: Path, wal: Path) -> Path:
    """A private folder holding a copy of the project ``path`` and its write-ahead log
    ``wal``, for SQLite to read both where it may write the log's index."""
    folder = Path(tempfile.mkdtemp(prefix="damagemap-read-only-"))
    try:
        shutil.copyfile(path, folder / path.name)
        shutil.copyfile(wal, folder / f"{path.name}-wal")
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise StoreError(f"cannot read project {str(path)!r}: its folder is read-only and a copy to read its "
                         f"write-ahead log ({wal.name}) from could not be made in {folder.parent} "
                         f"({exc.strerror or exc}); copy the project and {wal.name} to a folder you can "
                         "write to") from None
    return folder


def _long_path_hint(path: Path, exc: BaseException) -> str:
    if "unable to open" in str(exc) and len(os.fsencode(str(path))) > _SQLITE_MAX_PATH_BYTES:
        return (f"; the path is {len(os.fsencode(str(path)))} bytes long and SQLite opens at most "
                f"{_SQLITE_MAX_PATH_BYTES}: use a shorter folder or file name")
    return ""


def _creation_failure(path: Path, exc: BaseException) -> str:
    return storage_failure_message("create", exc, where=repr(str(path)), hint=_long_path_hint(path, exc), path=path)


def _open_failure(path: Path, exc: sqlite3.DatabaseError, *, read_only: bool) -> str:
    message = storage_failure_message("open", exc, where=repr(str(path)), mode="read-only " if read_only else "",
                                      path=path,
                                      hint=_long_path_hint(path, exc))
    beside = path.with_suffix(PROJECT_SUFFIX)
    if beside != path and beside.is_file() and classify_storage_failure(exc) == "not-a-database":
        # the video given where its project was meant: `damagemap info flight.mp4`
        return (f"{str(path)!r} is not a damagemap project (not an SQLite file); the project beside it is "
                f"{str(beside)!r}: give that")
    return message


# -------------------------------------------------------------------------- store


class ProjectStore:
    """A damagemap project file.

    Use :meth:`create` or :meth:`open`, never the constructor; both return a store that
    is also a context manager::

        with ProjectStore.create("site.dmproj", video_path="flight.mp4") as store:
            run_id = store.start_run(model={...}, settings={...})
            store.write_frame(run_id, frame, detections)
    """

    def __init__(
        self, path: Path, connection: sqlite3.Connection, *, _token: object = None, read_only: bool = False
    ) -> None:
        if _token is not _CONSTRUCT:
            raise TypeError("ProjectStore: use ProjectStore.create(path, ...) or ProjectStore.open(path)")
        self._path = path
        self._conn = connection
        self._lock = threading.RLock()
        self._closed = False
        self._read_only = read_only
        self._one_write = False  # inside :meth:`one_write` (its thread holds ``_lock``)
        self._frames_since_checkpoint = 0
        #: whether the frames table has the frame-quality columns (schema 3 on)
        self._frame_quality_stored = True
        self._site_numbers_stored = True
        self._writer_runs: dict[int, dict[str, Any]] = {}  # run -> this process, as recorded with its frames
        #: the private folder holding the copy read instead of the file (see :meth:`open`), removed on close
        self._private_copy: Path | None = None

    # ---------------------------------------------------------------- life cycle

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        video_path: str | os.PathLike[str],
        telemetry_path: str | os.PathLike[str] | None = None,
    ) -> ProjectStore:
        """Create a new project file at ``path`` (refused if it exists).

        The file is built complete (schema, video and telemetry paths) under a temporary
        name in the same folder and then linked to ``path`` without replacing anything:
        of two processes creating the same project at once exactly one succeeds, the
        other gets :class:`StoreError` ("already exists"), and nobody ever sees a
        half-created project.
        """
        path = Path(path).absolute()
        if path.is_dir():
            raise StoreError(f"{str(path)!r} is a folder; give a project file name such as 'site{PROJECT_SUFFIX}' inside it")
        if path.exists():
            raise ProjectExistsError(f"{str(path)!r} already exists; open it with ProjectStore.open() or choose another name")
        if not path.parent.is_dir():
            raise StoreError(f"cannot create project {str(path)!r}: folder {str(path.parent)!r} does not exist")
        if not os.access(path.parent, os.W_OK):  # SQLite would only say "unable to open database file"
            raise StoreError(f"cannot create project {str(path)!r}: the folder {str(path.parent)!r} is read-only "
                             "(cannot be written to); choose a folder you can write to")
        _remove_abandoned_creations(path.parent)
        temporary = path.parent / f".dm-{os.getpid()}-{secrets.token_hex(4)}.creating"
        try:
            try:
                conn = sqlite3.connect(temporary, isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise StoreError(_creation_failure(path, exc)) from None
            try:
                builder = cls(path, conn, _token=_CONSTRUCT)
                # No journal file beside the temporary one: it is thrown away on any failure.
                conn.execute("PRAGMA journal_mode = MEMORY")
                with builder._transaction() as cur:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            cur.execute(statement)
                    cur.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                    cur.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    cur.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        [("application", "damagemap"), ("created_utc", _utc_now()),
                         *_path_rows(path, "video", video_path), *_path_rows(path, "telemetry", telemetry_path)],
                    )
            except (StoreError, sqlite3.Error) as exc:
                raise StoreError(_creation_failure(path, exc.__cause__ or exc)) from None
            finally:
                conn.close()
            mine = os.stat(temporary)
            _link_exclusively(temporary, path)
        finally:
            _remove_quietly(temporary)
        try:
            return cls.open(path)
        except BaseException:
            # Remove only the file this process created: never one that replaced it meanwhile.
            try:
                now = os.stat(path)
            except OSError:
                now = None
            if now is not None and (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):
                _remove_quietly(path)
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> ProjectStore:
        """Open an existing project; :class:`StoreError` naming ``path`` if it is not one,
        is damaged, or cannot be read.

        With ``read_only`` (for viewing and exporting), or when the file or its folder is
        not writable, the project is opened read-only: everything can be read, and every
        change raises :class:`StoreError` saying the project is read-only.
        """
        path = Path(path).absolute()
        if path.is_dir():
            raise StoreError(f"{str(path)!r} is a folder, not a project; give the project file ({PROJECT_SUFFIX}) inside it")
        if not path.is_file():
            if path.exists():  # a named pipe would be waited on for ever by whoever reads it
                raise StoreError(f"{str(path)!r} is {special_file_kind(path.stat().st_mode)}, not a project file; give the "
                                 "project file itself")
            raise StoreError(f"no project at {str(path)!r}: the file does not exist")
        if path.stat().st_size == 0:
            raise StoreError(
                f"{str(path)!r} is empty (0 bytes), not a damagemap project: it was cut off while being "
                "created or copied; copy it again, or delete it and create the project again"
            )
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
        read_only = read_only or not writable
        uri = path.as_uri()
        private_copy = None
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        if writable:
            # Read-only asked of a project that can be written (to view or map it) is this
            # class's guard: SQLite's own read-only connection would leave the write-ahead
            # log and its index beside the file when it closes, where the last connection
            # to close tidies them away.
            uri += "?mode=rw"
        elif os.access(path.parent, os.W_OK | os.X_OK) or (wal.exists() and shm.exists()):
            uri += "?mode=ro"
        elif wal.is_file() and wal.stat().st_size > 0:
            # A folder nobody may write to, with the project's write-ahead log copied beside
            # it but not its index: SQLite reads the log only through an index it cannot
            # create there, and immutable mode would leave the log's frames out, silently
            # showing the project as it was some frames ago. Read a private copy of both.
            private_copy = _private_copy(path, wal)
            uri = (private_copy / path.name).as_uri() + "?mode=ro"
        else:
            # A folder nobody may write to (a locked SD card, a read-only share): SQLite
            # cannot create the WAL index beside the file, and nobody can change it.
            uri += "?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            if private_copy is not None:
                shutil.rmtree(private_copy, ignore_errors=True)
            raise StoreError(f"cannot open project {str(path)!r}: {exc}{_long_path_hint(path, exc)}") from None
        store = cls(path, conn, _token=_CONSTRUCT, read_only=read_only)
        store._private_copy = private_copy
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise StoreError(
                    f"{str(path)!r} is not a damagemap project (an SQLite file of another application); "
                    "create a project with `damagemap analyze VIDEO --project NEW`"
                )
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None or not isinstance(row[0], int) or row[0] < 1:  # versions start at 1
                said = "missing" if row is None or not isinstance(row[0], int) else f"{row[0]}, which no damagemap wrote"
                raise StoreError(f"{str(path)!r}: the project's schema version is {said} (the file is damaged); "
                                 "open a backup, or analyse the video again into a new project")
            version = row[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{str(path)!r} was written by a newer damagemap (schema {version}, this one reads up to "
                    f"{SCHEMA_VERSION}); update damagemap to open it"
                )
            if not _known_sound(path):
                problems = [
                    line.strip() for row in conn.execute("PRAGMA quick_check(3)").fetchall()
                    for line in str(row[0]).splitlines() if line.strip() and not line.startswith("***")
                ]
                if problems != ["ok"]:
                    raise StoreError(
                        f"{str(path)!r} is damaged ({'; '.join(problems[:2])}); restore a copy of it "
                        "(nothing is written into a damaged project)"
                    )
                _remember_sound(path)
            store._configure()
            if version < OLDEST_READABLE_SCHEMA and read_only:
                raise StoreError(
                    f"{str(path)!r} is read-only and was written by an older damagemap (schema {version}); "
                    "copy it to a folder you can write to, so it can be upgraded, and open the copy"
                )
            if not read_only:
                store._migrate(version)
            store._frame_quality_stored = not read_only or version >= 3  # upgraded, or read as it is
            store._site_numbers_stored = not read_only or version >= 4
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(_open_failure(path, exc, read_only=read_only)) from None
        except BaseException:
            conn.close()
            raise
        return store

    @property
    def read_only(self) -> bool:
        """Whether the project was opened read-only (see :meth:`open`)."""
        return self._read_only

    def _configure(self) -> None:
        conn = self._conn
        conn.row_factory = sqlite3.Row
        if not self._read_only and str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives a killed process (only power loss can drop the
        # last commits) and keeps per-frame commits cheap.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")

    def _migrate(self, version: int) -> None:
        """Upgrade a file of schema ``version``, one version a transaction.

        Foreign keys are off meanwhile, as SQLite's own way of changing a table's
        definition asks (a table built again and renamed: dropping the old one would
        otherwise delete what refers to it, or be refused); the lines are copied as they
        are, so every reference holds as it did.
        """
        if version >= SCHEMA_VERSION:
            return
        self._conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set before it
        try:
            while version < SCHEMA_VERSION:
                version += 1
                with self._transaction() as cur:
                    for statement in _MIGRATIONS[version].split(";"):
                        if statement.strip():
                            cur.execute(statement)
                    cur.execute("UPDATE schema_version SET version = ?", (version,))
        finally:
            self._conn.execute("PRAGMA foreign_keys = ON")

    def checkpoint(self, *, wait: bool = True) -> bool:
        """Copy what the write-ahead log holds into the project file itself, so the
        ``.dmproj`` copied on its own has every change made so far.

        ``wait`` empties the log (``TRUNCATE``), waiting briefly for readers in other
        processes; without it only what no reader still needs is copied (``PASSIVE``,
        never blocks). Returns whether everything was copied; a read-only or closed
        project returns ``False``. Called on its own at the end of a run, every
        :data:`CHECKPOINT_EVERY_FRAMES` frames, after each review edit and on close.
        """
        with self._lock:
            if self._closed or self._read_only:
                return False
            try:
                if not wait:
                    busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                else:
                    self._conn.execute(f"PRAGMA busy_timeout = {_CHECKPOINT_WAIT_MS}")
                    try:
                        busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    finally:
                        self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            except sqlite3.Error:  # a checkpoint is an optimisation of durability; the log still holds it all
                return False
            _remember_sound(self._path, only_if_known=True)  # this process's own writes are no damage
            return not busy

    def close(self) -> None:
        """Close the file (after a checkpoint); further calls raise :class:`StoreError`."""
        with self._lock:
            if not self._closed:
                self.checkpoint()
                self._closed = True
                self._conn.close()
                _remember_sound(self._path, only_if_known=True)
                if self._private_copy is not None:
                    shutil.rmtree(self._private_copy, ignore_errors=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProjectStore({str(self._path)!r}{', closed' if self._closed else ''})"

    @contextmanager
    def one_write(self) -> Iterator[None]:
        """Every write made inside, on this thread, as one transaction: all stored, or none
        (a review step of many sightings cut by a full disk or a kill stored a part of
        them, and the history it left could not be read back: no step could be undone)."""
        with self._lock:
            if self._one_write:  # within another: a part of its transaction
                yield
                return
            with self._transaction():
                self._one_write = True
                try:
                    yield
                finally:
                    self._one_write = False

    @contextmanager
    def _transaction(self, *, checkpoint: bool = True) -> Iterator[sqlite3.Cursor]:
        """One write transaction (``BEGIN IMMEDIATE`` so writers queue, never deadlock),
        followed by a checkpoint that never blocks (``checkpoint=False`` skips it); inside
        :meth:`one_write`, a part of its transaction.

        SQLite's failures (a full disk, a damaged or read-only file, a lock held too
        long) become :class:`StoreError` saying what to do; a constraint violation
        (:class:`sqlite3.IntegrityError`) is left to the caller.
        """
        with self._lock:
            if self._one_write:  # the enclosing one_write's transaction begins and ends it
                cur = self._conn.cursor()
                try:
                    yield cur
                except sqlite3.IntegrityError:
                    raise
                except sqlite3.Error as exc:
                    raise StoreError(self._failure(exc, writing=True)) from exc
                finally:
                    cur.close()
                return
            if self._closed:
                raise StoreError(f"project {str(self._path)!r} is closed")
            if self._read_only:
                raise StoreError(
                    f"{str(self._path)!r} is read-only (the file or its folder cannot be written): it can be viewed "
                    "and exported, not changed; copy it to a folder you can write to"
                )
            cur = self._conn.cursor()
            try:
                try:
                    cur.execute("BEGIN IMMEDIATE")
                    yield cur
                    cur.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        try:
                            cur.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass  # SQLite rolled back on its own (a full disk, an I/O error)
                    raise
                finally:
                    cur.close()
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise StoreError(self._failure(exc, writing=True)) from exc
            if checkpoint:
                self.checkpoint(wait=False)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            if self._closed:
                raise StoreError(f"project {str(self._path)!r} is closed")
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(self._failure(exc, writing=False)) from exc

    def _failure(self, exc: sqlite3.Error, *, writing: bool) -> str:
        """One line for an SQLite failure: what it means for the user, and what to do."""
        return storage_failure_message("use", exc, where=repr(str(self._path)), verb="write" if writing else "read",
                                       path=self._path)

    # --------------------------------------------------------- project references

    @property
    def path(self) -> Path:
        return self._path

    @property
    def video_path(self) -> Path:
        """The analysed video, absolute (resolved from the project's folder)."""
        path = self._get_path_meta("video")
        if path is None:  # only a file whose creation was cut off by an older damagemap
            raise StoreError(
                f"{str(self._path)!r} records no video (its creation was interrupted); delete it and "
                "create the project again with `damagemap analyze VIDEO --project PROJECT`"
            )
        return path

    @property
    def telemetry_path(self) -> Path | None:
        return self._get_path_meta("telemetry")

    def set_telemetry(self, path: str | os.PathLike[str] | None) -> None:
        self._set_path_meta("telemetry", path)

    def set_video(self, path: str | os.PathLike[str]) -> None:
        """Point the project at a moved or renamed video."""
        self._set_path_meta("video", path)

    def _set_path_meta(self, name: str, path: str | os.PathLike[str] | None) -> None:
        with self._transaction() as cur:
            cur.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                _path_rows(self._path, name, path),
            )

    def _get_path_meta(self, name: str) -> Path | None:
        rows = dict(
            (r["key"], _stored_path(r["value"]))
            for r in self._query(
                "SELECT key, value FROM meta WHERE key IN (?, ?)", (f"{name}_path_relative", f"{name}_path_absolute")
            )
        )
        return resolve_referenced(self._path, rows.get(f"{name}_path_relative"), rows.get(f"{name}_path_absolute"))

    # ------------------------------------------------------------------- settings

    def get_setting(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value_json FROM settings WHERE key = ?", (key,))
        return default if not rows else self._loads(rows[0]["value_json"], f"setting {key!r}")

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value; ``None`` removes the key."""
        with self._transaction() as cur:
            if value is None:
                cur.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                cur.execute(
                    "INSERT INTO settings (key, value_json) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json",
                    (key, _json(value, f"setting {key!r}")),
                )

    def settings(self) -> dict[str, Any]:
        """Every stored setting, key -> value (the typed ones and any other)."""
        return {
            r["key"]: self._loads(r["value_json"], f"setting {r['key']!r}")
            for r in self._query("SELECT key, value_json FROM settings")
        }

    def project_settings(self) -> ProjectSettings:
        """The typed georeferencing and map settings (defaults for the ones never set).

        Raises
        ------
        StoreError
            If a stored value is not valid (a file edited by hand).
        """
        try:
            return ProjectSettings.from_mapping(self.settings())
        except (TypeError, ValueError) as exc:
            raise StoreError(f"project {str(self._path)!r}: invalid settings ({exc}); set them again") from None

    def set_project_settings(self, settings: ProjectSettings) -> None:
        """Store every field of ``settings`` in one transaction (``None`` removes the key)."""
        with self._transaction() as cur:
            for key, value in settings.to_mapping().items():
                if value is None:
                    cur.execute("DELETE FROM settings WHERE key = ?", (key,))
                else:
                    cur.execute(
                        "INSERT INTO settings (key, value_json) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json",
                        (key, _json(value, f"setting {key!r}")),
                    )

    # ----------------------------------------------------------------------- runs

    def start_or_join_run(self, *, model: dict[str, Any], settings: dict[str, Any],
                          same: Callable[[RunInfo], bool]) -> tuple[int, bool]:
        """The latest run ``same`` accepts, or a new run recorded with ``model`` and
        ``settings``; ``(run id, whether it was there already)``. Looked for and made in
        one write transaction: two processes starting the same analysis at once share one
        run (the second is then told another is analysing it) instead of each making its own."""
        with self._transaction() as cur:
            for row in cur.execute(_RUNS_QUERY + " ORDER BY r.id DESC").fetchall():
                if same(run := self._run_info(row)):
                    return run.id, True
            return _insert_run(cur, model, settings), False

    def start_run(self, *, model: dict[str, Any], settings: dict[str, Any]) -> int:
        """Record a new analysis run and return its id."""
        with self._transaction() as cur:
            return _insert_run(cur, model, settings)

    def runs(self) -> list[RunInfo]:
        return [self._run_info(r) for r in self._query(_RUNS_QUERY + " ORDER BY r.id")]

    def _loads(self, text: Any, what: str) -> Any:
        """A JSON column's value; :class:`StoreError` saying the file is damaged when it
        is not JSON (bytes overwritten on the disk, a file edited by hand)."""
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"{str(self._path)!r} is damaged (the {what} is not readable: {exc}); restore a copy of it"
            ) from None

    def run(self, run_id: int) -> RunInfo:
        for info in self.runs():
            if info.id == run_id:
                return info
        raise StoreError(f"project {str(self._path)!r} has no run {run_id!r}")

    def _run_info(self, row: sqlite3.Row) -> RunInfo:
        return RunInfo(
            id=row["id"],
            created_utc=row["created_utc"],
            model=self._loads(row["model_json"], f"model of run {row['id']}"),
            settings=self._loads(row["settings_json"], f"settings of run {row['id']}"),
            finished=row["finished_utc"] is not None,
            frames_done=row["frames_done"],
            finished_utc=row["finished_utc"],
        )

    def latest_run_id(self) -> int | None:
        rows = self._query("SELECT MAX(id) AS id FROM runs")
        latest = rows[0]["id"]
        return None if latest is None else int(latest)

    def update_run_settings(self, run_id: int, settings: dict[str, Any]) -> None:
        """Replace a run's settings (e.g. to note that SRN was skipped, and why)."""
        with self._transaction() as cur:
            cur.execute("UPDATE runs SET settings_json = ? WHERE id = ?", (_json(settings, "run settings"), run_id))
            self._check_updated(cur, "run", run_id)

    def finish_run(self, run_id: int) -> None:
        """Mark the run complete, and empty the write-ahead log into the project file."""
        with self._transaction(checkpoint=False) as cur:
            cur.execute("UPDATE runs SET finished_utc = ? WHERE id = ?", (_utc_now(), run_id))
            self._check_updated(cur, "run", run_id)
        self.checkpoint()

    def _check_updated(self, cur: sqlite3.Cursor, what: str, key: object) -> None:
        if cur.rowcount == 0:
            raise StoreError(f"project {str(self._path)!r} has no {what} {key!r}")

    # --------------------------------------------------------------------- frames

    def write_frame(
        self,
        run_id: int,
        frame: Frame,
        detections: Iterable[Detection],
        *,
        refined_scores: Mapping[int, float] | None = None,
    ) -> list[int]:
        """Store one analysed frame and its detections in one transaction.

        A frame with no detections is stored too (it was analysed). Each frame is stored
        at most once per run: a second write raises :class:`StoreError`.
        ``refined_scores`` (detection id -> score) updates earlier detections in the same
        transaction: a streaming SRN finishes the previous frame's scores as this frame
        arrives, and a killed run must never keep one without the other.

        Returns
        -------
        list[int]
            The new detection ids, in the order given.
        """
        detections = list(detections)
        for det in detections:
            if det.frame_index != frame.index:
                raise StoreError(
                    f"write_frame: detection for frame {det.frame_index} given with frame {frame.index}"
                )
        try:
            with self._transaction(checkpoint=False) as cur:
                quality = (None, None, None) if frame.quality is None else (
                    frame.quality.mean, frame.quality.contrast, frame.quality.sharpness)
                cur.execute(
                    "INSERT INTO frames (run_id, frame_index, pts_s, width_px, height_px, analysed_utc, "
                    "quality_mean, quality_contrast, quality_sharpness) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, frame.index, float(frame.pts_s), frame.width_px, frame.height_px, _utc_now(), *quality),
                )
                ids = [self._insert_detection(cur, run_id, det) for det in detections]
                if refined_scores:
                    self._update_refined(cur, run_id, refined_scores)
                # Who is analysing, and when it last stored a frame: for another process to name.
                writer = self._writer_runs.setdefault(run_id, _this_process())
                cur.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (f"run_{run_id}_writer", json.dumps({**writer, "last_utc": _utc_now()})),
                )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                raise StoreError(self._duplicate_frame(run_id, frame.index)) from None
            raise StoreError(f"project {str(self._path)!r}: cannot store frame {frame.index} of run {run_id}: {exc}") from None
        self._frames_since_checkpoint += 1
        if self._frames_since_checkpoint >= CHECKPOINT_EVERY_FRAMES:
            self._frames_since_checkpoint = 0
            self.checkpoint(wait=False)
        return ids

    def active_writer(self, run_id: int) -> dict[str, Any] | None:
        """Another process storing frames into the run now: its record (``pid``, ``host``,
        ``user``, ``since_utc``, ``last_utc``) when it stored a frame within the last
        :data:`WRITER_ACTIVE_S` seconds and, on this machine, still runs; else ``None``."""
        try:
            rows = self._query("SELECT value FROM meta WHERE key = ?", (f"run_{run_id}_writer",))
            writer = json.loads(rows[0]["value"]) if rows else None
            if not isinstance(writer, dict):
                return None
            last = _dt.datetime.fromisoformat(str(writer["last_utc"]).replace("Z", "+00:00"))
        except (StoreError, ValueError, TypeError, KeyError):
            return None
        if writer.get("host") == socket.gethostname() and (
            writer.get("pid") == os.getpid() or not _process_alive(writer.get("pid"))
        ):
            return None
        age_s = (_dt.datetime.now(_dt.timezone.utc) - last).total_seconds()
        return writer if age_s <= WRITER_ACTIVE_S else None

    def analysed_elsewhere(self) -> tuple[RunInfo, dict[str, Any]] | None:
        """The unfinished run another process is storing frames into now, newest first,
        with that process's record (:meth:`active_writer`); ``None`` when none is."""
        for run in reversed(self.runs()):
            writer = None if run.finished else self.active_writer(run.id)
            if writer is not None:
                return run, writer
        return None

    def _duplicate_frame(self, run_id: int, frame_index: int) -> str:
        message = f"project {str(self._path)!r}: frame {frame_index} is already stored in run {run_id}"
        try:
            rows = self._query("SELECT value FROM meta WHERE key = ?", (f"run_{run_id}_writer",))
            writer = json.loads(rows[0]["value"]) if rows else None
        except (StoreError, ValueError, TypeError):
            writer = None
        if isinstance(writer, dict) and writer.get("pid") != os.getpid():
            message += f"; {describe_writer(writer)} is analysing this project now: wait for it to finish"
        return message

    def _insert_detection(self, cur: sqlite3.Cursor, run_id: int, det: Detection, *, deleted: bool = False) -> int:
        cols = {"run_id": run_id, "frame_index": det.frame_index}
        cols.update(_state_columns(_detection_fields(det, deleted=deleted)))
        names = ", ".join(cols)
        marks = ", ".join("?" * len(cols))
        cur.execute(f"INSERT INTO detections ({names}) VALUES ({marks})", tuple(cols.values()))
        return _row_id(cur)

    def analysed_frames(self, run_id: int) -> dict[int, float]:
        """Frame index -> pts (s) of every frame stored in the run, in index order."""
        rows = self._query(
            "SELECT frame_index, pts_s FROM frames WHERE run_id = ? ORDER BY frame_index", (run_id,)
        )
        return {r["frame_index"]: r["pts_s"] for r in rows}

    def frame_qualities(self, run_id: int) -> dict[int, FrameQuality]:
        """Frame index -> what the frame measured (:class:`core.frame_quality.FrameQuality`),
        for the run's frames that were measured (frames stored before damagemap measured
        them are left out)."""
        if not self._frame_quality_stored:  # a schema-2 project opened read-only
            return {}
        rows = self._query(
            "SELECT frame_index, quality_mean, quality_contrast, quality_sharpness FROM frames "
            "WHERE run_id = ? AND quality_sharpness IS NOT NULL ORDER BY frame_index", (run_id,)
        )
        return {r["frame_index"]: FrameQuality(r["quality_mean"], r["quality_contrast"], r["quality_sharpness"])
                for r in rows}

    def update_refined_scores(self, run_id: int, scores: Mapping[int, float]) -> None:
        """Set SRN scores (``detection id -> score in [0, 1]``) in one transaction."""
        with self._transaction() as cur:
            self._update_refined(cur, run_id, scores)

    def _update_refined(self, cur: sqlite3.Cursor, run_id: int, scores: Mapping[int, float]) -> None:
        for det_id, score in scores.items():
            if not 0.0 <= float(score) <= 1.0:
                raise StoreError(f"refined score of detection {det_id} must be in [0, 1]; got {score!r}")
        cur.executemany(
            "UPDATE detections SET refined_score = ? WHERE id = ? AND run_id = ?",
            [(float(s), int(i), run_id) for i, s in scores.items()],
        )

    # ----------------------------------------------------------------- detections

    def detections(
        self, run_id: int, *, frame_index: int | None = None, include_deleted: bool = False, masks: bool = True
    ) -> list[Detection]:
        """Current detections of a run (review edits applied), by frame then id.
        ``masks=False``: without their masks (``mask`` None), for a list or a count: a long
        flight's masks take seconds to decode."""
        columns = _DETECTION_COLUMNS if masks else _DETECTION_COLUMNS.replace("mask_counts", "NULL AS mask_counts")
        sql = f"SELECT {columns} FROM detections WHERE run_id = ?"
        params: list[Any] = [run_id]
        if frame_index is not None:
            sql += " AND frame_index = ?"
            params.append(frame_index)
        if not include_deleted:
            sql += " AND deleted = 0"
        sql += " ORDER BY frame_index, id"
        return [_kept_detection(tuple(r)) for r in self._query(sql, params)]

    def detection(self, detection_id: int) -> Detection:
        """One detection by id (also a deleted one: its last state)."""
        rows = self._query(f"SELECT {_DETECTION_COLUMNS} FROM detections WHERE id = ?", (detection_id,))
        if not rows:
            raise StoreError(f"project {str(self._path)!r} has no detection {detection_id!r}")
        return _row_to_detection(rows[0])

    def detections_by_id(self, detection_ids: Iterable[int], *, include_deleted: bool = True) -> dict[int, Detection]:
        """Detections by id, in one query per 500 ids (a review's decisions name thousands:
        one :meth:`detection` each took 20 µs apiece); an id the project lacks is left out,
        as a deleted one is unless ``include_deleted``."""
        wanted = sorted({int(i) for i in detection_ids})
        found: dict[int, Detection] = {}
        for start in range(0, len(wanted), 500):  # under SQLite's limit on bound parameters
            chunk = wanted[start:start + 500]
            sql = (f"SELECT {_DETECTION_COLUMNS} FROM detections WHERE id IN ({', '.join('?' * len(chunk))})"
                   + ("" if include_deleted else " AND deleted = 0"))
            for row in self._query(sql, chunk):
                detection = _row_to_detection(row)
                found[int(detection.id)] = detection  # type: ignore[arg-type]
        return found

    def is_deleted(self, detection_id: int) -> bool:
        rows = self._query("SELECT deleted FROM detections WHERE id = ?", (detection_id,))
        if not rows:
            raise StoreError(f"project {str(self._path)!r} has no detection {detection_id!r}")
        return bool(rows[0]["deleted"])

    def detection_run_id(self, detection_id: int) -> int:
        rows = self._query("SELECT run_id FROM detections WHERE id = ?", (detection_id,))
        if not rows:
            raise StoreError(f"project {str(self._path)!r} has no detection {detection_id!r}")
        return int(rows[0]["run_id"])

    def level_counts(self, run_id: int) -> dict[DamageLevel, int]:
        """Number of (not deleted) detections per damage level."""
        rows = self._query(
            "SELECT level, COUNT(*) AS n FROM detections WHERE run_id = ? AND deleted = 0 GROUP BY level", (run_id,)
        )
        counts = {level: 0 for level in DamageLevel}
        counts.update({DamageLevel(r["level"]): r["n"] for r in rows})
        return counts

    def review_counts(self, run_id: int, *, min_score: float | None = None) -> dict[ReviewState, int]:
        """Number of (not deleted) detections per review state; with ``min_score``, of
        those shown at that score (scoring at least it, or accepted)."""
        sql = "SELECT review, COUNT(*) AS n FROM detections WHERE run_id = ? AND deleted = 0"
        params: list[Any] = [run_id]
        if min_score is not None:
            sql += f" AND {_SHOWN_AT_SCORE}"
            params += [ReviewState.ACCEPTED.value, min_score]
        rows = self._query(sql + " GROUP BY review", params)
        counts = {state: 0 for state in ReviewState}
        counts.update({ReviewState(r["review"]): r["n"] for r in rows})
        return counts

    def frame_level_counts(self, run_id: int) -> dict[int, dict[DamageLevel, int]]:
        """Per analysed frame, the number of detections per level (timeline strips)."""
        out: dict[int, dict[DamageLevel, int]] = {i: {} for i in self.analysed_frames(run_id)}
        rows = self._query(
            "SELECT frame_index, level, COUNT(*) AS n FROM detections WHERE run_id = ? AND deleted = 0 "
            "GROUP BY frame_index, level",
            (run_id,),
        )
        for r in rows:
            out.setdefault(r["frame_index"], {})[DamageLevel(r["level"])] = r["n"]
        return out

    def first_pending(self, run_id: int, *, after_frame: int | None = None,
                      min_score: float | None = None) -> Detection | None:
        """The first pending detection on a frame after ``after_frame`` (or the first at
        all); with ``min_score``, the first scoring at least it."""
        sql = f"SELECT {_DETECTION_COLUMNS} FROM detections WHERE run_id = ? AND deleted = 0 AND review = ?"
        params: list[Any] = [run_id, ReviewState.PENDING.value]
        if min_score is not None:
            sql += f" AND {_SHOWN_AT_SCORE}"
            params += [ReviewState.ACCEPTED.value, min_score]
        if after_frame is not None:
            sql += " AND frame_index > ?"
            params.append(after_frame)
        rows = self._query(sql + " ORDER BY frame_index, id LIMIT 1", params)
        return _row_to_detection(rows[0]) if rows else None

    # -------------------------------------------------------------- review support

    def record_edit(
        self,
        *,
        run_id: int,
        detection_id: int | None,
        kind: str,
        action: str,
        after: Mapping[str, Any],
        before_json: Mapping[str, Any],
        after_json: Mapping[str, Any],
        author: str,
        target_edit_id: int | None = None,
        new_detection: Detection | None = None,
    ) -> tuple[int, int]:
        """Change one detection and append the history line, in one transaction.

        This is :mod:`core.review`'s door into the file; call that module instead.
        ``after`` (state fields, Python values) is written to the row; ``before_json``
        and ``after_json`` are the history line's changed fields as
        :func:`core.review.encode_state` gives them. With ``new_detection`` a row is
        inserted first (``detection_id`` must be ``None``).

        Returns
        -------
        (edit_id, detection_id)
        """
        with self._transaction() as cur:
            if new_detection is not None:
                if detection_id is not None:
                    raise StoreError("record_edit: give either detection_id or new_detection")
                cur.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,))
                if cur.fetchone() is None:
                    raise StoreError(f"project {str(self._path)!r} has no run {run_id!r}")
                detection_id = self._insert_detection(cur, run_id, new_detection, deleted=True)
            assert detection_id is not None
            cols = _state_columns(after)
            if cols:
                assignments = ", ".join(f"{name} = ?" for name in cols)
                cur.execute(
                    f"UPDATE detections SET {assignments} WHERE id = ? AND run_id = ?",
                    (*cols.values(), detection_id, run_id),
                )
                self._check_updated(cur, "detection", detection_id)
            cur.execute(
                "INSERT INTO edits (run_id, detection_id, kind, action, target_edit_id, author, created_utc, "
                "before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    detection_id,
                    kind,
                    action,
                    target_edit_id,
                    author,
                    _utc_now(),
                    _json(dict(before_json), "edit history"),
                    _json(dict(after_json), "edit history"),
                ),
            )
            return _row_id(cur), detection_id

    def edit_count(self, run_id: int) -> int:
        """How many lines the run's review history has (applies, undos, redos, discards): a
        cheap version number for anything derived from the run's detections."""
        rows = self._query("SELECT COUNT(*) AS n FROM edits WHERE run_id = ?", (run_id,))
        return int(rows[0]["n"])

    def last_edit_id(self, run_id: int) -> int | None:
        """The newest line of run ``run_id``'s review history (``None``: none yet): what a
        review session compares to see whether another program reviewed meanwhile."""
        rows = self._query("SELECT MAX(id) AS id FROM edits WHERE run_id = ?", (run_id,))
        latest = rows[0]["id"]
        return None if latest is None else int(latest)

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: it changes when another connection (another
        program, or another thread's) commits to the project, never for this one's own
        writes; a cheap poll for changes made elsewhere."""
        return int(self._query("PRAGMA data_version")[0][0])

    def edit_history(self, run_id: int | None = None, *, detection_id: int | None = None) -> list[EditRecord]:
        """The review history, oldest first, optionally for one run or detection."""
        sql = "SELECT * FROM edits WHERE 1 = 1"
        params: list[Any] = []
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        if detection_id is not None:
            sql += " AND detection_id = ?"
            params.append(detection_id)
        return [
            EditRecord(
                id=r["id"],
                run_id=r["run_id"],
                detection_id=r["detection_id"],
                kind=r["kind"],
                action=r["action"],
                target_edit_id=r["target_edit_id"],
                author=_reviewer(r["author"]),
                created_utc=r["created_utc"],
                before=self._loads(r["before_json"], f"review history line {r['id']}"),
                after=self._loads(r["after_json"], f"review history line {r['id']}"),
            )
            for r in self._query(sql + " ORDER BY id", params)
        ]

    # --------------------------------------------------------------- site edits

    def add_site_group(self, run_id: int, kind: str, detection_ids: Iterable[int], *, author: str) -> int:
        """Record a split or merge (see :class:`SiteGroupRecord`); returns its id."""
        ids = sorted({int(i) for i in detection_ids})
        if kind not in ("split", "merge"):
            raise StoreError(f"site group kind must be 'split' or 'merge'; got {kind!r}")
        if not ids:
            raise StoreError(f"a site {kind} needs at least one detection")
        with self._transaction() as cur:
            cur.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,))
            if cur.fetchone() is None:
                raise StoreError(f"project {str(self._path)!r} has no run {run_id!r}")
            cur.execute(
                "INSERT INTO site_groups (run_id, kind, detection_ids_json, author, created_utc) VALUES (?, ?, ?, ?, ?)",
                (run_id, kind, json.dumps(ids), author, _stamp_after(cur, run_id)),
            )
            return _row_id(cur)

    def set_site_group_active(self, group_id: int, active: bool) -> None:
        """Undo (``False``) or redo (``True``) a split or merge."""
        with self._transaction() as cur:
            cur.execute(
                "UPDATE site_groups SET active = ?, changes = changes + 1 WHERE id = ?", (int(bool(active)), group_id)
            )
            self._check_updated(cur, "site group", group_id)

    def site_groups(self, run_id: int, *, active_only: bool = True) -> list[SiteGroupRecord]:
        """The run's splits and merges, oldest first."""
        sql = "SELECT * FROM site_groups WHERE run_id = ?" + (" AND active = 1" if active_only else "")
        return [
            SiteGroupRecord(r["id"], r["run_id"], r["kind"],
                            tuple(self._loads(r["detection_ids_json"], f"site group {r['id']}")),
                            bool(r["active"]), _reviewer(r["author"]), r["created_utc"])
            for r in self._query(sql + " ORDER BY id", (run_id,))
        ]

    def site_groups_version(self, run_id: int) -> int:
        """Changes to the run's splits and merges so far (made, undone, redone): a cheap
        version number for the sites derived from them."""
        rows = self._query("SELECT COALESCE(SUM(changes), 0) AS n FROM site_groups WHERE run_id = ?", (run_id,))
        return int(rows[0]["n"])

    def add_site_decision(
        self,
        run_id: int,
        *,
        lon_deg: float,
        lat_deg: float,
        review: ReviewState,
        level: DamageLevel | None,
        detection_ids: Iterable[int],
        author: str,
    ) -> int:
        """Record a decision on a whole site at ``(lon_deg, lat_deg)``, with the map's
        score threshold now; returns its id."""
        min_score = float(self.project_settings().min_score)
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO site_decisions (run_id, lon_deg, lat_deg, review, level, detection_ids_json, author, "
                "created_utc, min_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, float(lon_deg), float(lat_deg), ReviewState.parse(review).value,
                 None if level is None else int(level), json.dumps(sorted(int(i) for i in detection_ids)),
                 author, _stamp_after(cur, run_id), min_score),
            )
            return _row_id(cur)

    def set_site_decision_active(self, decision_id: int, active: bool) -> None:
        """Undo (``False``) or redo (``True``) a site decision's record."""
        with self._transaction() as cur:
            cur.execute("UPDATE site_decisions SET active = ? WHERE id = ?", (int(bool(active)), decision_id))
            self._check_updated(cur, "site decision", decision_id)

    def site_decisions(self, run_id: int | None = None) -> list[SiteDecisionRecord]:
        """Active site decisions, oldest first, of one run or of every run."""
        sql = "SELECT * FROM site_decisions WHERE active = 1"
        params: list[Any] = []
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        return [
            SiteDecisionRecord(
                r["id"], r["run_id"], r["lon_deg"], r["lat_deg"], ReviewState(r["review"]),
                None if r["level"] is None else DamageLevel(r["level"]),
                tuple(self._loads(r["detection_ids_json"], f"site decision {r['id']}")), bool(r["active"]),
                _reviewer(r["author"]), r["created_utc"], r["min_score"] if "min_score" in r.keys() else None,
            )
            for r in self._query(sql + " ORDER BY id", params)
        ]

    def site_numbers(self, run_id: int) -> dict[int, set[int]]:
        """Detection id -> the numbers of the sites it was placed in (see
        :meth:`add_site_numbers`); empty for a run never mapped, or a project of an older
        schema opened read-only."""
        if not self._site_numbers_stored:
            return {}
        numbers: dict[int, set[int]] = {}
        for r in self._query("SELECT detection_id, number FROM site_numbers WHERE run_id = ?", (run_id,)):
            numbers.setdefault(int(r["detection_id"]), set()).add(int(r["number"]))
        return numbers

    def site_numbers_version(self, run_id: int) -> int:
        """How many times :meth:`add_site_numbers` added to the run's numbers: a cheap
        version of them."""
        if not self._site_numbers_stored:
            return 0
        rows = self._query("SELECT site_numbers_version AS v FROM runs WHERE id = ?", (run_id,))
        return int(rows[0]["v"]) if rows else 0

    def add_site_numbers(self, run_id: int, numbers: Mapping[int, int]) -> None:
        """Record, for each detection id, a number of a site it was placed in (besides
        those it has: one below the threshold for now, or in another site for now, finds
        its site's number again)."""
        rows = [(run_id, int(d), int(n)) for d, n in numbers.items()]
        if any(n < 1 for _, _, n in rows):
            raise StoreError("site numbers start at 1")
        if not rows:
            return
        with self._transaction() as cur:
            cur.executemany("INSERT OR IGNORE INTO site_numbers (run_id, detection_id, number) VALUES (?, ?, ?)",
                            rows)
            cur.execute("UPDATE runs SET site_numbers_version = site_numbers_version + 1 WHERE id = ?", (run_id,))
            self._check_updated(cur, "run", run_id)

_CONSTRUCT = object()

__all__ = [
    "APPLICATION_ID",
    "CHECKPOINT_EVERY_FRAMES",
    "EditRecord",
    "PROJECT_SUFFIX",
    "ProjectStore",
    "RunInfo",
    "SCHEMA_VERSION",
    "SiteDecisionRecord",
    "SiteGroupRecord",
    "UNREADABLE_FRAMES_KEY",
    "WRITER_ACTIVE_S",
    "clear_cache",
    "current_user",
    "analysed_elsewhere_message",
    "describe_writer",
    "relative_to_project",
    "resolve_referenced",
]
