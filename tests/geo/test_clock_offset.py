"""geo.clock_offset: the offset that lines a video's motion up with a track's, from
synthetic series with known offsets (no video: the image series are made from the
track's own motion, plus noise)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from core.types import TelemetrySample
from geo.clock_offset import (
    CLEAR_BY_SIGMA,
    GOOD_MATCH_CORRELATION,
    NoOffsetInRange,
    OffsetEstimate,
    error_memory_s,
    estimate_offset,
    track_motion,
    zone_shift_hours,
)
from geo.telemetry.track import TimeBase, Track

START = 1_539_356_400.0  # 2018-10-12 15:00 UTC
ORIGIN = (-85.66, 30.16)


def manoeuvring_track(seconds: float = 200.0, step_s: float = 1.0, *, seed: int = 0, flat: bool = False) -> Track:
    """A GPX-like track (UTC, absolute altitude) that speeds up, slows down and turns."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 0.01)
    if flat:
        speed = np.full(len(t), 6.0)
        heading = np.full(len(t), 40.0)
    else:
        speed = 6.0 * (1 + sum(a * np.sin(2 * math.pi * t / p + f) for a, p, f in
                               zip(rng.uniform(0.1, 0.25, 3), rng.uniform(4, 23, 3), rng.uniform(0, 6, 3))))
        heading = 40.0 + sum(a * np.sin(2 * math.pi * t / p + f) for a, p, f in
                             zip(rng.uniform(4, 12, 3), rng.uniform(5, 29, 3), rng.uniform(0, 6, 3)))
    return _flown(t, heading, speed, step_s)


def _flown(t: np.ndarray, heading: np.ndarray, speed: np.ndarray | float, step_s: float) -> Track:
    """The GPX-like track (UTC, absolute altitude, one sample every ``step_s``) of a flight
    at ``heading`` (degrees) and ``speed`` (m/s) over ``t`` (a 0.01 s grid)."""
    east = np.cumsum(np.sin(np.radians(heading)) * speed * 0.01)
    north = np.cumsum(np.cos(np.radians(heading)) * speed * 0.01)
    keep = np.arange(0, len(t), int(round(step_s / 0.01)))
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(ORIGIN[1]))
    samples = tuple(
        TelemetrySample(t_s=START + float(t[k]), lat_deg=ORIGIN[1] + north[k] / m_per_deg_lat,
                        lon_deg=ORIGIN[0] + east[k] / m_per_deg_lon, alt_abs_m=60.0)
        for k in keep
    )
    return Track(samples, None, "gpx", TimeBase.UTC)


def image_series(track: Track, *, video_start_s: float, duration_s: float, noise: float = 0.05, seed: int = 1):
    """What a video starting ``video_start_s`` into the track would see, at 5 Hz: image
    speed and turn (scaled, noisy) from the track's own motion."""
    motion = track_motion(track, creation_time_utc=START)
    t = np.arange(0.1, duration_s, 0.2)
    rng = np.random.default_rng(seed)
    speed = 40.0 * np.interp(t + video_start_s, motion.t_s, motion.angular_speed)
    turn = 3.0 * np.interp(t + video_start_s, motion.t_s, motion.turn_deg_s)
    speed += noise * speed.std() * rng.standard_normal(len(t))
    turn += noise * turn.std() * rng.standard_normal(len(t))
    return t, speed, turn


@pytest.mark.parametrize("clock_error_s", [0.0, 4.3, -17.8, 29.0])
def test_offset_found_within_half_a_second(clock_error_s):
    """The video starts 60 s into the track but its creation time is off by
    ``clock_error_s``: the estimate is the offset that undoes it."""
    track = manoeuvring_track()
    t, speed, turn = image_series(track, video_start_s=60.0, duration_s=30.0)
    # video time = utc - creation + offset; creation written as START + 60 + error
    estimate = estimate_offset(track, t, speed, turn, duration_s=30.0, creation_time_utc=START + 60.0 + clock_error_s)
    assert estimate is not None
    assert abs(estimate.offset_s - clock_error_s) <= 0.5
    assert estimate.correlation > 0.9 and estimate.reliable
    assert estimate.uncertainty_s < 0.5
    assert estimate.zone_shift_h == 0.0


def test_whole_hours_are_a_time_zone_shift():
    track = manoeuvring_track()
    t, speed, turn = image_series(track, video_start_s=80.0, duration_s=30.0)
    # the camera wrote its local time (UTC-5) as UTC, and is 2.5 s fast besides
    estimate = estimate_offset(track, t, speed, turn, duration_s=30.0,
                               creation_time_utc=START + 80.0 - 5 * 3600 + 2.5)
    assert estimate is not None
    assert abs(estimate.offset_s - (-5 * 3600 + 2.5)) <= 0.5
    assert estimate.zone_shift_h == -5.0
    assert abs(estimate.remainder_s - 2.5) <= 0.5
    text = dict(estimate.describe())
    assert "-5 h" in text["time zone / DST"]


def test_search_range_is_respected():
    track = manoeuvring_track()
    t, speed, turn = image_series(track, video_start_s=60.0, duration_s=30.0)
    estimate = estimate_offset(track, t, speed, turn, duration_s=30.0, creation_time_utc=START + 60.0,
                               search_s=(10.0, 40.0))
    assert estimate is not None and 10.0 <= estimate.offset_s <= 40.0
    assert estimate.correlation < 0.95  # the right answer (0.99) was outside


def test_a_track_with_no_motion_gives_nothing():
    track = manoeuvring_track(flat=True)
    t = np.arange(0.1, 30.0, 0.2)
    estimate = estimate_offset(track, t, np.full(len(t), 20.0), np.zeros(len(t)), duration_s=30.0,
                               creation_time_utc=START + 60.0)
    assert estimate is None


def test_a_video_longer_than_the_track_is_matched_at_no_offset():
    """Another flight's 30 s video against a 12 s track: no offset keeps it on the track
    (a quarter of it may hang over either end), which is not a lack of motion."""
    track = manoeuvring_track(seconds=12.0)  # a fix a second: 11 s from the first to the last
    t, speed, turn = image_series(manoeuvring_track(seed=4), video_start_s=60.0, duration_s=30.0)
    with pytest.raises(NoOffsetInRange) as raised:
        estimate_offset(track, t, speed, turn, duration_s=30.0, creation_time_utc=START)
    assert raised.value.search_s is None and raised.value.on_track_s is None
    assert str(raised.value) == ("(every offset that keeps the video on the track, up to a quarter of it hanging "
                                 "over either end): there is none for a video of 30.0 s on a track of 11.0 s")


def test_a_search_range_off_the_track_is_matched_at_no_offset():
    track = manoeuvring_track()
    t, speed, turn = image_series(track, video_start_s=60.0, duration_s=30.0)
    with pytest.raises(NoOffsetInRange) as raised:
        estimate_offset(track, t, speed, turn, duration_s=30.0, creation_time_utc=START + 60.0,
                        search_s=(500.0, 600.0))
    # the track runs -60 s to +139 s of the video's clock; the 30 s video may hang 7.5 s over either end
    assert raised.value.on_track_s == pytest.approx((22.5 - 139.0, 60.0 + 7.5))
    assert str(raised.value) == "+500.0 s to +600.0 s (the video lies on the track only from -116.5 s to +67.5 s)"


def test_a_noisy_match_has_low_confidence():
    track = manoeuvring_track(seed=3)
    rng = np.random.default_rng(5)
    t = np.arange(0.1, 30.0, 0.2)
    estimate = estimate_offset(track, t, rng.standard_normal(len(t)), rng.standard_normal(len(t)),
                               duration_s=30.0, creation_time_utc=START + 60.0)
    assert estimate is not None
    assert not estimate.reliable
    assert "check the result" in dict(estimate.describe())["confidence"]
    # not "within its uncertainty of none", as if a poor match said the clocks agree
    assert dict(estimate.describe())["clock offset"].endswith("(a poor match: the video's motion and the track's "
                                                              "line up clearly nowhere; not one to give as --offset)")


@pytest.mark.parametrize(("offset_s", "hours"), [(3600.0, 1.0), (-7195.0, -2.0), (19_800.0 + 30.0, 5.5),
                                                 (300.0, 0.0), (5400.0 + 400.0, 0.0),
                                                 (14 * 3600.0, 14.0), (-59 * 86400.0, 0.0)])  # a wrong date, no zone
def test_zone_shift_hours(offset_s, hours):
    assert zone_shift_hours(offset_s) == hours


def one_slow_turn_track(seconds: float = 10.0, step_s: float = 0.2) -> Track:
    """A GPX-like track of a short clip alone: steady speed, one slow turn the whole clip long."""
    t = np.arange(0.0, seconds, 0.01)
    heading = 40.0 + 30.0 * (1 - np.cos(math.pi * t / seconds)) / 2  # 40 -> 70 degrees, gently
    return _flown(t, heading, 6.0, step_s)


def test_one_slow_turn_is_not_an_offset_known_to_a_tenth_of_a_second():
    """A short clip of one slow turn, from a track of the clip alone, where the camera turns
    0.6 s before the course does (a drone yaws, then its course follows; the track's
    heading is its course): the motions line up almost as well a second either way. The
    estimate says so in its uncertainty and its confidence, and advises no offset, as the
    clocks agree."""
    track = one_slow_turn_track()
    motion = track_motion(track, creation_time_utc=START)
    t = np.arange(0.1, 10.0, 0.2)
    rng = np.random.default_rng(1)
    turn = 3.0 * np.interp(t + 0.6, motion.t_s, motion.turn_deg_s)
    turn += 0.05 * turn.std() * rng.standard_normal(len(t))
    speed = 40.0 * np.interp(t, motion.t_s, motion.angular_speed) + 0.2 * rng.standard_normal(len(t))
    estimate = estimate_offset(track, t, speed, turn, duration_s=10.0, creation_time_utc=START)
    assert estimate is not None and estimate.correlation > 0.9  # a good match, at the wrong offset
    assert abs(estimate.offset_s) >= 0.3
    assert estimate.uncertainty_s >= abs(estimate.offset_s)  # the truth, no offset, within it
    assert estimate.confidence < 0.5 and not estimate.reliable  # so `--offset auto` leaves the clock as it is
    assert "give --offset" not in dict(estimate.describe())["clock offset"]


def drifting_noise(rng: np.random.Generator, n: int, *, samples: int = 5) -> np.ndarray:
    """Unit noise that wanders over ``samples`` samples (a second at 5 Hz), as the error of
    an image's flow does; white noise would be smoothed away with the series."""
    kernel = np.exp(-0.5 * (np.arange(-2 * samples, 2 * samples + 1) / samples) ** 2)
    noise = np.convolve(rng.standard_normal(n + 4 * samples), kernel, "same")[2 * samples:2 * samples + n]
    return noise / noise.std()


def test_two_near_equal_matches_are_ambiguous_and_not_applied():
    """An 8 s clip of a flight whose manoeuvres come back 15 s later, its motion read with a
    slow error: the wrong place matches at 0.99 and the right one (no offset) at 0.97.
    That gap is within what chance makes of 8 independent seconds, so the estimate says
    it is ambiguous, names the other offset, and is not one to apply."""
    track = manoeuvring_track(seconds=120.0, seed=5)
    motion = track_motion(track, creation_time_utc=START)
    rng = np.random.default_rng(584)
    start = 40.0 + rng.uniform(0, 30)
    t = np.arange(0.1, 8.0, 0.2)
    speed = np.interp(t + start, motion.t_s, motion.angular_speed)
    turn = np.interp(t + start, motion.t_s, motion.turn_deg_s)
    speed += 0.4 * speed.std() * drifting_noise(rng, len(t))
    turn += 0.4 * turn.std() * drifting_noise(rng, len(t))
    estimate = estimate_offset(track, t, speed, turn, duration_s=8.0, creation_time_utc=START + start)
    assert estimate is not None and estimate.correlation > 0.95  # a fine match...
    assert abs(estimate.offset_s) > 10.0  # ...at the wrong place
    assert not estimate.reliable  # so `--offset auto` keeps the project's offset
    assert estimate.ambiguous and estimate.separation_sigma < 1.5
    assert abs(estimate.runner_up_s) < 0.5  # the right one, named
    advice = dict(estimate.describe())["clock offset"]
    assert "ambiguous" in advice and f"{estimate.runner_up_s:+.1f} s" in advice and "give --offset" not in advice
    assert dict(estimate.describe())["confidence"].endswith("(low: ambiguous)")


def test_a_short_clear_match_stays_reliable():
    """A 10 s clip of the same kind of flight, read with the same slow error: the runner-up
    falls far short, and the offset is given."""
    track = manoeuvring_track(seconds=120.0, seed=2)
    motion = track_motion(track, creation_time_utc=START)
    rng = np.random.default_rng(7)
    t = np.arange(0.1, 10.0, 0.2)
    speed = np.interp(t + 50.0, motion.t_s, motion.angular_speed)
    turn = np.interp(t + 50.0, motion.t_s, motion.turn_deg_s)
    speed += 0.2 * speed.std() * drifting_noise(rng, len(t))
    turn += 0.2 * turn.std() * drifting_noise(rng, len(t))
    estimate = estimate_offset(track, t, speed, turn, duration_s=10.0, creation_time_utc=START + 50.0 - 3.0)
    assert estimate is not None and abs(estimate.offset_s - (-3.0)) <= 0.3
    assert estimate.reliable and not estimate.ambiguous
    assert estimate.separation_sigma >= CLEAR_BY_SIGMA
    lines = dict(estimate.describe())
    assert f"give --offset {estimate.offset_s:.1f}" in lines["clock offset"]
    assert "standard errors below" in lines["next best"]


def test_a_reliable_match_below_the_good_correlation_is_advised_as_applied():
    # --offset auto applies a reliable estimate; its advice must not say the opposite
    estimate = OffsetEstimate(offset_s=12.3, correlation=0.65, residual=0.76, uncertainty_s=0.2, runner_up_s=40.0,
                              runner_up_correlation=0.1, confidence=0.6, zone_shift_h=0.0, channels=("speed", "turn"),
                              searched_s=(-60.0, 60.0), separation_sigma=5.0)
    assert estimate.reliable and estimate.correlation < GOOD_MATCH_CORRELATION
    assert dict(estimate.describe())["clock offset"] == "+12.3 s (give --offset 12.3)"


def drifting_clip(seed: int, duration_s: float, noise: float, *, track_seed: int, start_s: float = 50.0):
    """Image speed and turn of a ``duration_s`` clip ``start_s`` into a two-minute manoeuvring
    track, read with an error of ``noise`` times their spread that drifts over a second."""
    track = manoeuvring_track(seconds=120.0, seed=track_seed)
    motion = track_motion(track, creation_time_utc=START)
    rng = np.random.default_rng(seed)
    t = np.arange(0.1, duration_s, 0.2)
    speed = np.interp(t + start_s, motion.t_s, motion.angular_speed)
    turn = np.interp(t + start_s, motion.t_s, motion.turn_deg_s)
    speed += noise * speed.std() * drifting_noise(rng, len(t))
    turn += noise * turn.std() * drifting_noise(rng, len(t))
    return track, t, speed, turn


def test_an_error_that_drifts_widens_the_uncertainty_to_cover_the_truth():
    """A 20 s clip read with an error that wanders over about a second: the match is good
    (0.98) and the offset 0.19 s off. Counted as if each second of it were independent,
    the peak's width said +-0.09 s (the truth two sigmas away); the error's own memory,
    read from the residual, leaves about a third as many independent samples."""
    track, t, speed, turn = drifting_clip(3, 20.0, 0.3, track_seed=3)
    estimate = estimate_offset(track, t, speed, turn, duration_s=20.0, creation_time_utc=START + 50.0 - 3.0)
    assert estimate is not None and estimate.correlation > 0.95 and estimate.reliable
    error = abs(estimate.offset_s - (-3.0))
    assert error > 0.15
    assert estimate.uncertainty_s >= error


def test_a_long_clear_clip_stays_tight():
    """A 40 s manoeuvring clip read with a small white error: known to a tenth of a second."""
    track = manoeuvring_track()
    t, speed, turn = image_series(track, video_start_s=60.0, duration_s=40.0, noise=0.2)
    estimate = estimate_offset(track, t, speed, turn, duration_s=40.0, creation_time_utc=START + 60.0 + 7.0)
    assert estimate is not None and estimate.reliable
    assert abs(estimate.offset_s - 7.0) <= 2 * estimate.uncertainty_s
    assert estimate.uncertainty_s <= 0.1


def test_the_error_memory_tells_a_drifting_error_from_white_noise():
    track = manoeuvring_track(seconds=120.0, seed=2)
    motion = track_motion(track, creation_time_utc=START)
    rng = np.random.default_rng(11)
    series = motion.angular_speed[300:600]  # 30 s at the 0.1 s step
    spread = series.std()
    white = _smooth_like_video(series + 0.3 * spread * rng.standard_normal(len(series)))
    drifting = series + 0.3 * spread * drifting_noise(rng, len(series), samples=25)  # over 2.5 s
    assert error_memory_s([(white, series)], 0) < 1.5
    assert error_memory_s([(drifting, series)], 0) > 2.0 * error_memory_s([(white, series)], 0)


def _smooth_like_video(values: np.ndarray) -> np.ndarray:
    kernel = np.ones(10) / 10
    return np.convolve(values, kernel, "same")


def _times_reversed(track: Track) -> Track:
    """``track``'s points with their times in reverse order: the path flown backwards."""
    times = [s.t_s for s in track.samples]
    return Track(tuple(dataclasses.replace(s, t_s=t) for s, t in zip(track.samples[::-1], times)), None, "gpx",
                 TimeBase.UTC)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_track_whose_times_run_backwards_is_said_to_and_not_applied(seed):
    """Played backwards, a flight's speeds come in reverse and its turns the other way:
    the video matched such a track nowhere and was reported ambiguous (seed 3), unsure
    (seed 1) or even reliable at a wrong offset (seed 0, -9.5 s). The track played in
    reverse matches the video clearly better: it runs backwards, and is not applied."""
    track = manoeuvring_track(seconds=120.0, seed=seed)
    t, speed, turn = image_series(track, video_start_s=40.0, duration_s=30.0)
    forwards = estimate_offset(track, t, speed, turn, duration_s=30.0, creation_time_utc=START + 40.0)
    assert forwards.reliable and not forwards.runs_backwards
    backwards = estimate_offset(_times_reversed(track), t, speed, turn, duration_s=30.0,
                                creation_time_utc=START + 40.0)
    assert backwards.runs_backwards and backwards.backwards_correlation > 0.99
    assert not backwards.reliable and not backwards.ambiguous
    assert "the track runs backwards" in dict(backwards.describe())["clock offset"]
    assert backwards.as_dict()["runs_backwards"] is True

