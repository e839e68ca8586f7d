"""A flight analysed again keeps its reviewer's decisions on the same damage, though the
new run places it metres away (another frame rate, another model): matched by the frames
both runs saw it in, never to two sites, and a site earlier decisions disagree on is left
for review and said."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from shapely.geometry import mapping

from core.review import RegroupSite, ReviewSession
from core.sites import distance_m, site_decision
from core.store import ProjectStore, SiteDecisionRecord
from core.types import DamageLevel, ReviewState
from geo.survey_fusion import SurveySettings
from services.carry import (
    SAME_BOXES,
    SAME_PLACE,
    SAME_TIME,
    Buildings,
    Traits,
    candidate_pairs,
    evidence,
    match_runs,
    project_buildings,
    site_traits,
    sole_buildings,
)
from services.sites import carry_outcome, site_review
from tests.truth_runs import write_run

#: one degree of latitude, metres
DEGREE_M = 111_320.0


@pytest.fixture
def store(sites_truth_store):
    return sites_truth_store


def _new_run(store: ProjectStore, flight) -> int:
    return write_run(store, flight.detections, flight.times, settings={"n": len(store.runs())})


def _decided_apart(site, decision, metres: float):
    """The decision on ``site``, recorded as if its run had placed it ``metres`` north."""
    group = site_decision(site, decision)
    return replace(group, site=replace(group.site, lat_deg=group.site.lat_deg + metres / DEGREE_M))


def _same_site(review, site):
    """The site of ``review`` seen in the same frames as ``site`` of another run."""
    frames = {sg.frame_index for sg in site.sightings}
    return next(s for s in review.sites if {sg.frame_index for sg in s.sightings} == frames)


def test_a_decision_reaches_the_site_seen_in_the_same_frames_seven_metres_away(store, sites_truth):
    first = site_review(store)
    site = max(first.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, first.run_id).apply(_decided_apart(site, DamageLevel.SEVERE, 7.0))

    run2 = _new_run(store, sites_truth)
    second = site_review(store, run2)
    same = _same_site(second, site)
    decided = store.site_decisions(first.run_id)[0]
    assert distance_m(decided.lon_deg, decided.lat_deg, same.lon_deg, same.lat_deg) > 6.5  # beyond any reach

    outcome = carry_outcome(store, second)
    assert outcome.edit is not None and outcome.disputed == ()
    ReviewSession(store, run2).apply(outcome.edit)
    after = site_review(store, run2)
    kept = [s for s in after.sites if s.decided]
    assert [set(s.detection_ids) for s in kept] == [set(same.detection_ids)]  # that site, and no other
    assert {sg.level for sg in kept[0].sightings} == {DamageLevel.SEVERE}


def test_a_site_two_earlier_decisions_disagree_on_is_left_for_review_and_said(store, sites_truth):
    first = site_review(store)
    run1 = first.run_id
    site = max(first.sites, key=lambda s: len(s.sightings))
    session = ReviewSession(store, run1)
    # the earlier run saw it as two sites (its reviewer split them) and decided them apart
    session.apply(RegroupSite(run1, "split", site.detection_ids[-1:]))
    split = site_review(store)
    parts = [split.site_of_detection(site.detection_ids[0]), split.site_of_detection(site.detection_ids[-1])]
    assert parts[0].site_id != parts[1].site_id
    session.apply(site_decision(parts[0], ReviewState.ACCEPTED))
    session.apply(site_decision(parts[1], ReviewState.REJECTED))

    run2 = _new_run(store, sites_truth)  # the new run sees it as one site
    second = site_review(store, run2)
    whole = _same_site(second, site)
    outcome = carry_outcome(store, second)
    assert [d.site_id for d in outcome.disputed] == [whole.site_id]
    assert "accepted and rejected" in outcome.disputed[0].text()
    decided = set() if outcome.edit is None else {e.detection_id for g in outcome.edit.groups for e in g.edits}
    assert decided.isdisjoint(whole.detection_ids)


def test_a_decision_never_reaches_two_sites(store, sites_truth):
    first = site_review(store)
    site = max(first.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, first.run_id).apply(site_decision(site, ReviewState.REJECTED))

    run2 = _new_run(store, sites_truth)
    second = site_review(store, run2)
    same = _same_site(second, site)
    ReviewSession(store, run2).apply(RegroupSite(run2, "split", same.detection_ids[-1:]))  # two sites now
    outcome = carry_outcome(store, site_review(store, run2))
    assert outcome.edit is not None and len(outcome.edit.groups) == 1  # one of the two, not both
    assert outcome.disputed == ()
    given = {e.detection_id for e in outcome.edit.groups[0].edits}
    assert given < set(same.detection_ids)


def test_evidence_tells_one_damage_by_its_boxes_then_its_place_then_its_stretch_of_video():
    box = (10.0, 10.0, 50.0, 40.0)
    here = Traits(-85.0, 30.0, 1.0, None, {10: (box,), 20: (box,)})
    seven_north = 30.0 + 7.0 / DEGREE_M
    assert evidence(here, Traits(-85.0, seven_north, 1.0, None, {20: (box,), 25: ((12.0, 11.0, 52.0, 41.0),)}))[0] \
        == SAME_BOXES
    elsewhere_in_frame = Traits(-85.0, seven_north, 1.0, None, {20: ((200.0, 100.0, 240.0, 130.0),)})
    assert evidence(here, elsewhere_in_frame) is None  # the same frame, other pixels: another damage
    assert evidence(here, Traits(-85.0, seven_north, 1.0, None, {12: (box,), 18: (box,)}))[0] == SAME_TIME
    assert evidence(here, Traits(-85.0, seven_north, 1.0, None, {40: (box,), 50: (box,)})) is None
    assert evidence(here, Traits(-85.0, 30.0 + 13.0 / DEGREE_M, 1.0, None, {12: (box,), 18: (box,)})) is None


def _house(lon: float, lat: float, east_m: float, north_m: float, *, ident: str = "house"):
    """Footprints of one building ``east_m`` by ``north_m`` centred on (lon, lat)."""
    from geo.footprints import Footprints

    dlat = north_m / 2 / DEGREE_M
    dlon = east_m / 2 / (DEGREE_M * math.cos(math.radians(lat)))
    ring = [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    return Footprints.from_polygons([ring], [ident])


def _buildings(footprints) -> Buildings:
    from geo.coverage import to_local_polygon
    from geo.local import LocalFrame

    local = LocalFrame.around(-85.0, 30.0)
    return Buildings(footprints.ids, tuple(to_local_polygon(p, local) for p in footprints.polygons), local)


def _north(metres: float) -> float:
    return 30.0 + metres / DEGREE_M


def test_sites_on_one_building_at_one_level_are_one_damage_eight_metres_apart():
    """A large house: the earlier run put its damage 4 m south of the middle, the new
    run 4 m north, seen in other frames; the building and the level tell it."""
    house = _buildings(_house(-85.0, 30.0, 10.0, 14.0))
    earlier = [(-85.0, _north(-4.0), DamageLevel.SEVERE)]
    new = [(-85.0, _north(4.0), DamageLevel.SEVERE), (-85.0, _north(4.0), DamageLevel.SLIGHT)]
    (was,), (now, other) = sole_buildings(earlier, house), sole_buildings(new, house)
    assert was == now == other == "house"
    box = (10.0, 10.0, 50.0, 40.0)
    decided = Traits(-85.0, _north(-4.0), 1.0, None, {10: (box,)}, level=DamageLevel.SEVERE, building=was)
    same = Traits(-85.0, _north(4.0), 1.0, None, {90: (box,)}, level=DamageLevel.SEVERE, building=now)
    assert evidence(decided, same) == (SAME_PLACE, pytest.approx(8.0, abs=0.01))
    assert evidence(decided, replace(same, level=DamageLevel.SLIGHT, building=other)) is None  # another damage
    assert evidence(decided, replace(same, building=None)) is None  # no footprints: 8 m is beyond reach
    assert SurveySettings().joins(8.0, 1.0, 1.0, one_building=True)
    assert not SurveySettings().joins(8.0, 1.0, 1.0)


def test_two_damages_of_one_roof_at_one_level_are_never_joined_by_the_roof():
    """The earlier run saw two Severe damages at the two ends of a 30 m building, the new
    run one between them: the roof does not say which, so neither decision reaches it
    (it waits for review). At two levels each end keeps its own decision."""
    hall = _buildings(_house(-85.0, 30.0, 10.0, 30.0, ident="hall"))
    ends = [(-85.0, _north(-12.0)), (-85.0, _north(12.0))]
    box = (10.0, 10.0, 50.0, 40.0)

    def run_of(places, levels, first_frame):
        buildings = sole_buildings([(*p, lv) for p, lv in zip(places, levels)], hall)
        return [Traits(*p, 1.0, None, {first_frame + 40 * k: (box,)}, level=lv, building=b)
                for k, (p, lv, b) in enumerate(zip(places, levels, buildings))]

    severe = [DamageLevel.SEVERE, DamageLevel.SEVERE]
    earlier = run_of(ends, severe, 0)
    assert [t.building for t in earlier] == [None, None]
    accepted, rejected = _record(1, ReviewState.ACCEPTED), _record(2, ReviewState.REJECTED)
    middle = run_of([(-85.0, _north(-2.0))], [DamageLevel.SEVERE], 200)[0]
    assert middle.building == "hall"
    found = match_runs([(accepted, earlier[0]), (rejected, earlier[1])], {7: middle}, {7})
    assert found.matches == {} and found.disputed == ()

    two_levels = [DamageLevel.SEVERE, DamageLevel.SLIGHT]
    earlier = run_of(ends, two_levels, 0)
    assert [t.building for t in earlier] == ["hall", "hall"]
    moved = [(-85.0, _north(-4.0)), (-85.0, _north(4.0))]  # 8 m from each end
    new = dict(zip((7, 8), run_of(moved, two_levels, 200)))
    found = match_runs([(accepted, earlier[0]), (rejected, earlier[1])], new, {7, 8})
    assert {site: mark.review for site, mark in found.matches.items()} == {7: ReviewState.ACCEPTED,
                                                                             8: ReviewState.REJECTED}


def _record(ident: int, review: ReviewState) -> SiteDecisionRecord:
    return SiteDecisionRecord(ident, 1, -85.0, 30.0, review, None, (ident,), True, "analyst", "2026-01-01T00:00:00Z")


def test_a_site_is_on_the_building_of_the_projects_footprints_file(store, tmp_path):
    """The footprints given for the products are read for the carry-over: the site the
    grading puts on a building is on it, alone at its level."""
    from services.package import set_product_sources

    review = site_review(store)
    site = max(review.sites, key=lambda s: len(s.sightings))
    path = tmp_path / "footprints.geojson"
    polygon = _house(site.lon_deg, site.lat_deg, 3.0, 3.0, ident="w42").polygons[0]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "w42"}, "geometry": mapping(polygon)}]}), encoding="utf-8")
    set_product_sources(store, footprints=path)
    buildings = project_buildings(store, review.damage_map)
    assert buildings is not None and buildings.ids == ("w42",)
    traits = site_traits(store, [item.site for item in review.queue], review.damage_map, buildings)
    assert traits[site.site_id].building == "w42" and traits[site.site_id].level == site.level
    assert [t.building for i, t in traits.items() if i != site.site_id and t.building] == []


def test_the_pairs_tried_hold_every_pair_with_evidence():
    """The carry-over tries only the pairs its spatial indexes find (a long flight has
    thousands of sites): none that the evidence would join is left out."""
    from shapely.geometry import box as rectangle

    rng = np.random.default_rng(3)
    frame_box = (10.0, 10.0, 50.0, 40.0)

    def some_traits(count: int) -> list[Traits]:
        out = []
        for _ in range(count):
            east, north = rng.uniform(0.0, 60.0, 2)
            shape = rectangle(east - 3, north - 3, east + 3, north + 3) if rng.random() < 0.5 else None
            first = int(rng.integers(0, 20))
            out.append(Traits(-85.0 + east / (DEGREE_M * math.cos(math.radians(30.0))), _north(north),
                              float(rng.uniform(0.0, 3.0)), shape, {first: (frame_box,), first + 3: (frame_box,)},
                              level=DamageLevel(int(rng.integers(1, 4))),
                              building=f"b{rng.integers(0, 6)}" if rng.random() < 0.3 else None))
        return out

    decided, sites = some_traits(40), some_traits(60)
    joined = {(k, j) for k, a in enumerate(decided) for j, b in enumerate(sites) if evidence(a, b) is not None}
    tried = candidate_pairs(decided, sites)
    assert len(joined) > 100 and joined <= tried
    assert len(tried) < len(decided) * len(sites) / 2  # not every pair
