"""When a recording was made, for every export: the video's creation time; else the
telemetry's UTC clock put on the video; else a DJI drone's own clock, local time, which
a person reads but no UTC field carries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from core.types import TelemetrySample
from geo.export.html import render_html
from geo.export.records import DRONE_CLOCK, clock_time, iso_time
from geo.mapping import build_damage_map_from
from geo.telemetry.track import TimeBase, Track

START = dt.datetime(2024, 9, 27, 14, 5, 0, tzinfo=dt.timezone.utc).timestamp()
VIDEO = {"width_px": 320, "height_px": 180, "duration_s": 20.0}


def _track(time_base: TimeBase, *, first_s: float = 0.0, wall_clock: float | None = None,
           fmt: str = "gpx") -> Track:
    samples = tuple(TelemetrySample(t_s=first_s + float(t), lat_deg=29.95 + 5.0 * t / 111_320.0, lon_deg=-90.07,
                                    alt_rel_m=40.0) for t in np.arange(0.0, 20.0, 1.0))
    return Track(samples, None, fmt, time_base, wall_clock_start_utc=wall_clock)


def _map(track: Track, creation_time_utc: float | None = None, offset_s: float = 0.0):
    video = {**VIDEO, "creation_time_utc": creation_time_utc}
    return build_damage_map_from([], {50: 5.0, 60: 6.0}, track, video=video, offset_s=offset_s)


def test_a_video_without_a_creation_time_is_dated_by_its_gpx():
    damage_map = _map(_track(TimeBase.UTC, first_s=START), offset_s=2.0)
    assert damage_map.recording_start() == (pytest.approx(START - 2.0), True)
    assert iso_time(damage_map, 2.0) == "2024-09-27T14:05:00.000Z"  # the track's first fix, 2 s into the video
    assert "Recorded 2024-09-27 14:04 UTC" in render_html(damage_map)


def test_the_video_creation_time_comes_first():
    damage_map = _map(_track(TimeBase.UTC, first_s=START), creation_time_utc=START - 1.5, offset_s=2.0)
    assert damage_map.recording_start() == (START - 1.5, True)  # not the track's clock less the offset


def test_a_drone_clock_is_read_but_never_written_as_utc():
    """A DJI SRT: video time, and the drone's wall clock in local time with no zone."""
    damage_map = _map(_track(TimeBase.VIDEO, wall_clock=START, fmt="dji-srt"), offset_s=0.5)
    assert damage_map.recording_start() == (pytest.approx(START - 0.5), False)
    assert iso_time(damage_map, 1.0) is None  # no UTC field gets a local time
    moment, clock = clock_time(damage_map, 0.5)
    assert clock == DRONE_CLOCK and moment.strftime("%H:%M:%S") == "14:05:00"
    assert f"Recorded 2024-09-27 14:04 ({DRONE_CLOCK})" in render_html(damage_map)


def test_a_gopro_gps_clock_is_utc():
    damage_map = _map(_track(TimeBase.VIDEO, wall_clock=START, fmt="gopro-gpmf"))
    assert damage_map.recording_start() == (START, True) and iso_time(damage_map, 0.0) == "2024-09-27T14:05:00.000Z"


def test_nothing_dates_a_log_without_a_date():
    damage_map = _map(_track(TimeBase.LOG))
    assert damage_map.recording_start() == (None, False) and clock_time(damage_map, 0.0) is None
    assert "Recorded unknown" in render_html(damage_map)


def test_the_relief_products_say_which_clock_dated_the_imagery():
    from geo.export.products import imagery_text, imagery_times

    srt = _map(_track(TimeBase.VIDEO, wall_clock=START, fmt="dji-srt"))
    assert imagery_times(srt) == (None, None)
    assert imagery_text(srt, None, None) == f"2024-09-27 14:05:05 to 14:05:06 ({DRONE_CLOCK}; UTC not known)"
    gpx = _map(_track(TimeBase.UTC, first_s=START))
    first, last = imagery_times(gpx)
    assert (first, last) == ("2024-09-27T14:05:05.000Z", "2024-09-27T14:05:06.000Z")
    assert imagery_text(gpx, first, last) == "2024-09-27 14:05:05 UTC to 14:05:06 UTC"
    assert imagery_text(_map(_track(TimeBase.LOG)), None, None).startswith("unknown")
