"""A survey's GeoJSON files are RFC 7946 as a flight's are (geo/export/vector.py): the
layer named after the file, no ``crs`` member, coordinates to 8 decimals, exterior rings
counter-clockwise; the same survey exported twice gives the same bytes. Its CSV places
the sites to the same 8 decimals, so a join on position finds the GeoJSON's."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from shapely.geometry import shape

from geo.export.survey_files import write_survey_files
from geo.export.survey_records import SURVEY_SITE_SCHEMA
from geo.footprints import read_footprints
from geo.survey_grading import grade_survey

GEOJSON = ("survey_sites.geojson", "survey_coverage.geojson", "survey_buildings.geojson")


@pytest.fixture
def built(survey_of_two_flights):
    return survey_of_two_flights


@pytest.fixture
def grading(built, flyover):
    return grade_survey(built, read_footprints(flyover.paths.truth))[0]


def _decimals(text: str) -> int:
    """The most decimals of any number in a GeoJSON's ``coordinates``."""
    coordinates = re.findall(r'"coordinates":(\[[-0-9.,\[\]eE]*\])', text)
    return max((len(m) for c in coordinates for m in re.findall(r"\.(\d+)", c)), default=0)


def _clockwise_rings(geometry) -> int:  # noqa: ANN001 - a shapely geometry
    polygons = [] if geometry is None else list(getattr(geometry, "geoms", [geometry]))
    return sum((not p.exterior.is_ccw) + sum(ring.is_ccw for ring in p.interiors)
               for p in polygons if p.geom_type == "Polygon")


def test_survey_geojson_is_rfc7946_with_the_layer_named_after_the_file(built, grading, tmp_path):
    import pyogrio

    write_survey_files(built, tmp_path, ["geojson", "buildings"], grading=grading)
    for name in GEOJSON:
        path = tmp_path / name
        text = path.read_text(encoding="utf-8")
        document = json.loads(text)
        assert document["type"] == "FeatureCollection" and document["features"], name
        assert document["name"] == path.stem, name  # not the temporary file's name
        assert [layer for layer, _ in pyogrio.list_layers(path)] == [path.stem]  # as GDAL (QGIS) reads it
        assert "crs" not in document, name  # RFC 7946: WGS84 lon/lat, no crs member
        assert _decimals(text) <= 8, name
        geometries = [shape(f["geometry"]) if f["geometry"] else None for f in document["features"]]
        assert sum(_clockwise_rings(g) for g in geometries) == 0, name
    polygons = [shape(f["geometry"]) for f in json.loads((tmp_path / "survey_coverage.geojson").read_text())
                ["features"]]
    assert polygons and all(p.geom_type == "MultiPolygon" and not p.is_empty for p in polygons)


def test_the_sites_keep_their_attributes_and_positions(built, tmp_path):
    write_survey_files(built, tmp_path, ["geojson"])
    features = json.loads((tmp_path / "survey_sites.geojson").read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["id"] for f in features] == [f["id"] for f in features] == [s.id for s in built.sites]
    assert list(features[0]["properties"]) == list(SURVEY_SITE_SCHEMA[0])
    for feature, site in zip(features, built.sites):
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (round(site.lon_deg, 8), round(site.lat_deg, 8))
        props = feature["properties"]
        assert props["reviewed"] is site.reviewed and props["flights"] == ",".join(site.flights)
        assert props["flight_count"] == len(site.evidence) and props["level"] == site.level.name.lower()


def test_a_flight_that_saw_no_ground_keeps_its_feature_with_no_geometry(built, tmp_path):
    blind = replace(built, coverage=[replace(built.coverage[0], footprint_lonlat=()), *built.coverage[1:]])
    write_survey_files(blind, tmp_path, ["geojson"])
    document = json.loads((tmp_path / "survey_coverage.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["flight"] for f in document["features"]] == [c.flight for c in built.coverage]
    assert document["features"][0]["geometry"] is None
    assert document["features"][1]["geometry"]["type"] == "MultiPolygon"


def test_two_exports_of_one_survey_are_byte_identical(built, grading, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        write_survey_files(built, out, ["geojson", "buildings"], grading=grading)
    for name in GEOJSON:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_the_csv_places_the_sites_to_8_decimals_as_the_geojson_does(built, tmp_path):
    write_survey_files(built, tmp_path, ["geojson", "csv"])
    with (tmp_path / "survey_sites.csv").open(encoding="utf-8-sig", newline="") as table:
        rows = list(csv.DictReader(table))
    assert list(rows[0])[:4] == ["id", "level", "lon", "lat"]  # named as a flight's damage_sites.csv
    features = json.loads(Path(tmp_path / "survey_sites.geojson").read_text(encoding="utf-8"))["features"]
    for row, feature in zip(rows, features, strict=True):
        assert all(len(row[key].partition(".")[2]) <= 8 for key in ("lon", "lat")), row
        assert [float(row["lon"]), float(row["lat"])] == feature["geometry"]["coordinates"]


def test_numpy_numbers_are_written_as_json_numbers(tmp_path):
    import numpy as np
    from shapely.geometry import Point

    from geo.export.survey_files import _write_geojson

    path = _write_geojson(tmp_path / "layer.geojson", [({"n": np.int64(3), "x": np.float32(0.5), "ok": np.bool_(True),
                                                         "gone": float("nan")}, Point(-85.123456789, 30.5))])
    feature = json.loads(path.read_text(encoding="utf-8"))["features"][0]
    assert feature["properties"] == {"n": 3, "x": 0.5, "ok": True, "gone": None}
    assert feature["geometry"]["coordinates"] == [-85.12345679, 30.5]
