"""Every real telemetry sample in shared/samples parses, or is refused with a clear error."""

from __future__ import annotations

import math

import pytest

from geo_helpers import samples_dir
from core.errors import TelemetryError
from geo.telemetry import TimeBase, read_telemetry

#: file name -> words the error must contain (files that are refused, on purpose)
REFUSED = {
    "mavic_air.SRT": ("no GPS position", "mavic_air.SRT"),
    "georust_mousehole_to_paul.gpx": ("timestamp", "mousehole"),
    "unicode_with_bom.gpx": ("no track or route points, only 1 waypoint (places marked, not the flight's path",),
    "rescuenet_DJI_0840_resized.jpg": ("JPEG image", "not telemetry"),
    "rescuenet_DJI_0840_exiftool.txt": ("unrecognised telemetry format",),
}


def _all_sample_files():
    root = samples_dir()
    if root is None:
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() != ".md")


@pytest.mark.parametrize("path", _all_sample_files(), ids=lambda p: p.name)
def test_every_sample_parses_or_is_refused_clearly(path):
    if path.name in REFUSED:
        with pytest.raises(TelemetryError) as info:
            read_telemetry(path)
        message = str(info.value)
        assert str(path) in message
        for word in REFUSED[path.name]:
            assert word in message
        assert "\n" not in message
        return
    track = read_telemetry(path)
    assert len(track) >= 1
    times = track.times_s()
    assert (times[1:] >= times[:-1]).all()
    for s in track.samples:
        assert -90 <= s.lat_deg <= 90 and -180 <= s.lon_deg <= 180
        assert not (s.lat_deg == 0 and s.lon_deg == 0)


def test_every_srt_family_yields_its_fields(samples):
    srt = samples / "srt"
    old = read_telemetry(srt / "mavic_pro.SRT")  # GPS(lon,lat,sats) BAROMETER:h
    assert old.samples[0].lon_deg == pytest.approx(149.0251) and old.samples[0].lat_deg == pytest.approx(-20.2533)
    assert old.samples[0].alt_rel_m == pytest.approx(1.9)  # BAROMETER, not the satellite count
    assert old.samples[0].t_s == pytest.approx(1.0)  # first cue starts at 00:00:01,000

    misspelt = read_telemetry(srt / "mavic_2_style.SRT")  # no timecodes, [longtitude : ..]
    assert len(misspelt) == 468 and misspelt.samples[1].t_s == pytest.approx(1.0)

    bom = read_telemetry(srt / "mavic_2pro_new.SRT")  # BOM, <font>, merged recordings
    assert bom.samples[0].lat_deg == pytest.approx(-35.080155)
    assert any("clock jumps 11 times" in n for n in bom.notes)

    rel_abs = read_telemetry(srt / "DJI_20240614201546_0037_D.SRT")
    first = rel_abs.samples[0]
    assert (first.alt_rel_m, first.alt_abs_m, first.focal_length_mm) == (5.3, 23.057, 24.0)
    assert rel_abs.time_base is TimeBase.VIDEO and first.frame_index == 0
    assert rel_abs.samples[1].t_s == pytest.approx(0.016)

    coded = read_telemetry(srt / "SRT2GPX_DJI_0005.SRT")  # focal_len 280 = 28 mm
    assert coded.samples[0].focal_length_mm == pytest.approx(28.0)
    assert coded.samples[0].alt_abs_m == pytest.approx(147.688995)

    gimbal = read_telemetry(srt / "dji_srt2gpx_DJI_MAVIC_3T.SRT")
    assert gimbal.samples[0].gimbal_pitch_deg == pytest.approx(-10.7)
    assert gimbal.samples[0].gimbal_yaw_deg == pytest.approx(-107.3 % 360)

    blank_inside = read_telemetry(srt / "dji_srt2gpx_DJI.SRT")  # a blank line inside each cue
    assert len(blank_inside) == 7
    assert blank_inside.samples[0].gimbal_pitch_deg == pytest.approx(-86.7)
    assert blank_inside.samples[0].yaw_deg == pytest.approx(-0.7 % 360)

    pry = read_telemetry(srt / "p4_rtk.SRT")  # F.PRY / G.PRY with degree signs
    s = pry.samples[0]
    assert (s.gimbal_pitch_deg, s.gimbal_yaw_deg, s.yaw_deg, s.alt_rel_m) == (-24.4, 110.4, 110.1, 85.8)

    webodm = read_telemetry(srt / "webodm_video.srt")  # GPS (lon, lat, sats), negative lon
    assert webodm.samples[0].lon_deg == pytest.approx(-82.6669) and len(webodm) == 3

    cut = read_telemetry(srt / "broken_incomplete.SRT")
    assert len(cut) == 19 and any("cut off" in n for n in cut.notes)

    negative = read_telemetry(srt / "metadata-embedder_Mini5PRO_clip.SRT")
    assert negative.samples[0].alt_abs_m == pytest.approx(-122.769)


def test_gpx_tracks_segments_and_gaps(samples):
    gpx = samples / "gpx"
    korita = read_telemetry(gpx / "korita-zbevnica.gpx")  # empty + untimed segments, long gaps
    assert korita.time_base is TimeBase.UTC and len(korita) == 513
    assert any("no time" in n for n in korita.notes)
    assert max(g.duration_s for g in korita.gaps()) >= 2041
    edge = read_telemetry(gpx / "gpsbabel_garmin-edge-800-output.gpx")  # GPX 1.0, 8 segments
    assert "GPX 1.0" in edge.format_detail and "8 segment" in edge.format_detail
    accuracy = read_telemetry(gpx / "georust_with_accuracy.gpx")  # non-schema <fix>, missing ele
    assert len(accuracy) == 3 and accuracy.samples[2].alt_abs_m is None


def test_airdata_csv_units_and_subsecond_times_match_its_gpx(samples):
    csv_track = read_telemetry(samples / "flightlog" / "mini2_Sep-5th-2021-07-23PM-Flight-Airdata.csv")
    gpx_track = read_telemetry(samples / "gpx" / "mini2_Sep-5th-2021-07-23PM-Flight-Airdata.gpx")
    assert csv_track.time_base is TimeBase.UTC
    # whole-second dates refined by the millisecond counter agree with the GPX export
    assert abs(csv_track.start_s - gpx_track.start_s) < 0.2
    low, high = csv_track.altitude_range("rel")
    assert 110 < high < 125  # 386 ft above take-off, converted to metres
    assert csv_track.samples[0].yaw_deg == pytest.approx(79.2)  # " compass_heading(degrees)"
    assert csv_track.samples[0].gimbal_yaw_deg == pytest.approx(63.3)


def test_geotag_csv_takes_its_start_from_the_file_name(samples):
    track = read_telemetry(samples / "flightlog" / "exiftool_Geotag_DJI_2020-12-02_[07-50-31].csv")
    assert track.time_base is TimeBase.UTC
    assert track.start_s == pytest.approx(1606895431.3)  # 2020-12-02 07:50:31 + 0.3 s
    assert track.samples[0].alt_abs_m is None and track.samples[0].alt_rel_m is None
    assert math.isclose(track.samples[0].lat_deg, -44.69009395)
