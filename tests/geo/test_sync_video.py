"""A DJI SRT counts from the start of its video, so nothing in its times ties it to that
video: the SRT of another recording lines up with any video. Its length, frame counter
and dates against the video's say whether it is that video's; the dates and the length
together refuse it, either alone is a caution, and the names only add a hint."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import TelemetryError
from engine.video import probe_video
from geo.sync import align_track
from geo.sync_video import VideoFacts, match_video
from geo.telemetry import read_telemetry
from geo.telemetry.track import TimeBase
from tests.geo.test_geo_sync import make_track

#: 2018-10-12 15:00:00 UTC, the synthetic flights' start
START = dt.datetime(2018, 10, 12, 15, tzinfo=dt.timezone.utc).timestamp()


def _facts(video: Path) -> VideoFacts:
    info = probe_video(video)
    return VideoFacts(info.duration_s, info.creation_time_utc, info.frame_count, Path(info.path))


def _srt_track(seconds: float, *, dated: float | None = START, frames: int | None = None, name: str = "DJI_0023.SRT"):
    """A track on the video's clock of ``seconds``, its drone clock at ``dated``."""
    times = np.arange(0.0, seconds, 0.1)
    track = make_track(times, 30.0 + times * 1e-5, np.full(len(times), -85.0), base=TimeBase.VIDEO)
    return dataclasses.replace(track, path=Path(name), video_end_s=seconds, wall_clock_start_utc=dated,
                               frames_counted=frames)


def test_the_real_mini_3_pro_srt_beside_another_video_is_refused_naming_both(samples, sites_flyover):
    srt = samples / "srt" / "mini3pro_DJI_0023.SRT"
    track, video = read_telemetry(srt), _facts(Path(sites_flyover.video))
    match = match_video(track, video)
    assert match.refused
    with pytest.raises(TelemetryError) as refused:
        align_track(track, duration_s=video.duration_s, creation_time_utc=video.creation_time_utc,
                    frame_count=video.frame_count, video_path=video.path)
    said = str(refused.value)
    assert said.startswith(f"{srt}: telemetry of another video, not {Path(sites_flyover.video).name}'s")
    assert "it runs 40.1 s and the video 2.0 s (1203 frames by its counter, the video 20)" in said
    assert "its dates start 2022-12-29 08:32:20 (the drone's local time) and the video was created " \
           "2018-10-12 15:00:00 UTC, 4.2 years apart" in said
    # the window's check passes the length and the creation time alone: refused all the same
    with pytest.raises(TelemetryError, match="telemetry of another video"):
        align_track(track, duration_s=video.duration_s, creation_time_utc=video.creation_time_utc)
    # an offset given lines it up by hand (a video cut from the SRT's recording): taken as the video's
    align_track(track, duration_s=video.duration_s, creation_time_utc=video.creation_time_utc, offset_s=-10.0)


def test_the_synthetic_flight_and_its_own_srt_say_nothing(sites_flyover):
    match = match_video(read_telemetry(Path(sites_flyover.srt)), _facts(Path(sites_flyover.video)))
    assert match.evidence == () and match.caution is None and not match.refused


def test_a_video_stamped_anew_alone_is_a_caution_not_a_refusal(sites_flyover, tagged_copy, tmp_path):
    """An editor re-saving the whole video writes its own creation time: the flight's own
    SRT still covers it, so the dates alone only caution."""
    restamped = tagged_copy(Path(sites_flyover.video), tmp_path / "DJI_0023.MP4",
                            {"creation_time": "2021-03-01T09:00:00.000000Z"})
    match = match_video(read_telemetry(Path(sites_flyover.srt)), _facts(restamped))
    assert [e.kind for e in match.evidence] == ["dates"] and not match.refused
    assert "2.4 years apart" in match.caution and "DJI_0023.MP4" in match.caution


@pytest.mark.parametrize("hours", [-14, -9.5, 1, 9, 14])
def test_the_drones_local_time_against_a_utc_stamp_is_no_evidence(hours):
    """DJI SRT dates are local time with no zone; the video's stamp may be UTC."""
    video = VideoFacts(40.0, START, 400, Path("DJI_0023.MP4"))
    assert match_video(_srt_track(40.0, dated=START + hours * 3600), video).evidence == ()


def test_dates_a_day_apart_count():
    video = VideoFacts(40.0, START, 400, Path("DJI_0023.MP4"))
    match = match_video(_srt_track(40.0, dated=START + 86400), video)
    assert [e.kind for e in match.evidence] == ["dates"] and "24 h apart" in match.caution


@pytest.mark.parametrize(("srt_s", "video_s", "evidence"), [
    (40.0, 16.0, True),   # another video's
    (16.0, 40.0, True),
    (42.5, 40.0, False),  # the last cue runs past the end, a video cut a little short
    (37.5, 40.0, False),
    (300.0, 280.0, False),  # within a tenth of a long video
    (300.0, 250.0, True),
])
def test_a_length_beyond_a_few_seconds_and_a_tenth_is_a_caution(srt_s, video_s, evidence):
    match = match_video(_srt_track(srt_s), VideoFacts(video_s, START))
    assert bool(match.evidence) is evidence and not match.refused
    if evidence:
        assert f"it runs {srt_s:.1f} s and the video {video_s:.1f} s" in match.caution


def test_a_frame_counter_of_another_rate_is_a_caution():
    """As long as the video, but counted at 25 frames a second against the video's 30."""
    match = match_video(_srt_track(40.0, frames=1000), VideoFacts(40.0, START, 1200))
    assert [e.kind for e in match.evidence] == ["frames"] and not match.refused
    assert "its frame counter spans 1000 frames and the video holds 1200" in match.caution


def test_dates_and_length_together_refuse():
    match = match_video(_srt_track(40.0, dated=START + 3 * 86400), VideoFacts(16.0, START, 160, Path("DJI_0024.MP4")))
    assert match.refused and "3 days apart" in match.refusal
    assert "their names differ (DJI_0023.SRT beside DJI_0024.MP4" in match.refusal


def test_names_alone_are_never_evidence():
    assert match_video(_srt_track(40.0), VideoFacts(40.0, START, 400, Path("DJI_0024.MP4"))).evidence == ()


def test_a_clock_never_set_is_no_evidence():
    unset = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    assert match_video(_srt_track(40.0), VideoFacts(40.0, unset, 400)).evidence == ()


def test_a_track_on_another_clock_or_read_from_the_video_itself_is_not_compared(tmp_path):
    utc = dataclasses.replace(_srt_track(40.0), time_base=TimeBase.UTC)
    assert match_video(utc, VideoFacts(16.0, START + 86400 * 5)).evidence == ()
    video = tmp_path / "GOPR0001.MP4"
    video.write_bytes(b"")
    embedded = dataclasses.replace(_srt_track(40.0, dated=START - 86400 * 5), path=video)
    assert match_video(embedded, VideoFacts(16.0, START, path=video)).evidence == ()


def test_the_srt_reader_keeps_its_last_cue_end_and_its_frame_counter(samples, tmp_path):
    mini3 = read_telemetry(samples / "srt" / "mini3pro_DJI_0023.SRT")
    assert mini3.video_end_s == pytest.approx(40.136) and mini3.frames_counted == 1203
    merged = read_telemetry(samples / "srt" / "mavic_2pro_new.SRT")  # twelve recordings: the counter restarts
    assert merged.frames_counted is None and merged.video_end_s == pytest.approx(369.88)
    old = read_telemetry(samples / "srt" / "mavic_pro.SRT")  # one-second cues, no counter
    assert old.video_end_s == pytest.approx(469.0) and old.frames_counted is None
    copy = shutil.copy(samples / "srt" / "mavic_2_style.SRT", tmp_path / "no_timecodes.SRT")
    assert read_telemetry(copy).video_end_s is None  # no timecodes: the length is its last entry and a step
