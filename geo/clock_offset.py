"""The clock offset between a video and its telemetry, found from the video's own motion.

The image slides faster when the drone flies faster or lower, and sideways when the
camera turns. :func:`estimate_offset` cross-correlates two such series from the video
(``engine.motion``: apparent speed and horizontal image motion) with the same two from
the track (ground speed over height above take-off, and heading turn rate) over every
candidate offset, and keeps the one where they agree best. The offset is the value of
``--offset`` (seconds added to the telemetry's times after alignment); an offset close to
a whole number of hours (or quarter hours) is reported as a time-zone or daylight-saving
shift plus the rest.

Works on plain arrays: the video side is measured in ``engine`` and joined here by
``services.sync``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from geo.antimeridian import central_longitude
from geo.local import LocalFrame
from geo.sync import video_clock
from geo.telemetry.jumps import flag_jumps
from geo.telemetry.track import Track

#: Resampling step of both series, seconds.
STEP_S = 0.1
#: Both series are smoothed over this window (seconds) before matching.
SMOOTH_S = 1.0
#: Heights below this (m) are taken as this when turning speed into angular speed.
MIN_HEIGHT_M = 5.0
#: Below this ground speed (m/s) a track without yaw has no usable bearing.
MIN_BEARING_SPEED_MPS = 1.0
#: How much of the video may hang over either end of the track, as a fraction.
OVERHANG = 0.25
#: Offsets within this many seconds of a whole quarter hour count as a clock-zone shift.
ZONE_SLACK_S = 120.0
#: An offset known to within this (seconds, one sigma) keeps its full confidence; a wider
#: one has it scaled down (half at twice this): at 6 m/s, 0.3 s is 2 m on the ground.
SURE_WITHIN_S = 0.3
#: A runner-up whose correlation falls short of the best's by less than this many standard
#: errors (:func:`peak_separation`) matches about as well: the estimate is ambiguous.
#: Confidence is full at twice this.
CLEAR_BY_SIGMA = 1.5
#: A clip ``T`` seconds long shows an error that stays alike over ``m`` seconds as one
#: that does over ``1 / (1/m + SHORT_SERIES_BIAS / T)``: its mean and its fit to the track
#: take up the slowest part of it. Measured (``bench/clock_offset_calibration.py``): with
#: it, 6 s and 30 s clips read the same memory from the same kind of error.
SHORT_SERIES_BIAS = 4.0
#: A best match below this correlation is a poor one rather than one of two good ones.
GOOD_MATCH_CORRELATION = 0.7


@dataclass(frozen=True)
class OffsetEstimate:
    """The best offset and how sure it is.

    ``offset_s``: seconds to add to the telemetry's times (``--offset``).
    ``correlation``: agreement of the motion series at that offset (Pearson, -1..1,
    averaged over the channels used as Fisher z). ``residual``: the share of the video's motion the
    track leaves unexplained there, ``sqrt(1 - r^2)`` (0 perfect, 1 none explained).
    ``uncertainty_s``: one sigma, from the correlation peak's width over the clip's
    independent samples of its error (:func:`error_memory_s`), or how far the best offset
    moves between parts of the clip, whichever is wider. ``runner_up_s`` and
    ``runner_up_correlation``: the best offset outside that peak. ``separation_sigma``:
    how far the runner-up's correlation falls short of the best's, in standard errors of
    that difference over the clip's independent seconds (``None`` without a runner-up).
    ``confidence``: 0..1, from the correlation and that separation (full at
    ``2 * CLEAR_BY_SIGMA``). ``zone_shift_h``: the whole (or quarter) hours of a
    time-zone/DST shift found in the offset, 0 when none. ``backwards_correlation``: the
    best agreement with the track played in reverse (its speed reversed in time, its turns
    also mirrored); ``runs_backwards``: that beats the best offset's by
    ``2 * CLEAR_BY_SIGMA`` standard errors and is a good match, so the file pairs its
    points with times in reverse (listed in flight order with times counting down, or
    reversed by an editor that kept the times) and no offset lines the two up.
    """

    offset_s: float
    correlation: float
    residual: float
    uncertainty_s: float
    runner_up_s: float | None
    runner_up_correlation: float | None
    confidence: float
    zone_shift_h: float
    channels: tuple[str, ...]
    searched_s: tuple[float, float]
    notes: tuple[str, ...] = field(default=())
    separation_sigma: float | None = None
    backwards_correlation: float | None = None
    runs_backwards: bool = False

    @property
    def ambiguous(self) -> bool:
        """The runner-up lines the motions up about as well: which of the two is right,
        the motion cannot tell (a short clip, a flight whose manoeuvres repeat). A poor
        best match is that, not ambiguous; nor is a track that runs backwards."""
        return (not self.runs_backwards and self.separation_sigma is not None and self.separation_sigma < CLEAR_BY_SIGMA
                and self.correlation >= GOOD_MATCH_CORRELATION)

    @property
    def reliable(self) -> bool:
        """Good enough to apply without asking: confident, not ambiguous, and the track
        runs forwards."""
        return self.confidence >= 0.5 and not self.ambiguous and not self.runs_backwards

    @property
    def remainder_s(self) -> float:
        """The offset less the time-zone/DST shift."""
        return self.offset_s - self.zone_shift_h * 3600.0

    def describe(self) -> list[tuple[str, str]]:
        """``(label, text)`` lines for a person."""
        offset = round(self.offset_s, 1) + 0.0  # never "-0.0"
        if self.runs_backwards:
            advice = (f"the track runs backwards: the video's motion matches it played in reverse (correlation "
                      f"{self.backwards_correlation:.2f}); its times are in reverse order; not one to give as --offset")
        elif self.ambiguous and self.runner_up_s is not None:
            advice = (f"ambiguous: {self.runner_up_s:+.1f} s matches about as well; check which against the video "
                      "before giving --offset")
        elif self.correlation < GOOD_MATCH_CORRELATION and not self.reliable:  # not "within its uncertainty of none"
            advice = ("a poor match: the video's motion and the track's line up clearly nowhere; not one to give "
                      "as --offset")
        elif abs(self.offset_s) <= self.uncertainty_s:
            advice = "the clocks agree: no --offset needed (none is within its uncertainty)"
        elif self.reliable:
            advice = f"give --offset {offset:.1f}"
        else:
            advice = "not sure enough to give as --offset"
        lines = [("clock offset", f"{offset:+.1f} s ({advice})")]
        if self.zone_shift_h:
            lines.append(("time zone / DST", f"{self.zone_shift_h:+g} h shift plus {self.remainder_s:+.1f} s "
                                             "(one clock in local time?)"))
        lines.append(("match", f"correlation {self.correlation:.3f} (1 is a perfect match; {self.residual:.0%} of "
                               f"the video's motion left unexplained), about +-{self.uncertainty_s:.2f} s "
                               f"({', '.join(self.channels)})"))
        if self.runner_up_s is not None and self.runner_up_correlation is not None:
            apart = "" if self.separation_sigma is None else f", {self.separation_sigma:.1f} standard errors below"
            lines.append(("next best", f"{self.runner_up_s:+.1f} s (correlation {self.runner_up_correlation:.2f}{apart})"))
        if self.ambiguous:
            verdict = "low: ambiguous"
        else:
            verdict = "high" if self.confidence >= 0.75 else ("fair" if self.reliable else "low: check the result")
        lines.append(("confidence", f"{self.confidence:.2f} ({verdict})"))
        lines.append(("searched", f"{self.searched_s[0]:+.1f} s to {self.searched_s[1]:+.1f} s"))
        lines += [("note", note) for note in self.notes]
        return lines

    def as_dict(self) -> dict:
        return {
            "offset_s": round(self.offset_s, 3), "correlation": round(self.correlation, 4),
            "residual": round(self.residual, 4), "uncertainty_s": round(self.uncertainty_s, 3),
            "runner_up_s": None if self.runner_up_s is None else round(self.runner_up_s, 3),
            "runner_up_correlation": None if self.runner_up_correlation is None else round(self.runner_up_correlation, 4),
            "separation_sigma": None if self.separation_sigma is None else round(self.separation_sigma, 2),
            "ambiguous": self.ambiguous, "reliable": self.reliable,
            "confidence": round(self.confidence, 3), "zone_shift_h": self.zone_shift_h,
            "channels": list(self.channels), "searched_s": [round(v, 3) for v in self.searched_s],
            "notes": list(self.notes),
            "backwards_correlation": (None if self.backwards_correlation is None
                                      else round(self.backwards_correlation, 4)),
            "runs_backwards": self.runs_backwards,
        }


class NoOffsetInRange(ValueError):
    """No offset within the search range puts the video on the track, so the motions were
    compared at none: a video longer than the track can hold (up to :data:`OVERHANG` of it
    hanging over either end; another flight's video, mostly), or a ``search_s`` wholly
    outside the offsets where the video lies on the track. ``search_s``: the range asked
    (``None``: the default, every offset on the track); ``on_track_s``: the offsets where
    the video lies on the track (``None`` where there are none); ``video_s`` and
    ``track_s``: their lengths. Its text names the range, to follow "within the search
    range"."""

    def __init__(self, search_s: tuple[float, float] | None, on_track_s: tuple[float, float] | None,
                 video_s: float, track_s: float) -> None:
        self.search_s, self.on_track_s, self.video_s, self.track_s = search_s, on_track_s, video_s, track_s
        super().__init__(self._range_text())

    def _range_text(self) -> str:
        overhang = f"up to {_share_text(OVERHANG)} of it hanging over either end"
        if self.search_s is None:
            return (f"(every offset that keeps the video on the track, {overhang}): there is none for a video "
                    f"of {self.video_s:.1f} s on a track of {self.track_s:.1f} s")
        asked = f"{min(self.search_s):+.1f} s to {max(self.search_s):+.1f} s"
        if self.on_track_s is None:
            return (f"{asked} (no offset keeps a video of {self.video_s:.1f} s on a track of {self.track_s:.1f} s, "
                    f"{overhang})")
        return (f"{asked} (the video lies on the track only from {self.on_track_s[0]:+.1f} s to "
                f"{self.on_track_s[1]:+.1f} s)")


def _share_text(share: float) -> str:
    return "a quarter" if share == 0.25 else f"{share:.0%}"


def _smooth(values: np.ndarray, step_s: float = STEP_S, window_s: float = SMOOTH_S) -> np.ndarray:
    n = max(1, int(round(window_s / step_s)))
    if n == 1 or len(values) < n:
        return values
    padded = np.concatenate([np.full(n // 2, values[0]), values, np.full(n - 1 - n // 2, values[-1])])
    return np.convolve(padded, np.ones(n) / n, mode="valid")


@dataclass(frozen=True)
class TrackMotion:
    """A track's motion on a regular grid of its own clock (video time before offset).

    ``angular_speed``: ground speed over height above take-off (1/s), or the ground
    speed (m/s) where the height is unknown; ``turn_deg_s``: heading turn rate.
    """

    t_s: np.ndarray
    angular_speed: np.ndarray
    turn_deg_s: np.ndarray
    turn_source: str


def track_motion(track: Track, *, creation_time_utc: float | None = None, ground_elevation_m: float | None = None,
                 step_s: float = STEP_S, duration_s: float | None = None) -> TrackMotion:
    """Resample ``track`` onto a ``step_s`` grid and derive its speed and turn series.

    The speed is divided by the height where the height is known (a take-off-relative
    altitude, or an absolute one with ``ground_elevation_m``); a GPX elevation alone
    does not say how high above the ground the drone was, so there it is the speed.
    ``duration_s``: the video's length, which picks the recording a log without a date
    (or beside a video without a creation time) starts the video at, as the map does."""
    from geo.sync import _height_above_takeoff

    t, _ = video_clock(track, creation_time_utc, duration_s)
    lonlat = track.lonlat()
    local = LocalFrame.around(central_longitude(lonlat[:, 0]), float(np.median(lonlat[:, 1])))
    east, north = local.to_local(lonlat[:, 0], lonlat[:, 1])
    good = ~flag_jumps(track.times_s(), east, north)
    t, east, north = t[good], east[good], north[good]
    if track.has("alt_rel_m") or ground_elevation_m is not None:
        height = _height_above_takeoff(track, ground_elevation_m)[0][good]
    else:
        height = np.full(len(t), np.nan)
    grid = np.arange(t[0], t[-1] + step_s / 2, step_s) if len(t) > 1 else np.array([t[0]])
    half = 0.5 * SMOOTH_S
    e0, e1 = np.interp(grid - half, t, east), np.interp(grid + half, t, east)
    n0, n1 = np.interp(grid - half, t, north), np.interp(grid + half, t, north)
    speed = np.hypot(e1 - e0, n1 - n0) / (2 * half)
    ok_h = np.isfinite(height)
    if ok_h.sum() >= 2:
        h = np.maximum(np.interp(grid, t[ok_h], height[ok_h]), MIN_HEIGHT_M)
        angular = speed / h
    else:
        angular = speed
    yaw = np.array([s.gimbal_yaw_deg if s.gimbal_yaw_deg is not None else (s.yaw_deg if s.yaw_deg is not None else np.nan)
                    for s in track.samples], dtype=np.float64)[good]
    ok_yaw = np.isfinite(yaw)
    if ok_yaw.sum() >= 2:
        heading = np.interp(grid, t[ok_yaw], np.unwrap(np.radians(yaw[ok_yaw])))
        source = "yaw"
    else:
        bearing = np.arctan2(e1 - e0, n1 - n0)
        moving = speed >= MIN_BEARING_SPEED_MPS
        if moving.sum() >= 2:
            heading = np.interp(grid, grid[moving], np.unwrap(bearing[moving]))
        else:
            heading = np.zeros(len(grid))
        source = "track bearing"
    turn = np.degrees(np.gradient(heading, step_s)) if len(grid) > 1 else np.zeros(1)
    return TrackMotion(grid, _smooth(angular, step_s), _smooth(turn, step_s), source)


def _sliding_correlation(video: np.ndarray, track: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``video`` (length m) with every window of ``track`` of
    length m, ``float64[len(track) - m + 1]`` (0 where a window does not vary)."""
    m, n = len(video), len(track)
    v = video - video.mean()
    v_norm = math.sqrt(float(v @ v))
    lags = n - m + 1
    if v_norm == 0.0 or lags < 1:
        return np.zeros(max(lags, 0))
    x = track - track.mean()
    size = 1 << int(math.ceil(math.log2(n + m)))
    numerator = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(v, size)), size)[:lags]
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    window_sum = s1[m:] - s1[:-m]
    window_ss = s2[m:] - s2[:-m] - window_sum**2 / m
    denominator = np.sqrt(np.maximum(window_ss, 0.0)) * v_norm
    tiny = 1e-9 * max(float(np.max(denominator)), 1e-300)
    return np.where(denominator > tiny, numerator / np.maximum(denominator, tiny), 0.0)


def _video_series(t_s: np.ndarray, values: np.ndarray, valid: np.ndarray, duration_s: float) -> np.ndarray | None:
    ok = valid & np.isfinite(values)
    if ok.sum() < 5:
        return None
    grid = np.arange(0.0, duration_s + STEP_S / 2, STEP_S)
    return _smooth(np.interp(grid, t_s[ok], values[ok]))


def _channels_combined(scores: list[np.ndarray]) -> np.ndarray:
    """The channels' correlations at each lag averaged as Fisher z: one clear match
    outweighs a vague one."""
    return np.tanh(np.mean(np.arctanh(np.clip(scores, -0.9999, 0.9999)), axis=0))


def backwards_correlation(matched: list[tuple[np.ndarray, np.ndarray]], mirrored: list[bool]) -> tuple[float, int]:
    """The best agreement of the video's series with the track's played in reverse, and
    the lag it is found at: each padded track series of ``matched`` reversed in time, and
    negated where ``mirrored`` (a turn to the right, flown backwards, is one to the left)."""
    scores = [(-1.0 if flip else 1.0) * _sliding_correlation(video, padded[::-1])
              for (video, padded), flip in zip(matched, mirrored)]
    combined = _channels_combined(scores)
    lag = int(np.argmax(combined))
    return float(combined[lag]), lag


def _part_offsets(matched: list[tuple[np.ndarray, np.ndarray]], origin: float,
                  allowed_range: tuple[float, float]) -> list[float | None]:
    """The best offset of the video's first three quarters alone, and of its last three
    quarters, each matched as :func:`estimate_offset` matches the whole (``None`` where a
    part does not move)."""
    out: list[float | None] = []
    length = min(len(video) for video, _ in matched)
    quarter = length // 4
    for first, last in ((0, length - quarter), (quarter, length)):
        parts = [_sliding_correlation(video[first:last], padded) for video, padded in matched
                 if float(np.std(video[first:last])) > 0.0]
        if not parts or not quarter:
            out.append(None)
            continue
        r = _channels_combined(parts)
        offsets = -origin - (np.arange(len(r)) - first) * STEP_S
        inside = (offsets >= allowed_range[0] - 1e-9) & (offsets <= allowed_range[1] + 1e-9)
        out.append(float(offsets[int(np.argmax(np.where(inside, r, -np.inf)))]) if inside.any() else None)
    return out


def _autocorrelation(values: np.ndarray) -> np.ndarray:
    """``values``' autocorrelation at lags 0, 1, ... (1 at lag 0; zeros where it does not vary)."""
    centred = values - values.mean()
    size = 1 << int(math.ceil(math.log2(2 * len(values))))
    spectrum = np.fft.rfft(centred, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[:len(values)]
    return acf / acf[0] if acf[0] > 0 else np.zeros(len(values))


def error_memory_s(matched: list[tuple[np.ndarray, np.ndarray]], lag: int) -> float:
    """How long (seconds) the error between the video's motion and the track's stays alike:
    a clip holds about one independent sample of it per that many seconds.

    The correlation peak moves with the error times the track's rate of change, so each
    channel's residual (its video series less its fit to the track's window at ``lag``)
    has its autocorrelation weighted by that of the track's derivative, summed (both
    sides) up to the residual's first lag that is not positive; the longest channel's
    counts, corrected for what a clip of its length cannot show
    (:data:`SHORT_SERIES_BIAS`) and at most half the clip. White read noise, smoothed over
    :data:`SMOOTH_S`, remembers about that; an image flow's error, which drifts, a few
    seconds."""
    memories: list[float] = []
    for video, padded in matched:
        track = padded[lag:lag + len(video)]
        if len(track) < len(video):
            continue
        video_c, track_c = video - video.mean(), track - track.mean()
        spread = float(track_c @ track_c)
        if spread == 0.0:
            continue
        residual = video_c - (float(video_c @ track_c) / spread) * track_c
        acf_residual = _autocorrelation(residual)
        acf_rate = _autocorrelation(np.gradient(track_c))
        positive = np.flatnonzero(acf_residual <= 0.0)
        last = int(positive[0]) if len(positive) else len(acf_residual)
        memories.append(float(1.0 + 2.0 * np.sum(acf_residual[1:last] * acf_rate[1:last])) * STEP_S)
    if not memories:
        return SMOOTH_S
    seen = max(max(memories), 1e-3)
    length_s = min(len(video) for video, _ in matched) * STEP_S
    return 1.0 / max(1.0 / seen - SHORT_SERIES_BIAS / length_s, 2.0 / length_s)


def peak_separation(best: float, runner_up: float, overlap_s: float) -> float:
    """How far correlation ``runner_up`` falls short of ``best``, in standard errors.

    Both are Fisher-z transformed, where a correlation over ``n`` independent samples
    has a standard error of ``1 / sqrt(n - 3)``; the motion series are smoothed over
    :data:`SMOOTH_S`, so ``overlap_s`` of video against track holds about
    ``overlap_s / SMOOTH_S`` of them. The difference of two such has ``sqrt(2)`` times
    that error. On a 10 s clip 0.99 against 0.97 is 1.0 standard error: a tie, though
    the runner-up leaves 1.7 times as much of the motion unexplained."""
    n_independent = max(overlap_s / SMOOTH_S, 4.0)
    z_best, z_runner = np.arctanh(np.clip([best, runner_up], -0.9999, 0.9999))
    return float((z_best - z_runner) * math.sqrt((n_independent - 3.0) / 2.0))


def zone_shift_hours(offset_s: float) -> float:
    """The whole or quarter hours of a clock-zone shift within ``offset_s`` (0 if none):
    offsets of at least half an hour within :data:`ZONE_SLACK_S` of a quarter hour."""
    quarters = round(offset_s / 900.0)
    # clock zones lie 26 h apart at most (UTC-12 to UTC+14): a larger shift is a wrong date
    if 1800.0 <= abs(offset_s) <= 26 * 3600.0 + ZONE_SLACK_S and abs(offset_s - quarters * 900.0) <= ZONE_SLACK_S:
        return quarters / 4.0
    return 0.0


def _check_search_range(motion: TrackMotion, pad: int, origin: float, duration_s: float,
                        search_s: tuple[float, float] | None) -> None:
    """Raise :class:`NoOffsetInRange` where no offset within the search range puts the
    video (``duration_s`` long) on the track (``motion``, padded by ``pad`` samples either
    side, its first padded sample at grid time ``origin``), as :func:`estimate_offset`
    matches them: one offset a lag of :data:`STEP_S`."""
    video_samples = len(np.arange(0.0, duration_s + STEP_S / 2, STEP_S))
    offsets = -origin - np.arange(max(len(motion.t_s) + 2 * pad - video_samples + 1, 0)) * STEP_S
    allowed = offsets if search_s is None else offsets[(offsets >= min(search_s) - 1e-9)
                                                       & (offsets <= max(search_s) + 1e-9)]
    if not len(allowed):
        on_track = (float(offsets.min()), float(offsets.max())) if len(offsets) else None
        raise NoOffsetInRange(search_s, on_track, duration_s, float(motion.t_s[-1] - motion.t_s[0]))


def estimate_offset(
    track: Track,
    image_t_s: np.ndarray,
    image_speed: np.ndarray,
    image_turn: np.ndarray,
    *,
    duration_s: float,
    creation_time_utc: float | None = None,
    image_rotation: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    search_s: tuple[float, float] | None = None,
    ground_elevation_m: float | None = None,
) -> OffsetEstimate | None:
    """The offset that best lines the video's motion up with the track's.

    ``image_speed``: how fast the scene moves through the frame (any unit; for an
    oblique camera its downward motion); ``image_turn``: the image's motion to the left
    (as when the camera turns right); ``image_rotation``: its counter-clockwise rotation
    (as when an oblique camera turns right), at times ``image_t_s`` of the video. ``search_s`` limits the offsets tried; by default
    every offset where the video lies on the track (up to a quarter of it hanging over
    either end). ``None`` when the series are too short or do not move.

    Raises
    ------
    NoOffsetInRange
        No offset within the search range puts the video on the track (a video longer
        than the track can hold, or ``search_s`` outside every offset where it lies on it):
        the video and the track may not belong together.
    """
    image_t_s = np.asarray(image_t_s, dtype=np.float64)
    valid = np.ones(len(image_t_s), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    motion = track_motion(track, creation_time_utc=creation_time_utc, ground_elevation_m=ground_elevation_m,
                          duration_s=duration_s)
    pad = int(math.ceil(OVERHANG * duration_s / STEP_S))
    origin = motion.t_s[0] - pad * STEP_S  # grid time of the first padded sample
    _check_search_range(motion, pad, origin, duration_s, search_s)
    notes: list[str] = []
    scores: list[np.ndarray] = []
    channels: list[str] = []
    mirrored: list[bool] = []  # a turn channel, mirrored when the track is played backwards
    matched: list[tuple[np.ndarray, np.ndarray]] = []  # (video series, padded track series) of each channel
    pairs = [("speed", image_speed, motion.angular_speed), (f"turns ({motion.turn_source})", image_turn, motion.turn_deg_s)]
    if image_rotation is not None:
        pairs.append(("rotation", image_rotation, motion.turn_deg_s))
    for name, series, track_series in pairs:
        video = _video_series(image_t_s, np.asarray(series, dtype=np.float64), valid, duration_s)
        if video is None or float(np.std(video)) == 0.0 or float(np.std(track_series)) == 0.0:
            continue
        padded = np.concatenate([np.full(pad, track_series[0]), track_series, np.full(pad, track_series[-1])])
        r = _sliding_correlation(video, padded)
        if len(r):
            scores.append(r)
            channels.append(name)
            mirrored.append(name != "speed")
            matched.append((video, padded))
    if not scores:
        return None
    r = _channels_combined(scores)
    offsets = -origin - np.arange(len(r)) * STEP_S  # offset of each lag (decreasing)
    allowed = np.ones(len(r), dtype=bool)
    if search_s is not None:  # holds one at least (_check_search_range)
        allowed = (offsets >= min(search_s) - 1e-9) & (offsets <= max(search_s) + 1e-9)
    masked = np.where(allowed, r, -np.inf)
    k = int(np.argmax(masked))
    best = float(r[k])
    shift, curvature = 0.0, 0.0
    if 0 < k < len(r) - 1 and allowed[k - 1] and allowed[k + 1]:
        a, b, c = float(r[k - 1]), best, float(r[k + 1])
        denominator = a - 2 * b + c
        if denominator < 0:
            shift = float(np.clip(0.5 * (a - c) / denominator, -0.5, 0.5))
            best = b - 0.25 * (a - c) * shift
            curvature = -denominator / (2 * STEP_S**2)
    offset = float(-origin - (k + shift) * STEP_S)
    best = float(min(best, 1.0))
    # the peak's width: where the correlation first drops to half its height on each side
    exclusion = max(2.0, 0.1 * duration_s)
    outside = allowed & (np.abs(offsets - offset) > exclusion)
    runner_k = int(np.argmax(np.where(outside, r, -np.inf))) if outside.any() else None
    runner = float(r[runner_k]) if runner_k is not None else None
    # the clip's independent samples of its error (less one for the fit that error is read
    # after): about one a second for white read noise, fewer where the error drifts
    n_independent = max(1.0, duration_s / max(SMOOTH_S, error_memory_s(matched, k)) - 1.0)
    uncertainty = (math.sqrt(max(1.0 - best, 1e-4) / (curvature * n_independent)) if curvature > 0
                   else exclusion)
    # A broad peak (one slow turn the whole clip long) fits a range of offsets almost as well:
    # the clip's first and last three quarters, each matched alone, say how far the best moves.
    allowed_range = (float(offsets[allowed].min()), float(offsets[allowed].max()))
    moved = [abs(part - offset) for part in _part_offsets(matched, origin, allowed_range) if part is not None]
    uncertainty = max(uncertainty, max(moved, default=0.0))
    # how much worse the runner-up explains the motion, against what chance alone makes of
    # the few independent seconds the video and the track share at the best offset
    residual = math.sqrt(max(0.0, 1.0 - best * best))
    video_length = min(len(video) for video, _ in matched)
    track_start, track_end = pad, len(matched[0][1]) - pad

    def overlap_s_at(lag: int) -> float:  # the padding is alike at both ends: the same for the track reversed
        return max(0, min(lag + video_length, track_end) - max(lag, track_start)) * STEP_S

    overlap_s = overlap_s_at(k)
    separation = None if runner is None else peak_separation(best, runner, overlap_s)
    clear = 1.0 if separation is None else float(np.clip(separation / (2.0 * CLEAR_BY_SIGMA), 0.0, 1.0))
    confidence = float(np.clip(best, 0.0, 1.0) * clear)
    backwards, backwards_lag = backwards_correlation(matched, mirrored)
    runs_backwards = (backwards >= GOOD_MATCH_CORRELATION
                      and peak_separation(backwards, best, overlap_s_at(backwards_lag)) >= 2.0 * CLEAR_BY_SIGMA)
    if uncertainty > SURE_WITHIN_S:  # lined up well, but not to the tenth of a second
        confidence *= SURE_WITHIN_S / uncertainty
    if len(channels) < 2:
        notes.append("only one motion series varies: " + ", ".join(channels))
    searched = (float(offsets[allowed].min()), float(offsets[allowed].max()))
    return OffsetEstimate(
        offset_s=offset, correlation=best, residual=residual,
        uncertainty_s=float(min(uncertainty, exclusion)),
        runner_up_s=None if runner_k is None else float(offsets[runner_k]), runner_up_correlation=runner,
        confidence=confidence, zone_shift_h=zone_shift_hours(offset), channels=tuple(channels),
        searched_s=searched, notes=tuple(notes), separation_sigma=separation,
        backwards_correlation=backwards, runs_backwards=runs_backwards,
    )


__all__ = ["NoOffsetInRange", "OffsetEstimate", "TrackMotion", "backwards_correlation", "error_memory_s", "estimate_offset", "peak_separation", "track_motion", "zone_shift_hours"]
