"""Exports: every format written, GeoJSON readable as EPSG:4326, failures leave no partial file."""

from __future__ import annotations

import csv
import errno
import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from core.errors import ExportError
from geo.export import FILES, export_map
from geo.export.html import escape, render_html

HOSTILE = "</script><script>alert('x')</script> `${document.cookie}` & <b>"


@pytest.fixture(scope="module")
def exported(flyover_map, tmp_path_factory):
    damage_map, _ = flyover_map
    out = tmp_path_factory.mktemp("export")
    written = export_map(damage_map, out, thumbnail=lambda index: b"\xff\xd8\xff\xe0fakejpeg")
    return damage_map, out, written


def test_every_format_is_written(exported):
    _, out, written = exported
    assert sorted(p.name for p in written) == sorted(FILES.values())
    assert all(p.stat().st_size > 0 for p in written)
    assert not list(out.glob(".*part*"))


def test_geojson_reads_back_with_geopandas_in_wgs84(exported):
    import geopandas as gpd

    damage_map, out, _ = exported
    sites = gpd.read_file(out / "damage_sites.geojson")
    assert sites.crs.to_epsg() == 4326
    assert len(sites) == len(damage_map.sites)
    for column in ("id", "level", "confidence", "observations", "first_time", "last_time", "best_frame", "reviewed"):
        assert column in sites.columns
    assert set(sites["level"]) <= {"slight", "severe", "debris"}
    assert sites.geometry.x.between(-85.67, -85.65).all() and sites.geometry.y.between(30.15, 30.17).all()
    assert sites["first_time"].notna().all()  # ISO 8601 UTC, parsed as datetimes
    raw_sites = json.loads((out / "damage_sites.geojson").read_text())
    assert all(f["properties"]["first_time"].endswith("Z") for f in raw_sites["features"])
    for name in ("observations", "track", "heatmap"):
        layer = gpd.read_file(out / f"{name}.geojson")
        assert layer.crs.to_epsg() == 4326 and len(layer) > 0
    raw = json.loads((out / "heatmap.geojson").read_text())
    assert "crs" not in raw  # RFC 7946
    from shapely.geometry import shape

    for feature in raw["features"]:
        geometry = shape(feature["geometry"])
        polygons = getattr(geometry, "geoms", [geometry])
        assert all(p.exterior.is_ccw for p in polygons)  # right-hand rule


def test_geopackage_kml_and_csv(exported):
    import pyogrio

    damage_map, out, _ = exported
    layers = {name for name, _ in pyogrio.list_layers(out / "damage_map.gpkg")}
    assert {"damage_sites", "observations", "track", "heatmap", "site_footprints"} <= layers
    kml = ET.parse(out / "damage_sites.kml").getroot()
    placemarks = kml.findall(".//{http://www.opengis.net/kml/2.2}Placemark")
    assert len(placemarks) >= len(damage_map.sites) + 1
    with open(out / "damage_sites.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(damage_map.sites) and rows[0]["level"] in ("slight", "severe", "debris")


def test_the_kmz_shows_each_site_s_close_up_outlined_in_its_balloon(flyover_map, tmp_path):
    """On a phone or in Google Earth, offline: each site's balloon shows its close-up (in
    the archive) with the best detection outlined in the level's colour, and what the
    site is; without pictures (--no-thumbnails) no picture, in the archive or a balloon,
    and each balloon still says what the site is."""
    import io
    import zipfile

    import cv2
    import numpy as np
    from PIL import Image

    from geo.export.html import closeup_box

    damage_map, _ = flyover_map
    grey = np.full((120, 120, 3), 128, dtype=np.uint8)
    _, jpeg = cv2.imencode(".jpg", grey)
    kml_ns = "{http://www.opengis.net/kml/2.2}"
    with_pictures = export_map(damage_map, tmp_path / "a", formats=["kmz"], closeup=lambda site_id: jpeg.tobytes())[0]
    without = export_map(damage_map, tmp_path / "b", formats=["kmz"])[0]
    with zipfile.ZipFile(with_pictures) as archive:
        document = ET.fromstring(archive.read("doc.kml"))
        placemarks = {p.get("id"): p for p in document.iter(f"{kml_ns}Placemark") if p.get("id")}
        for index, fused in enumerate(damage_map.fused):
            site = fused.site
            balloon = placemarks[f"site-{site.id}"].findtext(f"{kml_ns}description")
            assert f'<img src="files/site-{site.id}.jpg"' in balloon and site.level.label in balloon
            # in the order of KML 2.2's schema (a strict validator refused description after styleUrl)
            tags = [child.tag.removeprefix(kml_ns) for child in placemarks[f"site-{site.id}"]]
            assert tags.index("name") < tags.index("description") < tags.index("styleUrl") < tags.index(
                "ExtendedData")
            picture = np.asarray(Image.open(io.BytesIO(archive.read(f"files/site-{site.id}.jpg"))).convert("RGB"))
            left, top, _, _ = closeup_box(damage_map, index)
            edge = picture[int(top * 120) + 1, int(left * 120) + 1].astype(int)  # on the box's line
            colour = np.array(site.level.colour_rgb)
            assert np.linalg.norm(edge - colour) < np.linalg.norm(128 - colour) / 2  # the level's, not the grey
            assert np.abs(picture[2, 2].astype(int) - 128).max() < 8 or left * 120 < 4  # grey outside it
    with zipfile.ZipFile(without) as archive:
        assert archive.namelist() == ["doc.kml", "files/site.png"]
        balloons = [d.text for d in ET.fromstring(archive.read("doc.kml")).iter(f"{kml_ns}description")]
        assert len(balloons) == len(damage_map.sites) and not [b for b in balloons if "<img" in b]
        assert all("EMS grade" in balloon for balloon in balloons)


def test_the_kmz_holds_the_kml_with_its_icon_so_nothing_is_fetched(exported):
    """A phone in the field opens the KMZ with no network: its document names the icon
    inside the archive, where the KML names Google's, and holds the same placemarks."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    kml_ns = "{http://www.opengis.net/kml/2.2}"
    _, out, _ = exported
    with zipfile.ZipFile(out / "damage_sites.kmz") as archive:
        names = archive.namelist()
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}  # the same map, the same file
        document = ET.fromstring(archive.read(names[0]))
        icon = np.asarray(Image.open(io.BytesIO(archive.read("files/site.png"))))
    assert names[0] == "doc.kml"  # readers take the first KML in the archive
    hrefs = {element.text for element in document.iter(f"{kml_ns}href")}
    assert hrefs == {"files/site.png"}
    loose = ET.parse(out / "damage_sites.kml").getroot()
    assert {element.text for element in loose.iter(f"{kml_ns}href")} == {
        "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"}
    placemark_names = [[p.findtext(f"{kml_ns}name") for p in root.iter(f"{kml_ns}Placemark")]
                       for root in (document, loose)]
    assert placemark_names[0] == placemark_names[1] and placemark_names[0]
    size = icon.shape[0]
    assert icon.shape == (size, size, 4)
    assert tuple(icon[size // 2, size // 2]) == (255, 255, 255, 255)  # white, for the level's colour to tint
    assert icon[0, 0, 3] == 0 and icon[size // 2, 2, :3].max() < 100  # a clear ground, a dark rim


def test_html_is_self_contained_and_escapes_user_strings(flyover_map):
    damage_map, _ = flyover_map
    hostile_track = replace(damage_map.aligned.track, path=damage_map.track.path.with_name(HOSTILE.replace("/", "_")))
    hostile = replace(damage_map, title=HOSTILE, aligned=replace(damage_map.aligned, track=hostile_track))
    page = render_html(hostile)
    assert "<script>alert" not in page and "${document.cookie}" not in page
    assert escape(HOSTILE) in page
    assert "<script src=" not in page and 'rel="stylesheet" href="http' not in page
    assert "cdn.jsdelivr" not in page and "code.jquery" not in page
    assert "L.map(" in page or "L.map (" in page


def test_unwritable_destination_is_an_export_error(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="a_file"):
        export_map(damage_map, blocker / "out", formats=["sites"])
    with pytest.raises(ExportError, match="unknown export format"):
        export_map(damage_map, tmp_path / "out", formats=["shapefile"])


def test_full_disk_leaves_no_half_written_file(flyover_map, tmp_path, monkeypatch):
    import geo.export._atomic as atomic

    damage_map, _ = flyover_map

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(ExportError) as info:
        export_map(damage_map, tmp_path, formats=["sites"])
    assert str(tmp_path / "damage_sites.geojson") in str(info.value) and "No space left" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_disk_that_fills_part_way_says_which_files_are_new_and_which_are_old(flyover_map, tmp_path, monkeypatch):
    """An export over an earlier one stops at its second file: each file is whole, but
    the folder holds a mixed set, and the message says which is which."""
    import geo.export._atomic as atomic

    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "observations", "csv"])
    fsync = atomic.os.fsync
    calls = []

    def full_on_the_second_file(fd):
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", full_on_the_second_file)
    with pytest.raises(ExportError) as info:
        export_map(damage_map, tmp_path, formats=["sites", "observations", "csv"])
    assert str(info.value).startswith(f"{tmp_path / 'observations.geojson'}: cannot write")
    assert str(info.value).endswith("; this export wrote damage_sites.geojson before it stopped, and the "
                                    "damage_sites.csv, observations.geojson beside it are from an earlier export")
    calls.clear()
    calls.append("the first file fails too")
    with pytest.raises(ExportError, match=r"damage_sites.geojson: cannot write.*; nothing was written$"):
        export_map(damage_map, tmp_path / "empty", formats=["sites"])


def test_export_into_a_file_says_it_is_a_file(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    (tmp_path / "maps").write_text("not a folder")
    with pytest.raises(ExportError, match=r"maps: is a file, not a folder; give a folder to export into"):
        export_map(damage_map, tmp_path / "maps", formats=["sites"])


def test_failing_geopackage_writer_leaves_nothing(flyover_map, tmp_path, monkeypatch):
    import geopandas as gpd

    damage_map, _ = flyover_map
    calls = []
    original = gpd.GeoDataFrame.to_file

    def fail_on_second_layer(self, *args, **kwargs):
        calls.append(kwargs.get("layer"))
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", fail_on_second_layer)
    with pytest.raises(ExportError, match="damage_map.gpkg"):
        export_map(damage_map, tmp_path, formats=["gpkg"])
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_format_is_refused_before_the_folder_is_made(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    with pytest.raises(ExportError, match="unknown export format 'shp'"):
        export_map(damage_map, tmp_path / "maps", formats=["shp"])
    assert not (tmp_path / "maps").exists()


def test_csv_coordinates_west_and_south_are_numbers(exported):
    import pandas as pd

    damage_map, out, _ = exported
    table = pd.read_csv(out / "damage_sites.csv")
    assert pd.api.types.is_float_dtype(table["lon"]) and pd.api.types.is_float_dtype(table["lat"])
    assert (table["lon"] < 0).all()  # the flyover is in Florida
    for site, lon, lat in zip(site_records_of(damage_map), table["lon"], table["lat"], strict=True):
        assert (lon, lat) == pytest.approx((site.x, site.y), abs=1e-8)


def site_records_of(damage_map):
    from geo.export.records import site_records

    return [point for _, point in site_records(damage_map)]


def test_popup_and_records_of_a_site_seen_once_at_ground_level_read_naturally(flyover_map):
    import numpy as np

    from geo.export.html import _popup_html
    from geo.export.records import site_records

    damage_map, _ = flyover_map
    fused = damage_map.fused[0]
    site = replace(fused.site, observation_count=2, first_time_s=fused.site.first_time_s,
                   last_time_s=fused.site.first_time_s)
    position = np.array([fused.position_m[0], fused.position_m[1], -0.001])
    # seen once, by two boxes of one frame (a site joined from the detector's double boxes)
    members = (fused.members[0], fused.members[0])
    once = replace(damage_map, fused=[replace(fused, site=site, members=members, frames_seen=1, position_m=position)])
    popup = _popup_html(once, 0, None)
    assert "1 frame<" in popup and "1 frames" not in popup and "2 frame" not in popup
    assert "-0.0" not in popup and "0.0 m above take-off" in popup
    assert " to " not in popup.split("Seen</td>")[1].split("</tr>")[0]  # one moment, not "t to t"
    (props, _), = site_records(once)
    assert str(props["height_m"]) == "0.0"


def test_a_site_s_popup_gives_its_copernicus_ems_grade_as_the_atlas_and_the_kmz_do(flyover_map):
    """The web map named a site's grade only on the buildings; a site on no footprint, or a
    map without footprints, never showed it."""
    from geo.export.records import EMS_GRADE

    damage_map, _ = flyover_map
    page = render_html(damage_map)
    for fused in damage_map.fused:
        site = fused.site
        popup = page[page.index(f">Site {site.id}: {site.level.label}</b>"):]
        assert popup.index(f"<tr><td>Copernicus EMS grade</td><td>{EMS_GRADE[site.level]}</td></tr>") < popup.index("</table>")


def test_the_map_shows_each_site_s_best_score_not_a_confidence_read_as_a_probability(flyover_map):
    """"Site 42: Severe 31%" read as "probably not damaged" for a site whose every
    sighting scored 0.5 or more: the 31% was the level's share of the votes."""
    import re

    damage_map, _ = flyover_map
    page = render_html(damage_map)
    assert ">Confidence<" not in page
    best = max(float(m.detection.final_score) for m in damage_map.fused[0].members)
    assert f"<td>Best score</td><td>{best:.2f} (the detector's, of 1)" in page
    assert "Level agreement" in page and "not a probability" in page
    listed = re.findall(r'<span class="dm-count">([^<]*)</span>', page)
    assert listed and all(re.fullmatch(r"\d+ sightings?", text) for text in listed)


def test_a_folder_deleted_while_exporting_is_said_to_be_gone(flyover_map, tmp_path, monkeypatch):
    """The message named the files "this export wrote", deleted with their folder."""
    import shutil

    import geo.export._atomic as atomic

    damage_map, _ = flyover_map
    out = tmp_path / "out"
    fsync, calls = atomic.os.fsync, []

    def gone_after_the_first_file(fd):
        calls.append(fd)
        if len(calls) > 1:
            shutil.rmtree(out)
            raise OSError(errno.ENOENT, "No such file or directory")
        fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", gone_after_the_first_file)
    with pytest.raises(ExportError) as info:
        export_map(damage_map, out, formats=["sites", "observations"])
    assert str(info.value).endswith(f"; the folder {out} is gone (deleted or unmounted while exporting): "
                                    "nothing written is left")
