"""Georeferencing changes in the window's one undo history: the Georeferencing dialog's
OK is an Edit > Undo step named for what it changed, undone and redone as it was applied
(stored in the project, the map rebuilt); an undo or a redo the project cannot store,
of a settings change or of a review edit, is said and taken back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.dialogs.geo_dialog import GeoSettingsDialog, settings_change_text
from app.panels.map_panel import MapPanel
from core.settings import ProjectSettings
from core.store import ProjectStore
from tests.truth_runs import write_run


def _stored(path: Path) -> ProjectSettings:
    with ProjectStore.open(path, read_only=True) as store:
        return store.project_settings()


def test_a_georeferencing_change_is_undone_and_redone_from_the_edit_menu(qtbot, window, truth_run_project,
                                                                          monkeypatch, errors):
    path = truth_run_project
    maps = window.panel(MapPanel)

    def map_built(offset_s: float):
        """Wait for a map built with the clock offset ``offset_s`` (a map built before may land first)."""
        return qtbot.waitSignal(maps.map_updated, timeout=30_000, check_params_cb=lambda *_: (
            maps.map_widget.content is not None and maps.map_widget.content.aligned.offset_s == offset_s))

    with map_built(0.0):
        assert window.open_path(path)
    doc, stack = window.document, window.document.undo_stack
    before = doc.settings

    def edit_and_ok(dialog: GeoSettingsDialog) -> int:
        dialog.offset_spin.setValue(0.5)
        dialog.pitch_spin.setValue(-60.0)
        return 1

    monkeypatch.setattr(GeoSettingsDialog, "exec", edit_and_ok)
    with map_built(0.5):
        window.geo_settings_dialog()
    applied = replace(before, time_offset_s=0.5, camera_pitch_deg=-60.0)
    assert doc.settings == applied == _stored(path)
    assert stack.count() == 1 and stack.undoText() == "Change clock offset and camera pitch"
    assert window.undo_action.isEnabled() and window.undo_action.text().endswith("Change clock offset and camera pitch")

    # the score slider moves the threshold outside the undo history: undoing the offset leaves it
    doc.set_score_threshold(0.8)
    doc.save_score_threshold()
    with map_built(0.0):
        window.undo_action.trigger()  # Edit > Undo
    assert doc.settings == replace(before, min_score=0.8) == _stored(path)
    assert doc.score_threshold == 0.8
    assert stack.redoText() == "Change clock offset and camera pitch" and not stack.canUndo()

    with map_built(0.5):
        window.redo_action.trigger()  # Edit > Redo
    assert doc.settings == replace(applied, min_score=0.8) == _stored(path)
    assert errors == []


def test_an_ok_that_changes_nothing_stores_nothing_and_adds_no_undo_step(qtbot, window, sites_truth, tmp_path,
                                                                          monkeypatch, errors):
    """Values finer than the boxes show (the command line's, a reading's) are kept by an OK
    that touched nothing: they were stored rounded, under an undo step no one asked for."""
    path = tmp_path / "flight.dmproj"
    saved = ProjectSettings(time_offset_s=0.123456, ground_elevation_m=12.345, flight_height_m=80.04,
                            camera_pitch_deg=-45.55, min_score=0.555)
    with ProjectStore.create(path, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        store.set_project_settings(saved)
    assert window.open_path(path)
    monkeypatch.setattr(GeoSettingsDialog, "exec", lambda dialog: 1)  # OK, nothing touched
    window.geo_settings_dialog()
    assert window.document.undo_stack.count() == 0
    assert window.document.settings == saved == _stored(path)
    assert errors == []


def test_a_change_a_read_only_project_refuses_is_said_and_adds_no_undo_step(qtbot, window, sites_truth, tmp_path,
                                                                             monkeypatch, errors):
    """A project on a locked SD card: OK says why nothing changed, and Edit > Undo offers
    no step that would undo nothing."""
    import os

    path = tmp_path / "card" / "flight.dmproj"
    path.parent.mkdir()
    with ProjectStore.create(path, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if mode & os.W_OK and Path(p).absolute() in (
        path, path.parent) else real_access(p, mode, *a, **k))  # as root, a mode-555 folder would not do
    assert window.open_path(path) and window.document.store.read_only
    before = window.document.settings
    window.set_georeferencing(replace(before, time_offset_s=0.5))
    assert len(errors) == 1 and "read-only" in str(errors[0])
    assert window.document.undo_stack.count() == 0 and window.document.settings == before == _stored(path)


def test_the_undo_step_is_named_for_the_settings_changed():
    before = ProjectSettings()
    assert settings_change_text(before, replace(before, time_offset_s=2.0)) == "Change clock offset"
    # a value and how sure it is are one setting
    assert settings_change_text(before, replace(before, ground_elevation_m=12.0, ground_elevation_sigma_m=3.0)) \
        == "Change ground elevation"
    assert settings_change_text(before, replace(before, hfov_deg=70.0, camera_pitch_deg=-45.0, flight_height_m=80.0)) \
        == "Change field of view, camera pitch and flight height"
    assert settings_change_text(before, replace(before, hfov_deg=70.0, camera_pitch_deg=-45.0, flight_height_m=80.0,
                                                min_score=0.3)) == "Change georeferencing (4 settings)"


def _turn_the_event_loop() -> None:
    """Run what was queued for the event loop's next turn (a step's status-bar message)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(0, loop.quit)
    loop.exec()


def test_an_undo_the_project_cannot_store_is_said_and_the_history_stays_with_the_project(
        qtbot, window, truth_run_project, monkeypatch, errors):
    """A full disk (or the project locked by another damagemap) at Edit > Undo: the undo
    raised out of Qt's undo(), reaching no one, and the history said it was undone
    (Redo offered) while the project kept the change."""
    import sqlite3

    path = truth_run_project
    assert window.open_path(path)
    doc, stack = window.document, window.document.undo_stack
    applied = replace(doc.settings, time_offset_s=0.5)
    window.set_georeferencing(applied)
    assert stack.count() == 1 and stack.index() == 1

    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(ProjectStore, "set_project_settings", disk_full)
        with qtbot.waitSignal(stack.indexChanged, timeout=5_000, check_params_cb=lambda index: index == 1):
            window.undo_action.trigger()  # Edit > Undo
    assert stack.index() == 1 and stack.canUndo() and not stack.canRedo()
    assert doc.settings == applied == _stored(path)
    assert errors == ["Undo of 'Change clock offset' not done: the project could not store it "
                      "(OperationalError: database or disk is full); the project is as it was"]
    _turn_the_event_loop()
    assert not window.statusBar().currentMessage().startswith("Undone")  # the status bar does not say it was

    with qtbot.waitSignal(window.panel(MapPanel).map_updated, timeout=30_000):
        window.undo_action.trigger()  # the disk has room again: the undo is done
    assert stack.index() == 0 and doc.settings.time_offset_s == _stored(path).time_offset_s == 0.0
    _turn_the_event_loop()
    assert window.statusBar().currentMessage().startswith("Undone: Change clock offset — ")

    with monkeypatch.context() as patched:  # a redo refused is taken back the same way
        patched.setattr(ProjectStore, "set_project_settings", disk_full)
        with qtbot.waitSignal(stack.indexChanged, timeout=5_000, check_params_cb=lambda index: index == 0):
            window.redo_action.trigger()
    assert stack.index() == 0 and stack.canRedo() and _stored(path).time_offset_s == 0.0
    assert errors[-1].startswith("Redo of 'Change clock offset' not done: ")


def test_an_undo_over_a_change_made_outside_the_window_is_refused_and_that_change_kept(
        qtbot, window, truth_run_project, errors):
    """The project open in a second window (or changed by `export --offset 2 --save`): the
    first window's Edit > Undo of its offset change put its old offset back over the other
    one's, unsaid. It is refused, naming the setting, and the other change is kept; once
    the setting holds what the step left again, the undo is done."""
    path = truth_run_project
    assert window.open_path(path)
    doc, stack = window.document, window.document.undo_stack
    window.set_georeferencing(replace(doc.settings, time_offset_s=0.5))
    assert stack.count() == 1 and stack.index() == 1

    with ProjectStore.open(path) as other:  # the other window's change
        other.set_project_settings(replace(other.project_settings(), time_offset_s=2.0))
    with qtbot.waitSignal(stack.indexChanged, timeout=5_000, check_params_cb=lambda index: index == 1):
        window.undo_action.trigger()  # Edit > Undo
    assert stack.index() == 1 and stack.canUndo() and not stack.canRedo()
    assert _stored(path).time_offset_s == doc.settings.time_offset_s == 2.0
    assert errors == ["Undo of 'Change clock offset' not done: the clock offset was changed since (another window "
                      "or the command line), and it would overwrite that; the project is as it was"]

    with ProjectStore.open(path) as other:  # the other window puts it back
        other.set_project_settings(replace(other.project_settings(), time_offset_s=0.5))
    window.undo_action.trigger()
    assert stack.index() == 0 and _stored(path).time_offset_s == 0.0


def test_a_review_undo_the_project_cannot_store_is_said_and_the_history_stays_with_the_project(
        qtbot, window, truth_run_project, monkeypatch, errors):
    """The same for a review edit: an undo refused by a full disk raised out of Qt's
    undo() unseen, and Undo/Redo no longer matched the review the project held."""
    import contextlib
    import sqlite3

    from core.review import SetReview
    from core.types import ReviewState

    path = truth_run_project
    assert window.open_path(path)
    doc, stack = window.document, window.document.undo_stack
    detection_id = doc.session.store.detections(doc.session.run_id)[0].id
    doc.apply_edit(SetReview(detection_id, ReviewState.ACCEPTED), "Accept detection")
    assert stack.index() == 1

    def review_of_first() -> str:
        with ProjectStore.open(path, read_only=True) as store:
            return next(d for d in store.detections(doc.session.run_id) if d.id == detection_id).review.value

    @contextlib.contextmanager
    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")
        yield

    with monkeypatch.context() as patched:
        patched.setattr(ProjectStore, "one_write", disk_full)
        with qtbot.waitSignal(stack.indexChanged, timeout=5_000, check_params_cb=lambda index: index == 1):
            window.undo_action.trigger()  # Edit > Undo
    assert stack.index() == 1 and stack.canUndo() and not stack.canRedo()
    assert review_of_first() == "accepted" and doc.session.undo_steps == 1
    assert errors == ["Undo of 'Accept detection' not done: the project could not store it "
                      "(OperationalError: database or disk is full); the project is as it was"]

    window.undo_action.trigger()  # the disk has room again: the undo is done
    assert stack.index() == 0 and review_of_first() == "pending"


def _reopened(window, path: Path) -> None:
    """File > Close Project, then open it again."""
    window.close_project()
    assert window.open_path(path)


def test_a_review_redo_a_georeferencing_change_dropped_is_not_offered_after_reopening(
        qtbot, window, truth_run_project, errors):
    """A review step undone, then the georeferencing changed: Edit > Redo offers nothing
    (Qt dropped the step), and the reopened project offered the review step again."""
    from core.review import SetReview
    from core.types import ReviewState

    path = truth_run_project
    assert window.open_path(path)
    doc, stack = window.document, window.document.undo_stack
    first, second = (d.id for d in doc.session.store.detections(doc.session.run_id)[:2])
    doc.apply_edit(SetReview(first, ReviewState.ACCEPTED), f"Accept detection #{first}")
    doc.apply_edit(SetReview(second, ReviewState.REJECTED), f"Reject detection #{second}")
    window.undo_action.trigger()  # Edit > Undo
    assert stack.redoText() == f"Reject detection #{second}"

    window.set_georeferencing(replace(doc.settings, time_offset_s=0.5))
    assert not stack.canRedo() and stack.undoText() == "Change clock offset"
    with ProjectStore.open(path) as elsewhere:  # another program writes, no review: the drop is the window's own
        elsewhere.set_project_settings(replace(elsewhere.project_settings(), flight_height_m=81.0))
    assert not doc.check_outside_changes() and stack.undoText() == "Change clock offset"
    _reopened(window, path)
    doc, stack = window.document, window.document.undo_stack
    assert not window.redo_action.isEnabled() and not stack.canRedo()
    assert stack.undoText() == f"Accept detection #{first}"  # the settings step is not kept, the review's are
    assert doc.settings.time_offset_s == 0.5

    # a change undone before the drop is offered again after it, as it was before closing
    window.undo_action.trigger()
    assert stack.redoText() == f"Accept detection #{first}"
    _reopened(window, window.document.project_path)
    assert window.document.undo_stack.redoText() == f"Accept detection #{first}"
    assert errors == []


def test_a_review_redo_a_refused_edit_dropped_is_not_offered_after_reopening(qtbot, window, truth_run_project,
                                                                             errors):
    """An edit the project refuses (a deleted detection's) is dropped by Qt, and the steps
    Redo offered with it: the reopened project offered them again."""
    import pytest

    from core.errors import StoreError
    from core.review import DeleteDetection, SetReview
    from core.types import ReviewState

    path = truth_run_project
    assert window.open_path(path)
    doc, stack = window.document, window.document.undo_stack
    first, second = (d.id for d in doc.session.store.detections(doc.session.run_id)[:2])
    doc.apply_edit(DeleteDetection(first), f"Delete detection #{first}")
    doc.apply_edit(SetReview(second, ReviewState.ACCEPTED), f"Accept detection #{second}")
    window.undo_action.trigger()
    assert stack.redoText() == f"Accept detection #{second}"
    with pytest.raises(StoreError, match="was deleted"):
        doc.apply_edit(SetReview(first, ReviewState.ACCEPTED), f"Accept detection #{first}")
    assert not stack.canRedo() and stack.undoText() == f"Delete detection #{first}"

    _reopened(window, path)
    stack = window.document.undo_stack
    assert not stack.canRedo() and stack.undoText() == f"Delete detection #{first}"
    assert errors == []
