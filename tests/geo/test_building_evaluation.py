"""Sites scored against the damaged buildings a flight filmed."""

from __future__ import annotations

import json

import pytest

from geo.building_evaluation import (
    BuildingEvaluation,
    evaluate_buildings,
    filmed_buildings,
    largest_views,
    read_damaged_buildings,
)
from geo.local import LocalFrame

ORIGIN = (-85.66, 30.15)


def _building(local, building_id, east, north, *, damaged, part=None):
    ring = [(east - 5, north - 4), (east + 5, north - 4), (east + 5, north + 4), (east - 5, north + 4), (east - 5, north - 4)]
    lon, lat = local.to_lonlat([p[0] for p in ring], [p[1] for p in ring])
    properties = {"id": building_id, "damaged": damaged, "parts": []}
    if part is not None:
        plon, plat = local.to_lonlat([part[0]], [part[1]])
        properties["parts"] = [{"part_id": building_id * 10, "lon": float(plon[0]), "lat": float(plat[0])}]
    return {"type": "Feature", "properties": properties,
            "geometry": {"type": "Polygon", "coordinates": [[[float(a), float(b)] for a, b in zip(lon, lat)]]}}


@pytest.fixture
def truth(tmp_path):
    local = LocalFrame.around(*ORIGIN)
    features = [
        _building(local, 1, 0, 0, damaged=True, part=(2, 1)),  # filmed well
        _building(local, 2, 40, 0, damaged=True, part=(40, 0)),  # only glimpsed
        _building(local, 3, 0, 40, damaged=False),  # intact
        _building(local, 4, 80, 0, damaged=True, part=(80, 0)),  # filmed, never found
    ]
    path = tmp_path / "truth.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return local, path


def _site(local, east, north):
    lon, lat = local.to_lonlat([east], [north])
    return float(lon[0]), float(lat[0])


def test_sites_are_right_on_filmed_damaged_buildings_and_wrong_elsewhere(truth):
    local, path = truth
    sites = [_site(local, 3, 1), _site(local, 41, 0), _site(local, 0, 40), _site(local, 200, 200)]
    result = evaluate_buildings(sites, path, filmed={1, 4}, glimpsed={2})
    assert (result.sites, result.correct_sites) == (3, 1)  # the glimpsed building's site is not counted
    assert (result.filmed_buildings, result.found_buildings) == (2, 1)
    assert result.precision == pytest.approx(1 / 3) and result.recall == pytest.approx(0.5)
    assert result.median_distance_m == pytest.approx(1.0, abs=0.01)


def test_a_site_a_few_metres_off_the_roof_still_counts_but_not_beyond_match_m(truth):
    local, path = truth
    assert evaluate_buildings([_site(local, 9, 0)], path, filmed={1}).correct_sites == 1  # 4 m off the wall
    assert evaluate_buildings([_site(local, 12, 0)], path, filmed={1}).correct_sites == 0  # 7 m off


def test_truth_read_once_scores_as_the_file_does_and_evaluations_pool(truth):
    local, path = truth
    buildings = read_damaged_buildings(path)
    assert sorted(b[0] for b in buildings.buildings) == [1, 2, 4]  # the intact building is not one
    flights = [[_site(local, 3, 1), _site(local, 200, 200)], [_site(local, 80, 1), _site(local, 41, 0)]]
    from_file = [evaluate_buildings(sites, path, filmed={1, 4}, glimpsed={2}) for sites in flights]
    assert [evaluate_buildings(sites, buildings, filmed={1, 4}, glimpsed={2}) for sites in flights] == from_file
    pooled = sum(from_file, BuildingEvaluation(0, 0, 0, 0, ()))
    assert (pooled.sites, pooled.correct_sites, pooled.filmed_buildings, pooled.found_buildings) == (3, 2, 4, 2)
    assert pooled.distances_m == from_file[0].distances_m + from_file[1].distances_m


def test_filmed_means_a_part_large_enough_in_an_analysed_frame(tmp_path):
    doc = {"images": [{"id": 1, "frame_index": 0}, {"id": 2, "frame_index": 5}],
           "annotations": [{"image_id": 1, "area": 500, "building_id": 1}, {"image_id": 1, "area": 10, "building_id": 2},
                           {"image_id": 2, "area": 900, "building_id": 3}, {"image_id": 2, "area": 20, "building_id": 1}]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(doc))
    assert filmed_buildings(path) == ({1, 3}, {2})
    assert filmed_buildings(path, {5}) == ({3}, {1})
    assert largest_views(path) == {1: 500.0, 2: 10.0, 3: 900.0}
    assert largest_views(path, {5}) == {1: 20.0, 3: 900.0}
