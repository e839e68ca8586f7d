"""A survey: many flights (videos with telemetry, drones, days) that make one map.

A survey is a folder with a manifest, ``survey.json``, and one ordinary project per
flight (``flights/NAME.dmproj``; any project path may be referenced, relative to the
folder or absolute). The manifest lists the flights and the survey's review decisions,
which are keyed by place (longitude, latitude), as :mod:`core.sites` keys a project's:
a decision stays with the damage on the ground, whichever flights see it, so adding a
flight never loses one.

The manifest is written whole to a temporary file and moved over the old one, so a
crash leaves either the old or the new survey, never half of one. Plain Python: the
map is :mod:`geo.survey_fusion`'s, the work :mod:`services.survey`'s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.review import SiteMark
from core.types import DamageLevel, ReviewState

#: The manifest's name inside a survey folder.
SURVEY_FILE = "survey.json"
#: Beside it: the number of each survey site, kept across maps (:meth:`Survey.site_numbers`).
SITE_NUMBERS_FILE = "site_numbers.json"
#: Bump when the manifest's layout changes.
SURVEY_FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class SurveyError(InputError):
    """A survey folder or manifest that cannot be used (named in the message)."""


def _write_whole(path: Path, text: str, what: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and move it over ``path``: a
    crash leaves the old file or the new one, never half of one."""
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise SurveyError(f"{str(path)!r}: cannot write {what}: {exc.strerror or exc}") from None


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class FlightRecord:
    """One flight of a survey.

    ``project`` is the flight's project file, relative to the survey folder when inside
    it; ``date`` an ISO date or date-time (when not given: the video's creation time, else
    the telemetry's clock); ``drone`` free text.
    """

    name: str
    project: str
    video: str
    telemetry: str | None = None
    date: str | None = None
    drone: str | None = None
    added_utc: str = field(default_factory=_utc_now)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlightRecord:
        return cls(
            name=str(data["name"]), project=str(data["project"]), video=str(data["video"]),
            telemetry=None if data.get("telemetry") is None else str(data["telemetry"]),
            date=None if data.get("date") is None else str(data["date"]),
            drone=None if data.get("drone") is None else str(data["drone"]),
            added_utc=str(data.get("added_utc") or ""),
        )


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
class PlaceDecision:
    """A reviewer's decision on the damage at a place: accepted or rejected, and the
    level it was given (``None``: the level the flights voted)."""

    lon_deg: float
    lat_deg: float
    review: ReviewState
    level: DamageLevel | None
    author: str
    created_utc: str = field(default_factory=_utc_now)

    def mark(self) -> SiteMark:
        return SiteMark(self.lon_deg, self.lat_deg, self.review, self.level)

    def to_json(self) -> dict[str, Any]:
        return {"lon_deg": self.lon_deg, "lat_deg": self.lat_deg, "review": self.review.value,
                "level": None if self.level is None else int(self.level), "author": self.author,
                "created_utc": self.created_utc}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlaceDecision:
        level = data.get("level")
        return cls(float(data["lon_deg"]), float(data["lat_deg"]), ReviewState(data["review"]),
                   None if level is None else DamageLevel(int(level)), str(data.get("author", "")),
                   str(data.get("created_utc", "")))


@dataclass(slots=True)
class Survey:
    """A survey folder's manifest (see the module docstring); :meth:`save` writes it."""

    folder: Path
    name: str
    flights: list[FlightRecord] = field(default_factory=list)
    decisions: list[PlaceDecision] = field(default_factory=list)
    created_utc: str = field(default_factory=_utc_now)

    @property
    def manifest_path(self) -> Path:
        return self.folder / SURVEY_FILE

    @classmethod
    def create(cls, folder: str | os.PathLike[str], name: str | None = None) -> Survey:
        """A new, empty survey in ``folder`` (created; an existing survey is refused)."""
        folder = Path(folder)
        if (folder / SURVEY_FILE).exists():
            raise SurveyError(f"{str(folder)!r} holds a survey already; add flights to it with 'damagemap survey add'")
        if folder.exists() and not folder.is_dir():
            raise SurveyError(f"{str(folder)!r} is a file; give a folder for the survey")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SurveyError(f"{str(folder)!r}: cannot create the survey folder: {exc.strerror or exc}") from None
        survey = cls(folder, name or folder.resolve().name)
        survey.save()
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
                folder=folder, name=str(data["name"]),
                flights=[FlightRecord.from_json(f) for f in data.get("flights", [])],
                decisions=[PlaceDecision.from_json(d) for d in data.get("decisions", [])],
                created_utc=str(data.get("created_utc", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SurveyError(f"{str(path)!r}: not a readable survey manifest ({exc})") from None

    def save(self) -> None:
        """Write the manifest atomically (a temporary file moved over the old one)."""
        data = {
            "format": SURVEY_FORMAT, "name": self.name, "created_utc": self.created_utc,
            "flights": [asdict(f) for f in self.flights],
            "decisions": [d.to_json() for d in self.decisions],
        }
        _write_whole(self.manifest_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", "the survey")

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

    def save_site_numbers(self, numbers: SurveySiteNumbers) -> None:
        """Keep ``numbers`` (see :meth:`site_numbers`), beside the manifest rather than in
        it: the map writes them whenever it is built, and must never write an older
        manifest over a flight just added."""
        data = {"flight_sites": {key: sorted(numbers.flight_sites[key]) for key in sorted(numbers.flight_sites)},
                "places": {str(n): list(numbers.places[n]) for n in sorted(numbers.places)}}
        _write_whole(self.site_numbers_path, json.dumps(data, separators=(",", ":")) + "\n",
                     "the survey's site numbers")

    # ------------------------------------------------------------------ flights

    def flight(self, name: str) -> FlightRecord:
        for flight in self.flights:
            if flight.name == name:
                return flight
        known = ", ".join(f.name for f in self.flights) or "none yet"
        raise SurveyError(f"survey {self.name!r} has no flight {name!r} (flights: {known})")

    def project_path(self, flight: FlightRecord) -> Path:
        path = Path(flight.project)
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
        if not _NAME.match(flight.name):
            raise SurveyError(f"flight name {flight.name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if any(f.name == flight.name for f in self.flights):
            raise SurveyError(f"survey {self.name!r} has a flight named {flight.name!r} already")
        other = self.flight_of_project(self.project_path(flight))
        if other is not None:
            raise SurveyError(f"{str(self.project_path(flight).resolve())!r} is flight {other.name!r} of the survey "
                              "already")
        self.flights.append(flight)
        return flight

    def remove_flight(self, name: str) -> FlightRecord:
        """Take a flight out of the survey (its project stays where it is); the survey's
        decisions stay, as they are places, not flights."""
        flight = self.flight(name)
        self.flights.remove(flight)
        return flight

    def relative(self, path: Path) -> str:
        """``path`` as the manifest records it: relative to the folder when inside it."""
        try:
            return Path(os.path.relpath(path.resolve(), self.folder.resolve())).as_posix() \
                if path.resolve().is_relative_to(self.folder.resolve()) else str(path.resolve())
        except ValueError:  # another drive on Windows
            return str(path.resolve())

    # ---------------------------------------------------------------- decisions

    def add_decision(self, decision: PlaceDecision) -> None:
        """Record a decision (a later one at the same place wins, see
        :func:`core.sites.match_decisions`)."""
        self.decisions.append(decision)

    def marks(self) -> list[SiteMark]:
        """The decisions as :class:`core.review.SiteMark`, oldest first."""
        return [d.mark() for d in self.decisions]


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


def survey_of_project(project: str | os.PathLike[str]) -> Survey | None:
    """The survey whose flight ``project`` is, found beside it or one folder up (where
    ``survey add`` puts a flight's project: ``SURVEY/flights/NAME.dmproj``), or ``None``."""
    project = Path(project)
    for folder in (project.parent, project.parent.parent):
        if not (folder / SURVEY_FILE).is_file():
            continue
        try:
            survey = Survey.open(folder)
        except SurveyError:
            continue
        if survey.flight_of_project(project) is not None:
            return survey
    return None


__all__ = ["FlightRecord", "PlaceDecision", "SITE_NUMBERS_FILE", "SURVEY_FILE", "Survey", "SurveyError",
           "SurveySiteNumbers", "survey_folder_of", "survey_of_project"]
