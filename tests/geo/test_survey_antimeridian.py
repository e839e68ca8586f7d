"""A survey over 180° longitude (Fiji, Tonga): the ground each flight saw is split there
in every file that holds it (GeoJSON, GeoPackage, KML), as a flight's files split their
geometries (RFC 7946 section 3.1.9), not an outline round the whole world; the offline
map draws it in one place."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from geo.export.survey_files import write_survey_files
from geo.survey_fusion import FlightMap, fuse_flights
from geo_helpers import map_across_180

#: The widest a flight's part of the ground it saw may span, in degrees of longitude (the
#: flyover sees some hundred metres; round the world is 360).
NARROW_DEG = 0.1


@pytest.fixture(scope="module")
def built(flyover):
    damage_map = map_across_180(flyover, title="Over Fiji")
    lons = [s.lon_deg for s in damage_map.sites]
    assert min(lons) < 0 < max(lons)  # sites on both sides of 180°
    return fuse_flights([FlightMap("monday", damage_map, "2022-01-16"),
                         FlightMap("wednesday", damage_map, "2022-01-18")])


def _parts(geometry) -> list:  # noqa: ANN001 - a shapely geometry
    return list(getattr(geometry, "geoms", [geometry]))


def _narrow_and_in_the_world(geometry) -> bool:  # noqa: ANN001
    lon = shapely.get_coordinates(geometry)[:, 0]
    return bool(np.all((lon >= -180.0) & (lon <= 180.0))) and all(
        part.bounds[2] - part.bounds[0] < NARROW_DEG for part in _parts(geometry))


def test_the_coverage_of_a_survey_across_180_is_split_there_in_its_files(built, tmp_path):
    import pyogrio

    write_survey_files(built, tmp_path, ["geojson", "gpkg", "kml", "html"])
    features = json.loads((tmp_path / "survey_coverage.geojson").read_text())["features"]
    geometries = [shape(f["geometry"]) for f in features]
    assert len(geometries) == 2
    for geometry in geometries:
        assert geometry.geom_type == "MultiPolygon" and geometry.is_valid
        assert _narrow_and_in_the_world(geometry)
        assert {part.bounds[0] < 0 for part in geometry.geoms} == {True, False}  # a part each side of 180°

    coverage = pyogrio.read_dataframe(tmp_path / "survey.gpkg", layer="coverage")
    assert len(coverage) == 2
    for geometry, written in zip(coverage.geometry, geometries):
        assert geometry.is_valid and _narrow_and_in_the_world(geometry)
        assert geometry.area == pytest.approx(written.area, rel=1e-4)  # the GeoJSON's (to 8 decimals)

    kml = (tmp_path / "survey_sites.kml").read_text()
    filmed = re.findall(r"<name>Area filmed by .*?<coordinates>(.*?)</coordinates>", kml, re.S)
    assert filmed
    for text in filmed:
        lons = [float(pair.split(",")[0]) for pair in text.split()]
        assert max(lons) - min(lons) < NARROW_DEG, "an outline round the world"

    page = (tmp_path / "survey_map.html").read_text()
    pair = r"\[\s*(-?[\d.]+),\s*(-?[\d.]+)\s*\]"
    outlines = [float(lon) for block in re.findall(r"L\.polygon\(\s*(\[\[.*?\]\])", page, re.S)
                for _, lon in re.findall(pair, block)]
    assert outlines and max(outlines) - min(outlines) < NARROW_DEG  # drawn in one place
