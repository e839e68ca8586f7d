"""Putting a :class:`~geo.telemetry.Track` on the video's clock and interpolating it.

- A per-frame DJI SRT already runs on the video clock.
- A GPX or dated flight log runs on UTC: ``video_time = utc - creation_time``.
- A log without a date (or a video without a creation time) starts where the log marks
  a recording as long as the video, else is taken to start with the video.

``offset_s`` is then added (a user correction for clock differences: positive moves the
telemetry later in the video). A track that does not overlap the video is refused, and
so is a track on the video's clock (a DJI SRT) that is another video's by what both carry
(``geo.sync_video``).

How the track was lined up, and how sure that is (one sigma, seconds), is
:attr:`AlignedTrack.clock` (:class:`ClockAlignment`): the clock part of the sites'
uncertainty (``geo.uncertainty``) counts it when no estimate of the offset
(``geo.clock_offset``, ``uncertainty_s``) says better.

GPS jumps (a sample far from its neighbours at an impossible speed) are flagged and left
out of the interpolation, never silently used; interpolation never bridges a gap longer
than :meth:`~geo.telemetry.Track.max_gap_s`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from core.errors import TelemetryError
from geo.antimeridian import central_longitude
from geo.hover_turns import Turns, headings_while_still, still_runs
from geo.local import BeyondUtm, LocalFrame
from geo.sync_video import VideoFacts, apart_text, match_video
from geo.telemetry.track import TimeBase, Track

#: Faster than any DJI drone flies (Mavic 3: 21 m/s); a sample needing more is a jump.
MAX_SPEED_MPS = 40.0
#: Slack for GPS noise when judging jumps, metres.
JUMP_SLACK_M = 15.0


def flag_jumps(
    t_s: np.ndarray, east_m: np.ndarray, north_m: np.ndarray, *, max_speed_mps: float = MAX_SPEED_MPS
) -> np.ndarray:
    """``bool[N]``: samples farther from the median of their 4 neighbours than the
    drone could have flown (``max_speed_mps`` times the time to the farthest of them,
    plus :data:`JUMP_SLACK_M`). Robust to isolated and paired spikes."""
    from geo.telemetry.jumps import flag_jumps as flag_jumps_vectorised

    return flag_jumps_vectorised(t_s, east_m, north_m, max_speed_mps=max_speed_mps)


def _utc_text(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def travel(at_s: np.ndarray, t_s: np.ndarray, east_m: np.ndarray, north_m: np.ndarray,
           window_s: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """East and north travel over ``window_s`` either side of the times ``at_s`` along the
    positions ``east_m``, ``north_m`` at ``t_s`` (sorted, two or more), and its speed."""
    de = np.interp(at_s + window_s, t_s, east_m) - np.interp(at_s - window_s, t_s, east_m)
    dn = np.interp(at_s + window_s, t_s, north_m) - np.interp(at_s - window_s, t_s, north_m)
    dt_s = np.minimum(at_s + window_s, t_s[-1]) - np.maximum(at_s - window_s, t_s[0])
    return de, dn, np.hypot(de, dn) / np.maximum(dt_s, 1e-9)


#: Under this speed over a second the drone hovers: a track without headings says
#: nothing of where it looked.
HOVER_SPEED_MPS = 0.5


def still(at_s: np.ndarray, t_s: np.ndarray, east_m: np.ndarray, north_m: np.ndarray,
          window_s: float = 1.0) -> np.ndarray:
    """Where the drone is still at the times ``at_s``, along the positions ``east_m``,
    ``north_m`` at ``t_s`` (sorted, two or more): under :data:`HOVER_SPEED_MPS` over the
    ``window_s`` before or the ``window_s`` after.

    One side is enough: a window over both sides of a time in the first or last second of
    a hover also holds the travel before or after it, and called the drone moving there,
    so frames filmed as the camera already looked elsewhere were placed by the direction
    of travel, and a 4 s hover was said to last 2."""
    def speed(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        start, end = np.maximum(start, t_s[0]), np.minimum(end, t_s[-1])
        moved = np.hypot(np.interp(end, t_s, east_m) - np.interp(start, t_s, east_m),
                         np.interp(end, t_s, north_m) - np.interp(start, t_s, north_m))
        return np.where(end - start > 1e-9, moved / np.maximum(end - start, 1e-9), np.inf)

    at_s = np.asarray(at_s, dtype=np.float64)
    return np.minimum(speed(at_s - window_s, at_s), speed(at_s, at_s + window_s)) < HOVER_SPEED_MPS


@dataclass(frozen=True)
class FrameState:
    """Interpolated telemetry at given video times (arrays of one length).

    ``heading_grid_deg`` is the camera heading as a UTM grid azimuth; ``height_m`` is
    above take-off (the ground plane); ``valid`` is False where the track has no data
    (before/after it, inside a gap), and where the heading is unknown: ``hovering`` marks
    the times a track that records no heading (it is read from the direction of travel)
    finds the drone still, when the pilot may have turned it to look anywhere, and the
    video's turns (``geo.hover_turns``) do not say where it looked (in a hover's first
    and last second they keep the travel's bearing, for the camera read from the image
    flow, and are not placed all the same); ``turned`` the times
    they do say it for, and ``turn_sigma_deg`` how far off that heading may be (0
    elsewhere). ``turns_refused``: hovers whose turns disagreed with where the drone flew
    on, left unplaced.
    """

    t_s: np.ndarray
    east_m: np.ndarray
    north_m: np.ndarray
    height_m: np.ndarray
    heading_grid_deg: np.ndarray
    pitch_deg: np.ndarray
    valid: np.ndarray
    heading_source: str
    pitch_source: str
    hovering: np.ndarray
    turned: np.ndarray
    turn_sigma_deg: np.ndarray
    turns_refused: int


#: How sure each way of lining a track up with the video is: one sigma, seconds, of the
#: time the telemetry is read early or late (the sites' clock part is it times how fast the
#: point seen moves on the ground: ``geo.uncertainty``).
#: A track on the video's own clock (a per-frame DJI SRT, a GoPro's GPS rows at their
#: payloads' times): written against the frames, nothing to line up.
VIDEO_CLOCK_SIGMA_S = 0.0
#: A video's creation time to the whole second (an MP4's ``creation_time``: the movie
#: header keeps whole seconds): the true start lies anywhere in the second (0.29 s one
#: sigma, up to 1 s off where the camera cuts the fraction rather than rounds it), and the
#: stamp marks when the camera opened the file, a few tenths from its first frame, on a
#: camera clock set from the GPS or the phone.
CREATION_TIME_SIGMA_S = 0.5
#: A creation time with a fraction of a second: the stamp's latency and the camera's clock.
SUBSECOND_CREATION_TIME_SIGMA_S = 0.3
#: A recording the log marks (Airdata's ``isVideo``) as long as the video: its start is
#: known to one step of the log (the camera started between two rows: 0.1 s at 10 Hz), at
#: best a tenth of a second (the flag against the camera's first frame), and no better
#: than the lengths agree (a video a second shorter than its recording may start anywhere
#: in that second).
RECORDING_MIN_SIGMA_S = 0.1
#: The log's start taken for the video's (nothing dates the video against it): a few
#: seconds at least (the camera started by hand, the log by the app or the motors), and
#: where the log runs longer than the video, the video may start anywhere in the excess
#: (one sigma: the excess over sqrt(3), the spread of a start uniform over it from 0).
LOG_START_SIGMA_S = 3.0
#: An offset typed (``--offset``, the Georeferencing box) comes with no uncertainty, and
#: how it was found is not known. It shifts the clock the alignment gave without making
#: it sharper, so the alignment's sigma stays (a time-zone shift typed on a creation time
#: leaves its half second; the other recording of the same length, its step); on a
#: guessed start it replaces the guess with the user's own lining up, a turn or the
#: take-off matched against the log by eye: about a second. An offset read from the
#: video's motion brings its own (``geo.clock_offset``), which replaces all of these.
TYPED_OFFSET_SIGMA_S = 1.0


@dataclass(frozen=True)
class ClockAlignment:
    """How a track was put on the video's clock, and how sure that is.

    ``method``: ``"video clock"`` (the track's times are the video's), ``"creation time"``
    (UTC less the video's creation time), ``"recording"`` (the log's recording as long as
    the video) or ``"log start"`` (the log taken to start with the video). ``sigma_s``: one
    sigma, seconds (the module's ``*_SIGMA_S``, each with why). ``basis``: the same in a few
    words, for the map's notes. ``offset_given``: an offset was added to it (typed, or read
    from the video: that one's own uncertainty replaces ``sigma_s`` in the budget).
    """

    method: str
    sigma_s: float
    basis: str
    offset_given: bool = False

    @property
    def guessed(self) -> bool:
        """Lined up by a guess (a stamp, a recording's length, the log's start), not
        measured: the clock part the sites count then rests on this judgement."""
        return self.sigma_s > 0.0

    @property
    def bare_guess(self) -> bool:
        """The log taken to start with the video, and no offset given: the alignment's
        note says what that guess means for the sites (:func:`_assumed_clock`)."""
        return self.method == "log start" and not self.offset_given

    def with_offset(self) -> ClockAlignment:
        """The alignment with a typed offset added (:data:`TYPED_OFFSET_SIGMA_S`)."""
        if self.method == "log start":
            return ClockAlignment(self.method, TYPED_OFFSET_SIGMA_S,
                                  "an offset given, of unknown accuracy, on a log taken to start with the video: "
                                  "counted as lined up by hand", True)
        if self.method == "video clock":  # nothing to shift on the video's own clock but by hand
            return ClockAlignment(self.method, TYPED_OFFSET_SIGMA_S,
                                  "an offset given, of unknown accuracy, on telemetry written on the video's own "
                                  "clock: counted as lined up by hand", True)
        return ClockAlignment(self.method, self.sigma_s, f"{self.basis}, shifted by an offset given", True)


#: The alignment of a track on the video's own clock.
VIDEO_CLOCK = ClockAlignment("video clock", VIDEO_CLOCK_SIGMA_S, "the telemetry's times are the video's")


@dataclass(frozen=True, eq=False)
class AlignedTrack:
    """A track on the video clock, in local metres, with GPS jumps flagged.

    Arrays have one entry per sample of ``track`` (sorted by time).
    """

    track: Track
    local: LocalFrame
    t_s: np.ndarray
    east_m: np.ndarray
    north_m: np.ndarray
    height_m: np.ndarray
    heading_true_deg: np.ndarray
    pitch_deg: np.ndarray
    outlier: np.ndarray
    offset_s: float
    notes: tuple[str, ...] = field(default=())
    #: the camera's turns read from the video where the drone hovered (``geo.hover_turns``)
    hover_turns: Turns = ()
    #: how the track was put on the video's clock, and how sure that is
    clock: ClockAlignment = VIDEO_CLOCK

    @property
    def good(self) -> np.ndarray:
        return ~self.outlier

    def lonlat(self) -> np.ndarray:
        return self.track.lonlat()

    def gap_s(self, t_s) -> np.ndarray:
        """How far apart the good samples a pose at video times ``t_s`` is read between
        (seconds): the length of the interval that brackets each time, 0 at a sample, or
        the distance to the nearest sample outside the track. A measure of interpolation quality: a pose
        read across a 3 s hole in the log is less sure than one between two 0.1 s samples.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        ts = self.t_s[self.good]
        if len(ts) == 0:
            return np.full(len(t), np.inf)
        if len(ts) == 1:
            return np.abs(t - ts[0])
        k = np.clip(np.searchsorted(ts, t), 1, len(ts) - 1)
        gaps = ts[k] - ts[k - 1]
        before, after = t < ts[0], t > ts[-1]
        gaps[before] = ts[0] - t[before]
        gaps[after] = t[after] - ts[-1]
        nearest = np.minimum(np.abs(t - ts[k - 1]), np.abs(t - ts[k]))
        gaps[nearest < 1e-6] = 0.0  # read at a sample: nothing interpolated
        return gaps

    def interpolate(self, t_s, *, default_pitch_deg: float = -45.0, extrapolate_s: float | None = None) -> FrameState:
        """Telemetry at video times ``t_s`` (float array).

        Heading: gimbal yaw, else aircraft yaw (interpolated as angles), else the track's
        bearing. Pitch: gimbal pitch, else ``default_pitch_deg``.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        good = self.good
        ts = self.t_s[good]
        max_gap = self.track.max_gap_s()
        if extrapolate_s is None:
            extrapolate_s = max(0.5, self.track.median_step_s())
        valid = np.zeros(len(t), dtype=bool)
        if len(ts):
            inside = (t >= ts[0] - extrapolate_s) & (t <= ts[-1] + extrapolate_s)
            k = np.clip(np.searchsorted(ts, t), 1, max(1, len(ts) - 1))
            if len(ts) > 1:
                step = ts[k] - ts[k - 1]
                within = (t < ts[0]) | (t > ts[-1]) | (step <= max_gap)
            else:
                within = np.ones(len(t), dtype=bool)
            valid = inside & within
        east = self._interp(t, ts, self.east_m[good])
        north = self._interp(t, ts, self.north_m[good])
        height = self._interp(t, ts, self.height_m[good])
        valid &= np.isfinite(height)

        heading_true = self.heading_true_deg[good]
        hovering = np.zeros(len(t), dtype=bool)
        turned = np.zeros(len(t), dtype=bool)
        turn_sigma = np.zeros(len(t))
        refused = 0
        if np.isfinite(heading_true).any():
            heading = self.local.grid_azimuth_deg(self._interp_angle(t, ts, heading_true))
            heading_source = "telemetry"
        else:
            bearing, still = self._track_bearing(t)
            # The bearing stays where the drone is still on one side only (a hover's
            # first or last second): the camera read from the image flow
            # (``geo.pitch.estimate_view``) was measured with those frames, but they
            # are left off the map (``hovering``) unless the turns place them.
            heading = np.where(self.still_at(t, clear_of_travel=True), np.nan, bearing)
            heading_source = "track bearing"
            if self.hover_turns and self._hovers:
                moving_t, moving_bearing = self._moving_bearings
                from_turns, turn_sigma, refused = headings_while_still(t, self._hovers, moving_t, moving_bearing,
                                                                       self.hover_turns)
                turned = valid & np.isfinite(from_turns)  # the hovers, and the slowing down and speeding up
                heading = np.where(turned, from_turns, heading)
                turn_sigma = np.where(turned, turn_sigma, 0.0)
            hovering = valid & still & ~turned
        pitch_known = self.pitch_deg[good]
        if np.isfinite(pitch_known).any():
            pitch = self._interp(t, ts, pitch_known)
            pitch = np.where(np.isfinite(pitch), pitch, default_pitch_deg)
            pitch_source = "gimbal"
        else:
            pitch = np.full(len(t), default_pitch_deg)
            pitch_source = f"default {default_pitch_deg:g} deg"
        valid &= np.isfinite(heading)
        return FrameState(t, east, north, height, heading, pitch, valid, heading_source, pitch_source, hovering,
                          turned, turn_sigma, refused)

    @staticmethod
    def _interp(t: np.ndarray, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
        ok = np.isfinite(values)
        if not ok.any():
            return np.full(len(t), np.nan)
        return np.interp(t, ts[ok], values[ok])

    @staticmethod
    def _interp_angle(t: np.ndarray, ts: np.ndarray, degrees: np.ndarray) -> np.ndarray:
        ok = np.isfinite(degrees)
        unwrapped = np.unwrap(np.radians(degrees[ok]))
        return np.degrees(np.interp(t, ts[ok], unwrapped)) % 360.0

    #: seconds either side of a time over which the drone's travel is judged
    TRAVEL_WINDOW_S = 1.0

    def _track_bearing(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid bearing of travel at ``t``, from the positions :attr:`TRAVEL_WINDOW_S`
        either side, and where the drone is still (:func:`still`: under
        :data:`HOVER_SPEED_MPS` over that window before or after); there the bearing is
        that of the travel before and after, which says nothing of where a hovering drone,
        free to turn, looked. On a real Mini 2 flight whose log also holds the drone's
        heading, that bearing was off it by a median of 65 degrees while the drone was
        still, and 12 while it flew."""
        good = self.good
        ts, e, n = self.t_s[good], self.east_m[good], self.north_m[good]
        if len(ts) < 2:
            return np.full(len(t), np.nan), np.zeros(len(t), dtype=bool)
        # Bearing at each sample, then interpolated as an angle.
        moving_t, moving_bearing = self._moving_bearings
        held = still(t, ts, e, n, self.TRAVEL_WINDOW_S)
        if not len(moving_t):
            return np.full(len(t), np.nan), held
        return self._interp_angle(t, moving_t, moving_bearing), held

    def still_at(self, t_s, *, clear_of_travel: bool = False) -> np.ndarray:
        """Where the drone is still at video times ``t_s`` (:func:`still`), whether or
        not the track gives a heading. ``clear_of_travel``: only where it is still over
        the window on both sides, a second inside each hover, where reading the video's
        turns meets no travel (``services.sync``)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        if not clear_of_travel:
            return self._track_bearing(t)[1]
        good = self.good
        if good.sum() < 2:
            return np.zeros(len(t), dtype=bool)
        ts, e, n = self.t_s[good], self.east_m[good], self.north_m[good]
        return travel(t, ts, e, n, self.TRAVEL_WINDOW_S)[2] < HOVER_SPEED_MPS

    @cached_property
    def _sample_travel(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At each good sample: its time, the grid bearing of the travel around it, and
        whether the drone is still there (computed once: every interpolation reads it)."""
        good = self.good
        ts, e, n = self.t_s[good], self.east_m[good], self.north_m[good]
        if len(ts) < 2:
            return ts, np.empty(len(ts)), np.zeros(len(ts), dtype=bool)
        de, dn, speed = travel(ts, ts, e, n, self.TRAVEL_WINDOW_S)
        return ts, np.degrees(np.arctan2(de, dn)) % 360.0, speed < HOVER_SPEED_MPS

    @property
    def _moving_bearings(self) -> tuple[np.ndarray, np.ndarray]:
        """The good samples' times where the drone travelled, and its grid bearing there."""
        ts, bearing, still = self._sample_travel
        return ts[~still], bearing[~still]

    @cached_property
    def _hovers(self) -> list[tuple[float, float]]:
        """``(first, last)`` times of each run of the good samples where the drone is still."""
        ts, _, still = self._sample_travel
        return still_runs(ts, still)


def heights_need_ground(track: Track) -> bool:
    """Whether ``track``'s heights stand on nothing: absolute altitudes only, so without a
    ground elevation they are taken above its first fix (:func:`align_track`), wrong by
    however high the drone was when the log or the clip started."""
    return not track.has("alt_rel_m") and track.has("alt_abs_m")


def heights_unknown(track: Track) -> bool:
    """Whether ``track`` has no altitude at all (some Mavic 2 SRTs): the drone's height
    above the ground must be given, or read from the video, for it to be mapped."""
    return not track.has("alt_rel_m") and not track.has("alt_abs_m")


def recording_start(track: Track | None, creation_time_utc: float | None,
                    offset_s: float = 0.0, *, duration_s: float | None = None) -> tuple[float | None, bool]:
    """When the video's time 0 was, in epoch seconds, and whether that is UTC: the video's
    creation time; else the track's UTC clock as :func:`video_clock` puts it on the video
    of ``duration_s`` seconds (a GPX or a dated log, lined up with the recording it marks
    that is as long as the video, else taken to start with the video, then moved by
    ``offset_s``); else the wall clock a video-timed log writes (a DJI SRT's, local time
    with no zone: ``False``; a GoPro's GPS clock: UTC). ``(None, False)`` when none says."""
    if creation_time_utc is not None:
        return float(creation_time_utc), True
    if track is None:
        return None, False
    if track.time_base is TimeBase.UTC:
        return _log_start(track, duration_s)[0] - offset_s, True
    if track.wall_clock_start_utc is not None:
        return float(track.wall_clock_start_utc) - offset_s, track.wall_clock_is_utc
    return None, False


def video_clock(track: Track, creation_time_utc: float | None = None,
                duration_s: float | None = None) -> tuple[np.ndarray, str | None]:
    """The track's sample times on the video clock before any offset, and a note on how
    they were put there (``None`` when the file says): SRT times as they are, UTC times
    less the video's creation time; a log without a date, or a video without a creation
    time, from the start of the recording the log marks that is as long as the video
    (``duration_s``), else from the start of the log (how sure each is:
    :attr:`AlignedTrack.clock`)."""
    t_video, note, clock = _video_clock(track, creation_time_utc, duration_s)
    if note is not None and clock.bare_guess:
        note += _assumed_clock(clock.sigma_s)
    return t_video, note


def _video_clock(track: Track, creation_time_utc: float | None,
                 duration_s: float | None) -> tuple[np.ndarray, str | None, ClockAlignment]:
    """:func:`video_clock`'s times and note (without the guess's caution), and the
    :class:`ClockAlignment` behind them."""
    t_raw = track.times_s()
    if track.time_base is TimeBase.VIDEO:
        return t_raw, None, VIDEO_CLOCK
    if track.time_base is TimeBase.UTC and creation_time_utc is not None:
        if float(creation_time_utc).is_integer():
            clock = ClockAlignment("creation time", CREATION_TIME_SIGMA_S,
                                   "the video's creation time, written to the whole second")
        else:
            clock = ClockAlignment("creation time", SUBSECOND_CREATION_TIME_SIGMA_S,
                                   "the video's creation time: when the camera stamped it, on its own clock")
        return t_raw - creation_time_utc, None, clock
    start, how, clock = _log_start(track, duration_s)
    why = "the video has no creation time" if track.time_base is TimeBase.UTC else "the log has no date"
    return t_raw - start, f"{why}: {how}", clock


#: A recording the log marks is taken for the video's when their lengths differ by at most
#: this many seconds (the log's step, the camera starting and stopping) ...
RECORDING_MATCH_S = 1.5
#: ... or by this share of the video's length.
RECORDING_MATCH_SHARE = 0.03


def matching_recordings(track: Track, duration_s: float) -> list[tuple[float, float]]:
    """The recordings ``track`` marks (:attr:`Track.recordings`) as long as a video of
    ``duration_s`` seconds, best match first."""
    tolerance = max(RECORDING_MATCH_S, RECORDING_MATCH_SHARE * duration_s)
    fits = [r for r in track.recordings if abs((r[1] - r[0]) - duration_s) <= tolerance]
    return sorted(fits, key=lambda r: (abs((r[1] - r[0]) - duration_s), r[0]))


def _log_start(track: Track, duration_s: float | None) -> tuple[float, str, ClockAlignment]:
    """Where on ``track``'s clock a video of ``duration_s`` seconds starts, when nothing
    dates the video against the log, how that was decided (for a note; a guess from the
    log's start without :func:`_assumed_clock`'s caution) and how sure it is."""
    t0 = track.start_s

    def when(t: float) -> str:
        return _utc_text(t) if track.time_base is TimeBase.UTC else f"{t - t0:.1f} s into the log"

    fits = matching_recordings(track, duration_s) if duration_s is not None else []
    if fits:
        start, end = fits[0]
        note = (f"lined up with the recording the log marks from {when(start)} ({end - start:.1f} s long, "
                f"as the video is: {duration_s:.1f} s)")
        if len(fits) > 1:
            others = ", ".join(f"--offset {start - other:+.1f}" for other, _ in fits[1:4])
            note += (f"; {len(fits) - 1} more recording{'s are' if len(fits) > 2 else ' is'} that long: "
                     f"if the map is off, try {others}")
        step = track.median_step_s()
        mismatch = abs((end - start) - float(duration_s or 0.0))
        sigma = max(RECORDING_MIN_SIGMA_S, step, mismatch)
        return start, note, ClockAlignment(
            "recording", sigma, f"the recording the log marks, to its {round(step, 2):g} s step"
            + (f" and the {mismatch:.1f} s its length differs from the video's" if mismatch > step else ""))
    note = "telemetry assumed to start with the video"
    if track.recordings and duration_s is not None:
        lengths = ", ".join(f"{end - start:.1f} s" for start, end in track.recordings[:6])
        note += (f" (none of the {len(track.recordings)} recordings the log marks is as long as the "
                 f"{duration_s:.1f} s video: {lengths}{', ...' if len(track.recordings) > 6 else ''}; "
                 "a trimmed video? its offset is the time from its recording's start)")
    excess = max(0.0, track.duration_s - float(duration_s or 0.0)) if duration_s is not None else 0.0
    sigma = max(LOG_START_SIGMA_S, excess / math.sqrt(3.0))
    basis = "a guess that the log starts with the video"
    if sigma > LOG_START_SIGMA_S:
        basis += f", which it outlasts by {excess:.0f} s"
    return t0, note, ClockAlignment("log start", sigma, basis)


def _assumed_clock(sigma_s: float) -> str:
    """What an assumed clock means for the sites' positions, and what to do about it."""
    return (f"; the sites' position uncertainty counts this guess as +-{sigma_s:.1f} s (each second off moves a "
            "site by the distance flown in it): read the offset from the video's motion (damagemap telemetry LOG "
            "--video VIDEO, export --offset auto) or give it (--offset)")


def align_track(
    track: Track,
    *,
    duration_s: float,
    creation_time_utc: float | None = None,
    offset_s: float = 0.0,
    local: LocalFrame | None = None,
    max_speed_mps: float = MAX_SPEED_MPS,
    ground_elevation_m: float | None = None,
    flight_height_m: float | None = None,
    hover_turns: Turns = (),
    frame_count: int | None = None,
    video_path: Path | None = None,
) -> AlignedTrack:
    """Put ``track`` on the clock of a video of ``duration_s`` seconds. ``hover_turns``:
    the camera's turns read from the video, for where the drone hovered under a track
    without a heading (``geo.hover_turns``). ``frame_count`` and ``video_path``: the
    video's frames and file, where known, for :func:`geo.sync_video.match_video`.

    Raises
    ------
    TelemetryError
        If the aligned track does not overlap the video at all (message names the file,
        both time spans and the offset to try); if a track on the video's clock (a DJI
        SRT) is another video's by its dates and its length together
        (:attr:`geo.sync_video.VideoMatch.refused`), unless an offset is given.
    """
    if not math.isfinite(offset_s):
        raise TelemetryError(f"time offset must be a finite number of seconds; got {offset_s!r}")
    if track.time_base is TimeBase.VIDEO and offset_s == 0.0:  # an offset given lines it up by hand
        refusal = match_video(track, VideoFacts(duration_s, creation_time_utc, frame_count, video_path)).refusal
        if refusal is not None:
            raise TelemetryError(refusal)
    t_raw = track.times_s()
    t_base, note, clock = _video_clock(track, creation_time_utc, duration_s)
    if offset_s != 0.0:  # an offset given (typed, or read from the video): not a bare guess
        clock = clock.with_offset()
        if note:
            note += f", then shifted by the offset given ({offset_s:+.1f} s)"
    if note and clock.bare_guess:
        note += _assumed_clock(clock.sigma_s)
    notes: list[str] = [note] if note else []
    t_video = t_base + offset_s

    start, end = float(t_video[0]), float(t_video[-1])
    slack = max(0.5, track.median_step_s())
    if end < -slack or start > duration_s + slack:
        raise TelemetryError(_no_overlap_message(track, start, end, duration_s, creation_time_utc, offset_s))
    if track.time_base is TimeBase.UTC and creation_time_utc is not None:
        outside = _outside_recordings_note(track, creation_time_utc, offset_s, duration_s)
        if outside:
            notes.append(outside)
    covered = min(end, duration_s) - max(start, 0.0)
    if duration_s > 0 and covered < duration_s - slack:
        notes.append(f"telemetry covers {max(covered, 0):.1f} s of the {duration_s:.1f} s video")

    lonlat = track.lonlat()
    if local is None:  # centred on the part of the track the video covers
        during = (t_video >= -slack) & (t_video <= duration_s + slack)
        centre = lonlat[during] if during.any() else lonlat
        try:
            local = LocalFrame.around(central_longitude(centre[:, 0]), float(np.median(centre[:, 1])))
        except BeyondUtm as exc:
            raise TelemetryError(f"{track.path or track.name}: {exc}") from None
    east, north = local.to_local(lonlat[:, 0], lonlat[:, 1])
    outlier = flag_jumps(t_raw, east, north, max_speed_mps=max_speed_mps)
    if outlier.any():
        notes.append(f"{int(outlier.sum())} GPS jumps (faster than {max_speed_mps:g} m/s) flagged and not used")

    height, height_note = _height_above_takeoff(track, ground_elevation_m, flight_height_m)
    if height_note:
        notes.append(height_note)
    heading = np.array(
        [s.gimbal_yaw_deg if s.gimbal_yaw_deg is not None else (s.yaw_deg if s.yaw_deg is not None else np.nan)
         for s in track.samples], dtype=np.float64)
    pitch = np.array([np.nan if s.gimbal_pitch_deg is None else s.gimbal_pitch_deg for s in track.samples])
    return AlignedTrack(
        track=track, local=local, t_s=t_video, east_m=east, north_m=north, height_m=height,
        heading_true_deg=heading, pitch_deg=pitch, outlier=outlier, offset_s=offset_s, notes=tuple(notes),
        hover_turns=tuple(hover_turns), clock=clock,
    )


def still_at_video_times(track: Track, t_s, *, duration_s: float, creation_time_utc: float | None = None,
                         offset_s: float = 0.0, clear_of_travel: bool = False) -> np.ndarray:
    """Where ``track`` shows the drone still at video times ``t_s``
    (:meth:`AlignedTrack.still_at`, ``clear_of_travel`` as there), read from its
    positions alone: no height above the ground is needed, so it holds for a track the
    map cannot place yet.

    Raises
    ------
    TelemetryError
        If the track does not overlap the video (as :func:`align_track`).
    """
    aligned = align_track(track, duration_s=duration_s, creation_time_utc=creation_time_utc, offset_s=offset_s,
                          flight_height_m=0.0 if heights_unknown(track) else None)
    return aligned.still_at(t_s, clear_of_travel=clear_of_travel)


def _height_above_takeoff(track: Track, ground_elevation_m: float | None = None,
                          flight_height_m: float | None = None) -> tuple[np.ndarray, str | None]:
    """Height above the ground plane: absolute altitude minus ``ground_elevation_m`` when
    given; else ``alt_rel_m`` where the track has it; else absolute altitude minus the
    first sample's (GPX elevation, assuming the recording starts at take-off); a track
    with no altitude at all (some Mavic 2 SRTs) flies at ``flight_height_m`` when given.

    Absolute altitudes that do not hold against the ground elevation given
    (:mod:`geo.telemetry.altitude_check`) give way: to ``alt_rel_m`` where the track has
    it, to the altitudes as heights above the take-off where the file's key is one whose
    zero differs between drones; the note then says why."""
    from geo.telemetry.altitude_check import below_ground, takeoff_contradiction

    absolute = track.altitudes("abs")
    if ground_elevation_m is not None and np.isfinite(absolute).any():
        given = f"ground plane at {ground_elevation_m:g} m elevation (given)"
        if track.has("alt_rel_m"):
            contradiction = takeoff_contradiction(track, ground_elevation_m)
            if contradiction is not None:
                return track.altitudes("rel"), contradiction
            return absolute - ground_elevation_m, given
        below = below_ground(track, ground_elevation_m)
        if below is not None and below[1]:
            return absolute, below[0]
        return absolute - ground_elevation_m, given if below is None else f"{given}; {below[0]}"
    if track.has("alt_rel_m"):
        return track.altitudes("rel"), None
    if track.has("alt_abs_m"):
        first = absolute[np.isfinite(absolute)][0]
        return absolute - first, "height above take-off = altitude minus the first sample's"
    if flight_height_m is not None:
        return (np.full(len(track), float(flight_height_m)),
                f"flown {flight_height_m:g} m above the ground throughout (given: the telemetry has no altitude)")
    return np.full(len(track), np.nan), "no altitude in the telemetry"


def _no_overlap_message(track: Track, start: float, end: float, duration_s: float,
                        creation_time_utc: float | None, offset_s: float) -> str:
    if track.time_base is TimeBase.UTC and creation_time_utc is not None:
        span = f"covers {_utc_text(track.start_s)} to {_utc_text(track.end_s)}"
        video = f"the video (created {_utc_text(creation_time_utc)}, {duration_s:.1f} s long)"
    else:
        span = f"covers video time {start:.1f} s to {end:.1f} s"
        video = f"the {duration_s:.1f} s video"
    if end < 0:
        gap = f"it ends {-end:.1f} s before the video starts"
        hint = -start
    else:
        gap = f"it starts {start - duration_s:.1f} s after the video ends"
        hint = -start
    zone = ""
    quarters = round(hint / 900.0)
    if abs(hint) >= 1800 and abs(hint - quarters * 900.0) <= 120.0 and abs(hint) <= 14 * 3600:
        zone = f" (about {quarters / 4:+g} h: is one clock in local time?)"
    if abs(hint) > 2 * 86400:  # no clock is that wrong: another flight's track, most likely
        apart = apart_text(abs(hint))
        if offset_s and abs(offset_s + hint) <= 2 * 86400:  # the offset set is what sets them apart
            return (f"{track.path or track.name}: telemetry does not overlap the video: the offset of "
                    f"{offset_s:+.1f} s set for it puts the track {apart} from the video: a typo? (--offset "
                    f"{offset_s + hint:.1f} starts both together, --offset 0 sets none; in the app, Analysis > "
                    "Georeferencing…)")
        return (f"{track.path or track.name}: telemetry does not overlap the video: the track {span}, {video}, "
                f"{apart} apart; is this the flight's own track? (an offset that large is not a clock error; "
                "give the telemetry the drone wrote for this video)")
    fits = matching_recordings(track, duration_s)
    if track.time_base is TimeBase.UTC and creation_time_utc is not None and fits:
        start_s, end_s = fits[0]
        return (
            f"{track.path or track.name}: telemetry does not overlap the video: the track {span}, {video}; "
            f"{gap}{zone} (offset {offset_s:+.1f} s). The log marks a recording as long as the video from "
            f"{_utc_text(start_s)} ({end_s - start_s:.1f} s): to line the video up with it, "
            f"--offset {creation_time_utc - start_s:.1f}"
        )
    return (
        f"{track.path or track.name}: telemetry does not overlap the video: the track {span}, {video}; "
        f"{gap}{zone} (offset {offset_s:+.1f} s). Check the clocks or set an offset, e.g. --offset {offset_s + hint:.1f}"
    )


def _outside_recordings_note(track: Track, creation_time_utc: float, offset_s: float, duration_s: float) -> str | None:
    """A note when the video's creation time (and ``offset_s``) puts it where the log marks
    no recording, and the log marks one as long as the video: a camera clock in local time,
    or set wrong."""
    if not track.recordings or duration_s <= 0:
        return None
    start = creation_time_utc - offset_s  # the video's start on the track's clock
    end = start + duration_s
    inside = max((min(end, b) - max(start, a) for a, b in track.recordings), default=0.0)
    fits = matching_recordings(track, duration_s)
    if inside >= 0.5 * duration_s or not fits:
        return None
    begin, finish = fits[0]
    return (f"the video's creation time puts it where the log marks no recording; the log's recording from "
            f"{_utc_text(begin)} is as long as the video ({finish - begin:.1f} s): if it is this video's, "
            f"--offset {creation_time_utc - begin:.1f} lines them up")
