"""Sites of a real (synthetic) flight for review: every detection knows its site; a site
decision reaches every export; splits and merges reach the map and undo; a new run
keeps the decisions made at the same place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.review import RegroupSite, ReviewSession
from core.sites import site_decision
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from services.export import ExportRequest, export_project
from services.sites import carry_decisions, site_review
from tests.truth_runs import write_run


@pytest.fixture(scope="module")
def flyover(sites_truth):
    """2 s at 10 fps, 320x180: three damaged places seen from the SRT's poses (tests/conftest.py)."""
    return sites_truth


def _write_run(store: ProjectStore, flyover) -> int:
    return write_run(store, flyover.detections, flyover.times, settings={"n": len(store.runs())})


@pytest.fixture
def store(flyover, tmp_path):
    with ProjectStore.create(tmp_path / "flyover.dmproj", video_path=flyover.video, telemetry_path=flyover.srt) as s:
        _write_run(s, flyover)
        yield s


def _observations(folder: Path) -> list[dict]:
    data = json.loads((folder / "observations.geojson").read_text())
    return [f["properties"] for f in data["features"]]


def test_every_detection_knows_its_site(store):
    review = site_review(store)
    detections = store.detections(review.run_id)
    assert len(review.queue) >= 3
    assert set(review.site_of) == {d.id for d in detections}
    for site in review.sites:
        assert all(review.site_of_detection(i) == site for i in site.detection_ids)
    # the first in the queue is the one a single frame supports
    assert review.queue[0].reason == "seen in one frame"


def test_rejecting_a_site_once_removes_all_its_detections_from_the_exports(store, tmp_path):
    review = site_review(store)
    site = max(review.sites, key=lambda s: len(s.sightings))
    assert len(site.sightings) >= 3
    session = ReviewSession(store, review.run_id, author="analyst")
    session.apply(site_decision(site, ReviewState.REJECTED))  # one action

    export_project(store, ExportRequest(tmp_path / "out", formats=("observations", "sites"), thumbnails=False))
    exported = {o["detection_id"] for o in _observations(tmp_path / "out")}
    assert exported and not exported & set(site.detection_ids)
    after = site_review(store)
    assert len(after.sites) == len(review.sites) - 1  # the rejected place left the map
    listed = after.queue[-1]  # and is listed last, under its number, to be taken back
    assert after.rejected == {listed.site.site_id} == {site.site_id}
    assert set(listed.site.detection_ids) == set(site.detection_ids) and listed.reason == "decided: rejected"
    assert (listed.site.lon_deg, listed.site.lat_deg) == (site.lon_deg, site.lat_deg)
    assert site.site_id not in after.kept_at(0.0) and site.site_id in after.listed_at(0.0)
    assert all(after.site_of_detection(i) == listed.site for i in site.detection_ids)

    session.undo()
    assert site_review(store).rejected == frozenset()
    export_project(store, ExportRequest(tmp_path / "again", formats=("observations",), thumbnails=False))
    assert set(site.detection_ids) <= {o["detection_id"] for o in _observations(tmp_path / "again")}


def test_relabelling_a_site_changes_the_level_in_the_exports(store, tmp_path):
    review = site_review(store)
    site = next(s for s in review.sites if s.level is DamageLevel.SLIGHT and len(s.sightings) > 1)
    ReviewSession(store, review.run_id).apply(site_decision(site, DamageLevel.DEBRIS))
    export_project(store, ExportRequest(tmp_path / "out", formats=("observations",), thumbnails=False))
    levels = {o["level"] for o in _observations(tmp_path / "out") if o["detection_id"] in site.detection_ids}
    assert levels == {"debris"}
    assert site_review(store).site_of_detection(site.detection_ids[0]).decided


def test_split_and_merge_round_trip_with_undo_and_redo(store):
    review = site_review(store)
    run = review.run_id
    session = ReviewSession(store, run)
    big = max(review.sites, key=lambda s: len(s.sightings))
    chosen = big.detection_ids[-2:]
    n = len(review.queue)

    session.apply(RegroupSite(run, "split", chosen))
    split = site_review(store)
    assert len(split.queue) == n + 1
    assert split.site_of[chosen[0]] == split.site_of[chosen[1]] != split.site_of[big.detection_ids[0]]
    assert sorted(split.site_of_detection(chosen[0]).detection_ids) == sorted(chosen)

    session.undo()
    assert len(site_review(store).queue) == n
    session.redo()
    assert len(site_review(store).queue) == n + 1

    # merge the split-off part back with a neighbouring site: one site of both
    split = site_review(store)
    other = next(s for s in split.sites if s.site_id not in (split.site_of[chosen[0]], split.site_of[big.detection_ids[0]]))
    merged_ids = tuple(split.site_of_detection(chosen[0]).detection_ids) + other.detection_ids
    session.apply(RegroupSite(run, "merge", merged_ids))
    merged = site_review(store)
    assert len(merged.queue) == n
    assert len({merged.site_of[i] for i in merged_ids}) == 1
    session.undo()
    assert len(site_review(store).queue) == n + 1
    session.redo()
    assert len({site_review(store).site_of[i] for i in merged_ids}) == 1


def test_a_new_run_keeps_the_decisions_made_at_the_same_place(store, flyover):
    first = site_review(store)
    rejected = first.sites[0]
    relabelled = next(s for s in first.sites if s.site_id != rejected.site_id)
    session = ReviewSession(store, first.run_id)
    session.apply(site_decision(rejected, ReviewState.REJECTED))
    session.apply(site_decision(relabelled, DamageLevel.SEVERE))

    run2 = _write_run(store, flyover)  # analysed again: new detection ids, same places
    second = site_review(store, run2)
    assert not any(item.site.decided for item in second.queue)
    edit = carry_decisions(store, second)
    assert edit is not None
    ReviewSession(store, run2).apply(edit)

    after = site_review(store, run2)
    kept = [s for s in after.sites if s.decided]
    assert len(after.sites) == len(second.sites) - 1  # the rejected place left the map
    assert [s.level for s in kept] == [DamageLevel.SEVERE]
    assert all(sg.review is ReviewState.ACCEPTED for sg in kept[0].sightings)
    assert carry_decisions(store, after) is None  # nothing left to carry


def test_the_command_line_keeps_earlier_decisions_on_a_new_run_at_once(store, flyover):
    from services.sites import keep_earlier_decisions

    first = site_review(store)
    assert keep_earlier_decisions(store, first.run_id) == 0  # nothing decided anywhere yet
    site = max(first.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, first.run_id).apply(site_decision(site, DamageLevel.DEBRIS))
    run2 = _write_run(store, flyover)
    kept = keep_earlier_decisions(store, run2, author="damagemap")
    decided = [s for s in site_review(store, run2).sites if s.decided]
    assert [s.level for s in decided] == [DamageLevel.DEBRIS] and kept == len(decided[0].sightings)
    assert {e.author for e in store.edit_history(run2)} == {"damagemap"}
    assert keep_earlier_decisions(store, run2) == 0


def test_a_carried_decision_the_reviewer_undid_is_not_carried_again(store, flyover):
    """The window carries earlier decisions when it first shows a run; one the reviewer
    took back came back the next time the project was opened."""
    first = site_review(store)
    site = max(first.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, first.run_id).apply(site_decision(site, DamageLevel.DEBRIS))
    run2 = _write_run(store, flyover)
    edit = carry_decisions(store, site_review(store, run2))
    assert edit is not None
    session = ReviewSession(store, run2)
    session.apply(edit)
    session.undo()  # the reviewer takes the carried decision back
    assert not any(s.decided for s in site_review(store, run2).sites)
    assert carry_decisions(store, site_review(store, run2)) is None  # next time: not given again


def _sites(folder: Path) -> dict[int, dict]:
    data = json.loads((folder / "damage_sites.geojson").read_text())
    return {f["properties"]["id"]: f["properties"] for f in data["features"]}


def test_exports_say_who_decided_and_when_and_forget_an_undone_decision(store, tmp_path):
    review = site_review(store)
    first, second = [s for s in review.sites if len(s.sightings) > 1][:2]
    ReviewSession(store, review.run_id, author="ana").apply(site_decision(first, ReviewState.ACCEPTED))
    bo = ReviewSession(store, review.run_id, author="bo")
    bo.apply(site_decision(second, DamageLevel.DEBRIS))
    bo.apply(site_decision(first, DamageLevel.SEVERE))
    bo.undo()  # bo's change to the first site is taken back: ana's decision stands

    export_project(store, ExportRequest(tmp_path / "out", formats=("observations", "sites"), thumbnails=False))
    observations = {o["detection_id"]: o for o in _observations(tmp_path / "out")}
    assert {observations[i]["reviewed_by"] for i in first.detection_ids if i in observations} == {"ana"}
    assert {observations[i]["reviewed_by"] for i in second.detection_ids if i in observations} == {"bo"}
    assert all(o["reviewed_at"] and o["reviewed_at"].startswith("20") for o in observations.values()
               if o["reviewed_by"] is not None)
    untouched = [o for i, o in observations.items() if i not in first.detection_ids + second.detection_ids]
    assert untouched and all(o["reviewed_by"] is None and o["reviewed_at"] is None for o in untouched)
    reviewers = {props["reviewed_by"] for props in _sites(tmp_path / "out").values()}
    assert {"ana", "bo", None} <= reviewers


def test_a_merge_names_no_reviewer_of_sightings_nobody_decided(store, tmp_path):
    """A merge says two sites are one damage, not that anyone checked it: the merged
    site stays unreviewed, with no reviewer, and a decision made before keeps its author."""
    review = site_review(store)
    first, second = [s for s in review.sites if len(s.sightings) > 1][:2]
    ReviewSession(store, review.run_id, author="ana").apply(site_decision(first, ReviewState.ACCEPTED))
    ids = first.detection_ids + second.detection_ids
    ReviewSession(store, review.run_id, author="cy").apply(RegroupSite(review.run_id, "merge", ids))

    export_project(store, ExportRequest(tmp_path / "out", formats=("observations", "sites"), thumbnails=False))
    observations = {o["detection_id"]: o for o in _observations(tmp_path / "out")}
    assert {observations[i]["reviewed_by"] for i in first.detection_ids if i in observations} == {"ana"}
    assert all(observations[i]["reviewed_by"] is None for i in second.detection_ids if i in observations)
    assert "cy" not in {props["reviewed_by"] for props in _sites(tmp_path / "out").values()}


def test_a_sighting_split_off_a_site_on_the_map_stays_on_the_map_and_in_the_exports(store, tmp_path):
    """One sighting split off: too few views to be confirmed on its own, but the reviewer
    said it is another damage, not none."""
    review = site_review(store)
    big = max(review.sites, key=lambda s: len(s.sightings))
    assert big.site_id not in review.unconfirmed and big.frame_count >= 3
    chosen = (big.detection_ids[-1],)
    ReviewSession(store, review.run_id).apply(RegroupSite(review.run_id, "split", chosen))
    split = site_review(store)
    part = split.site_of_detection(chosen[0])
    rest = split.site_of_detection(big.detection_ids[0])
    assert part.site_id != rest.site_id and part.frame_count == 1
    assert not {part.site_id, rest.site_id} & split.unconfirmed  # both on the map
    export_project(store, ExportRequest(tmp_path / "out", formats=("sites",), thumbnails=False))
    sites = json.loads((tmp_path / "out" / "damage_sites.geojson").read_text())["features"]
    assert {part.site_id, rest.site_id} <= {f["properties"]["id"] for f in sites}


def test_another_flight_s_decision_reaches_a_site_as_far_as_the_survey_joins_them(store):
    """Two flights place one damage metres apart (their telemetry errors are their own),
    and the survey joins their sites within 3 m widened by the sites' uncertainty: another
    flight's decision reaches a site that far, where this flight's own earlier runs (the
    same telemetry) still match within 3 m only."""
    from core.review import SiteMark
    from core.sites import CARRY_RADIUS_M, distance_m
    from services.sites import survey_reach

    review = site_review(store)
    site = review.sites[0]
    reach = survey_reach(review.damage_map)(site)
    assert CARRY_RADIUS_M < reach <= 6.0

    def north_of(metres: float) -> SiteMark:
        return SiteMark(site.lon_deg, site.lat_deg + metres / 111_320.0, ReviewState.REJECTED)

    between = north_of((CARRY_RADIUS_M + reach) / 2)
    assert CARRY_RADIUS_M < distance_m(between.lon_deg, between.lat_deg, site.lon_deg, site.lat_deg) < reach
    edit = carry_decisions(store, review, elsewhere=[between])
    assert edit is not None and len(edit.groups) == 1
    assert {e.detection_id for e in edit.groups[0].edits} == set(site.detection_ids)
    assert all(e.state is ReviewState.REJECTED for e in edit.groups[0].edits)
    assert carry_decisions(store, review, elsewhere=[north_of(reach + 0.5)]) is None  # beyond: another damage
