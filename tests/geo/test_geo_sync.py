"""Aligning tracks to the video clock, interpolation, GPS jumps, gaps, the local frame."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import TelemetryError
from core.types import TelemetrySample
from geo.local import LocalFrame, utm_crs_for
from geo.sync import align_track
from geo.telemetry import TimeBase, Track

T0 = 1_600_000_000.0  # a UTC epoch


def make_track(times, lats, lons, *, base=TimeBase.UTC, yaw=None, rel=50.0) -> Track:
    samples = tuple(
        TelemetrySample(t_s=float(t), lat_deg=float(la), lon_deg=float(lo), alt_rel_m=rel,
                        yaw_deg=None if yaw is None else float(yaw[k]))
        for k, (t, la, lo) in enumerate(zip(times, lats, lons))
    )
    return Track(samples=samples, path=None, format="test", time_base=base)


def test_utc_track_aligned_by_creation_time_and_offset():
    times = T0 + np.arange(0, 60.0)
    lats = 30.0 + np.arange(60) * 1e-5
    track = make_track(times, lats, np.full(60, -85.0))
    aligned = align_track(track, duration_s=20.0, creation_time_utc=T0 + 10.0)
    state = aligned.interpolate([0.0, 5.5])
    expected_e, expected_n = aligned.local.to_local([-85.0, -85.0], [30.0 + 10e-5, 30.0 + 15.5e-5])
    assert np.allclose(state.north_m, expected_n, atol=1e-6) and state.valid.all()
    shifted = align_track(track, duration_s=20.0, creation_time_utc=T0 + 10.0, offset_s=2.0)
    moved = shifted.interpolate([2.0])
    _, lat = shifted.local.to_lonlat(moved.east_m, moved.north_m)
    assert lat[0] == pytest.approx(30.0 + 10e-5, abs=1e-9)  # offset +2 s: t=2 shows what t=0 did


def test_track_that_misses_the_video_is_refused_with_a_hint():
    track = make_track(T0 + np.arange(10.0), np.full(10, 30.0), np.full(10, -85.0))
    track = Track(track.samples, path=None, format="gpx", time_base=TimeBase.UTC)
    with pytest.raises(TelemetryError) as info:
        align_track(track, duration_s=20.0, creation_time_utc=T0 + 3600.0)
    message = str(info.value)
    assert "does not overlap" in message and "--offset 3600.0" in message and "UTC" in message
    assert "+1 h: is one clock in local time?" in message


def test_a_track_years_from_the_video_is_called_another_flight_s_not_given_an_offset():
    track = make_track(T0 + np.arange(10.0), np.full(10, 30.0), np.full(10, -85.0))
    with pytest.raises(TelemetryError) as info:
        align_track(track, duration_s=20.0, creation_time_utc=T0 + 8 * 365.25 * 86400)
    message = str(info.value)
    assert "does not overlap" in message and "8.0 years apart" in message and "flight's own track" in message
    assert "--offset" not in message and "local time" not in message


def test_an_offset_set_far_too_large_is_named_as_what_sets_track_and_video_apart():
    """The flight's own track, with an offset of a billion seconds typed: the message says
    the offset is the cause, and which one lines them up, not that the track is another
    flight's."""
    track = make_track(T0 + np.arange(10.0), np.full(10, 30.0), np.full(10, -85.0))
    with pytest.raises(TelemetryError) as info:
        align_track(track, duration_s=20.0, creation_time_utc=T0 + 2.0, offset_s=1e9)
    message = str(info.value)
    assert "the offset of +1000000000.0 s set for it puts the track 31.7 years from the video" in message
    assert "--offset 2.0 starts both together, --offset 0 sets none" in message
    assert "flight's own track" not in message


def test_video_relative_track_needs_no_creation_time():
    track = make_track(np.arange(10.0), np.full(10, 30.0), np.full(10, -85.0), base=TimeBase.VIDEO, yaw=[90.0] * 10)
    aligned = align_track(track, duration_s=9.0)
    assert aligned.interpolate([4.5]).valid[0]
    no_heading = align_track(make_track(np.arange(10.0), np.full(10, 30.0), np.full(10, -85.0), base=TimeBase.VIDEO),
                             duration_s=9.0)
    assert not no_heading.interpolate([4.5]).valid[0]  # hovering, no yaw: no camera heading
    with pytest.raises(TelemetryError, match="does not overlap"):
        align_track(track, duration_s=9.0, offset_s=-100.0)


def test_heading_is_interpolated_as_an_angle():
    track = make_track(np.arange(2.0), [30.0, 30.0001], [-85.0, -85.0], base=TimeBase.VIDEO, yaw=[350.0, 10.0])
    aligned = align_track(track, duration_s=1.0)
    heading = aligned.interpolate([0.5]).heading_grid_deg[0]
    true_heading = (heading - aligned.local.convergence_deg) % 360.0
    assert min(true_heading, 360 - true_heading) == pytest.approx(0.0, abs=1e-6)


def test_gps_jump_is_flagged_and_not_used():
    n = 30
    lats = 30.0 + np.arange(n) * 2e-5  # ~2.2 m/s north
    lats[12] += 0.01  # a 1.1 km spike
    track = make_track(np.arange(float(n)), lats, np.full(n, -85.0), base=TimeBase.VIDEO)
    aligned = align_track(track, duration_s=n - 1.0)
    assert aligned.outlier.tolist() == [k == 12 for k in range(n)]
    assert any("GPS jumps" in note for note in aligned.notes)
    _, north = aligned.local.to_local([-85.0], [30.0 + 12 * 2e-5])
    assert aligned.interpolate([12.0]).north_m[0] == pytest.approx(north[0], abs=0.05)


def test_gaps_are_not_bridged():
    times = np.array([0, 1, 2, 3, 30, 31, 32.0])
    track = make_track(times, 30.0 + times * 1e-5, np.full(7, -85.0), base=TimeBase.VIDEO)
    aligned = align_track(track, duration_s=32.0)
    valid = aligned.interpolate([1.5, 15.0, 31.0]).valid
    assert valid.tolist() == [True, False, True]
    assert [(g.start_s, g.end_s) for g in track.gaps()] == [(3.0, 30.0)]


def test_track_bearing_is_used_without_any_heading():
    times = np.arange(20.0)
    track = make_track(times, np.full(20, 30.0), -85.0 + times * 2e-5, base=TimeBase.VIDEO)  # flying east
    aligned = align_track(track, duration_s=19.0)
    state = aligned.interpolate([10.0])
    assert state.heading_source == "track bearing"
    assert state.heading_grid_deg[0] == pytest.approx(float(aligned.local.grid_azimuth_deg(90.0)), abs=0.05)
    assert state.pitch_deg[0] == -45.0


@pytest.mark.parametrize(("lon", "lat", "epsg"), [(-85.66, 30.16, 32616), (149.02, -20.25, 32755), (6.5, 50.8, 32632)])
def test_utm_zone_and_round_trip(lon, lat, epsg):
    assert utm_crs_for(lon, lat).to_epsg() == epsg
    frame = LocalFrame.around(lon, lat)
    e, n = frame.to_local([lon + 0.01], [lat - 0.01])
    back = frame.to_lonlat(e, n)
    assert back[0][0] == pytest.approx(lon + 0.01, abs=1e-9) and back[1][0] == pytest.approx(lat - 0.01, abs=1e-9)


@pytest.mark.parametrize(("lon", "lat"), [
    (-84.0, 30.1),  # on the edge of zones 16 and 17: the first the database lists
    (-85.66, 0.0),  # on the equator: north or south
    (3.0, 60.0),  # south-west Norway's wider zone 32
    (21.0, 78.0),  # Svalbard's zones
    (180.0, -16.0), (-180.0, 84.0),  # the antimeridian, the last latitude with a zone
])
def test_the_zone_is_the_one_the_database_gives_for_the_point(lon, lat):
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    from geo.local import _utm_epsg_for

    asked = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    assert _utm_epsg_for(lon, lat) == int(asked[0].code)


def test_no_zone_near_the_poles_is_a_clear_error():
    with pytest.raises(ValueError, match="nearer the pole than the UTM zones reach"):
        utm_crs_for(10.0, 86.0)


def test_true_azimuth_becomes_grid_azimuth():
    from pyproj import Geod

    frame = LocalFrame.around(-85.66, 30.16)  # 1.3 deg east of zone 16's central meridian
    lon, lat, _ = Geod(ellps="WGS84").fwd(-85.66, 30.16, 40.0, 200.0)
    e, n = frame.to_local([lon], [lat])
    grid = np.degrees(np.arctan2(e[0], n[0])) % 360
    assert grid == pytest.approx(float(frame.grid_azimuth_deg(40.0)), abs=0.01)
    assert abs(frame.convergence_deg) > 0.5


def test_a_clock_guessed_from_the_video_s_start_says_the_uncertainty_counts_the_guess():
    """The sites' uncertainty showed a clock part of 0 m where the clock was a guess; it
    counts the guess: the log outlasts the video by 9 s, 9 / sqrt(3) = 5.2 s."""
    times = T0 + np.arange(0, 30.0)
    track = make_track(times, 30.0 + np.arange(30) * 1e-5, np.full(30, -85.0))
    guessed = align_track(track, duration_s=20.0, creation_time_utc=None)
    (note,) = [n for n in guessed.notes if "no creation time" in n]
    assert "counts this guess as +-5.2 s" in note and "--offset auto" in note
    given = align_track(track, duration_s=20.0, creation_time_utc=None, offset_s=-3.0)
    (note,) = [n for n in given.notes if "no creation time" in n]
    assert note.endswith("then shifted by the offset given (-3.0 s)") and "leaves this guess out" not in note
