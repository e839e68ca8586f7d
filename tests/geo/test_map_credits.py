"""The offline HTML maps and the survey's README credit what the print map credits: an
OpenStreetMap extract's buildings drawn on a web map with no "(c) OpenStreetMap
contributors" break its licence."""

from __future__ import annotations

import re

import pytest

from geo.export.html import render_html
from geo.export.products import OSM_CREDIT, html_layers, map_credits
from geo.export.survey_files import readme_text
from geo.export.survey_html import render_survey_html, survey_credits
from geo.footprints import read_footprints
from geo.grading import grade_buildings
from geo.survey_fusion import FlightMap, fuse_flights
from geo.survey_grading import grade_survey


@pytest.fixture
def built_survey(flyover_map):
    damage_map, _ = flyover_map
    return fuse_flights([FlightMap("monday", damage_map, "2018-10-12"), FlightMap("wednesday", damage_map, "2018-10-14")])


def _attribution(page: str) -> str:
    """What the page adds to the map's attribution corner."""
    return " ".join(re.findall(r"attributionControl\.addAttribution\(\"([^\"]*)\"\)", page))


def _graded_from_osm(grading):  # noqa: ANN001, ANN202 - geo.grading.Grading
    from dataclasses import replace

    return replace(grading, source="/data/haiti-latest.osm.pbf")


def test_a_flight_s_map_credits_the_openstreetmap_buildings_it_shows(flyover, flyover_map):
    damage_map, _ = flyover_map
    grading = _graded_from_osm(grade_buildings(damage_map, read_footprints(flyover.paths.truth)))
    page = render_html(damage_map, extra_layers=html_layers(grading=grading))
    assert f"Building footprints: haiti-latest.osm.pbf {OSM_CREDIT}" in _attribution(page)


def test_the_package_map_gives_the_print_map_s_credits(flyover_map):
    damage_map, _ = flyover_map
    credits = map_credits(software="damagemap 1.0", footprints="/data/haiti.osm.pbf", basemap="/data/ortho.tif",
                          imagery="drone video DJI_0001.MP4", organisation="Relief & Co")
    page = render_html(damage_map, extra_layers=html_layers(credits=credits))
    assert _attribution(page) == " | ".join(c.replace("&", "&amp;") for c in credits)


def test_the_survey_map_and_readme_credit_openstreetmap(flyover, built_survey):
    grading, _ = grade_survey(built_survey, read_footprints(flyover.paths.truth))
    grading = _graded_from_osm(grading)
    provenance = {"software": "damagemap 1.0", "flights": {"monday": {"video": "/v/monday.mp4"}}}
    credits = survey_credits(built_survey, provenance, grading=grading)
    assert credits == ["Analysis and map: damagemap 1.0 (MIT licence), map rendering with Leaflet and matplotlib",
                       f"Building footprints: haiti-latest.osm.pbf {OSM_CREDIT}",
                       "Imagery: drone video of monday (monday.mp4)"]
    page = render_survey_html(built_survey, grading=grading, credits=credits)
    assert _attribution(page) == " | ".join(credits)
    readme = readme_text(built_survey, title="Survey", files=[], provenance=provenance, grading=grading)
    assert readme.rstrip().endswith("Credits\n-------\n" + "\n".join(credits))


def test_the_survey_map_credits_openstreetmap_without_being_told(flyover, built_survey):
    grading, _ = grade_survey(built_survey, read_footprints(flyover.paths.truth))
    page = render_survey_html(built_survey, grading=_graded_from_osm(grading))
    assert OSM_CREDIT in _attribution(page)
