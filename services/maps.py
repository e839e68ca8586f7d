"""A project's damage map, built once per state of the project.

The map panel and every export ask :func:`damage_map`; it is rebuilt only when
something it depends on changed: the run, its frames (an analysis adds them), its review
history (an edit, an undo), its splits, merges and decisions on whole sites, the
project's :class:`core.settings.ProjectSettings`, the video or the telemetry file. So the
command line and the desktop app map a project the same way, and an export right after a
look at the map does not build it again. The sites' numbers are given to every map handed
out, cached or not, from the numbers the project holds then (``geo.site_numbers``).
"""

from __future__ import annotations

import copy
import logging
import threading
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DamagemapError, GeoreferenceError, StoreError, TelemetryError, VideoError
from core.last_few import LastFew
from core.settings import ProjectSettings
from core.store import UNREADABLE_FRAMES_KEY, ProjectStore, describe_writer
from core.types import ReviewState, frame_number

if TYPE_CHECKING:  # pragma: no cover
    from geo.pitch import FlowView
    from geo.basemap import Basemap
    from geo.mapping import DamageMap
    from geo.regroup import DecidedSite, RejectedSite
    from geo.telemetry import Track

_log = logging.getLogger(__name__)

#: How many maps are kept (a few runs or settings to switch between).
CACHE_SIZE = 4
#: How many sightings the maps kept may hold together: a map of a long flight takes some
#: 15 kB a sighting (their outlines, planes and numbers), so a 20-minute flight's maps at
#: a few slider settings took gigabytes; the last map built is always kept.
CACHE_SIGHTINGS = 50_000


@dataclass(frozen=True, slots=True)
class MapState:
    """Everything a damage map is derived from; equal states give equal maps.

    Whatever else the map comes to depend on must join this record, or the cache will
    hand out a stale map. (The sites' numbers are not here: they are given to the map as
    built, on every call, from the numbers the project holds then.)
    """

    project: Path
    run_id: int
    frames_done: int
    finished: bool
    edit_count: int
    site_groups: int
    settings: ProjectSettings
    video: Path
    telemetry: tuple[str, int, int] | None  # (path, mtime ns, size)
    dem: tuple[str, int, int] | None = None  # (path, mtime ns, size) of an elevation model
    #: the active decisions on whole sites (their ids): each keeps its site whole
    site_decisions: tuple[int, ...] = ()
    camera_view: FlowView | None = None  # the camera estimated from the video, for telemetry without one


def resolve_run(store: ProjectStore, run_id: int | None = None) -> int:
    """``run_id`` checked against the project's runs, or its latest run.

    Raises
    ------
    GeoreferenceError
        If the project has no run yet, or no run ``run_id``.
    """
    runs = store.runs()
    if not runs:
        raise GeoreferenceError(f"{store.path}: the project has no analysis run yet; run 'damagemap analyze' first")
    if run_id is None:
        return runs[-1].id
    if run_id not in {r.id for r in runs}:
        raise GeoreferenceError(f"{store.path}: no run {run_id}; runs: {', '.join(str(r.id) for r in runs)}")
    return run_id


def unfinished_run_note(store: ProjectStore, run_id: int, duration_s: float | None) -> str | None:
    """What a map of ``run_id`` must say while the run is not finished (interrupted, or
    still running): it covers the flight only as far as the run got, how to finish it (or
    that another process is finishing it now), and the latest finished run, if any, to
    map instead. ``None`` once it is finished."""
    run = store.run(run_id)
    if run.finished:
        return None
    frames = store.analysed_frames(run_id)
    reach = (f"its {len(frames)} analysed frame{'' if len(frames) == 1 else 's'} end at {max(frames.values()):.1f} s"
             if frames else "no frame is analysed yet")
    if duration_s:
        reach += f" of the {float(duration_s):.1f} s video"
    writer = store.active_writer(run_id)
    if writer is not None:  # finishing it now: nothing to do but wait
        note = (f"run {run_id} is not finished: {reach}, so the map covers the flight only that far; "
                f"{describe_writer(writer)} is analysing it now: map it again when it ends")
    else:
        note = (f"run {run_id} is not finished: {reach}, so the map covers the flight only that far (analyse again "
                "with the same settings to finish it: damagemap analyze, or Analysis > Analyse… in the app)")
    finished = [other.id for other in store.runs() if other.finished and other.id != run_id]
    if finished:
        note += (f"; run {finished[-1]} is finished (--run {finished[-1]} maps it; in the app, Analysis > "
                 "Show Run)")
    return note


def unreadable_frames(settings: Mapping[str, Any]) -> list[int]:
    """The frames a run (its ``settings``) left out because they could not be decoded
    (:data:`core.store.UNREADABLE_FRAMES_KEY`)."""
    return [int(i) for i in (settings.get(UNREADABLE_FRAMES_KEY) or {}).get("frames", ())]


def frames_missing(settings: Mapping[str, Any]) -> int:
    """How many frames the video's index lists that its file no longer holds (a copy cut
    short after an index written first), as the run recorded its video; 0 when none."""
    from engine.video import VIDEO_KEY

    record = settings.get(VIDEO_KEY)
    if not isinstance(record, Mapping):
        return 0
    listed, held = record.get("listed_frames"), record.get("frames")
    return max(0, int(listed) - int(held)) if isinstance(listed, int) and isinstance(held, int) else 0


def video_not_whole(settings: Mapping[str, Any]) -> bool:
    """The run saw less than its video should hold: selected frames that could not be
    decoded, or frames the file's index lists and the file no longer holds."""
    return bool(unreadable_frames(settings)) or frames_missing(settings) > 0


def unreadable_frames_note(settings: Mapping[str, Any]) -> str | None:
    """What to say of :func:`unreadable_frames` and :func:`frames_missing`, or ``None``."""
    record = settings.get(UNREADABLE_FRAMES_KEY) or {}
    frames = unreadable_frames(settings)
    notes = []
    if frames:
        one = len(frames) == 1
        notes.append(f"{len(frames)} selected frame{'' if one else 's'} from frame {frame_number(min(frames))} on "
                     f"(counted from 1) could not be decoded and {'is' if one else 'are'} left out (a video cut "
                     f"short, or damaged there): {record.get('reason', '')}")
    missing = frames_missing(settings)
    if missing:
        from engine.video import VIDEO_KEY

        video = settings[VIDEO_KEY]
        notes.append(f"the video is cut short: its index lists {video['listed_frames']} frames and the file holds the "
                     f"first {video['frames']} ({float(video.get('duration_s') or 0.0):.1f} s); the last {missing} "
                     "were never analysed (a copy stopped partway? copy the whole file again and analyse it with "
                     "--new-run)")
    return "; ".join(notes) or None


def video_replaced_note(store: ProjectStore, run_id: int, video: Path | None = None) -> str | None:
    """What to say when the project's video (or ``video``, one offered in its place: a
    moved video located by hand) is not the file the run analysed (another clip copied
    over it under the same name), or ``None``."""
    from engine.video import VIDEO_KEY, probe_video, video_change, video_record  # no torch: the window reads maps

    recorded = store.run(run_id).settings.get(VIDEO_KEY)
    path = store.video_path if video is None else Path(video)
    if not isinstance(recorded, Mapping) or not path.is_file():
        return None  # an older run records nothing; a missing video is said where it is looked for
    if isinstance(recorded.get("bytes"), int) and path.stat().st_size == recorded["bytes"]:
        return None  # the same size: not probed again
    try:
        changed = video_change(recorded, video_record(path, probe_video(path)))
    except DamagemapError:
        return None  # unreadable: said where it is read
    if changed is None:
        return None
    return (f"{path} is not the video run {run_id} analysed ({changed}): the frames and close-ups shown are "
            "another file's; point the project at the video it analysed")


def file_stamp(path: Path | None) -> tuple[str, int, int] | None:
    """``(resolved path, mtime ns, size)`` of a file (``-1`` for one that cannot be read),
    what is read from it is kept by; ``None`` for no file."""
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


def map_state(
    store: ProjectStore, run_id: int, *, settings: ProjectSettings | None = None, telemetry_path: Path | None = None,
    dem_path: Path | None = None,
    camera_view: FlowView | None = None,
) -> MapState:
    """The state of the project the map of ``run_id`` depends on (a few cheap queries)."""
    run = store.run(run_id)
    telemetry = telemetry_path if telemetry_path is not None else store.telemetry_path
    return MapState(
        project=Path(store.path).resolve(),
        run_id=run_id,
        frames_done=run.frames_done,
        finished=run.finished,
        edit_count=store.edit_count(run_id),
        site_groups=store.site_groups_version(run_id),
        settings=store.project_settings() if settings is None else settings,
        video=Path(store.video_path),
        telemetry=file_stamp(None if telemetry is None else Path(telemetry)),
        dem=file_stamp(dem_path),
        camera_view=camera_view,
        site_decisions=tuple(d.id for d in store.site_decisions(run_id)),
    )


def video_info(store: ProjectStore, run_id: int) -> tuple[dict[str, Any], str | None]:
    """The video's geometry from the file, or from the stored masks if the file is gone
    or is not the video the run analysed (another clip copied over it under its name:
    its frame size and times would place every detection of the run wrongly).

    Returns
    -------
    (info, warning)
        ``info`` as :meth:`engine.video.VideoInfo.as_dict` gives it (size, duration,
        creation time, frame times, the camera model its metadata names); ``warning``
        says why the stored size was used.
    """
    try:
        info = _probed_video(Path(store.video_path))
    except VideoError as exc:
        return _stored_geometry(store, run_id, str(exc))
    if video_replaced_note(store, run_id) is None:
        return info, None
    try:
        return _stored_geometry(store, run_id, f"{Path(store.video_path).name} is not the video the run analysed")
    except StoreError:
        return info, None  # no stored frame to size it by: nothing of the run to place wrongly either


def _stored_geometry(store: ProjectStore, run_id: int, why: str) -> tuple[dict[str, Any], str]:
    """The video's size from the run's stored masks, its length from its frames, for
    :func:`video_info` where the file cannot give them (``why``)."""
    detections = [d for d in store.detections(run_id) if d.mask is not None]
    frames = store.analysed_frames(run_id)
    if not detections or not frames:
        raise StoreError(f"{store.path}: cannot read the project's video ({why}) and no stored frame gives its size")
    mask = detections[0].mask
    assert mask is not None
    info = {"width_px": mask.width_px, "height_px": mask.height_px, "duration_s": max(frames.values()) + 1.0,
            "creation_time_utc": None}
    return info, f"{why}; using the stored frame size and no creation time"


_PROBED = LastFew(CACHE_SIZE)  # engine.video.probe_video(path).as_dict(), by file stamp
_TRACKS = LastFew(CACHE_SIZE)  # geo.telemetry.read_telemetry(path): a frozen Track, by file stamp


def _probed_video(path: Path) -> dict[str, Any]:
    """``engine.video.probe_video(path).as_dict()``, kept while the file stays as it is;
    a copy, which the caller may change."""
    from engine.video import probe_video

    stamp = file_stamp(path)
    assert stamp is not None
    return copy.deepcopy(_PROBED.get_or_read(stamp, lambda: probe_video(path).as_dict()))


def _read_track(path: Path) -> Track:
    """``geo.telemetry.read_telemetry(path)``, kept while the file stays as it is."""
    from geo.telemetry import read_telemetry

    stamp = file_stamp(path)
    assert stamp is not None
    track: Track = _TRACKS.get_or_read(stamp, lambda: read_telemetry(path))
    return track


@dataclass(frozen=True)
class PlacementCheck:
    """What the project's telemetry, with its settings as they stand, makes of frames to
    analyse (:func:`placement_check`): ``problem``, why it would place none of them;
    ``hovering_frames``, those it leaves unplaced because the drone hovered under
    telemetry with no heading (``geo.sync``); ``views``, each placed frame's view
    (:func:`geo.views.distinct_views`: frames with one number are one look at the ground);
    ``still_unplaced``, with a ``problem``, the frames the track shows the drone still in
    (the map places none of them, but a hover's repeats can be told from its images)."""

    problem: str | None = None
    hovering_frames: frozenset[int] = frozenset()
    views: Mapping[int, int] = field(default_factory=dict, compare=False)
    still_unplaced: frozenset[int] = frozenset()

    @property
    def still_frames(self) -> frozenset[int]:
        """Every frame left unplaced while the track shows the drone still."""
        return self.hovering_frames | self.still_unplaced

    @property
    def hovering(self) -> int:
        """How many frames a hover under telemetry with no heading leaves unplaced."""
        return len(self.hovering_frames)

    @property
    def hovering_caution(self) -> str | None:
        """What to say of the hovering frames before they are analysed (``None``: none)."""
        from geo.mapping import HEADING_HINT

        if not self.hovering:
            return None
        return (f"{self.hovering} of the frames to analyse were filmed while the drone hovered, and the telemetry "
                f"gives no heading: where the camera looked then is unknown, so they will not be placed; "
                f"{HEADING_HINT}")


def hovering_caution(frames: int) -> str:
    """What the map panel says of ``frames`` analysed frames a hover under telemetry with
    no heading left off the map."""
    from geo.mapping import HEADING_HINT

    return (f"{frames} analysed frames filmed while the drone hovered are not on the map: the telemetry gives no "
            f"heading, so where the camera looked then is unknown; {HEADING_HINT}")


#: What a placement tried before an analysis calls its frames.
FRAMES_TO_ANALYSE = "frames to analyse"

#: Runs a function that does the map's geometry (pyproj) and gives back its value; the
#: app runs it on its job thread (``app.workers.FunctionJob`` says why), the command line here.
GeometryRunner = Callable[[Callable[[], Any]], Any]


def _here(function: Callable[[], Any]) -> Any:
    return function()


def placement_check(store: ProjectStore, frame_indices: Sequence[int], *, track: Track | None = None,
                    video: Mapping[str, Any] | None = None, geometry: GeometryRunner | None = None,
                    frames_named: str = FRAMES_TO_ANALYSE) -> PlacementCheck:
    """Try the project's telemetry on these frames, as the map would place them: the
    problem that would place none of them (a track that cannot be read, that does not
    overlap the video, that has no altitude, or whose heights put the drone on or under
    the ground in every one of them), and how many a hover leaves unplaced.

    Asked before the frames are analysed, so an analyst hears it before the time is
    spent, not at export; nothing to say when the project has no telemetry yet or its
    video cannot be read (the analysis says so itself). ``track`` and ``video``
    (``engine.video.VideoInfo.as_dict``): the project's telemetry and video already read;
    ``geometry`` runs the placing itself (default: on this thread); ``frames_named``: what
    the problem calls the frames.
    """
    from engine.video import probe_video

    if store.telemetry_path is None or not frame_indices:
        return PlacementCheck()
    try:
        track = track if track is not None else _read_track(Path(store.telemetry_path))
    except DamagemapError as exc:
        return PlacementCheck(str(exc))
    try:
        info = dict(video) if video is not None else probe_video(store.video_path).as_dict()
    except VideoError:
        return PlacementCheck()
    pts = info.get("pts_s") or []
    frame_times = {i: float(pts[i]) for i in frame_indices if 0 <= i < len(pts)}
    settings = store.project_settings()
    checked: PlacementCheck = (geometry or _here)(lambda: check_placement(frame_times, track, info, settings,
                                                                           frames_named=frames_named))
    return checked


def check_placement(frame_times: Mapping[int, float], track: Track, video: Mapping[str, Any],
                    settings: ProjectSettings, *, frames_named: str = FRAMES_TO_ANALYSE) -> PlacementCheck:
    """:func:`placement_check` on what it read: the project's map as it would be made
    with no detection on it (no project connection: it may run on another thread)."""
    from geo.mapping import build_damage_map_from, settings_arguments

    try:
        built = build_damage_map_from([], dict(frame_times), track, video=dict(video), frames_named=frames_named,
                                      **settings_arguments(settings))
    except DamagemapError as exc:
        return PlacementCheck(str(exc), still_unplaced=_still_frames(frame_times, track, video, settings))
    return PlacementCheck(hovering_frames=frozenset(built.frame_poses.hovering), views=dict(built.views))


def _still_frames(frame_times: Mapping[int, float], track: Track, video: Mapping[str, Any],
                  settings: ProjectSettings) -> frozenset[int]:
    """The frames ``track`` shows the drone still in, read from its positions alone (the
    map places none of them while its problem stands); none when the track does not meet
    the video."""
    from geo.sync import still_at_video_times

    indices = sorted(frame_times)
    try:
        still = still_at_video_times(track, [frame_times[i] for i in indices], duration_s=float(video["duration_s"]),
                                     creation_time_utc=video.get("creation_time_utc"), offset_s=settings.time_offset_s)
    except DamagemapError:
        return frozenset()
    return frozenset(index for index, is_still in zip(indices, still) if is_still)


def placement_problem(store: ProjectStore, frame_indices: Sequence[int], *, track: Track | None = None,
                      video: Mapping[str, Any] | None = None, frames_named: str = FRAMES_TO_ANALYSE) -> str | None:
    """Why the project's telemetry would place none of these frames on the map
    (:func:`placement_check`), ``None`` when it places them."""
    return placement_check(store, frame_indices, track=track, video=video, frames_named=frames_named).problem


#: What the map panel and a survey's notes say of a map placed with the assumed pitch.
ASSUMED_PITCH_CAUTION = (
    "the camera's pitch is assumed: the telemetry gives none, and a pitch a few degrees off moves far sites by "
    "tens of metres; have it read from the video or give it (Georeferencing… > Camera pitch; export --camera auto "
    "or --pitch DEG)")


def unsure_width_caution(built: DamageMap) -> str:
    """What the map panel and the exports' notes say of a map whose field of view was
    read from a flight that turns too little to pin it down, in the words the reading
    itself printed (``services.sync.UNSURE_WIDTH_HINT``)."""
    from services.sync import UNSURE_WIDTH_HINT

    return (f"camera: the field of view read from the video ({built.fov.hfov_deg:.0f} deg) is not pinned down: "
            + UNSURE_WIDTH_HINT.removeprefix("camera: "))


def track_preview(store: ProjectStore) -> tuple[Track, str | None, DamageMap | None]:
    """The project's flight track, for a map before any analysis; why its telemetry
    would place none of the video's frames as the project is set (one a second,
    :func:`placement_problem`), or ``None``: said when the video is opened, not after a
    long analysis; and the track placed on the video's clock as the project is set (a map
    of no detection: where the drone is and what the camera sees at each moment of the
    video, to check the telemetry against the video before analysing), where it can be.

    Raises
    ------
    core.errors.TelemetryError
        When the telemetry cannot be read (the message names the file).
    """
    from engine.video import probe_video, select_frame_indices

    if store.telemetry_path is None:
        raise GeoreferenceError(f"{store.path}: the project has no telemetry file")
    track = _read_track(Path(store.telemetry_path))
    try:
        video = probe_video(store.video_path)
    except VideoError:
        return track, None, None  # the video's own problem is said when it is played or analysed
    frames = select_frame_indices(video.pts_s, fps=1.0)
    problem = placement_problem(store, frames, track=track, video=video.as_dict(),
                                frames_named="frames checked (one a second of the video)")
    placed = None
    if problem is None:
        from geo.mapping import build_damage_map_from, settings_arguments

        try:
            placed = build_damage_map_from([], {}, track, video=video.as_dict(),
                                           **settings_arguments(store.project_settings()))
        except DamagemapError:
            placed = None  # the track alone, as before
    return track, problem, placed


def _say_first(built: DamageMap, caution: str | None) -> None:
    """Put ``caution`` (when there is one) first among the map's notes and its cautions."""
    if caution is not None:
        built.notes.insert(0, caution)
        built.cautions.insert(0, caution)


_CACHE = LastFew(CACHE_SIZE, budget=CACHE_SIGHTINGS)  # the maps, by MapState, weighed by their sightings


def damage_map(
    store: ProjectStore,
    run_id: int | None = None,
    *,
    settings: ProjectSettings | None = None,
    telemetry_path: Path | None = None,
    dem_path: Path | None = None,
    camera_view: FlowView | None = None,
) -> DamageMap:
    """The damage map of a run (the latest by default), from the cache when the project
    has not changed since it was built.

    Parameters
    ----------
    settings
        Settings to map with instead of the project's (not stored).
    telemetry_path
        Telemetry to use instead of the project's (not stored).
    dem_path
        A GeoTIFF DEM/DSM: detections are placed on it instead of the take-off plane.
    camera_view
        The camera ``services.sync.estimate_sync`` read from the video, for telemetry
        without gimbal pitch: its pitch and heading offset, their spreads, and whether
        it fitted the field of view (``geo.pitch.FlowView``).

    Raises
    ------
    GeoreferenceError
        If the project has no run, no telemetry, or nothing can be placed on the ground.
    TelemetryError
        If the telemetry cannot be read or does not overlap the video.
    """
    from geo.mapping import build_damage_map
    from services.footage import flight_height_caution
    from services.sync import telemetry_video_match

    run_id = resolve_run(store, run_id)
    state = map_state(store, run_id, settings=settings, telemetry_path=telemetry_path, dem_path=dem_path,
                      camera_view=camera_view)
    cached = _CACHE.get(state)
    if cached is not None:
        return _numbered(store, run_id, cached)
    if telemetry_path is None:
        _check_project_telemetry(store)
    telemetry = Path(telemetry_path) if telemetry_path is not None else store.telemetry_path
    track = _read_track(Path(telemetry)) if telemetry is not None else None
    info, warning = video_info(store, run_id)
    built = build_damage_map(store, run_id, video_info=info, settings=state.settings, track=track, dem=dem_path,
                             camera_view=camera_view)
    if warning is not None:
        built.notes.insert(0, warning)
    _say_first(built, unfinished_run_note(store, run_id, info.get("duration_s")))  # the map covers part of the flight
    _say_first(built, video_replaced_note(store, run_id))  # the pictures and the player show another file's frames
    _say_first(built, unreadable_frames_note(store.run(run_id).settings))  # so does a map of a video cut short
    # an SRT whose length, frames or dates differ from the video's: maybe another video's, which
    # the map, the export and the app must say as the analysis did (a log attached later was never
    # checked); one that is, by its dates and length together, the map refused above
    _say_first(built, None if track is None or warning is not None  # no video: its length is a guess
               else telemetry_video_match(track, info).caution)
    # flown well above or below the heights the detector was trained on (services.footage)
    height_note = flight_height_caution(store, run_id, (pose.up_m for pose in built.frame_poses.poses.values()))
    if height_note is not None:
        built.notes.append(height_note)
        built.cautions.append(height_note)
    if built.hfov_unsure:  # the pitch read with that width is unsure with it
        built.notes.append(unsure_width_caution(built))
        built.cautions.append(unsure_width_caution(built))
    if built.pitch_assumed and built.sites:  # GPX, DJI Mini SRTs: pointing is the largest error left
        built.cautions.append(ASSUMED_PITCH_CAUTION)
    if built.frame_poses.hovering:  # the same logs: where a hovering drone looked is unknown
        built.cautions.append(hovering_caution(len(built.frame_poses.hovering)))
    if track is not None and track.cut_off is not None:  # a logger that died in flight: the notes say it
        built.cautions.append(f"{track.name}: {track.cut_off}")
    groups = reviewer_groups(store, run_id)
    if groups:  # a reviewer's splits, merges and decisions on whole sites
        built.regroup_sites(groups)
    _CACHE.put(state, built, weight=sum(len(f.members) for f in (*built.fused, *built.unconfirmed)))
    return _numbered(store, run_id, built)


#: map as built (sites numbered by fusion) -> (the run's site numbers version it was
#: numbered at, the map numbered so)
_NUMBERED: weakref.WeakKeyDictionary[DamageMap, tuple[int, DamageMap]] = weakref.WeakKeyDictionary()
_NUMBERED_LOCK = threading.Lock()


def _numbered(store: ProjectStore, run_id: int, built: DamageMap) -> DamageMap:
    """``built`` with every site's kept number (``geo.site_numbers``), from the numbers
    the project holds now: a map taken from the cache is numbered again when they changed
    since (a build at another threshold placed new sightings), so every client of the
    project sees the same numbers. The numbers given are remembered, those of a map drawn
    with other settings too (an export at another score: the numbers it wrote are never
    given to other places); a project opened read-only is not written to, and the numbers
    its new sites are shown with may be given to other places later."""
    version = store.site_numbers_version(run_id)
    with _NUMBERED_LOCK:
        found = _NUMBERED.get(built)
    if found is not None and found[0] == version:
        return found[1]
    numbered, remember = built.numbered(store.site_numbers(run_id))
    if remember and not store.read_only:
        try:
            store.add_site_numbers(run_id, remember)
            version = store.site_numbers_version(run_id)
        except StoreError as exc:  # the map stands; its new numbers are not kept this time
            _log.warning("site numbers not kept: %s", exc)
    with _NUMBERED_LOCK:
        _NUMBERED[built] = (version, numbered)
    return numbered


def reviewer_groups(store: ProjectStore, run_id: int) -> list[Collection[int] | DecidedSite | RejectedSite]:
    """A run's splits and merges of sites (their detection ids) and its decisions on whole
    sites (:class:`geo.regroup.DecidedSite` for those accepted or relabelled,
    :class:`geo.regroup.RejectedSite` for those rejected, while a sighting of theirs still
    is: one a reviewer accepted back decides its place no more), in the order the reviewer
    made them, as :meth:`geo.mapping.DamageMap.regroup_sites` applies them."""
    from geo.regroup import DecidedSite, RejectedSite

    dated: list[tuple[str, int, int, Collection[int] | DecidedSite | RejectedSite]] = [
        (g.created_utc, 0, g.id, g.detection_ids) for g in store.site_groups(run_id)]
    decisions = store.site_decisions(run_id)
    rejected = {i for i, detection in store.detections_by_id(
        i for d in decisions if d.review is ReviewState.REJECTED and d.min_score is not None for i in d.detection_ids
    ).items() if detection.review is ReviewState.REJECTED}
    for d in decisions:
        if d.review is ReviewState.ACCEPTED and d.detection_ids:
            dated.append((d.created_utc, 1, d.id, DecidedSite(frozenset(d.detection_ids), d.min_score)))
        elif d.review is ReviewState.REJECTED and d.min_score is not None and not rejected.isdisjoint(d.detection_ids):
            dated.append((d.created_utc, 1, d.id, RejectedSite(d.lon_deg, d.lat_deg, d.min_score)))
    return [group for *_, group in sorted(dated, key=lambda item: item[:3])]


def _check_project_telemetry(store: ProjectStore) -> None:
    """Refuse a project whose telemetry file is not where it recorded it (a project
    copied without it), saying where it looked and how to give it.

    Raises
    ------
    TelemetryError
        Naming the file looked for.
    """
    path = store.telemetry_path
    if path is None or Path(path).exists():
        return
    raise TelemetryError(
        f"{path}: the project's telemetry file is not there (a project copied without it?); copy it beside the "
        f"project as it was beside the original, or give it: damagemap export {store.path} --telemetry FILE, or "
        "in the app, File > Open Telemetry… (the project keeps it)")


def map_builds() -> int:
    """How many maps this process has built (not taken from the cache)."""
    return _CACHE.stored


def clear_cache() -> None:
    """Forget every map, the geometry kept between builds and what exports keep of a
    map (tests; benchmarks, which time a first export; memory)."""
    from core.camera import clear_cache as clear_rotations
    from core.store import clear_cache as clear_detections
    from geo.coverage import clear_cache as clear_camera_footprints
    from geo.export.html import clear_cache as clear_heat_images
    from geo.export.records import clear_cache as clear_observation_records
    from geo.fusion import clear_cache as clear_sites
    from geo.ground_seen import clear_cache as clear_filmed_outlines
    from geo.mapping import clear_cache as clear_footprint_rings
    from geo.observe import clear_cache as clear_shapes
    from geo.uncertainty import clear_cache as clear_budgets

    from services.export import clear_cache as clear_site_pictures
    from services.package import clear_cache as clear_footprints

    clear_camera_footprints()
    clear_heat_images()
    clear_observation_records()
    clear_site_pictures()
    clear_rotations()
    clear_detections()
    clear_shapes()
    clear_budgets()
    clear_sites()
    clear_footprint_rings()
    clear_filmed_outlines()
    clear_footprints()
    _CACHE.clear()
    _PROBED.clear()
    _TRACKS.clear()
    with _NUMBERED_LOCK:
        _NUMBERED.clear()


#: Longest side of the basemap drawn under the app's map (pixels).
DISPLAY_BASEMAP_PX = 2048


def display_basemap(
    project_path: Path, bounds_lonlat: tuple[float, float, float, float], crs: str, *,
    margin_m: float = 60.0, max_px: int = DISPLAY_BASEMAP_PX,
) -> Basemap | None:
    """The project's stored basemap (``services.package.product_sources``) over
    ``bounds_lonlat`` plus ``margin_m``, resampled into ``crs`` by
    :func:`geo.basemap.read_basemap`; ``None`` when the project stores none. The last
    few reads are kept (keyed on the file's size and time), so redrawing the map after
    an edit does not read the raster again.

    Raises
    ------
    BasemapError
        If the stored file cannot be used (naming it).
    """
    from services.package import product_sources

    with ProjectStore.open(project_path, read_only=True) as store:
        _, path = product_sources(store)
    if path is None:
        return None
    stamp = file_stamp(path)
    assert stamp is not None
    bounds = (float(bounds_lonlat[0]), float(bounds_lonlat[1]), float(bounds_lonlat[2]), float(bounds_lonlat[3]))
    return _read_display_basemap(str(path), stamp[1], stamp[2], bounds, crs, float(margin_m), int(max_px))


@dataclass(frozen=True, slots=True)
class BuildingOutline:
    """A graded building footprint to draw: its outer rings (lon/lat) and its grade
    (a :mod:`geo.grading` level: ``debris``, ``severe``, ``slight``, ``none``,
    ``not_assessed``)."""

    rings: tuple[tuple[tuple[float, float], ...], ...]
    level: str
    label: str


def display_buildings(project_path: Path, run_id: int | None = None) -> tuple[BuildingOutline, ...] | None:
    """The project's stored building footprints around the flight, graded from the
    damage map of ``run_id`` (the cached :func:`damage_map`) as the exports grade them;
    ``None`` when the project stores no footprints.

    Raises
    ------
    InputError
        If the footprints file cannot be used (naming it).
    """
    from geo.grading import LABELS
    from services.package import grade_footprints, product_sources

    with ProjectStore.open(project_path, read_only=True) as store:
        path, _ = product_sources(store)
        if path is None:
            return None
        built = damage_map(store, run_id)
    grading, _ = grade_footprints(built, path)
    found = []
    for building in grading.buildings:
        polygon: Any = building.polygon
        parts = getattr(polygon, "geoms", [polygon])
        rings = tuple(tuple((float(x), float(y)) for x, y, *_ in part.exterior.coords) for part in parts)
        found.append(BuildingOutline(rings, building.level, LABELS.get(building.level, building.level)))
    return tuple(found)


@lru_cache(maxsize=2)
def _read_display_basemap(path: str, _mtime_ns: int, _size: int, bounds: tuple[float, float, float, float],
                          crs: str, margin_m: float, max_px: int) -> Basemap:
    from geo.basemap import read_basemap

    return read_basemap(path, bounds, crs=crs, margin_m=margin_m, max_px=max_px)


__all__ = ["reviewer_groups", "unreadable_frames", "ASSUMED_PITCH_CAUTION", "CACHE_SIZE", "DISPLAY_BASEMAP_PX", "BuildingOutline", "PlacementCheck", "display_buildings", "MapState", "clear_cache", "damage_map", "display_basemap", "file_stamp", "hovering_caution", "map_builds", "map_state", "placement_check", "placement_problem", "resolve_run", "track_preview", "unfinished_run_note", "unsure_width_caution", "unreadable_frames_note", "video_info", "frames_missing", "video_not_whole"]
