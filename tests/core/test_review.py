"""Review edits: saved at once with history, undo/redo returning Changes (Anki style)."""

import numpy as np
import pytest

from core.errors import StoreError
from core.masks import RleMask
from core.review import (
    AddDetection,
    Changes,
    DeleteDetection,
    EditGroup,
    Relabel,
    ReviewSession,
    SetMask,
    SetReview,
    SiteMark,
)
from core.store import ProjectStore
from core.types import DamageLevel, Detection, Frame, Origin, ReviewState


def _mask(box, h=48, w=64):
    arr = np.zeros((h, w), dtype=bool)
    x1, y1, x2, y2 = box
    arr[y1:y2, x1:x2] = True
    return RleMask.from_array(arr)


@pytest.fixture
def session(tmp_path):
    store = ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4")
    run = store.start_run(model={}, settings={})
    for frame in range(3):
        store.write_frame(
            run,
            Frame(frame, frame / 10, 64, 48),
            [
                Detection(frame, DamageLevel.SLIGHT, 0.8, (10.0, 5.0, 30.0, 20.0), mask=_mask((10, 5, 30, 20))),
                Detection(frame, DamageLevel.SEVERE, 0.6, (40.0, 5.0, 50.0, 20.0)),
            ],
        )
    yield ReviewSession(store, run, author="tester")
    store.close()


def _ids(session, frame):
    return [d.id for d in session.store.detections(session.run_id, frame_index=frame)]


def test_set_review_changes_state_and_reports_what_to_redraw(session):
    det_id = _ids(session, 1)[0]
    changes = session.apply(SetReview(det_id, ReviewState.ACCEPTED))
    assert changes == Changes(frozenset({det_id}), frozenset({1}))
    assert session.store.detection(det_id).review is ReviewState.ACCEPTED
    assert session.pending_count() == 5


def test_undo_redo_walk_the_stack(session):
    a, b = _ids(session, 0)
    session.apply(SetReview(a, ReviewState.REJECTED))
    session.apply(Relabel(b, DamageLevel.DEBRIS))
    assert session.can_undo and not session.can_redo
    assert session.undo() == Changes(frozenset({b}), frozenset({0}))
    assert session.store.detection(b).level is DamageLevel.SEVERE
    assert session.store.detection(b).origin is Origin.MODEL
    assert session.undo() == Changes(frozenset({a}), frozenset({0}))
    assert session.store.detection(a).review is ReviewState.PENDING
    assert session.undo() is None and not session.can_undo
    assert session.redo() == Changes(frozenset({a}), frozenset({0}))
    assert session.store.detection(a).review is ReviewState.REJECTED
    session.redo()
    assert session.store.detection(b).level is DamageLevel.DEBRIS
    assert session.redo() is None


def test_a_new_edit_clears_redo(session):
    a, b = _ids(session, 0)
    session.apply(SetReview(a, ReviewState.ACCEPTED))
    session.undo()
    session.apply(SetReview(b, ReviewState.ACCEPTED))
    assert not session.can_redo
    assert session.store.detection(a).review is ReviewState.PENDING


def test_relabel_and_set_mask_are_corrections(session):
    a, _ = _ids(session, 2)
    session.apply(Relabel(a, DamageLevel.DEBRIS))
    got = session.store.detection(a)
    assert (got.level, got.origin, got.review) == (DamageLevel.DEBRIS, Origin.EDITED, ReviewState.ACCEPTED)
    new_mask = _mask((0, 0, 8, 8))
    session.apply(SetMask(a, new_mask))
    got = session.store.detection(a)
    assert got.mask == new_mask and got.box_xyxy_px == (0.0, 0.0, 8.0, 8.0)
    session.undo()
    got = session.store.detection(a)
    assert got.mask == _mask((10, 5, 30, 20)) and got.box_xyxy_px == (10.0, 5.0, 30.0, 20.0)


def test_set_mask_refuses_empty_or_wrong_size(session):
    a, _ = _ids(session, 0)
    with pytest.raises(StoreError, match="empty"):
        session.apply(SetMask(a, RleMask(48, 64, (48 * 64,))))
    with pytest.raises(StoreError, match="48x64 mask; got 10x10"):
        session.apply(SetMask(a, RleMask(10, 10, (100,))))
    assert not session.can_undo  # refused edits push nothing


def test_add_and_delete_keep_ids_through_undo_redo(session):
    drawn = Detection(1, DamageLevel.SEVERE, 1.0, (1.0, 1.0, 9.0, 9.0), mask=_mask((1, 1, 9, 9)))
    changes = session.apply(AddDetection(session.run_id, drawn))
    (new_id,) = changes.detection_ids
    assert changes.frame_indices == {1}
    got = session.store.detection(new_id)
    assert (got.origin, got.review) == (Origin.ADDED, ReviewState.ACCEPTED)
    assert new_id in _ids(session, 1)
    session.undo()
    assert new_id not in _ids(session, 1)
    session.redo()
    assert new_id in _ids(session, 1)
    session.apply(DeleteDetection(new_id))
    assert new_id not in _ids(session, 1)
    with pytest.raises(StoreError, match="was deleted"):
        session.apply(SetReview(new_id, ReviewState.REJECTED))
    session.undo()
    assert new_id in _ids(session, 1)


def test_refused_edits(session):
    with pytest.raises(StoreError, match="no detection 999"):
        session.apply(SetReview(999, ReviewState.ACCEPTED))
    with pytest.raises(StoreError, match="not run 77"):
        session.apply(AddDetection(77, Detection(0, DamageLevel.SLIGHT, 1.0, (0.0, 0.0, 1.0, 1.0))))
    other_run = session.store.start_run(model={}, settings={})
    with pytest.raises(StoreError, match="no run 1234"):
        ReviewSession(session.store, 1234)
    foreign = session.store.write_frame(other_run, Frame(0, 0.0, 64, 48), [Detection(0, DamageLevel.SLIGHT, 0.5, (0.0, 0.0, 1.0, 1.0))])
    with pytest.raises(StoreError, match="not in run"):
        session.apply(SetReview(foreign[0], ReviewState.ACCEPTED))
    assert not session.can_undo


def test_an_edit_that_changes_nothing_still_stacks_but_writes_nothing(session):
    a, _ = _ids(session, 0)
    changes = session.apply(SetReview(a, ReviewState.PENDING))
    assert changes.detection_ids == {a}
    assert session.can_undo  # a GUI undo stack pushed a command: stay in step with it
    assert session.history() == []
    assert session.undo() is not None and session.history() == []


def test_history_records_who_when_what_and_survives_reopening(session, tmp_path):
    a, b = _ids(session, 0)
    session.apply(SetReview(a, ReviewState.ACCEPTED))
    session.apply(Relabel(b, DamageLevel.DEBRIS))
    session.undo()
    session.redo()
    path = session.store.path
    session.store.close()
    with ProjectStore.open(path) as store:
        history = store.edit_history()
        assert [(h.kind, h.action) for h in history] == [
            ("SetReview", "apply"),
            ("Relabel", "apply"),
            ("Relabel", "undo"),
            ("Relabel", "redo"),
        ]
        first = history[0]
        assert first.author == "tester" and first.created_utc.endswith("Z")
        assert first.before == {"review": "pending"} and first.after == {"review": "accepted"}
        assert history[1].before == {"level": 2, "origin": "model", "review": "pending"}
        assert history[2].target_edit_id == history[1].id == history[3].target_edit_id
        # The current state is what the edits left.
        assert store.detection(a).review is ReviewState.ACCEPTED
        assert store.detection(b).level is DamageLevel.DEBRIS
        assert len(store.edit_history(detection_id=b)) == 3


def test_next_unreviewed_walks_frames_and_wraps(session):
    ids = {f: _ids(session, f) for f in range(3)}
    assert session.next_unreviewed().id == ids[0][0]
    assert session.next_unreviewed(after_frame=0).id == ids[1][0]
    for det_id in ids[1] + ids[2]:
        session.apply(SetReview(det_id, ReviewState.ACCEPTED))
    assert session.next_unreviewed(after_frame=0).id == ids[0][0]  # wrapped
    assert session.next_unreviewed(after_frame=0, wrap=False) is None
    for det_id in ids[0]:
        session.apply(SetReview(det_id, ReviewState.REJECTED))
    assert session.next_unreviewed(after_frame=1) is None
    assert session.pending_count() == 0


def test_history_states_round_trip_through_their_json_form():
    import json

    from core.review import changed_fields, decode_state, detection_state, encode_state

    array = np.zeros((6, 8), bool)
    array[1:4, 2:7] = True
    det = Detection(3, DamageLevel.SEVERE, 0.7, (2.0, 1.0, 7.0, 4.0), mask=RleMask.from_array(array),
                    building_box_xyxy_px=(0.0, 0.0, 8.0, 6.0), refined_score=0.6)
    state = detection_state(det)
    assert decode_state(json.loads(json.dumps(encode_state(state)))) == state
    before, after = changed_fields(state, {**state, "review": ReviewState.ACCEPTED, "deleted": True})
    assert before == {"review": ReviewState.PENDING, "deleted": False}
    assert encode_state(after) == {"review": "accepted", "deleted": True}


def test_an_undo_over_a_review_change_made_elsewhere_is_refused_and_that_change_kept(session):
    """The project open in two windows (or a window and `survey decide`): one accepts a
    detection, the other rejects it; the first one's undo put it back to pending over the
    reject, unsaid, and its undo line broke the history a reopened project rebuilds from."""
    from core.review import ReviewChangedElsewhere

    first, second = _ids(session, 0)
    session.apply(SetReview(first, ReviewState.ACCEPTED))
    with ProjectStore.open(session.store.path) as other_store:  # the other window
        ReviewSession(other_store, session.run_id, author="other").apply(SetReview(first, ReviewState.REJECTED))
    lines = len(session.history())

    with pytest.raises(ReviewChangedElsewhere) as refused:
        session.undo()
    assert refused.value.overlap == refused.value.detection_ids == {first}
    assert "#%d" % first in str(refused.value)
    assert session.store.detection(first).review is ReviewState.REJECTED
    assert len(session.history()) == lines and session.undo_steps == 1
    assert session.changed_elsewhere == {first}

    # a new edit is made on what the project holds; the stale steps stay refused
    session.apply(SetReview(second, ReviewState.ACCEPTED))
    with pytest.raises(ReviewChangedElsewhere) as refused:
        session.undo()
    assert refused.value.overlap == set() and refused.value.detection_ids == {first}
    assert session.store.detection(second).review is ReviewState.ACCEPTED

    # a session rebuilt from the project holds the steps in the order they were made
    rebuilt = ReviewSession(session.store, session.run_id)
    assert rebuilt.restore_history() == (3, 0) and rebuilt.changed_elsewhere is None
    rebuilt.undo()
    rebuilt.undo()  # the other window's reject
    assert session.store.detection(first).review is ReviewState.ACCEPTED
    assert ReviewSession(session.store, session.run_id).restore_history() == (1, 2)


def test_a_review_step_the_project_refuses_is_not_taken_for_a_change_made_elsewhere(session, monkeypatch):
    """An undo of two sightings cut by a full disk after its first line is rolled back
    whole: the next undo finds no line written elsewhere and is done."""
    from core.review import EditGroup

    first, second = _ids(session, 0)
    session.apply(EditGroup((SetReview(first, ReviewState.ACCEPTED), SetReview(second, ReviewState.ACCEPTED))))
    record_edit = ProjectStore.record_edit
    written = []

    def disk_full_at_the_second_line(self, **kwargs):
        if written:
            raise StoreError("database or disk is full")
        written.append(record_edit(self, **kwargs))
        return written[-1]

    with monkeypatch.context() as patched:
        patched.setattr(ProjectStore, "record_edit", disk_full_at_the_second_line)
        with pytest.raises(StoreError, match="disk is full"):
            session.undo()
    assert len(written) == 1 and session.store.detection(first).review is ReviewState.ACCEPTED
    assert session.changed_elsewhere is None
    session.undo()
    assert {session.store.detection(i).review for i in (first, second)} == {ReviewState.PENDING}


def test_a_reviewer_name_is_recorded_as_one_line_given_or_read_from_the_login(session, monkeypatch):
    """A name with a line break, a terminal escape or a right-to-left override (given, or
    the login name a shell set in LOGNAME, as ``survey decide`` records it) is recorded
    as one line of text with every edit."""
    a, b = _ids(session, 0)
    session.author = "Ana\nReviewer\x1b[31m"
    session.apply(SetReview(a, ReviewState.ACCEPTED))
    monkeypatch.setenv("LOGNAME", "field\u202eteam\r\n")
    from_login = ReviewSession(session.store, session.run_id)
    from_login.apply(SetReview(b, ReviewState.REJECTED))
    assert [r.author for r in session.store.edit_history(session.run_id)] == ["Ana Reviewer [31m", "fieldteam"]
    monkeypatch.setenv("LOGNAME", "\n\t")
    assert ReviewSession(session.store, session.run_id, author=" \u2066 ").author == "unknown"


def test_a_site_decision_that_changes_no_sighting_is_stored_with_its_redo_drop_or_not_at_all(session, monkeypatch):
    """A site decided as its sightings already are (accepted one by one, then the site)
    writes its decision and, with a step to redo, a 'discard' line: a full disk at that
    line left the decision stored, active, with no step on the window's Undo to take it
    back; now neither is stored and the step to redo stays."""
    a, b = _ids(session, 0)
    session.apply(SetReview(a, ReviewState.ACCEPTED))
    session.apply(SetReview(b, ReviewState.REJECTED))
    session.undo()
    record_edit = session.store.record_edit

    def disk_full_at_the_discard_line(**line):
        if line["action"] == "discard":
            raise StoreError("'p.dmproj': cannot write: the disk is full")
        return record_edit(**line)

    monkeypatch.setattr(session.store, "record_edit", disk_full_at_the_discard_line)
    with pytest.raises(StoreError, match="disk is full"):
        session.apply(EditGroup((SetReview(a, ReviewState.ACCEPTED),), site=SiteMark(0.0, 0.0, ReviewState.ACCEPTED)))
    assert session.store.site_decisions(session.run_id) == []
    assert session.can_redo and len(session.store.edit_history(session.run_id)) == 3
    monkeypatch.undo()
    session.apply(EditGroup((SetReview(a, ReviewState.ACCEPTED),), site=SiteMark(0.0, 0.0, ReviewState.ACCEPTED)))
    assert len(session.store.site_decisions(session.run_id)) == 1 and not session.can_redo
    assert session.store.edit_history(session.run_id)[-1].action == "discard"


def test_a_reviewer_name_an_older_damagemap_recorded_on_several_lines_is_read_as_one(session):
    """Names recorded before they were made one line (a pasted name, a login name) are
    read as one line: the history, the site decisions and the splits and merges, and from
    them every export's reviewed_by."""
    from core.review import RegroupSite

    a, b = _ids(session, 0)
    session.apply(EditGroup((SetReview(a, ReviewState.ACCEPTED),), site=SiteMark(0.0, 0.0, ReviewState.ACCEPTED)))
    session.apply(RegroupSite(session.run_id, "split", (b,)))
    for table in ("edits", "site_decisions", "site_groups"):
        session.store._conn.execute(f"UPDATE {table} SET author = ?", ("Ana\nReviewer\x1b[31m\u202eX",))
    store = session.store
    names = {r.author for r in store.edit_history(session.run_id)}
    names |= {d.author for d in store.site_decisions(session.run_id)}
    names |= {g.author for g in store.site_groups(session.run_id)}
    assert names == {"Ana Reviewer [31mX"}
