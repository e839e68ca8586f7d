"""From detections, frame times and a telemetry track to a :class:`DamageMap`.

:func:`build_damage_map_from` works on plain inputs; :func:`build_damage_map` reads them
from a project store (``core.store.ProjectStore``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core import frame_quality
from core.camera import CameraPose, PinholeCamera, intersect_ground
from core.last_few import LastFew
from core.errors import GeoreferenceError, TelemetryError
from core.settings import DEFAULT_MIN_SCORE, ProjectSettings
from core.sites import counted
from core.store import ProjectStore
from core.review import ReviewSignature, review_signatures
from core.types import DamageLevel, DamageSite, Detection, Observation, ReviewState
from geo.camera import (DEFAULT_PITCH_DEG, ESTIMATED_PITCH_SIGMA_DEG, FieldOfView, FramePoses, camera_angle_sigma_deg,
                        camera_for, frame_poses, resolve_hfov)
from geo.fusion import FusedSite, FusionSettings, count_views, fuse_observations
from geo.heatmap import HeatGrid, heat_grid
from geo.hover_turns import MAX_CLOSURE_DEG, Turns
from geo.local import LocalFrame
from geo.observe import Projected, Sighting, place_detections
from geo.pitch import UNSURE_HFOV_SIGMA_DEG, FlowView
from geo.reach import ReachWedge, detection_wedges
from geo.sync import AlignedTrack, align_track, heights_need_ground, recording_start
from geo.terrain import Terrain, reference_elevation
from geo.uncertainty import budget_note, budget_sites, clock_sigma
from geo.views import describe_hovers, distinct_views, hovers
from geo.telemetry import Track, read_telemetry
from geo.telemetry.altitude_check import TAKEOFF_ON_THE_GROUND
from geo.telemetry.takeoff import started_in_the_air

if TYPE_CHECKING:  # pragma: no cover
    from geo.regroup import DecidedSite, RejectedSite



@dataclass(frozen=True)
class VideoGeometry:
    """What the map needs to know about the video."""

    width_px: int
    height_px: int
    duration_s: float
    creation_time_utc: float | None = None
    #: the camera the video's metadata names (``engine.video_metadata``), if any: a known
    #: model gives its preset field of view when neither the user nor the telemetry does
    camera_model: str | None = None
    #: the frames it holds and its file, where known: a DJI SRT is checked against them
    #: (``geo.sync_video``)
    frame_count: int | None = None
    path: Path | None = None

    @classmethod
    def from_dict(cls, info: Mapping) -> VideoGeometry:
        try:
            return cls(
                int(info["width_px"]),
                int(info["height_px"]),
                float(info["duration_s"]),
                None if info.get("creation_time_utc") is None else float(info["creation_time_utc"]),
                None if not info.get("camera_model") else str(info["camera_model"]),
                int(info["frame_count"]) if info.get("frame_count") else None,
                Path(info["path"]) if info.get("path") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"video_info needs width_px, height_px, duration_s (and creation_time_utc); got {dict(info)!r}"
            ) from exc


#: (camera, pose, local frame, range) -> the ground the camera saw there, a lon/lat ring
_FOOTPRINTS = LastFew(4096)


def clear_cache() -> None:
    """Forget the kept camera footprints (tests, benchmarks), those kept with a map too."""
    from geo.coverage import clear_cache as clear_footprint_records

    _FOOTPRINTS.clear()
    clear_footprint_records()


@dataclass(eq=False)
class DamageMap:
    """Everything the exports and the GUI map show, in WGS84 with a local UTM frame.

    ``fused`` are the sites the map shows: the confirmed ones
    (:func:`geo.fusion.count_views`); ``unconfirmed`` are the others, kept for the review
    and for :meth:`with_unconfirmed`. Site ids number both together.
    """

    aligned: AlignedTrack
    camera: PinholeCamera
    fov: FieldOfView
    frame_poses: FramePoses
    fused: list[FusedSite]
    heat: HeatGrid | None
    video: VideoGeometry
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    title: str = "Damage map"
    #: detection id -> who reviewed it and when (only reviewed detections; filled by the
    #: caller that has the project's review history)
    reviews: dict[int, ReviewSignature] = field(default_factory=dict)
    #: sites detected in too few of the frames that showed them (not on the map)
    unconfirmed: list[FusedSite] = field(default_factory=list)
    #: what decided which sites are confirmed
    fusion: FusionSettings = field(default_factory=FusionSettings)
    #: ``(camera angle sigma deg, clock offset sigma s, ground elevation sigma m)`` of the
    #: sites' error budget (``geo.uncertainty.budget_sites``), for sites rebuilt later
    error_sigmas: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: what a reader should weigh before trusting the map (a flight flown unlike the
    #: detector's training footage, ``geo.footage``); each is among ``notes`` too, and the
    #: desktop app shows them above its map
    cautions: list[str] = field(default_factory=list)
    #: analysed frames too dark, uniform or blurred to count as a look at the ground
    #: (:func:`core.frame_quality.unusable_frames`): index -> why
    unusable_frames: dict[int, str] = field(default_factory=dict)
    #: frame index -> its distinct view (:func:`geo.views.distinct_views` of the
    #: :attr:`looking_poses`): frames with one number are one look at the ground
    views: dict[int, int] = field(default_factory=dict)
    #: frame index -> the ground it is known to have filmed past the usual range: a wedge
    #: towards each of its detections placed there, whatever its score or review, that
    #: lies near that range or that another view corroborates
    #: (:func:`geo.reach.detection_wedges`; ``geo.coverage`` draws them), the same at any
    #: score threshold
    detection_reach: dict[int, tuple[ReachWedge, ...]] = field(default_factory=dict)
    #: how many unconfirmed sites this map shows beside the confirmed ones
    #: (:meth:`with_unconfirmed`; 0 when it leaves them off)
    unconfirmed_shown: int = 0
    #: the camera set for telemetry without one (:func:`geo.camera.frame_poses`): the
    #: pitch where the telemetry gives no gimbal pitch, and the heading's offset from the
    #: direction of travel; every pose the map gives between frames follows them too
    default_pitch_deg: float = DEFAULT_PITCH_DEG
    heading_offset_deg: float = 0.0
    #: the field of view was read from the video of a flight that turns too little to pin
    #: it down (``geo.pitch.FlowView.width_unsure``): the pitch read with it is unsure too
    hfov_unsure: bool = False

    def recording_start(self) -> tuple[float | None, bool]:
        """When the video's time 0 was, in epoch seconds, and whether that is UTC
        (:func:`geo.sync.recording_start` of the map's track, creation time and offset)."""
        return recording_start(self.aligned.track, self.video.creation_time_utc, self.aligned.offset_s,
                               duration_s=self.video.duration_s)

    def recording_start_utc(self) -> float | None:
        """:meth:`recording_start` when it is UTC (the times every export writes)."""
        start, is_utc = self.recording_start()
        return start if is_utc else None

    @property
    def all_fused(self) -> list[FusedSite]:
        """Confirmed and unconfirmed sites together, by id."""
        return sorted([*self.fused, *self.unconfirmed], key=lambda f: f.site.id)

    def with_unconfirmed(self) -> DamageMap:
        """A copy that shows the unconfirmed sites too (their ``confirmed`` stays false)."""
        notes = [n for n in self.notes if not n.endswith(UNCONFIRMED_NOTE)]
        if self.unconfirmed:
            notes.append(unconfirmed_shown_note(len(self.unconfirmed)))
        return dataclasses.replace(self, fused=self.all_fused, unconfirmed=[], notes=notes,
                                   unconfirmed_shown=len(self.unconfirmed))

    def regroup_sites(self, groups: Sequence[Collection[int] | DecidedSite | RejectedSite]) -> None:
        """Apply a reviewer's splits, merges and decisions on whole sites
        (:func:`geo.regroup.regroup`, groups of detection ids) to every site, confirmed or
        not, and confirm the rebuilt sites again."""
        from geo.regroup import DecidedSite, RejectedSite, regroup

        before = sum(len(f.members) for f in self.all_fused)
        site_on_map = {m.detection.id: k for k, f in enumerate(self.fused) for m in f.members}
        regrouped = regroup(self.all_fused, groups, camera=self.camera, local=self.local, settings=self.fusion)
        left_out = before - sum(len(f.members) for f in regrouped)
        if left_out:
            self.notes.append(f"{left_out} sightings a lower threshold let in at places a reviewer rejected "
                              "are left out")
        fused, unconfirmed = _budget_and_confirm(  # the rebuilt sites get theirs
            regrouped, self.aligned, self.looking_poses, self.views, self.camera, self.fusion, self.error_sigmas)
        # The parts of a site on the map that a reviewer split (or merged) stay on it: the split
        # says there are two damages, not that one of them is none (the views counted alone
        # would hide the smaller part).
        touched = {site_on_map[int(i)] for g in groups if not isinstance(g, (DecidedSite, RejectedSite))
                   for i in g if int(i) in site_on_map}
        stays = [f for f in unconfirmed if all(m.detection.id in site_on_map for m in f.members)
                 and any(site_on_map[m.detection.id] in touched for m in f.members)]
        self.fused = sorted([*fused, *(dataclasses.replace(f, confirmed=True) for f in stays)], key=lambda f: f.site.id)
        staying = {id(f) for f in stays}
        self.unconfirmed = [f for f in unconfirmed if id(f) not in staying]
        self.notes = _with_unconfirmed_note(self.notes, self.unconfirmed, self.fusion)

    def numbered(self, previous: Mapping[int, Collection[int]]) -> tuple[DamageMap, dict[int, int]]:
        """A copy whose sites, confirmed or not, have the numbers they had in earlier
        builds (:func:`geo.site_numbers.number_sites`; ``previous``: detection id -> the
        numbers of the sites it was placed in), and the numbers to remember (detection id
        -> a number to add to its numbers)."""
        from geo.site_numbers import number_sites

        numbered, remember = number_sites(self.all_fused, previous)
        return dataclasses.replace(self, fused=[f for f in numbered if f.confirmed],
                                   unconfirmed=[f for f in numbered if not f.confirmed]), remember

    # -- convenience views
    @property
    def pitch_assumed(self) -> bool:
        """Whether the frames were placed with the assumed camera pitch
        (:data:`geo.camera.DEFAULT_PITCH_DEG`): the telemetry gives none and none was set
        or read from the video."""
        return self.frame_poses.pitch_source == f"default {DEFAULT_PITCH_DEG:g} deg"

    @property
    def local(self) -> LocalFrame:
        return self.aligned.local

    @property
    def crs(self) -> str:
        return self.local.crs

    @property
    def track(self) -> Track:
        return self.aligned.track

    @property
    def sites(self) -> list[DamageSite]:
        return [f.site for f in self.fused]

    @property
    def observations(self) -> list[Observation]:
        return [o for f in self.fused for o in f.observations]

    @property
    def poses(self) -> dict[int, CameraPose]:
        return self.frame_poses.poses

    @property
    def looking_poses(self) -> dict[int, CameraPose]:
        """The poses of the frames that count as a look at the ground: every placed frame
        but the :attr:`unusable_frames` (a site's confirmation, a building's coverage)."""
        return _looking(self.poses, self.unusable_frames)

    def level_counts(self) -> dict[DamageLevel, int]:
        counts = {level: 0 for level in DamageLevel}
        for site in self.sites:
            counts[site.level] += 1
        return counts

    def track_segments_lonlat(self, *, video_only: bool = False) -> list[list[tuple[float, float]]]:
        """The track as ``(lon, lat)`` polylines, split at gaps, GPS jumps left out."""
        t = self.aligned.t_s
        good = self.aligned.good.copy()
        if video_only:
            good &= (t >= -1.0) & (t <= self.video.duration_s + 1.0)
        lonlat = self.aligned.lonlat()
        max_gap = self.track.max_gap_s()
        segments: list[list[tuple[float, float]]] = []
        current: list[tuple[float, float]] = []
        last_t = None
        for k in np.flatnonzero(good):
            if last_t is not None and t[k] - last_t > max_gap and current:
                segments.append(current)
                current = []
            current.append((float(lonlat[k, 0]), float(lonlat[k, 1])))
            last_t = t[k]
        if current:
            segments.append(current)
        return [s for s in segments if len(s) >= 2]

    def outliers_lonlat(self) -> list[tuple[float, float, float]]:
        """``(lon, lat, video_time_s)`` of the flagged GPS jumps."""
        lonlat = self.aligned.lonlat()
        return [(float(lonlat[k, 0]), float(lonlat[k, 1]), float(self.aligned.t_s[k]))
                for k in np.flatnonzero(self.aligned.outlier)]

    def pose_at(self, t_s: float) -> CameraPose | None:
        return self.poses_at([t_s])[0]

    def poses_at(self, times_s: Sequence[float]) -> list[CameraPose | None]:
        """:meth:`pose_at` of each time, read from the telemetry at once: placed as the
        analysed frames are (:func:`geo.camera.frame_poses`, with the map's pitch and
        heading offset), ``None`` where a frame there would have no pose."""
        times = list(times_s)
        placed = frame_poses(self.aligned, dict(enumerate(times)), default_pitch_deg=self.default_pitch_deg,
                             heading_offset_deg=self.heading_offset_deg)
        return [placed.poses.get(k) for k in range(len(times))]

    def position_at(self, t_s: float) -> tuple[float, float] | None:
        """The drone's ``(lon, lat)`` at video time ``t_s``, ``None`` without telemetry
        (a hover under telemetry without a heading has a position, though no pose)."""
        state = self.aligned.interpolate([t_s], default_pitch_deg=DEFAULT_PITCH_DEG)
        if not (state.valid[0] or state.hovering[0]):
            return None
        lon, lat = self.local.to_lonlat(float(state.east_m[0]), float(state.north_m[0]))
        return float(lon), float(lat)

    def camera_footprint_at(self, t_s: float, *, max_range_m: float = 500.0) -> list[tuple[float, float]]:
        """The ground seen at video time ``t_s`` as a closed ``(lon, lat)`` ring (the image
        border projected, cut at ``max_range_m`` where it reaches the horizon); ``[]``
        without telemetry."""
        return self.camera_footprint_of(self.pose_at(t_s), max_range_m=max_range_m)

    def camera_footprint_of(self, pose: CameraPose | None, *, max_range_m: float = 500.0) -> list[tuple[float, float]]:
        """:meth:`camera_footprint_at` for the camera at ``pose`` (a copy of the ring
        kept by pose: the app's map grades the buildings again after every review
        decision, inside the same frames' footprints)."""
        if pose is None:
            return []
        key = (self.camera, pose, self.local.key, float(max_range_m))
        ring = _FOOTPRINTS.get(key)
        if ring is None:
            ring = tuple(self._footprint_ring(pose, max_range_m))
            _FOOTPRINTS.put(key, ring)
        return list(ring)

    def _footprint_ring(self, pose: CameraPose, max_range_m: float) -> list[tuple[float, float]]:
        w, h = self.camera.width_px, self.camera.height_px
        n = 12
        top = [(w * k / n, 0.0) for k in range(n)]
        right = [(float(w), h * k / n) for k in range(n)]
        bottom = [(w - w * k / n, float(h)) for k in range(n)]
        left = [(0.0, h - h * k / n) for k in range(n)]
        border = np.array(top + right + bottom + left)
        ground = intersect_ground(self.camera, pose, border)
        from core.camera import pixel_rays

        rays = pixel_rays(self.camera, pose, border)
        points = []
        for g, ray in zip(ground, rays):
            if np.isfinite(g[0]) and math.hypot(g[0] - pose.east_m, g[1] - pose.north_m) <= max_range_m:
                points.append(g[:2])
            else:  # towards the horizon: stop at max_range_m along the ray's heading
                horizontal = ray[:2] / max(np.linalg.norm(ray[:2]), 1e-9)
                points.append(np.array([pose.east_m, pose.north_m]) + horizontal * max_range_m)
        xy = np.array(points + points[:1])
        lon, lat = self.local.to_lonlat(xy[:, 0], xy[:, 1])
        return [(float(a), float(b)) for a, b in zip(lon, lat)]


def build_damage_map_from(
    detections: Iterable[Detection],
    frame_times_s: Mapping[int, float],
    track: Track,
    *,
    video: VideoGeometry | Mapping,
    hfov_deg: float | str | None = None,
    offset_s: float = 0.0,
    min_score: float = DEFAULT_MIN_SCORE,
    default_pitch_deg: float = DEFAULT_PITCH_DEG,
    fusion: FusionSettings | None = None,
    ground_elevation_m: float | None = None,
    flight_height_m: float | None = None,
    title: str = "Damage map",
    dem: str | Path | Terrain | None = None,
    heading_offset_deg: float = 0.0,
    pitch_sigma_deg: float | None = None,
    heading_sigma_deg: float | None = None,
    hfov_sigma_deg: float | None = None,
    hfov_estimated: bool = False,
    hfov_unsure: bool = False,
    offset_sigma_s: float | None = None,
    ground_sigma_m: float = 0.0,
    unusable_frames: Mapping[int, str] | None = None,
    hover_turns: Turns = (),
    frames_named: str = "analysed frames",
) -> DamageMap:
    """Georeference detections and fuse them into damage sites.

    Parameters
    ----------
    detections
        Current detections (review edits applied). Rejected ones are left out; model
        detections below ``min_score`` too; accepted, relabelled, redrawn and added ones
        are used as reviewed.
    frame_times_s
        Frame index -> presentation time (seconds) of every analysed frame.
    track
        The telemetry (any time base; aligned here with ``offset_s``).
    video
        :class:`VideoGeometry` or a dict with ``width_px``, ``height_px``,
        ``duration_s``, ``creation_time_utc``.
    ground_elevation_m
        Absolute elevation of the ground plane, for tracks with absolute altitude only
        (GPX) whose first point is not the take-off (default: the first point's).
    flight_height_m
        The drone's height above the ground, constant, for a track with no altitude.
    dem
        A DEM/DSM (GeoTIFF path or :class:`geo.terrain.Terrain`): detections are placed
        where their rays meet it instead of on the take-off plane.
    default_pitch_deg, heading_offset_deg
        For telemetry without gimbal pitch or camera heading (GPX): the pitch, and the
        camera's heading from the direction of travel (``geo.pitch`` estimates both).
    pitch_sigma_deg, heading_sigma_deg, hfov_sigma_deg, offset_sigma_s, ground_sigma_m
        How sure those estimates are (one sigma: ``geo.pitch.FlowView``'s spreads, the
        clock offset's ``uncertainty_s``): they enter each site's error budget
        (``geo.uncertainty``), and so ``uncertainty_m``. Without ``offset_sigma_s`` (``None``
        or 0: no offset, or a typed one) the clock part counts how sure the alignment itself
        is (``geo.sync.ClockAlignment``: a creation time, a recording, a guessed start), and
        the notes say it is a guess.
    hfov_estimated
        ``hfov_deg`` is the field of view an estimate from the video gave (the map's
        notes say so, with ``hfov_sigma_deg``), not one the user or the drone gave.
    hfov_unsure
        That estimate could not pin the field of view down (the flight turns too little:
        ``geo.pitch.FlowView.width_unsure``); kept as :attr:`DamageMap.hfov_unsure`.
    hover_turns
        For telemetry without a heading: the camera's turns read from the video where the
        drone hovered (``geo.hover_turns``), which place those frames.
    frames_named
        What the errors call ``frame_times_s``'s frames ("frames to analyse" when the
        placing is tried before an analysis).

    Raises
    ------
    TelemetryError
        If the track does not overlap the video, or is another video's
        (``geo.sync.align_track``).
    GeoreferenceError
        If the telemetry has no altitude, or no analysed frame has telemetry.
    """
    if not isinstance(video, VideoGeometry):
        video = VideoGeometry.from_dict(video)
    try:
        fov = resolve_hfov(hfov_deg, [s.focal_length_mm for s in track.samples if s.focal_length_mm is not None],
                           video_model=video.camera_model)
    except ValueError as exc:
        raise GeoreferenceError(str(exc)) from None
    if hfov_estimated and fov.source == "given":  # the number an estimate from the video gave, with its spread
        fov = FieldOfView(fov.hfov_deg, f"{ESTIMATED_FOV_PREFIX}, +-{hfov_sigma_deg or 0.0:.1f} deg")
    camera = camera_for(video.width_px, video.height_px, fov)
    aligned = align_track(track, duration_s=video.duration_s, creation_time_utc=video.creation_time_utc,
                          offset_s=offset_s, ground_elevation_m=ground_elevation_m, flight_height_m=flight_height_m,
                          hover_turns=hover_turns, frame_count=video.frame_count, video_path=video.path)
    local_terrain = None
    ground_known = ground_elevation_m is not None
    if dem is not None:
        terrain = dem if isinstance(dem, Terrain) else Terrain.open(dem)
        reference, from_absolute, terrain_note = reference_elevation(track, terrain, aligned.local, ground_elevation_m)
        if from_absolute and ground_elevation_m is None:
            aligned = align_track(track, duration_s=video.duration_s, creation_time_utc=video.creation_time_utc,
                                  offset_s=offset_s, ground_elevation_m=reference, local=aligned.local,
                                  flight_height_m=flight_height_m, hover_turns=hover_turns)
            ground_known = True
        local_terrain = terrain.in_frame(aligned.local, reference)
    if not ground_known:
        _refuse_heights_above_an_airborne_first_fix(track, aligned)
    if not np.isfinite(aligned.height_m).any():
        raise GeoreferenceError(
            f"{track.path or track.name}: the telemetry has no altitude, so detections cannot be placed on the "
            "ground; give the drone's height above the ground (--flight-height M), or have it read from the video's "
            "motion (--flight-height auto; in the app, Georeferencing… > Read from the video)"
        )
    poses = frame_poses(aligned, frame_times_s, default_pitch_deg=default_pitch_deg, heading_offset_deg=heading_offset_deg)
    if frame_times_s and not poses.poses and poses.hovering and not poses.missing:
        guessed = aligned.clock.bare_guess  # the log's start taken for the video's: it may be the wrong stretch
        raise GeoreferenceError(
            f"{track.path or track.name}: the drone hovered in every one of the {len(frame_times_s)} {frames_named}, "
            "and the telemetry gives no heading (it is read from the direction of travel), so where the "
            f"camera looked is unknown; {HEADING_HINT}"
            + ("; or the video is lined up with the wrong stretch of the log: nothing dates one against the "
               "other, so the log's start was taken for the video's, and where the log starts before the take-off "
               "its frames fall on the hover before it (`damagemap telemetry LOG --video VIDEO` reads the offset "
               "from the video's motion; give it with --offset)" if guessed else "")
        )
    if frame_times_s and not poses.poses:
        covered = np.sort(aligned.t_s[aligned.good])
        filmed = np.array(sorted(frame_times_s.values()))
        inside = int(np.count_nonzero((filmed >= covered[0]) & (filmed <= covered[-1]))) if len(covered) else 0
        # the log and the frames hardly overlap: not a ground problem (but frames all within the
        # log are not "of another video", however few: one frame on a one-fix log is within it)
        if inside < len(filmed) and inside <= max(1, len(filmed) // 10):
            raise GeoreferenceError(
                f"{track.path or track.name}: the telemetry covers {covered[0]:.1f}-{covered[-1]:.1f} s of the "
                f"video's clock and the {len(filmed)} {frames_named} lie at {filmed[0]:.1f}-{filmed[-1]:.1f} s "
                f"({inside} within it): a log of another video, or one offset in time; check that their names "
                "match, and the time offset"
            )
        _refuse_one_fix_without_heading(track, aligned, poses.heading_source)
        none_of = (f"the {frames_named.replace('frames', 'frame', 1)} has no" if len(frame_times_s) == 1
                   else f"none of the {len(frame_times_s)} {frames_named} has")
        raise GeoreferenceError(
            f"{track.path or track.name}: {none_of} telemetry with the drone above the ground plane; check the "
            f"time offset"
            f"{_ground_hint(track, ground_known=ground_known or flight_height_m is not None)}"
        )

    unusable = {i: why for i, why in (unusable_frames or {}).items() if i in frame_times_s}
    detections = list(detections)
    skipped = {"rejected": 0, "low_score": 0, "no_telemetry": 0, "not_on_ground": 0}
    to_place: list[tuple[Sighting, bool]] = []  # each sighting with a frame pose, and whether it was rejected
    for detection in detections:
        rejected = detection.review is ReviewState.REJECTED
        if rejected:
            skipped["rejected"] += 1
            detection = dataclasses.replace(detection, review=ReviewState.PENDING)
        if not detection.confirmed and detection.final_score < min_score:
            skipped["low_score"] += 0 if rejected else 1
            continue
        pose = poses.poses.get(detection.frame_index)
        if pose is None:
            skipped["no_telemetry"] += 0 if rejected else 1
            continue
        # placed with what its frame adds, so that a sighting is the same object build after
        # build (the fusion keeps what it computed of it)
        to_place.append((Sighting(detection, pose, poses.times_s[detection.frame_index],
                                  no_look=detection.frame_index in unusable,
                                  heading_sigma_deg=poses.turn_sigma_deg.get(detection.frame_index, 0.0)), rejected))
    projected: list[Projected] = []
    roof_evidence: list[Projected] = []  # the placed sightings, the rejected ones as they were before the reject
    placed = place_detections([sighting for sighting, _ in to_place], camera=camera, local=aligned.local,
                              terrain=local_terrain)
    for (_, rejected), p in zip(to_place, placed):
        if p is None:
            skipped["not_on_ground"] += 0 if rejected else 1  # above the horizon, too far, or too small
            continue
        roof_evidence.append(p)
        if not rejected:
            projected.append(p)

    fusion = fusion or FusionSettings()
    fused = fuse_observations(projected, camera=camera, local=aligned.local, settings=fusion,
                              blind=_blind_spans(poses),
                              roof_evidence=roof_evidence if len(roof_evidence) > len(projected) else None)
    angle_sigma = camera_angle_sigma_deg(poses, fov, pitch_estimated=default_pitch_deg != DEFAULT_PITCH_DEG,
                                         pitch_sigma_deg=pitch_sigma_deg, heading_sigma_deg=heading_sigma_deg,
                                         hfov_sigma_deg=hfov_sigma_deg)
    clock_sigma_s, clock_note = clock_sigma(aligned, offset_sigma_s)
    error_sigmas = (angle_sigma, clock_sigma_s, ground_sigma_m)
    looking = _looking(poses.poses, unusable)
    views = distinct_views(looking, fusion.views)
    reach = detection_wedges(detections, poses.poses, camera, terrain=local_terrain, views=views)
    fused, unconfirmed = _budget_and_confirm(fused, aligned, looking, views, camera, fusion, error_sigmas)
    severity = np.array([float(int(f.site.level)) * f.site.confidence for f in fused])
    points = np.array([f.position_m[:2] for f in fused]).reshape(-1, 2)
    heat = heat_grid(points, severity, aligned.local)

    notes = list(track.notes) + [_ground_sigma_note(n, ground_sigma_m) for n in aligned.notes] + (
        [terrain_note] if dem is not None else [])
    notes.append(f"camera: {video.width_px}x{video.height_px}, horizontal FOV {fov.hfov_deg:.1f} deg ({fov.source})")
    notes.append(pointing_note(poses.heading_source, heading_offset_deg, poses.pitch_source, default_pitch_deg))
    if angle_sigma:
        notes.append(f"site uncertainties include {angle_sigma:.0f} deg of camera pointing the telemetry does not give")
    budget = budget_note(fused)
    if budget:
        notes.append(budget)
    if clock_note and (fused or unconfirmed):
        notes.append(clock_note)
    notes += _missing_telemetry_notes(aligned, poses, ground_known=ground_known or flight_height_m is not None)
    if poses.turned:
        notes.append(f"{len(poses.turned)} analysed frames filmed while the drone hovered (or slowed into or out of "
                     "a hover) are placed by the camera's turns read from the video (the telemetry gives no heading)")
    if poses.turns_refused:
        notes.append(f"{poses.turns_refused} hovers' turns read from the video disagree with the way the drone flew "
                     f"on by more than {MAX_CLOSURE_DEG:g} degrees: those hovers are not placed")
    if poses.hovering:
        notes.append(f"{len(poses.hovering)} analysed frames were filmed while the drone hovered, and the telemetry "
                     f"gives no heading (it is read from the direction of travel): where the camera looked then is "
                     f"unknown, so their detections are not placed and they count as no look; {HEADING_HINT}")
    unusable_note = frame_quality.describe_unusable(unusable, len(frame_times_s))
    if unusable_note is not None:
        notes.append(unusable_note)
    # a track without headings leaves its hovers unplaced, and its note above says so
    hover_note = None if poses.hovering else describe_hovers(hovers(views, frame_times_s))
    if hover_note is not None:
        notes.append(hover_note)
    notes = _with_unconfirmed_note(notes, unconfirmed, fusion)
    return DamageMap(aligned, camera, fov, poses, fused, heat, video, {k: v for k, v in skipped.items() if v},
                     notes, title, unconfirmed=unconfirmed, fusion=fusion, error_sigmas=error_sigmas,
                     unusable_frames=unusable, views=views, detection_reach=reach,
                     default_pitch_deg=default_pitch_deg, heading_offset_deg=heading_offset_deg,
                     hfov_unsure=hfov_unsure and fov.source.startswith(ESTIMATED_FOV_PREFIX))


#: how the map's field of view's source begins when an estimate from the video gave it
ESTIMATED_FOV_PREFIX = "estimated from the video"


def _blind_spans(poses: FramePoses) -> list[tuple[float, float]]:
    """``(start, end)`` video times of the runs of analysed frames a hover under telemetry
    without a heading left unplaced, each reaching to the placed frames around it."""
    times = sorted((t, i in poses.hovering) for i, t in poses.times_s.items())
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for k, (t, unplaced) in enumerate(times):
        if unplaced and start is None:
            start = times[k - 1][0] if k else t
        elif not unplaced and start is not None:
            spans.append((start, t))
            start = None
    if start is not None:
        spans.append((start, times[-1][0]))
    return spans


def _looking(poses: dict[int, CameraPose], unusable: Mapping[int, str]) -> dict[int, CameraPose]:
    """``poses`` but those of the frames that were no look at the ground."""
    if not unusable:
        return poses
    return {i: pose for i, pose in poses.items() if i not in unusable}


def pointing_note(heading_source: str, heading_offset_deg: float, pitch_source: str, default_pitch_deg: float) -> str:
    """Where the camera's heading and pitch come from, in the map's notes: ``heading from
    track bearing +5.2 deg, pitch -47.5 deg (set for telemetry without gimbal pitch)``. An
    angle read from the video is said to a tenth of a degree, as the reading printed
    before it, not to six figures."""
    pitch_text = f"pitch from {pitch_source}"
    if pitch_source.startswith("default") and default_pitch_deg != DEFAULT_PITCH_DEG:
        pitch_text = f"pitch {round(default_pitch_deg, 1):g} deg (set for telemetry without gimbal pitch)"
    elif pitch_source.startswith("default"):
        pitch_text += (" (assumed: the telemetry gives none; give it with --pitch DEG, or have it read from the "
                       "video with --camera auto; in the app, Georeferencing… > Camera pitch)")
    heading_text = f"heading from {heading_source}"
    if heading_source == "track bearing" and round(heading_offset_deg, 1):
        heading_text += f" {round(heading_offset_deg, 1):+g} deg"
    return f"{heading_text}, {pitch_text}"


#: what places the frames a track without headings shows the drone hovering in
def _refuse_one_fix_without_heading(track: Track, aligned: AlignedTrack, heading_source: str) -> None:
    """A log of one fix (a one-frame clip's SRT, a single GPX point) with no yaw in it: a
    heading read from the direction of travel needs two places, so no frame can be placed.
    Said as that, not as the drone under the ground plane or a log of another video."""
    good = aligned.good
    if heading_source != "track bearing" or not good.any():
        return
    places = np.unique(np.round(np.column_stack([aligned.east_m[good], aligned.north_m[good]]), 2), axis=0)
    if len(places) > 1 or not np.nanmax(aligned.height_m[good]) > 0.5:
        return  # the drone moved (another reason), or it is on the ground (the ground's message)
    fixes = int(np.count_nonzero(good))
    raise GeoreferenceError(
        f"{track.path or track.name}: the telemetry has the drone at one place only "
        f"({'one fix' if fixes == 1 else f'{fixes} fixes'}, at {aligned.t_s[good][0]:.1f} s) and gives no heading "
        "(it is read from the direction of travel, between two places), so where the camera looked is unknown; "
        f"{HEADING_HINT}"
    )


HEADING_HINT = ("the camera's turns read from the video place them (--camera auto; in the app, Georeferencing… > "
                "Camera pitch > Read from the video), as telemetry with the drone's or the gimbal's yaw does (its "
                "flight log as a CSV, e.g. from Airdata)")

#: how the map's notes end when it leaves unconfirmed sites out
UNCONFIRMED_NOTE = "left off the map"
#: how the map's note ends when it shows them (:meth:`DamageMap.with_unconfirmed`), in
#: the files' words (their property ``confirmed``); the window says it in its own
UNCONFIRMED_SHOWN_NOTE = "shown (confirmed false)"


def unconfirmed_shown_note(count: int) -> str:
    """The map's note when it shows ``count`` unconfirmed sites too, in the files' words."""
    return f"{count} unconfirmed site{'' if count == 1 else 's'} {UNCONFIRMED_SHOWN_NOTE}"


def _with_unconfirmed_note(notes: list[str], unconfirmed: Sequence[FusedSite], fusion: FusionSettings) -> list[str]:
    """``notes`` with the line saying how many unconfirmed sites the map leaves out (if any)."""
    kept = [n for n in notes if not n.endswith(UNCONFIRMED_NOTE)]
    if unconfirmed:
        one = len(unconfirmed) == 1
        kept.append(f"{len(unconfirmed)} unconfirmed site{'' if one else 's'} (detected in fewer than "
                    f"{fusion.min_seen_views} or under {fusion.min_seen_ratio:.0%} of the views that showed "
                    f"{'it' if one else 'them'}; a hover's frames count as one view) {UNCONFIRMED_NOTE}")
    return kept


def _budget_and_confirm(
    fused: list[FusedSite], aligned: AlignedTrack, poses: Mapping[int, CameraPose], views: Mapping[int, int],
    camera: PinholeCamera, fusion: FusionSettings, error_sigmas: tuple[float, float, float],
) -> tuple[list[FusedSite], list[FusedSite]]:
    """The sites with their error budget (``error_sigmas``: camera angle sigma in degrees,
    clock offset sigma in seconds, ground elevation sigma in metres), split into the
    confirmed and the unconfirmed ones by what the frames ``poses`` showed (``views``:
    their distinct views)."""
    fused = budget_sites(fused, aligned, camera_sigma_deg=error_sigmas[0], clock_sigma_s=error_sigmas[1],
                         ground_sigma_m=error_sigmas[2])
    counted = count_views(fused, poses, camera, fusion, views)
    return [f for f in counted if f.confirmed], [f for f in counted if not f.confirmed]


def _camera_view_arguments(camera_view: FlowView | None) -> dict[str, Any]:
    """``build_damage_map_from`` arguments of a camera estimated from the video."""
    if camera_view is None:
        return {}
    return {"default_pitch_deg": camera_view.pitch_deg, "heading_offset_deg": camera_view.yaw_offset_deg,
            "pitch_sigma_deg": camera_view.pitch_sigma_deg, "heading_sigma_deg": camera_view.yaw_sigma_deg,
            "hfov_sigma_deg": camera_view.hfov_sigma_deg, "hfov_estimated": camera_view.hfov_estimated,
            "hfov_unsure": camera_view.width_unsure}


def settings_arguments(settings: ProjectSettings) -> dict[str, Any]:
    """The :func:`build_damage_map_from` arguments a project's settings give: the clock
    offset, field of view, ground elevation or flight height (each with how sure it is),
    the map's minimum score, and the camera it sets for telemetry without one (a pitch
    typed or read from the video, a heading offset; a typed pitch counts as a reading).
    A camera read from the video for this map alone (``camera_view``) goes over it."""
    given: dict[str, Any] = {
        "hfov_deg": settings.hfov_deg, "offset_s": settings.time_offset_s,
        "offset_sigma_s": settings.time_offset_sigma_s or 0.0,
        "ground_sigma_m": math.hypot(settings.ground_elevation_sigma_m or 0.0, settings.flight_height_sigma_m or 0.0),
        "min_score": settings.min_score, "ground_elevation_m": settings.ground_elevation_m,
        "flight_height_m": settings.flight_height_m,
    }
    if settings.camera_pitch_deg is not None:
        given["default_pitch_deg"] = settings.camera_pitch_deg
        given["pitch_sigma_deg"] = (ESTIMATED_PITCH_SIGMA_DEG if settings.camera_pitch_sigma_deg is None
                                    else settings.camera_pitch_sigma_deg)
    if settings.heading_offset_deg is not None:
        given["heading_offset_deg"] = settings.heading_offset_deg
        given["heading_sigma_deg"] = settings.heading_offset_sigma_deg
    if settings.hover_turns:
        given["hover_turns"] = settings.hover_turns
    if settings.hfov_deg is not None and settings.hfov_sigma_deg is not None:  # read from the video
        given["hfov_sigma_deg"] = settings.hfov_sigma_deg
        given["hfov_estimated"] = True
        # a width read unsure, as the reading said (a width drawn towards the default keeps a
        # spread below the threshold); a project from before the flag was kept, by its spread
        given["hfov_unsure"] = settings.hfov_unsure or settings.hfov_sigma_deg >= UNSURE_HFOV_SIGMA_DEG
    return given


def _ground_sigma_note(note: str, ground_sigma_m: float) -> str:
    """The aligned track's note on the ground plane with how sure a ground elevation read
    from the video is: where the ground is given, and where the heights fall back to ones
    above the take-off set on that ground (the other notes as they are)."""
    if ground_sigma_m <= 0.0:
        return note
    sure = f"+-{ground_sigma_m:.0f} m, in each site's uncertainty"
    if note.startswith("ground plane at") and "(given)" in note:
        return note.replace("(given)", f"({sure})", 1)
    if note.startswith("flown ") and note.endswith("(given: the telemetry has no altitude)"):
        return note.removesuffix("(given: the telemetry has no altitude)") + f"(the telemetry has no altitude; {sure})"
    if re.search(rf"{TAKEOFF_ON_THE_GROUND} -?[0-9.]+ m$", note):
        return f"{note} ({sure})"
    return note


def _refuse_heights_above_an_airborne_first_fix(track: Track, aligned: AlignedTrack) -> None:
    """Raise when the heights are taken above the first fix of a log of absolute
    altitudes (no ground elevation given) that started with the drone in the air: they
    would put the drone a metre or two over the ground and every site beside its track,
    each with a tiny uncertainty (:mod:`geo.telemetry.takeoff`)."""
    if not heights_need_ground(track):
        return
    reason = started_in_the_air(aligned.t_s, aligned.east_m, aligned.north_m, aligned.height_m, aligned.outlier)
    if reason is not None:
        raise GeoreferenceError(
            f"{track.path or track.name}: the log gives absolute altitudes only and starts {reason}, so its first "
            "fix is not the take-off point and no height above the ground can be taken from it; give the ground "
            "elevation (--ground-elevation M), or have it read from the video's motion (--ground-elevation auto; "
            "in the app, Georeferencing… > Read from the video)"
        )


def _missing_telemetry_notes(aligned: AlignedTrack, poses: FramePoses, *, ground_known: bool) -> list[str]:
    """Why analysed frames have no pose: those between two samples farther apart than the
    track interpolates across fall in a gap of the log (named, on the video's clock);
    the others (beyond the log's ends, or with the drone not above the ground plane) have
    no usable telemetry, with the ground hint when the ground elevation is unknown."""
    if not poses.missing:
        return []
    sample_times = np.sort(aligned.t_s[aligned.good])
    gaps: dict[tuple[float, float], int] = {}
    others = 0
    max_gap = aligned.track.max_gap_s()
    for index in poses.missing:
        t = poses.times_s[index]
        k = int(np.searchsorted(sample_times, t))
        if 0 < k < len(sample_times) and sample_times[k] - sample_times[k - 1] > max_gap:
            gap = (float(sample_times[k - 1]), float(sample_times[k]))
            gaps[gap] = gaps.get(gap, 0) + 1
        else:
            others += 1
    notes = []
    if gaps:
        in_gaps = sum(gaps.values())
        spans = ", ".join(f"{start:.1f}-{end:.1f} s" for start, end in sorted(gaps))
        if len(gaps) == 1:
            (start, end), = gaps
            notes.append(f"{counted(in_gaps, 'analysed frame')} {'falls' if in_gaps == 1 else 'fall'} in a "
                         f"{end - start:.1f} s gap of the telemetry ({spans})")
        else:
            notes.append(f"{counted(in_gaps, 'analysed frame')} {'falls' if in_gaps == 1 else 'fall'} in "
                         f"{len(gaps)} gaps of the telemetry ({spans})")
    if others:
        notes.append(f"{counted(others, 'analysed frame')} {'has' if others == 1 else 'have'} no usable telemetry"
                     f"{_ground_hint(aligned.track, ground_known=ground_known)}")
    return notes


def _ground_hint(track: Track, *, ground_known: bool = False) -> str:
    """How to give the ground elevation, for a log of absolute altitudes whose ground is
    unknown (``ground_known``: given, or read from a DEM; nothing to suggest then)."""
    if ground_known or not heights_need_ground(track):
        return ""
    return (" (heights are taken above the track's first point; if the recording started in the air, "
            "give the ground elevation (--ground-elevation M), or have it read from the video's motion "
            "(--ground-elevation auto; in the app, Georeferencing… > Read from the video))")


def build_damage_map(
    store: ProjectStore,
    run_id: int | None = None,
    *,
    video_info: Mapping[str, Any],
    settings: ProjectSettings | None = None,
    track: Track | None = None,
    dem: str | Path | Terrain | None = None,
    camera_view: FlowView | None = None,
) -> DamageMap:
    """:func:`build_damage_map_from` over a project store's run (the latest by default).

    ``camera_view``: the camera ``geo.pitch`` estimated from the video, for telemetry
    without gimbal pitch: its pitch and heading offset place the detections, its spreads
    enter each site's error budget, and a field of view it fitted is noted as such.

    ``video_info`` carries ``width_px``, ``height_px``, ``duration_s``,
    ``creation_time_utc`` and optionally ``frame_pts`` (index -> seconds) or ``pts_s``
    (a list, as ``engine.video.VideoInfo.as_dict()`` gives) for frames the store does
    not time. ``settings`` default to the project's
    (:meth:`core.store.ProjectStore.project_settings`); ``track`` to its telemetry.

    Raises
    ------
    GeoreferenceError
        If the project has no run or no telemetry.
    """
    if run_id is None:
        run_id = store.latest_run_id()
        if run_id is None:
            raise GeoreferenceError(f"{store.path}: the project has no analysis run to map yet")
    if track is None:
        telemetry = store.telemetry_path
        if telemetry is None:
            raise GeoreferenceError(
                f"{store.path}: the project has no telemetry file; give the video's SRT, GPX or flight log: "
                f"damagemap export {store.path} --telemetry FILE, or in the app, File > Open Telemetry… (there "
                "the project keeps it)"
            )
        track = read_telemetry(Path(telemetry))
    if settings is None:
        settings = store.project_settings()
    video_times = {int(k): float(v) for k, v in dict(video_info.get("frame_pts") or {}).items()}
    if not video_times and video_info.get("pts_s"):
        video_times = {i: float(t) for i, t in enumerate(video_info["pts_s"])}
    frame_times = dict(store.analysed_frames(run_id))
    detections = store.detections(run_id)
    for detection in detections:  # an added detection on a frame the run did not analyse
        if detection.frame_index not in frame_times and detection.frame_index in video_times:
            frame_times[detection.frame_index] = video_times[detection.frame_index]
    built = build_damage_map_from(
        detections, frame_times, track, video=video_info, title=f"Damage map: {Path(store.video_path).name}", dem=dem,
        unusable_frames=frame_quality.unusable_frames(store.frame_qualities(run_id)),
        **{**settings_arguments(settings), **_camera_view_arguments(camera_view)},
    )
    built.reviews = review_signatures(store.edit_history(run_id))
    return built


__all__ = ["DamageMap", "VideoGeometry", "build_damage_map", "build_damage_map_from", "DEFAULT_MIN_SCORE", "TelemetryError",
           "pointing_note", "settings_arguments"]
