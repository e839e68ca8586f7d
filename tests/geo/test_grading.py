"""Grades per building footprint from the damage sites on it and what was seen."""

from __future__ import annotations

import json
from pathlib import Path

from shapely.geometry import box

from geo.grading import EMS_GRADE, NONE, NOT_ASSESSED, OSM_DAMAGE, XBD, BuildingGrade, assign_sites, grade_buildings


def test_sites_go_to_the_nearest_footprint_within_reach():
    houses = [box(0, 0, 10, 10), box(20, 0, 30, 10)]
    owner = assign_sites([(5, 5), (11, 5), (18.5, 5), (50, 50), (15, 5)], houses, match_m=3.0)
    assert owner == [0, 0, 1, None, None]
    assert assign_sites([(1, 1)], [], match_m=3.0) == [None]


def test_vocabularies():
    square = box(0, 0, 1, 1)
    debris = BuildingGrade("1", square, "debris")
    assert (debris.ems_grade, debris.xbd, debris.osm_damage) == ("Destroyed", (3, "destroyed"), "complete")
    assert BuildingGrade("2", square, NONE).xbd == (0, "no-damage")
    unseen = BuildingGrade("3", square, NOT_ASSESSED)
    assert unseen.ems_grade == "Not Applicable" and unseen.xbd == (None, "un-classified") and unseen.osm_damage is None
    assert EMS_GRADE["slight"] == "Possibly damaged" and OSM_DAMAGE["severe"] == "significant" and XBD["severe"][0] == 2


def test_flyover_grades_match_the_truth(flyover, flyover_map):
    from geo.footprints import read_footprints

    damage_map, _ = flyover_map
    footprints = read_footprints(flyover.paths.truth)
    grading = grade_buildings(damage_map, footprints)
    truth = {str(f["properties"]["id"]): f["properties"]["level"]
             for f in json.loads(Path(flyover.paths.truth).read_text())["features"]}
    assessed = [b for b in grading.buildings if b.level != NOT_ASSESSED]
    counts = grading.counts()
    assert counts[NONE] >= 1 and counts[NOT_ASSESSED] >= 1
    assert sum(counts[level] for level in ("slight", "severe", "debris")) >= 3
    agree = sum(b.level == truth[b.building_id] for b in assessed)
    assert agree / len(assessed) >= 0.95
    damaged = [b for b in grading.buildings if b.site_ids]
    for b in damaged:  # evidence travels with the grade
        assert b.best_frame is not None and b.sightings >= len(b.site_ids) and 0 < b.confidence <= 1
        assert b.best_time_s is not None
    placed = sum(len(b.site_ids) for b in grading.buildings) + len(grading.unmatched_site_ids)
    assert placed == len(damage_map.sites)


def test_a_building_popup_counts_its_best_frame_from_1_as_the_app_does():
    from geo.export.products import _building_popup

    graded = BuildingGrade("7", box(0, 0, 1, 1), "severe", site_ids=(3,), confidence=0.8, sightings=4, best_frame=41)
    assert "<td>Best frame</td><td>42</td>" in _building_popup(graded)
