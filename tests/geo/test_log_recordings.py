"""A flight log covers the whole flight; the rows it marks as recording video (Airdata's
``isVideo``) say which stretch of it a video is, where nothing else dates the video."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from core.errors import TelemetryError
from geo.clock_offset import track_motion
from geo.sync import align_track, recording_start
from geo.telemetry import TimeBase, read_telemetry
from geo.telemetry.summary import format_summary, summarise

AIRDATA = "mini2_Sep-5th-2021-07-23PM-Flight-Airdata.csv"
START = dt.datetime(2024, 9, 27, 14, 5, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def airdata(samples):
    return read_telemetry(samples / "flightlog" / AIRDATA)


def _airdata_recording_rows(samples: Path) -> list[tuple[float, float]]:
    """(first, last) ``time(millisecond)`` of each run of isVideo rows, seconds, read
    straight from the sample."""
    with open(samples / "flightlog" / AIRDATA, newline="") as f:
        rows = list(csv.reader(f))
    t, flag = rows[0].index("time(millisecond)"), rows[0].index("isVideo")
    runs, first = [], None
    for row in rows[1:]:
        ms = float(row[t]) / 1000.0
        if row[flag].strip() == "1":
            first = ms if first is None else first
            last = ms
        elif first is not None:
            runs.append((first, last))
            first = None
    return runs


def test_the_airdata_sample_marks_two_recordings_and_a_passing_row(airdata, samples):
    runs = _airdata_recording_rows(samples)
    assert len(runs) == 3 and runs[1][1] - runs[1][0] < 0.5  # one row flagged in passing
    assert len(airdata.recordings) == 2
    for (start, end), (first, last) in zip(airdata.recordings, [runs[0], runs[2]]):
        assert start - airdata.start_s == pytest.approx(first, abs=0.25)
        assert end - start == pytest.approx(last - first + 0.1, abs=0.05)


def test_the_summary_lists_the_recordings(airdata):
    text = format_summary(summarise(airdata))
    line = next(x for x in text.splitlines() if x.startswith("video recorded"))
    assert "for 29.0 s" in line and "for 39.1 s" in line and "2021-09-06T02:30:0" in line


def test_a_video_without_a_creation_time_starts_at_the_recording_as_long_as_it(airdata):
    start, end = airdata.recordings[1]
    aligned = align_track(airdata, duration_s=39.0)
    t_raw = airdata.times_s()
    assert np.interp(0.0, aligned.t_s, t_raw) == pytest.approx(start, abs=1e-6)
    note = aligned.notes[0]
    assert note.startswith("the video has no creation time: lined up with the recording")
    assert "39.1 s long" in note and "assumed" not in note
    # the map's dates follow: time 0 of the video is the recording's start
    assert recording_start(airdata, None, duration_s=39.0) == (pytest.approx(start), True)
    assert recording_start(airdata, None, 2.0, duration_s=39.0)[0] == pytest.approx(start - 2.0)


def test_a_video_as_long_as_no_recording_starts_with_the_log_and_says_why(airdata):
    aligned = align_track(airdata, duration_s=15.0)
    assert aligned.t_s[0] == 0.0
    assert "none of the 2 recordings the log marks is as long as the 15.0 s video: 29.0 s, 39.1 s" in aligned.notes[0]
    assert recording_start(airdata, None, duration_s=15.0)[0] == pytest.approx(airdata.start_s)


def _write_log(path: Path, flags: list[int], *, dated: bool = True, step_s: float = 0.5) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["datetime(utc)" if dated else "time(s)", "latitude", "longitude", "height_above_takeoff(m)",
                    "isVideo"])
        for k, on in enumerate(flags):
            moment = START + dt.timedelta(seconds=k * step_s)
            when = moment.strftime("%Y-%m-%d %H:%M:%S.%f") if dated else f"{k * step_s:.1f}"
            w.writerow([when, f"{29.95 + k * 1e-5:.7f}", "-90.07", "40", on])
    return path


def test_two_recordings_as_long_as_the_video_take_the_first_and_offer_the_other(tmp_path):
    flags = [0] * 20 + [1] * 40 + [0] * 30 + [1] * 40 + [0] * 10  # two 20 s recordings, 35 s apart
    track = read_telemetry(_write_log(tmp_path / "log.csv", flags))
    assert [round(b - a, 1) for a, b in track.recordings] == [20.0, 20.0]
    aligned = align_track(track, duration_s=20.0)
    first, second = track.recordings[0][0], track.recordings[1][0]
    assert np.interp(0.0, aligned.t_s, track.times_s()) == pytest.approx(first)
    assert "1 more recording is that long: if the map is off, try --offset -35.0" in aligned.notes[0]
    moved = align_track(track, duration_s=20.0, offset_s=-35.0)
    assert np.interp(0.0, moved.t_s, track.times_s()) == pytest.approx(second)


def test_a_log_without_a_date_is_lined_up_by_its_recording_too(tmp_path):
    track = read_telemetry(_write_log(tmp_path / "log.csv", [0] * 30 + [1] * 24 + [0] * 6, dated=False))
    assert track.time_base is TimeBase.LOG
    aligned = align_track(track, duration_s=12.0)
    assert np.interp(0.0, aligned.t_s, track.times_s()) == pytest.approx(15.0)
    assert "the log has no date: lined up with the recording the log marks from 15.0 s into the log" in aligned.notes[0]


def test_the_clock_offset_search_starts_where_the_map_does(airdata):
    """An offset read from the video's motion is added to the same start the map takes."""
    for duration in (39.0, 15.0):
        motion = track_motion(airdata, duration_s=duration)
        aligned = align_track(airdata, duration_s=duration)
        assert motion.t_s[0] == pytest.approx(aligned.t_s[~aligned.outlier][0], abs=1e-6)


def test_a_creation_time_off_the_log_is_refused_with_the_offset_to_its_recording(airdata):
    start, _ = airdata.recordings[0]
    local_clock = start + 7 * 3600 + 0.4  # a camera set to local time (UTC-7) marked as UTC
    with pytest.raises(TelemetryError) as refused:
        align_track(airdata, duration_s=29.0, creation_time_utc=local_clock)
    offset = local_clock - start
    assert f"--offset {offset:.1f}" in str(refused.value) and "recording as long as the video" in str(refused.value)
    aligned = align_track(airdata, duration_s=29.0, creation_time_utc=local_clock, offset_s=round(offset, 1))
    assert np.interp(0.0, aligned.t_s, airdata.times_s()) == pytest.approx(start, abs=0.06)


def test_a_creation_time_between_recordings_gets_a_note(airdata):
    start, _ = airdata.recordings[0]
    between = start + 120.0  # on the log, but where it marks no recording
    aligned = align_track(airdata, duration_s=29.0, creation_time_utc=between)
    assert any("puts it where the log marks no recording" in n and "--offset 120.0" in n for n in aligned.notes)
    inside = align_track(airdata, duration_s=29.0, creation_time_utc=start + 0.3)
    assert not any("marks no recording" in n for n in inside.notes)


def test_the_map_dates_and_places_the_video_by_its_recording(tmp_path):
    from geo.export.records import iso_time
    from geo.mapping import build_damage_map_from

    flags = [0] * 30 + [1] * 24 + [0] * 6  # the camera recorded from 15 s to 27 s into the flight
    track = read_telemetry(_write_log(tmp_path / "log.csv", flags))
    video = {"width_px": 320, "height_px": 180, "duration_s": 12.0, "creation_time_utc": None}
    damage_map = build_damage_map_from([], {0: 0.0, 10: 1.0}, track, video=video)
    assert iso_time(damage_map, 0.0) == "2024-09-27T14:05:15.000Z"
    assert any("lined up with the recording the log marks from 2024-09-27 14:05:15 UTC" in n
               for n in damage_map.aligned.notes)
