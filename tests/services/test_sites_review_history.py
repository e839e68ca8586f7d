"""The review history survives closing and reopening a project: the undo and redo
stacks are rebuilt from the project's history lines, site decisions, splits and merges
included, and the count a reader reports is the count Undo offers."""

import pytest

from core.review import EditGroup, Relabel, RegroupSite, ReviewSession, SetReview, SiteMark
from core.store import SCHEMA_VERSION, ProjectStore
from core.types import DamageLevel, Detection, Frame, ReviewState
from services.project import review_history_steps


@pytest.fixture
def project(tmp_path):
    store = ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4")
    run = store.start_run(model={}, settings={})
    for frame in range(3):
        store.write_frame(
            run,
            Frame(frame, frame / 10, 64, 48),
            [
                Detection(frame, DamageLevel.SLIGHT, 0.8, (10.0, 5.0, 30.0, 20.0)),
                Detection(frame, DamageLevel.SEVERE, 0.6, (40.0, 5.0, 50.0, 20.0)),
            ],
        )
    ids = [d.id for d in store.detections(run)]
    store.close()
    return tmp_path / "p.dmproj", run, ids


def _reopen(path, run):
    store = ProjectStore.open(path)
    session = ReviewSession(store, run, author="tester")
    return store, session, session.restore_history()


def test_undo_and_redo_stacks_come_back_after_reopening(project):
    path, run, ids = project
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        s.apply(EditGroup((SetReview(ids[2], ReviewState.REJECTED), SetReview(ids[4], ReviewState.REJECTED)),
                          SiteMark(-90.0, 30.0, ReviewState.REJECTED)))
        s.apply(RegroupSite(run, "split", (ids[1], ids[3])))
        s.apply(Relabel(ids[5], DamageLevel.DEBRIS))
        s.undo()  # the relabel waits on the redo stack
        assert review_history_steps(store, run) == (3, 1)

    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (3, 1) and session.undo_steps == 3 and session.redo_steps == 1
        # each step worded as the app words it when it is made, not "earlier edit"
        assert session.step_texts() == ([f"Accept detection #{ids[0]}", "Reject site (2 sightings)",
                                         "Split 2 sightings off a site"], [f"Relabel detection #{ids[5]} as Debris"])
        assert session.redo() is not None
        assert store.detection(ids[5]).level is DamageLevel.DEBRIS
        session.undo()
        assert session.undo().detection_ids == {ids[1], ids[3]}  # the split, one step
        assert store.site_groups(run) == []
        changes = session.undo()  # the site decision: both sightings and its record, one step
        assert changes.detection_ids == {ids[2], ids[4]} and changes.frame_indices == {1, 2}
        assert store.detection(ids[2]).review is ReviewState.PENDING
        assert store.detection(ids[4]).review is ReviewState.PENDING
        assert store.site_decisions(run) == []
        assert store.detection(ids[0]).review is ReviewState.ACCEPTED
        session.undo()
        assert store.detection(ids[0]).review is ReviewState.PENDING
        assert not session.can_undo and session.redo_steps == 4
        assert review_history_steps(store, run) == (0, 4)

    store, session, counts = _reopen(path, run)  # and again, after undos written by a restored session
    with store:
        assert counts == (0, 4)
        session.redo()
        session.redo()
        assert store.detection(ids[2]).review is ReviewState.REJECTED and len(store.site_decisions(run)) == 1


def test_a_new_edit_after_undo_drops_the_redo_steps_also_after_reopening(project):
    path, run, ids = project
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        s.undo()
        s.apply(SetReview(ids[1], ReviewState.REJECTED))
    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (1, 0)
        session.undo()
        assert store.detection(ids[1]).review is ReviewState.PENDING


def test_redo_steps_dropped_by_another_change_stay_dropped_after_reopening(project):
    """A settings change pushed onto the window's undo history drops the steps Redo
    offered: the reopened project offered them again, as undone and redoable."""
    path, run, ids = project
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        s.apply(EditGroup((SetReview(ids[2], ReviewState.REJECTED), SetReview(ids[4], ReviewState.REJECTED)),
                          SiteMark(-90.0, 30.0, ReviewState.REJECTED)))
        s.apply(RegroupSite(run, "split", (ids[1], ids[3])))
        s.apply(SetReview(ids[5], ReviewState.ACCEPTED))
        for _ in range(3):
            s.undo()  # the accept, the split and the site decision wait on the redo stack
        assert review_history_steps(store, run) == (1, 3)
        s.discard_redo()
        assert not s.can_redo and s.undo_steps == 1
        assert review_history_steps(store, run) == (1, 0)
        assert store.edit_history(run)[-1].action == "discard"
        s.discard_redo()  # nothing to drop: nothing written
        assert [r.action for r in store.edit_history(run)].count("discard") == 1

    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (1, 0) and session.step_texts() == ([f"Accept detection #{ids[0]}"], [])
        session.undo()
        assert store.detection(ids[0]).review is ReviewState.PENDING
        session.redo()  # the steps before the drop still undo and redo
        assert store.detection(ids[0]).review is ReviewState.ACCEPTED


def test_a_redo_dropped_after_another_program_s_edit_keeps_the_history(project):
    """`survey decide` (another program) decides a site of the flight between the
    window's undo and its settings change: its edit ended the redo chain already, and the
    window's drop, naming the step it had undone, must not make the history unreadable."""
    path, run, ids = project
    with ProjectStore.open(path) as store, ProjectStore.open(path) as elsewhere:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        s.undo()
        ReviewSession(elsewhere, run, author="survey").apply(SetReview(ids[1], ReviewState.REJECTED))
        s.discard_redo()
        assert review_history_steps(store, run) == (1, 0)
    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (1, 0) and session.step_texts() == ([f"Reject detection #{ids[1]}"], [])


def test_a_redo_dropped_after_a_step_that_changed_nothing_names_the_first_that_did(project):
    """A step that changed nothing has no history line; the drop names the next one."""
    path, run, ids = project
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        s.apply(SetReview(ids[1], ReviewState.PENDING))  # already pending: no line
        s.undo()
        s.undo()
        s.discard_redo()
        assert not s.can_redo and review_history_steps(store, run) == (0, 0)
    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (0, 0)


def test_a_new_edit_that_changes_nothing_after_undo_drops_the_redo_steps_also_after_reopening(project):
    """Reset on a detection still pending writes no history line: the steps it dropped
    from Redo came back with the project."""
    path, run, ids = project
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        s.undo()
        s.apply(SetReview(ids[1], ReviewState.PENDING))
        assert not s.can_redo and s.undo_steps == 1
        assert review_history_steps(store, run) == (0, 0)
    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (0, 0)


def test_a_history_that_does_not_add_up_restores_nothing(project):
    path, run, ids = project
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        # a line an older version could have written: an undo of something never applied
        store.record_edit(run_id=run, detection_id=ids[1], kind="SetReview", action="undo", after={},
                          before_json={}, after_json={}, author="x", target_edit_id=None)
    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (0, 0) and not session.can_undo


def test_several_sites_decided_at_once_are_one_step_with_every_site_decision_kept(project):
    from core.review import SiteDecisions

    path, run, ids = project
    west, east = SiteMark(-90.0, 30.0, ReviewState.ACCEPTED), SiteMark(-89.9, 30.0, ReviewState.ACCEPTED)
    both = SiteDecisions((
        EditGroup((SetReview(ids[0], ReviewState.ACCEPTED), SetReview(ids[2], ReviewState.ACCEPTED)), west),
        EditGroup((SetReview(ids[1], ReviewState.ACCEPTED),), east),
    ))
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        assert s.apply(both).detection_ids == {ids[0], ids[1], ids[2]}
        assert s.undo_steps == 1
        decisions = store.site_decisions(run)
        assert sorted((d.lon_deg, tuple(d.detection_ids)) for d in decisions) == [
            (-90.0, (ids[0], ids[2])), (-89.9, (ids[1],))]  # each site's own record
        s.undo()
        assert store.site_decisions(run) == [] and store.detection(ids[1]).review is ReviewState.PENDING
        s.redo()
        assert len(store.site_decisions(run)) == 2
        with pytest.raises(Exception, match="once per group"):  # a detection in two sites' groups
            s.apply(SiteDecisions((EditGroup((SetReview(ids[3], ReviewState.REJECTED),)),
                                   EditGroup((SetReview(ids[3], ReviewState.ACCEPTED),)))))
        assert store.detection(ids[3]).review is ReviewState.PENDING

    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (1, 0)
        session.undo()  # one undo takes back both sites, and both their records
        assert {store.detection(i).review for i in ids[:3]} == {ReviewState.PENDING}
        assert store.site_decisions(run) == []
        session.redo()
        assert {store.detection(i).review for i in ids[:3]} == {ReviewState.ACCEPTED}
        assert len(store.site_decisions(run)) == 2


def test_carried_decisions_read_the_same_after_reopening(project):
    """The step that keeps earlier runs' decisions is worded as it was when it was made,
    also once the project is opened again; a reviewer's own decision on many sites is not
    taken for one."""
    from core.review import SiteDecisions, carried_text

    path, run, ids = project
    site = SiteMark(-90.0, 30.0, ReviewState.ACCEPTED)
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SiteDecisions((EditGroup((SetReview(ids[0], ReviewState.ACCEPTED),
                                          SetReview(ids[2], ReviewState.ACCEPTED)), site),
                               EditGroup((SetReview(ids[1], ReviewState.ACCEPTED),), site)), carried=True))
        s.apply(SiteDecisions((EditGroup((SetReview(ids[3], ReviewState.REJECTED),), site),
                               EditGroup((SetReview(ids[5], ReviewState.REJECTED),), site))))
    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (2, 0)
        assert session.step_texts() == ([carried_text(3), "Reject 2 sites (2 sightings)"], [])
        assert carried_text(3) == "Keep earlier decisions on 3 sightings" and carried_text(1).endswith("1 sighting")
        changes = session.undo()
        changes = session.undo()  # the carried step is still one step, both its sites
        assert changes.detection_ids == {ids[0], ids[1], ids[2]}
        assert all(store.detection(i).review is ReviewState.PENDING for i in ids)


def test_a_relabelled_site_of_mixed_levels_reads_as_a_relabel_after_reopening(project):
    """Relabelling a site whose sightings are Slight and Severe as Severe changes the level
    of the Slight ones only; the restored step still says Relabel, not Accept."""
    path, run, ids = project  # ids[0] is Slight, ids[1] Severe (frame 0)
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(EditGroup((Relabel(ids[0], DamageLevel.SEVERE), Relabel(ids[1], DamageLevel.SEVERE)),
                          SiteMark(-90.0, 30.0, ReviewState.ACCEPTED, DamageLevel.SEVERE)))
        assert store.detection(ids[0]).level is store.detection(ids[1]).level is DamageLevel.SEVERE
    store, session, counts = _reopen(path, run)
    with store:
        assert counts == (1, 0)
        assert session.step_texts() == (["Relabel site as Severe (2 sightings)"], [])


def test_a_reopened_split_and_merge_name_their_sites(project):
    """They came back as "Split 2 sightings off a site" and "Merge sites (4 sightings)",
    where they were made as "... off site #3" and "Merge sites #1, #2"."""
    path, run, ids = project
    with ProjectStore.open(path) as store:
        store.add_site_numbers(run, {ids[0]: 1, ids[2]: 1, ids[4]: 1, ids[1]: 2, ids[3]: 2, ids[5]: 3})
        s = ReviewSession(store, run, author="tester")
        s.apply(RegroupSite(run, "split", (ids[2], ids[4])))
        store.add_site_numbers(run, {ids[2]: 4, ids[4]: 4})  # the part split off, numbered anew
        s.apply(RegroupSite(run, "merge", (ids[1], ids[3], ids[5])))
    store, session, _ = _reopen(path, run)
    with store:
        assert session.step_texts() == (["Split 2 sightings off site #1", "Merge sites #2, #3"], [])


def test_a_project_written_before_redo_drops_were_kept_opens_with_its_history(project):
    """A file of schema 4 (its history's lines could not say 'discard'): upgraded on
    opening, every line kept as it was, and a drop recorded from then on; opened
    read-only (a survey's flights) its history is read as it is."""
    import sqlite3

    path, run, ids = project
    with ProjectStore.open(path) as store:
        s = ReviewSession(store, run, author="tester")
        s.apply(SetReview(ids[0], ReviewState.ACCEPTED))
        s.apply(Relabel(ids[1], DamageLevel.DEBRIS))
        s.undo()
        lines = store.edit_history(run)
    conn = sqlite3.connect(path)  # the edits table as damagemap wrote it before schema 5
    conn.executescript("""
        CREATE TABLE edits_v4 (
            id             INTEGER PRIMARY KEY,
            run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            detection_id   INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
            kind           TEXT NOT NULL,
            action         TEXT NOT NULL CHECK (action IN ('apply', 'undo', 'redo')),
            target_edit_id INTEGER REFERENCES edits(id),
            author         TEXT NOT NULL,
            created_utc    TEXT NOT NULL,
            before_json    TEXT NOT NULL,
            after_json     TEXT NOT NULL
        );
        INSERT INTO edits_v4 SELECT * FROM edits;
        DROP TABLE edits;
        ALTER TABLE edits_v4 RENAME TO edits;
        CREATE INDEX edits_by_detection ON edits (detection_id);
        UPDATE schema_version SET version = 4;
    """)
    conn.close()

    def version() -> int:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT version FROM schema_version").fetchone()[0]

    with ProjectStore.open(path, read_only=True) as store:
        assert store.edit_history(run) == lines and review_history_steps(store, run) == (1, 1)
    assert version() == 4

    store, session, counts = _reopen(path, run)
    with store:
        assert version() == SCHEMA_VERSION == 5
        assert store.edit_history(run) == lines and counts == (1, 1)
        with sqlite3.connect(path) as conn:  # the foreign keys and the index came through the upgrade
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'edits'"
                                ).fetchall() == [("edits_by_detection",)]
            assert "REFERENCES edits(id)" in conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'edits'").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError):  # and foreign keys are enforced again once it is done
            store.record_edit(run_id=run, detection_id=10**6, kind="SetReview", action="apply", after={},
                              before_json={}, after_json={}, author="tester")
        session.discard_redo()
        assert review_history_steps(store, run) == (1, 0)
        session.undo()
        assert store.detection(ids[0]).review is ReviewState.PENDING
