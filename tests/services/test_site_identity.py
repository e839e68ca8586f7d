"""A site stays the site the reviewer saw when the map is rebuilt: its number survives a
rejection elsewhere, a threshold moved and back, a relabel, and a project reopened;
a site accepted as a whole stays whole and decided when a lower threshold brings in
sightings of it (and only then: a merge asks again); numbers are never given twice."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.review import RegroupSite, ReviewSession
from core.sites import site_decision
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from geo.fusion import build_site, site_heights
from geo.regroup import DecidedSite, regroup
from geo.site_numbers import number_sites
from services.maps import clear_cache, damage_map
from services.sites import site_review
from tests.truth_runs import write_run

LOW = 0.3  # the score of every other sighting of the largest site


def _detections(sites_truth) -> list:
    """The flyover's ground truth, every other sighting of its largest part scoring
    :data:`LOW`."""
    detections = list(sites_truth.detections)
    by_part: dict[int, list] = {}
    for d in detections:  # ground truth ids: part * 1000 + k
        by_part.setdefault(d.id // 1000, []).append(d)
    largest = max(by_part.values(), key=len)
    low = {d.id for d in sorted(largest, key=lambda d: d.frame_index)[1::2]}
    return [replace(d, score=LOW) if d.id in low else d for d in detections]


@pytest.fixture
def store(sites_truth, tmp_path):
    """:func:`_detections` as a run, under the project's map threshold of 0.5."""
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=sites_truth.video,
                             telemetry_path=sites_truth.srt) as s:
        write_run(s, _detections(sites_truth), sites_truth.times)
        _threshold(s, 0.5)
        clear_cache()
        yield s


def _threshold(store: ProjectStore, value: float) -> None:
    """The map's score threshold, as the window's slider stores it."""
    store.set_project_settings(replace(store.project_settings(), min_score=value))


def _numbers(review) -> dict[int, int]:
    """Detection id -> the number of its site."""
    return dict(review.site_of)


def test_rejecting_the_first_site_leaves_every_other_number_as_it_was(store):
    before = site_review(store)
    assert len(before.sites) >= 3
    first = min(before.sites, key=lambda s: s.first_time_s)
    assert first.site_id == 1  # the first build numbers in order of first sighting
    ReviewSession(store, before.run_id).apply(site_decision(first, ReviewState.REJECTED))
    after = site_review(store)
    assert {s.site_id for s in after.sites} == {s.site_id for s in before.sites} - {1}
    for site in after.sites:
        assert {before.site_of[i] for i in site.detection_ids} == {site.site_id}


def test_a_threshold_moved_and_back_and_a_reopened_project_keep_the_numbers(store, tmp_path):
    before = _numbers(site_review(store))
    _threshold(store, 0.2)
    lower = site_review(store)
    assert len(lower.site_of) > len(before)  # the low sightings are in
    assert all(lower.site_of[i] == n for i, n in before.items())
    _threshold(store, 0.5)
    assert _numbers(site_review(store)) == before
    path = store.path
    clear_cache()
    with ProjectStore.open(path, read_only=True) as again:  # another process, reading only
        assert _numbers(site_review(again)) == before


def test_numbers_an_export_at_another_threshold_wrote_are_never_given_to_other_places(sites_truth, tmp_path):
    detections = list(sites_truth.detections)
    with ProjectStore.create(tmp_path / "scratch.dmproj", video_path=sites_truth.video,
                             telemetry_path=sites_truth.srt) as scratch:
        write_run(scratch, detections, sites_truth.times)
        clear_cache()
        smallest = min(site_review(scratch).sites, key=lambda s: len(s.sightings))
        key = {d.id: (d.frame_index, tuple(round(v, 1) for v in d.box_xyxy_px)) for d in scratch.detections(scratch.latest_run_id())}
        hidden = {key[i] for i in smallest.detection_ids}  # a place only a lower threshold shows
    detections = [replace(d, score=LOW) if (d.frame_index, tuple(round(v, 1) for v in d.box_xyxy_px)) in hidden else d for d in detections]
    with ProjectStore.create(tmp_path / "h.dmproj", video_path=sites_truth.video,
                             telemetry_path=sites_truth.srt) as store:
        write_run(store, detections, sites_truth.times)
        _threshold(store, 0.5)
        clear_cache()
        review = site_review(store)
        drawn = damage_map(store, settings=replace(store.project_settings(), min_score=0.2))  # export --min-score 0.2
        written = {f.site.id: {m.detection.id for m in f.members} for f in drawn.all_fused}
        assert set(written) - {s.site_id for s in review.sites}  # the export numbered the hidden place
        site = max(review.sites, key=lambda s: len(s.sightings))  # then a split gives a new number
        ReviewSession(store, review.run_id).apply(RegroupSite(review.run_id, "split", site.detection_ids[:1]))
        _threshold(store, 0.2)
        clear_cache()
        for now in site_review(store).sites:
            if now.site_id in written:
                assert set(now.detection_ids) & written[now.site_id], f"number {now.site_id} names another place"


def test_relabelling_a_site_keeps_every_number(store):
    before = site_review(store)
    site = max(before.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, before.run_id).apply(site_decision(site, DamageLevel.DEBRIS))
    assert _numbers(site_review(store)) == before.site_of


def test_a_site_accepted_whole_stays_whole_and_decided_when_the_threshold_brings_in_more(store):
    review = site_review(store)
    site = max(review.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, review.run_id).apply(site_decision(site, ReviewState.ACCEPTED))
    decided = site_review(store).decided_count
    _threshold(store, 0.2)
    lower = site_review(store)
    now = lower.site(site.site_id)
    assert now is not None and set(site.detection_ids) < set(now.detection_ids)  # the low ones joined it
    assert any(s.review is ReviewState.PENDING for s in now.sightings)
    assert now.decided and now.state is ReviewState.ACCEPTED
    assert lower.decided_count == decided
    item = next(i for i in lower.queue if i.site.site_id == site.site_id)
    assert "the threshold let in since" in item.reason
    # its accepted sightings are in no other site
    assert {lower.site_of[i] for i in site.detection_ids} == {site.site_id}


def test_a_decision_carried_to_a_new_run_keeps_that_run_s_site_whole(store, sites_truth):
    from services.sites import keep_earlier_decisions

    review = site_review(store)
    site = max(review.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, review.run_id).apply(site_decision(site, ReviewState.ACCEPTED))
    run2 = write_run(store, _detections(sites_truth), sites_truth.times)  # analysed again
    assert keep_earlier_decisions(store, run2) == len(site.sightings)
    (carried,) = store.site_decisions(run2)
    assert carried.review is ReviewState.ACCEPTED and carried.min_score == 0.5
    _threshold(store, 0.2)
    now = site_review(store, run2).site_of_detection(carried.detection_ids[0])
    assert set(carried.detection_ids) < set(now.detection_ids) and now.decided


def test_a_rejected_site_s_number_is_not_given_again(store):
    review = site_review(store)
    site = max(review.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, review.run_id).apply(site_decision(site, ReviewState.REJECTED))
    _threshold(store, 0.2)
    assert site.site_id not in {s.site_id for s in site_review(store).sites}


# ------------------------------------------------------------------ the geo parts alone
@pytest.fixture
def built(store):
    return damage_map(store)


def _halves(built, fused):
    """``fused`` cut in two by its members' time: what a re-fusion may do to a site."""
    members = sorted(fused.members, key=lambda m: m.observation.t_s)
    heights = site_heights([members], built.fusion)
    cut = len(members) // 2
    return [build_site(fused.site.id, part, camera=built.camera, local=built.local, settings=built.fusion,
                       heights=heights) for part in (members[:cut], members[cut:])]


def test_a_decided_site_cut_apart_by_fusion_is_one_site_again(built):
    sites = built.all_fused
    big = max(sites, key=lambda f: len(f.members))
    others = [f for f in sites if f is not big]
    cut = [*others, *_halves(built, big)]
    ids = {m.detection.id for m in big.members}
    again = regroup(cut, [DecidedSite(frozenset(ids))], camera=built.camera, local=built.local,
                    settings=built.fusion)
    holding = [f for f in again if ids & {m.detection.id for m in f.members}]
    assert len(holding) == 1 and {m.detection.id for m in holding[0].members} == ids
    assert len(again) == len(sites)
    # an undecided sighting fusion kept with decided ones at the same place joins them
    # (one the threshold let in since: it scores below the threshold the decision was made at)
    last = max(big.members, key=lambda m: m.observation.t_s).detection
    decided = frozenset(ids - {last.id})
    joined = regroup(sites, [DecidedSite(decided, min_score=last.final_score + 0.01)], camera=built.camera,
                     local=built.local, settings=built.fusion)
    (whole,) = [f for f in joined if ids & {m.detection.id for m in f.members}]
    assert {m.detection.id for m in whole.members} == ids
    # one that was on the map the reviewer decided on is not decided by fusion joining it
    for floor in (last.final_score, None):
        apart = regroup(sites, [DecidedSite(decided, min_score=floor)], camera=built.camera, local=built.local,
                        settings=built.fusion)
        holding = [f for f in apart if ids & {m.detection.id for m in f.members}]
        assert sorted(len(f.members) for f in holding) == [1, len(ids) - 1]
    # the sighting let in does not move the decided site: it stands where its decided sightings put it
    alone = next(f for f in holding if {m.detection.id for m in f.members} == decided)
    assert np.allclose(whole.position_m, alone.position_m)


def test_the_parts_of_a_site_a_reviewer_splits_are_placed_with_the_flights_roof_height(built):
    """Built again with the prior heights fusion placed every site with (the flight's
    roof height), not ones taken again from the regrouped sites: those differ, by
    millimetres or more, and the parts would stand on another plane than their neighbours."""
    flight = {DamageLevel.DEBRIS: 0.0, DamageLevel.SLIGHT: 4.25, DamageLevel.SEVERE: 4.25}
    sites = [replace(f, heights=tuple(sorted(flight.items()))) for f in built.all_fused]
    assert site_heights([list(f.members) for f in sites], built.fusion) != flight
    big = max(sites, key=lambda f: len(f.members))
    members = sorted(big.members, key=lambda m: m.observation.t_s)
    part = frozenset(m.detection.id for m in members[: len(members) // 2])
    again = regroup(sites, [part], camera=built.camera, local=built.local, settings=built.fusion)
    ids = {m.detection.id for m in big.members}
    parts = [f for f in again if ids & {m.detection.id for m in f.members}]
    assert len(parts) == 2
    assert all(dict(f.heights) == flight for f in parts)
    for f in parts:
        if not f.triangulated:  # on the flight's roof plane
            assert f.position_m[2] == pytest.approx(4.25) or f.site.level is DamageLevel.DEBRIS


def test_undecided_sightings_of_another_place_stay_a_site_of_their_own(built):
    sites = built.all_fused
    pairs = [(a, b) for a in sites for b in sites if a is not b and _distance(a, b) > 2 * built.fusion.gate_m]
    assert pairs
    for a, b in pairs:
        # fusion wrongly made one site of the two places; the reviewer had accepted a alone
        heights = site_heights([list(a.members) + list(b.members)], built.fusion)
        joined = build_site(a.site.id, [*a.members, *b.members], camera=built.camera, local=built.local,
                            settings=built.fusion, heights=heights)
        rest = [f for f in sites if f is not a and f is not b]
        ids = frozenset(m.detection.id for m in a.members)
        again = regroup([*rest, joined], [DecidedSite(ids)], camera=built.camera, local=built.local,
                        settings=built.fusion)
        assert len(again) == len(sites)
        assert any({m.detection.id for m in f.members} == ids for f in again)


def _distance(a, b) -> float:
    return float(((a.position_m[:2] - b.position_m[:2]) ** 2).sum() ** 0.5)


def _members(built, ids):
    """A site of ``built`` holding sightings with detection ids ``ids`` (numbering looks
    at nothing else)."""
    from types import SimpleNamespace

    members = tuple(SimpleNamespace(detection=SimpleNamespace(id=i), reviewed=False) for i in sorted(ids))
    return replace(built.all_fused[0], members=members)


def _renumber(built, sites, previous):
    """Number ``sites`` (id sets) against ``previous`` as a build does, and remember."""
    numbered, remember = number_sites([_members(built, ids) for ids in sites], previous)
    for d, n in remember.items():
        previous.setdefault(d, set()).add(n)
    return {frozenset(m.detection.id for m in f.members): f.site.id for f in numbered}


def test_numbers_through_splits_merges_and_a_threshold_that_joins_two_sites(built):
    ids = list(range(101, 112))
    a, b, c, low_one, never_seen = frozenset(ids[:4]), frozenset(ids[4:7]), frozenset(ids[7:9]), ids[9], ids[10]
    previous: dict[int, set[int]] = {}
    first = _renumber(built, [a, b, c], previous)
    assert [first[a], first[b], first[c]] == [1, 2, 3]
    # a low threshold: fusion joins b into a for now, with a sighting it let in
    low = _renumber(built, [a | b | {low_one}, c], previous)
    assert low == {a | b | {low_one}: 1, c: 3}
    # back up: b comes back under its own number
    assert _renumber(built, [a, b, c], previous) == first
    # a split: the larger part keeps the number, the smaller gets a new one, and keeps it
    a1, a2 = frozenset(ids[:3]), frozenset(ids[3:4])
    split = _renumber(built, [a1, a2, b, c], previous)
    assert split == {a1: 1, a2: 4, b: 2, c: 3}
    assert _renumber(built, [a1, a2, b, c], previous) == split
    # undone and done again: the same numbers
    assert _renumber(built, [a, b, c], previous) == first
    assert _renumber(built, [a1, a2, b, c], previous) == split
    # a merge keeps the larger site's number; 3 is then held by no site, and still never given again
    assert _renumber(built, [a, b | c], previous) == {a: 1, b | c: 2}
    assert _renumber(built, [a, b | c, frozenset({never_seen})], previous)[frozenset({never_seen})] == 5


def test_a_site_s_decided_sightings_keep_its_number_against_more_sightings_that_once_held_it():
    from geo.site_numbers import kept_numbers

    # 7 once held three accepted sightings and, at a low threshold, six more that are now a site of their own
    previous = {**{i: {7} for i in (1, 2, 3)}, **{i: {7} for i in range(10, 16)}}
    groups = [[1, 2, 3], list(range(10, 16))]
    assert kept_numbers(groups, previous)[0] == [8, 7]  # counted alone, the six win
    assert kept_numbers(groups, previous, firm={1, 2, 3})[0] == [7, 8]


def test_a_cached_map_follows_the_numbers_the_project_holds_now(store):
    before = site_review(store)
    site, other = sorted(before.sites, key=lambda s: len(s.sightings))[:2]
    # other clients (builds at other thresholds) placed this site's sightings in a site of
    # their own, numbered 40, and another site's in this one's
    store.add_site_numbers(before.run_id, {i: 40 for i in site.detection_ids})
    store.add_site_numbers(before.run_id, {i: site.site_id for i in other.detection_ids})
    after = site_review(store)  # the map comes from the cache
    assert after.site_of_detection(site.detection_ids[0]).site_id == 40
    clear_cache()
    assert site_review(store).site_of == after.site_of  # as a fresh process numbers it


@pytest.mark.parametrize("stopped_clock", [False, True])
def test_a_decided_site_merged_with_an_undecided_one_asks_for_a_decision(store, monkeypatch, stopped_clock):
    if stopped_clock:  # the decision and the merge within one millisecond
        import core.store

        monkeypatch.setattr(core.store, "_utc_now", lambda: "2026-12-06T22:00:00.000Z")
    review = site_review(store)
    a, b = sorted(review.sites, key=lambda s: len(s.sightings))[-2:]
    session = ReviewSession(store, review.run_id)
    session.apply(site_decision(a, ReviewState.ACCEPTED))
    session.apply(RegroupSite(review.run_id, "merge", (*a.detection_ids, *b.detection_ids)))
    merged = site_review(store).site_of_detection(b.detection_ids[0])
    assert set(merged.detection_ids) == set(a.detection_ids) | set(b.detection_ids)
    assert not merged.decided
    session.apply(site_decision(merged, ReviewState.ACCEPTED))
    assert site_review(store).site_of_detection(b.detection_ids[0]).decided


def test_a_site_rejected_whole_does_not_come_back_when_the_threshold_lets_in_more_of_it(store):
    review = site_review(store)
    at_low = damage_map(store, settings=replace(store.project_settings(), min_score=0.2)).all_fused

    def let_in(site):  # the sightings a threshold of 0.2 puts with it
        ids = set(site.detection_ids)
        return {m.detection.id for f in at_low if ids & {m.detection.id for m in f.members} for m in f.members} - ids

    site = max(review.sites, key=lambda s: len(let_in(s)))
    more = let_in(site)
    assert more
    ReviewSession(store, review.run_id).apply(site_decision(site, ReviewState.REJECTED))
    _threshold(store, 0.2)
    lower = site_review(store)
    assert not more & set(lower.site_of)  # they left the map with it
    assert any("places a reviewer rejected are left out" in note for note in lower.damage_map.notes)


def test_a_rejected_site_taken_back_keeps_its_number_and_its_place_is_rejected_no_more(store):
    review = site_review(store)
    at_low = damage_map(store, settings=replace(store.project_settings(), min_score=0.2)).all_fused
    site = max(review.sites, key=lambda s: len({m.detection.id for f in at_low for m in f.members
                                                if set(s.detection_ids) & {m.detection.id for m in f.members}}))
    session = ReviewSession(store, review.run_id)
    session.apply(site_decision(site, ReviewState.REJECTED))
    listed = site_review(store)
    assert listed.rejected == {site.site_id} and site.site_id not in {s.site_id for s in listed.sites}
    session.apply(site_decision(listed.site(site.site_id), ReviewState.ACCEPTED))  # A on the listed site
    back = site_review(store)
    assert back.rejected == frozenset() and back.site(site.site_id).detection_ids == site.detection_ids
    _threshold(store, 0.2)
    lower = site_review(store)
    assert lower.site(site.site_id).decided and set(site.detection_ids) <= set(lower.site(site.site_id).detection_ids)
    assert not any("places a reviewer rejected" in note for note in lower.damage_map.notes)
    at_low_ids = {m.detection.id for f in at_low for m in f.members}
    assert at_low_ids <= set(lower.site_of)  # every sighting the threshold lets in is on the map again
