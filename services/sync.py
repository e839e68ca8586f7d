"""Putting telemetry on the video's clock without typing the offset: the video's own
motion (``engine.motion``) matched against the track's (``geo.clock_offset``); for a
track of positions only, the camera's pitch and field of view from the same motion
(``geo.pitch``), the field of view held when the telemetry or the video's metadata
(``engine.video_metadata``) names it; and for a track of absolute altitudes only, the
ground's elevation from the same motion (``geo.flow_height``), for a track with no
altitude at all, the drone's height above the ground."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import TelemetryError

if TYPE_CHECKING:  # pragma: no cover
    from engine.motion import ImageMotion
    from engine.video import VideoInfo
    from geo.camera import FieldOfView
    from geo.clock_offset import OffsetEstimate
    from geo.flow_height import FlowHeight
    from geo.pitch import FlowView
    from geo.telemetry import Track


@dataclass(frozen=True)
class SyncReport:
    """What the video's motion says about its telemetry: the clock offset; for a track
    without gimbal pitch, the camera's pitch, field of view and heading offset; for a
    track whose heights have no ground (absolute altitudes only, no ground elevation
    given), the ground's elevation (``ground_elevation_m``), and for a track with no
    altitude at all, the drone's height above the ground (``flight_height_m``), each
    with the height fit behind it in ``height``."""

    offset: OffsetEstimate
    view: FlowView | None
    ground_elevation_m: float | None = None
    height: FlowHeight | None = None
    flight_height_m: float | None = None

    @property
    def ground_sigma_m(self) -> float | None:
        return None if self.height is None else self.height.sigma_m


def estimate_sync(
    video_path: Path, track: Track, *, search_s: tuple[float, float] | None = None,
    ground_elevation_m: float | None = None, hfov_deg: float | None = None, rate_hz: float = 5.0,
    flight_height_m: float | None = None,
) -> SyncReport:
    """:func:`estimate_clock_offset`, and the camera's view from the image flow
    (``geo.pitch``) when ``track`` has no gimbal pitch, on the estimated clock (the
    video decoded once). Without ``hfov_deg``, a field of view the telemetry or the
    video's metadata gives (:func:`known_field_of_view`) is held and only the pitch is
    fitted.

    Raises
    ------
    TelemetryError, core.errors.VideoError
        As :func:`estimate_clock_offset`.
    """
    from engine.motion import video_motion
    from engine.video import probe_video
    from geo.pitch import view_from_flow
    from geo.sync import align_track

    info = probe_video(video_path)
    motion = video_motion(video_path, rate_hz=rate_hz)
    offset = _offset(track, motion, info, search_s, video_path)
    offset_s = offset.offset_s if offset.reliable else 0.0
    view, height, ground, flown = None, None, None, None
    if ground_elevation_m is None and heights_need_ground(track) and motion.band_flow_px_s is not None:
        height = _height_from_flow(track, motion, info, offset_s, hfov_deg)
        if height is not None:
            first_abs = next(s.alt_abs_m for s in track.samples if s.alt_abs_m is not None)
            ground = ground_elevation_m = round(first_abs - height.offset_m, 1)
    if flight_height_m is None and heights_unknown(track) and motion.band_flow_px_s is not None:
        height = _height_from_flow(track, motion, info, offset_s, hfov_deg)
        if height is not None:
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
    return SyncReport(offset, view, ground, height, flown)


def heights_need_ground(track: Track) -> bool:
    """Whether ``track``'s heights stand on nothing: absolute altitudes only, so without a
    ground elevation they are taken above its first fix (``geo.sync``), wrong by however
    high the drone was when the log or the clip started."""
    return not track.has("alt_rel_m") and track.has("alt_abs_m")


def heights_unknown(track: Track) -> bool:
    """Whether ``track`` has no altitude at all (some Mavic 2 SRTs): the drone's height
    above the ground must be given, or read from the video, for it to be mapped."""
    return not track.has("alt_rel_m") and not track.has("alt_abs_m")


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


def estimate_clock_offset(
    video_path: Path, track: Track, *, search_s: tuple[float, float] | None = None, rate_hz: float = 5.0
) -> OffsetEstimate:
    """The ``--offset`` that puts ``track`` on ``video_path``'s clock, from the image
    motion of the video against the track's speed and turns.

    Raises
    ------
    TelemetryError
        When the video or the track has too little motion to match (message names both).
    core.errors.VideoError
        When the video cannot be read.
    """
    from engine.motion import video_motion
    from engine.video import probe_video

    info = probe_video(video_path)
    return _offset(track, video_motion(video_path, rate_hz=rate_hz), info, search_s, video_path)


def _offset(track: Track, motion: ImageMotion, info: VideoInfo, search_s: tuple[float, float] | None,
            video_path: Path) -> OffsetEstimate:
    from geo.clock_offset import estimate_offset

    estimate = estimate_offset(
        track, motion.t_s, motion.parallax_px_s if motion.parallax_px_s is not None else motion.dy_px_s, -motion.dx_px_s,
        image_rotation=-motion.rotation_deg_s, valid=motion.valid,
        duration_s=info.duration_s, creation_time_utc=info.creation_time_utc, search_s=search_s,
    )
    if estimate is None:
        raise TelemetryError(
            f"{track.path or track.name}: cannot estimate the clock offset against {video_path}: "
            "too little motion in the video or the track to match (set --offset by hand)"
        )
    return estimate


__all__ = ["SyncReport", "estimate_clock_offset", "estimate_sync", "heights_need_ground", "heights_unknown", "known_field_of_view"]
