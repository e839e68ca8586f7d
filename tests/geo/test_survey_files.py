"""A survey's files are written as a flight's are: whole or not at all, and a CSV a
spreadsheet opens without running anything."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import pytest

from core.errors import ExportError
from geo.export.survey_files import SURVEY_FILES, write_survey_files
from geo.survey_fusion import FlightMap, fuse_flights


@pytest.fixture
def built(flyover_map):
    damage_map, _ = flyover_map
    return fuse_flights([FlightMap('=HYPERLINK("http://x","a")', damage_map, "2018-10-12"),
                         FlightMap("-wednesday", damage_map, "2018-10-14")])


def test_every_format_is_written_whole_with_text_a_spreadsheet_will_not_run(built, tmp_path):
    written = write_survey_files(built, tmp_path, list(SURVEY_FILES))
    # every file but the graded buildings, which need footprints (tests/geo/test_survey_grading.py)
    assert sorted(p.name for p in written) == sorted(n for key, names in SURVEY_FILES.items() for n in names
                                                     if key != "buildings")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)  # no temporary file left
    # the zip holds every other file, the README listing it
    import zipfile

    with zipfile.ZipFile(tmp_path / "survey_package.zip") as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in written if p.name != "survey_package.zip")
        assert archive.read("survey_sites.csv") == (tmp_path / "survey_sites.csv").read_bytes()
    assert "survey_package.zip" in (tmp_path / "survey_README.txt").read_text()
    rows = list(csv.DictReader((tmp_path / "survey_sites.csv").open(encoding="utf-8-sig")))
    assert len(rows) == len(built.sites)
    assert all(r["flights"].startswith("'=HYPERLINK") for r in rows)  # quoted: text, not a formula
    assert all(float(r["lon"]) < 0 for r in rows)  # a negative number stays a number
    features = json.loads((tmp_path / "survey_sites.geojson").read_text())["features"]
    assert features[0]["properties"]["flights"].startswith("=HYPERLINK")  # GeoJSON keeps the name as it is
    # KML: a placemark a site, styled by its level, its attributes as the GeoJSON's; each flight's track
    kml = ET.parse(tmp_path / "survey_sites.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    placemarks = kml.findall("k:Document/k:Document/k:Placemark", ns)
    assert len(placemarks) == len(built.sites)
    for placemark, site, feature in zip(placemarks, built.sites, features):
        assert placemark.find("k:styleUrl", ns).text == f"#level-{site.level.name.lower()}"
        lon, lat = (float(v) for v in placemark.find(".//k:coordinates", ns).text.split(","))
        assert (lon, lat) == pytest.approx(tuple(feature["geometry"]["coordinates"]), abs=1e-7)
        data = {d.get("name"): d.text for d in placemark.findall(".//k:SimpleData", ns)}
        assert data["flights"] == feature["properties"]["flights"] and data["site_id"] == str(site.id)
        assert placemark.get("id") == f"site-{site.id}"
    tracks = [p.find("k:name", ns).text for p in kml.findall("k:Document/k:Placemark", ns)]
    assert any(name.startswith("Flight -wednesday (2018-10-14)") for name in tracks)
    with zipfile.ZipFile(tmp_path / "survey_sites.kmz") as archive:  # the same, with its icon inside
        packed = ET.fromstring(archive.read("doc.kml"))
        assert archive.read("files/site.png").startswith(b"\x89PNG")
    assert [p.find("k:name", ns).text for p in packed.iter("{http://www.opengis.net/kml/2.2}Placemark")] == [
        p.find("k:name", ns).text for p in kml.iter("{http://www.opengis.net/kml/2.2}Placemark")]
    assert {href.text for href in packed.iter("{http://www.opengis.net/kml/2.2}href")} == {"files/site.png"}


def test_every_date_of_a_site_reaches_a_gis(built, tmp_path):
    """The dates as one text starting with a date: GDAL (QGIS) typed the field a date and
    kept the first one only, Wednesday's lost without a word."""
    import pyogrio

    write_survey_files(built, tmp_path, ["geojson", "gpkg"])
    read = pyogrio.read_dataframe(tmp_path / "survey_sites.geojson")
    assert [list(dates) for dates in read["dates"]] == [["2018-10-12", "2018-10-14"]] * len(built.sites)
    assert {str(d)[:10] for d in read["first_date"]} == {"2018-10-12"}
    assert {str(d)[:10] for d in read["last_date"]} == {"2018-10-14"}
    packed = pyogrio.read_dataframe(tmp_path / "survey.gpkg", layer="sites")
    assert set(packed["dates"]) == {"2018-10-12,2018-10-14"}


def test_a_folder_that_cannot_be_created_is_named_in_the_error(built, tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ExportError, match="out"):
        write_survey_files(built, blocker / "maps", ["csv"])


def test_the_kmz_shows_every_flight_s_close_up_of_a_site_in_its_balloon(built, tmp_path):
    """Offline on a phone: a survey site's balloon shows what each flight saw of it, close
    up, its detection outlined in the level that flight gave it, the flight and date under
    it (as the survey's offline map does); a flight's close-up is stored once. Without
    pictures (no video) the KMZ holds the document and its icon only, each balloon its
    line of text."""
    import io
    import zipfile

    import cv2
    import numpy as np
    from PIL import Image

    from geo.export.html import closeup_box

    grey = np.full((120, 120, 3), 128, dtype=np.uint8)
    jpeg = cv2.imencode(".jpg", grey)[1].tobytes()
    asked: list[tuple[str, int]] = []

    def closeup(flight: str, site_id: int) -> bytes:
        asked.append((flight, site_id))
        return jpeg

    kml_ns = "{http://www.opengis.net/kml/2.2}"
    (kmz,) = write_survey_files(built, tmp_path / "a", ["kmz"], closeup=closeup)
    flights = [flight.name for flight in built.flights]
    with zipfile.ZipFile(kmz) as archive:
        document = ET.fromstring(archive.read("doc.kml"))
        placemarks = {p.get("id"): p for p in document.iter(f"{kml_ns}Placemark") if p.get("id")}
        stored = set()
        for site in built.sites:
            balloon = placemarks[f"site-{site.id}"].findtext(f"{kml_ns}description")
            assert balloon.count("<img ") == len(site.evidence) and site.level.label in balloon
            for evidence in site.evidence:
                name = f"files/flight-{flights.index(evidence.flight) + 1}-site-{evidence.flight_site_id}.jpg"
                assert f'src="{name}"' in balloon and "2018-10-1" in balloon
                flight, index = built.flight_site(evidence)
                picture = np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB"))
                left, top, _, _ = closeup_box(flight.damage_map, index)
                edge = picture[int(top * 120) + 1, int(left * 120) + 1].astype(int)  # on the box's line
                colour = np.array(evidence.level.colour_rgb)
                assert np.linalg.norm(edge - colour) < np.linalg.norm(128 - colour) / 2
                stored.add(name)
        # each flight's close-up once, fetched once; nothing else in the archive
        assert sorted(archive.namelist()) == sorted(["doc.kml", "files/site.png", *stored])
        assert len(asked) == len(set(asked)) == len(stored)
    # a flight's name is HTML-escaped in the balloon, never markup
    hyperlinked = [s for s in built.sites if any(e.flight.startswith("=") for e in s.evidence)]
    assert hyperlinked and all("=HYPERLINK(&quot;http" in placemarks[f"site-{s.id}"].findtext(f"{kml_ns}description")
                               for s in hyperlinked)
    (bare,) = write_survey_files(built, tmp_path / "b", ["kmz"])
    with zipfile.ZipFile(bare) as archive:
        assert archive.namelist() == ["doc.kml", "files/site.png"]
        balloons = [d.text for d in ET.fromstring(archive.read("doc.kml")).iter(f"{kml_ns}description")]
        assert len(balloons) == len(built.sites) and not [b for b in balloons if "<img" in b or "<table" in b]


def test_a_flight_dated_by_its_video_s_creation_time_gives_its_day(flyover_map, tmp_path):
    """`survey add` dates a flight by the video's creation time: the products wrote
    "2018-10-12T15:00:00+00:00" where a date is documented, and GDAL read it as a time."""
    import json

    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("wednesday", damage_map, "2018-10-14T09:30:00+00:00"),  # added first
                          FlightMap("monday", damage_map, "2018-10-12T15:00:00+00:00")])
    assert {site.dates for site in built.sites} == {("2018-10-12", "2018-10-14")}
    write_survey_files(built, tmp_path, ["geojson", "kml"])
    props = [f["properties"] for f in json.loads((tmp_path / "survey_sites.geojson").read_text())["features"]]
    assert {(p["first_date"], p["last_date"]) for p in props} == {("2018-10-12", "2018-10-14")}
    kml = next(tmp_path.glob("*.kml")).read_text()
    assert "Flight monday (2018-10-12)" in kml  # the day, where a date is said
    assert "T15:00:00+00:00" not in kml  # (the sites' first_time / last_time are times: ISO 8601 with Z)


def test_an_earlier_export_s_graded_buildings_are_not_left_beside_sites_graded_without_them(built, tmp_path):
    """Exported with footprints, then without, into one folder: the old grades stayed
    beside the new sites, for a team handed the folder to read as this export's."""
    old = tmp_path / "survey_buildings.geojson"
    old.write_text('{"type": "FeatureCollection", "features": []}')
    written = write_survey_files(built, tmp_path, ["geojson", "buildings"])
    assert not old.exists() and old not in written
    other = tmp_path / "other"
    other.mkdir()
    (other / "survey_buildings.geojson").write_text("{}")
    write_survey_files(built, other, ["geojson"])  # buildings not asked for: left alone
    assert (other / "survey_buildings.geojson").exists()


def test_an_export_that_stops_says_which_files_are_its_own_and_which_an_earlier_one_s(built, tmp_path, monkeypatch):
    import geo.export.survey_html as survey_html

    write_survey_files(built, tmp_path, ["csv"])

    def full(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise ExportError(f"{path}: cannot write: No space left on device")

    monkeypatch.setattr(survey_html, "write_survey_html", full)
    with pytest.raises(ExportError) as stopped:
        write_survey_files(built, tmp_path, ["geojson", "kml", "html"])
    assert str(stopped.value) == (
        f"{tmp_path / 'survey_map.html'}: cannot write: No space left on device; this export wrote "
        "survey_sites.geojson, survey_coverage.geojson, survey_sites.kml before it stopped, and the "
        "survey_sites.csv beside them are from an earlier export")
