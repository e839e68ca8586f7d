"""How sure the lining up of a video and its telemetry is, and the clock part of the
sites' uncertainty it gives when no estimate of the offset says better.

The sites' budget counted a clock part only for an offset estimated from the video's
motion: a video lined up by a guess (its creation time to the whole second, the log's
recording of the same length, the log's start) had a clock part of 0 m."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from core.types import DamageLevel
from geo.mapping import build_damage_map_from
from geo.sync import (CREATION_TIME_SIGMA_S, LOG_START_SIGMA_S, SUBSECOND_CREATION_TIME_SIGMA_S,
                      TYPED_OFFSET_SIGMA_S, align_track)
from geo.telemetry import TimeBase, read_telemetry
from tests.geo.test_geo_fusion import fly

START_UTC = 1_700_000_000.0
SPEED_MPS = 6.0  # ``fly``: 3 m a frame at 2 frames a second


def _flight(base: TimeBase = TimeBase.VIDEO, *, start: float = 0.0, recordings=(), creation_time_utc=None):
    """``fly``'s one site, its track (2 samples a second, flying north at 6 m/s, camera
    pointing known, no GPS accuracy) put on ``base`` from ``start``."""
    detections, times, track, video, _ = fly([(0.0, 0.0, 0.0)], [DamageLevel.DEBRIS])
    if base is not TimeBase.VIDEO:
        samples = tuple(replace(s, t_s=s.t_s + start) for s in track.samples)
        track = replace(track, samples=samples, time_base=base, format="csv",
                        recordings=tuple((a + start, b + start) for a, b in recordings))
    return detections, times, track, dict(video, creation_time_utc=creation_time_utc)


def _clock_m(base: TimeBase = TimeBase.VIDEO, *, start: float = 0.0, recordings=(), creation_time_utc=None,
             **kwargs):
    detections, times, track, video = _flight(base, start=start, recordings=recordings,
                                              creation_time_utc=creation_time_utc)
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0, **kwargs)
    (site,) = damage_map.fused
    return site.budget.clock, damage_map


def test_a_guessed_start_gives_the_sites_a_clock_part():
    """The reproduction: a log without a date, lined up as starting with the video."""
    clock, damage_map = _clock_m(TimeBase.LOG)
    assert clock == pytest.approx(LOG_START_SIGMA_S * SPEED_MPS, rel=0.05)  # 3 s at 6 m/s: 18 m
    (site,) = damage_map.fused
    assert site.uncertainty_m == pytest.approx(site.budget.total_m) and site.uncertainty_m >= clock
    # a GPX beside a video without a creation time alike
    assert _clock_m(TimeBase.UTC, start=START_UTC)[0] == pytest.approx(clock)


def test_a_creation_time_to_the_whole_second_counts_half_a_second():
    clock, _ = _clock_m(TimeBase.UTC, start=START_UTC, creation_time_utc=START_UTC)
    assert clock == pytest.approx(CREATION_TIME_SIGMA_S * SPEED_MPS, rel=0.05)  # 0.5 s: 3 m
    finer, _ = _clock_m(TimeBase.UTC, start=START_UTC + 0.25, creation_time_utc=START_UTC + 0.25)
    assert finer == pytest.approx(SUBSECOND_CREATION_TIME_SIGMA_S * SPEED_MPS, rel=0.05)


def test_a_recording_as_long_as_the_video_counts_the_log_s_step():
    # the log marks a 12 s recording, as long as the 12 s video; the log's step is 0.5 s
    clock, damage_map = _clock_m(TimeBase.LOG, recordings=[(0.0, 12.0)])
    assert clock == pytest.approx(0.5 * SPEED_MPS, rel=0.05)
    assert damage_map.aligned.clock.method == "recording"


def test_a_video_timed_srt_has_no_clock_part_and_no_note():
    clock, damage_map = _clock_m()
    assert clock == 0.0 and damage_map.aligned.clock.sigma_s == 0.0
    assert not any("clock part" in note for note in damage_map.notes)


def test_an_estimated_offset_s_own_uncertainty_replaces_the_guess():
    clock, damage_map = _clock_m(TimeBase.UTC, start=START_UTC, creation_time_utc=START_UTC, offset_sigma_s=0.1)
    assert clock == pytest.approx(0.1 * SPEED_MPS, rel=0.05)
    guessed, _ = _clock_m(TimeBase.LOG, offset_s=0.5, offset_sigma_s=0.1)
    assert guessed == pytest.approx(0.1 * SPEED_MPS, rel=0.05)
    assert not any("a guess" in note for note in damage_map.notes)


def test_a_typed_offset_keeps_the_clock_s_own_uncertainty_or_counts_a_second_on_a_guess():
    """A typed offset (no uncertainty with it) shifts the clock the alignment gave: it does
    not sharpen a creation time's whole second; on a guessed start, or on telemetry written
    on the video's own clock (an SRT: nothing to shift there but by hand), it is the user's
    own lining up, counted as a second (an SRT shifted 3 s moved its sites 12 m and said
    1 m)."""
    on_stamp, _ = _clock_m(TimeBase.UTC, start=START_UTC, creation_time_utc=START_UTC, offset_s=0.5)
    assert on_stamp == pytest.approx(CREATION_TIME_SIGMA_S * SPEED_MPS, rel=0.05)
    on_guess, damage_map = _clock_m(TimeBase.LOG, offset_s=0.5)
    assert on_guess == pytest.approx(TYPED_OFFSET_SIGMA_S * SPEED_MPS, rel=0.05)
    assert damage_map.aligned.clock.offset_given
    on_srt, shifted = _clock_m(offset_s=0.5)
    assert on_srt == pytest.approx(TYPED_OFFSET_SIGMA_S * SPEED_MPS, rel=0.05)
    assert "by hand" in shifted.aligned.clock.basis
    unshifted, _ = _clock_m()
    assert unshifted == 0.0


def test_the_map_notes_say_the_clock_part_comes_from_a_guess():
    _, guessed = _clock_m(TimeBase.UTC, start=START_UTC, creation_time_utc=START_UTC)
    (note,) = [n for n in guessed.notes if "clock part" in n]
    assert "a guess" in note and "+-0.5 s" in note and "creation time" in note and "--offset auto" in note
    _, started = _clock_m(TimeBase.LOG)
    (aligned_note,) = [n for n in started.notes if "assumed to start with the video" in n]
    assert "counts this guess as +-3.0 s" in aligned_note and "clock part is 0 m" not in aligned_note
    assert not [n for n in started.notes if "clock part" in n], "the guess is said once, by the alignment's note"
    _, shifted = _clock_m(TimeBase.LOG, offset_s=0.5)
    (note,) = [n for n in shifted.notes if "clock part" in n]
    assert "by hand" in note


def test_sites_rebuilt_by_a_split_keep_the_guessed_clock_part():
    detections, times, track, video = _flight(TimeBase.LOG)
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    (site,) = damage_map.fused
    ids = sorted(o.detection_id for o in site.observations)
    damage_map.regroup_sites([ids[: len(ids) // 2], ids[len(ids) // 2:]])
    assert len(damage_map.all_fused) == 2
    for fused in damage_map.all_fused:
        assert fused.budget.clock == pytest.approx(LOG_START_SIGMA_S * SPEED_MPS, rel=0.1)


def _utc_track(seconds: float):
    from tests.geo.test_geo_sync import make_track

    times = START_UTC + np.arange(0.0, seconds, 1.0)
    return make_track(times, 30.0 + np.arange(len(times)) * 1e-5, np.full(len(times), -85.0))


def test_each_way_of_lining_up_says_how_sure_it_is(samples):
    aligned = align_track(_utc_track(30.0), duration_s=30.0, creation_time_utc=START_UTC)
    assert (aligned.clock.method, aligned.clock.sigma_s) == ("creation time", CREATION_TIME_SIGMA_S)
    # a log as long as the video, its start taken for the video's: a few seconds
    aligned = align_track(_utc_track(30.0), duration_s=30.0)
    assert (aligned.clock.method, aligned.clock.sigma_s) == ("log start", LOG_START_SIGMA_S)
    # a log 120 s longer than the video: the video may start anywhere in those 120 s
    aligned = align_track(_utc_track(150.0), duration_s=30.0)
    assert aligned.clock.sigma_s == pytest.approx(119.0 / math.sqrt(3.0))
    # a 10 Hz Airdata log's recording as long as the video: about its step
    airdata = read_telemetry(samples / "flightlog" / "mini2_Sep-5th-2021-07-23PM-Flight-Airdata.csv")
    aligned = align_track(airdata, duration_s=39.0)
    assert aligned.clock.method == "recording" and aligned.clock.sigma_s == pytest.approx(0.1, abs=0.02)
    assert not aligned.clock.offset_given
