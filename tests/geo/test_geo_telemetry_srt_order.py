"""The order of latitude and longitude in DJI ``GPS(a, b, ..)`` cues is decided per file,
from the values and the drone family, and said in the track and its summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.telemetry import read_telemetry
from geo.telemetry.summary import format_summary, summarise

DATA = Path(__file__).resolve().parents[1] / "data" / "telemetry"


def _cues(lines: list[str]) -> str:
    """One 1-s cue per payload line, with a date line like the old families write."""
    out = []
    for i, payload in enumerate(lines):
        out.append(f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i + 1:02d},000\n2022.06.21 16:06:{17 + i:02d}\n{payload}\n")
    return "\n".join(out)


def test_matrice_300_file_reads_latitude_first():
    track = read_telemetry(DATA / "matrice300_lat_first.SRT")
    assert len(track) == 48 and track.coordinate_order == "lat,lon"
    first = track.samples[0]
    assert (first.lat_deg, first.lon_deg) == (36.6146, -6.1120)
    assert first.alt_rel_m == pytest.approx(0.3)  # BAROMETER:0.3M, height above take-off
    assert track.samples[-1].alt_rel_m == pytest.approx(80.1)
    assert "Matrice" in track.format_detail and "latitude, longitude" in track.format_detail
    assert not any("could not be told" in n for n in track.notes)
    summary = summarise(track)
    assert summary["coordinate_order"] == "lat,lon"
    assert summary["bbox"]["min_lat"] > 36.6 and summary["bbox"]["max_lon"] < -6.1
    assert "coordinate order     latitude, longitude" in format_summary(summary)


def test_the_single_matrice_line_from_a_real_flight_is_not_refused(tmp_path):
    path = tmp_path / "m300.SRT"
    path.write_text(_cues(["GPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M"]))
    sample = read_telemetry(path).samples[0]
    assert (sample.lat_deg, sample.lon_deg, sample.alt_rel_m) == (36.6146, -6.1120, 0.3)


def test_a_number_beyond_90_is_the_longitude_whatever_the_family(tmp_path):
    # latitude first, no family marks, Hong Kong: the second number can only be a longitude
    lat_first = tmp_path / "hk.SRT"
    lat_first.write_text(_cues([f"GPS(22.30{i},114.17{i},12)" for i in range(5)]))
    track = read_telemetry(lat_first)
    assert track.coordinate_order == "lat,lon" and track.samples[0].lon_deg == pytest.approx(114.170)
    assert "exceeds ±90" in track.format_detail
    # longitude first, even with the Matrice's M units
    lon_first = tmp_path / "au.SRT"
    lon_first.write_text(_cues([f"GPS(149.02{i},-20.25{i},0.0M) BAROMETER:1.{i}M" for i in range(5)]))
    track = read_telemetry(lon_first)
    assert track.coordinate_order == "lon,lat" and track.samples[0].lat_deg == pytest.approx(-20.250)


def test_mavic_pro_family_in_europe_reads_longitude_first(tmp_path):
    # both numbers within ±90: HOME(..) and the satellite count mark the lon-first family
    path = tmp_path / "zurich.SRT"
    path.write_text(_cues([f"HOME(8.5417,47.3768) 2017.08.05 14:11:51\nGPS(8.541{i},47.377{i},16) BAROMETER:{i}.5"
                           for i in range(5)]))
    track = read_telemetry(path)
    assert track.coordinate_order == "lon,lat"
    assert (track.samples[0].lat_deg, track.samples[0].lon_deg) == (47.3770, 8.5410)


@pytest.mark.parametrize(("written", "yaw"), [("lat,lon", 0.0), ("lon,lat", 0.0), ("lat,lon", 90.0)])
def test_unmarked_pairs_are_ordered_by_the_direction_flown_against_the_yaw(tmp_path, written, yaw):
    # no family mark, both within ±90: flying along the yaw tells the order apart
    rows = []
    for i in range(12):
        lat = 36.6146 + (i * 0.0001 if yaw == 0.0 else 0.0)
        lon = -6.1120 + (i * 0.0001 if yaw == 90.0 else 0.0)
        a, b = (lat, lon) if written == "lat,lon" else (lon, lat)
        rows.append(f"GPS({a:.6f},{b:.6f}) F.PRY (-2.0°, 0.5°, {yaw:.1f}°)")
    path = tmp_path / "yaw.SRT"
    path.write_text(_cues(rows))
    track = read_telemetry(path)
    assert track.coordinate_order == written and "yaw" in track.format_detail
    assert track.samples[0].lat_deg == pytest.approx(36.6146)


def test_an_undecidable_file_is_read_and_says_the_order_was_assumed(tmp_path):
    path = tmp_path / "still.SRT"
    path.write_text(_cues(["GPS(36.6146,-6.1120)"] * 3))
    track = read_telemetry(path)
    assert len(track) == 3 and track.coordinate_order == "lon,lat"
    assert any("could not be told" in n for n in track.notes)


def test_named_fields_need_no_order(samples):
    track = read_telemetry(samples / "srt" / "mini3pro_DJI_0023.SRT")
    assert track.coordinate_order is None and summarise(track)["coordinate_order"] is None
    assert read_telemetry(samples / "srt" / "p4_rtk.SRT").coordinate_order == "lon,lat"


def test_the_drone_clock_is_printed_without_a_zone_it_does_not_have():
    """A DJI SRT writes its clock in local time with no zone: the summary must not
    mark it UTC with a ``Z``."""
    summary = summarise(read_telemetry(DATA / "matrice300_lat_first.SRT"))
    assert summary["wall_clock_utc"] is False
    start = summary["wall_clock_start"]
    assert start[:4].isdigit() and "T" in start and not start.endswith("Z") and "+" not in start
    line = next(row for row in format_summary(summary).splitlines() if row.startswith("drone clock"))
    assert line.endswith(f"{start} at video start (local time as written)")


def test_the_summary_says_the_map_will_assume_the_pitch_of_a_log_without_one(tmp_path):
    without = summarise(read_telemetry(DATA / "matrice300_lat_first.SRT"))
    assert any(n.startswith("no gimbal pitch: the map assumes") and "--pitch DEG" in n for n in without["notes"])
    path = tmp_path / "gimbal.SRT"
    path.write_text(_cues(["[latitude: 36.6146] [longitude: -6.1120] [rel_alt: 50.0 abs_alt: 60.0] "
                           "[gb_yaw: 10.0 gb_pitch: -60.0 gb_roll: 0.0]"] * 3))
    with_pitch = summarise(read_telemetry(path))
    assert not any(n.startswith("no gimbal pitch") for n in with_pitch["notes"])
