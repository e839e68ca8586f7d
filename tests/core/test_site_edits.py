"""Sites as the unit of review: one edit per site decision, splits and merges kept in
the store with undo, the queue order and its reasons, decisions matched by place."""

import dataclasses
import sqlite3

import pytest

from core.errors import StoreError
from core.review import Changes, EditGroup, Relabel, RegroupSite, ReviewSession, SetReview, SiteMark
from core.sites import (
    CARRY_RADIUS_M,
    Sighting,
    SiteSummary,
    crop_sightings,
    crops_to_show,
    distance_m,
    match_decisions,
    review_queue,
    site_decision,
)
from core.store import SCHEMA_VERSION, ProjectStore
from core.types import DamageLevel, Detection, Frame, Origin, ReviewState

LON, LAT = -90.0, 30.0
METRE_LON = 1.0 / (111_195.08 * 0.8660254)  # degrees of longitude per metre at 30 N


@pytest.fixture
def session(tmp_path):
    store = ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4")
    run = store.start_run(model={}, settings={})
    for frame in range(4):
        store.write_frame(
            run,
            Frame(frame, frame / 10, 64, 48),
            [
                Detection(frame, DamageLevel.SLIGHT, 0.8, (10.0, 5.0, 30.0, 20.0)),
                Detection(frame, DamageLevel.SEVERE, 0.6, (40.0, 5.0, 50.0, 20.0)),
            ],
        )
    yield ReviewSession(store, run, author="tester")
    store.close()


def _site(session, level=DamageLevel.SLIGHT, site_id=1, lon=LON, lat=LAT):
    dets = [d for d in session.store.detections(session.run_id) if d.level is level]
    sightings = tuple(Sighting(d.id, d.frame_index, d.frame_index / 10, d.level, d.final_score, d.review) for d in dets)
    return SiteSummary(site_id, level, 0.9, lon, lat, sightings, dets[0].frame_index, dets[0].id)


def test_a_site_decision_is_one_undo_step_over_every_sighting(session):
    site = _site(session)
    changes = session.apply(site_decision(site, ReviewState.REJECTED))
    assert changes == Changes(frozenset(site.detection_ids), frozenset({0, 1, 2, 3}))
    assert all(session.store.detection(i).review is ReviewState.REJECTED for i in site.detection_ids)
    assert session.store.review_counts(session.run_id)[ReviewState.PENDING] == 4  # the other site's
    [decision] = session.store.site_decisions(session.run_id)
    assert (decision.lon_deg, decision.lat_deg, decision.review) == (LON, LAT, ReviewState.REJECTED)
    assert decision.detection_ids == tuple(sorted(site.detection_ids)) and decision.author == "tester"

    assert session.undo() == changes and not session.can_undo  # one step takes it all back
    assert all(session.store.detection(i).review is ReviewState.PENDING for i in site.detection_ids)
    assert session.store.site_decisions(session.run_id) == []
    assert session.redo() == changes
    assert all(session.store.detection(i).review is ReviewState.REJECTED for i in site.detection_ids)
    assert len(session.store.site_decisions(session.run_id)) == 1
    # each sighting keeps its own history line: apply, undo, redo
    assert [e.action for e in session.history()] == ["apply"] * 4 + ["undo"] * 4 + ["redo"] * 4


def test_relabelling_a_site_relabels_and_accepts_every_sighting(session):
    site = _site(session, DamageLevel.SEVERE)
    session.apply(site_decision(site, DamageLevel.DEBRIS))
    for det_id in site.detection_ids:
        det = session.store.detection(det_id)
        assert (det.level, det.review, det.origin) == (DamageLevel.DEBRIS, ReviewState.ACCEPTED, Origin.EDITED)
    [decision] = session.store.site_decisions()
    assert (decision.review, decision.level) == (ReviewState.ACCEPTED, DamageLevel.DEBRIS)


def test_accepting_a_site_whose_levels_disagree_accepts_every_sighting_at_its_level(session):
    """A on "levels disagree: 9 Debris / 5 Slight" marked the site "accepted as Debris",
    while its Slight sightings stayed Slight: the site went out reviewed at 0.64
    confidence and its Slight patches into the training data."""
    dets = session.store.detections(session.run_id)
    sightings = tuple(Sighting(d.id, d.frame_index, d.frame_index / 10, d.level, d.final_score, d.review) for d in dets)
    mixed = SiteSummary(1, DamageLevel.SLIGHT, 0.5, LON, LAT, sightings, 0, dets[0].id)
    assert not mixed.holds(ReviewState.ACCEPTED)
    session.apply(site_decision(mixed, ReviewState.ACCEPTED))
    for det_id in mixed.detection_ids:
        det = session.store.detection(det_id)
        assert (det.level, det.review) == (DamageLevel.SLIGHT, ReviewState.ACCEPTED)
    [decision] = session.store.site_decisions()
    assert (decision.review, decision.level) == (ReviewState.ACCEPTED, DamageLevel.SLIGHT)
    agreeing = _site(session, DamageLevel.SLIGHT)
    assert site_decision(agreeing, ReviewState.ACCEPTED).edits == tuple(
        SetReview(i, ReviewState.ACCEPTED) for i in agreeing.detection_ids)  # one level: accepted as it stands


def test_a_group_is_checked_whole_before_anything_is_written(session):
    a, b = session.store.detections(session.run_id, frame_index=0)
    with pytest.raises(StoreError, match="once per group"):
        session.apply(EditGroup((SetReview(a.id, ReviewState.ACCEPTED), Relabel(a.id, DamageLevel.DEBRIS))))
    with pytest.raises(StoreError, match="no detection"):
        session.apply(EditGroup((SetReview(a.id, ReviewState.ACCEPTED), SetReview(9999, ReviewState.ACCEPTED))))
    assert session.store.detection(a.id).review is ReviewState.PENDING
    assert not session.can_undo and session.history() == []


def test_split_and_merge_are_kept_in_the_store_and_undone(session):
    store, run = session.store, session.run_id
    ids = [d.id for d in store.detections(run)]
    version = store.site_groups_version(run)
    changes = session.apply(RegroupSite(run, "split", (ids[0], ids[2])))
    assert changes.detection_ids == {ids[0], ids[2]} and changes.frame_indices == {0, 1}
    session.apply(RegroupSite(run, "merge", tuple(ids[4:])))
    groups = store.site_groups(run)
    assert [(g.kind, g.detection_ids) for g in groups] == [("split", (ids[0], ids[2])), ("merge", tuple(ids[4:]))]
    assert store.site_groups_version(run) > version
    session.undo()
    assert [g.kind for g in store.site_groups(run)] == ["split"]
    v = store.site_groups_version(run)
    session.redo()
    assert [g.kind for g in store.site_groups(run)] == ["split", "merge"]
    assert store.site_groups_version(run) > v  # an undo or redo changes the version
    with pytest.raises(StoreError, match="not run"):
        session.apply(RegroupSite(run + 1, "merge", (ids[0],)))


T = "2026-12-06T22:00:"


@pytest.mark.parametrize(("clock", "expected"), [
    ([T + "00.000Z"] * 4, [T + "00.000Z", T + "00.001Z", T + "00.002Z", T + "00.003Z"]),  # all in one millisecond
    ([T + "05.000Z", T + "01.000Z", T + "00.500Z", T + "09.000Z"],  # the clock set back, then past them again
     [T + "05.000Z", T + "05.001Z", T + "05.002Z", T + "09.000Z"]),
])
def test_splits_merges_and_decisions_are_stamped_in_the_order_they_were_made(session, monkeypatch, clock, expected):
    """The map applies them in the order of their times, across the two tables."""
    import core.store

    now = [clock[0]]
    monkeypatch.setattr(core.store, "_utc_now", lambda: now[0])
    store, run = session.store, session.run_id
    ids = [d.id for d in store.detections(run)]
    for time, change in zip(clock, [
        EditGroup((SetReview(ids[1], ReviewState.ACCEPTED),), SiteMark(LON, LAT, ReviewState.ACCEPTED)),
        RegroupSite(run, "merge", (ids[0], ids[1])),
        RegroupSite(run, "split", (ids[0],)),
        EditGroup((SetReview(ids[2], ReviewState.REJECTED),), SiteMark(LON, LAT, ReviewState.REJECTED)),
    ]):
        now[0] = time
        session.apply(change)
    decisions = store.site_decisions(run)
    groups = store.site_groups(run)
    stamps = [decisions[0].created_utc, groups[0].created_utc, groups[1].created_utc, decisions[1].created_utc]
    assert stamps == expected


def test_site_tables_survive_reopening(session, tmp_path):
    store, run = session.store, session.run_id
    ids = [d.id for d in store.detections(run)]
    session.apply(RegroupSite(run, "split", (ids[0],)))
    session.apply(EditGroup((SetReview(ids[1], ReviewState.ACCEPTED),), SiteMark(LON, LAT, ReviewState.ACCEPTED)))
    store.close()
    with ProjectStore.open(tmp_path / "p.dmproj") as again:
        assert [g.detection_ids for g in again.site_groups(run)] == [(ids[0],)]
        assert [d.detection_ids for d in again.site_decisions()] == [(ids[1],)]


def test_a_version_1_project_gets_the_site_tables(tmp_path):
    path = tmp_path / "old.dmproj"
    ProjectStore.create(path, video_path=tmp_path / "v.mp4").close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE site_groups; DROP TABLE site_decisions; DROP TABLE site_numbers; ALTER TABLE runs DROP COLUMN site_numbers_version; UPDATE schema_version SET version = 1; "
                       "ALTER TABLE frames DROP COLUMN quality_mean; ALTER TABLE frames DROP COLUMN quality_contrast; "
                       "ALTER TABLE frames DROP COLUMN quality_sharpness;")
    conn.close()
    with ProjectStore.open(path) as store:
        run = store.start_run(model={}, settings={})
        assert store.site_groups(run) == [] and store.site_decisions() == []
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 5
    conn.close()


def _summary(site_id, levels, scores, *, level=None, review=ReviewState.PENDING, confidence=0.9):
    sightings = tuple(
        Sighting(site_id * 100 + k, k, float(k), lv, sc, review) for k, (lv, sc) in enumerate(zip(levels, scores))
    )
    return SiteSummary(site_id, level or max(levels), confidence, LON, LAT, sightings, 0)


def test_queue_puts_doubtful_and_severe_sites_first_with_a_reason():
    S, V, D = DamageLevel.SLIGHT, DamageLevel.SEVERE, DamageLevel.DEBRIS
    sites = [
        _summary(1, [S, S, S], [0.9, 0.9, 0.9]),                          # clear, slight
        _summary(2, [V, V, V], [0.9, 0.9, 0.9]),                          # clear, severe
        _summary(3, [S, V, V], [0.9, 0.9, 0.9]),                          # levels disagree
        _summary(4, [S], [0.45]),                                         # one frame, near threshold
        _summary(5, [D, D], [0.9, 0.9], review=ReviewState.ACCEPTED),     # decided
        _summary(6, [D], [0.9]),                                          # one frame, debris
        _summary(7, [S] * 9 + [V], [0.9] * 10, level=S),                  # one stray Severe box: clear
    ]
    queue = review_queue(sites, min_score=0.4)
    assert [it.site.site_id for it in queue] == [4, 6, 3, 2, 1, 7, 5]
    reasons = {it.site.site_id: it.reason for it in queue}
    assert reasons[4] == "near threshold 0.40; seen in one frame"
    assert reasons[3] == "levels disagree: 2 Severe / 1 Slight"
    assert reasons[6] == "seen in one frame"
    assert reasons[2] == reasons[7] == "clear: nothing in doubt"
    assert reasons[5] == "decided: accepted as Debris"


def test_the_queue_reason_judges_the_score_the_row_shows_and_does_not_repeat_it():
    """A site's row shows its best score: its reason judges that score (not a mean of
    0.60 "near threshold 0.50" beside "best score 0.69") and does not say it again."""
    S = DamageLevel.SLIGHT
    [item] = review_queue([_summary(1, [S, S], [0.69, 0.51])], min_score=0.5)
    assert item.reason == "clear: nothing in doubt"
    [item] = review_queue([_summary(2, [S, S], [0.55, 0.95])], min_score=0.5)
    assert item.reason == "clear: nothing in doubt"  # its weak sighting does not make it doubtful
    [item] = review_queue([_summary(3, [S, S, S], [0.52, 0.51, 0.52])], min_score=0.5)
    assert item.reason == "near threshold 0.50"


def _hovered(site_id, views, scores):
    """A Slight site seen in one frame per entry; ``views[k]``: the view of frame k (None: no pose)."""
    sightings = tuple(Sighting(site_id * 100 + k, k, 0.5 * k, DamageLevel.SLIGHT, sc, ReviewState.PENDING, view)
                      for k, (view, sc) in enumerate(zip(views, scores)))
    return SiteSummary(site_id, DamageLevel.SLIGHT, 0.9, LON, LAT, sightings, 0)


def test_a_site_seen_only_from_one_spot_is_a_doubt_like_one_frame():
    hover = _hovered(1, [4] * 8, [0.9] * 8)  # eight frames of one hover
    passing = _hovered(2, [4, 5, 6], [0.9] * 3)
    unplaced = _hovered(3, [None, None], [0.9] * 2)  # frames without a pose are each a look
    assert (hover.frame_count, hover.look_count) == (8, 1)
    assert (passing.look_count, unplaced.look_count) == (3, 2)
    queue = review_queue([passing, hover, unplaced], min_score=0.4)
    assert [it.site.site_id for it in queue][0] == 1
    reasons = {it.site.site_id: it.reason for it in queue}
    assert reasons[1] == "seen from one spot only (8 frames)"
    assert reasons[2] == reasons[3] == "clear: nothing in doubt"


def test_a_site_placed_only_by_the_turns_read_from_the_video_is_a_doubt():
    """A hover under telemetry without a heading, placed by the camera's turns read from
    the video: a site only those frames placed has a less sure heading behind it."""
    turning = _hovered(1, [10, 11, 12, 13], [0.9] * 4)  # four views of a turning hover
    turning = dataclasses.replace(turning, sightings=tuple(dataclasses.replace(s, turned=True)
                                                           for s in turning.sightings))
    passing = Sighting(299, 9, 4.5, DamageLevel.SLIGHT, 0.9, ReviewState.PENDING, 3)  # a frame the track placed
    also_passing = dataclasses.replace(turning, site_id=2, sightings=turning.sightings + (passing,))
    queue = review_queue([also_passing, turning], min_score=0.4)
    reasons = {it.site.site_id: it.reason for it in queue}
    assert reasons[1] == "placed by the camera's turns read from the video only"
    assert reasons[2] == "clear: nothing in doubt"
    assert [it.site.site_id for it in queue][0] == 1


def test_the_crops_show_each_look_once_with_how_many_frames_it_holds():
    # a pass (views 0, 1), a hover of five frames (view 2), two frames without a pose
    site = _hovered(1, [0, 1, 2, 2, 2, 2, 2, None, None], [0.5, 0.6, 0.7, 0.95, 0.8, 0.7, 0.9, 0.4, 0.3])
    crops = crops_to_show(site, limit=12)
    assert [(s.frame_index, n) for s, n in crops] == [(0, 1), (1, 1), (3, 5), (7, 1), (8, 1)]  # time order
    # the limit keeps the best looks, still in time order
    assert [(s.frame_index, n) for s, n in crops_to_show(site, limit=3)] == [(0, 1), (1, 1), (3, 5)]
    assert [s.frame_index for s, _ in crops_to_show(site, limit=2)] == [1, 3]


def test_the_crops_show_every_level_the_sightings_disagree_on():
    """A site listed as "levels disagree: 2 Severe / 3 Slight" whose best sighting of each
    look was Slight showed only Slight crops: the Severe evidence it was queued for is
    shown too, in place of the weakest look where the grid is full."""
    site = _hovered(1, [0, 1, 2, 3], [0.9, 0.8, 0.7, 0.6])
    severe = (Sighting(190, 0, 0.0, DamageLevel.SEVERE, 0.5, ReviewState.PENDING, 0),  # under frame 0's best
              Sighting(191, 2, 1.0, DamageLevel.SEVERE, 0.4, ReviewState.PENDING, 2))
    site = dataclasses.replace(site, sightings=tuple(sorted(site.sightings + severe, key=lambda s: s.t_s)))
    crops = crops_to_show(site, limit=12)
    assert {s.level for s, _ in crops} == {DamageLevel.SLIGHT, DamageLevel.SEVERE}
    assert [(s.detection_id, n) for s, n in crops] == [(100, 1), (190, 1), (101, 1), (102, 1), (103, 1)]
    full = crops_to_show(site, limit=3)  # the weakest Slight look (frame 3) gives way
    assert [s.detection_id for s, _ in full] == [100, 190, 101]
    one_level = _hovered(2, [0, 1, 2], [0.9, 0.8, 0.7])
    assert [s.frame_index for s, _ in crops_to_show(one_level, limit=2)] == [0, 1]  # as before


def test_a_crop_stands_for_every_sighting_of_its_look():
    """Splitting a hover's crop (x5) took its best frame only, and a crop of a frame left
    the other boxes on that damage in the frame on the site."""
    site = _hovered(1, [0, 1, 2, 2, 2, 2, 2], [0.5, 0.6, 0.7, 0.95, 0.8, 0.7, 0.9])
    patch = Sighting(190, 1, 0.5, DamageLevel.SLIGHT, 0.3, ReviewState.PENDING, 1)  # a second box in frame 1
    site = dataclasses.replace(site, sightings=tuple(sorted(site.sightings + (patch,), key=lambda s: s.t_s)))
    crops = crops_to_show(site, limit=12)
    members = crop_sightings(site, crops)
    assert members[103] == (102, 103, 104, 105, 106)  # the hover's five frames
    assert set(members[101]) == {101, 190} and members[100] == (100,)
    severe = Sighting(191, 3, 1.5, DamageLevel.SEVERE, 0.2, ReviewState.PENDING, 2)  # the hover, another level
    both = dataclasses.replace(site, sightings=site.sightings + (severe,))
    members = crop_sightings(both, crops_to_show(both, limit=12))
    assert members[191] == (191,) and 191 not in members[103]  # two crops of one look: each its level's


def test_decisions_match_the_nearest_site_within_the_radius():
    near = _summary(1, [DamageLevel.SLIGHT], [0.9])
    far = SiteSummary(2, DamageLevel.SLIGHT, 0.9, LON + 10 * METRE_LON, LAT, near.sightings, 0)
    assert distance_m(LON, LAT, LON + 10 * METRE_LON, LAT) == pytest.approx(10.0, rel=1e-3)
    close = SiteMark(LON + 1.0 * METRE_LON, LAT, ReviewState.REJECTED)
    later = SiteMark(LON + 1.0 * METRE_LON, LAT, ReviewState.ACCEPTED, DamageLevel.DEBRIS)
    too_far = SiteMark(LON + (10 + CARRY_RADIUS_M + 0.5) * METRE_LON, LAT, ReviewState.REJECTED)
    assert match_decisions([close], [near, far]) == {1: close}
    assert match_decisions([close, later], [near, far]) == {1: later}  # the later decision wins
    assert match_decisions([too_far], [near, far]) == {}


def test_a_survey_decision_reaches_the_site_its_survey_joins_not_the_nearest():
    """Another flight's rejection 1 m from this flight's site A: where the survey joined
    the rejected site with site B (5 m off), it reaches B only; where the survey holds no
    decided site, it reaches by place, but never A when the survey joined A with another
    site of the flight the rejection was made in (a neighbouring roof)."""
    from core.sites import JoinedMark, decisions_reaching

    def site(site_id: int, east_m: float, detection_id: int) -> SiteSummary:
        sighting = Sighting(detection_id, 0, 0.0, DamageLevel.SLIGHT, 0.9, ReviewState.PENDING)
        return SiteSummary(site_id, DamageLevel.SLIGHT, 0.9, LON + east_m * METRE_LON, LAT, (sighting,), 0)

    a, b = site(1, 0.0, 10), site(2, 5.0, 20)
    place = (LON + 1.0 * METRE_LON, LAT, ReviewState.REJECTED)
    assert decisions_reaching([SiteMark(*place)], [a, b], radius_m=6.0) == {1: SiteMark(*place)}
    joined = JoinedMark(*place, joined=frozenset({20}), fused=True)
    assert decisions_reaching([joined], [a, b], radius_m=6.0) == {2: joined}
    nowhere = JoinedMark(*place, fused=True)  # the survey joined it with no site of this flight
    assert decisions_reaching([nowhere], [a, b], radius_m=6.0) == {}
    by_place = JoinedMark(*place, apart=frozenset({10}))
    assert decisions_reaching([by_place], [a, b], radius_m=6.0) == {2: by_place}
    assert decisions_reaching([by_place], [a, b], radius_m=3.0) == {}


def test_site_numbers_that_skip_are_written_as_ranges():
    from core.sites import number_ranges

    assert number_ranges([9, 1, 2, 3, 4, 6, 10, 4]) == "1-4, 6, 9-10"
    assert number_ranges([]) == ""


def test_a_site_decision_cut_partway_stores_nothing_of_it_and_keeps_the_history(session, monkeypatch):
    """A full disk (or a kill) after three of a site's sightings: those three stayed
    rejected, the window still listed the site to decide, and on reopening no step at all
    could be undone (the history held a part of a step)."""
    first = _site(session, DamageLevel.SEVERE)
    session.apply(site_decision(first, ReviewState.ACCEPTED))  # a whole step before it
    site = _site(session)
    real, calls = session.store.record_edit, []

    def full_disk(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise StoreError("cannot write: the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(session.store, "record_edit", full_disk)
    with pytest.raises(StoreError, match="disk is full"):
        session.apply(site_decision(site, ReviewState.REJECTED))
    monkeypatch.undo()
    assert all(session.store.detection(i).review is ReviewState.PENDING for i in site.detection_ids)
    assert len(session.store.site_decisions(session.run_id)) == 1  # the first step's only
    reopened = ReviewSession(session.store, session.run_id, author="tester")
    assert reopened.restore_history() == (1, 0)  # the step before it can still be undone
    assert reopened.undo() is not None
    assert all(session.store.detection(i).review is ReviewState.PENDING for i in first.detection_ids)


def test_a_site_line_names_its_best_view_only_where_it_is_not_its_best_score():
    from core.sites import site_line, views_apart

    assert views_apart((19.0, 0.56), (17.0, 0.78)) == (19.0, 17.0)
    assert views_apart((17.0, 0.78), (17.0, 0.78)) is None  # one sighting
    assert views_apart((19.0, 0.78), (17.0, 0.78)) is None  # as high a score: the view is a best one
    assert views_apart((17.02, 0.5), (17.0, 0.78)) is None  # the same moment, as the row words it
    line = site_line(23, DamageLevel.SEVERE, 0.78, 4, 3, 17.0, 19.0, best_view_apart=(19.0, 17.0))
    assert line == "#23  Severe  best view 0:19.0 · best score 0.78 at 0:17.0 · 4 sightings in 3 frames · 0:17.0–0:19.0"
    assert "best view" not in site_line(23, DamageLevel.SEVERE, 0.78, 4, 3, 17.0, 19.0)
