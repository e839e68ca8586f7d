"""A survey's sites carry a flight's site columns under the same names, with the same
types: a GIS project, style or script built on a flight's ``damage_sites`` reads a
survey's ``sites`` too. Compared on the files the two writers write, so a column
renamed or retyped on one side alone fails here."""

from __future__ import annotations

import csv
import json

import pyogrio
import pytest

from geo.export.records import SITE_LAYER_SCHEMAS
from geo.export.survey_files import write_survey_files
from geo.export.survey_records import FLIGHT_ONLY_COLUMNS, SURVEY_ONLY_COLUMNS, SURVEY_SITE_SCHEMA, survey_site_records
from geo.export.vector import KML_FIELD_TYPES, SITE_KML_SCHEMA, kml_site_attributes, write_geopackage, write_sites_csv
from geo.survey_fusion import FlightMap, fuse_flights

KINDS = {"int": int, "float": float, "str": str, "bool": bool, "datetime": str}  # datetime: ISO 8601 text


@pytest.fixture
def exported(flyover_map, tmp_path):
    """A flight's GeoPackage, GeoJSON-ready records and CSV, and a survey of it flown twice."""
    damage_map, _ = flyover_map
    flight, survey = tmp_path / "flight", tmp_path / "survey"
    flight.mkdir()
    write_geopackage(flight / "damage_map.gpkg", damage_map)
    write_sites_csv(flight / "damage_sites.csv", damage_map)
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                          FlightMap("wednesday", damage_map, "2018-10-14")])
    write_survey_files(built, survey, ["gpkg", "geojson", "csv", "kml"])
    return built, flight, survey


def _shared(names) -> list[str]:  # noqa: ANN001 - column names
    flight_columns = SITE_LAYER_SCHEMAS["damage_sites"][0]
    return [name for name in names if name in flight_columns]


def test_the_survey_has_every_flight_column_but_those_of_one_video(exported):
    flight_columns = list(SITE_LAYER_SCHEMAS["damage_sites"][0])
    survey_columns = list(SURVEY_SITE_SCHEMA[0])
    assert set(FLIGHT_ONLY_COLUMNS) <= set(flight_columns)  # no stale exception
    assert _shared(survey_columns) == [c for c in flight_columns if c not in FLIGHT_ONLY_COLUMNS]  # the same order
    assert not set(SURVEY_ONLY_COLUMNS) & set(flight_columns)  # a survey's own column never shadows a flight's


def test_the_survey_records_are_what_its_schema_says(exported):
    built, _, _ = exported
    columns, geometry_type = SURVEY_SITE_SCHEMA
    records = survey_site_records(built)
    assert records
    for props, point in records:
        assert list(props) == list(columns) and point.geom_type == geometry_type
        for name, value in props.items():
            assert value is None or isinstance(value, KINDS[columns[name]]) or (
                columns[name] == "float" and isinstance(value, int) and not isinstance(value, bool)), name
    assert any(props["first_time"] for props, _ in records)  # the flyover is dated: times reach the survey


def test_the_geopackages_type_the_shared_columns_alike(exported):
    _, flight, survey = exported
    flight_info = pyogrio.read_info(flight / "damage_map.gpkg", layer="damage_sites")
    survey_info = pyogrio.read_info(survey / "survey.gpkg", layer="sites")
    flight_types = dict(zip(flight_info["fields"], flight_info["dtypes"]))
    survey_types = dict(zip(survey_info["fields"], survey_info["dtypes"]))
    shared = _shared(survey_types)
    assert shared == [c for c in flight_types if c not in FLIGHT_ONLY_COLUMNS]
    assert {c: survey_types[c] for c in shared} == {c: flight_types[c] for c in shared}
    assert survey_types["first_time"].startswith("datetime64") and survey_types["best_frame"] == "int64"
    assert (flight_info["geometry_type"], flight_info["crs"]) == (survey_info["geometry_type"], survey_info["crs"])


def test_the_geojson_csv_and_kml_name_the_shared_columns_as_a_flights(exported):
    from geo.export.records import site_records

    built, flight, survey = exported
    flight_props = site_records(built.flights[0].damage_map)[0][0]
    feature = json.loads((survey / "survey_sites.geojson").read_text(encoding="utf-8"))["features"][0]
    props = feature["properties"]
    assert feature["id"] == props["id"]  # the feature's id, as a flight's
    for name in _shared(props):
        value, theirs = props[name], flight_props[name]
        assert value is None or theirs is None or type(value) is type(theirs) or (
            isinstance(value, (int, float)) and isinstance(theirs, (int, float))), name
    with (flight / "damage_sites.csv").open(encoding="utf-8-sig") as table:
        flight_header = next(csv.reader(table))
    with (survey / "survey_sites.csv").open(encoding="utf-8-sig") as table:
        survey_header = next(csv.reader(table))
    assert {"lon", "lat"} <= set(survey_header)
    assert set(flight_header) - set(survey_header) == set(FLIGHT_ONLY_COLUMNS)
    kml = (survey / "survey_sites.kml").read_text(encoding="utf-8")  # under their KML names, as a flight's KML
    flight_kml = SITE_KML_SCHEMA.fields
    assert all(f'<SimpleField type="{KML_FIELD_TYPES[flight_kml[name]]}" name="{name}"' in kml
               for name in kml_site_attributes(dict.fromkeys(_shared(SURVEY_SITE_SCHEMA[0]))))


def test_an_empty_survey_still_writes_its_sites_layer_with_the_shared_columns(exported, tmp_path):
    from dataclasses import replace

    built, _, _ = exported
    empty = replace(built, sites=[])
    write_survey_files(empty, tmp_path / "empty", ["gpkg"])
    info = pyogrio.read_info(tmp_path / "empty" / "survey.gpkg", layer="sites")
    assert info["features"] == 0 and list(info["fields"]) == list(SURVEY_SITE_SCHEMA[0])
