"""An export writes the same map several times (its GeoJSON, its GeoPackage, its HTML
map, the relief package's GeoPackage and HTML map, each from a titled copy of the map):
the sightings' records and the heat image are made once for them all, and anew when the
map changes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.review import ReviewSignature
from geo.export import html, records
from geo.export.html import heat_image
from geo.export.records import observation_records


@pytest.fixture
def damage_map(flyover_map):
    records.clear_cache()
    html.clear_cache()
    return flyover_map[0]


def test_the_sightings_records_are_made_once_for_a_map_and_its_titled_copies(damage_map):
    first = observation_records(damage_map)
    again = observation_records(replace(damage_map, title="Titled"))
    assert first and len(again) == len(first) and all(a is b for a, b in zip(again, first))
    again.clear()  # a writer's list of its own: the kept records stay whole
    assert observation_records(damage_map) == first


def test_the_sightings_records_follow_the_review_marks_and_the_sites(damage_map):
    first = observation_records(damage_map)
    detection = first[0][0]["detection_id"]
    signed = replace(damage_map, reviews={detection: ReviewSignature("ana", "2026-01-02T03:04:05Z")})
    marked = observation_records(signed)
    assert (marked[0][0]["reviewed_by"], marked[0][0]["reviewed_at"]) == ("ana", "2026-01-02T03:04:05Z")
    fewer = observation_records(replace(damage_map, fused=damage_map.fused[1:]))
    assert len(fewer) == len(first) - len(damage_map.fused[0].observations)
    records.clear_cache()
    assert [(p, g.wkb) for p, g in observation_records(damage_map)] == [(p, g.wkb) for p, g in first]


def test_the_heat_image_is_drawn_once_for_a_map_and_its_titled_copies(damage_map):
    image, bounds = heat_image(damage_map)
    again, again_bounds = heat_image(replace(damage_map, title="Titled"))
    assert again is image and again_bounds == bounds and not image.flags.writeable
    html.clear_cache()
    anew, anew_bounds = heat_image(damage_map)
    assert anew is not image and np.array_equal(anew, image) and anew_bounds == bounds
    assert heat_image(replace(damage_map, heat=None)) is None
