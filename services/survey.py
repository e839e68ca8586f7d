"""Surveys: many flights, one map (Qt-free; the command line's ``damagemap survey``).

A survey (:class:`core.survey.Survey`) references one ordinary project per flight.
Each flight is analysed like any project (:mod:`services.analysis`, or on Ray workers
with :mod:`services.cluster`) and mapped on its own (:func:`services.maps.damage_map`);
:func:`survey_map` fuses the flights' sites into one map
(:func:`geo.survey_fusion.fuse_flights`).

Every change of the manifest (a flight added or taken out, a decision recorded, site
numbers kept) is applied under the survey's lock to the manifest as it is then
(:meth:`core.survey.Survey.update`), so damagemaps changing one survey at once lose
none of each other's changes; the :class:`Survey` given becomes the survey as written.

Review decisions are the survey's, keyed by place: :func:`decide` records one in the
manifest and applies it, as one edit per flight (:func:`core.sites.site_decision`), to
the sightings every flight has of that site, so each flight's project and exports
agree with the survey. A reviewer's site decision in one flight's project (the app's
Sites panel) is kept by place too. :func:`apply_decisions` gives the undecided
sightings of every flight the decisions made elsewhere, the survey's and the flights'
(:func:`survey_decisions`), on the site the survey joins with the decided one
(:mod:`services.decision_reach`; the survey's map leaves out a site a rejection reaches
by the same rule): adding a flight keeps every decision, and a place is reviewed once. A reviewer who takes a survey decision back in a flight (an undo) takes
it back there: that flight's site is undecided on the survey's map, and once every flight
it went to took it back the survey decision counts no more (:func:`review_decisions`,
which also counts the decisions made in the flights' own review for ``survey info``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DamagemapError, InputError
from core.frame_quality import unusable_frames
from core.review import ReviewSession, SiteDecisions, SiteMark, carried_decision_ids
from core.sites import (
    CARRY_RADIUS_M,
    Sighting,
    counted,
    SiteSummary,
    decisions_reaching,
    distance_m,
    match_decisions,
    number_ranges,
    site_decision,
)
from core.store import PROJECT_SUFFIX, ProjectStore, SiteDecisionRecord
from core.survey import (
    AppliedDecision,
    FlightRecord,
    SURVEY_FILE,
    SURVEY_SETTING,
    PlaceDecision,
    Survey,
    SurveyError,
    VideoIdentity,
    check_flight_name,
    survey_lock,
    survey_of_project,
)
from core.text import is_one_line_text, shown_file_name
from core.types import DamageLevel, ReviewState
from services.analysis import AnalysisRequest, LoadedModel
from services.package import FOOTPRINT_MARGIN_M, PRINT_BASEMAP_PX, padded_bounds, product_info, product_sources
from services.project import TELEMETRY_SUFFIXES, VIDEO_SUFFIXES, Client  # the videos File > Open and analyze take
from services.video_match import (
    CONTENT_WORDS,
    content_text,
    file_identity,
    identity_of,
    identity_record,
    matching_videos,
    probed_video,
    recorded_video,
    same_content,
    videos_beside,
)

if TYPE_CHECKING:  # pragma: no cover
    from engine.analyze import AnalysisProgress
    from services.decision_reach import MadeDecision
    from geo.grading import Grading
    from geo.mapping import DamageMap
    from geo.survey_fusion import SurveyMap, SurveySettings, SurveySite
    from services.cluster import ClusterOptions

_log = logging.getLogger(__name__)



#: The most characters a flight's drone (free text: "Mavic 3, team B") holds.
MAX_DRONE_CHARS = 200


def videos_in(paths: Sequence[Path]) -> list[Path]:
    """The videos named, a folder standing for the videos directly inside it (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise InputError(f"{str(path)!r} is a folder with no video ({', '.join(VIDEO_SUFFIXES)}) in it; "
                                 "give video files or a folder of them")
            out += found
        else:
            out.append(path)
    return out


def create_survey(folder: Path, name: str | None = None) -> Survey:
    """A new survey in ``folder``."""
    return Survey.create(folder, name)


def _flight_date(video: Path, telemetry: Path | str | None) -> str | None:
    """When the flight was filmed, ISO 8601: the video's creation time (UTC); else the
    telemetry's UTC clock where it meets the video's start (a GPX, a dated log: the
    recording it marks that is as long as the video, else its first fix); else the drone's own clock as a DJI
    SRT writes it (local time: no zone in the text); ``None`` when nothing says."""
    from engine.video import probe_video
    from geo.sync import recording_start
    from geo.telemetry import read_telemetry

    probe = probe_video(video)
    stamp = probe.creation_time_utc
    track = None
    if stamp is None and telemetry is not None:  # the telemetry is read only when the video does not say
        try:
            track = read_telemetry(Path(telemetry))
        except DamagemapError:  # said when the flight is mapped
            return None
    start, utc = recording_start(track, stamp, duration_s=probe.duration_s)
    if start is None:
        return None
    moment = dt.datetime.fromtimestamp(start, dt.timezone.utc).replace(microsecond=0)
    return moment.isoformat() if utc else moment.replace(tzinfo=None).isoformat()


@dataclass(frozen=True, slots=True)
class FlightSource:
    """What a flight is added from: its ``video``, and the ``project`` it has already
    (given as a ``.dmproj``, or the one ``damagemap analyze`` and the app make beside the
    video), or ``None`` when it has none yet."""

    video: Path
    project: Path | None = None


def flight_source(path: Path, client: Client = "window", *, survey: Path | None = None) -> FlightSource:
    """The video and the existing project of ``path``: a video (its project the one beside
    it, when there is one) or a project file (its video the one it names).

    Raises
    ------
    InputError
        A project that cannot be read, or whose video is not where it says (naming both);
        a flight log, said with how ``client`` adds its flight to ``survey``
        (:func:`services.project.flight_log_given_text`).
    """
    from services.project import default_project_path, opens_as_video

    path = Path(path)
    _refuse_no_regular_file(path, client, survey=survey)
    if opens_as_video(path, client, survey=survey):
        beside = default_project_path(path)
        return FlightSource(path, beside if beside.is_file() else None)
    with ProjectStore.open(path, read_only=True) as store:
        video = Path(store.video_path)
    if not video.is_file():
        raise InputError(f"{str(path)!r}: its video {str(video)!r} is missing; open the project in the app to "
                         "locate it (the project keeps every result), then add it again")
    return FlightSource(video, path)


def add_flight(
    survey: Survey,
    video: Path,
    *,
    telemetry: Path | None = None,
    name: str | None = None,
    date: str | None = None,
    drone: str | None = None,
    project: Path | None = None,
) -> FlightRecord:
    """Add a flight and save the survey. ``video`` is the flight's video or its project
    (``.dmproj``). A flight that has a project already (``project``, the ``.dmproj``
    given, or the one beside the video: :func:`flight_source`) brings it, its runs and
    reviews, where it is: the survey references it (one project per video, so a review in
    the app and the survey's map never part); else its project is created under
    ``flights/``. The date defaults to the video's creation time, else the telemetry's
    clock (:func:`_flight_date`). The flight is added to the manifest as it is when the
    project is ready, under the survey's lock (:meth:`Survey.update`): a flight another
    damagemap added meanwhile stays, and ``survey`` becomes the survey as written.

    Raises
    ------
    SurveyError
        The video is a flight of the survey already, or its project is of another video
        or a flight of another survey (each named), or the name is taken or unusable.
    """
    from services.project import open_or_create_project

    source = flight_source(Path(video))
    video = source.video
    survey.refresh()  # the copy given may be older than what other damagemaps added since
    _refuse_known_video(survey, video)
    project = Path(project) if project is not None else source.project
    if project is not None and project.exists():
        _refuse_project_of_another(survey, project, video)
    name = name or survey.new_flight_name(video.stem if video.stem != "flight" else video.parent.name)
    check_flight_name(name)  # before its project is made: a refused name left a project behind
    if any(f.name == name for f in survey.flights):
        raise SurveyError(f"survey {survey.name!r} has a flight named {name!r} already")
    if date is not None:
        try:
            dt.datetime.fromisoformat(date)
        except ValueError:
            raise InputError(f"--date {date!r}: give an ISO date such as 2018-10-12 or 2018-10-12T15:00") from None
    if drone is not None and (not is_one_line_text(drone) or len(drone) > MAX_DRONE_CHARS):
        # the survey's README lists it beside the flight: a line break or an escape there is not the drone's name
        shown = repr(drone) if len(drone) <= 60 else f"{drone[:60]!r}..."
        raise InputError(f"--drone {shown}: give one line of text (at most {MAX_DRONE_CHARS} characters), "
                         "without control characters or right-to-left overrides")
    if telemetry is not None:  # refused now, naming the file, as `analyze --track` does: not after the analysis
        from geo.telemetry.read import read_telemetry

        read_telemetry(Path(telemetry))
    project = project if project is not None else survey.folder / "flights" / f"{name}.dmproj"
    project.parent.mkdir(parents=True, exist_ok=True)
    with open_or_create_project(video, project, telemetry_path=telemetry) as store:
        found = store.telemetry_path
        store.set_setting(SURVEY_SETTING, str(survey.folder.resolve()))  # found from the project
    record = FlightRecord(
        name=name, project=survey.relative(project), video=str(video.resolve()),
        telemetry=None if found is None else str(found), date=date or _flight_date(video, found), drone=drone,
        video_identity=file_identity(video),
    )

    def add(fresh: Survey) -> FlightRecord:
        _refuse_known_video(fresh, video)  # added by another damagemap while the project was made
        return fresh.add_flight(record)

    return survey.update(add)


def note_survey_in_flights(survey: Survey) -> list[str]:
    """Write the survey's note (:data:`core.survey.SURVEY_SETTING`, as :func:`add_flight`
    writes it) into each flight's project that lacks it, or whose note names a folder that
    holds no survey now (the survey moved with its videos): a project that joined before
    projects noted their survey, opened by itself in the app, then says it is a flight of
    this survey and brings it along (:func:`core.survey.survey_of_project`). A project
    another damagemap is analysing now is left as it is (noted at a later open, analysis or
    export), as one that cannot be read or written (the survey still maps and exports
    it). Returns the flights noted."""
    folder = str(survey.folder.resolve())
    noted: list[str] = []
    for flight in survey.flights:
        project = survey.project_path(flight)
        try:
            with ProjectStore.open(project, read_only=True) as store:  # most are noted: nothing written
                if _notes_a_survey(store.get_setting(SURVEY_SETTING)) or store.analysed_elsewhere() is not None:
                    continue
            with ProjectStore.open(project) as store:
                if store.read_only or store.analysed_elsewhere() is not None:  # it began meanwhile
                    continue
                store.set_setting(SURVEY_SETTING, folder)
        except DamagemapError as exc:
            _log.debug("survey note not written in %s: %s", project, exc)
            continue
        noted.append(flight.name)
    return noted


def _notes_a_survey(recorded: Any) -> bool:
    """A project's survey note names a folder that holds a survey (a note left from
    before the survey moved does not)."""
    return isinstance(recorded, str) and bool(recorded) and (Path(recorded) / SURVEY_FILE).is_file()


def _refuse_project_of_another(survey: Survey, project: Path, video: Path) -> None:
    """Refuse a project that is not ``video``'s, or that another survey holds as a flight
    (its decisions and site numbers would be two surveys' at once)."""
    with ProjectStore.open(project, read_only=True) as store:
        own_video = Path(store.video_path)
    if not _same_video(own_video, video):
        raise SurveyError(f"{str(project)!r} is the project of another video, {str(own_video)!r}, not "
                          f"{str(video)!r}; add that project (or its video), or move it away to give this video a "
                          "project of its own")
    holder = survey_of_project(project, other_than=survey.folder)
    flight = None if holder is None else holder.flight_of_project(project)
    if holder is not None and flight is not None:
        raise SurveyError(
            f"{str(project)!r} is flight {flight.name} of survey {holder.name!r} ({holder.folder}) already: a "
            "project is a flight of one survey; take it out there first (`damagemap survey remove "
            f"{holder.folder} {flight.name}`)")


@dataclass(frozen=True, slots=True)
class ProjectContents:
    """What a flight's project held when it was added (:func:`project_contents`): its
    latest run's ``frames`` analysed, the ``sites`` on its map (``None``: not mapped, with
    ``why``), how many of them a reviewer decided (``reviewed``), and who is analysing it
    now (``analysing``: another damagemap, described; ``None``)."""

    project: Path
    frames: int
    complete: bool
    sites: int | None = None
    reviewed: int = 0
    why: str | None = None
    analysing: str | None = None

    def text(self) -> str:
        """``took the analysed project X: 60 frames, 12 sites, 5 reviewed``."""
        state = "analysed" if self.complete else "partly analysed"
        parts = [counted(self.frames, "frame")]
        parts.append(f"{counted(self.sites, 'site')}, {self.reviewed} reviewed" if self.sites is not None
                     else f"not mapped yet ({self.why})")
        line = f"took the {state} project {self.project}: {', '.join(parts)}"
        if self.analysing is not None:
            line += (f"; being analysed by {self.analysing} now: the survey counts its frames as it stores them "
                     "(`survey analyse` leaves it to that damagemap)")
        return line


def project_contents(survey: Survey, flight: FlightRecord) -> ProjectContents | None:
    """What ``flight``'s project holds (:class:`ProjectContents`), or ``None`` when it has
    no run yet (a project just made: nothing was taken)."""
    from core.store import describe_writer
    from services.maps import damage_map
    from services.sites import site_review

    path = survey.project_path(flight)
    shown = Path(os.path.normpath(path))
    with ProjectStore.open(path, read_only=True) as store:
        runs = store.runs()
        if not runs:
            return None
        latest = runs[-1]
        elsewhere = store.analysed_elsewhere()
        analysing = None if elsewhere is None else describe_writer(elsewhere[1])
        try:
            built = damage_map(store, latest.id)
            review = site_review(store, latest.id, built=built)
        except DamagemapError as exc:
            return ProjectContents(shown, latest.frames_done, latest.finished, why=str(exc), analysing=analysing)
        reviewed = sum(1 for item in review.queue if item.site.decided)
    return ProjectContents(shown, latest.frames_done, latest.finished, len(built.fused), reviewed, analysing=analysing)


def _refuse_known_video(survey: Survey, video: Path) -> None:
    """Refuse a video that is a flight of ``survey`` already: its sites would count as
    seen by two flights."""
    known = flight_of_video(survey, video)
    if known is not None:
        raise SurveyError(f"{str(video)!r} is flight {known} of survey {survey.name!r} already")


def flight_of_video(survey: Survey, video: Path) -> str | None:
    """The name of the flight of ``survey`` whose video ``video`` is (the same file on
    the disk, or the same path where the flight's is gone; where the survey and its videos
    were moved together, the video its project finds now), or ``None``."""
    for flight in survey.flights:
        if _same_video(Path(flight.video), video):
            return flight.name
    for flight in survey.flights:  # the path recorded is gone (moved to a field laptop): the project's own
        if Path(flight.video).exists():
            continue
        try:
            with ProjectStore.open(survey.project_path(flight), read_only=True) as store:
                found = Path(store.video_path)
        except DamagemapError:
            continue
        if found.exists() and _same_video(found, video):
            return flight.name
    return None


def _same_video(recorded: Path, video: Path) -> bool:
    try:
        return recorded.samefile(video)
    except OSError:
        return recorded.resolve() == Path(video).resolve()


def missing_project_text(survey: Survey, flight: FlightRecord) -> str | None:
    """Why ``flight``'s project cannot be found, naming where it was looked for and how to
    find it again, or ``None`` when it is there. A project referenced where it lies (beside
    its video) is kept relative to the survey's folder: a survey folder moved without its
    videos looks for it in the wrong place."""
    project = survey.project_path(flight)
    if project.exists():
        return None
    looked = shown_path(project)
    return (f"its project is missing: looked for {flight.project!r} from the survey's folder, at {looked!r}; "
            "if the survey moved without it, move the flight's video and project back beside the survey as "
            f"they were, or give where the project is now: damagemap survey relink '{survey.folder}' "
            f"{flight.name} PROJECT")


def missing_video_text(survey: Survey, flight: FlightRecord, video: str | Path, *, on_map: bool = True) -> str | None:
    """Why the video ``flight``'s project names cannot be read, and how to find it again
    (``survey relink`` matches a renamed or moved video by its content), or ``None`` when
    it is there. Its sites stay on the map (the analysis is in the project), but their
    close-ups cannot be cut from it; ``on_map``: false for a flight left out of the map
    for another reason (no telemetry), whose sites are on no map to stay on."""
    if Path(video).is_file():
        return None
    stays = "its sites stay on the map, without their close-ups" if on_map else "its sites' close-ups are cut from it"
    return (f"its video is not at {shown_path(Path(video))!r} (renamed or moved?): {stays}; give where it is now "
            f"(matched by its content): damagemap survey relink '{survey.folder}' {flight.name} VIDEO")


@dataclass(frozen=True)
class Relinked:
    """What :func:`relink_flight` did: the flight as recorded now, and what it matched and
    how, in words for the user ("its video is 'north.mp4' now, matched by content: ...")."""

    flight: FlightRecord
    matched: tuple[str, ...] = ()


def _refuse_no_regular_file(path: Path, client: Client, *, survey: Path | None) -> None:
    """An :class:`InputError` for a flight's video or project that is not there, or is a
    named pipe, a socket or a device (whose reading would wait for ever), saying which;
    a flight log (by its suffix) is said with where it goes
    (:func:`services.project.flight_log_given_text`: ``--track`` on the command line)."""
    import stat

    from core.file_kind import special_file_kind
    from services.project import flight_log_given_text

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        problem = ": no such file"
    except OSError as exc:
        problem = f": cannot read it ({exc.strerror or exc})"
    else:
        if stat.S_ISREG(mode):
            return
        problem = f" is {special_file_kind(mode)}, not a regular file"
    log = path.suffix.lower() in TELEMETRY_SUFFIXES
    raise InputError(f"{str(path)!r}{problem}; "
                     + (flight_log_given_text(path, client, survey=survey) if log else "give a drone video or a project"))


def relink_flight(survey: Survey, name: str, path: Path) -> Relinked:
    """Flight ``name``'s project or video is at ``path`` now (moved, renamed, or the survey
    moved without it). ``path`` is the flight's project (``.dmproj``), its video, or a folder
    holding its video. The survey references them there, the project points at its video
    and notes its survey.

    A project or a video under another name than the flight's video had (a field team
    renamed ``DJI_0042.MP4``) is matched by content (:mod:`services.video_match`): the same
    size, frame count and length as the video its project analysed, or, where that project
    and the video's old file are both gone or record nothing, as the survey's own record of
    it (:attr:`core.survey.FlightRecord.video_identity`); so is a video that left its
    project's side, looked for beside the project. Where several videos match, none is
    picked: they are named. The survey's record of the video is renewed from the video
    linked.

    Raises
    ------
    SurveyError
        The survey has no such flight, or ``path`` is another video or another video's
        project, or another flight's, or several videos match (each named).
    InputError
        ``path`` cannot be read as a project, or holds no video, or is a telemetry file
        (naming it).
    """
    path = Path(path)
    survey.flight(name)  # says which flights there are
    if path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES:
        return _relink_video(survey, name, path)
    if path.suffix.lower() in TELEMETRY_SUFFIXES:  # opened as a project, it was "not a damagemap project"
        takes = f"relink takes flight {name}'s project ({PROJECT_SUFFIX}), its video, or the folder holding the video"
        if not path.exists():  # a log named where none is: that is what is wrong first
            raise InputError(f"{str(path)!r}: no such file; and {takes}, not a telemetry file (a flight log)")
        raise InputError(f"{str(path)!r} is a telemetry file (a flight log), not a project nor a video: {takes}")
    if not path.is_file():
        raise InputError(f"{str(path)!r}: no such file; relink takes flight {name}'s project ({PROJECT_SUFFIX}), "
                         "its video, or the folder holding the video")
    matched: list[str] = []
    with ProjectStore.open(path, read_only=True) as store:
        video = Path(store.video_path)
        recorded = recorded_video(store)
    flight = survey.flight(name)
    other = survey.flight_of_project(path)
    if other is not None and other.name != name:
        raise SurveyError(f"{str(path)!r} is flight {other.name}'s project already")
    if other is not None and video.name != Path(flight.video).name:  # its own project, pointed at its video renamed
        matched.append(f"its video is {str(video)!r} (renamed), as its project names it")
    elif video.name != Path(flight.video).name:  # the flight's video renamed, or another video's project
        known = _flights_video_record(survey, flight, path)
        if recorded is None or known is None or not same_content(recorded, known.record):
            raise SurveyError(f"{str(path)!r} is the project of {str(video)!r}, not of flight {name}'s video "
                              f"{Path(flight.video).name!r}" + ("" if recorded is None or known is None else
                                                               f" (nor has it {CONTENT_WORDS})"))
        matched.append(f"its project's video {video.name!r} is flight {name}'s {Path(flight.video).name!r} "
                       f"renamed, matched by content: {CONTENT_WORDS} as {known.source} "
                       f"({content_text(recorded)})")
    beside = _project_or_survey_record(recorded, flight)
    if not video.is_file() and beside is not None:  # moved (renamed) beside its project
        found = _only_match(beside.record, videos_beside([path.parent], VIDEO_SUFFIXES), f"beside {str(path)!r}",
                            name)
        if found is not None:
            with ProjectStore.open(path) as store:
                if store.read_only:
                    raise SurveyError(f"{str(path)!r} cannot be written (read-only) to point it at its video "
                                      f"{str(found)!r}")
                store.set_video(found)
            matched.append(f"its video is {str(found)!r}, found beside its project by content: "
                           f"{CONTENT_WORDS} as {beside.source} ({content_text(beside.record)})")
            video = found
    identity = file_identity(video) if video.is_file() else None

    def relink(fresh: Survey) -> FlightRecord:
        before = fresh.flight(name)
        return fresh.change_flight(name, project=fresh.relative(path),
                                   video=str(video.resolve()) if video.is_file() else before.video,
                                   video_identity=identity or before.video_identity)

    relinked = survey.update(relink)
    note_survey_in_flights(survey)
    return Relinked(relinked, tuple(matched))


def _relink_video(survey: Survey, name: str, path: Path) -> Relinked:
    """Flight ``name``'s video is ``path`` now (a video file, or the one video in the
    folder ``path`` with the content its project recorded)."""
    flight = survey.flight(name)
    missing = missing_project_text(survey, flight)
    if missing is not None:
        raise SurveyError(f"flight {name}: {missing}")
    project = survey.project_path(flight)
    with ProjectStore.open(project) as store:
        known = _project_or_survey_record(recorded_video(store), flight)
        recorded = None if known is None else known.record
        if path.is_dir():
            if known is None:
                raise SurveyError(f"flight {name}: its project {shown_path(project)!r} records nothing of its video "
                                  f"to look for it by (not analysed yet), nor does the survey ({_NO_SURVEY_RECORD}); "
                                  "give the video itself")
            found = _only_match(known.record, videos_beside([path], VIDEO_SUFFIXES), f"in {str(path)!r}", name)
            if found is None:
                raise SurveyError(f"flight {name}: no video in {str(path)!r} has {CONTENT_WORDS} as "
                                  f"{known.source} ({content_text(known.record)})")
            how = f"found in {str(path)!r} by content"
        elif not path.is_file():
            raise InputError(f"{str(path)!r}: no video there")
        elif known is not None:
            now = probed_video(path)
            if now is None:
                raise InputError(f"{str(path)!r}: not a readable video")
            if not same_content(known.record, now):
                raise SurveyError(f"{str(path)!r} is not flight {name}'s video: {content_text(now)}, "
                                  f"{known.source} had {content_text(known.record)}")
            found, how = path, "matched by content"
        elif path.name == Path(flight.video).name:
            found, how = path, ("matched by its name (its project records nothing of it to compare: not analysed "
                                f"yet, nor does the survey: {_NO_SURVEY_RECORD})")
        else:
            raise SurveyError(f"{str(path)!r} is not named as flight {name}'s video {Path(flight.video).name!r}, and "
                              f"its project {shown_path(project)!r} records nothing of its video to compare it by "
                              f"(not analysed yet), nor does the survey ({_NO_SURVEY_RECORD})")
        if store.read_only:
            raise SurveyError(f"flight {name}: its project {shown_path(project)!r} cannot be written (read-only) "
                              "to point it at its video")
        store.set_video(found)
        telemetry = _telemetry_found_beside(store, found)
    detail = "" if recorded is None else f": {CONTENT_WORDS} as {Path(flight.video).name!r} ({content_text(recorded)})"
    identity = file_identity(found)

    def relink(fresh: Survey) -> FlightRecord:
        changes = {} if telemetry is None else {"telemetry": str(telemetry)}
        return fresh.change_flight(name, video=str(found.resolve()),
                                   video_identity=identity or fresh.flight(name).video_identity, **changes)

    said = [f"its video is {str(found)!r}, {how}{detail}"]
    if telemetry is not None:
        said.append(f"its telemetry is {str(telemetry)!r}, found beside the video (it had none): it goes on the "
                    "survey's map")
    return Relinked(survey.update(relink), tuple(said))


def _telemetry_found_beside(store: ProjectStore, video: Path) -> Path | None:
    """A flight's project with no telemetry, pointed at its video elsewhere, takes the
    telemetry found beside the video there (same name: SRT, GPX, CSV), as a flight added
    with its video does (:func:`services.project.open_or_create_project`): the log the
    field team kept with the video. Returns it (``None``: the project has telemetry, or
    none is there)."""
    from services.project import find_telemetry

    if store.telemetry_path is not None:
        return None
    found = find_telemetry(video)
    if found is not None:
        store.set_telemetry(Path(found).resolve())
    return None if found is None else Path(found).resolve()


def _only_match(recorded: Mapping[str, Any], candidates: Sequence[Path], where: str, name: str) -> Path | None:
    """The one of ``candidates`` with the content ``recorded`` describes, ``None`` for none;
    several: a :class:`SurveyError` naming them (none is picked)."""
    found = matching_videos(recorded, candidates)
    if len(found) > 1:
        raise SurveyError(f"flight {name}: {len(found)} videos {where} have {CONTENT_WORDS} as its video "
                          f"({content_text(recorded)}): {', '.join(repr(p.name) for p in found)}; none was picked: "
                          "give the one to use (damagemap survey relink SURVEY FLIGHT VIDEO)")
    return found[0] if found else None


#: Why a survey keeps nothing of a flight's video.
_NO_SURVEY_RECORD = "written by a damagemap before surveys kept one"


@dataclass(frozen=True)
class _KnownVideo:
    """What is known of a flight's video to match a file against: its ``record`` (as a run
    records it: :func:`engine.video.video_record`) and, for the messages, whose record it
    is (``source``: "the video its project analysed ('DJI_0042.MP4')")."""

    record: Mapping[str, Any]
    source: str


def _project_or_survey_record(recorded: Mapping[str, Any] | None, flight: FlightRecord) -> _KnownVideo | None:
    """``recorded`` (what the flight's project recorded of its video), else the survey's
    own record of it (:attr:`FlightRecord.video_identity`; none in a manifest written
    before the survey kept it), or ``None``."""
    if recorded is not None:
        return _KnownVideo(recorded, f"the video its project analysed ({Path(flight.video).name!r})")
    return _survey_record(flight)


def _survey_record(flight: FlightRecord) -> _KnownVideo | None:
    if flight.video_identity is None:
        return None
    return _KnownVideo(identity_record(flight.video_identity),
                       f"the survey's record of its video ({flight.video_identity.name!r})")


def _flights_video_record(survey: Survey, flight: FlightRecord, given: Path) -> _KnownVideo | None:
    """What the survey can still learn of ``flight``'s video, to match ``given`` (a project)
    against: what its project (where the survey has it, if not ``given``) recorded, else
    its video where the survey recorded it, probed, else the survey's own record of it
    (where its project and its old file are both gone); ``None`` when none of these is
    there (a manifest written before the survey kept its record)."""
    project = survey.project_path(flight)
    if project.is_file() and not _same_video(project, given):
        try:
            with ProjectStore.open(project, read_only=True) as store:
                recorded = recorded_video(store)
        except DamagemapError:
            recorded = None
        if recorded is not None:
            return _KnownVideo(recorded, f"the video its project {shown_path(project)!r} analysed")
    video = Path(flight.video)
    probed = probed_video(video) if video.is_file() else None
    if probed is not None:
        return _KnownVideo(probed, f"its video {str(video)!r}")
    return _survey_record(flight)


def remove_flight(survey: Survey, name: str) -> FlightRecord:
    """Take flight ``name`` out of the survey and save it (under the survey's lock, as it
    is now: :meth:`Survey.update`); its project and video stay on disk (``survey add`` of
    its video under the same name brings it back, analysis and reviews included)."""
    return survey.update(lambda fresh: fresh.remove_flight(name))


@dataclass(frozen=True, slots=True)
class FlightProgress:
    """A frame of one flight stored (``progress``), for a progress bar per flight."""

    flight: str
    progress: AnalysisProgress


def analyse_survey(
    survey: Survey,
    request: AnalysisRequest,
    *,
    flights: Sequence[str] | None = None,
    cluster: ClusterOptions | None = None,
    model: LoadedModel | None = None,
    cancel: threading.Event | None = None,
    on_plan: Callable[[FlightRecord, Any], None] | None = None,
    on_failure: Callable[[FlightRecord, DamagemapError], None] | None = None,
) -> Iterator[FlightProgress]:
    """Analyse the survey's flights (all, or those named) one after the other, each
    resuming where it stopped; on Ray workers with ``cluster``. The model loads once.
    After each flight the survey's decisions are applied to it (:func:`apply_decisions`
    runs at the end, once every flight is analysed). ``on_failure``: a flight that cannot
    be analysed (its video cut off, its telemetry unreadable) is handed to it and the
    others go on (without it, the error stops the survey's analysis)."""
    from services import analysis

    chosen = [survey.flight(n) for n in flights] if flights else list(survey.flights)
    if not chosen:
        raise SurveyError(f"survey {survey.name!r} has no flights yet; add some with 'damagemap survey add'")
    note_survey_in_flights(survey)
    refresh_video_identities(survey)  # the flights not analysed now too
    loaded = model if model is not None else analysis.load_model(request)
    if cluster is None:
        yield from _analyse_flights(survey, chosen, request, None, loaded, cancel, on_plan, on_failure)
        return
    from services.cluster import RaySession

    # One Ray instance for every flight (starting one takes seconds to minutes).
    with RaySession(cluster, "cuda" if loaded.device.type == "cuda" else "cpu"):
        yield from _analyse_flights(survey, chosen, request, cluster, loaded, cancel, on_plan, on_failure)


def _analyse_flights(
    survey: Survey, chosen: Sequence[FlightRecord], request: AnalysisRequest, cluster: ClusterOptions | None,
    loaded: LoadedModel, cancel: threading.Event | None, on_plan: Callable[[FlightRecord, Any], None] | None,
    on_failure: Callable[[FlightRecord, DamagemapError], None] | None = None,
) -> Iterator[FlightProgress]:
    for flight in chosen:
        try:
            yield from _analyse_flight(survey, flight, request, cluster, loaded, cancel, on_plan)
        except DamagemapError as exc:
            if on_failure is None:
                raise
            on_failure(flight, exc)
        if cancel is not None and cancel.is_set():
            return


def _analyse_flight(
    survey: Survey, flight: FlightRecord, request: AnalysisRequest, cluster: ClusterOptions | None,
    loaded: LoadedModel, cancel: threading.Event | None, on_plan: Callable[[FlightRecord, Any], None] | None,
) -> Iterator[FlightProgress]:
    from services import analysis

    with ProjectStore.open(survey.project_path(flight)) as store:
        elsewhere = store.analysed_elsewhere()
        if elsewhere is not None:  # its frames would be stored twice: left to that damagemap (it counts as it goes)
            from core.store import analysed_elsewhere_message

            raise SurveyError(f"{str(store.path)!r}: {analysed_elsewhere_message(elsewhere[0].id, elsewhere[1])}, "
                              "then analyse the survey again")
        plan = analysis.plan(store, request, model=loaded, check_placement=on_plan is not None)
        if on_plan is not None:
            on_plan(flight, plan)
        if cluster is not None:
            from services.cluster import analyse_on_ray

            runs = analyse_on_ray(store, request, cluster, analysis_plan=plan, cancel=cancel)
        else:
            runs = analysis.analyse(store, request, analysis_plan=plan, cancel=cancel)
        for progress in runs:
            yield FlightProgress(flight.name, progress)
        analysed = _analysed_identity(store)
    if analysed is not None:
        _keep_video_identities(survey, {flight.name: analysed})


def refresh_video_identities(survey: Survey) -> list[str]:
    """Bring the survey's record of each flight's video (:attr:`FlightRecord.video_identity`)
    to the video its project analysed last: a flight's project analysed on its own
    (``damagemap analyze`` on it, or the app's Run on it opened alone) may have analysed
    another file than the survey recorded (its video replaced, or located anew), and
    ``survey relink`` must find that video, not the one before. The manifest is written
    once, and only where a record changes. A project never analysed, or that cannot be
    read, keeps the record as it is; so does a survey that cannot be written now (its folder
    read-only, in use by another damagemap for too long): it is refreshed the next time.
    Returns the flights whose record changed."""
    analysed: dict[str, VideoIdentity] = {}
    for flight in survey.flights:
        project = survey.project_path(flight)
        try:
            with ProjectStore.open(project, read_only=True) as store:
                identity = _analysed_identity(store)
        except DamagemapError as exc:
            _log.debug("video record of flight %s not refreshed from %s: %s", flight.name, project, exc)
            continue
        if identity is not None and identity != flight.video_identity:
            analysed[flight.name] = identity
    if not analysed:
        return []
    try:
        return _keep_video_identities(survey, analysed)
    except SurveyError as exc:
        _log.debug("video records of flights %s not kept in %s: %s", ", ".join(analysed), survey.folder, exc)
        return []


def _analysed_identity(store: ProjectStore) -> VideoIdentity | None:
    """The identity of the video ``store``'s newest run recorded (named as the project
    names its video now), or ``None``: never analysed, or by a damagemap that kept nothing
    of its video."""
    return identity_of(Path(store.video_path).name, recorded_video(store))


def _keep_video_identities(survey: Survey, identities: Mapping[str, VideoIdentity]) -> list[str]:
    """The survey's record of each named flight's video is its ``identities`` entry now;
    the manifest is written only where that changes it (a flight taken out meanwhile is
    left out). Returns the flights whose record changed."""
    if all(any(f.name == name and f.video_identity == identity for f in survey.flights)
           for name, identity in identities.items()):
        return []

    def keep(fresh: Survey) -> list[str]:
        changed = [f.name for f in fresh.flights
                   if f.name in identities and f.video_identity != identities[f.name]]  # not taken out meanwhile
        for name in changed:
            fresh.change_flight(name, video_identity=identities[name])
        return changed

    return survey.update(keep)


@dataclass(frozen=True, slots=True)
class FlightGeoreferencing:
    """What :func:`georeference_flights` did for one flight: what it read from the video
    (and stored in the flight's project), or what it left and why, a line each;
    ``read``: the video was read (its telemetry and project did not give everything
    already); ``problem`` when nothing could be read (the other flights go on)."""

    flight: FlightRecord
    lines: tuple[str, ...] = ()
    problem: str | None = None
    read: bool = False


def georeference_flights(survey: Survey, flights: Sequence[str] | None = None, *,
                         again: bool = False) -> Iterator[FlightGeoreferencing]:
    """For each flight (all, or those named) read from its video what its telemetry leaves
    the map to assume, and store it in the flight's project, as ``damagemap export
    --camera auto --ground-elevation auto --flight-height auto --save`` does for one: the
    camera's pitch and heading offset for telemetry without gimbal pitch, the ground's
    elevation for absolute altitudes only, the flight height for none. What the project
    already sets is kept unless ``again``. A flight that cannot be read is said and
    skipped; the others go on."""
    from dataclasses import replace

    from geo.telemetry import read_telemetry
    from services.sync import georeference_from_video, heights_need_ground, heights_unknown

    chosen = [survey.flight(n) for n in flights] if flights else list(survey.flights)
    for flight in chosen:
        try:
            with ProjectStore.open(survey.project_path(flight)) as store:
                if store.telemetry_path is None:
                    yield FlightGeoreferencing(flight, problem=(
                        f"no telemetry (give it to the flight's project: 'damagemap export "
                        f"{shown_path(survey.project_path(flight))} --telemetry FILE --save')"))
                    continue
                track = read_telemetry(Path(store.telemetry_path))
                settings = store.project_settings()
                if again:  # forget what was read (or typed) before
                    forget = ["camera_pitch_deg", "camera_pitch_sigma_deg", "heading_offset_deg",
                              "heading_offset_sigma_deg"]
                    if heights_need_ground(track):
                        forget += ["ground_elevation_m", "ground_elevation_sigma_m"]
                    if heights_unknown(track):
                        forget += ["flight_height_m", "flight_height_sigma_m"]
                    cleared: dict[str, Any] = dict.fromkeys(forget)
                    settings = replace(settings, **cleared)
                camera = not track.has("gimbal_pitch_deg") and settings.camera_pitch_deg is None
                ground = heights_need_ground(track) and settings.ground_elevation_m is None
                flown = heights_unknown(track) and settings.flight_height_m is None
                if not (camera or ground or flown):
                    yield FlightGeoreferencing(flight, ("nothing to read: the telemetry and the project give the "
                                                        "camera and the heights",))
                    continue
                reading = georeference_from_video(Path(store.video_path), track, settings, camera=camera,
                                                  ground=ground, flown=flown)
                store.set_project_settings(reading.settings)
        except DamagemapError as exc:
            yield FlightGeoreferencing(flight, problem=str(exc))
            continue
        yield FlightGeoreferencing(flight, reading.lines, read=True)


@dataclass(frozen=True, slots=True)
class FlightStatus:
    """Where one flight of a survey stands: its record, its project, the video and the
    telemetry its project uses now (telemetry ``None``: none, so the flight is left off
    the map), how much of it is analysed and with what model (its latest run), the
    building footprints and basemap set on it for its relief products, and why its project
    cannot be read (``problem``)."""

    record: FlightRecord
    project: Path
    telemetry: Path | None = None
    frames_analysed: int = 0
    complete: bool = False
    problem: str | None = None
    video: Path | None = None
    model: Any = None
    footprints: Path | None = None
    basemap: Path | None = None
    product: Any = None  # geo.export.products.ProductInfo set on it (event, GLIDE, producer), or None
    #: analysed frames too dark, uniform or blurred to count as a look at the ground
    #: (core.frame_quality)
    frames_no_look: int = 0
    #: the video was not whole when analysed (frames that could not be decoded, or a copy
    #: cut short): ``services.maps.video_not_whole``
    video_not_whole: bool = False
    #: the project is not where the survey looks for it (``problem`` says where, and how
    #: to find it again: :func:`missing_project_text`)
    project_missing: bool = False
    #: another damagemap analyses the flight now: who (``core.store.describe_writer``), else None
    analysed_elsewhere: str | None = None

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def project_shown(self) -> str:
        """Where the project is, to show: ``town/../videos/monday.dmproj`` (the survey's
        folder joined with the path it keeps, relative to it) as ``videos/monday.dmproj``."""
        return shown_path(self.project)


def shown_path(path: Path) -> str:
    """``path`` with its ``..`` and ``.`` taken out, to show (opened, the path itself is used:
    through a link, ``..`` leads where the link's target lies)."""
    return os.path.normpath(path)


def _product_set(store: ProjectStore) -> Any:
    """The event and producer set on the project for its relief package, or None when
    never set (or no longer valid)."""
    from geo.export.products import ProductInfo

    try:
        info = product_info(store)
    except InputError:
        return None
    return None if info == ProductInfo() else info


def flight_statuses(survey: Survey) -> list[FlightStatus]:
    """Every flight of the survey, in its order, as :class:`FlightStatus`."""
    from core.store import describe_writer
    from services.maps import video_not_whole
    statuses: list[FlightStatus] = []
    for flight in survey.flights:
        project = survey.project_path(flight)
        missing = missing_project_text(survey, flight)
        if missing is not None:
            statuses.append(FlightStatus(flight, project, problem=missing, project_missing=True))
            continue
        try:
            with ProjectStore.open(project, read_only=True) as store:
                run_id = store.latest_run_id()
                run = None if run_id is None else store.run(run_id)
                telemetry, video = store.telemetry_path, store.video_path
                footprints, basemap = product_sources(store)
                product = _product_set(store)
                no_look = 0 if run_id is None else len(unusable_frames(store.frame_qualities(run_id)))
                not_whole = run is not None and video_not_whole(run.settings)
                elsewhere = store.analysed_elsewhere()
        except DamagemapError as exc:
            statuses.append(FlightStatus(flight, project, problem=str(exc)))
            continue
        statuses.append(FlightStatus(flight, project, None if telemetry is None else Path(telemetry),
                                     0 if run is None else run.frames_done, run is not None and run.finished,
                                     video=Path(video), model=None if run is None else run.model,
                                     footprints=footprints, basemap=basemap, product=product,
                                     frames_no_look=no_look, video_not_whole=not_whole,
                                     analysed_elsewhere=None if elsewhere is None else describe_writer(elsewhere[1])))
    return statuses


def survey_decisions(survey: Survey, *, except_project: Path | None = None) -> list[SiteMark]:
    """Every review decision of the survey in force as a place, oldest first (at one place
    the latest wins): the survey's own (``survey decide``; not one every flight it was
    applied to took back, :class:`SurveyDecisionState`) and the site decisions a reviewer
    made in each flight's project. With ``except_project``, a flight's: what bears on that
    flight from the rest of its survey, for :func:`services.sites.carry_decisions`, each
    with the sites of that flight the survey joins with the decided one
    (:class:`core.sites.JoinedMark`, :mod:`services.decision_reach`). A flight whose
    project cannot be read adds none."""
    decisions = review_decisions(survey)
    flight = None if except_project is None else survey.flight_of_project(except_project)
    if flight is None:
        return [mark for _, _, mark in decisions.dated]
    if all(flight.name in made_in for _, made_in, _ in decisions.dated):
        return []
    mapped, _, together = _map_flights(survey, decisions)
    return _marks_by_flight(survey, decisions, mapped, together).get(flight.name, [])


@dataclass(frozen=True, slots=True)
class SurveyDecisionState:
    """A decision of ``survey decide`` and where it stands in the flights it was applied
    to (by their names now): ``holding``, those whose copy of it is in force; ``taken_back``,
    those whose reviewer took it back (an undo in the flight's project, the app's or the
    history's); ``unread``, those whose project cannot be read. It counts (:attr:`in_force`)
    unless every flight still in the survey it was applied to took it back; a decision
    whose flights all left the survey, or recorded before the flights it went to were
    kept, counts, as a place decided."""

    decision: PlaceDecision
    holding: tuple[str, ...] = ()
    taken_back: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()
    #: of ``holding``, the flights analysed again since (``survey analyse --new-run``) whose
    #: latest run has no copy of it yet: their copy holds an earlier run's site, and the
    #: decision goes to the latest run's site at its place (:func:`apply_decisions`)
    waiting: tuple[str, ...] = ()

    @property
    def in_force(self) -> bool:
        return bool(self.holding or self.unread) or not self.taken_back


@dataclass(frozen=True, slots=True)
class SurveyDecisions:
    """Every review decision of a survey, by where it was made (:func:`review_decisions`).

    ``survey``: the survey's own (``survey decide``), each with where it stands in the
    flights. ``flights``: for each flight whose project was read, the site decisions in
    force its reviewers made in its own project (the app's Sites panel): not the copies of
    the survey's decisions, nor the decisions carried there from other flights or from
    earlier runs. ``dated``: ``(UTC time, the flights it is in already, place)`` of every
    decision in force, copies and carried ones included, oldest first: what the map and
    the carrying go by. A flight's decision is in that flight; the survey's is in each
    flight it was applied to (held or taken back there): it is carried by place to the
    others only, or it would reach another site of the same flight a few metres off. A
    flight analysed again since (a new run) holds it in its latest run only once a copy is
    there: until then it is carried there too (:attr:`SurveyDecisionState.waiting`)."""

    survey: tuple[SurveyDecisionState, ...] = ()
    flights: Mapping[str, tuple[SiteDecisionRecord, ...]] = field(default_factory=dict)
    dated: tuple[tuple[str, frozenset[str], SiteMark], ...] = ()
    #: for each of ``dated``, by flight, the detections it decided there: the site it was
    #: made on (or applied to), which the survey's joins follow to the other flights
    sightings: tuple[Mapping[str, frozenset[int]], ...] = ()

    def made(self) -> list[MadeDecision]:
        """``dated`` as :class:`services.decision_reach.MadeDecision`, oldest first."""
        from services.decision_reach import MadeDecision

        return [MadeDecision(mark, made_in, self.sightings[k] if k < len(self.sightings) else {})
                for k, (_, made_in, mark) in enumerate(self.dated)]

    @property
    def survey_in_force(self) -> list[SurveyDecisionState]:
        return [d for d in self.survey if d.in_force]

    @property
    def survey_taken_back(self) -> list[SurveyDecisionState]:
        """The survey's decisions every flight they went to took back: they no longer count."""
        return [d for d in self.survey if not d.in_force]

    @property
    def count(self) -> int:
        """The decisions in force: the survey's and those made in the flights' own review."""
        return len(self.survey_in_force) + sum(len(own) for own in self.flights.values())


def review_decisions(survey: Survey) -> SurveyDecisions:
    """Every review decision of the survey (:class:`SurveyDecisions`), each flight's project
    read once: the survey's own with where each stands in the flights (a copy a flight's
    reviewer took back, :class:`SurveyDecisionState`), and the decisions made in each
    flight's own review. A flight whose project cannot be read adds none."""
    legacy = {(d.lon_deg, d.lat_deg, d.review, d.level) for d in survey.decisions if not d.applied}
    active: dict[str, set[int]] = {}  # flight -> its site decision records in force
    latest: dict[str, int | None] = {}  # flight -> its latest run
    superseded: dict[str, set[int]] = {}  # flight -> its records a later decision on the same sightings overrode
    unread: set[str] = set()
    own: dict[str, tuple[SiteDecisionRecord, ...]] = {}
    in_force_records: dict[str, dict[int, SiteDecisionRecord]] = {}
    flight_dated: list[tuple[str, frozenset[str], SiteMark, dict[str, frozenset[int]]]] = []
    # the flight each copy went to, now (None: it left the survey)
    went_to = {applied: survey.flight_of_project(survey.path_of(applied.project))
               for decision in survey.decisions for applied in decision.applied}
    copies: dict[str, set[int]] = {}
    for applied, target in went_to.items():
        if target is not None:
            copies.setdefault(target.name, set()).add(applied.decision_id)
    for flight in survey.flights:
        try:
            with ProjectStore.open(survey.project_path(flight), read_only=True) as store:
                records = store.site_decisions()
                carried = carried_decision_ids(store.edit_history()) if records else set()
                latest[flight.name] = store.latest_run_id()
        except DamagemapError:
            unread.add(flight.name)
            continue
        active[flight.name] = {r.id for r in records}
        in_force_records[flight.name] = {r.id: r for r in records}
        superseded[flight.name] = _superseded(records)
        mine = copies.get(flight.name, set())
        # a copy of a survey decision stands for it: the survey's own entry below says the flights it
        # is in already; the copy, carried as this flight's, reached the same damage's neighbours in the others
        flight_dated += [(r.created_utc, frozenset({flight.name}), SiteMark(r.lon_deg, r.lat_deg, r.review, r.level),
                          {flight.name: frozenset(r.detection_ids)})
                         for r in records if r.id not in mine]
        own[flight.name] = tuple(r for r in records if r.id not in carried and r.id not in mine
                                 and (r.lon_deg, r.lat_deg, r.review, r.level) not in legacy)
    states = []
    dated: list[tuple[str, frozenset[str], SiteMark, dict[str, frozenset[int]]]] = []
    for decision in survey.decisions:
        holding: list[str] = []
        taken_back: list[str] = []
        not_read: list[str] = []
        waiting: list[str] = []
        decided: dict[str, frozenset[int]] = {}
        for name, flight_copies in _copies_by_flight(decision, went_to).items():
            held_there = in_force_records.get(name, {})
            decided[name] = frozenset(i for a in flight_copies if a.decision_id in held_there
                                      for i in held_there[a.decision_id].detection_ids)
            if name in unread:
                not_read.append(name)
                continue
            # a flight analysed again: its latest run's copy is the one that counts, once there is one
            in_latest = [a for a in flight_copies if a.run_id == latest.get(name)]
            in_force = active.get(name, set())
            if not any(a.decision_id in in_force for a in in_latest or flight_copies):
                taken_back.append(name)
                continue
            holding.append(name)
            if not in_latest and latest.get(name) is not None and all(
                    a.decision_id in in_force and a.decision_id not in superseded[name] for a in flight_copies):
                waiting.append(name)  # an earlier run has it (there the latest decision on its site), not the latest
        state = SurveyDecisionState(decision, tuple(holding), tuple(taken_back), tuple(not_read), tuple(waiting))
        states.append(state)
        if state.in_force:
            dated.append((decision.created_utc, frozenset(holding + taken_back + not_read) - set(waiting),
                          decision.mark(), decided))
    dated += flight_dated
    # both write ISO 8601 UTC times; to the second they compare as text
    dated.sort(key=lambda item: item[0][:19])
    return SurveyDecisions(tuple(states), own, tuple(item[:3] for item in dated), tuple(item[3] for item in dated))


def _copies_by_flight(decision: PlaceDecision,
                      went_to: Mapping[AppliedDecision, FlightRecord | None]) -> dict[str, list[AppliedDecision]]:
    """The copies of a survey decision in each flight still in the survey, by its name now."""
    out: dict[str, list[AppliedDecision]] = {}
    for applied in decision.applied:
        target = went_to[applied]
        if target is not None:  # None: it left the survey
            out.setdefault(target.name, []).append(applied)
    return out


def _superseded(records: Sequence[SiteDecisionRecord]) -> set[int]:
    """The ids of ``records`` (a project's site decisions in force, oldest first) that a
    later decision of the same run on some of the same sightings overrode: the reviewer
    decided that site again (in the app, or the survey did)."""
    out = set()
    for k, record in enumerate(records):
        sightings = set(record.detection_ids)
        if any(later.run_id == record.run_id and not sightings.isdisjoint(later.detection_ids)
               for later in records[k + 1:]):
            out.add(record.id)
    return out


def _without_rejected_elsewhere(damage_map: DamageMap, marks: Sequence[SiteMark],
                                taken_back: Collection[int] = (),
                                rejected_here: Sequence[SiteSummary] = (),
                                rejections_back: Collection[int] = ()) -> tuple[DamageMap, int, int]:
    """``damage_map`` less its undecided sites that ``marks`` (the survey's and its other
    flights' decisions, oldest first) reject, reached as
    :func:`services.sites.carry_decisions` reaches them when that flight is opened or
    analysed again (:func:`core.sites.decisions_reaching`: the site the survey joins with
    the rejected one, else by place), so that a roof rejected on one flight is off the
    survey's map at once. As there, a site with a sighting whose review
    the flight's reviewer took back (``taken_back``: an undo,
    :func:`services.sites.taken_back_sightings`) is left as it is: the rejection will not
    be carried to it. The flight's project is not changed. Returns the copy, how many sites
    it left out of the map (its unconfirmed sites there are left out too, uncounted: decided,
    they are not the survey's "unconfirmed sites left off"), and how many sites of its map
    it kept, undecided, though a rejection elsewhere lies on them, because the flight's
    reviewer took a rejection of them back (``rejections_back``:
    :func:`services.sites.rejections_taken_back`). Not counted there: an unconfirmed site
    (off the map either way), nor one kept for another decision taken back (an acceptance
    undone keeps the site too, but no rejection was taken back)."""
    from services.sites import site_summaries, survey_reach

    if not any(m.review is ReviewState.REJECTED for m in marks):
        return damage_map, 0, 0
    every = site_summaries(damage_map)
    undecided = [site for site in every if not site.decided]
    back = set(taken_back)
    open_ids = {site.site_id for site in undecided if back.isdisjoint(site.detection_ids)}
    reach = survey_reach(damage_map)  # as far as the survey joins another flight's site with this one's
    # matched with every site, decided ones and the places this flight rejected among them: a
    # rejection whose own site here is decided (or off the map) reached the next site within reach
    matched = decisions_reaching(marks, [*every, *rejected_here], radius_m=reach)
    rejected = {site_id for site_id, mark in matched.items() if mark.review is ReviewState.REJECTED}
    gone = rejected & open_ids
    on_map = {f.site.id for f in damage_map.fused}
    rejection_back = set(rejections_back)
    kept_back = sum(1 for site in undecided
                    if site.site_id in rejected and site.site_id in on_map and site.site_id not in open_ids
                    and not rejection_back.isdisjoint(site.detection_ids))
    kept = [f for f in damage_map.fused if f.site.id not in gone]
    # an unconfirmed site there is decided too: not one the survey counts as left off, unconfirmed
    doubtful = [f for f in damage_map.unconfirmed if f.site.id not in gone]
    if len(kept) == len(damage_map.fused) and len(doubtful) == len(damage_map.unconfirmed):
        return damage_map, 0, kept_back
    return replace(damage_map, fused=kept, unconfirmed=doubtful), len(damage_map.fused) - len(kept), kept_back


def survey_map(survey: Survey, *, settings: SurveySettings | None = None, carry_rejections: bool = True) -> SurveyMap:
    """Every analysed flight's map fused into one (flights without a run or without
    telemetry are left out, with a note; each flight's cautions are noted, naming it).
    A flight's undecided site that a reviewer's rejection on another flight (or the
    survey's) reaches is left out (:func:`_without_rejected_elsewhere`: the site the survey
    joins with the rejected one, :mod:`services.decision_reach`; not one whose decision the
    flight's reviewer took back), unless not ``carry_rejections``: the flights' maps as
    their projects hold them. A survey decision the flights' reviewers took back counts
    no more where every flight it went to took it back (:class:`SurveyDecisionState`);
    the notes say so, and where one still holds it."""
    from geo.survey_fusion import FlightMap, fuse_flights
    from services.sites import places_of

    decisions = review_decisions(survey)
    mapped, notes, together = _map_flights(survey, decisions)
    marks = _marks_by_flight(survey, decisions, mapped, together, settings) if carry_rejections else {}
    flights: list[FlightMap] = []
    left_out = kept_back = 0
    for flight in mapped:
        shown, rejected, kept = _without_rejected_elsewhere(
            flight.damage_map, marks.get(flight.record.name, ()), flight.taken_back, places_of(flight.rejected),
            flight.rejections_back)
        left_out += rejected
        kept_back += kept
        flights.append(FlightMap(flight.record.name, shown, flight.record.date))
    if left_out:
        notes.append(f"{counted(left_out, 'flight site')} left out where a reviewer rejected the "
                     "damage at that place on another flight (`survey analyse`, or opening the flight in the app, "
                     "records the rejection in it)")
    if kept_back:
        notes.append(f"{counted(kept_back, 'flight site')} kept on the map, undecided, where a reviewer "
                     "rejected the damage at that place on another flight (or the survey did): the flight's own "
                     "reviewer took a rejection of that site back in it (undo)")
    if not flights:
        raise SurveyError(f"survey {survey.name!r}: no flight can be mapped yet" + (f" ({'; '.join(notes)})" if notes else ""))
    built = fuse_flights(flights, settings, together=together)
    _keep_site_numbers(survey, built)
    notes += _taken_back_notes(decisions, built)
    built.notes[:0] = notes
    # what each flight's own map cautions about (a flight flown unlike the detector's footage)
    built.notes.extend(f"flight {f.name}: {caution}" for f in flights for caution in f.damage_map.cautions)
    built.notes.extend(_no_telemetry_note(name, frames) for name, frames in frames_without_telemetry(built).items())
    return built


@dataclass(frozen=True, eq=False)
class _MappedFlight:
    """A flight's map as its project holds it, with what the survey's map and the joins
    read of its latest run: the sightings whose review a reviewer took back
    (``taken_back``), those of a rejection taken back (``rejections_back``) and its
    whole-site rejections (``rejected``)."""

    record: FlightRecord
    damage_map: DamageMap
    taken_back: frozenset[int] = frozenset()
    rejections_back: frozenset[int] = frozenset()
    rejected: tuple[SiteDecisionRecord, ...] = ()
    #: where its earlier runs' decisions lie in its latest run, and that run's undecided
    #: sightings (:class:`services.decision_reach.MappedFlight`)
    moved: Mapping[int, frozenset[int]] = field(default_factory=dict)
    undecided: frozenset[int] = frozenset()


def _map_flights(survey: Survey, decisions: SurveyDecisions,
                 ) -> tuple[list[_MappedFlight], list[str], list[set[tuple[str, int]]]]:
    """Each flight's map as its project holds it (a flight that cannot be mapped is left
    out, with a note saying why), the notes, and for each accepted survey decision in force
    the flights' sites it decided, ``(flight, site id)``, which the survey keeps together
    (:func:`geo.survey_fusion.fuse_flights`)."""
    from services.maps import damage_map
    from services.sites import rejections_taken_back, taken_back_sightings, whole_rejections

    accepted = [state.decision for state in decisions.survey_in_force
                if state.decision.review is ReviewState.ACCEPTED]
    together: list[set[tuple[str, int]]] = [set() for _ in accepted]
    mapped: list[_MappedFlight] = []
    notes: list[str] = []
    for flight in survey.flights:
        path = survey.project_path(flight)
        missing = missing_project_text(survey, flight)
        if missing is not None:
            notes.append(f"flight {flight.name}: left out ({missing})")
            continue
        try:
            with ProjectStore.open(path) as store:
                run_id = store.latest_run_id()
                if run_id is None:
                    notes.append(f"flight {flight.name}: not analysed yet")
                    continue
                mapped_now = False
                try:
                    built = damage_map(store)
                    mapped_now = True
                finally:  # said first; a flight left out is said to be after it
                    video_gone = missing_video_text(survey, flight, store.video_path, on_map=mapped_now)
                    if video_gone is not None:
                        notes.append(f"flight {flight.name}: {video_gone}")
                taken_back = frozenset(taken_back_sightings(store, run_id))
                moved, undecided = _earlier_runs_decisions(store, run_id, built, taken_back)
                mapped.append(_MappedFlight(flight, built, taken_back, frozenset(rejections_taken_back(store, run_id)),
                                            tuple(whole_rejections(store, run_id)), moved, undecided))
                for keys, site_id in zip(together, _sites_decided(survey, flight, store, built, accepted)):
                    if site_id is not None:
                        keys.add((flight.name, site_id))
        except DamagemapError as exc:
            notes.append(f"flight {flight.name}: left out ({exc})" + _flags_hint(survey, flight, str(exc)))
    return mapped, notes, together


def _earlier_runs_decisions(store: ProjectStore, run_id: int, built: DamageMap, taken_back: frozenset[int],
                            ) -> tuple[dict[int, frozenset[int]], frozenset[int]]:
    """Where the site decisions of a flight's earlier runs lie in its latest run ``run_id``
    (:func:`services.carry.earlier_decisions_moved`), and the sightings of that run's
    sites no reviewer decided nor took a decision back on: a flight analysed again whose
    earlier decisions are not carried into the new run yet. Nothing when no earlier run
    holds a site decision."""
    from services.carry import earlier_decisions_moved
    from services.sites import site_review

    if not any(d.run_id != run_id for d in store.site_decisions()):
        return {}, frozenset()
    sites = [item.site for item in site_review(store, run_id, built=built).queue]
    undecided = frozenset(i for site in sites if not site.decided and taken_back.isdisjoint(site.detection_ids)
                          for i in site.detection_ids)
    return earlier_decisions_moved(store, run_id, sites, built), undecided


def _marks_by_flight(survey: Survey, decisions: SurveyDecisions, mapped: Sequence[_MappedFlight],
                     together: Sequence[Collection[tuple[str, int]]],
                     settings: SurveySettings | None = None) -> dict[str, list[SiteMark]]:
    """For each flight of the survey, the decisions made elsewhere that bear on it, as far
    as the survey's joins of the ``mapped`` flights say
    (:func:`services.decision_reach.flight_marks`)."""
    from services.decision_reach import MappedFlight, flight_marks

    if not decisions.dated:
        return {}
    return flight_marks([MappedFlight(f.record.name, f.damage_map, f.rejected, f.moved, f.undecided) for f in mapped],
                        decisions.made(),
                        [flight.name for flight in survey.flights], together=together, settings=settings)


def frames_without_telemetry(built: SurveyMap) -> dict[str, tuple[int, ...]]:
    """Per flight of the map, its analysed frames (indices from 0) that its telemetry does
    not place (a log cut short, or with a gap): what they saw is on no map, the flight's
    own nor the survey's. Flights whose every analysed frame is placed are left out."""
    return {f.name: tuple(sorted(f.damage_map.frame_poses.missing))
            for f in built.flights if f.damage_map.frame_poses.missing}


def _no_telemetry_note(flight: str, frames: Sequence[int]) -> str:
    """"flight wednesday: 2 analysed frames have no usable telemetry (41, 46, counted from 1)
    ...": the flight's own export says so; the survey's notes name the flight."""
    one = len(frames) == 1
    return (f"flight {flight}: {counted(len(frames), 'analysed frame')} {'has' if one else 'have'} no usable "
            f"telemetry (frame{'' if one else 's'} {number_ranges(k + 1 for k in frames)}, counted from 1: beyond the "
            f"ends of its log or in a gap of it), so what {'it' if one else 'they'} saw is not on the map")


def _flags_hint(survey: Survey, flight: FlightRecord, message: str) -> str:
    """Where the flags a flight's failure names (``--ground-elevation``, ``--pitch``, ...,
    as ``damagemap export`` takes them) go for a survey's flight: its own project's export
    with ``--save``, or ``survey georeference``, which reads them from each video."""
    import re

    flags = set(re.findall(r"(?:^|[\s(])(--[a-z-]+)", message))
    if not flags:
        return ""
    project = shown_path(survey.project_path(flight))
    if flags == {"--telemetry"}:  # the one command that gives it for good (without --save, one export only)
        return f"; in a survey, kept in the flight's project: `damagemap export {project} --telemetry FILE --save`"
    save = f"give them to `damagemap export {project} ... --save`"
    if flags <= _READ_FROM_VIDEO:  # what `survey georeference` reads; an offset or a track it does not
        return f"; in a survey: `damagemap survey georeference {survey.folder} --flight {flight.name}` reads them " \
               f"from the video, or {save}"
    return f"; in a survey: {save}"


#: The flags ``survey georeference`` reads from a flight's video (:func:`georeference_flights`).
_READ_FROM_VIDEO = frozenset({"--ground-elevation", "--flight-height", "--pitch", "--camera", "--hfov"})


def _sites_decided(survey: Survey, flight: FlightRecord, store: ProjectStore, mapped: DamageMap,
                   decisions: Sequence[PlaceDecision]) -> list[int | None]:
    """For each of the survey's ``decisions``, the site of ``flight``'s map holding most of
    the sightings its copy in the flight's project decided (``None``: it went elsewhere,
    or the flight took it back): where the survey's decision on one site lies in each
    flight, which the survey keeps together (:func:`geo.survey_fusion.match_sites`)."""
    records = {record.id: record for record in store.site_decisions()}
    site_of = {m.detection.id: fused.site.id for fused in mapped.fused for m in fused.members}
    out: list[int | None] = []
    for decision in decisions:
        copies = [applied.decision_id for applied in decision.applied if applied.decision_id in records
                  and getattr(survey.flight_of_project(survey.path_of(applied.project)), "name", None) == flight.name]
        ids = [i for copy in copies for i in records[copy].detection_ids if i in site_of]
        out.append(Counter(site_of[i] for i in ids).most_common(1)[0][0] if ids else None)
    return out


def decision_text(decision: PlaceDecision, site: str) -> str:
    """What a survey decision did to ``site`` (its name), in words: "reject site 4",
    "relabel site 4 as Severe"."""
    if decision.level is not None:
        return f"relabel {site} as {decision.level.label}"
    return f"{'reject' if decision.review is ReviewState.REJECTED else 'accept'} {site}"


def _flights_text(names: Sequence[str]) -> str:
    return f"{'flight' if len(names) == 1 else 'flights'} {', '.join(names)}"


def _taken_back_notes(decisions: SurveyDecisions, built: SurveyMap) -> list[str]:
    """A note for each survey decision a flight's reviewer took back (not one decided again
    at its place since): that it no longer counts (every flight it went to took it back),
    or where it still holds and how to take it back there too."""
    out = []
    for k, state in enumerate(decisions.survey):
        d = state.decision
        if not state.taken_back or any(  # decided again at that place since: that one counts
                distance_m(d.lon_deg, d.lat_deg, later.decision.lon_deg, later.decision.lat_deg) <= CARRY_RADIUS_M
                for later in decisions.survey[k + 1:]):
            continue
        near = min(built.sites, default=None, key=lambda s: distance_m(s.lon_deg, s.lat_deg, d.lon_deg, d.lat_deg))
        where = f"the site at {d.lat_deg:.6f}, {d.lon_deg:.6f}"
        if near is not None and distance_m(near.lon_deg, near.lat_deg, d.lon_deg, d.lat_deg) <= CARRY_RADIUS_M:
            where = f"site {near.id} ({d.lat_deg:.6f}, {d.lon_deg:.6f})"
        what = (f"the survey's decision to {decision_text(d, where)} (`survey decide`"
                f"{', ' + d.author if d.author else ''}, {d.created_utc[:10] or 'date unknown'})")
        back = _flights_text(state.taken_back)
        if state.in_force:
            holds = _flights_text((*state.holding, *state.unread))
            out.append(f"{what} was taken back in {back} (undo) but holds in {holds}: the site of {back} there "
                       f"is undecided on the map; undo it in {holds} too to take it back everywhere, or decide the "
                       "site again with `survey decide`")
        else:
            out.append(f"{what} was taken back in {back} (undo): it no longer counts, nor goes to flights added "
                       "later; `survey decide` decides the site again")
    return out


def _keep_site_numbers(survey: Survey, built: SurveyMap) -> None:
    """Give the survey's sites the numbers they had (:func:`geo.site_numbers.kept_numbers`,
    keyed by the flights' sites they join, whose own numbers stay; a tie goes to the site
    nearer where the number was given) and keep them, numbered from the numbers kept now
    and under the survey's lock (:meth:`core.survey.Survey.update_site_numbers`), so two
    maps built at once never give one number to two sites. A survey whose folder cannot
    be written (or that another damagemap holds too long) keeps its numbers for this map
    only. Only ``site_numbers.json`` is written, never the manifest: ``survey`` may be
    older than a flight just added."""
    from core.sites import distance_m
    from core.survey import SurveySiteNumbers
    from geo.site_numbers import kept_numbers

    keys = [[f"{e.flight}#{e.flight_site_id}" for e in site.evidence] for site in built.sites]

    def give_numbers(kept: SurveySiteNumbers) -> list[int]:
        def distance(k: int, number: int) -> float:
            place = kept.places.get(number)
            site = built.sites[k]
            return 0.0 if place is None else distance_m(site.lon_deg, site.lat_deg, *place)

        numbers, remember = kept_numbers(keys, kept.flight_sites, distance=distance)
        for key, n in remember.items():
            kept.flight_sites.setdefault(key, set()).add(n)
        if remember:
            for site, n in zip(built.sites, numbers):
                kept.places.setdefault(n, (round(site.lon_deg, 7), round(site.lat_deg, 7)))
        return numbers

    try:
        numbers = survey.update_site_numbers(give_numbers)
    except SurveyError as exc:
        _log.info("survey site numbers not kept: %s", exc)
        numbers = give_numbers(survey.site_numbers())
    built.sites = sorted((site if site.id == n else replace(site, id=n) for site, n in zip(built.sites, numbers)),
                         key=lambda site: site.id)


@dataclass(frozen=True, slots=True)
class SiteElsewhere:
    """A damage site another flight of the survey saw: where, its level, whether a reviewer
    decided it, which flight (with its date) it is of, and the number of the survey site it
    is part of (``survey_site_id``: as the survey's maps, exports and commands number it;
    None where the survey's map leaves it out)."""

    flight: str
    date: str | None
    site_id: int
    level: DamageLevel
    lon_deg: float
    lat_deg: float
    reviewed: bool
    survey_site_id: int | None = None


@dataclass(frozen=True, slots=True)
class SiteInSurvey:
    """What the rest of a survey says of one flight's site: the number of the survey site
    it is part of (``survey_site_id``: "site 3" of the survey's maps, exports, `survey info`
    and `survey decide`, :meth:`geo.survey_fusion.SurveyMap.numbers_of_flight_sites`), the
    other flights that found it too, and those that saw its place well and found nothing
    (see :attr:`geo.survey_fusion.SurveySite.not_found_by`); ``lon_deg``/``lat_deg``: where
    the flight's own map puts the site, to check it is still that site."""

    survey_site_id: int
    found_by: tuple[str, ...]
    not_found_by: tuple[str, ...]
    lon_deg: float
    lat_deg: float


#: How near a flight's site changed in the window its other sites lie for what the survey
#: says of them to wait for the survey read after the change too: twice the farthest a
#: survey joins two flights' sites (``geo.survey_fusion.SurveySettings.max_gate_m``), so
#: a site the survey may join with the changed one's other flights' sites is in reach.
CHANGE_REACH_M = 12.0


@dataclass(frozen=True, slots=True)
class FlightInSurvey:
    """What the rest of a survey says around one of its flights under review, from one
    survey map: the sites its other flights saw (``elsewhere``, in the flights' order),
    and for each of the flight's own sites by its id on the flight's map what the other
    flights say of it (``sites``)."""

    project: Path
    elsewhere: tuple[SiteElsewhere, ...] = ()
    sites: Mapping[int, SiteInSurvey] = field(default_factory=dict)
    #: where the flight's map put each of its sites (unconfirmed ones too) by id, as read
    places: Mapping[int, tuple[float, float]] = field(default_factory=dict)

    def site_context(self, site_id: int, lon_deg: float, lat_deg: float) -> SiteInSurvey | None:
        """What the survey says of the flight's site ``site_id`` the window shows at
        ``lon_deg``/``lat_deg``; None where it says nothing, or where its site of that
        number lies elsewhere (the window shows another run, or the site was split since
        the survey's map was read): the window's Sites panel and map ask alike."""
        from core.sites import CARRY_RADIUS_M, distance_m

        context = self.sites.get(site_id)
        if context is None or distance_m(context.lon_deg, context.lat_deg, lon_deg, lat_deg) > CARRY_RADIUS_M:
            return None
        return context

    def withheld(self, changed_sites: Collection[int] | None) -> FlightInSurvey:
        """This view while the survey is read again after a review change in the window
        (a decision, a split or merge, an undo or redo) to the flight's sites
        ``changed_sites``: it says nothing of those sites nor of its sites near them
        (within :data:`CHANGE_REACH_M`: a split's other part, a site a merge took in, one
        the survey may number anew with them), nor the survey numbers of the other
        flights' sites (a rejection here may take one off the survey's map), until the
        survey map read after the change says what `survey info` says then, rather than
        what it said before. Of none of its sites where the change is not placed
        (``None``: a change from outside the window; a site this view does not know)."""
        from core.sites import distance_m

        changed = [] if changed_sites is None else [self.places.get(site_id) for site_id in changed_sites]
        places = [place for place in changed if place is not None]
        if changed_sites is None or len(places) < len(changed):
            sites: dict[int, SiteInSurvey] = {}
        else:
            sites = {site_id: context for site_id, context in self.sites.items()
                     if all(distance_m(context.lon_deg, context.lat_deg, lon, lat) > CHANGE_REACH_M
                            for lon, lat in places)}
        elsewhere = tuple(replace(site, survey_site_id=None) for site in self.elsewhere)
        return replace(self, elsewhere=elsewhere, sites=sites)


def flight_in_survey(survey: Survey, project: Path) -> FlightInSurvey:
    """:class:`FlightInSurvey` of the flight whose project is ``project`` (empty when it is
    no flight of the survey, or the survey cannot be mapped yet). Flights not analysed,
    without telemetry or whose project cannot be read add nothing."""
    flight = survey.flight_of_project(project)
    if flight is None:
        return FlightInSurvey(Path(project))
    try:
        built = survey_map(survey)
    except SurveyError:
        return FlightInSurvey(Path(project))
    elsewhere = tuple(SiteElsewhere(other.name, other.date, site.id, site.level, site.lon_deg, site.lat_deg,
                                    site.reviewed, numbers.get(site.id))
                      for other in built.flights if other.name != flight.name
                      for numbers in (built.numbers_of_flight_sites(other.name),) for site in other.damage_map.sites)
    own = next((f.damage_map for f in built.flights if f.name == flight.name), None)
    positions = {} if own is None else {s.id: (s.lon_deg, s.lat_deg) for s in own.sites}
    places = {} if own is None else {f.site.id: (f.site.lon_deg, f.site.lat_deg) for f in own.all_fused}
    sites: dict[int, SiteInSurvey] = {}
    for site in built.sites:
        for evidence in site.evidence:
            if evidence.flight == flight.name and evidence.flight_site_id in positions:
                lon, lat = positions[evidence.flight_site_id]
                sites[evidence.flight_site_id] = SiteInSurvey(
                    site.id, tuple(f for f in site.flights if f != flight.name), site.not_found_by, lon, lat)
    return FlightInSurvey(Path(project), elsewhere, sites, places)


#: What :func:`survey_files_stamp` keeps of one file: its path, modification time (ns) and
#: size, or the path alone when it is not there.
FileStamp = tuple[str, int, int] | tuple[str]


def survey_files_stamp(survey: Survey, leave_out: Path | None = None, *,
                       videos: Iterable[Path] = (), paused: Collection[Path] = ()) -> tuple[FileStamp, ...]:
    """The modification time and size of every file a survey map is built from: the
    survey's manifest and site numbers, and each flight's project but ``leave_out``'s (the
    project open in a window, which watches its own); and of ``videos`` (the flights'
    videos, whose absence a list of flights shows). Equal stamps: nothing changed between
    them (a decision on another flight, from ``survey decide`` or another window, changes
    one; so do a flight added, analysed or relinked). Only ``stat`` calls, cheap enough for
    a window to look every second or two on the GUI thread.

    Not a project's write-ahead log: an analysis running on another flight writes there at
    every frame, and the survey would be read again at every look, back to back; the project
    file itself changes where the store copies the log in (after each review edit, every
    few frames of an analysis, on closing: :data:`core.store.CHECKPOINT_EVERY_FRAMES`); nor
    the ``paused`` projects' (those another damagemap analyses now, :class:`SurveyWatch`)."""
    left_out = None if leave_out is None else Path(leave_out).resolve()
    skipped = {str(path) for path in paused}
    paths = [survey.manifest_path, survey.site_numbers_path]
    for flight in survey.flights:
        project = survey.project_path(flight)
        if (left_out is None or project.resolve() != left_out) and str(project) not in skipped:
            paths.append(project)
    paths += [Path(video) for video in videos]
    return tuple(_file_stamp(path) for path in paths)


def _file_stamp(path: Path) -> FileStamp:
    try:
        status = path.stat()
    except OSError:
        return (str(path),)
    return (str(path), status.st_mtime_ns, status.st_size)


def analysed_elsewhere(project: Path) -> str | None:
    """Who analyses ``project`` now when another damagemap does (``another damagemap
    (process 123 on host, …)``), else ``None`` (none, or the project cannot be read)."""
    from core.store import describe_writer

    try:
        with ProjectStore.open(project, read_only=True) as store:
            elsewhere = store.analysed_elsewhere()
    except DamagemapError:
        return None
    return None if elsewhere is None else describe_writer(elsewhere[1])


@dataclass
class SurveyWatch:
    """What a window following a survey's files saw last (:func:`survey_files_stamp`),
    and the flights it pauses: those another damagemap analyses now.

    An analysis stores its frames into a flight's project, whose file changes every few
    frames; a window that built the survey's map again at each change built it back to
    back (1.6-5.7 s a build) for as long as the analysis ran. A paused flight's project is
    left out of the stamp, and looked at only to see whether its run ended (the run
    finished, or its process gone): then the map is built again, once. A change to any
    other file still counts at once.

    ``leave_out``: the project open in the window, which watches its own."""

    leave_out: Path | None = None
    seen: tuple[FileStamp, ...] | None = None
    #: project (as the survey names it) -> who analyses it (:func:`analysed_elsewhere`)
    paused: dict[str, str] = field(default_factory=dict)

    def take(self, survey: Survey, *, videos: Iterable[Path] = (),
             paused: Mapping[Path, str] | None = None) -> None:
        """The survey's files as they are now, seen (a read starts from them); ``paused``:
        the flights another damagemap analyses, as a read of them found (else kept)."""
        if paused is not None:
            self.paused = {str(project): who for project, who in paused.items()}
        self.seen = survey_files_stamp(survey, self.leave_out, videos=videos, paused=self._paused_paths())

    def look(self, survey: Survey, *, videos: Iterable[Path] = ()) -> bool:
        """Whether the survey changed since :meth:`take` or the last look, so that it is to
        be read (and its map built) again: a file changed that no paused flight's is, or a
        paused flight's analysis ended. A flight whose project changed because another
        damagemap started analysing it is paused here, with no read."""
        projects = {str(survey.project_path(flight)) for flight in survey.flights}
        ended = [project for project in self.paused
                 if project not in projects or analysed_elsewhere(Path(project)) is None]
        for project in ended:
            del self.paused[project]
        stamp = survey_files_stamp(survey, self.leave_out, videos=videos, paused=self._paused_paths())
        changed = {entry[0] for entry in set(stamp) ^ set(self.seen or ())}
        started = {}
        for project in sorted(projects & changed - set(ended)):
            who = analysed_elsewhere(Path(project))
            if who is not None:
                started[project] = who
        if started:
            self.paused.update(started)
            stamp = tuple(entry for entry in stamp if entry[0] not in started)
            changed -= set(started)
        self.seen = stamp
        return bool(changed) or bool(ended)

    def _paused_paths(self) -> list[Path]:
        return [Path(project) for project in self.paused]


def flights_read_again(folder: Path) -> tuple[Survey, list[FlightStatus]]:
    """The survey in ``folder`` read again, with each flight's :class:`FlightStatus`: what
    a list of its flights shows once it noticed the survey changed outside it (a flight
    added, analysed, decided or relinked by another damagemap)."""
    survey = Survey.open(folder)
    return survey, flight_statuses(survey)


def flight_in_survey_read_again(folder: Path, project: Path) -> tuple[Survey, FlightInSurvey]:
    """The survey in ``folder`` read again (its flights and decisions as other damagemaps
    left them) and :func:`flight_in_survey` of ``project`` from it: what a window shows
    once it noticed the survey changed outside it."""
    survey = Survey.open(folder)
    return survey, flight_in_survey(survey, project)


def sites_to_review(built: SurveyMap) -> dict[str, int]:
    """Per flight of the map, how many of its own sites on its map no reviewer has decided
    yet: what is left to review, flight by flight."""
    return {flight.name: sum(1 for site in flight.damage_map.sites if not site.reviewed) for flight in built.flights}


def site_summary(site: SurveySite, flight: str | None = None) -> SiteSummary:
    """A survey site as :class:`core.sites.SiteSummary` (its sightings in every flight,
    or in one flight's only): what the review queue and decisions work on."""
    sightings = tuple(
        Sighting(int(m.detection.id), m.frame_index, float(m.observation.t_s), m.detection.level,
                 float(m.detection.final_score), m.detection.review)
        for m, owner in _members_by_flight(site)
        if m.detection.id is not None and (flight is None or owner == flight)
    )
    best = next((e for e in site.evidence if e.flight == flight), site.best_evidence)  # a frame of that flight
    return SiteSummary(site.id, site.level, site.confidence, site.lon_deg, site.lat_deg, sightings,
                       best.best_frame, best.best_detection_id)


def _members_by_flight(site: SurveySite) -> Iterator[tuple[Any, str]]:
    yield from zip(site.members, site.member_flights)


@dataclass(frozen=True, slots=True)
class _FlightsDecided:
    """What :func:`_apply_to_flights` did: the sightings decided, the site decision each
    flight's project recorded, and the earlier survey decision whose copy in a flight holds
    the site's sightings there (see :func:`_place_of_earlier_decision`), read while that
    flight's project was open."""

    sightings: int
    applied: tuple[AppliedDecision, ...]
    earlier: PlaceDecision | None = None


def _apply_to_flights(survey: Survey, site: SurveySite, decision: ReviewState | DamageLevel, *,
                      author: str | None, only_undecided: bool,
                      skip: Collection[str] = (), find_earlier: bool = False) -> _FlightsDecided:
    """The decision as one edit per flight that saw the site, each flight's project opened
    once. ``only_undecided`` (a decision carried, not made: the flight's history says so):
    a flight whose sightings of the site are decided, or where a reviewer took a decision
    on one back (an undo), keeps them as they are, as the app does when it carries
    decisions. ``find_earlier``: also find, in the same pass, the earlier survey decision
    that holds the site in a flight (:attr:`_FlightsDecided.earlier`)."""
    from services.sites import taken_back_sightings

    decided = 0
    applied: list[AppliedDecision] = []
    earlier: PlaceDecision | None = None
    for evidence in site.evidence:
        summary = site_summary(site, evidence.flight)
        if not summary.sightings or (only_undecided and summary.decided) or evidence.flight in skip:
            continue
        flight = survey.flight(evidence.flight)
        project = survey.project_path(flight)
        with ProjectStore.open(project) as store:
            run_id = store.detection_run_id(summary.sightings[0].detection_id)
            if only_undecided and not taken_back_sightings(store, run_id).isdisjoint(summary.detection_ids):
                continue
            before = {d.id for d in store.site_decisions(run_id)}
            group = site_decision(summary, decision)
            ReviewSession(store, run_id, author=author).apply(
                SiteDecisions((group,), carried=True) if only_undecided else group)
            records = store.site_decisions()
            applied += [AppliedDecision(flight.name, survey.relative(project), run_id, d.id)
                        for d in records if d.run_id == run_id and d.id not in before]
            if find_earlier and earlier is None:
                earlier = _earlier_decision_held(survey, flight.name, records, summary.detection_ids)
        decided += len(summary.sightings)
    return _FlightsDecided(decided, tuple(applied), earlier)


def decide(
    survey: Survey, site_id: int, decision: ReviewState | DamageLevel, *, built: SurveyMap | None = None,
    author: str | None = None,
) -> int:
    """Accept or reject (a :class:`ReviewState`) or relabel (a :class:`DamageLevel`)
    survey site ``site_id`` in every flight that saw it; recorded in the survey by place,
    with the site decision each flight's project got (:attr:`PlaceDecision.applied`: a
    flight's reviewer who takes it back there takes it back from the survey, once every
    flight it went to did, :class:`SurveyDecisionState`). Returns the number of sightings
    decided."""
    from core.store import current_user

    built = built or survey_map(survey)
    site = built.site(site_id)
    if site is None:
        raise InputError(f"survey {survey.name!r} has no site {site_id} "
                         f"(its sites: {number_ranges(s.id for s in built.sites) or 'none'})")
    if isinstance(decision, DamageLevel):
        review, level = ReviewState.ACCEPTED, decision
    else:
        review, level = ReviewState.parse(decision), None
    if review is ReviewState.PENDING:
        raise InputError("a survey decision accepts, rejects or relabels a site; 'pending' is none of them")
    author = author or current_user()
    # held while the flights' projects take it: two decisions at once interleaved their edits in
    # a flight (its undo history then unreadable) and each took the other's record for its own
    with survey_lock(survey.folder, wait_s=DECIDING_WAIT_S):
        done = _apply_to_flights(survey, site, decision, author=author, only_undecided=False, find_earlier=True)
        lon, lat = _place_of_earlier_decision(survey, site, done.earlier) or (site.lon_deg, site.lat_deg)
        place = PlaceDecision(lon, lat, review, level, author, applied=done.applied)
        survey.update(lambda fresh: fresh.add_decision(place))  # beside what others decided meanwhile
    return done.sightings


def _earlier_decision_held(survey: Survey, flight: str, records: Sequence[SiteDecisionRecord],
                           sightings: Collection[int]) -> PlaceDecision | None:
    """The survey decision (the latest) whose copy in ``flight`` (its project's site
    decisions, ``records``) holds some of the site's ``sightings`` there: the same site,
    however far a relabel moved it."""
    copies = {applied.decision_id: d for d in survey.decisions for applied in d.applied if applied.flight == flight}
    held = [copies[r.id] for r in records if r.id in copies and not set(sightings).isdisjoint(r.detection_ids)]
    return held[-1] if held else None


def _place_of_earlier_decision(survey: Survey, site: SurveySite,
                               held: PlaceDecision | None) -> tuple[float, float] | None:
    """Where the survey decided this site before, for a new decision on it to be recorded
    at the same place: the decision whose copy in a flight holds the site's sightings
    (``held``: :func:`_earlier_decision_held`, found as the flights took the new one), else
    the nearest of its decisions within the site's reach. A relabel moves a site (its level
    changes the roof height it is placed at), and a rejection made 5 m off then lost to the
    relabel, nearer, when a flight added later was matched."""
    from geo.survey_fusion import SurveySettings

    if held is not None:
        return held.lon_deg, held.lat_deg
    reach = SurveySettings().gate(float(site.uncertainty_m))
    near = [(distance_m(d.lon_deg, d.lat_deg, site.lon_deg, site.lat_deg), d) for d in survey.decisions]
    near = [(metres, d) for metres, d in near if metres <= reach]
    if not near:
        return None
    _, nearest = min(near, key=lambda item: item[0])
    return nearest.lon_deg, nearest.lat_deg


#: How long a survey decision waits for another being given to the flights (seconds): a
#: decision on a site of many flights opens and edits each flight's project.
DECIDING_WAIT_S = 120.0


def apply_decisions(survey: Survey, *, author: str | None = None) -> int:
    """Give every undecided site of each flight the decisions made elsewhere that reach it
    (:func:`survey_decisions`, the survey's and the other flights', not a survey decision
    its flights took back): the site the survey joins with the decided one, else the site
    at its place as far as the survey joins two flights' sites (:mod:`services.decision_reach`),
    carried as the app carries them when it shows the flight
    (:func:`services.sites.carry_outcome`): what a flight added, or analysed, after review
    needs. Each flight's history records it as carried (the app's Undo reads "Keep
    earlier decisions on N sightings"). Returns the number of sightings decided (0:
    nothing to carry). A flight analysed again (a new run) first gets the survey's
    decisions its earlier run held (:func:`_give_waiting_decisions`), then those of its
    own earlier runs (:func:`_keep_earlier_runs_decisions`), as ``damagemap analyze``
    gives them: a flight's own decision at a place goes first."""
    from services.sites import carry_outcome, site_review

    with survey_lock(survey.folder, wait_s=DECIDING_WAIT_S):
        count = _give_waiting_decisions(survey, author=author)
        count += _keep_earlier_runs_decisions(survey, author=author)
    decisions = review_decisions(survey)
    if not decisions.dated:
        return count
    mapped, _, together = _map_flights(survey, decisions)
    marks = _marks_by_flight(survey, decisions, mapped, together)
    with survey_lock(survey.folder, wait_s=DECIDING_WAIT_S):  # one writer of the flights' decisions (see decide)
        for flight in mapped:
            elsewhere = marks.get(flight.record.name)
            if not elsewhere:
                continue
            with ProjectStore.open(survey.project_path(flight.record)) as store:
                review = site_review(store, built=flight.damage_map)
                outcome = carry_outcome(store, review, elsewhere=elsewhere)
                if outcome.edit is not None:
                    ReviewSession(store, review.run_id, author=author).apply(outcome.edit)
                    count += outcome.sightings
    return count


def _give_waiting_decisions(survey: Survey, *, author: str | None = None) -> int:
    """Give each flight analysed again since a survey decision was applied to it (its copy
    in an earlier run only: :attr:`SurveyDecisionState.waiting`) that decision on the latest
    run's site at its place, matched as far as the survey joins two flights' sites
    (:func:`services.sites.survey_reach`: a new run, at other frames, places a site a few
    metres from where the earlier one did, farther than a flight's own 3 m carry), and
    record the copy in ``survey.json``: the decision then holds in the flight's latest run,
    keeps that site with the other flights' on the survey's map, and an undo there takes
    it back. A site of the latest run decided already keeps its decision (the flight's
    reviewer decided it later), as does one whose decision a reviewer took back there.
    Returns the number of sightings decided."""
    from services.sites import rejected_places, site_review, survey_reach, taken_back_sightings

    waiting: dict[str, list[PlaceDecision]] = {}
    for state in review_decisions(survey).survey:
        for name in state.waiting:
            waiting.setdefault(name, []).append(state.decision)
    count = 0
    given: list[tuple[PlaceDecision, AppliedDecision]] = []
    for name, decisions in waiting.items():
        flight = survey.flight(name)
        project = survey.project_path(flight)
        try:
            with ProjectStore.open(project) as store:
                review = site_review(store)  # the latest run's
                run_id = review.run_id
                taken_back = taken_back_sightings(store, run_id)
                sites = [item.site for item in review.queue]
                open_ids = {site.site_id for site in sites
                            if not site.decided and taken_back.isdisjoint(site.detection_ids)}
                # matched with every site, decided ones and the places it rejected among them: a decision
                # whose site is decided there already does not fall to the next damage of the same roof
                marks = [d.mark() for d in decisions]
                owner = {id(mark): d for mark, d in zip(marks, decisions)}
                matched = match_decisions(marks, [*sites, *rejected_places(store, run_id)],
                                          radius_m=survey_reach(review.damage_map))
                for site in sites:
                    mark = matched.get(site.site_id)
                    if mark is None or site.site_id not in open_ids:
                        continue
                    decision = owner[id(mark)]
                    before = {d.id for d in store.site_decisions(run_id)}
                    ReviewSession(store, run_id, author=author).apply(
                        SiteDecisions((site_decision(site, mark.level or mark.review),), carried=True))
                    given += [(decision, AppliedDecision(name, survey.relative(project), run_id, record.id))
                              for record in store.site_decisions(run_id) if record.id not in before]
                    count += len(site.sightings)
        except DamagemapError as exc:  # not mapped yet (a setting missing): the survey's notes say why
            _log.debug("flight %s: the survey's decisions not given to its latest run yet: %s", name, exc)
    if given:
        def record(fresh: Survey) -> None:
            for decision, applied in given:
                fresh.add_applied(decision, applied)

        survey.update(record)
    return count


def _keep_earlier_runs_decisions(survey: Survey, *, author: str | None = None) -> int:
    """Give each flight's latest finished run the site decisions made at the same places
    in its earlier runs (:func:`services.sites.keep_earlier_decisions`): a flight analysed
    again (``survey analyse --new-run``) keeps what its reviewers and ``survey decide``
    decided on it. A flight that cannot be mapped yet keeps them in its earlier run until
    it can. Returns the number of sightings decided."""
    from services.sites import keep_earlier_decisions

    count = 0
    for flight in survey.flights:
        if missing_project_text(survey, flight) is not None:
            continue
        try:
            with ProjectStore.open(survey.project_path(flight)) as store:
                run_id = store.latest_run_id()
                if run_id is not None and store.run(run_id).finished:
                    count += keep_earlier_decisions(store, run_id, author=author)
        except DamagemapError as exc:  # not mapped yet (a setting missing): the survey's notes say why
            _log.debug("flight %s: earlier decisions not carried yet: %s", flight.name, exc)
    return count


def default_export_dir(survey: Survey) -> Path:
    """``export`` inside the survey's folder: where Export Survey Map… proposes and
    ``damagemap survey export`` without ``--to`` writes."""
    return survey.folder / "export"


def survey_title(survey: Survey) -> str:
    """The title of a survey's maps and README, "Damage survey: town": the survey's name
    isolated (:func:`core.text.isolated`), so that a right-to-left name keeps its place in
    every text the title is set in (the README, the KML, the offline map); the print map
    draws it without them (:func:`core.text.without_bidi_controls`), laid out by matplotlib,
    and the export's notes say what it cannot show (:func:`geo.export.print_map.print_notes`)."""
    from core.text import isolated

    return f"Damage survey: {isolated(survey.name)}"


def export_survey(built: SurveyMap, out_dir: Path, *, formats: Sequence[str] | None = None,
                  title: str = "Damage survey", videos: Mapping[str, Path] | None = None,
                  survey: Survey | None = None, footprints: Path | None = None,
                  basemap: Path | None = None, project_sources: bool = True) -> list[Path]:
    """Write the survey's sites and each flight's coverage, the offline HTML map of both
    (``title`` at its top), the print map with its site atlas and a README, in ``formats`` (keys of
    :data:`geo.export.survey_files.SURVEY_FILES`; None: all); the files written
    (:func:`geo.export.survey_files.write_survey_files`).
    With ``videos`` (flight name -> its video), each site's popup
    shows what every flight saw of it, close up. With ``survey``, the videos are its
    flights' (unless given), the README says how each flight was flown and analysed
    (:func:`survey_provenance`) and the print and offline maps credit each flight's video
    from the same; each flight's project is read once for all. With
    building ``footprints`` (or, without, the first a flight's project has set), they are
    graded from the survey's sites (:func:`geo.survey_grading.grade_survey`): the
    ``buildings`` file, a layer of the GeoPackage and the print map's buildings. With a
    ``basemap`` (an orthophoto or MBTiles; or the first a flight's project has set), the
    offline and print maps draw it under everything. ``project_sources=False``: the
    footprints and basemap given or none, never a flight project's. The event and producer
    (name, GLIDE number, organisation, analyst) are the survey's (:func:`survey_product`:
    those it keeps, over the first a flight's project has set for its relief package): the
    print map and the README name them.

    Raises
    ------
    InputError
        An unknown format, footprints or a basemap given that cannot be used (naming the
        file), or the ``buildings`` format asked for without footprints. Those a flight's
        project names that cannot be used are left out, with a note in the map's notes
        (and so in the README).
    ExportError
        Naming the folder or file that could not be written.
    """
    from geo.export.survey_files import SURVEY_FILES, write_survey_files

    formats_asked = formats is not None
    formats = list(SURVEY_FILES) if formats is None else list(formats)
    unknown = sorted(set(formats) - set(SURVEY_FILES))
    if unknown:
        raise InputError(f"--formats: unknown format {', '.join(unknown)}; choose from {', '.join(SURVEY_FILES)}")
    if survey is not None:
        note_survey_in_flights(survey)
        refresh_video_identities(survey)
    statuses = flight_statuses(survey) if survey is not None else []
    if videos is None:
        videos = _videos(statuses)
    given_footprints, given_basemap = footprints is not None, basemap is not None
    if footprints is None and project_sources:
        footprints = next((status.footprints for status in statuses if status.footprints is not None), None)
    if footprints is None and formats_asked and "buildings" in formats:
        raise InputError("--formats buildings: no building footprints to grade; give them with --footprints FILE "
                         "or set them on a flight's project")
    if basemap is None and project_sources:
        basemap = next((status.basemap for status in statuses if status.basemap is not None), None)
    grades = footprints is not None and bool({"buildings", "gpkg", "html", "print", "readme"} & set(formats))
    area = None
    if grades or basemap is not None:
        from geo.survey_grading import survey_bounds_lonlat

        area = survey_bounds_lonlat(built)  # once, for the footprints and the basemap alike
    grading = None
    if grades:
        grading = _or_left_out(lambda: _graded(built, Path(footprints), area), built.notes,  # type: ignore[arg-type]
                               strict=given_footprints or (formats_asked and "buildings" in formats),
                               left_out="no building graded: the footprints")
    basemaps: dict[str, Any] = {}
    if basemap is not None:
        basemaps = _or_left_out(lambda: _basemaps(built, Path(basemap), formats, area), built.notes,
                                strict=given_basemap, left_out="no basemap drawn: the basemap") or {}
    info = _merged_product(survey.product, statuses, where=survey.manifest_path) if survey is not None else None
    closeup = _flight_closeups(built, videos) if videos and {"html", "print", "kmz"} & set(formats) else None
    # the README tells it, and every map credits each flight's video from it (print and offline alike)
    provenance = survey_provenance(statuses) if survey is not None and CREDITING_FORMATS & set(formats) else None
    # what the print map cannot show is said by write_survey_files, from every text it prints
    return write_survey_files(built, Path(out_dir), formats, title=title, closeup=closeup, provenance=provenance,
                              grading=grading, info=info, **basemaps)


#: The formats that name the flights' videos (:func:`survey_provenance`): the README and the
#: maps' credits.
CREDITING_FORMATS = frozenset({"readme", "print", "html"})


#: The fields of the event and producer (``geo.export.products.ProductInfo``) a survey keeps.
PRODUCT_FIELDS = ("event", "glide", "analyst", "organisation", "contact", "area", "version")


def survey_product(survey: Survey, statuses: Sequence[FlightStatus] | None = None) -> Any:
    """The event and producer the survey's exports name (``geo.export.products.ProductInfo``,
    or ``None`` when none is set): those kept in the survey (``survey export --event ...``,
    the app's Export Survey Map…), each field over the first a flight's project has set for
    its relief package. ``statuses``: :func:`flight_statuses`, when read already.

    Raises
    ------
    SurveyError
        What the survey keeps is not valid (naming its manifest).
    """
    return _merged_product(survey.product, flight_statuses(survey) if statuses is None else statuses,
                           where=survey.manifest_path)


def _merged_product(kept: Mapping[str, Any], statuses: Sequence[FlightStatus], *, where: Path | None = None) -> Any:
    from geo.export.products import ProductInfo

    flight = next((status.product for status in statuses if status.product is not None), None) or ProductInfo()
    try:
        merged = replace(flight, **{key: value for key, value in kept.items() if key in PRODUCT_FIELDS})
    except (TypeError, ValueError) as exc:
        raise SurveyError(f"{str(where or 'survey.json')!r}: the event information kept is not valid ({exc}); "
                          "give it again with 'damagemap survey export --event ...'") from None
    return None if merged == ProductInfo() else merged


def check_survey_product(survey: Survey, **changes: Any) -> dict[str, Any]:
    """The event and producer the survey keeps with ``changes`` (``event``, ``glide``,
    ``analyst``, ``organisation``, ``area``, ``version``; ``None``: left as it is, ``""``:
    cleared, a flight project's value no longer used either), checked as a flight's are
    (:func:`services.package.check_product_info`), not kept (:func:`keep_survey_product`
    keeps them).

    Raises
    ------
    InputError
        Naming the field whose value cannot be used.
    SurveyError
        What the survey keeps is not valid and ``changes`` do not set it again (naming
        its manifest).
    """
    try:
        return _kept_with(survey.product, changes)
    except InputError:
        try:
            _kept_with(survey.product, {})
        except InputError as kept:  # an older version let it in
            raise SurveyError(f"{str(survey.manifest_path)!r}: the event information kept is not valid ({kept}); "
                              "give it again with 'damagemap survey export --event ...'") from None
        raise


def _kept_with(kept: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``kept`` (what a survey keeps) with ``changes``, as :func:`check_survey_product` takes them."""
    from geo.export.products import ProductInfo

    unknown = sorted(set(changes) - set(PRODUCT_FIELDS))
    if unknown:
        raise InputError(f"unknown event field {', '.join(unknown)}; give {', '.join(PRODUCT_FIELDS)}")
    out = dict(kept)
    for key, value in changes.items():
        if value is None:
            continue
        value = value.strip() if isinstance(value, str) else value
        if key == "glide" and isinstance(value, str):
            value = value.upper()
        if key == "area" and value == "":  # cleared: the default code, as the package's name gives it
            value = ProductInfo().area
        out[key] = value  # "" kept too: a field cleared here is not a flight project's either
    try:
        ProductInfo.from_mapping(out)
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    return out


def _changes_to_what_is_named(kept: Mapping[str, Any], statuses: Sequence[FlightStatus],
                              changes: Mapping[str, Any]) -> dict[str, Any]:
    """Those of ``changes`` that change what the survey's exports name (``kept`` over the
    flights' projects, :func:`survey_product`): a field given as it is named already (the
    app's Export Survey Map… gives every field, filled in with what the survey names) is
    no change, and is not kept."""
    from geo.export.products import ProductInfo

    try:
        named = _merged_product(kept, statuses) or ProductInfo()
    except SurveyError:  # what is kept is not valid: every field given is a change, setting it again
        return {key: value for key, value in changes.items() if value is not None}
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            continue
        given = _merged_product(_kept_with(kept, {key: value}), statuses) or ProductInfo()
        if getattr(given, key) != getattr(named, key):
            out[key] = value
    return out


def keep_survey_product(survey: Survey, *, statuses: Sequence[FlightStatus] | None = None,
                        **changes: Any) -> list[str]:
    """Keep in the survey, under its lock, for its later exports, those of ``changes`` to
    the event and producer (as :func:`check_survey_product` takes them) that change what
    its exports name (the survey's over a flight project's: :func:`survey_product`); the
    fields kept, in ``changes``' order. None changed: ``survey.json`` is not written.
    ``statuses``: :func:`flight_statuses`, when read already.

    Raises
    ------
    InputError
        A value that cannot be used (naming the field).
    SurveyError
        The survey cannot be written (naming it), or is in use too long.
    """
    if all(value is None for value in changes.values()):
        return []
    statuses = flight_statuses(survey) if statuses is None else statuses
    if not _changes_to_what_is_named(Survey.open(survey.folder).product, statuses, changes):
        return []  # nothing to keep: the manifest is left as it is (the lock not even taken)

    def keep(fresh: Survey) -> list[str]:
        changed = _changes_to_what_is_named(fresh.product, statuses, changes)  # as it is now, others' edits in
        fresh.product = _kept_with(fresh.product, changed)
        return list(changed)

    return survey.update(keep)


def _or_left_out(make: Callable[[], Any], notes: list[str], *, strict: bool, left_out: str) -> Any:
    """``make()``; when it cannot use its file: raise if the file was asked for
    (``strict``), else ``None`` with a note that says what was left out and why (a file a
    flight's project names that went away: the rest of the export still goes out)."""
    try:
        return make()
    except InputError as exc:
        if strict:
            raise
        notes.append(f"{left_out} a flight's project names cannot be used ({exc})")
        return None


def _basemaps(built: SurveyMap, basemap: Path, formats: Sequence[str],
              area: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """The basemap over ``area`` (lon/lat: the ground the flights saw), for the offline map
    (Web Mercator) and the print map (the survey's UTM zone, at most
    :data:`PRINT_BASEMAP_PX` a side).

    Raises
    ------
    InputError
        A basemap that cannot be used (naming the file).
    """
    from geo.basemap import read_basemap

    if area is None:
        return {}
    out: dict[str, Any] = {}
    if "html" in formats:
        out["basemap_html"] = read_basemap(basemap, area)
    if "print" in formats:
        out["basemap_print"] = read_basemap(basemap, area, crs=built.local.crs, max_px=PRINT_BASEMAP_PX)
    return out


def _graded(built: SurveyMap, footprints: Path, area: tuple[float, float, float, float] | None) -> Grading:
    """The footprints in ``footprints`` around ``area`` (lon/lat: the ground the flights
    saw), graded from the survey's sites.

    Raises
    ------
    InputError
        Footprints that cannot be used (naming the file).
    """
    from geo.footprints import read_footprints
    from geo.survey_grading import grade_survey

    bounds = padded_bounds(area, FOOTPRINT_MARGIN_M)
    grading, _ = grade_survey(built, read_footprints(footprints, bbox_lonlat=bounds))
    return grading


def survey_provenance(statuses: Sequence[FlightStatus]) -> dict[str, Any]:
    """What a survey's export says of its making (the README in full, the print and
    offline maps in their credits): the software, when, and per flight (``statuses``: :func:`flight_statuses`) its drone, video, telemetry, the
    model of its latest run and the frames it analysed."""
    from services.package import model_text, software_version

    flights: dict[str, dict[str, Any]] = {}
    for status in statuses:
        record = status.record
        about: dict[str, Any] = {"drone": record.drone, "video": shown_file_name(Path(record.video).name),
                                 "telemetry": status.telemetry.name if status.telemetry else None,
                                 "frames": status.frames_analysed}
        if status.model is not None:
            about["model"] = model_text(status.model)
        flights[record.name] = about
    produced = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # as the relief package's README
    return {"software": software_version(), "produced": produced, "flights": flights}


def _videos(statuses: Sequence[FlightStatus]) -> dict[str, Path]:
    """Each flight's video, as its project names it (flights whose project cannot be read
    are left out: their pictures are a nicety)."""
    return {status.name: status.video for status in statuses if status.video is not None}


def _flight_closeups(built: SurveyMap, videos: Mapping[str, Path]) -> Callable[[str, int], bytes | None]:
    """Close-ups of every flight's sites (``geo.export.html.closeup_requests`` of the
    flight's own map), each video decoded once: ``(flight, flight_site_id) -> JPEG``."""
    from engine.thumbnails import jpeg_site_pictures
    from geo.export.html import closeup_requests

    pictures: dict[tuple[str, int], bytes] = {}
    for flight in built.flights:
        video = videos.get(flight.name)
        if video is None:
            continue
        _, closeups = jpeg_site_pictures(video, [], closeup_requests(flight.damage_map))
        pictures.update(((flight.name, site_id), jpeg) for site_id, jpeg in closeups.items())
    return lambda flight, site_id: pictures.get((flight, site_id))


__all__ = [
    "FlightGeoreferencing",
    "FlightProgress",
    "CHANGE_REACH_M",
    "FlightInSurvey",
    "FlightStatus",
    "SiteElsewhere",
    "SiteInSurvey",
    "SurveyDecisionState",
    "SurveyDecisions",
    "SurveyWatch",
    "VIDEO_SUFFIXES",
    "add_flight",
    "analysed_elsewhere",
    "analyse_survey",
    "flight_of_video",
    "apply_decisions",
    "create_survey",
    "decide",
    "decision_text",
    "georeference_flights",
    "default_export_dir",
    "export_survey",
    "flight_in_survey",
    "flight_in_survey_read_again",
    "survey_files_stamp",
    "flights_read_again",
    "survey_title",
    "flight_statuses",
    "missing_project_text",
    "missing_video_text",
    "note_survey_in_flights",
    "refresh_video_identities",
    "Relinked",
    "relink_flight",
    "remove_flight",
    "review_decisions",
    "site_summary",
    "sites_to_review",
    "survey_decisions",
    "survey_map",
    "survey_provenance",
    "videos_in",
]
