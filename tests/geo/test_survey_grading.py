"""A survey's buildings graded from its sites, seen by any of its flights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.coverage import UnitCoverage, footprint_coverage
from geo.footprints import read_footprints
from geo.grading import NONE, NOT_ASSESSED, grade_buildings
from geo.survey_fusion import FlightMap, fuse_flights
from geo.survey_grading import grade_survey, merged_coverage


def test_coverage_over_flights_sums_views_and_keeps_the_best_of_each():
    monday = UnitCoverage(frames=3, good_views=1, nearest_m=40.0, steepest_deg=30.0, best_frame=7, best_gsd_m=0.05)
    tuesday = UnitCoverage(frames=5, good_views=4, nearest_m=25.0, steepest_deg=55.0, roof_in_view=True,
                           best_frame=2, best_gsd_m=0.03, seen_well=True)
    merged = merged_coverage([monday, UnitCoverage(), tuesday])
    assert (merged.frames, merged.good_views) == (8, 5)
    assert (merged.nearest_m, merged.steepest_deg, merged.best_gsd_m) == (25.0, 55.0, 0.03)
    assert merged.roof_in_view and merged.seen_well and merged.status == "seen well"
    assert merged.best_frame is None  # a frame number is one flight's
    assert merged_coverage([UnitCoverage(), UnitCoverage()]).status == "not seen"


def test_two_flights_grade_what_one_grades_with_both_flights_views_and_names(flyover, flyover_map):
    damage_map, _ = flyover_map
    footprints = read_footprints(flyover.paths.truth)
    single = grade_buildings(damage_map, footprints)
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                          FlightMap("wednesday", damage_map, "2018-10-14")])
    grading, coverage = grade_survey(built, footprints)
    assert [b.building_id for b in grading.buildings] == [b.building_id for b in single.buildings]
    # the same flight twice: the same grade for every building, twice the frames that saw it
    assert [b.level for b in grading.buildings] == [b.level for b in single.buildings]
    one = footprint_coverage(damage_map, footprints).coverage
    assert [c.frames for c in coverage.coverage] == [2 * c.frames for c in one]
    damaged = [b for b in grading.buildings if b.site_ids]
    assert damaged and all(b.flights == ("monday", "wednesday") and b.best_flight in b.flights for b in damaged)
    assert all(b.best_time_s is not None and b.sightings > 0 for b in damaged)
    truth = {str(f["properties"]["id"]): f["properties"]["level"]
             for f in json.loads(Path(flyover.paths.truth).read_text())["features"]}
    assessed = [b for b in grading.buildings if b.level != NOT_ASSESSED]
    assert sum(b.level == truth[b.building_id] for b in assessed) / len(assessed) >= 0.95
    assert grading.counts()[NONE] >= 1
    assert any("2 flights" in note for note in grading.notes)


@pytest.fixture
def graded_export(flyover, flyover_map, tmp_path):
    from geo.export.survey_files import SURVEY_FILES, write_survey_files

    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                          FlightMap("wednesday", damage_map, "2018-10-14")])
    grading, _ = grade_survey(built, read_footprints(flyover.paths.truth))
    written = write_survey_files(built, tmp_path, list(SURVEY_FILES), grading=grading)
    return built, grading, written, tmp_path


def test_the_export_writes_the_graded_buildings_in_every_vocabulary(graded_export):
    import geopandas as gpd

    built, grading, written, out = graded_export
    assert out / "survey_buildings.geojson" in written
    features = json.loads((out / "survey_buildings.geojson").read_text())["features"]
    assert len(features) == len(grading.buildings)
    by_id = {f["properties"]["building_id"]: f["properties"] for f in features}
    for b in grading.buildings:
        props = by_id[b.building_id]
        assert (props["level"], props["ems_grade"], props["xbd_subtype"]) == (b.level, b.ems_grade, b.xbd[1])
        if b.site_ids:
            assert props["flights"] == "monday,wednesday" and props["best_flight"] == b.best_flight
            assert props["best_time"] is None or props["best_time"].endswith("Z")
    layers = set(gpd.list_layers(out / "survey.gpkg")["name"])
    assert layers == {"sites", "coverage", "buildings"}
    readme = (out / "survey_README.txt").read_text()
    counts = grading.counts()
    assert f"Not assessed: {counts[NOT_ASSESSED]} (Not Applicable)" in readme
    assert f"No visible damage: {counts[NONE]} (No visible damage)" in readme
    assert "survey_buildings.geojson" in readme
    assert "layers sites, coverage and buildings" in readme  # as the GeoPackage holds them


def test_the_print_map_draws_and_counts_the_graded_buildings(graded_export):
    from geo.export.survey_print import draw_survey_map

    built, grading, _, _ = graded_export
    page = draw_survey_map(built, grading=grading)
    labels = [t.get_text() for ax in page.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    counts = grading.counts()
    assert f"Debris / Destroyed ({counts['debris']})" in labels
    assert f"Not assessed / Not Applicable ({counts[NOT_ASSESSED]})" in labels
    assert len(page.axes[0].collections[0].get_paths()) == len(grading.buildings)  # every footprint drawn
    texts = [t.get_text() for ax in page.axes for t in ax.texts]
    assert "Building damage grading, flights fused" in texts


def test_the_offline_map_shows_each_graded_building_under_the_flights(graded_export):
    import re

    _, grading, _, out = graded_export
    html = (out / "survey_map.html").read_text()
    classes = re.findall(r'"className": "dm-building dm-building-(\w+)"', html)
    assert sorted(classes) == sorted(b.level for b in grading.buildings)
    assert "Buildings (Copernicus EMS grade)" in html
    assert "Flights</td><td>monday, wednesday" in html  # a damaged building's popup names both flights


def test_the_survey_s_graded_buildings_are_typed_as_a_flight_s_so_a_gis_appends_them(graded_export):
    """One geometry type per layer, footprints as MultiPolygons, whole numbers as integers:
    the survey's buildings layer was POLYGON with REAL grades (1.0, 5.0), the flight's
    graded_buildings MULTIPOLYGON with INTEGER ones."""
    import pyogrio

    from geo.export.records import LAYER_GEOMETRY_TYPES

    _built, grading, _written, out = graded_export
    info = pyogrio.read_info(out / "survey.gpkg", layer="buildings")
    assert info["geometry_type"] == "MultiPolygon" == LAYER_GEOMETRY_TYPES["graded_buildings"]
    types = dict(zip(info["fields"], info["dtypes"]))
    for column in ("xbd_damage", "best_frame"):
        assert types[column] in ("int64", "int32"), (column, types[column])
    features = json.loads((out / "survey_buildings.geojson").read_text())["features"]
    assert {f["geometry"]["type"] for f in features} == {"MultiPolygon"}
    assert len(features) == len(grading.buildings)
