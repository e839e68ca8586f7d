"""Absolute altitudes set against the ground's elevation (``--ground-elevation``, a DEM)
hold, or give way to the height that does, with a note naming the file and the numbers:
a Mini 5 Pro's ``abs_alt: -122.769`` beside ``rel_alt: 6.0`` near sea level, an Air 2's
``[altitude: 27.3]`` 200 m above sea level, a Matrice's ``GPS(lat, lon, altM)``."""

from __future__ import annotations

import numpy as np
import pytest

from geo.local import LocalFrame
from geo.sync import align_track
from geo.telemetry import read_telemetry
from geo.telemetry.summary import summarise
from tests.srt_files import write_srt


def _mini(tmp_path, rel: float, abs_: float):  # noqa: ANN001, ANN202 - a Path
    return write_srt(tmp_path, "mini.SRT", [
        f'<font size="28">FrameCnt: {i + 1}, DiffTime: 40ms\n2026-05-27 13:14:2{i}.911\n[focal_len: 24.00] '
        f"[latitude: 53.36510{i}] [longitude: 6.460719] [rel_alt: {rel + i:.3f} abs_alt: {abs_ + i:.3f}] </font>"
        for i in range(4)])


def _air2(tmp_path, altitude: float):  # noqa: ANN001, ANN202 - a Path
    return write_srt(tmp_path, "air2.srt", [
        f'<font size="36">SrtCnt : {i + 1}, DiffTime : 16ms\n2022-05-01 15:01:5{i},531,716\n'
        f"[latitude: 41.42068{i}] [longitude: 2.162162] [altitude: {altitude + i:.6f}] </font>" for i in range(4)])


def _heights(path, ground_m):  # noqa: ANN001, ANN202
    aligned = align_track(read_telemetry(path), duration_s=4.0, ground_elevation_m=ground_m)
    return aligned.height_m, aligned.notes


def test_an_abs_alt_that_puts_the_camera_under_the_ground_gives_way_to_rel_alt(tmp_path):
    path = _mini(tmp_path, 6.0, -122.769)  # the real Mini 5 Pro's numbers, near sea level in the Netherlands
    heights, notes = _heights(path, 1.0)
    assert np.allclose(heights, [6.0, 7.0, 8.0, 9.0])  # not abs_alt - 1 m: -123.8 m
    said = " ".join(notes)
    assert f"{path}: abs_alt contradicts rel_alt and the ground" in said
    assert "abs_alt -122.8 m less the ground elevation given (1 m) puts the camera 123.8 m below the ground" in said
    assert "rel_alt says 6.0 m above the take-off" in said and "129.8 m below the ground (at -128.8 m)" in said


def test_an_abs_alt_that_agrees_is_set_against_the_ground(tmp_path):
    heights, notes = _heights(_mini(tmp_path, 50.0, 172.0), 120.0)  # take-off 2 m above the ground given
    assert np.allclose(heights, [52.0, 53.0, 54.0, 55.0])  # abs_alt - 120 m
    assert "ground plane at 120 m elevation (given)" in notes


@pytest.mark.parametrize("ground_m", [80.0, 160.0])
def test_a_take_off_more_than_30_m_from_the_ground_given_is_not_believed(tmp_path, ground_m):
    heights, notes = _heights(_mini(tmp_path, 50.0, 172.0), ground_m)  # abs_alt's take-off at 122 m
    assert np.allclose(heights, [50.0, 51.0, 52.0, 53.0])
    assert any("abs_alt contradicts rel_alt" in n and f"{abs(122 - ground_m):.1f} m" in n for n in notes)


def test_an_air2_altitude_below_the_ground_is_a_height_above_take_off(tmp_path):
    path = _air2(tmp_path, 27.3)  # filmed near Turo de la Rovira, Barcelona, 200 m and more above sea level
    heights, notes = _heights(path, 200.0)
    assert np.allclose(heights, [27.3, 28.3, 29.3, 30.3])  # not altitude - 200 m: the camera 172 m underground
    assert any(n.startswith(f"{path}: altitude 27.3 to 30.3 m less the ground elevation given (200 m) puts the "
                            "camera") and "height above the take-off" in n for n in notes)
    # above the ground: taken as an altitude above sea level, as before
    heights, notes = _heights(_air2(tmp_path, 457.9), 420.0)
    assert np.allclose(heights, [37.9, 38.9, 39.9, 40.9])
    assert "ground plane at 420 m elevation (given)" in notes


def test_a_gpx_below_the_ground_given_is_kept_and_said(tmp_path):
    points = "".join(f'<trkpt lat="41.42{i}" lon="2.162"><ele>{30 + i}</ele>'
                     f"<time>2022-05-01T15:01:5{i}Z</time></trkpt>" for i in range(4))
    path = tmp_path / "walk.gpx"
    path.write_text(f'<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
                    f"<trk><trkseg>{points}</trkseg></trk></gpx>", encoding="utf-8")
    aligned = align_track(read_telemetry(path), duration_s=4.0, ground_elevation_m=200.0)
    assert np.allclose(aligned.height_m, [-170.0, -169.0, -168.0, -167.0])  # an elevation said above sea level
    assert any("puts the camera 168.5 m below the ground: is the ground elevation right?" in n for n in aligned.notes)


def test_damagemap_telemetry_says_an_abs_alt_below_sea_level_is_not_one(tmp_path):
    notes = summarise(read_telemetry(_mini(tmp_path, 6.0, -122.769)))["notes"]
    assert any(n.startswith("abs_alt less rel_alt puts the take-off at -128.8 m, 129 m below sea level: abs_alt "
                            "is not an altitude above sea level here") for n in notes)
    assert not any("below sea level" in n for n in summarise(read_telemetry(_mini(tmp_path, 50.0, 172.0)))["notes"])


def test_an_air2_altitude_is_said_to_have_no_stated_zero(tmp_path):
    summary = summarise(read_telemetry(_air2(tmp_path, 27.3)))
    assert summary["altitude_sources"]["abs"].startswith("altitude: the drone's altitude, its zero not stated")
    assert "as a height above take-off, where minus M puts the camera below the ground" in summary["camera_height"]


def test_a_matrice_gps_altitude_is_read_with_its_datum(tmp_path):
    path = write_srt(tmp_path, "m300.SRT", [f"2022.06.21 16:06:{17 + i}\nGPS(36.614{6 + i},-6.1120,{52.3 + i:.1f}M)"
                                       for i in range(4)])
    track = read_telemetry(path)
    assert [s.alt_abs_m for s in track.samples] == pytest.approx([52.3, 53.3, 54.3, 55.3])
    assert track.coordinate_order == "lat,lon"
    assert summarise(track)["altitude_sources"] == {
        "abs": "GPS(.., altM): the GPS receiver's altitude (datum not stated; an RTK Matrice writes height above "
               "the WGS 84 ellipsoid, tens of metres from sea level)"}


def test_a_matrice_gps_altitude_of_zero_throughout_is_no_altitude(tmp_path):
    path = write_srt(tmp_path, "m300.SRT", [f"2022.06.21 16:06:{17 + i}\nGPS(36.6146,-6.1120,0.0M) BAROMETER:{0.3 + 5 * i}M"
                                       for i in range(4)])
    track = read_telemetry(path)
    assert not track.has("alt_abs_m")  # else --ground-elevation M would put the camera at 0 - M
    assert [s.alt_rel_m for s in track.samples] == pytest.approx([0.3, 5.3, 10.3, 15.3])
    assert any("GPS(.., 0.0M) is 0.0 in all 4 entries" in n for n in track.notes)


def test_a_dem_under_an_abs_alt_that_contradicts_rel_alt_sets_the_take_off(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    from geo.terrain import Terrain, reference_elevation

    dem = tmp_path / "flat.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=40, height=40, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(6.459, 53.367, 1e-4, 1e-4)) as dst:
        dst.write(np.full((40, 40), 1.5, dtype=np.float32), 1)
    track = read_telemetry(_mini(tmp_path, 6.0, -122.769))
    local = LocalFrame.around(6.460719, 53.3651)
    z0, from_absolute, note = reference_elevation(track, Terrain.open(dem), local)
    assert (z0, from_absolute) == (pytest.approx(1.5), False)  # not -128.8 m: the DEM 130 m above every camera
    assert "abs_alt contradicts rel_alt" in note and "the DEM's elevation under the first fix (1.5 m)" in note


def _moving_mini(tmp_path, rel: float, abs_: float):  # noqa: ANN001, ANN202 - a Path
    """:func:`_mini` flying north at 11 m/s (a map places its frames)."""
    return write_srt(tmp_path, "moving.SRT", [
        f'<font size="28">FrameCnt: {i + 1}, DiffTime: 40ms\n2026-05-27 13:14:2{i}.911\n[focal_len: 24.00] '
        f"[latitude: {53.3651 + i * 0.0001:.6f}] [longitude: 6.460719] [rel_alt: {rel + i:.3f} "
        f"abs_alt: {abs_ + i:.3f}] </font>" for i in range(4)])


@pytest.mark.parametrize(("rel", "abs_", "ground_m"), [(6.0, -122.769, 1.0), (50.0, 172.0, 80.0), (50.0, 172.0, 120.0)])
def test_the_map_says_how_sure_the_ground_is_when_the_heights_give_way(tmp_path, rel, abs_, ground_m):
    """A ground elevation read from the video counts in each site's uncertainty, and the
    map's note on the heights says by how much: where abs_alt is set against it, and
    where the heights fall back to rel_alt with the take-off on it."""
    from geo.mapping import build_damage_map_from

    track = read_telemetry(_moving_mini(tmp_path, rel, abs_))
    built = build_damage_map_from([], {0: 0.5, 1: 1.5, 2: 2.5}, track,
                                  video={"width_px": 1280, "height_px": 720, "duration_s": 4.0},
                                  ground_elevation_m=ground_m, ground_sigma_m=3.0)
    said = [n for n in built.notes if f"{ground_m:g} m" in n and ("ground plane at" in n or "take-off on" in n)]
    assert len(said) == 1, built.notes
    assert said[0].endswith(" (+-3 m, in each site's uncertainty)"), said[0]
