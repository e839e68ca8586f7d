"""Reviewing with the keyboard on a project with hand-made detections (no model)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.panels.review_panel import ReviewPanel
from app.widgets.detections_table import DETECTION_ID_ROLE
from core.masks import RleMask
from core.store import ProjectStore
from core.types import DamageLevel, Detection, Frame, ReviewState
from engine.video import VideoReader

W, H = 160, 96


def _det(frame, x, level=DamageLevel.SEVERE, score=0.9):
    mask = np.zeros((H, W), bool)
    mask[30:60, x : x + 30] = True
    return Detection(frame, level, score, (float(x), 30.0, float(x + 30), 60.0), RleMask.from_array(mask))


@pytest.fixture
def project(flyover):
    video = flyover / "flight.mp4"
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": None}, settings={})
        for index in (0, 2, 4):
            store.write_frame(run, Frame(index, reader.pts_s[index], W, H), [_det(index, 10), _det(index, 90)])
        store.finish_run(run)
    return path


def test_review_with_keys_and_undo(qtbot, window, project, errors):
    assert window.open_path(project)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    view = window.frame_view
    view.setFocus()
    doc = window.document
    assert window.panel(ReviewPanel).view.pending_label.text() == "6 left to review of 6"

    qtbot.keyClick(view, Qt.Key.Key_N)  # first pending: frame 0, left box
    first = window.selected_id
    assert doc.detection(first).frame_index == 0
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert doc.detection(first).review is ReviewState.ACCEPTED
    qtbot.keyClick(view, Qt.Key.Key_N)
    second = window.selected_id
    assert second != first and doc.detection(second).frame_index == 0
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert doc.detection(second).level is DamageLevel.SLIGHT
    qtbot.keyClick(view, Qt.Key.Key_N)
    third = window.selected_id
    assert doc.detection(third).frame_index == 2 and window.current_frame == 2
    qtbot.keyClick(view, Qt.Key.Key_X)
    assert doc.detection(third).review is ReviewState.REJECTED
    assert window.panel(ReviewPanel).view.pending_label.text() == "3 left to review of 6"

    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.detection(third).review is ReviewState.PENDING
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.detection(third).review is ReviewState.REJECTED

    window.select_detection(third)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert window.selected_id != third and doc.store.is_deleted(third)  # the highlighted neighbour, if any
    assert window.panel(ReviewPanel).view.pending_label.text() == "3 left to review of 5"
    assert errors == []


def test_the_count_and_n_keep_to_the_detections_shown_at_the_score(qtbot, window, flyover, errors):
    """The table lists the detections at the score threshold; "left to review" counted
    the hidden ones too (853 of 854 beside a table of a few dozen rows), and N went to
    them, selecting a detection the table and the frame did not show."""
    video = flyover / "flight.mp4"
    path = flyover / "scores.dmproj"
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": None}, settings={})
        for index in (0, 2, 4):  # frame 2's detection scores under the 0.5 the window opens at
            score = 0.3 if index == 2 else 0.9
            store.write_frame(run, Frame(index, reader.pts_s[index], W, H), [_det(index, 10, score=score)])
        store.finish_run(run)
    assert window.open_path(path)
    doc, label = window.document, window.panel(ReviewPanel).view.pending_label
    assert doc.score_threshold == pytest.approx(0.5)
    assert label.text() == "2 left to review of 2 (1 more under the score)"
    view = window.frame_view
    view.setFocus()
    for expected_frame in (0, 4):
        qtbot.keyClick(view, Qt.Key.Key_N)
        assert doc.detection(window.selected_id).frame_index == expected_frame
        qtbot.keyClick(view, Qt.Key.Key_A)
    assert label.text() == "all 2 reviewed (1 more under the score)"
    notices = []
    doc.notice.connect(notices.append)
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert notices and "1 more under it" in notices[-1], notices
    doc.set_score_threshold(0.2)
    qtbot.waitUntil(lambda: label.text() == "1 left to review of 3", timeout=5_000)
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert doc.detection(window.selected_id).frame_index == 2
    assert errors == []


def test_clicking_a_mask_selects_it_and_rejected_ones_hide(qtbot, window, project, errors):
    assert window.open_path(project)
    view = window.frame_view
    qtbot.waitExposed(view)
    left = next(d for d in window.document.detections(0) if d.box_xyxy_px[0] == 10.0)
    from PySide6.QtCore import QPointF

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(25, 45)))
    assert window.selected_id == left.id
    before = view.render_to_image().pixelColor(25, 45)
    window.set_review(ReviewState.REJECTED)
    window.select_detection(None)
    after = view.render_to_image().pixelColor(25, 45)
    assert before != after  # the rejected mask is no longer painted
    window.layer_checks["show_rejected"].setChecked(True)
    assert view.render_to_image().pixelColor(25, 45) != after
    assert errors == []


# ----------------------------------------------------------------- the review loop


def test_redo_keys_are_registered_once_each_whatever_the_platform(window):
    from PySide6.QtGui import QKeySequence

    from app.window_actions import redo_shortcuts

    # on X11 the platform's redo already is Ctrl+Shift+Z: twice would make it ambiguous (dead)
    keys = redo_shortcuts([QKeySequence("Ctrl+Shift+Z")])
    assert [k.toString() for k in keys] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    shown = [k.toString() for k in window.redo_action.shortcuts()]
    assert len(shown) == len(set(shown)) and {"Ctrl+Shift+Z", "Ctrl+Y"} <= set(shown)


def test_undo_history_survives_closing_and_reopening(qtbot, window, project, errors):
    from services.project import review_history_steps

    assert window.open_path(project)
    view = window.frame_view
    view.setFocus()
    doc = window.document
    qtbot.keyClick(view, Qt.Key.Key_N)
    first = window.selected_id
    qtbot.keyClick(view, Qt.Key.Key_A)
    qtbot.keyClick(view, Qt.Key.Key_N)
    second = window.selected_id
    qtbot.keyClick(view, Qt.Key.Key_3)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the relabel waits for a redo
    texts = (doc.undo_stack.undoText(), doc.undo_stack.redoText())
    # "detection #", not "#" alone: the Sites list and the Review Table name sites "#12"
    assert texts == (f"Accept detection #{first}", f"Relabel detection #{second} as Debris")
    window.close_project()
    assert not window.undo_action.isEnabled()

    assert window.open_path(project)
    assert doc.undo_stack.index() == 1 and doc.undo_stack.count() == 2
    assert (doc.undo_stack.undoText(), doc.undo_stack.redoText()) == texts  # not "earlier edit" / "undone edit"
    assert window.undo_action.isEnabled() and window.redo_action.isEnabled()
    assert review_history_steps(doc.store, doc.run_id) == (1, 1)
    from app.commands.info import describe_project

    [run] = describe_project(doc.store)["runs"]
    assert (run["undo_steps"], run["redo_steps"]) == (1, 1)  # `info` says what Undo offers
    window.redo_action.trigger()
    assert doc.detection(second).level is DamageLevel.DEBRIS
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert doc.detection(first).review is ReviewState.PENDING
    assert not window.undo_action.isEnabled()
    assert errors == []


def test_with_a_filter_on_the_keys_act_on_the_row_shown(qtbot, window, project, errors):
    assert window.open_path(project)
    doc = window.document
    table = window.panel(ReviewPanel).view
    table.state_filter.setCurrentIndex(table.state_filter.findData(ReviewState.PENDING))
    window.frame_view.setFocus()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_N)
    first = window.selected_id
    qtbot.keyClick(window.frame_view, Qt.Key.Key_A)  # the row leaves the "Pending" list
    assert doc.detection(first).review is ReviewState.ACCEPTED
    from app.widgets.detections_table import DETECTION_ID_ROLE

    highlighted = table.table.currentIndex().data(DETECTION_ID_ROLE)
    assert highlighted is not None and highlighted != first
    assert window.selected_id == highlighted  # what the table shows is what the next key changes
    qtbot.keyClick(window.frame_view, Qt.Key.Key_X)
    assert doc.detection(highlighted).review is ReviewState.REJECTED
    assert doc.detection(first).review is ReviewState.ACCEPTED
    assert errors == []


def test_tabbing_into_the_table_does_not_seek(qtbot, window, project, errors):
    assert window.open_path(project)
    table = window.panel(ReviewPanel).view
    table.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # the first row is on the last frame
    window.show_frame(1)
    assert window.selected_id is None
    table.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(table.table.hasFocus, timeout=5_000)
    assert window.current_frame == 1 and window.selected_id is None
    assert errors == []


def test_frame_numbers_a_user_reads_are_one_based(qtbot, window, project):
    assert window.open_path(project)
    table = window.panel(ReviewPanel).view
    frames = {table.proxy.index(row, 1).data() for row in range(table.proxy.rowCount())}
    assert frames == {"1", "3", "5"}  # stored frames 0, 2 and 4, as the transport counts them
    window.show_frame(2)
    assert window.transport.frame_label.text().startswith("frame 3 ")


def test_an_edit_shows_at_once_in_the_frame_table_and_timeline(qtbot, window, project):
    assert window.open_path(project)
    window.frame_view.setFocus()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_N)
    chosen = window.selected_id
    qtbot.keyClick(window.frame_view, Qt.Key.Key_1)  # no waiting: the views are updated in the key's handler
    shown = next(d for d in window.frame_view.detections if d.id == chosen)
    assert shown.level is DamageLevel.SLIGHT
    table = window.panel(ReviewPanel).view
    row = table.proxy.mapFromSource(table.model.index(table.model.row_of(chosen), 3))
    assert row.data() == "Slight"
    assert window.timeline.summary(0).per_level.get(DamageLevel.SLIGHT) == 1


def test_one_threshold_filters_the_frame_table_and_timeline(qtbot, window, project, tmp_path):
    from core.store import ProjectStore

    with ProjectStore.open(project) as store:
        run = store.latest_run_id()
        low = store.detections(run, frame_index=0)[0]
        store.update_refined_scores(run, {low.id: 0.4})
    assert window.open_path(project)
    doc = window.document
    table = window.panel(ReviewPanel).view
    assert doc.score_threshold == 0.5 and window.threshold_spin.value() == 0.5  # the project's minimum score
    from engine.analysis.plan import DEFAULT_SCORE_THRESHOLD

    tip = window.threshold_slider.toolTip()
    assert f"scoring {DEFAULT_SCORE_THRESHOLD:g} or more" in tip and "export" in tip  # what the analysis keeps
    assert table.proxy.rowCount() == 5 and window.timeline.summary(0).pending == 2
    assert sum(window.timeline.summary(0).per_level.values()) == 1
    window.threshold_slider.setValue(30)  # the toolbar: every view follows at once
    assert doc.score_threshold == 0.3 and table.score_filter.value() == 0.3
    assert table.proxy.rowCount() == 6 and window.frame_view.style.score_threshold == 0.3
    assert sum(window.timeline.summary(0).per_level.values()) == 2
    table.score_filter.setValue(0.45)  # the table's box is the same value
    assert window.threshold_spin.value() == 0.45 and table.proxy.rowCount() == 5
    doc.save_score_threshold()
    assert doc.store.project_settings().min_score == 0.45  # the map and the exports keep what is shown
    for box, typed in ((window.threshold_spin, "0.80"), (table.score_filter, "0.35")):  # typed, then Enter
        box.setFocus()
        box.selectAll()
        qtbot.keyClicks(box, typed)
        assert doc.score_threshold == 0.45  # not at each key: "0" was taken as 0 and the box rewritten
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert doc.score_threshold == float(typed) == window.threshold_spin.value() == table.score_filter.value()
        doc.set_score_threshold(0.45)


def test_the_threshold_goes_no_lower_than_the_run_kept(qtbot, window, flyover):
    """A run analysed with --score-threshold 0.25 stored nothing scoring less: every
    threshold control stops there, typed or dragged, instead of showing the same below."""
    from app.panels.site_review_panel import SiteReviewPanel

    video = flyover / "flight.mp4"
    path = flyover / "kept.dmproj"
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": None}, settings={"score_threshold": 0.25})
        store.write_frame(run, Frame(0, reader.pts_s[0], W, H), [_det(0, 10, score=0.3)])
        store.finish_run(run)
    assert window.open_path(path)
    doc = window.document
    assert doc.score_floor == 0.25
    assert window.threshold_slider.minimum() == 25 and window.threshold_spin.low == 0.25
    assert window.panel(ReviewPanel).view.score_filter.low == 0.25
    assert window.panel(SiteReviewPanel).threshold.minimum() == 25
    doc.set_score_threshold(0.05)
    assert doc.score_threshold == 0.25
    box = window.threshold_spin
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "0.10")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert doc.score_threshold == 0.25  # the threshold stays; the box keeps what was typed and says why
    assert box.lineEdit().text() == "0.10" and "From 0.25 to 1.00" in box.problem()


def test_the_draw_hint_goes_with_draw_mode(qtbot, window, project):
    import numpy as np

    assert window.open_path(project)
    window.toggle_draw_mode(True)
    assert window.statusBar().currentMessage().startswith("Draw:")
    window.frame_view.polygon_drawn.emit(np.array([[10.0, 10.0], [60.0, 10.0], [60.0, 50.0]]))
    assert window.statusBar().currentMessage() == "" and not window.draw_action.isChecked()
    window.toggle_draw_mode(True)
    window.toggle_draw_mode(False)
    assert window.statusBar().currentMessage() == ""


def test_frames_never_analysed_say_so_and_shift_arrows_step_between_analysed_ones(qtbot, window, project):
    assert window.open_path(project)  # frames 0, 2 and 4 were analysed
    window.frame_view.setFocus()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.current_frame == 1, timeout=5_000)  # seeks are coalesced
    assert window.transport.frame_label.text().endswith("· not analysed")
    qtbot.keyClick(window.frame_view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.current_frame == 2 and "not analysed" not in window.transport.frame_label.text()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.current_frame == 4
    qtbot.keyClick(window.frame_view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.current_frame == 4  # none after: stays, and says so
    qtbot.keyClick(window.frame_view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert window.current_frame == 2
    window.close_project()
    assert window.transport.frame_label.text() == "no video"  # not "frame 1 / 0"


def test_the_map_says_it_is_being_built_not_that_no_project_is_open(qtbot, window, flyover):
    from app.panels.map_panel import MapPanel

    video = flyover / "flight.mp4"
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=video, telemetry_path=flyover / "flight.gpx"):
        pass
    map_panel = window.panel(MapPanel)
    assert window.open_path(path)
    assert map_panel.busy and map_panel.map_widget.message == "Building the map…"  # from the moment it opens
    window.close_project()
    assert map_panel.map_widget.message == "No project open"
    assert window.open_path(path)  # and again on reopening
    assert map_panel.map_widget.message == "Building the map…"
    qtbot.waitUntil(lambda: not map_panel.busy, timeout=30_000)
    assert map_panel.map_widget.content is not None  # the flight track


def test_after_delete_the_highlighted_row_is_the_one_the_keys_act_on(qtbot, window, project, errors):
    from app.widgets.detections_table import DETECTION_ID_ROLE

    assert window.open_path(project)
    doc = window.document
    table = window.panel(ReviewPanel).view
    window.frame_view.setFocus()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_N)
    first = window.selected_id
    qtbot.keyClick(window.frame_view, Qt.Key.Key_Delete)
    assert doc.store.is_deleted(first)
    highlighted = table.table.currentIndex().data(DETECTION_ID_ROLE)
    assert highlighted is not None and window.selected_id == highlighted
    assert window.accept_action.isEnabled()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_A)
    assert doc.detection(highlighted).review is ReviewState.ACCEPTED
    assert errors == []


def test_edits_are_recorded_under_the_reviewer_name_of_the_settings(qtbot, app_settings, project, errors):
    from app.main_window import MainWindow
    from core.store import current_user

    app_settings.set_reviewer_name("  Ana Reviewer ")
    window = MainWindow(settings=app_settings)
    qtbot.addWidget(window)
    assert window.open_path(project)
    doc = window.document
    first = doc.detections(0)[0].id
    window.select_detection(first)
    window.set_review(ReviewState.ACCEPTED)
    window.set_reviewer_name("")  # back to the login name, at once
    window.relabel(DamageLevel.DEBRIS)
    history = doc.store.edit_history(doc.run_id)
    assert [h.author for h in history] == ["Ana Reviewer", current_user()]
    assert history[0].created_utc.endswith("Z")
    doc.close()
    assert errors == []


def test_a_reviewer_name_pasted_with_line_breaks_and_escapes_is_recorded_as_one_line(qtbot, app_settings, project,
                                                                                      errors):
    """Edit > Reviewer Name… takes what is pasted into it: a name with a line break, a
    terminal escape and a right-to-left override was recorded as it was with every
    decision, and from there written into the KML descriptions ("reviewed by ..." across
    two lines, the rest of the line reversed) and the sites' reviewed_by."""
    from app.main_window import MainWindow

    window = MainWindow(settings=app_settings)
    qtbot.addWidget(window)
    assert window.open_path(project)
    window.set_reviewer_name("Ana\nReviewer\x1b[31m \u202eIFRC")
    assert window.statusBar().currentMessage() == "Edits are recorded as Ana Reviewer [31m IFRC"
    doc = window.document
    window.select_detection(doc.detections(0)[0].id)
    window.set_review(ReviewState.ACCEPTED)
    (edit,) = doc.store.edit_history(doc.run_id)
    assert edit.author == "Ana Reviewer [31m IFRC"
    doc.close()
    assert errors == []


def test_a_frame_that_is_no_look_at_the_ground_is_named_under_the_video(qtbot, window, flyover):
    """Frames measured black (the lens covered) or smeared do not count as a look
    (core.frame_quality): the timeline draws them amber and the transport names them."""
    from core.frame_quality import FrameQuality

    video = flyover / "flight.mp4"
    path = flyover / "measured.dmproj"
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": None}, settings={})
        for index in range(10):
            quality = FrameQuality(2.0, 1.0, 0.1) if index == 3 else FrameQuality(120.0, 40.0, 500.0 + index)
            store.write_frame(run, Frame(index, reader.pts_s[index], W, H, quality=quality), [])
        store.finish_run(run)
    assert window.open_path(path)
    assert window.timeline.unusable_reason(3) == "black" and window.timeline.unusable_reason(4) is None
    window.show_frame(3)
    assert window.transport.frame_label.text().endswith("· black frame")
    window.show_frame(4)
    assert "frame 5 /" in window.transport.frame_label.text() and "black" not in window.transport.frame_label.text()


def test_close_and_quit_keys_are_the_ones_help_lists_on_every_platform(window):
    """Help > Keyboard Shortcuts promises Ctrl+W and Ctrl+Q; the platform's standard keys
    alone give Ctrl+F4 and no Quit key at all on Windows and the generic desktop."""
    from PySide6.QtGui import QKeySequence

    from app.dialogs.help_dialogs import SHORTCUTS
    from app.window_actions import keys_with

    promised = dict(SHORTCUTS)
    assert promised["Ctrl+W"] == "close the project" and promised["Ctrl+Q"] == "quit"
    assert window.close_action.shortcut() == QKeySequence("Ctrl+W")  # the menu shows the key Help lists
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    for action in (window.close_action, window.quit_action):
        shown = [k.toString() for k in action.shortcuts()]
        assert len(shown) == len(set(shown))
    assert [k.toString() for k in keys_with([QKeySequence("Ctrl+Q")], "Ctrl+Q")] == ["Ctrl+Q"]


@pytest.mark.parametrize("which", ["toolbar", "review table"])
def test_a_score_typed_out_of_range_stays_as_typed_marked_and_said(qtbot, window, project, which):
    """1.5 typed was left as 1.0 without a word: it stays as typed, marked, the status bar
    says the limits, and the threshold keeps its value until a score within them is typed."""
    assert window.open_path(project)
    doc = window.document
    box = window.threshold_spin if which == "toolbar" else window.panel(ReviewPanel).view.score_filter
    before = doc.score_threshold
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "1.5")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert doc.score_threshold == before
    assert box.lineEdit().text().endswith("1.50") and box.lineEdit().styleSheet()  # kept, marked
    said = window.statusBar().currentMessage()
    assert said.startswith("Score threshold: 1.50 is out of range. From 0.00 to 1.00") or \
        said.startswith(f"Score threshold: 1.50 is out of range. From {doc.score_floor:.2f} to 1.00"), said
    assert "out of range" in box.toolTip() and "out of range" in box.accessibleDescription()
    box.selectAll()
    qtbot.keyClicks(box, "0.7")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert doc.score_threshold == 0.7 and not box.lineEdit().styleSheet() and not box.accessibleDescription()
    box.selectAll()
    qtbot.keyClicks(box, "2")  # marked, then the slider moves: the box shows the window's threshold again
    qtbot.keyClick(box, Qt.Key.Key_Return)
    window.threshold_slider.setValue(60)
    assert box.value() == 0.6 and not box.lineEdit().styleSheet()


def test_home_and_end_in_the_review_table_go_to_its_first_and_last_rows(qtbot, window, project, errors):
    """Home and End in the Review Table went to the video's first and last frames (the
    window's keys), the table's highlight staying where it was: as in the Sites list, they
    go to the table's first and last rows, and the player follows the row."""
    assert window.open_path(project)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    table = window.panel(ReviewPanel).view
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # View > Go to Review Table
    qtbot.waitUntil(lambda: table.table.hasFocus(), timeout=5_000)
    rows = table.proxy.rowCount()
    last = table.proxy.index(rows - 1, 0).data(DETECTION_ID_ROLE)
    first = table.proxy.index(0, 0).data(DETECTION_ID_ROLE)
    qtbot.keyClick(table.table, Qt.Key.Key_End)
    assert window.selected_id == last and table.table.currentIndex().row() == rows - 1
    assert window.current_frame == window.document.detection(last).frame_index
    qtbot.keyClick(table.table, Qt.Key.Key_Home)
    assert window.selected_id == first and table.table.currentIndex().row() == 0
    assert window.current_frame == window.document.detection(first).frame_index
    qtbot.keyClick(table.table, Qt.Key.Key_Right)  # the window's: the next frame, the row kept
    assert window.selected_id == first and table.table.currentIndex().row() == 0
    assert errors == []
