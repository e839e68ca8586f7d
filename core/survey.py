"""A survey: many flights (videos with telemetry, drones, days) that make one map.

A survey is a folder with a manifest, ``survey.json``, and one ordinary project per
flight (``flights/NAME.dmproj``, or the project a flight had before it was added, taken
where it is; recorded relative to the folder, or absolute on another drive). The
manifest lists the flights, the event and producer its exports name, and the survey's
review decisions, which are keyed by place (longitude, latitude), as :mod:`core.sites`
keys a project's:
a decision stays with the damage on the ground, whichever flights see it, so adding a
flight never loses one. Each decision also names the site decisions the flights' projects
got from it (:class:`AppliedDecision`), so that an undo in a flight can be told apart from
the decision holding there.

The manifest is written whole to a temporary file and moved over the old one, so a
crash leaves either the old or the new survey, never half of one. Several damagemaps
may change one survey at once (two ``survey decide``, ``survey add`` next to the app's
survey window): every change is made under the survey's lock (:func:`survey_lock`, a
lock file in the folder) on the manifest read afresh under it (:meth:`Survey.update`,
:meth:`Survey.locked`), so no process writes back the copy it read before another's
change. Reading needs no lock: a reader sees the old manifest or the new one. Plain
Python: the map is :mod:`geo.survey_fusion`'s, the work :mod:`services.survey`'s.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # not a POSIX system: the lock serialises this process's threads only
    fcntl = None  # type: ignore[assignment]

from core.errors import InputError
from core.review import SiteMark
from core.text import is_one_line_text
from core.types import DamageLevel, ReviewState

#: The manifest's name inside a survey folder.
SURVEY_FILE = "survey.json"
#: Beside it: the number of each survey site, kept across maps (:meth:`Survey.site_numbers`).
SITE_NUMBERS_FILE = "site_numbers.json"
#: Beside it: the file every change of the survey locks (:func:`survey_lock`); never removed,
#: since a process waiting on a removed file would lock a file nobody else does.
LOCK_FILE = ".survey.lock"
#: How long a change waits for another damagemap holding the survey's lock, in seconds:
#: a change holds it for milliseconds, so longer means that process is stuck.
LOCK_WAIT_S = 5.0
#: A flight's project setting: the folder of the survey it was added to (absolute), so the
#: project opened by itself finds its survey wherever it lies, and another survey knows it
#: is taken (:func:`survey_of_project`).
SURVEY_SETTING = "survey_folder"
#: Bump when the manifest's layout changes.
SURVEY_FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_flight_name(name: str) -> None:
    """Refuse a flight name that cannot name a project file and a column value alike."""
    if not _NAME.match(name):
        raise SurveyError(f"flight name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
_log = logging.getLogger(__name__)
T = TypeVar("T")


class SurveyError(InputError):
    """A survey folder or manifest that cannot be used (named in the message)."""


def _new_file_mode() -> int:
    """The mode a file created here gets (read and write less the process's umask), for a
    temporary file made private (0600) that takes a shared file's place: the survey
    folder may be a team's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


def _json_text(data: Any) -> str:
    """``data`` as the survey's JSON files hold it: readable (``é`` as itself), and a file
    name that is not UTF-8 (a Latin-1 card's ``caf\xe9.mp4``, which Python keeps as a
    lone surrogate) written as its JSON escape (``\\udce9``), which reads back as the
    same name; written as is, it cannot be encoded and the survey could not be saved."""
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8") + "\n"


def _write_whole(path: Path, text: str, what: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and move it over ``path``: a
    crash leaves the old file or the new one, never half of one, and a failure no
    temporary file."""
    tmp: str | None = None
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
        if hasattr(os, "fchmod"):
            os.fchmod(handle, _new_file_mode())
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise SurveyError(f"{str(path)!r}: cannot write {what}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


#: The longest survey name: the titles and headings of every export show it, and the
#: print map fits it a character at a time; a flight's event name stops at the same
#: length (``geo.export.products.MAX_TEXT_CHARS``).
MAX_NAME_CHARS = 200


@dataclass
class _Holder:
    """This process's hold on one survey's lock: ``threads`` serialises its threads and
    lets the thread holding it take it again (a change that builds a map keeping site
    numbers); ``fd`` is the lock file, locked while ``depth`` > 0."""

    threads: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    fd: int | None = None


_holders: dict[Path, _Holder] = {}
_holders_guard = threading.Lock()


def _holds_a_survey(folder: Path) -> SurveyError:
    return SurveyError(f"{str(folder)!r} holds a survey already; add flights to it with 'damagemap survey add'")


def _in_use(folder: Path, wait_s: float) -> SurveyError:
    return SurveyError(f"{str(folder)!r}: survey in use by another damagemap (it has held the survey's lock, "
                       f"{LOCK_FILE}, for more than {wait_s:g} s); wait for it to finish, then run this again")


def _lock_file(folder: Path, deadline: float, wait_s: float) -> int | None:
    """The survey's lock file, opened and locked exclusively (``flock``; released when
    closed, and by the system when the process dies, so a killed damagemap leaves no
    lock), waiting until ``deadline``; ``None`` where the system or the file system has
    no such lock (this process's threads are still serialised)."""
    if fcntl is None:
        return None
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        try:
            fd = os.open(path, os.O_RDONLY)  # a survey on a read-only share: locking needs no writing
        except OSError:
            raise SurveyError(f"{str(folder)!r}: cannot write the survey (its lock file {LOCK_FILE}): "
                              f"{exc.strerror or exc}") from None
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:  # another process holds it
            if time.monotonic() >= deadline:
                os.close(fd)
                raise _in_use(folder, wait_s) from None
            time.sleep(0.02)
        except OSError as exc:  # a file system without locks: as before, unlocked
            os.close(fd)
            _log.warning("%s: survey changed without a lock (%s)", folder, exc.strerror or exc)
            return None


@contextmanager
def survey_lock(folder: str | os.PathLike[str], wait_s: float | None = None) -> Iterator[None]:
    """Hold the survey in ``folder`` for a change: an exclusive lock on its
    :data:`LOCK_FILE`, across processes, and across this process's threads. The thread
    holding it may take it again. Waits at most ``wait_s`` (:data:`LOCK_WAIT_S`) for
    another holder.

    Raises
    ------
    SurveyError
        Naming the folder: another damagemap held the lock longer than ``wait_s``, or the
        lock file cannot be made (a folder that cannot be written).
    """
    folder = Path(folder)
    wait_s = LOCK_WAIT_S if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    with _holders_guard:
        holder = _holders.setdefault(_resolved(folder), _Holder())
    if not holder.threads.acquire(timeout=max(wait_s, 0.0)):
        raise _in_use(folder, wait_s)
    try:
        if holder.depth == 0:
            holder.fd = _lock_file(folder, deadline, wait_s)
        holder.depth += 1
        try:
            yield
        finally:
            holder.depth -= 1
            if holder.depth == 0 and holder.fd is not None:
                os.close(holder.fd)  # releases the lock
                holder.fd = None
    finally:
        holder.threads.release()


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class VideoIdentity:
    """What tells a flight's video from any other file, as the survey last saw it: its
    file ``name`` then, its size in bytes, its frames and its length (as a run of its
    project records them: ``engine.video.video_record``). The survey keeps it so that a
    video renamed and moved is still recognised by its content where the flight's project
    and the video's old file are both gone."""

    name: str
    size_bytes: int
    frames: int
    duration_s: float

    @classmethod
    def from_json(cls, data: Any) -> VideoIdentity:
        """The identity ``data`` describes; a ``ValueError`` naming the field that is
        missing or of the wrong kind (a manifest edited by hand)."""
        if not isinstance(data, dict):
            raise ValueError(f"'video_identity' must be an object, not {json.dumps(data)[:60]}")
        try:
            name = _required_text(data, "name")
        except ValueError as exc:
            raise ValueError(f"'video_identity': {exc}") from None
        for key, kind in (("size_bytes", int), ("frames", int), ("duration_s", (int, float))):
            value = data.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"'video_identity': '{key}' must be a number, not {json.dumps(value)[:60]}")
        return cls(name=name, size_bytes=data["size_bytes"], frames=data["frames"],
                   duration_s=float(data["duration_s"]))


@dataclass(frozen=True, slots=True)
class FlightRecord:
    """One flight of a survey.

    ``project`` is the flight's project file, relative to the survey folder (absolute
    only on another drive); ``date`` an ISO date or date-time (when not given: the video's creation time, else
    the telemetry's clock); ``drone`` free text; ``video_identity`` what tells its video
    from another file (``None`` in a manifest written before the survey kept it, or for
    a video that could not be read).
    """

    name: str
    project: str
    video: str
    telemetry: str | None = None
    date: str | None = None
    drone: str | None = None
    added_utc: str = field(default_factory=_utc_now)
    video_identity: VideoIdentity | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlightRecord:
        """The flight ``data`` describes; a ``ValueError`` naming the field where ``data``
        (a manifest edited by hand) lacks one or holds what cannot be that field."""
        date = _text(data, "date", required=False)
        if date is not None:
            try:
                dt.datetime.fromisoformat(date)
            except ValueError:
                raise ValueError(f"'date' {date!r} is not an ISO date such as 2018-10-12 or 2018-10-12T15:00") from None
        return cls(
            name=_required_text(data, "name"), project=_required_text(data, "project"),
            video=_required_text(data, "video"), telemetry=_text(data, "telemetry", required=False), date=date,
            drone=_text(data, "drone", required=False), added_utc=_text(data, "added_utc", required=False) or "",
            video_identity=None if data.get("video_identity") is None else VideoIdentity.from_json(
                data["video_identity"]),
        )


def _text(data: dict[str, Any], key: str, *, required: bool) -> str | None:
    """``data[key]``, text (``None`` when absent or null, where not ``required``); a
    ``ValueError`` naming ``key`` otherwise: missing, null, or not text."""
    value = data.get(key)
    if value is None:
        if required:
            raise ValueError(f"'{key}' is {'null' if key in data else 'missing'}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be text, not {json.dumps(value)[:60]}")
    return value


def _required_text(data: dict[str, Any], key: str) -> str:
    """``data[key]``, text that is not blank; a ``ValueError`` naming ``key`` otherwise."""
    value = _text(data, key, required=True)
    if value is None or not value.strip():
        raise ValueError(f"'{key}' is empty")
    return value


def _one_line_name(data: dict[str, Any]) -> str:
    """The survey's ``name``: one line of text, as :meth:`Survey.create` takes it (a hand
    edit with a line break or a control character would reach every export's title)."""
    name = _required_text(data, "name")
    if not is_one_line_text(name):
        raise ValueError(f"'name' {name!r} is not one line of text without control characters; "
                         "write it as one line in the file")
    return name


@dataclass
class SurveySiteNumbers:
    """What keeps a survey's site numbers (``geo.site_numbers``): ``flight_sites``,
    ``"FLIGHT#SITE"`` (a flight's site, by its number on the flight's map) -> the numbers
    of the survey sites it was in; ``places``, each number -> where (lon, lat) the site
    was when the number was given, which settles a tie between two sites holding as many
    of its flight sites."""

    flight_sites: dict[str, set[int]] = field(default_factory=dict)
    places: dict[int, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppliedDecision:
    """Where a survey decision was applied: the project of flight ``flight`` (``project``,
    as :attr:`FlightRecord.project` writes it) got it as its site decision
    ``decision_id`` (a record of its ``site_decisions``) on run ``run_id``. An undo in that
    project makes the record inactive: the flight took the decision back."""

    flight: str
    project: str
    run_id: int
    decision_id: int

    def to_json(self) -> dict[str, Any]:
        return {"flight": self.flight, "project": self.project, "run_id": self.run_id,
                "decision_id": self.decision_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppliedDecision:
        return cls(str(data["flight"]), str(data["project"]), int(data["run_id"]), int(data["decision_id"]))


@dataclass(frozen=True, slots=True)
class PlaceDecision:
    """A reviewer's decision on the damage at a place: accepted or rejected, and the
    level it was given (``None``: the level the flights voted). ``applied``: the flights'
    site decisions it was applied as when it was made (empty for a decision recorded
    before they were kept: where it went is then unknown)."""

    lon_deg: float
    lat_deg: float
    review: ReviewState
    level: DamageLevel | None
    author: str
    created_utc: str = field(default_factory=_utc_now)
    applied: tuple[AppliedDecision, ...] = ()

    def mark(self) -> SiteMark:
        return SiteMark(self.lon_deg, self.lat_deg, self.review, self.level)

    def to_json(self) -> dict[str, Any]:
        return {"lon_deg": self.lon_deg, "lat_deg": self.lat_deg, "review": self.review.value,
                "level": None if self.level is None else int(self.level), "author": self.author,
                "created_utc": self.created_utc, "applied": [a.to_json() for a in self.applied]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlaceDecision:
        level = data.get("level")
        return cls(float(data["lon_deg"]), float(data["lat_deg"]), ReviewState(data["review"]),
                   None if level is None else DamageLevel(int(level)), str(data.get("author", "")),
                   str(data.get("created_utc", "")),
                   tuple(AppliedDecision.from_json(a) for a in data.get("applied") or ()))


def _objects(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """``data[key]``, a list of JSON objects (``[]`` when absent); a ``ValueError`` naming
    ``key`` when the manifest, edited by hand, holds something else there."""
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"'{key}' must be a list of objects, not {json.dumps(items)[:60]}")
    return items


def _flights(data: dict[str, Any]) -> list[FlightRecord]:
    """The manifest's flights; a ``ValueError`` naming the flight (by its place in the
    list) and the field that is wrong, or two flights of one name (``--flight NAME``
    would not tell them apart)."""
    flights: list[FlightRecord] = []
    for number, item in enumerate(_objects(data, "flights"), 1):
        try:
            flight = FlightRecord.from_json(item)
        except ValueError as exc:
            raise ValueError(f"flight {number}: {exc}") from None
        first = next((n for n, other in enumerate(flights, 1) if other.name == flight.name), None)
        if first is not None:
            raise ValueError(f"flights {first} and {number} are both named {flight.name!r}")
        flights.append(flight)
    return flights


def _decisions(data: dict[str, Any]) -> list[PlaceDecision]:
    """The manifest's decisions; a ``ValueError`` naming the decision (by its place in the
    list) and, where one is missing, the field."""
    decisions: list[PlaceDecision] = []
    for number, item in enumerate(_objects(data, "decisions"), 1):
        try:
            decisions.append(PlaceDecision.from_json(item))
        except KeyError as exc:
            raise ValueError(f"decision {number}: {exc} is missing") from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"decision {number}: {exc}") from None
    return decisions


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``data[key]``, a JSON object of texts and numbers (``{}`` when absent); a
    ``ValueError`` naming ``key`` when the manifest, edited by hand, holds something else."""
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise ValueError(f"'{key}' must be an object of texts and numbers, not {json.dumps(value)[:60]}")
    return dict(value)


@dataclass(slots=True)
class Survey:
    """A survey folder's manifest (see the module docstring); :meth:`save` writes it."""

    folder: Path
    name: str
    flights: list[FlightRecord] = field(default_factory=list)
    decisions: list[PlaceDecision] = field(default_factory=list)
    created_utc: str = field(default_factory=_utc_now)
    #: the event and producer its exports name, as given to ``survey export`` (``event``,
    #: ``glide``, ``analyst``, ``organisation``, ``area``, ``version``: those set only;
    #: ``geo.export.products.ProductInfo``'s fields, checked by ``services.survey``)
    product: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        return self.folder / SURVEY_FILE

    @classmethod
    def create(cls, folder: str | os.PathLike[str], name: str | None = None) -> Survey:
        """A new, empty survey in ``folder`` (created; an existing survey is refused)."""
        folder = Path(folder)
        if (folder / SURVEY_FILE).exists():
            raise _holds_a_survey(folder)
        if folder.exists() and not folder.is_dir():
            raise SurveyError(f"{str(folder)!r} is a file; give a folder for the survey")
        name = name or folder.resolve().name
        if not is_one_line_text(name):  # every export's title, README heading and map legend shows it
            raise SurveyError(f"survey name {name!r}: give one line of text, without control characters "
                              "(damagemap survey create --name NAME)")
        if len(name) > MAX_NAME_CHARS:
            raise SurveyError(f"survey name {name[:60]!r}…: give at most {MAX_NAME_CHARS} characters; got {len(name):,} "
                              "(damagemap survey create --name NAME)")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SurveyError(f"{str(folder)!r}: cannot create the survey folder: {exc.strerror or exc}") from None
        survey = cls(folder, name)
        with survey_lock(folder):
            if (folder / SURVEY_FILE).exists():  # another damagemap created it a moment ago
                raise _holds_a_survey(folder)
            survey._write()
        return survey

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Survey:
        """The survey in ``folder`` (or the folder of a ``survey.json`` given)."""
        folder = Path(folder)
        if folder.name == SURVEY_FILE and folder.is_file():
            folder = folder.parent
        path = folder / SURVEY_FILE
        if not path.is_file():
            raise SurveyError(f"{str(folder)!r} is not a survey (no {SURVEY_FILE}); create one with "
                              "'damagemap survey create'")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != SURVEY_FORMAT:
                raise ValueError(f"unknown survey format {data.get('format') if isinstance(data, dict) else data!r}")
            return cls(
                folder=folder, name=_one_line_name(data), flights=_flights(data), decisions=_decisions(data),
                created_utc=str(data.get("created_utc", "")),
                product=_object(data, "product"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # a hand edit of the wrong shape
            raise SurveyError(f"{str(path)!r}: not a readable survey manifest ({exc})") from None

    @contextmanager
    def locked(self) -> Iterator[Survey]:
        """``with survey.locked() as fresh:`` change ``fresh``, the manifest read afresh
        under the survey's lock (:func:`survey_lock`); it is written when the block ends
        (not when it raises) and the lock released. This copy then becomes ``fresh``
        (what others changed in between included).

        Raises
        ------
        SurveyError
            The survey is gone, in use by another damagemap for longer than
            :data:`LOCK_WAIT_S`, or cannot be read or written (naming the folder or file).
        """
        if not self.manifest_path.is_file():
            Survey.open(self.folder)  # says it is not (or no longer) a survey
        with survey_lock(self.folder):
            fresh = Survey.open(self.folder)
            yield fresh
            fresh._write()
        self._become(fresh)

    def update(self, change: Callable[[Survey], T]) -> T:
        """Apply ``change`` to the manifest as it is now and write it, atomically across
        processes (:meth:`locked`); ``change``'s result. A change that raises writes
        nothing and leaves this copy as it was."""
        with self.locked() as fresh:
            return change(fresh)

    def refresh(self) -> None:
        """Read the manifest again into this copy (what other processes changed)."""
        self._become(Survey.open(self.folder))

    def _become(self, fresh: Survey) -> None:
        self.name, self.flights, self.decisions, self.created_utc, self.product = (
            fresh.name, fresh.flights, fresh.decisions, fresh.created_utc, fresh.product)

    def _write(self) -> None:
        """Write the manifest atomically (a temporary file moved over the old one); the
        caller holds the survey's lock."""
        data = {
            "format": SURVEY_FORMAT, "name": self.name, "created_utc": self.created_utc,
            "flights": [asdict(f) for f in self.flights],
            "decisions": [d.to_json() for d in self.decisions],
        }
        if self.product:  # written once an export named the event or producer
            data["product"] = dict(self.product)
        _write_whole(self.manifest_path, _json_text(data), "the survey")

    # ------------------------------------------------------------------ site numbers

    @property
    def site_numbers_path(self) -> Path:
        return self.folder / SITE_NUMBERS_FILE

    def site_numbers(self) -> SurveySiteNumbers:
        """The numbers kept for the survey's sites (see :class:`SurveySiteNumbers`); none
        when none were kept or the file cannot be read (the sites are then numbered
        afresh)."""
        try:
            data = json.loads(self.site_numbers_path.read_text(encoding="utf-8"))
            return SurveySiteNumbers(
                {str(k): {int(n) for n in v} for k, v in data["flight_sites"].items()},
                {int(k): (float(v[0]), float(v[1])) for k, v in data["places"].items()})
        except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError):
            return SurveySiteNumbers()

    def update_site_numbers(self, change: Callable[[SurveySiteNumbers], T]) -> T:
        """Apply ``change`` to the site numbers as they are kept now (read afresh under
        the survey's lock, :func:`survey_lock`) and keep them when it changed them,
        atomically across processes; ``change``'s result. A change that raises keeps
        nothing. They are kept beside the manifest rather than in it: the map keeps them
        whenever it is built, and must never write an older manifest over a flight just
        added.

        Raises
        ------
        SurveyError
            Naming the folder or file: the survey in use by another damagemap for longer
            than :data:`LOCK_WAIT_S`, or its folder cannot be written.
        """
        with survey_lock(self.folder):
            numbers = self.site_numbers()
            before = _site_numbers_text(numbers)
            result = change(numbers)
            after = _site_numbers_text(numbers)
            if after != before:
                _write_whole(self.site_numbers_path, after, "the survey's site numbers")
            return result

    # ------------------------------------------------------------------ flights

    def flight(self, name: str) -> FlightRecord:
        for flight in self.flights:
            if flight.name == name:
                return flight
        known = ", ".join(f.name for f in self.flights) or "none yet"
        raise SurveyError(f"survey {self.name!r} has no flight {name!r} (flights: {known})")

    def project_path(self, flight: FlightRecord) -> Path:
        return self.path_of(flight.project)

    def path_of(self, recorded: str) -> Path:
        """A path as the manifest records it (:meth:`relative`), as a path to open."""
        path = Path(recorded)
        return path if path.is_absolute() else self.folder / path

    def flight_of_project(self, project: str | os.PathLike[str]) -> FlightRecord | None:
        """The flight whose project ``project`` is (however the path is written), or ``None``."""
        wanted = _resolved(Path(project))
        return next((f for f in self.flights if _resolved(self.project_path(f)) == wanted), None)

    def new_flight_name(self, stem: str) -> str:
        """A free flight name from a file stem (``flight``, ``flight-2``, ...)."""
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._") or "flight"
        base = base[:56]
        taken = {f.name for f in self.flights}
        name, k = base, 2
        while name in taken:
            name, k = f"{base}-{k}", k + 1
        return name

    def add_flight(self, flight: FlightRecord) -> FlightRecord:
        """Add a flight (a name already used, or a project already in the survey, is refused)."""
        check_flight_name(flight.name)
        if any(f.name == flight.name for f in self.flights):
            raise SurveyError(f"survey {self.name!r} has a flight named {flight.name!r} already")
        other = self.flight_of_project(self.project_path(flight))
        if other is not None:
            raise SurveyError(f"{str(self.project_path(flight).resolve())!r} is flight {other.name!r} of the survey "
                              "already")
        self.flights.append(flight)
        return flight

    def change_flight(self, name: str, **changes: Any) -> FlightRecord:
        """Flight ``name`` with ``changes`` (:class:`FlightRecord` fields), in its place."""
        changed = replace(self.flight(name), **changes)
        self.flights = [changed if f.name == name else f for f in self.flights]
        return changed

    def remove_flight(self, name: str) -> FlightRecord:
        """Take a flight out of the survey (its project stays where it is); the survey's
        decisions stay, as they are places, not flights."""
        flight = self.flight(name)
        self.flights.remove(flight)
        return flight

    def relative(self, path: Path) -> str:
        """``path`` as the manifest records it: relative to the survey's folder, inside it
        or not (``../videos/monday.dmproj``: a flight's project taken where it is), so the
        survey still finds it when the folders are moved or copied together; absolute
        only where no relative path leads there (another drive on Windows)."""
        try:
            return Path(os.path.relpath(path.resolve(), self.folder.resolve())).as_posix()
        except ValueError:  # another drive on Windows
            return str(path.resolve())

    # ---------------------------------------------------------------- decisions

    def add_decision(self, decision: PlaceDecision) -> None:
        """Record a decision (a later one at the same place wins, see
        :func:`core.sites.match_decisions`)."""
        self.decisions.append(decision)

    def add_applied(self, decision: PlaceDecision, applied: AppliedDecision) -> None:
        """Record that ``decision`` (found by its place, what and when: not by where it went
        already, which another damagemap may have added to meanwhile) was applied as
        ``applied`` too (a flight analysed again got it on its new run)."""
        for k, recorded in enumerate(self.decisions):
            if replace(recorded, applied=()) == replace(decision, applied=()):
                self.decisions[k] = replace(recorded, applied=(*recorded.applied, applied))
                return

    def marks(self) -> list[SiteMark]:
        """The decisions as :class:`core.review.SiteMark`, oldest first."""
        return [d.mark() for d in self.decisions]


def _site_numbers_text(numbers: SurveySiteNumbers) -> str:
    data = {"flight_sites": {key: sorted(numbers.flight_sites[key]) for key in sorted(numbers.flight_sites)},
            "places": {str(n): list(numbers.places[n]) for n in sorted(numbers.places)}}
    return json.dumps(data, separators=(",", ":")) + "\n"


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # a path that cannot be resolved is compared as written
        return path


def survey_folder_of(path: str | os.PathLike[str]) -> Path | None:
    """The survey folder ``path`` names (the folder itself or its ``survey.json``), or
    ``None`` when it names no survey."""
    path = Path(path)
    if path.name == SURVEY_FILE and path.is_file():
        return path.parent
    if path.is_dir() and (path / SURVEY_FILE).is_file():
        return path
    return None


def survey_of_project(project: str | os.PathLike[str], *,
                      other_than: str | os.PathLike[str] | None = None) -> Survey | None:
    """The survey whose flight ``project`` is, or ``None``: the survey found beside it or one
    folder up (where ``survey add`` puts a new flight's project: ``SURVEY/flights/NAME.dmproj``),
    else the one the project says it was added to (its :data:`SURVEY_SETTING`: a project
    taken where it is, beside its video), as long as that survey lists it. ``other_than``:
    a survey folder not to count (the survey asking whether another holds the project)."""
    project = Path(project)
    skip = None if other_than is None else _resolved(Path(other_than))
    seen: set[Path] = set()
    for folder in (project.parent, project.parent.parent, _recorded_survey(project)):
        if folder is None or not (folder / SURVEY_FILE).is_file() or _resolved(folder) in seen:
            continue
        seen.add(_resolved(folder))
        if _resolved(folder) == skip:
            continue
        try:
            survey = Survey.open(folder)
        except SurveyError:
            continue
        if survey.flight_of_project(project) is not None:
            return survey
    return None


def _recorded_survey(project: Path) -> Path | None:
    """The survey folder ``project``'s :data:`SURVEY_SETTING` names, or ``None``."""
    from core.errors import DamagemapError
    from core.store import ProjectStore

    if not project.is_file():
        return None
    try:
        with ProjectStore.open(project, read_only=True) as store:
            folder = store.get_setting(SURVEY_SETTING)
    except DamagemapError:
        return None
    return Path(folder) if isinstance(folder, str) and folder else None


__all__ = ["AppliedDecision", "FlightRecord", "LOCK_FILE", "LOCK_WAIT_S", "MAX_NAME_CHARS", "PlaceDecision", "SITE_NUMBERS_FILE",
           "SURVEY_FILE", "SURVEY_SETTING", "Survey", "SurveyError", "SurveySiteNumbers", "VideoIdentity",
           "check_flight_name", "survey_folder_of", "survey_lock", "survey_of_project"]
