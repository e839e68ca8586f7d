"""Review Undo and Redo with the project open in two windows (or a window and the
command line's `survey decide`): a step over a review changed elsewhere since is refused,
naming what changed, and that change is kept; the window then shows it, and its Undo
holds every step in the order they were made."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.document import ProjectDocument
from core.review import ReviewSession, SetReview
from core.store import ProjectStore
from core.types import ReviewState


@pytest.fixture
def project(two_detections_project: Path) -> Path:
    return two_detections_project


@pytest.fixture
def two_windows(qtbot, project):
    """Two documents on one project, their looks for outside changes stopped: each step
    below comes before either window's timer would have read the other's."""
    docs = (ProjectDocument(), ProjectDocument())
    for doc in docs:
        doc.open_path(project)
        doc._watch_timer.stop()
    yield docs
    for doc in docs:
        doc.close()


def _stored(path: Path, detection_id: int) -> ReviewState:
    with ProjectStore.open(path, read_only=True) as store:
        return store.detection(detection_id).review


def _undo_refused(qtbot, doc: ProjectDocument) -> None:
    """Edit > Undo, refused: Qt's index moves and is taken back once its undo() returns."""
    index = doc.undo_stack.index()
    with qtbot.waitSignal(doc.undo_stack.indexChanged, timeout=5_000,
                          check_params_cb=lambda at: at == index):
        doc.undo_stack.undo()


def test_an_undo_over_a_decision_made_in_another_window_is_refused_and_that_decision_kept(
        qtbot, two_windows, project, errors):
    first_window, second_window = two_windows
    detection_id = first_window.all_detections()[0].id
    first_window.apply_edit(SetReview(detection_id, ReviewState.ACCEPTED), f"Accept detection #{detection_id}")
    second_window.apply_edit(SetReview(detection_id, ReviewState.REJECTED), f"Reject detection #{detection_id}")

    _undo_refused(qtbot, first_window)
    assert _stored(project, detection_id) is ReviewState.REJECTED
    assert errors == [f"Undo of 'Accept detection #{detection_id}' not done: detection #{detection_id} was changed "
                      "since (another window or the command line), and it would overwrite that; the project is as "
                      "it was, and the window shows that change now"]
    # the window shows the other window's decision, and its Undo holds both steps in order
    assert first_window.detection(detection_id).review is ReviewState.REJECTED
    stack = first_window.undo_stack
    assert (stack.count(), stack.index()) == (2, 2) and stack.undoText() == f"Reject detection #{detection_id}"

    stack.undo()  # the last step made: the other window's, now the first one's to take back
    assert _stored(project, detection_id) is ReviewState.ACCEPTED
    with ProjectStore.open(project, read_only=True) as store:
        assert ReviewSession(store, store.latest_run_id()).restore_history() == (1, 1)


def test_a_redo_over_a_decision_made_by_the_command_line_is_refused_and_that_decision_kept(
        qtbot, two_windows, project, errors):
    window = two_windows[0]
    detection_id = window.all_detections()[0].id
    window.apply_edit(SetReview(detection_id, ReviewState.ACCEPTED), f"Accept detection #{detection_id}")
    window.undo_stack.undo()
    with ProjectStore.open(project) as store:  # `damagemap survey decide`, as it writes
        ReviewSession(store, window.run_id, author="cli").apply(SetReview(detection_id, ReviewState.REJECTED))

    index = window.undo_stack.index()
    with qtbot.waitSignal(window.undo_stack.indexChanged, timeout=5_000, check_params_cb=lambda at: at == index):
        window.undo_stack.redo()
    assert _stored(project, detection_id) is ReviewState.REJECTED
    assert errors and errors[0].startswith(f"Redo of 'Accept detection #{detection_id}' not done: detection "
                                           f"#{detection_id} was changed since")
    assert window.detection(detection_id).review is ReviewState.REJECTED and not window.undo_stack.canRedo()


def test_an_edit_made_before_the_window_read_the_other_s_does_not_hide_it(qtbot, two_windows, project, errors):
    """The window's own edit came after the other's and before its look: its look took
    the project's newest line, its own, for all it had to know, never showed the other
    window's decision, and its Undo put the first detection back over it."""
    first_window, second_window = two_windows
    first, second = (d.id for d in first_window.all_detections())
    first_window.apply_edit(SetReview(first, ReviewState.ACCEPTED), f"Accept detection #{first}")
    second_window.apply_edit(SetReview(first, ReviewState.REJECTED), f"Reject detection #{first}")
    with qtbot.waitSignal(first_window.review_changed, timeout=5_000, check_params_cb=lambda changes: changes is None):
        first_window.apply_edit(SetReview(second, ReviewState.ACCEPTED), f"Accept detection #{second}")

    assert first_window.detection(first).review is ReviewState.REJECTED
    stack = first_window.undo_stack
    assert (stack.count(), stack.index()) == (3, 3)
    stack.undo()
    stack.undo()  # the other window's reject, in the order the steps were made
    assert _stored(project, second) is ReviewState.PENDING
    assert _stored(project, first) is ReviewState.ACCEPTED
    assert errors == []


def test_a_step_of_one_detection_after_another_s_decision_on_another_is_refused_saying_which(
        qtbot, two_windows, project, errors):
    """Out of the order the steps were made, the undo left a history no reopened project
    could rebuild its Undo from."""
    first_window, second_window = two_windows
    first, second = (d.id for d in first_window.all_detections())
    first_window.apply_edit(SetReview(first, ReviewState.ACCEPTED), f"Accept detection #{first}")
    second_window.apply_edit(SetReview(second, ReviewState.REJECTED), f"Reject detection #{second}")

    _undo_refused(qtbot, first_window)
    assert _stored(project, first) is ReviewState.ACCEPTED
    assert errors == [f"Undo of 'Accept detection #{first}' not done: the review was changed since in another "
                      f"window or on the command line (detection #{second}), and steps are taken back in the order "
                      "they were made; the project is as it was, and the window shows that change now"]
    assert first_window.undo_stack.undoText() == f"Reject detection #{second}"
