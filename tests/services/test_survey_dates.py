"""A survey flight's date when its video has no creation time (re-encoded, copied off a
phone): the telemetry's clock dates it, UTC from a GPX, local from a DJI SRT."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import av
import gpxpy.gpx
import numpy as np
import pytest

from engine.video import probe_video
from services.survey import add_flight, create_survey

SRT_ENTRY = """{n}
00:00:0{s},000 --> 00:00:0{s},500
<font size="36">FrameCnt : {n}, DiffTime : 500ms
2021-10-10 15:56:3{s},661,949
[iso : 100] [focal_len : 280] [latitude : 50.80260{s}] [longtitude : 6.513726] [rel_alt: 40.0 abs_alt: 147.6] </font>
"""


@pytest.fixture(scope="module")
def undated_video(tmp_path_factory) -> Path:
    """2 s of 64x48 video with no creation time in its container."""
    path = tmp_path_factory.mktemp("undated") / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert probe_video(path).creation_time_utc is None
    return path


def test_a_gpx_gives_the_utc_date(undated_video, tmp_path):
    gpx = gpxpy.gpx.GPX()
    segment = gpxpy.gpx.GPXTrackSegment()
    start = dt.datetime(2024, 9, 27, 14, 5, 0, tzinfo=dt.timezone.utc)
    for k in range(4):
        segment.points.append(gpxpy.gpx.GPXTrackPoint(29.95 + k * 1e-5, -90.07, elevation=40.0,
                                                       time=start + dt.timedelta(seconds=k)))
    track = gpxpy.gpx.GPXTrack()
    track.segments.append(segment)
    gpx.tracks.append(track)
    (tmp_path / "clip.gpx").write_text(gpx.to_xml())
    survey = create_survey(tmp_path / "town")
    record = add_flight(survey, undated_video, telemetry=tmp_path / "clip.gpx", name="monday")
    assert record.date == "2024-09-27T14:05:00+00:00"


def test_a_dji_srt_gives_the_drone_clock_local_time(undated_video, tmp_path):
    srt = tmp_path / "clip.SRT"
    srt.write_text("\n".join(SRT_ENTRY.format(n=k + 1, s=k) for k in range(4)))
    survey = create_survey(tmp_path / "town")
    record = add_flight(survey, undated_video, telemetry=srt, name="tuesday")
    assert record.date == "2021-10-10T15:56:30"  # no zone: the drone's local time


def test_nothing_to_date_it_by(undated_video, tmp_path):
    survey = create_survey(tmp_path / "town")
    assert add_flight(survey, undated_video, name="wednesday").date is None
