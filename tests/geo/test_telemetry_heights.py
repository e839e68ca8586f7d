"""``damagemap telemetry`` says what a file's heights are measured from, the home point
(take-off) where the file writes one, and which height the map takes for the camera."""

from __future__ import annotations

import pytest

from geo.telemetry import read_telemetry
from geo.telemetry.summary import format_summary, summarise
from tests.srt_files import write_srt


def test_a_mavic_pro_home_point_and_barometric_height_are_said(tmp_path):
    path = write_srt(tmp_path, "mavic_pro.SRT", [
        f"HOME(149.0251,-20.2532) 2017.08.05 14:11:{51 + i}\nGPS(149.0251,-20.253{3 + i},16) BAROMETER:{1.9 + i}\n"
        "ISO:100 Shutter:60 EV: Fnum:2.2" for i in range(4)])
    summary = summarise(read_telemetry(path))
    assert summary["home"] == {"lat": -20.2532, "lon": 149.0251, "altitude_m": None}  # HOME(lon, lat)
    assert summary["altitude_sources"] == {"rel": "BAROMETER: barometric height above the take-off point"}
    assert summary["camera_height"] == "the height above take-off"
    text = format_summary(summary)
    assert "home (take-off)      lat -20.253200, lon 149.025100\n" in text
    assert "1.9 to 4.9 m (BAROMETER: barometric height above the take-off point)" in text


def test_a_phantom_home_with_its_altitude_and_h_height(tmp_path):
    path = write_srt(tmp_path, "p4_rtk.SRT", [
        f"F/5.6, SS 400, ISO 100, EV 0, GPS (-58.85174{i}, -34.23792{i}, 15), HOME (-58.847509, -34.232707, -57.98m), "
        f"D 698.70m, H 85.{80 + i}m, H.S 0.00m/s, V.S 0.00m/s" for i in range(4)])
    summary = summarise(read_telemetry(path))
    assert summary["home"] == {"lat": -34.232707, "lon": -58.847509, "altitude_m": -57.98}
    assert summary["altitude_sources"]["rel"].startswith("H: height above the take-off")
    assert "altitude -57.98 m as written" in format_summary(summary)


def test_rel_alt_and_abs_alt_are_told_apart_and_the_camera_uses_rel_alt(tmp_path):
    path = write_srt(tmp_path, "mini.SRT", [
        f'<font size="28">FrameCnt: {i + 1}, DiffTime: 33ms\n2022-12-29 08:32:2{i}.113\n'
        f"[latitude: 41.15157{i}] [longitude: 16.412772] [rel_alt: 50.{i}00 abs_alt: 172.0{i}4] </font>"
        for i in range(4)])
    track = read_telemetry(path)
    assert track.home is None
    summary = summarise(track)
    assert summary["home"] is None and "home (take-off)" not in format_summary(summary)
    assert summary["altitude_sources"]["rel"].startswith("rel_alt: height above the take-off")
    assert summary["altitude_sources"]["abs"].startswith("abs_alt: altitude above sea level")
    assert summary["camera_height"].startswith("the height above take-off")


def test_absolute_altitudes_only_are_taken_from_the_first_sample(tmp_path):
    path = write_srt(tmp_path, "air2.srt", [
        f'<font size="36">SrtCnt : {i + 1}, DiffTime : 16ms\n2022-05-01 15:01:5{i},531,716\n'
        f"[latitude: 41.42068{i}] [longitude: 2.162162] [altitude: 2{7 + i}.300000] </font>" for i in range(4)])
    summary = summarise(read_telemetry(path))
    assert set(summary["altitude_sources"]) == {"abs"}
    assert summary["altitude_sources"]["abs"].startswith("altitude: ")
    assert summary["camera_height"].startswith("the absolute altitude minus the first sample's")


@pytest.mark.parametrize("payload", ["GPS(8.2090,47.4692,18) BAROMETER:1.0", "GPS (8.2090, 47.4692, 18), H 1.0m"])
def test_no_home_point_where_the_file_writes_none(tmp_path, payload):
    path = write_srt(tmp_path, "p4p.SRT", [payload] * 3)
    assert summarise(read_telemetry(path))["home"] is None
