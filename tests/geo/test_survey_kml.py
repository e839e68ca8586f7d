"""A survey's KML and KMZ type each site's attributes as a flight's do (OGC KML 2.2
``<Schema>``/``<SchemaData>``): untyped ``<Data>`` read as text in QGIS and ArcGIS, and
the site's ``id`` came through as ``id2`` beside the placemark's XML id (GDAL's LIBKML
driver reads that as ``id``)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pyogrio
import pytest
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype, is_string_dtype

from geo.export.survey_files import write_survey_files
from geo.export.survey_records import SURVEY_ONLY_COLUMNS
from geo.survey_fusion import FlightMap, fuse_flights

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture
def exported(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                          FlightMap("wednesday", damage_map, "2018-10-14")])
    write_survey_files(built, tmp_path, ["geojson", "kml", "kmz"])
    features = json.loads((tmp_path / "survey_sites.geojson").read_text(encoding="utf-8"))["features"]
    assert features
    return tmp_path, features


@pytest.mark.parametrize("document", [
    "survey_sites.kml", "/vsizip/{}/survey_sites.kmz/doc.kml",
    # the KMZ itself, as QGIS opens it (GDAL's LIBKML driver; the older KML driver reads no KMZ)
    pytest.param("survey_sites.kmz", marks=pytest.mark.skipif("LIBKML" not in pyogrio.list_drivers(),
                                                               reason="GDAL built without libkml"))])
def test_a_gis_reads_the_survey_kml_s_attributes_typed(exported, document):
    folder, features = exported
    path = document.format(folder) if document.startswith("/vsizip/") else folder / document
    frame = pyogrio.read_dataframe(path, layer="Damage sites")
    for column in ("best_score", "confidence", "uncertainty_m"):
        assert is_float_dtype(frame[column]), column
    for column in ("observations", "level_code", "best_frame", "flight_count"):
        assert is_integer_dtype(frame[column]), column
    for column in ("reviewed", "confirmed", "triangulated"):
        assert is_bool_dtype(frame[column]), column
    for column in ("flights", "dates", "first_date", "evidence"):  # the survey's own, as text
        assert is_string_dtype(frame[column]) or frame[column].dtype == object, column
    assert sorted(frame["best_score"]) == sorted(f["properties"]["best_score"] for f in features)
    assert sorted(frame["flight_count"]) == sorted(f["properties"]["flight_count"] for f in features) == [2] * len(features)
    assert set(frame["dates"]) == {"2018-10-12,2018-10-14"}
    # the site's number under one clear name; the placemark's XML id beside it
    ids = sorted(f["properties"]["id"] for f in features)
    assert "id2" not in frame.columns
    assert is_integer_dtype(frame["site_id"]) and sorted(frame["site_id"]) == ids
    assert sorted(frame["id"]) == sorted(f"site-{i}" for i in ids)


def test_the_survey_kml_declares_every_column_typed_once(exported):
    folder, features = exported
    document = ET.parse(folder / "survey_sites.kml").getroot().find(f"{KML}Document")
    (schema,) = document.findall(f".//{KML}Schema")
    types = {field.get("name"): field.get("type") for field in schema.findall(f"{KML}SimpleField")}
    assert "id" not in types and types["site_id"] == "int"
    assert set(SURVEY_ONLY_COLUMNS) <= set(types) and types["flight_count"] == "int" and types["dates"] == "string"
    assert list(types) == ["site_id", *[name for name in features[0]["properties"] if name != "id"]]
    placemarks = [p for p in document.iter(f"{KML}Placemark") if p.get("id")]
    assert len(placemarks) == len(features)
    for placemark in placemarks:
        assert not placemark.findall(f".//{KML}Data")
        (data,) = placemark.findall(f"{KML}ExtendedData/{KML}SchemaData")
        assert data.get("schemaUrl") == f"#{schema.get('id')}"


def test_a_phone_shows_the_ground_each_flight_filmed(exported):
    """As a flight's KMZ draws its "Area filmed": on a phone in the field, outside every
    flight's outline nobody looked, which no site there does not say."""
    import zipfile

    folder, _ = exported
    with zipfile.ZipFile(folder / "survey_sites.kmz") as archive:
        document = ET.fromstring(archive.read("doc.kml")).find(f"{KML}Document")
    outlines = [p for p in document.findall(f"{KML}Placemark") if p.findtext(f"{KML}styleUrl") == "#area-filmed"]
    names = [p.findtext(f"{KML}name") for p in outlines]
    assert any(name.startswith("Area filmed by monday (2018-10-12)") for name in names), names
    assert any(name.startswith("Area filmed by wednesday (2018-10-14)") for name in names), names
    assert all(name.endswith("(outside every flight's: not looked at, no news of damage)") for name in names)
    for placemark in outlines:
        points = placemark.findtext(f"{KML}LineString/{KML}coordinates").split()
        assert len(points) >= 4 and points[0] == points[-1]  # a closed ring, drawn as a line
    assert document.find(f"{KML}Style[@id='area-filmed']") is not None
