"""A flight analysed again keeps its reviewer's decisions on the same damage, though the
new run places it metres away (another frame rate, another model): matched by the frames
both runs saw it in, never to two sites, and a site earlier decisions disagree on is left
for review and said."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.review import RegroupSite, ReviewSession
from core.sites import distance_m, site_decision
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from services.carry import SAME_BOXES, SAME_TIME, Traits, evidence
from services.sites import carry_outcome, site_review
from tests.truth_runs import write_run

#: one degree of latitude, metres
DEGREE_M = 111_320.0


@pytest.fixture
def store(sites_truth, tmp_path):
    with ProjectStore.create(tmp_path / "flyover.dmproj", video_path=sites_truth.video,
                             telemetry_path=sites_truth.srt) as s:
        write_run(s, sites_truth.detections, sites_truth.times)
        yield s


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
