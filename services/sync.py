"""Putting telemetry on the video's clock without typing the offset: the video's own
motion (``engine.motion``) matched against the track's (``geo.clock_offset``); for a
track of positions only, the camera's pitch and field of view from the same motion
(``geo.pitch``), the field of view held when the telemetry or the video's metadata
(``engine.video_metadata``) names it; and for a track of absolute altitudes only, the
ground's elevation from the same motion (``geo.flow_height``), for a track with no
altitude at all, the drone's height above the ground; for a track without a heading, the
camera's turns where the drone hovered (``geo.hover_turns``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import TelemetryError
from geo.sync import heights_need_ground, heights_unknown

if TYPE_CHECKING:  # pragma: no cover
    from core.settings import ProjectSettings
    from engine.motion import ImageMotion
    from engine.video import VideoInfo
    from geo.camera import FieldOfView
    from geo.clock_offset import OffsetEstimate
    from geo.flow_height import FlowHeight
    from geo.hover_turns import Turns
    from geo.pitch import FlowView
    from geo.sync_video import VideoMatch
    from geo.telemetry import Track


@dataclass(frozen=True)
class SyncReport:
    """What the video's motion says about its telemetry: the clock offset; for a track
    without gimbal pitch, the camera's pitch, field of view and heading offset; for a
    track whose heights have no ground (absolute altitudes only, no ground elevation
    given), the ground's elevation (``ground_elevation_m``), and for a track with no
    altitude at all, the drone's height above the ground (``flight_height_m``), each
    with the height fit behind it in ``height``; for a track without a heading, the
    camera's turns where the drone hovered (``hover_turns``, empty where it did not or
    the motion could not be read); what the track and the video say of each other
    (``video_match``)."""

    offset: OffsetEstimate
    view: FlowView | None
    ground_elevation_m: float | None = None
    height: FlowHeight | None = None
    flight_height_m: float | None = None
    hover_turns: Turns = ()
    #: what the track and the video say of each other (``geo.sync_video``): its caution,
    #: for a track on the video's clock that may be another video's
    video_match: VideoMatch | None = None

    @property
    def ground_sigma_m(self) -> float | None:
        return None if self.height is None else self.height.sigma_m


def estimate_sync(
    video_path: Path, track: Track, *, search_s: tuple[float, float] | None = None,
    ground_elevation_m: float | None = None, hfov_deg: float | None = None, rate_hz: float = 5.0,
    flight_height_m: float | None = None, pitch_deg: float | None = None,
) -> SyncReport:
    """:func:`estimate_clock_offset`, and the camera's view from the image flow
    (``geo.pitch``) when ``track`` has no gimbal pitch, on the estimated clock (the
    video decoded once). Without ``hfov_deg``, a field of view the telemetry or the
    video's metadata gives (:func:`known_field_of_view`) is held and only the pitch is
    fitted. For a track without a heading, the camera's turns where the drone hovered are
    read too, at the gimbal pitch the track gives, else the one read here, else
    ``pitch_deg`` (the project's), else the map's assumed pitch.

    Raises
    ------
    TelemetryError, core.errors.VideoError
        As :func:`estimate_clock_offset`; a track on the video's clock that is another
        video's (:func:`telemetry_video_match`), unless a reliable offset is found.
    """
    from engine.motion import video_motion
    from engine.video import probe_video
    from geo.pitch import view_from_flow
    from geo.sync import align_track

    info = probe_video(video_path)
    motion = video_motion(video_path, rate_hz=rate_hz)
    offset = _offset(track, motion, info, search_s, video_path)
    offset_s = offset.offset_s if offset.reliable else 0.0
    match = telemetry_video_match(track, info.as_dict())
    if match.refusal is not None and offset_s == 0.0:  # as the map refuses it; an offset found lines it up
        raise TelemetryError(match.refusal)
    view, height, ground, flown = None, None, None, None
    needs_ground = ground_elevation_m is None and heights_need_ground(track)
    needs_height = flight_height_m is None and heights_unknown(track)  # never both: one has altitudes, one none
    if (needs_ground or needs_height) and motion.band_flow_px_s is not None:
        height = _height_from_flow(track, motion, info, offset_s, hfov_deg)
        if height is not None and needs_ground:
            first_abs = next(s.alt_abs_m for s in track.samples if s.alt_abs_m is not None)
            ground = ground_elevation_m = round(first_abs - height.offset_m, 1)
        elif height is not None:
            flown = flight_height_m = round(height.offset_m, 1)
    if not track.has("gimbal_pitch_deg") and motion.band_flow_px_s is not None:
        aligned = align_track(track, duration_s=info.duration_s, creation_time_utc=info.creation_time_utc,
                              offset_s=offset_s, ground_elevation_m=ground_elevation_m, flight_height_m=flight_height_m)
        hfov_sigma, hfov_source = 0.0, "given"
        known = _held_field_of_view(info.camera_model, track) if hfov_deg is None else None
        if known is not None:
            from geo.camera import held_fov_sigma_deg

            hfov_deg, hfov_source, hfov_sigma = known.hfov_deg, known.source, held_fov_sigma_deg(known)
        view = view_from_flow(motion.t_s, motion.band_flow_px_s, motion.width_px, motion.height_px, aligned,
                              hfov_deg=hfov_deg, hfov_sigma_deg=hfov_sigma, hfov_source=hfov_source)
    turns: Turns = ()
    if not (track.has("gimbal_yaw_deg") or track.has("yaw_deg")):
        if view is not None:
            pitch_deg, hfov_deg = view.pitch_deg, None if view.hfov_estimated else view.hfov_deg
        elif hfov_deg is None:
            known = _held_field_of_view(info.camera_model, track)
            hfov_deg = None if known is None else known.hfov_deg
        turns = _hover_turns(track, motion, info, offset_s, pitch_deg, hfov_deg)
    return SyncReport(offset, view, ground, height, flown, turns, match)


def hover_turns_from_video(video_path: Path, track: Track, *, offset_s: float = 0.0, pitch_deg: float | None = None,
                           hfov_deg: float | None = None, rate_hz: float = 5.0) -> Turns:
    """The camera's turns where ``track`` shows the drone still (``geo.hover_turns``), read
    from ``video_path`` with the camera given (``hfov_deg`` ``None``: from the rotation
    alone; ``pitch_deg`` ``None``: the gimbal's, else the map's assumed pitch).
    :func:`estimate_sync` reads them with the camera it reads; this is for a camera known."""
    from engine.motion import video_motion
    from engine.video import probe_video

    return _hover_turns(track, video_motion(video_path, rate_hz=rate_hz), probe_video(video_path), offset_s,
                        pitch_deg, hfov_deg)


def _hover_turns(track: Track, motion: ImageMotion, info: VideoInfo, offset_s: float, pitch_deg: float | None,
                 hfov_deg: float | None) -> Turns:
    """The camera's turns (``geo.hover_turns``) where ``track`` shows the drone still, with
    a margin; ``()`` where it never is. ``hfov_deg`` ``None``: not known (the turns are
    read from the image's rotation alone)."""
    import numpy as np

    from geo.camera import DEFAULT_PITCH_DEG
    from geo.hover_turns import hover_spans, turn_rate_deg_s, turns_from_motion
    from geo.sync import still_at_video_times

    still = still_at_video_times(track, motion.t_s, duration_s=info.duration_s,
                                 creation_time_utc=info.creation_time_utc, offset_s=offset_s, clear_of_travel=True)
    if not still.any():
        return ()
    if pitch_deg is None:
        gimbal = [s.gimbal_pitch_deg for s in track.samples if s.gimbal_pitch_deg is not None]
        pitch_deg = float(np.median(gimbal)) if gimbal else DEFAULT_PITCH_DEG
    rate = turn_rate_deg_s(motion.dx_px_s, motion.rotation_deg_s, motion.width_px, pitch_deg=pitch_deg,
                           hfov_deg=hfov_deg)
    return turns_from_motion(motion.t_s, rate, motion.valid, keep=hover_spans(motion.t_s, still))


@dataclass(frozen=True)
class VideoGeoreferencing:
    """The project settings with what the video's motion gave in them
    (:func:`georeference_from_video`), the camera read (``view``, ``None`` when not asked
    for or not readable; its spreads enter the sites' error budget) and what was read or
    left as it was, a line each, for the person who asked."""

    settings: ProjectSettings
    view: FlowView | None
    lines: tuple[str, ...]


def georeference_from_video(video_path: Path, track: Track, settings: ProjectSettings, *, camera: bool = False,
                            ground: bool = False, flown: bool = False) -> VideoGeoreferencing:
    """Read from the video's motion what ``track`` leaves the map to assume, into
    ``settings``: the camera's pitch and heading offset (``camera``, and its field of
    view unless the settings give it) for a track without gimbal pitch; the ground's
    elevation (``ground``) for one of absolute altitudes only; the drone's height above
    the ground (``flown``) for one without altitude. A height is also read when only the
    camera is asked for and the settings give none, since the camera must be read at the
    heights the map uses. What the track already gives is left as it is (said in
    ``lines``). ``damagemap export --camera auto`` / ``--ground-elevation auto`` /
    ``--flight-height auto`` and ``damagemap survey georeference`` call it.

    Raises
    ------
    core.errors.GeoreferenceError
        When a height was needed and the video's flow does not give one.
    """
    from dataclasses import replace

    from core.errors import GeoreferenceError

    lines: list[str] = []
    camera_only = camera and not (ground or flown)
    # without a heading the camera's turns where the drone hovered are read, pitch given or not
    turns = camera and not (track.has("gimbal_yaw_deg") or track.has("yaw_deg"))
    if camera and track.has("gimbal_pitch_deg"):
        lines.append("camera: the telemetry gives the gimbal pitch; left as it is")
        camera = False
    asked_ground, asked_flown = ground, flown
    ground = heights_need_ground(track) and (ground or (camera and settings.ground_elevation_m is None))
    flown = heights_unknown(track) and (flown or (camera and settings.flight_height_m is None))
    if asked_ground and not heights_need_ground(track):
        lines.append("ground: the telemetry's heights need no ground elevation; left as they are")
    if asked_flown and not heights_unknown(track):
        lines.append("height: the telemetry gives the drone's altitude; left as it is")
    if not (camera or ground or flown or turns):
        return VideoGeoreferencing(settings, None, tuple(lines))
    hfov = None
    # a field of view read from the video before is no more known now than it was then:
    # held, it would read the pitch alone as if the width were exact, and say it was given
    estimated_before = settings.hfov_deg is not None and settings.hfov_sigma_deg is not None
    if camera and estimated_before:
        lines.append(f"camera: the field of view kept from an earlier reading ({settings.hfov_deg} "
                     f"+-{settings.hfov_sigma_deg} deg, estimated from the video) is read again with the pitch")
    if settings.hfov_deg is not None and not estimated_before:  # typed, or a preset: the field of view is known
        from geo.camera import resolve_hfov

        try:
            hfov = resolve_hfov(settings.hfov_deg).hfov_deg
        except ValueError as exc:
            raise GeoreferenceError(str(exc)) from None
    report = estimate_sync(video_path, track, hfov_deg=hfov,
                           ground_elevation_m=None if ground else settings.ground_elevation_m,
                           flight_height_m=None if flown else settings.flight_height_m,
                           pitch_deg=settings.camera_pitch_deg)
    if turns:  # read afresh: none read now leaves none from an earlier reading
        settings = replace(settings, hover_turns=report.hover_turns)
        if report.hover_turns:
            lines.append(describe_turns(report.hover_turns))
    if ground or flown:
        option = "--ground-elevation" if ground else "--flight-height"
        if report.height is None:
            raise GeoreferenceError(
                f"{video_path}: cannot read the drone's height from the video: the ground's flow in it does not "
                f"follow {Path(track.path).name if track.path else 'the telemetry'} (too little straight flight "
                f"over the ground, or telemetry of another flight); give {option} M")
        sigma = round(report.height.sigma_m, 1)
        told = f" (the telemetry's heights need it; {option} M sets it)" if camera_only else ""
        if ground and report.ground_elevation_m is not None:
            lines.append(f"{report.height.note()}: ground elevation "
                         f"{report.ground_elevation_m:.1f} m{told}")
            settings = replace(settings, ground_elevation_m=report.ground_elevation_m, ground_elevation_sigma_m=sigma)
        if flown and report.flight_height_m is not None:
            lines.append(f"{report.height.note()}: flown {report.flight_height_m:.1f} m above "
                         f"it{told}")
            settings = replace(settings, flight_height_m=report.flight_height_m, flight_height_sigma_m=sigma)
    if not camera:
        return VideoGeoreferencing(settings, None, tuple(lines))
    view = report.view
    if view is None:
        lines.append("camera: not read from the video (too little motion over the ground, or a flow that does not "
                     "follow the telemetry); assumed as before")
        return VideoGeoreferencing(settings, None, tuple(lines))
    lines.append(view.note())
    if view.width_unsure:
        lines.append(UNSURE_WIDTH_HINT)
    if hfov is None and view.hfov_estimated:
        settings = replace(settings, hfov_deg=round(view.hfov_deg, 1), hfov_sigma_deg=round(view.hfov_sigma_deg, 1),
                           hfov_unsure=view.width_unsure)  # kept: a map built from the settings cautions
    elif hfov is None and estimated_before:  # held from the telemetry or the video's metadata: the map finds it
        settings = replace(settings, hfov_deg=None, hfov_sigma_deg=None, hfov_unsure=False)
    # kept with the settings, so the app and later exports place the map with the same camera
    settings = replace(settings, camera_pitch_deg=round(view.pitch_deg, 1),
                       camera_pitch_sigma_deg=round(view.pitch_sigma_deg, 1),
                       heading_offset_deg=round(view.yaw_offset_deg, 1),
                       heading_offset_sigma_deg=round(view.yaw_sigma_deg, 1))
    return VideoGeoreferencing(settings, view, tuple(lines))


#: Why the flow leaves the camera's width unsure (``FlowView.width_unsure``), in the words
#: the command line's hint and the Georeferencing dialog share.
UNSURE_WIDTH_REASON = ("the flow hardly tells a steeper, wider camera from a shallower, narrower one on this flight "
                       "(it turns too little), so the pitch is unsure too")
#: What to do when the flow leaves the camera's width unsure (``FlowView.width_unsure``).
UNSURE_WIDTH_HINT = (f"camera: {UNSURE_WIDTH_REASON}: give the field of view (--hfov DEG, "
                     "or the drone's name, e.g. --hfov mini-2; in the app, Georeferencing… > Horizontal field of view) and "
                     "read the camera again; the pitch is then read alone")


def turns_summary(turns: Turns) -> tuple[float, float]:
    """How many seconds of motion the turns cover, and the widest turn in them (degrees)."""
    seconds = sum(stretch[1] * (len(stretch) - 2) for stretch in turns)
    widest = max((abs(d) for stretch in turns for d in stretch[2:]), default=0.0)
    return seconds, widest


def describe_turns(turns: Turns) -> str:
    """One line on the camera's turns read where the drone hovered."""
    seconds, widest = turns_summary(turns)
    return (f"camera: its turns where the drone hovered read from the video ({seconds:.0f} s of motion, up to "
            f"{widest:.0f} degrees): those frames are placed by them, the telemetry gives no heading")


def _height_from_flow(track: Track, motion: ImageMotion, info: VideoInfo, offset_s: float,
                      hfov_deg: float | None) -> FlowHeight | None:
    """The height fit (``geo.flow_height``) on the track's heights as the map takes them
    without a ground: above its first fix for absolute altitudes, 0 for a track with none
    (so the fit is the height itself). The field of view is the one given, else the one
    the telemetry or the video names, else the map's default."""
    from geo.camera import resolve_hfov
    from geo.flow_height import height_from_flow
    from geo.sync import align_track

    assert motion.band_flow_px_s is not None
    if hfov_deg is None:
        focal = [s.focal_length_mm for s in track.samples if s.focal_length_mm is not None]
        hfov_deg = resolve_hfov(None, focal, video_model=info.camera_model).hfov_deg
    aligned = align_track(track, duration_s=info.duration_s, creation_time_utc=info.creation_time_utc,
                          offset_s=offset_s, flight_height_m=0.0 if heights_unknown(track) else None)
    return height_from_flow(motion.t_s, motion.band_flow_px_s, motion.width_px, motion.height_px, aligned,
                            hfov_deg=hfov_deg)


def known_field_of_view(video_path: Path, track: Track) -> FieldOfView | None:
    """The field of view that ``track``'s focal lengths or, without them, the camera
    model in ``video_path``'s metadata (``engine.video_metadata``, a known preset) give;
    ``None`` when neither does (the field of view is then estimated).

    Raises
    ------
    core.errors.VideoError
        When the video cannot be read.
    """
    from engine.video_metadata import video_camera

    camera = video_camera(video_path)
    return _held_field_of_view(camera.named_model if camera is not None else None, track)


def _held_field_of_view(camera_model: str | None, track: Track) -> FieldOfView | None:
    """:func:`known_field_of_view` of a camera model already read from the video."""
    from geo.camera import resolve_hfov

    focal = [s.focal_length_mm for s in track.samples if s.focal_length_mm is not None]
    fov = resolve_hfov(None, focal, video_model=camera_model)
    return None if fov.source.startswith("default") else fov


def telemetry_video_match(track: Track, video: Mapping[str, Any]) -> VideoMatch:
    """What ``track`` and the video (``engine.video.VideoInfo.as_dict()``) say of each
    other (``geo.sync_video``): a DJI SRT of another video is refused by
    :func:`geo.sync.align_track` (the map, the export, the window's check of a new track),
    and a caution for what is evidence alone, which the analysis and the map say first."""
    from geo.sync_video import VideoFacts, match_video

    return match_video(track, VideoFacts.from_info(video))


def estimate_clock_offset(
    video_path: Path, track: Track, *, search_s: tuple[float, float] | None = None, rate_hz: float = 5.0
) -> OffsetEstimate:
    """The ``--offset`` that puts ``track`` on ``video_path``'s clock, from the image
    motion of the video against the track's speed and turns.

    Raises
    ------
    TelemetryError
        When the video or the track has too little motion to match, or the track runs
        backwards against the video (its times in reverse order; the message names both).
    core.errors.VideoError
        When the video cannot be read.
    """
    from engine.motion import video_motion
    from engine.video import probe_video

    info = probe_video(video_path)
    return _offset(track, video_motion(video_path, rate_hz=rate_hz), info, search_s, video_path)


def _offset(track: Track, motion: ImageMotion, info: VideoInfo, search_s: tuple[float, float] | None,
            video_path: Path) -> OffsetEstimate:
    from geo.clock_offset import NoOffsetInRange, estimate_offset

    cannot = f"{track.path or track.name}: cannot estimate the clock offset against {video_path}"
    if len(track) < 2:
        raise TelemetryError(f"{cannot}: the track holds one fix, no motion to match the video's against; give the "
                             "flight's full log (or the SRT the drone wrote beside the video)")
    if info.frame_count < 2:  # a flight of one frame: nothing moved, whatever the track did
        raise TelemetryError(f"{cannot}: the video holds {'no frame' if info.frame_count < 1 else 'one frame'}, no "
                             f"motion to match the track's against; set the offset by hand ({_BY_HAND})")
    try:
        estimate = estimate_offset(
            track, motion.t_s, motion.parallax_px_s if motion.parallax_px_s is not None else motion.dy_px_s,
            -motion.dx_px_s, image_rotation=-motion.rotation_deg_s, valid=motion.valid,
            duration_s=info.duration_s, creation_time_utc=info.creation_time_utc, search_s=search_s,
        )
    except NoOffsetInRange as exc:
        raise TelemetryError(
            f"{cannot}: the motion in the video matches the track at no clock offset within the search range "
            f"{exc}; the video and the track may not belong together, or set the offset by hand ({_BY_HAND})"
        ) from None
    if estimate is None:
        raise TelemetryError(f"{cannot}: too little motion in the video or the track to match; set the offset by hand "
                             f"({_BY_HAND})")
    if estimate.runs_backwards:
        raise TelemetryError(
            f"{cannot}: its times run backwards: the video's motion matches the track played in reverse "
            f"(correlation {estimate.backwards_correlation:.2f}, {estimate.correlation:.2f} at best as its times run), "
            "so the file pairs its points with times in reverse order (points listed as flown with times counting "
            "down, or reversed by an editor that kept the times); give the log as the drone wrote it"
        )
    return estimate


#: Where the clock offset is set by hand, for the messages.
_BY_HAND = "--offset S; in the app, Georeferencing… > Telemetry time offset"


__all__ = ["SyncReport", "VideoGeoreferencing", "georeference_from_video", "estimate_clock_offset", "estimate_sync", "heights_need_ground", "heights_unknown", "known_field_of_view", "telemetry_video_match"]
