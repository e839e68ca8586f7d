"""A site stays the site the reviewer saw when the map is rebuilt: its number survives a
rejection elsewhere, a threshold moved and back, a relabel, and a project reopened;
a site accepted as a whole stays whole and decided when a lower threshold brings in
sightings of it; numbers are never given twice."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.review import ReviewSession
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


@pytest.fixture
def store(sites_truth, tmp_path):
    """The flyover's ground truth as a run; every other sighting of its largest part
    scores :data:`LOW`, under the project's map threshold of 0.5."""
    detections = list(sites_truth.detections)
    by_part: dict[int, list] = {}
    for d in detections:  # ground truth ids: part * 1000 + k
        by_part.setdefault(d.id // 1000, []).append(d)
    largest = max(by_part.values(), key=len)
    low = {d.id for d in sorted(largest, key=lambda d: d.frame_index)[1::2]}
    detections = [replace(d, score=LOW) if d.id in low else d for d in detections]
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=sites_truth.video,
                             telemetry_path=sites_truth.srt) as s:
        write_run(s, detections, sites_truth.times)
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


def test_a_new_site_gets_a_number_never_given_before(store):
    review = site_review(store)
    top = max(s.site_id for s in review.sites)
    site = max(review.sites, key=lambda s: len(s.sightings))
    ReviewSession(store, review.run_id).apply(site_decision(site, ReviewState.REJECTED))
    _threshold(store, 0.2)  # the rejected site's low sightings come back without it
    lower = {s.site_id for s in site_review(store).sites}
    new = lower - {s.site_id for s in review.sites}
    assert new and min(new) > top
    assert site.site_id not in lower


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
    last = max(big.members, key=lambda m: m.observation.t_s).detection.id
    joined = regroup(sites, [DecidedSite(frozenset(ids - {last}))], camera=built.camera, local=built.local,
                     settings=built.fusion)
    holding = [f for f in joined if ids & {m.detection.id for m in f.members}]
    assert len(holding) == 1 and {m.detection.id for m in holding[0].members} == ids


def test_undecided_sightings_of_another_place_stay_a_site_of_their_own(built):
    sites = built.all_fused
    a, b = sorted(sites, key=lambda f: len(f.members))[-2:]
    assert built.fusion.gate_m < _distance(a, b)
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


def test_numbers_follow_the_larger_part_of_a_split_and_the_larger_site_of_a_merge(built):
    sites = built.all_fused
    big = max(sites, key=lambda f: len(f.members))
    previous = {m.detection.id: f.site.id for f in sites for m in f.members}
    top = max(previous.values())
    first, second = _halves(built, big)
    if len(first.members) < len(second.members):
        first, second = second, first
    first = replace(first, members=first.members + second.members[:1])
    second = replace(second, members=second.members[1:])
    others = [f for f in sites if f is not big]
    numbered, numbers = number_sites([*others, first, second], previous)
    by_members = {frozenset(m.detection.id for m in f.members): f.site.id for f in numbered}
    assert by_members[frozenset(m.detection.id for m in first.members)] == big.site.id
    assert by_members[frozenset(m.detection.id for m in second.members)] == top + 1
    assert [f.site.id for f in numbered] == sorted(f.site.id for f in numbered)
    assert set(numbers) == {m.detection.id for f in numbered for m in f.members}
    # merged back with a small site: the larger one's number stays, the other's is not given again
    small = min(others, key=lambda f: len(f.members))
    merged = replace(big, members=big.members + small.members)
    numbered, _ = number_sites([f for f in others if f is not small] + [merged], numbers)
    assert big.site.id in {f.site.id for f in numbered} and small.site.id not in {f.site.id for f in numbered}
