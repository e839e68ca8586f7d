"""The site review panel: sites in queue order with their reason, a crop grid, and one
key per site-wide action (accept, reject, relabel, next, previous, split, merge), each
one step on the document's undo stack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.document import ProjectDocument
from app.panels.review_panel import ReviewPanel
from app.panels.site_review_panel import (
    DETECTION_ROLE,
    LOOK_FRAMES_ROLE,
    SITE_ROLE,
    SiteReviewPanel,
    decision_notice,
)
from core.sites import counted
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from tests.truth_runs import write_run


@pytest.fixture(scope="module")
def flight(sites_truth):
    """2 s at 10 fps, 320x180: three damaged places (tests/conftest.py)."""
    return sites_truth


def _ground_truth_project(path: Path, flight, dropped: frozenset = frozenset()) -> Path:
    """The flight's ground truth as one analysis run (scores 1.0), telemetry attached;
    ``dropped``: (frame index, box) of detections left out."""
    detections, times = flight.detections, flight.times
    with ProjectStore.create(path, video_path=flight.video, telemetry_path=flight.srt) as store:
        write_run(store, [d for d in detections if (d.frame_index, d.box_xyxy_px) not in dropped], times)
    return path


@pytest.fixture
def project(flight, tmp_path) -> Path:
    """The flight's ground truth as one analysis run (scores 1.0), telemetry attached."""
    return _ground_truth_project(tmp_path / "flight.dmproj", flight)


@pytest.fixture
def panel(qtbot, project, errors):
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(520, 700)
    panel.show()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.open_path(project)
    yield panel
    doc.close()
    assert errors == []


def _states(doc, site):
    return {doc.store.detection(i).review for i in site.detection_ids}


def _press(qtbot, panel, widget, key, *, wait=True, modifier=Qt.KeyboardModifier.NoModifier):
    if wait:
        with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
            qtbot.keyClick(widget, key, modifier)
    else:
        qtbot.keyClick(widget, key, modifier)


def _select_the_first_two(qtbot, panel):
    """The list's first site, and Shift+Down: two sites selected, as a reviewer would."""
    panel.site_list.setFocus()
    panel.site_list.setCurrentRow(0)
    qtbot.keyClick(panel.site_list, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    chosen = panel.selected_sites()
    assert len(chosen) == 2
    return chosen


def test_sites_are_listed_in_queue_order_with_reason_and_crops(qtbot, panel):
    doc = panel.document
    review = panel.review
    assert panel.site_list.count() == len(review.queue) == 3
    first = panel.site_list.item(0).text()
    assert first.startswith(f"#{review.queue[0].site.site_id} ") and first.endswith("seen in one frame")
    queued = review.queue[0].site
    count = len(queued.sightings)
    assert f" · {count} sighting{'' if count == 1 else 's'}" in first and "0:0" in first
    if queued.first_time_s == queued.last_time_s:  # seen at one moment: one time, not a range of it
        assert "–" not in first.splitlines()[0]
    # the score the threshold compares, not the share of sightings that voted for the level
    assert f"best score {review.queue[0].site.best_score:.2f} · " in first and "conf " not in first
    assert panel.summary.text() == "3 sites · 3 to decide · 0 decided"
    assert panel.current_site() == review.queue[0].site  # the first site in need is selected
    site = max(review.sites, key=lambda s: len(s.sightings))
    with qtbot.waitSignal(doc.detection_requested) as requested:
        panel.select_site(site.site_id)  # the player seeks to the site's best frame
    assert requested.args == [site.best_frame, site.best_detection_id]
    assert panel.grid.count() == site.frame_count  # one crop per frame, drawn a crop per event-loop turn
    qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=10_000)
    placeholder = panel._placeholder.cacheKey()
    assert all(panel.grid.item(i).icon().cacheKey() != placeholder for i in range(panel.grid.count()))
    assert not panel.site_list.item(0).icon().isNull()
    # a detection selected elsewhere selects its site
    other = next(s for s in review.sites if s.site_id != site.site_id)
    doc.set_selection(other.detection_ids[0])
    assert panel.current_site().site_id == other.site_id


def _reject_the_largest_site(qtbot, panel):
    """X on the site with the most sightings; the site as it was."""
    panel.site_list.setFocus()
    site = max(panel.review.sites, key=lambda s: len(s.sightings))
    panel.select_site(site.site_id)
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_X)
    return site


def test_one_key_rejects_every_sighting_of_a_site_and_one_undo_takes_it_back(qtbot, panel):
    doc = panel.document
    site = _reject_the_largest_site(qtbot, panel)
    assert _states(doc, site) == {ReviewState.REJECTED}
    assert doc.undo_stack.count() == 1  # one step, not one per sighting
    # the rejected place left the map, and is listed last with the decided sites, struck through
    assert panel.review.rejected == {site.site_id} and len(panel.review.sites) == 2
    assert panel.threshold_label.text().endswith(": 2 sites")
    row = panel.site_list.item(panel._row_of(site.site_id))
    assert panel._row_of(site.site_id) == panel.site_list.count() - 1 == 2
    assert row.text().endswith("decided: rejected") and row.font().strikeOut() and not row.isHidden()
    panel.show_decided.setChecked(False)
    assert row.isHidden()
    panel.show_decided.setChecked(True)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.undo()
    assert _states(doc, site) == {ReviewState.PENDING} and panel.site_list.count() == 3
    assert panel.review.rejected == frozenset() and not any(
        panel.site_list.item(i).font().strikeOut() for i in range(3))


def test_a_rejected_site_listed_is_taken_back_with_one_key_and_keeps_its_number(qtbot, panel):
    doc = panel.document
    site = _reject_the_largest_site(qtbot, panel)
    panel.select_site(site.site_id)
    assert panel._is_rejected(panel.current_site())
    assert not panel.buttons["split"].isEnabled() and not panel.buttons["merge"].isEnabled()
    assert panel.buttons["accept"].isEnabled()
    with qtbot.waitSignal(doc.notice, timeout=5_000) as notice:
        qtbot.keyClick(panel.site_list, Qt.Key.Key_M)  # refused, said why
    assert "rejected" in notice.args[0] and doc.undo_stack.count() == 1
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    assert _states(doc, site) == {ReviewState.ACCEPTED}
    back = panel.review.site(site.site_id)
    assert back is not None and set(back.detection_ids) == set(site.detection_ids) and back.decided
    assert panel.review.rejected == frozenset() and len(panel.review.sites) == 3
    assert panel.threshold_label.text().endswith(": 3 sites")


def test_accept_and_relabel_keys_and_the_queue_moves_on(qtbot, panel):
    doc = panel.document
    panel.site_list.setFocus()
    first = panel.current_site()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    assert _states(doc, first) == {ReviewState.ACCEPTED}
    second = panel.current_site()
    assert second.site_id != first.site_id and not second.decided  # went on to the next site to decide
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_3)
    assert {doc.store.detection(i).level for i in second.detection_ids} == {DamageLevel.DEBRIS}
    assert _states(doc, second) == {ReviewState.ACCEPTED}
    assert panel.summary.text() == "3 sites · 1 to decide · 2 decided"
    assert doc.undo_stack.count() == 2
    # N / P walk the list
    panel.site_list.setCurrentRow(0)
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_N, wait=False)
    assert panel.site_list.currentRow() == 1
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_P, wait=False)
    assert panel.site_list.currentRow() == 0


def test_one_key_decides_every_selected_site_as_one_undoable_edit(qtbot, panel):
    doc = panel.document
    chosen = _select_the_first_two(qtbot, panel)
    assert panel.summary.text().endswith("· 2 selected: A, X, 1-3 decide them all")  # what the next key does
    left = next(s for s in panel.review.sites if s not in chosen)
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_2)
    for site in chosen:
        assert {doc.store.detection(i).level for i in site.detection_ids} == {DamageLevel.SEVERE}
        assert _states(doc, site) == {ReviewState.ACCEPTED}
    assert _states(doc, left) == {ReviewState.PENDING}
    assert doc.undo_stack.count() == 1
    sightings = sum(len(s.sightings) for s in chosen)
    assert doc.undo_stack.undoText() == f"Relabel 2 sites as Severe ({sightings} sightings)"
    assert panel.summary.text() == "3 sites · 1 to decide · 2 decided"
    assert panel.current_site().site_id == left.site_id  # on to the one left to decide
    assert panel.selected_sites() == [panel.current_site()]  # the next key decides that one alone
    panel.show_decided.setChecked(False)  # the decided rows hidden: Ctrl+A selects them too, but
    panel.site_list.selectAll()           # a key decides only what is shown
    assert [s.site_id for s in panel.selected_sites()] == [left.site_id]
    assert len(doc.store.site_decisions(doc.run_id)) == 2  # each kept for a later run
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.undo()
    for site in chosen:
        assert _states(doc, site) == {ReviewState.PENDING}
    assert doc.store.site_decisions(doc.run_id) == []
    # the sites given back are selected together again: the next key decides them all
    assert {s.site_id for s in panel.selected_sites()} == {s.site_id for s in chosen}
    assert panel.current_site().site_id in {s.site_id for s in chosen}


def test_a_list_read_before_a_decision_is_not_shown_over_it(qtbot, panel):
    """Sites read on the job thread while the reviewer decided one (a long flight's list
    takes seconds): shown, that list unmarked the decision and put the reviewer back on
    the site just decided, where the next key acted on it again."""
    from app.workers import build_map_job

    doc = panel.document
    panel.site_list.setFocus()
    first = panel.current_site()
    stale_edits = panel._edits_seen
    stale = build_map_job(doc.project_path, doc.run_id)  # read before the decision...
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    moved_on = panel.current_site()
    assert moved_on.site_id != first.site_id and panel.summary.text() == "3 sites · 2 to decide · 1 decided"
    panel._on_built(stale, doc.run_id, stale_edits)  # ...arriving after it
    assert panel.current_site().site_id == moved_on.site_id
    assert panel.summary.text() == "3 sites · 2 to decide · 1 decided"
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)  # the list read after the decision comes all the same
    assert panel.review.site(first.site_id).decided and panel.current_site().site_id == moved_on.site_id


def test_each_action_button_names_what_it_does_and_its_key(qtbot, panel):
    """"1", "2" and "3" alone said nothing to someone who had not read the docs."""
    for name, key in (("accept", "A"), ("reject", "X"), ("slight", "1"), ("severe", "2"), ("debris", "3"),
                      ("split", "S"), ("merge", "M")):
        text = panel.buttons[name].text()
        assert text.endswith(f"({key})") and name.lower() in text.lower()
    site = panel.current_site()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        qtbot.mouseClick(panel.buttons["severe"], Qt.MouseButton.LeftButton)
    assert {panel.document.store.detection(i).level for i in site.detection_ids} == {DamageLevel.SEVERE}
def test_undoing_a_decision_on_several_sites_selects_them_all_again_at_once(qtbot, panel):
    """Undo of one key on three sites put the reviewer back on one of them: the next key
    decided it alone, and the other two waited to be found and selected again."""
    doc = panel.document
    chosen = _select_the_first_two(qtbot, panel)
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_X)  # decided, and the list moves on
    assert {s.site_id for s in panel.selected_sites()}.isdisjoint({s.site_id for s in chosen})
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)  # the third, marked until the list is read again
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.undo()  # the third's acceptance
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.undo()  # the two rejections, one step
        assert {s.site_id for s in panel.selected_sites()} == {s.site_id for s in chosen}  # at once
    assert {s.site_id for s in panel.selected_sites()} == {s.site_id for s in chosen}  # and once read again
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_1)
    for site in chosen:
        assert {doc.store.detection(i).level for i in site.detection_ids} == {DamageLevel.SLIGHT}


def test_split_and_merge_keys_round_trip_with_undo(qtbot, panel):
    doc = panel.document
    site = max(panel.review.sites, key=lambda s: len(s.sightings))
    panel.select_site(site.site_id)
    panel.grid.setFocus()
    panel.grid.item(panel.grid.count() - 1).setSelected(True)
    panel.grid.item(panel.grid.count() - 2).setSelected(True)
    chosen = {int(t.data(Qt.ItemDataRole.UserRole + 1)) for t in panel.grid.selectedItems()}
    shown: list[object] = []
    doc.detection_requested.connect(lambda frame, detection: shown.append(detection))
    said: list[str] = []
    doc.notice.connect(said.append)
    _press(qtbot, panel, panel.grid, Qt.Key.Key_S)
    assert panel.site_list.count() == 4
    assert said[0] == f"Split 2 sightings off site #{site.site_id} into a site of their own — Ctrl+Z to undo"
    assert set(panel.current_site().detection_ids) == chosen  # the new site is selected
    assert shown and shown[-1] in chosen  # and the player shows it: the next key acts on the site in view
    # merge it back with its nearest site, the one it came from
    panel.site_list.setFocus()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_M)
    assert panel.site_list.count() == 3
    assert set(panel.current_site().detection_ids) == set(site.detection_ids)
    assert said[-1].startswith("Merged sites #") and said[-1].endswith(
        f" into one ({len(site.sightings)} sightings) — Ctrl+Z to undo")
    assert doc.undo_stack.count() == 2
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.undo()
    assert panel.site_list.count() == 4
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.undo()
    assert panel.site_list.count() == 3
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.redo()
    assert panel.site_list.count() == 4


def test_m_alone_merges_only_with_a_site_of_the_same_building(qtbot, panel):
    """One site selected, M merges it with its nearest site only within
    MERGE_NEAREST_MAX_M: the house next door is never merged without being chosen."""
    from app.panels.site_review_panel import MERGE_NEAREST_MAX_M
    from core.sites import distance_m

    doc = panel.document
    site = panel.review.sites[0]
    nearest = min((distance_m(site.lon_deg, site.lat_deg, s.lon_deg, s.lat_deg) for s in panel.review.sites
                   if s.site_id != site.site_id))
    assert nearest > MERGE_NEAREST_MAX_M  # the fixture's sites are separate buildings
    panel.select_site(site.site_id)
    panel.site_list.setFocus()
    with qtbot.waitSignal(doc.notice) as notice:
        qtbot.keyClick(panel.site_list, Qt.Key.Key_M)
    assert notice.args[0].startswith(f"Merge: no site within {MERGE_NEAREST_MAX_M:g} m of #{site.site_id}")
    assert doc.undo_stack.count() == 0


def test_a_split_needs_crops_chosen(qtbot, panel):
    doc = panel.document
    panel.grid.setFocus()
    panel.grid.clearSelection()
    with qtbot.waitSignal(doc.notice) as notice:
        qtbot.keyClick(panel.grid, Qt.Key.Key_S)
    assert notice.args[0].startswith("Split: select the crops")
    assert doc.undo_stack.count() == 0


def test_the_threshold_slider_counts_sites_once_they_are_fused_at_it(qtbot, panel):
    """Over the old threshold fewer sightings confirm a site, so the old map's sites kept
    there are not the count (19 shown at 0.70 where the map made 11): it says it is
    counting until the sites are fused at the new threshold."""
    assert panel.threshold_label.text().endswith(": 3 sites")
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        panel.threshold.setValue(100)
        assert panel.threshold_label.text() == "1.00: counting…"
    qtbot.waitUntil(lambda: panel.threshold_label.text() == "1.00: 3 sites", timeout=30_000)  # ground truth: 1.0


def test_in_the_window_the_panel_keys_act_on_the_site_not_the_detection(qtbot, window, project):
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    site = max(panel.review.sites, key=lambda s: len(s.sightings))
    panel.select_site(site.site_id)
    assert window.document.selected_id == site.best_detection_id  # the window followed
    panel.site_list.setFocus()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    assert _states(window.document, site) == {ReviewState.ACCEPTED}
    assert window.document.undo_stack.count() == 1


def test_hovering_a_site_or_a_crop_lights_it_up_on_the_map(qtbot, window, project):
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from app.panels.map_panel import MapPanel

    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000), qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy, timeout=30_000)
    map_widget = map_panel.map_widget
    selected = next(s for s in panel.review.sites if s.site_id != panel.current_site().site_id)
    panel.select_site(selected.site_id)  # the window selects its best detection
    hovered = next(s for s in panel.review.sites if s.site_id != selected.site_id)
    panel.site_list.itemEntered.emit(panel.site_list.item(panel._row_of(hovered.site_id)))
    assert map_widget.highlighted_site.best_detection_id == hovered.best_detection_id
    QApplication.sendEvent(panel.site_list.viewport(), QEvent(QEvent.Type.Leave))
    assert map_widget.highlighted_site.best_detection_id == selected.best_detection_id  # back to the selection
    tile = panel.grid.item(0)
    panel.grid.itemEntered.emit(tile)
    assert int(tile.data(Qt.ItemDataRole.UserRole + 1)) in selected.detection_ids
    assert map_widget.highlighted_site.best_detection_id == selected.best_detection_id


def test_a_site_on_the_map_is_worded_as_the_sites_list_words_it(qtbot, window, project):
    """The map's tooltip on a site starts with its Sites row: number, level, best score,
    sightings and times (not frame numbers), then its level agreement."""
    from app.panels.map_panel import MapPanel

    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000), qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy, timeout=30_000)
    rows = {site_id: row.text().split("\n")[0] for row, site_id, _decided in panel._rows}
    items = map_panel.map_widget.site_items
    assert items
    for item in items:
        line, agreement = item.toolTip().split("\n")[:2]
        assert line == rows[item.site.id]
        assert "best score" in line and "frames 1" not in line
        assert agreement == f"level agreement {item.site.confidence:.0%}"


def test_a_rebuild_keeps_the_site_and_never_moves_the_player(qtbot, panel):
    from core.review import SetReview

    doc = panel.document
    site = panel.current_site()
    other = next(s for s in panel.review.sites if s.site_id != site.site_id)
    requests = []
    doc.detection_requested.connect(lambda *args: requests.append(args))
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.apply_edit(SetReview(other.detection_ids[0], ReviewState.ACCEPTED), "accept one")  # e.g. in the table
    assert panel.current_site().site_id == site.site_id and requests == []


def test_a_detection_chosen_elsewhere_and_decided_there_keeps_the_selection_on_it(qtbot, panel):
    """A detection of another site chosen in the Review table (or the frame view) and
    accepted there: the rebuild that follows keeps the panel on that detection's site and
    never moves the selection, nor the player, back to the site the list showed before
    (the next key would act on a detection the reviewer never chose)."""
    from core.review import SetReview

    doc = panel.document
    shown = panel.current_site()
    other = next(s for s in panel.review.sites if s.site_id != shown.site_id)
    chosen = other.detection_ids[-1]
    doc.set_selection(chosen)  # as a click in the table does
    assert panel.current_site().site_id == other.site_id  # the panel followed
    requests = []
    doc.detection_requested.connect(lambda *args: requests.append(args))
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.apply_edit(SetReview(chosen, ReviewState.ACCEPTED), "accept one")
    assert doc.selected_id == chosen and requests == []
    assert panel.current_site().site_id == panel.review.site_of_detection(chosen).site_id


def test_in_the_window_a_key_after_an_accept_in_the_table_acts_on_the_row_the_table_shows(qtbot, window, project):
    """The Review table: a row of another site than the Sites list shows, A, then a level
    key: both act on the row chosen, and the selection never jumps to the site the Sites
    list showed when the map is read again; with the table showing pending rows only, X
    moves to the next row, and the selection stays there."""
    panel, table = window.panel(SiteReviewPanel), window.panel(ReviewPanel).view
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    shown = panel.current_site()
    other = next(s for s in panel.review.sites if s.site_id != shown.site_id)
    chosen = other.detection_ids[-1]
    table.table.setFocus()
    table.table.setCurrentIndex(table.proxy.mapFromSource(table.model.index(table.model.row_of(chosen), 0)))
    assert window.document.selected_id == chosen
    _press(qtbot, panel, table.table, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert window.document.selected_id == chosen and table.current_detection_id() == chosen
    qtbot.keyClick(table.table, Qt.Key.Key_3)
    assert window.document.detection(chosen).level is DamageLevel.DEBRIS
    assert all(window.document.detection(i).level is not DamageLevel.DEBRIS for i in shown.detection_ids)

    table.state_filter.setCurrentIndex(table.state_filter.findData(ReviewState.PENDING))
    first = table.current_detection_id()
    _press(qtbot, panel, table.table, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    following = table.current_detection_id()
    assert following not in (None, first) and window.document.selected_id == following


def test_the_georeferencing_dialog_starts_from_the_threshold_just_moved_and_stops_at_the_run_s_floor(
        qtbot, window, flight, tmp_path, monkeypatch):
    """] pressed, then Analysis > Georeferencing… at once and OK: the threshold just moved
    is the dialog's (its OK does not put the stored one back), and its box stops at the
    score the analysis kept detections from, as the other controls do."""
    from app.dialogs.geo_dialog import GeoSettingsDialog

    with ProjectStore.create(tmp_path / "kept.dmproj", video_path=flight.video, telemetry_path=flight.srt) as store:
        write_run(store, flight.detections, flight.times, settings={"score_threshold": 0.2})
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(tmp_path / "kept.dmproj")
    doc = window.document
    doc.set_score_threshold(doc.score_threshold + 0.1)  # as ] does: stored a moment later
    moved = doc.score_threshold
    shown = []
    monkeypatch.setattr(GeoSettingsDialog, "exec", lambda dialog: shown.append(dialog) or 1)  # OK, nothing changed
    window.geo_settings_dialog()
    (dialog,) = shown
    assert dialog.min_score_spin.value() == pytest.approx(moved) and dialog.min_score_spin.low == 0.2
    assert doc.score_threshold == pytest.approx(moved) and doc.settings.min_score == pytest.approx(moved)
    dialog.min_score_spin.setValue(0.1)
    assert not dialog.ok_button.isEnabled() and "0.20" in dialog.problems_label.text()  # refused, and why
    assert dialog.settings().min_score == 0.2  # no lower than the run keeps


def test_merge_joins_the_sites_selected_in_the_list(qtbot, panel):
    doc = panel.document
    chosen = _select_the_first_two(qtbot, panel)
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_M)
    assert panel.site_list.count() == 2 and doc.undo_stack.count() == 1
    merged = set(chosen[0].detection_ids) | set(chosen[1].detection_ids)
    assert set(panel.current_site().detection_ids) == merged


def test_show_decided_filter_hides_decided_sites_and_navigation_skips_them(qtbot, panel):
    panel.site_list.setFocus()
    first = panel.current_site()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    panel.show_decided.setChecked(False)
    row = panel._row_of(first.site_id)
    assert panel.site_list.item(row).isHidden()
    assert sum(not panel.site_list.item(i).isHidden() for i in range(panel.site_list.count())) == 2
    assert panel.current_site().site_id != first.site_id
    panel.site_list.setCurrentRow(row + 1 if row == 0 else 0)
    for _ in range(3):
        panel.step(-1)
        assert panel.current_site().site_id != first.site_id  # never lands on a hidden row
    panel.show_decided.setChecked(True)
    assert not panel.site_list.item(row).isHidden()


def test_the_window_threshold_hides_sites_in_the_list_and_on_the_map(qtbot, window, project):
    from app.panels.map_panel import MapPanel
    from services.sites import site_review

    with ProjectStore.open(project) as store:  # one site's sightings score 0.3; the map keeps >= 0.2
        low = site_review(store).sites[0]
        store.update_refined_scores(store.latest_run_id(), {i: 0.3 for i in low.detection_ids})
        store.set_project_settings(replace(store.project_settings(), min_score=0.2))
    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000), qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy and not panel.busy, timeout=30_000)
    assert window.document.score_threshold == 0.2
    assert panel.threshold_label.text() == "0.20: 3 sites" and len(map_panel.map_widget.visible_sites) == 3
    panel.select_site(panel.review.site_of_detection(low.detection_ids[0]).site_id)  # the reviewer is on it
    window.threshold_slider.setValue(60)  # the toolbar: the list, its count and the map follow at once
    assert panel.threshold.value() == 60 and panel.threshold_label.text() == "0.60: counting…"  # until fused at it
    site = panel.review.site_of_detection(low.detection_ids[0])
    assert panel.site_list.item(panel._row_of(site.site_id)).isHidden()
    assert panel.current_site().site_id != site.site_id  # hidden: the list moved on
    assert len(map_panel.map_widget.visible_sites) == 2
    assert site.site_id not in {s.id for s in map_panel.map_widget.visible_sites}
    in_view = panel.current_site()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):  # the threshold stored: the map fused again
        window.document.save_score_threshold()
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert panel.threshold_label.text() == "0.60: 2 sites"
    assert panel.current_site().site_id == in_view.site_id  # the list stays on the site the player shows
    assert window.document.selected_id in panel.current_site().detection_ids
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):  # and back: the reviewer's place with it
        window.threshold_slider.setValue(20)
        window.document.save_score_threshold()
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert low.detection_ids[0] in panel.current_site().detection_ids
    assert window.document.selected_id in panel.current_site().detection_ids  # the player with it


def test_a_site_clicked_on_the_map_opens_its_crops_and_a_crop_hovered_seeks_there(qtbot, window, project):
    from app.panels.map_panel import MapPanel

    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000), qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy, timeout=30_000)
    current = panel.current_site()
    target = next(s for s in map_panel.map_widget.visible_sites if s.best_detection_id not in current.detection_ids)
    map_panel.map_widget.click_site(target)
    opened = panel.current_site()
    assert target.best_detection_id in opened.detection_ids
    assert {int(panel.grid.item(i).data(Qt.ItemDataRole.UserRole + 1)) for i in range(panel.grid.count())} <= set(
        opened.detection_ids)
    tile = max((panel.grid.item(i) for i in range(panel.grid.count())),
               key=lambda t: abs(int(t.data(Qt.ItemDataRole.UserRole + 2)) - window.current_frame))
    frame = int(tile.data(Qt.ItemDataRole.UserRole + 2))
    panel.grid.itemEntered.emit(tile)
    qtbot.waitUntil(lambda: window.current_frame == frame, timeout=5_000)
    assert map_panel.map_widget.highlighted_site.best_detection_id == target.best_detection_id


def test_a_site_clicked_on_the_map_takes_the_site_keys(qtbot, window, project):
    """Clicked on the map, a site was selected in the list but the map kept the keyboard:
    A accepted one detection of its ten, and the site stayed to decide."""
    from PySide6.QtWidgets import QApplication

    from app.panels.map_panel import MapPanel

    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000), qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy and not panel.busy, timeout=30_000)
    current = panel.current_site()
    target = next(s for s in map_panel.map_widget.visible_sites if s.best_detection_id not in current.detection_ids)
    map_panel.map_widget.setFocus()
    map_panel.map_widget.click_site(target)
    assert QApplication.focusWidget() is panel.site_list
    site = panel.current_site()
    assert target.best_detection_id in site.detection_ids
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_X)
    assert site.site_id in panel.review.rejected  # every sighting of the site, not one detection


def test_reopening_rings_on_the_map_only_the_site_selected(qtbot, window, project):
    from app.panels.map_panel import MapPanel

    map_panel = window.panel(MapPanel)
    sites_panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy, timeout=30_000)
    site = map_panel.map_widget.visible_sites[0]
    window.select_detection(site.best_detection_id)
    assert map_panel.map_widget.highlighted_site is not None
    window.close_project()
    with qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy and sites_panel.review is not None, timeout=30_000)
    selected = window.document.selected_id  # the first site to decide, which the player shows
    assert selected == sites_panel.current_site().best_detection_id
    item = map_panel.map_widget._site_of_detection.get(selected)
    assert map_panel.map_widget.highlighted_site == (None if item is None else item.site)  # no stale ring


def test_the_panel_says_when_the_sites_will_come(qtbot, project, errors):
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    doc.set_analysis_running(True)  # an analysis started before the project had a run to show
    doc.open_path(project)
    panel.rebuild()
    assert panel.summary.text() == "The sites are listed when the analysis ends"
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.set_analysis_running(False)
    assert panel.summary.text().endswith("decided")
    panel.review = None
    panel.rebuild()
    assert panel.summary.text() == "Reading the sites…"
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    doc.close()


def test_the_threshold_label_counts_unconfirmed_sites_apart(qtbot, flight, project, tmp_path, errors):
    """A site left with one sighting among the frames that showed it is unconfirmed: the
    label counts the sites on the map and names the unconfirmed ones apart."""
    from services.sites import site_review

    with ProjectStore.open(project) as store:
        review = site_review(store)
        target = max(review.sites, key=lambda s: s.frame_count)
        assert target.frame_count >= 3 and not review.unconfirmed
        stored = {d.id: d for d in store.detections(review.run_id)}
        kept = target.sightings[len(target.sightings) // 2].detection_id
        dropped = {(stored[s.detection_id].frame_index, stored[s.detection_id].box_xyxy_px)
                   for s in target.sightings if s.detection_id != kept}
    path = _ground_truth_project(tmp_path / "one-off.dmproj", flight, frozenset(dropped))
    from app.panels.map_panel import MapPanel

    doc = ProjectDocument()
    panel, map_panel = SiteReviewPanel(doc), MapPanel(doc)
    qtbot.addWidget(panel)
    qtbot.addWidget(map_panel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000), qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        doc.open_path(path)
    assert len(panel.review.unconfirmed) == 1
    assert panel.threshold_label.text().endswith(f": {len(review.sites) - 1} sites + 1 unconfirmed")
    assert panel.summary.text().startswith(f"{len(panel.review.queue)} sites (1 unconfirmed) · ")  # what it counts
    # the map leaves it off until asked, then draws it hollow
    (ghost_id,) = panel.review.unconfirmed
    assert ghost_id not in {s.id for s in map_panel.map_widget.visible_sites}
    map_panel.show_unconfirmed.setChecked(True)
    assert len(map_panel.map_widget.visible_sites) == len(review.sites)
    (ghost,) = [item for item in map_panel.map_widget.site_items if item.site.id == ghost_id]
    assert not ghost.confirmed and ghost.brush().style() == Qt.BrushStyle.NoBrush
    assert all(item.confirmed for item in map_panel.map_widget.site_items if item is not ghost)
    assert "unconfirmed site" in map_panel.map_widget.legend_rows()
    map_panel.show_unconfirmed.setChecked(False)
    assert len(map_panel.map_widget.visible_sites) == len(review.sites) - 1
    assert "unconfirmed site" not in map_panel.map_widget.legend_rows()
    doc.close()
    assert errors == []


def test_the_export_dialogs_note_on_unconfirmed_sites_names_the_option_that_exports_them(
        qtbot, window, flight, project, tmp_path):
    """The note said the unconfirmed sites stay "out of the exports" right above the
    option "Also the unconfirmed sites", ticked or not: it names the option instead."""
    from app.dialogs.export_dialog import ExportDialog
    from services.sites import site_review

    with ProjectStore.open(project) as store:
        review = site_review(store)
        target = max(review.sites, key=lambda s: s.frame_count)
        stored = {d.id: d for d in store.detections(review.run_id)}
        kept = target.sightings[len(target.sightings) // 2].detection_id
        dropped = {(stored[s.detection_id].frame_index, stored[s.detection_id].box_xyxy_px)
                   for s in target.sightings if s.detection_id != kept}
    path = _ground_truth_project(tmp_path / "one-off.dmproj", flight, frozenset(dropped))
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(path)
    assert len(panel.review.unconfirmed) == 1
    note = window.export_sites_note()
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True, sites_note=note)
    qtbot.addWidget(dialog)
    option = dialog.unconfirmed_check.text().split(" (")[0]
    assert "1 unconfirmed stays out unless" in note and f"“{option}” is ticked" in note
    assert "out of the exports" not in note


def test_the_export_dialog_says_which_sites_the_map_keeps_and_the_export_keeps_them(qtbot, window, flight, tmp_path):
    import json

    from app.dialogs.export_dialog import ExportChoice, ExportDialog
    from core.store import ProjectStore

    # the Debris scored 0.9, the Slight damage 0.3: the map's default threshold (0.5)
    # keeps fewer sites than 0.25 does
    scored = replace(flight, detections=[replace(d, score=0.9 if d.level is DamageLevel.DEBRIS else 0.3)
                                         for d in flight.detections])
    project = _ground_truth_project(tmp_path / "flight.dmproj", scored)
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    assert window.export_sites_note().startswith("The damage map keeps the 1 site scoring ≥ 0.50")
    window.threshold_spin.setValue(0.25)  # and export at once, before the threshold's own save
    note = window.export_sites_note()
    assert note.startswith("The damage map keeps the sites scoring ≥ 0.25")  # not counted until fused again
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True, sites_note=note)
    qtbot.addWidget(dialog)
    assert not dialog.sites_note.isHidden() and dialog.sites_note.text() == note
    with qtbot.waitSignal(window.export_finished, timeout=30_000):
        window.start_export(ExportChoice(out_dir=tmp_path / "out", formats=("geojson",)))
    with ProjectStore.open(project) as store:
        assert store.project_settings().min_score == 0.25
    qtbot.waitUntil(lambda: panel.review.min_score == 0.25, timeout=30_000)  # fused again
    kept = panel.review.kept_at(0.25) - panel.review.unconfirmed
    assert len(kept) > 1 and window.export_sites_note().startswith(f"The damage map keeps the {len(kept)} sites")
    sites = json.loads((tmp_path / "out" / "damage_sites.geojson").read_text())["features"]
    assert len(sites) == len(kept)  # the Slight sites too: what the window showed is what went out
    window.threshold_spin.setValue(0.9)  # over the map's: fewer sightings confirm a site there, not counted yet
    assert window.export_sites_note().startswith("The damage map keeps the sites scoring ≥ 0.90")


def test_after_an_export_its_folder_is_one_click_away_until_the_project_closes(qtbot, window, project, tmp_path,
                                                                               monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from app.dialogs.export_dialog import ExportChoice

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    with qtbot.waitSignal(window.panel(SiteReviewPanel).sites_updated, timeout=30_000):
        assert window.open_path(project)
    assert window.open_export_button.isHidden()
    with qtbot.waitSignal(window.export_finished, timeout=30_000):
        window.start_export(ExportChoice(out_dir=tmp_path / "maps", formats=("geojson",)))
    assert not window.open_export_button.isHidden()
    qtbot.mouseClick(window.open_export_button, Qt.MouseButton.LeftButton)
    assert opened == [str(tmp_path / "maps")]
    window.close_project()
    assert window.open_export_button.isHidden()  # another project's exports go elsewhere


def test_one_export_at_a_time_and_one_that_writes_nothing_says_so(qtbot, window, project, tmp_path):
    """A second Export while one ran closed its dialog and did nothing; the training data of
    a run with nothing reviewed said "Exported 0 files" and offered a folder never made."""
    from app.dialogs.export_dialog import ExportChoice

    with qtbot.waitSignal(window.panel(SiteReviewPanel).sites_updated, timeout=30_000):
        assert window.open_path(project)
    assert window.export_action.isEnabled()
    with qtbot.waitSignal(window.export_finished, timeout=30_000):
        window.start_export(ExportChoice(out_dir=tmp_path / "maps", formats=("geojson",)))
        assert not window.export_action.isEnabled()  # File > Export… waits for this one
    assert window.export_action.isEnabled()
    window.close_project()
    with qtbot.waitSignal(window.panel(SiteReviewPanel).sites_updated, timeout=30_000):
        assert window.open_path(project)
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as finished:
        window.start_export(ExportChoice(out_dir=tmp_path / "training", formats=(), coco=True))
    assert finished.args == [[]] and not (tmp_path / "training").exists()
    assert window.statusBar().currentMessage().startswith("Nothing exported: no frame of this run is reviewed")
    assert window.open_export_button.isHidden()


def test_a_failed_export_says_so_where_it_said_it_was_exporting(qtbot, window, project, tmp_path, errors):
    from app.dialogs.export_dialog import ExportChoice

    with qtbot.waitSignal(window.panel(SiteReviewPanel).sites_updated, timeout=30_000):
        assert window.open_path(project)
    in_the_way = tmp_path / "maps"
    in_the_way.write_text("a file where the export folder would go")
    with qtbot.waitSignal(window.export_finished, timeout=30_000):
        window.start_export(ExportChoice(out_dir=in_the_way, formats=("geojson",)))
    assert errors and str(in_the_way) in str(errors[-1])
    assert window.statusBar().currentMessage() == f"Export to {in_the_way} failed"


@pytest.fixture(scope="module")
def hover_flight(flyover_once):
    """3 s at 10 fps, 320x180, seed 2, the drone hovering from 1 s to 2 s: the annotated
    frames 10, 15 and 20 are one look; its ground truth as detections."""
    from geo.evaluation import detections_from_coco

    paths = flyover_once("hover", seconds=3.0, fps=10.0, size=(320, 180), seed=2, hover=(1.0, 1.0))
    detections, times = detections_from_coco(paths.annotations)
    return paths, detections, times


def test_a_hover_gives_one_crop_that_says_how_many_frames_it_stands_for(qtbot, hover_flight, tmp_path, errors):
    paths, detections, times = hover_flight
    project = tmp_path / "hover.dmproj"
    with ProjectStore.create(project, video_path=Path(paths.video), telemetry_path=Path(paths.srt)) as store:
        write_run(store, detections, times)
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.open_path(project)
    try:
        hover_frames = {10, 15, 20}
        site = max(panel.review.sites, key=lambda s: len({x.frame_index for x in s.sightings} & hover_frames))
        seen = sorted({x.frame_index for x in site.sightings})
        in_hover = [f for f in seen if f in hover_frames]
        assert len(in_hover) >= 2 and site.look_count == len(seen) - len(in_hover) + 1
        panel.select_site(site.site_id)
        tiles = [panel.grid.item(i) for i in range(panel.grid.count())]
        assert len(tiles) == site.look_count  # one crop a look, not a frame
        frames = [int(t.data(LOOK_FRAMES_ROLE)) for t in tiles]
        assert sorted(frames) == [1] * (len(tiles) - 1) + [len(in_hover)]
        hovered = tiles[frames.index(len(in_hover))]
        assert int(hovered.data(Qt.ItemDataRole.UserRole + 2)) in in_hover
        assert f"the best of {len(in_hover)} frames filmed from one spot" in hovered.toolTip()
        qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=10_000)
    finally:
        doc.close()
    assert errors == []


def test_a_crop_badge_is_drawn_in_its_top_right_corner_only(qapp):
    import numpy as np

    from app.panels.site_review_panel import crop_pixmap
    from core.masks import RleMask
    from core.types import Detection

    crop = np.full((60, 80, 3), 120, dtype=np.uint8)  # a grey crop of a 80x60 frame region at (10, 20)
    outline = np.array([[30.0, 40.0], [60.0, 40.0], [60.0, 60.0], [30.0, 60.0]])
    detection = Detection(0, DamageLevel.SLIGHT, 0.9, (30.0, 40.0, 60.0, 60.0), RleMask.from_polygon(outline, 90, 120))
    plain = crop_pixmap(crop, 10, 20, detection, 104).toImage()
    badged = crop_pixmap(crop, 10, 20, detection, 104, badge="×12").toImage()
    changed = [(x, y) for x in range(104) for y in range(104) if plain.pixelColor(x, y) != badged.pixelColor(x, y)]
    assert len(changed) > 100
    assert min(x for x, _ in changed) > 104 // 2 and max(y for _, y in changed) < 104 // 3  # the top right corner
    assert any(badged.pixelColor(x, y).lightness() > 230 for x, y in changed)  # white text on a dark ground
    assert any(badged.pixelColor(x, y).lightness() < 60 for x, y in changed)


def test_on_a_high_dpi_screen_a_crop_tile_keeps_the_crop_s_detail(qapp):
    """At twice the pixels per point the tile has twice the pixels, showing the crop's own
    detail, not a 1x tile scaled up (blurred outlines and badge)."""
    import numpy as np

    from app.panels.site_review_panel import crop_pixmap
    from core.masks import RleMask
    from core.types import Detection

    crop = np.zeros((208, 208, 3), dtype=np.uint8)
    crop[:, ::2] = 255  # one-pixel stripes: detail a 104 px tile cannot hold
    outline = np.array([[40.0, 40.0], [160.0, 40.0], [160.0, 160.0], [40.0, 160.0]])
    detection = Detection(0, DamageLevel.SLIGHT, 0.9, (40.0, 40.0, 160.0, 160.0), RleMask.from_polygon(outline, 208, 208))
    sharp = crop_pixmap(crop, 0, 0, detection, 104, pixel_ratio=2.0)
    assert sharp.deviceIndependentSize().toSize() == crop_pixmap(crop, 0, 0, detection, 104).size()
    image = sharp.toImage()
    assert (image.width(), image.height()) == (208, 208)
    row = [image.pixelColor(x, 20).lightness() for x in range(10, 30)]
    assert max(row) - min(row) > 200  # the stripes are there, not averaged to grey


def test_the_site_selected_on_opening_is_the_one_the_player_shows_and_a_click_on_it_shows_it_again(
        qtbot, project, errors):
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(520, 700)
    panel.show()
    requests = []
    doc.detection_requested.connect(lambda frame, detection: requests.append((frame, detection)))
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.open_path(project)
    first = panel.current_site()
    assert first is not None and requests == [(first.best_frame, first.best_detection_id)]  # A acts on what is seen
    requests.clear()
    rect = panel.site_list.visualItemRect(panel.site_list.currentItem())
    qtbot.mouseClick(panel.site_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert requests == [(first.best_frame, first.best_detection_id)]  # the player moved on: shown again
    requests.clear()
    other = panel.site_list.visualItemRect(panel.site_list.item(1))
    qtbot.mouseClick(panel.site_list.viewport(), Qt.MouseButton.LeftButton, pos=other.center())
    second = panel.current_site()
    assert second != first and requests == [(second.best_frame, second.best_detection_id)]  # once, not twice
    doc.close()
    assert errors == []


def test_a_rebuilt_list_keeps_the_thumbnails_drawn_and_its_rows_do_not_move(qtbot, panel):
    qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=10_000)
    placeholder = panel._placeholder.cacheKey()
    rows = panel.site_list
    heights = [rows.visualItemRect(rows.item(i)).height() for i in range(rows.count())]
    first = panel.current_site()
    rows.setFocus()
    _press(qtbot, panel, rows, Qt.Key.Key_2)  # relabel: the map and the list are built again
    # at once, before any crop is decoded again: the other sites' pictures, the rows as tall as before
    others = [i for i in range(rows.count()) if panel._rows[i][1] != first.site_id]
    assert others and all(rows.item(i).icon().cacheKey() != placeholder for i in others)
    assert [rows.visualItemRect(rows.item(i)).height() for i in range(rows.count())] == heights
    relabelled = rows.item(panel._row_of(first.site_id))
    assert relabelled.icon().cacheKey() == placeholder  # its outline's colour changed: drawn again
    qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=10_000)
    assert relabelled.icon().cacheKey() != placeholder


def test_a_decided_site_keeps_its_thumbnail_when_the_list_is_read_again(qtbot, panel):
    """An accept changes no pixel of a site's picture; compared whole, the stored detection
    (its review state changed) no longer matched, and every decided row went black for
    seconds while it was decoded again."""
    qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=10_000)
    placeholder = panel._placeholder.cacheKey()
    rows = panel.site_list
    first = panel.current_site()
    rows.setFocus()
    _press(qtbot, panel, rows, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)  # the list read after the decision, shown
    assert panel.review.site(first.site_id).decided
    assert rows.item(panel._row_of(first.site_id)).icon().cacheKey() != placeholder


def test_the_list_read_again_looks_up_its_thumbnailed_sightings_in_one_query(qtbot, panel, monkeypatch):
    """A long flight's list is read again at every decision: one lookup of a row's best
    sighting each (hundreds of rows) held the GUI thread a quarter of a second."""
    qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=10_000)
    doc = panel.document
    placeholder = panel._placeholder.cacheKey()
    one_by_one, batches = [], []
    looked_up, by_id = doc.detection, doc.store.detections_by_id
    monkeypatch.setattr(panel, "SITES_AHEAD", 0)  # the next sites' crops: a few look-ups, however long the list
    monkeypatch.setattr(doc, "detection", lambda i: (one_by_one.append(i), looked_up(i))[1])
    monkeypatch.setattr(doc.store, "detections_by_id", lambda ids, **kw: (batches.append(list(ids)), by_id(ids, **kw))[1])
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        panel.rebuild()
    rows = panel.site_list
    assert all(rows.item(i).icon().cacheKey() != placeholder for i in range(rows.count()))  # every picture kept
    assert one_by_one == []
    assert sorted(batches[0]) == sorted(item.site.best_detection_id for item in panel.review.queue)


def test_the_rows_are_measured_again_only_when_their_longest_texts_change(qtbot, panel, monkeypatch):
    """The list is read again after every decision: the rows' lines were measured each
    time (twice), though the longest rows' texts had not changed."""
    delegate = panel._row_delegate
    lines = delegate.lines
    measured = []
    fit_width = delegate.fit_width
    monkeypatch.setattr(delegate, "fit_width", lambda: (measured.append(True), fit_width())[1])
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        panel.rebuild()
    delegate.fit_rows()  # what the rows' change asks for once the list is shown
    assert measured == [] and delegate.lines == lines
    row = panel.site_list.item(0)
    row.setText(row.text() + " and a reason long enough to wrap onto more lines than before" * 4)
    delegate.fit_rows()
    assert measured and delegate.lines > lines


def test_with_every_site_decided_and_hidden_no_key_acts_and_the_panel_says_where_they_are(qtbot, panel):
    panel.show_decided.setChecked(False)
    panel.site_list.setFocus()
    decided = []
    for _ in range(3):  # the last key leaves no site to decide
        decided.append(panel.current_site())
        qtbot.keyClick(panel.site_list, Qt.Key.Key_A)
    assert len({s.site_id for s in decided}) == 3
    assert panel.current_site() is None and not panel.buttons["accept"].isEnabled()  # at once, not after the rebuild
    assert not panel.buttons["next"].isEnabled() and not panel.buttons["previous"].isEnabled()
    assert panel.summary.text().endswith("3 decided: check Show decided sites to list them")
    count = panel.document.undo_stack.count()
    qtbot.keyClick(panel.site_list, Qt.Key.Key_X)  # acts on nothing
    assert panel.document.undo_stack.count() == count
    panel.show_decided.setChecked(True)
    assert panel.summary.text() == "3 sites · 0 to decide · 3 decided" and panel.buttons["next"].isEnabled()


def test_the_threshold_label_does_not_count_from_the_old_map_below_its_threshold(qtbot, panel):
    doc = panel.document
    assert panel.threshold_label.text().startswith(f"{doc.score_threshold:.2f}: ")
    doc.set_score_threshold(doc.score_threshold - 0.2)  # below the map's minimum: fused again later
    assert panel.threshold_label.text() == f"{doc.score_threshold:.2f}: counting…"


def test_a_reopened_project_names_its_site_decisions_on_the_undo_stack_as_they_were_made(qtbot, panel, project):
    doc = panel.document
    panel.site_list.setFocus()
    site = panel.current_site()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_2)  # relabel the site as Severe
    said = doc.undo_stack.undoText()
    assert said == f"Relabel site #{site.site_id} as Severe ({len(site.sightings)} sighting" + (
        "" if len(site.sightings) == 1 else "s") + ")"
    doc.close()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.open_path(project)
    assert doc.undo_stack.undoText() == said


def test_undo_goes_back_to_the_site_it_changes_and_unmarks_it_at_once(qtbot, panel):
    doc = panel.document
    panel.site_list.setFocus()
    site = panel.current_site()
    qtbot.keyClick(panel.site_list, Qt.Key.Key_X)  # decided, marked, and the list moves on
    assert panel.current_site().site_id != site.site_id
    row = panel.site_list.item(panel._row_of(site.site_id))
    assert row.text().endswith("decided: rejected") and row.font().strikeOut()
    requests = []
    doc.detection_requested.connect(lambda frame, detection: requests.append((frame, detection)))
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.undo()  # at once, before the list is read again:
        assert panel.current_site().site_id == site.site_id
        assert requests[-1] == (site.best_frame, site.best_detection_id)
        assert not row.text().endswith("decided: rejected") and not row.font().strikeOut()
        assert panel.summary.text().endswith("0 decided")
    assert panel.current_site().site_id == site.site_id and not panel.current_site().decided  # and once read
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.undo_stack.redo()  # the decision again: on to the next site to decide, as the key went
    assert panel.current_site().site_id != site.site_id and panel.review.rejected == {site.site_id}


def test_in_the_window_a_redone_decision_goes_on_to_the_next_site_to_decide_as_the_key_did(qtbot, window, project, open_sites):
    """2, Ctrl+Z, Ctrl+Shift+Z left the list on the site just relabelled (decided, listed
    last once read again), where the next A or X acted on it again."""
    panel = open_sites(project)
    relabelled = panel.current_site()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_2)
    after_key = panel.current_site()
    assert after_key.site_id != relabelled.site_id and not after_key.decided
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_Z, modifier=Qt.KeyboardModifier.ControlModifier)
    assert panel.current_site().site_id == relabelled.site_id  # undo: back to the site it changes
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        qtbot.keyClick(panel.site_list, Qt.Key.Key_Z,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        # at once, before the list is read again: marked, and on to the next site
        row = panel.site_list.item(panel._row_of(relabelled.site_id))
        assert row.text().endswith("decided: accepted as Severe")
        assert panel.current_site().site_id == after_key.site_id
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)  # and once read again
    assert panel.review.site(relabelled.site_id).decided
    assert panel.current_site().site_id == after_key.site_id and not panel.current_site().decided
    assert window.document.selected_id in after_key.detection_ids  # the player shows it
    count = window.document.undo_stack.count()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_X)  # the next key acts on that site
    assert _states(window.document, after_key) == {ReviewState.REJECTED}
    assert {window.document.store.detection(i).level for i in relabelled.detection_ids} == {DamageLevel.SEVERE}
    assert _states(window.document, relabelled) == {ReviewState.ACCEPTED}
    assert window.document.undo_stack.count() == count + 1


def test_the_panel_fits_beside_the_video_on_a_1280_px_screen(qtbot, panel):
    """With a flight open and its count shown, the panel needs no more than a third of a
    1280 px screen: every button, the count and Show decided sites stay in view."""
    assert panel.threshold_label.text()  # the count is shown
    assert panel.minimumSizeHint().width() <= 430
    panel.resize(430, 700)
    for widget in (*panel.buttons.values(), panel.show_decided, panel.threshold_label):
        assert widget.isVisible()
        right = widget.mapTo(panel, widget.rect().topRight()).x()
        assert right <= panel.width(), widget


def test_the_next_sites_frames_are_decoded_ahead_and_shown_from_there(qtbot, panel, monkeypatch):
    """Going to the next site shows its frame at once: it was decoded on a thread of its
    own while the reviewer looked at the current one."""
    doc = panel.document
    panel.site_list.setFocus()
    panel.site_list.setCurrentRow(0)
    shown = [i for i in range(panel.site_list.count()) if not panel.site_list.item(i).isHidden()]
    assert len(shown) >= 2
    following = panel.review.site(int(panel.site_list.item(shown[1]).data(SITE_ROLE)))
    qtbot.waitUntil(lambda: doc._frames_ahead.holds(following.best_frame), timeout=20_000)
    expected = doc.reader.frame_at(following.best_frame).image

    def no_decoding_here(index, **_kwargs):
        raise AssertionError(f"frame {index} decoded on the GUI thread")

    monkeypatch.setattr(doc.reader, "frame_at", no_decoding_here)
    frame = doc.frame(following.best_frame)
    assert frame.index == following.best_frame and (frame.image == expected).all()


def test_the_next_sites_crops_are_decoded_ahead_and_drawn_the_moment_a_decision_moves_on(qtbot, panel, monkeypatch):
    """A decision moves on to the next site to decide: its crops were decoded while the
    reviewer looked at the site before, and are drawn at once, before the event loop has
    turned (no crop comes from the video then); with none decoded ahead they would wait."""
    panel.site_list.setFocus()
    panel.site_list.setCurrentRow(0)
    placeholder = panel._placeholder.cacheKey()

    def press_a() -> list:
        qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=20_000)  # the reviewer looks at the site
        before = panel.current_site()
        qtbot.keyClick(panel.site_list, Qt.Key.Key_A)
        site = panel.current_site()
        assert site is not None and site.site_id != before.site_id and not site.decided
        tiles = [panel.grid.item(i) for i in range(panel.grid.count())]
        assert tiles
        return [tile.icon().cacheKey() != placeholder for tile in tiles]

    assert all(press_a())
    assert panel._grid_queue == []
    monkeypatch.setattr(SiteReviewPanel, "SITES_AHEAD", 0)
    panel._fill_grid(panel.current_site())  # asks for nothing ahead from now
    qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=20_000)
    panel._crops.clear()  # those decoded ahead before
    assert not any(press_a())  # the crops come later, from the video


def test_crops_cut_from_another_video_are_neither_kept_nor_drawn(qtbot, panel):
    """Crops a job cut for a project since closed (its detection ids start at 1 too)
    arrive after another opened: they are not this project's detections' crops."""
    import numpy as np

    panel.site_list.setCurrentRow(0)
    qtbot.waitUntil(lambda: panel.thumbnails_done, timeout=20_000)
    panel._crops.clear()
    site = panel.current_site()
    panel._grid_key = None
    panel._picture_job = object()  # the video's thread busy: the tiles wait for their crops
    panel._fill_grid(site)
    tile = panel.grid.item(0)
    detection = panel.document.detection(int(tile.data(DETECTION_ROLE)))
    stale = (np.zeros((8, 8, 3), dtype=np.uint8), 0, 0)
    box = tuple(detection.box_xyxy_px)
    panel._on_crops(("ahead", None), {detection.id: stale}, {detection.id: ("/elsewhere/other.mp4", box)})
    assert panel._kept_crop(detection.id) is None
    assert tile.icon().cacheKey() == panel._placeholder.cacheKey()
    panel._on_crops(("ahead", None), {detection.id: stale}, {detection.id: (str(panel.document.video_path), box)})
    assert panel._kept_crop(detection.id) is stale and tile.icon().cacheKey() != panel._placeholder.cacheKey()
    panel._picture_job = None


def test_a_run_shown_with_decisions_carried_selects_a_site_still_to_decide(qtbot, flight, tmp_path, errors):
    """The decisions of an earlier run are carried when a new run is first shown; the
    selection stayed on the site first in the list before them, decided by then, so the
    next key acted on a decided site."""
    from core.review import ReviewSession
    from core.sites import site_decision
    from services.sites import site_review

    path = _ground_truth_project(tmp_path / "flight.dmproj", flight)
    with ProjectStore.open(path) as store:
        first = site_review(store).queue[0].site  # the site the list would select first
        ReviewSession(store, 1).apply(site_decision(first, ReviewState.ACCEPTED))
        write_run(store, flight.detections, flight.times)  # run 2, the same sites, undecided
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    doc.open_path(path)
    qtbot.waitUntil(lambda: panel.review is not None and panel.review.run_id == 2 and not panel.busy
                    and any(item.site.decided for item in panel.review.queue), timeout=30_000)
    try:
        shown = panel.current_site()
        assert shown is not None and not shown.decided
        assert panel.site_list.currentRow() == panel._first_undecided_row()
        assert errors == []
    finally:
        doc.close()


def _lines_drawn(panel, monkeypatch, row) -> tuple[list[str], list]:
    """The lines the list draws for ``row`` and the rectangles it draws them in."""
    from PySide6.QtGui import QPainter

    drawn = []
    draw_text = QPainter.drawText
    monkeypatch.setattr(QPainter, "drawText", lambda self, *args: (drawn.append(args), draw_text(self, *args)))
    panel.site_list.scrollToItem(row)
    panel.site_list.viewport().grab()
    monkeypatch.undo()
    heading = row.text().split("\n")[0]
    texts = [args[-1] for args in drawn if isinstance(args[-1], str) and args[-1].startswith(heading)]
    return (texts[-1].split("\n") if texts else []), [args[0] for args in drawn]


def test_a_reason_too_long_for_one_line_wraps_whole_onto_the_next(qtbot, panel, monkeypatch):
    """At the panel's width a row's reason that does not fit one line (an unconfirmed
    site's, a survey flight's) goes on below, whole, not cut with "…" on its first line."""
    more = " · not found by tuesday, wednesday (saw the place well)"
    monkeypatch.setattr(panel, "_survey_text", lambda site: more)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        panel.schedule_rebuild()
    monkeypatch.undo()
    row = panel.site_list.item(0)
    reason = row.text().split("\n", 1)[1]
    lines, _rects = _lines_drawn(panel, monkeypatch, row)
    assert len(lines) == 3, lines
    assert " ".join(lines[1:]) == reason


def test_a_row_wraps_to_the_lines_it_needs_at_the_panels_least_width(qtbot, panel, monkeypatch):
    """At the panel's least width (a 1024 px window's Sites panel, narrowed) a survey
    flight's row, its reason naming the other flights, was cut on its third line ("also
    found by m…"): every row is as tall as the longest needs, and each row's lines hold
    its whole text."""
    from PySide6.QtGui import QFontMetrics

    more = (" · also found by monday, wednesday, thursday · not found by tuesday, friday, saturday "
            "(saw the place well)")
    monkeypatch.setattr(panel, "_survey_text", lambda site: more)
    panel.resize(panel.minimumSizeHint().width(), 700)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        panel.schedule_rebuild()
    monkeypatch.undo()
    line_px = QFontMetrics(panel.site_list.font()).lineSpacing()
    most_lines = 0
    for index in range(panel.site_list.count()):
        row = panel.site_list.item(index)
        lines, _rects = _lines_drawn(panel, monkeypatch, row)
        assert " ".join(lines).split() == row.text().split(), lines  # every word, none cut with "…"
        assert panel.site_list.visualItemRect(row).height() >= len(lines) * line_px
        most_lines = max(most_lines, len(lines))
    assert most_lines > 3  # the text needs more than the three lines each row used to have


def test_a_long_reason_is_cut_at_the_lists_edge_not_scrolled_to(qtbot, panel, monkeypatch):
    """A row's very long reason (a survey flight's, naming every other flight) is drawn
    within the list, its last line cut with "…", and the list never scrolls sideways;
    the tooltip keeps the whole text."""
    from app.panels.site_review_panel import _ElidedRows

    others = " · also found by " + ", ".join(f"flight-{k:02d}" for k in range(90))
    monkeypatch.setattr(panel, "_survey_text", lambda site: others)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        panel.schedule_rebuild()
    monkeypatch.undo()
    row = panel.site_list.item(0)
    lines, rects = _lines_drawn(panel, monkeypatch, row)
    assert len(lines) == _ElidedRows.MOST_LINES and lines[-1].endswith("…"), lines
    assert panel.site_list.visualItemRect(row).width() > panel.site_list.viewport().width()  # the text is wider
    assert not panel.site_list.horizontalScrollBar().isVisible()
    assert rects and max(rect.right() for rect in rects) <= panel.site_list.viewport().rect().right()
    assert row.toolTip().endswith(others)


def test_switching_runs_empties_the_list_until_the_other_runs_sites_are_read(qtbot, flight, tmp_path, errors):
    """Analysis > Show Run: for the seconds the other run's sites take to read, the list
    held the last run's sites, and a key pressed on one acted on detections of another
    run (an error box: "detection 891 is not in run 1")."""
    path = _ground_truth_project(tmp_path / "flight.dmproj", flight)
    with ProjectStore.open(path) as store:
        write_run(store, flight.detections, flight.times)  # run 2
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    doc.open_path(path)
    qtbot.waitUntil(lambda: panel.review is not None and panel.review.run_id == 2 and not panel.busy, timeout=30_000)
    try:
        assert panel.site_list.count() > 0 and panel.current_site() is not None
        doc.follow_run(1)
        assert panel.site_list.count() == 0 and panel.current_site() is None
        assert panel.summary.text() == "Reading the sites…"
        assert not panel.buttons["accept"].isEnabled()
        panel.trigger("accept")  # nothing to act on: no error, nothing recorded
        with ProjectStore.open(path) as store:
            assert store.edit_history(1) == [] and store.edit_history(2) == []
        qtbot.waitUntil(lambda: panel.review is not None and panel.review.run_id == 1 and not panel.busy,
                        timeout=30_000)
        assert panel.site_list.count() > 0 and panel.current_site() is not None
        assert errors == []
    finally:
        doc.close()


def test_on_opening_the_sites_list_has_the_keys_so_a_acts_on_the_highlighted_site(qtbot, window, project):
    """The list highlights the first site to decide when a project opens; the review keys
    act on that site (every sighting), not on one detection of it."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    site = panel.current_site()
    assert site is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.site_list, timeout=5_000)
    _press(qtbot, panel, QApplication.focusWidget(), Qt.Key.Key_A)
    assert _states(window.document, site) == {ReviewState.ACCEPTED}
    assert window.document.undo_stack.undoText().startswith("Accept site")


def test_left_and_right_step_the_frames_while_the_sites_list_has_the_keys(qtbot, window, project, open_sites):
    """The list has the keys once a project opens; Left and Right step the player's frames
    there (Shift: the analysed ones), as everywhere in the window: the list, one column
    of rows, took them and did nothing. The crop grid still moves across its crops."""
    from PySide6.QtWidgets import QApplication

    panel = open_sites(project)
    site, start = panel.current_site(), window.current_frame
    for _ in range(2):
        with qtbot.waitSignal(window.frame_shown, timeout=5_000):
            qtbot.keyClick(panel.site_list, Qt.Key.Key_Right)
    assert window.current_frame == start + 2
    with qtbot.waitSignal(window.frame_shown, timeout=5_000):
        qtbot.keyClick(panel.site_list, Qt.Key.Key_Left)
    assert window.current_frame == start + 1
    analysed = window.document.analysed_neighbour(start + 1, 1)
    assert analysed is not None and analysed > start + 2  # else a plain step would get there too
    with qtbot.waitSignal(window.frame_shown, timeout=5_000):
        qtbot.keyClick(panel.site_list, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.current_frame == analysed
    assert panel.current_site() == site and QApplication.focusWidget() is panel.site_list  # A still decides it
    panel.select_site(max(panel.review.sites, key=lambda s: s.frame_count).site_id)
    assert panel.grid.count() > 1
    panel.grid.setFocus()
    panel.grid.setCurrentRow(0)
    qtbot.keyClick(panel.grid, Qt.Key.Key_Right)
    assert panel.grid.currentRow() == 1  # the next crop (the split's Shift+Right selects across)


def test_a_detection_chosen_while_the_sites_are_read_stays_chosen(qtbot, window, project):
    """A map site or a Review Table row clicked just after opening, before the Sites panel
    has listed the sites: the list takes that site when they come, instead of its first
    site to decide, which moved the player back (the first click seemed to do nothing)."""
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
        assert panel.review is None  # still being read
        chosen = max(window.document.store.detections(window.document.run_id), key=lambda d: d.frame_index)
        window.document.request_detection(chosen.frame_index, chosen.id)  # what a click on a map site asks
        assert window.selected_id == chosen.id
    first_to_decide = panel.review.queue[0].site
    assert chosen.id not in first_to_decide.detection_ids  # else the list's own pick would be the same
    assert window.selected_id == chosen.id and window.current_frame == chosen.frame_index
    assert chosen.id in panel.current_site().detection_ids


def test_a_detection_in_no_site_chosen_while_the_sites_are_read_keeps_the_player(qtbot, window, flight, tmp_path):
    """A Review Table row of a detection in no site (a rejected one) clicked before the
    Sites panel has listed the sites: when they come, the list selects no site and the
    player stays on that detection (the list's first site to decide took the player away)."""
    from app.panels.review_panel import ReviewPanel

    last = max(flight.detections, key=lambda d: d.frame_index)
    rejected = [replace(d, review=ReviewState.REJECTED) if d is last else d for d in flight.detections]
    path = tmp_path / "rejected.dmproj"
    with ProjectStore.create(path, video_path=flight.video, telemetry_path=flight.srt) as store:
        write_run(store, rejected, flight.times)
    panel, table = window.panel(SiteReviewPanel), window.panel(ReviewPanel).view
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(path)
        assert panel.review is None  # still being read
        chosen = next(d for d in window.document.store.detections(window.document.run_id)
                      if d.review is ReviewState.REJECTED)
        table.table.selectRow(table.proxy.mapFromSource(table.model.index(table.model.row_of(chosen.id), 0)).row())
        assert window.selected_id == chosen.id and window.current_frame == chosen.frame_index
    assert panel.review.site_of_detection(chosen.id) is None
    assert panel.review.queue[0].site.best_frame != chosen.frame_index  # else the list's pick would not move it
    assert window.selected_id == chosen.id and window.current_frame == chosen.frame_index
    assert panel.current_site() is None and panel.site_list.selectedItems() == []


@pytest.mark.parametrize("how", ["slider", "time box"])
def test_the_player_moved_while_the_sites_are_read_stays_where_it_was_taken(qtbot, window, project, how):
    """A reviewer who seeks (the transport's slider, its go-to box) before the Sites panel
    has listed the sites: when they come, the list selects no site and the player stays
    where it was taken (the list's first site to decide took it away)."""
    panel, transport = window.panel(SiteReviewPanel), window.transport
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
        assert panel.review is None  # still being read
        target = window.document.frame_count - 1
        with qtbot.waitSignal(window.frame_shown, timeout=5_000):
            if how == "slider":
                transport.slider.setValue(target)
            else:
                transport.goto_edit.setText(f"{window.document.frame_times()[target]:.2f}")
                transport.goto_edit.returnPressed.emit()
        assert window.current_frame == target and panel.review is None  # seeked before the sites came
    assert panel.review.queue[0].site.best_frame != target  # else the list's pick would not move it
    assert window.current_frame == target and transport.position == target
    assert panel.current_site() is None and panel.site_list.selectedItems() == []
    panel.trigger("next")  # N: the list's first site, and the player follows the list again
    assert panel.current_site() == panel.review.queue[0].site
    assert window.current_frame == panel.current_site().best_frame


def test_deciding_a_site_again_as_it_stands_adds_no_undo_step(qtbot, panel):
    """A on a site already accepted (X on one rejected, 3 on one accepted as Debris)
    changes nothing: no undo step whose Undo would seem to do nothing, and the status bar
    says so."""
    doc = panel.document
    panel.site_list.setFocus()
    first = panel.current_site()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    assert doc.undo_stack.count() == 1
    panel.select_site(first.site_id)
    qtbot.waitUntil(lambda: panel.current_site() is not None and panel.current_site().decided, timeout=30_000)
    with qtbot.waitSignal(doc.notice, timeout=5_000) as said:
        _press(qtbot, panel, panel.site_list, Qt.Key.Key_A, wait=False)
    assert said.args == [f"Site #{first.site_id} is accepted already"]
    assert doc.undo_stack.count() == 1 and _states(doc, first) == {ReviewState.ACCEPTED}
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_2)  # another level: a decision that changes something
    assert doc.undo_stack.count() == 2


def test_the_threshold_and_show_decided_are_within_reach_of_the_keyboard(qtbot, window, project):
    """The toolbar's slider takes no focus (the arrow keys step frames): ] and [ move the
    threshold, and View > Show Decided Sites is the Sites panel's check box."""
    from PySide6.QtGui import QKeySequence

    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    start = window.document.score_threshold
    assert window.raise_threshold_action.shortcut() == QKeySequence("]")
    window.raise_threshold_action.trigger()
    assert window.document.score_threshold == round(start + 0.05, 2)
    assert window.threshold_spin.value() == pytest.approx(start + 0.05)
    window.lower_threshold_action.trigger()
    window.lower_threshold_action.trigger()
    assert window.document.score_threshold == round(start - 0.05, 2)
    assert window.show_decided_action.isChecked() == panel.show_decided.isChecked() is True
    window.show_decided_action.trigger()
    assert not panel.show_decided.isChecked()
    panel.show_decided.setChecked(True)
    assert window.show_decided_action.isChecked()
    assert not window.panel(ReviewPanel).view.table.tabKeyNavigation()  # Tab leaves the Review table


def test_tab_goes_round_the_controls_on_screen_and_back_to_the_sites(qtbot, window, project, open_sites):
    """Tab never lands in the Review table hidden behind the Sites tab (Qt counts it as
    shown), nor stays in a table: it goes round what the reviewer sees and comes back."""
    from PySide6.QtWidgets import QApplication

    panel = open_sites(project)
    hidden_table = window.panel(ReviewPanel).view.table
    assert hidden_table.visibleRegion().isEmpty()  # behind the Sites tab
    visited = []
    for _ in range(90):  # the overlay boxes, the transport and the panels' buttons are on the way
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        visited.append(QApplication.focusWidget())
    assert all(not w.visibleRegion().isEmpty() for w in visited)
    assert hidden_table not in visited and visited.count(panel.site_list) >= 2


def test_a_short_panel_shows_one_whole_row_of_crops_and_gives_the_list_the_rest(panel, qtbot):
    """On a 1280x800 screen at 125% the panel is some 520 px tall: two rows of crops kept
    there left the list 1.7 rows of sites. Short, the grid shows one whole row of crops
    with their captions; taller, two whole rows again."""
    panel.resize(520, 520)
    qtbot.waitUntil(lambda: panel.height() == 520)
    row_px = panel.grid.gridSize().height()
    assert row_px <= panel.grid.viewport().height() < 2 * row_px
    assert panel.site_list.viewport().height() >= 2 * panel.site_list.sizeHintForRow(0) > 0
    panel.resize(520, 800)
    qtbot.waitUntil(lambda: panel.height() == 800)
    assert panel.grid.viewport().height() >= 2 * row_px
    assert panel.site_list.viewport().height() >= panel.grid.height()  # the list keeps the larger part


def test_a_crop_of_a_box_outside_the_frame_is_a_tile_not_an_error(qapp):
    """A video replaced by a smaller one: a box past its frame made an empty crop, and every
    site shown raised ZeroDivisionError drawing its tile."""
    import numpy as np

    from app.panels.site_review_panel import crop_pixmap, crop_region
    from core.types import Detection

    image = np.zeros((40, 60, 3), dtype=np.uint8)
    crop, left, top = crop_region(image, (500.0, 300.0, 520.0, 330.0))
    assert crop.size > 0 and 0 <= left < 60 and 0 <= top < 40
    tile = crop_pixmap(crop, left, top, Detection(0, DamageLevel.SLIGHT, 0.9, (500.0, 300.0, 520.0, 330.0)), 64)
    assert not tile.isNull()


def test_accepting_a_site_whose_levels_disagree_is_named_as_its_reopened_history_names_it(qtbot, panel):
    """"Accept site #7 (14 sightings)" became "Relabel site #7 as Debris (14 sightings)"
    once the project was reopened: accepting it relabels its other level's sightings."""
    from core.review import Relabel
    from core.sites import Sighting

    doc = panel.document
    site = max(panel.review.sites, key=lambda s: len(s.sightings))
    assert len(site.sightings) >= 3
    # one sighting relabelled beforehand: the site's levels disagree
    other = next(level for level in DamageLevel if level is not site.level)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.apply_edit(Relabel(site.sightings[-1].detection_id, other), "Relabel one")
    site = panel.review.site_of_detection(site.sightings[0].detection_id)
    assert len(site.level_votes()) > 1 and isinstance(site.sightings[0], Sighting)
    panel.site_list.setCurrentRow(panel._row_of(site.site_id))
    panel.site_list.setFocus()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    assert doc.undo_stack.undoText() == f"Relabel site #{site.site_id} as {site.level.label} " \
                                        f"({len(site.sightings)} sightings)"
    restored = doc.session.step_texts()[0][-1]
    assert restored == doc.undo_stack.undoText()


def test_sites_that_cannot_be_read_leave_no_count_waiting(qtbot, panel):
    """The label said "counting…" for good when the sites could not be read after the
    threshold moved."""
    panel.document.set_score_threshold(0.9)
    panel._update_threshold_count()
    assert panel.threshold_label.text().endswith("counting…")
    panel._on_failed(RuntimeError("telemetry unreadable"))
    assert panel.threshold_label.text() == "0.90" and panel.summary.text() == "No sites: telemetry unreadable"


def test_a_new_track_takes_the_old_sites_off_the_map_and_the_list_alike_until_the_new_ones_come(
        qtbot, window, project, flight, tmp_path):
    """The map kept the sites placed with the track before while the Sites panel said it
    was reading the new ones."""
    import shutil

    from app.panels.map_panel import MapPanel

    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: not map_panel.busy and map_panel.map_widget.content is not None, timeout=30_000)
    assert len(map_panel.map_widget.content.sites) == 3
    chosen = panel.site_list.item(1).data(SITE_ROLE)
    panel.select_site(chosen)
    other = tmp_path / "the_same_flight_logged_again.SRT"
    shutil.copy2(flight.srt, other)
    with qtbot.waitSignals([panel.sites_updated, map_panel.map_updated], timeout=30_000):
        assert window.use_telemetry(other)
        # at once: neither the list nor the map holds a site placed with the track before
        assert panel.site_list.count() == 0 and panel.summary.text() == "Reading the sites…"
        assert map_panel.map_widget.content is None and map_panel.map_widget.message == "Building the map…"
    qtbot.waitUntil(lambda: not map_panel.busy and not panel.busy and map_panel.map_widget.content is not None,
                    timeout=30_000)
    assert len(map_panel.map_widget.content.sites) == 3 and panel.site_list.count() == 3
    assert panel.current_site().site_id == chosen  # the reviewer's place kept


def test_a_site_earlier_decisions_disagree_on_is_listed_first_saying_so(qtbot, flight, project, errors):
    from core.review import RegroupSite, ReviewSession
    from core.sites import site_decision
    from services.sites import site_review

    with ProjectStore.open(project) as store:
        first = site_review(store)
        run1 = first.run_id
        site = max(first.sites, key=lambda s: len(s.sightings))
        session = ReviewSession(store, run1)
        # the earlier run's reviewer split the site in two and decided the parts apart
        session.apply(RegroupSite(run1, "split", site.detection_ids[-1:]))
        split = site_review(store)
        parts = [split.site_of_detection(site.detection_ids[0]), split.site_of_detection(site.detection_ids[-1])]
        session.apply(site_decision(parts[0], DamageLevel.SEVERE))
        session.apply(site_decision(parts[1], ReviewState.REJECTED))
        write_run(store, flight.detections, flight.times, settings={"n": 2})  # the new run sees one site
    frames = {sg.frame_index for sg in site.sightings}

    doc = ProjectDocument()
    notices: list[str] = []
    doc.notice.connect(notices.append)
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.open_path(project)
    first_row = panel.site_list.item(0)
    listed = panel.review.site(first_row.data(SITE_ROLE))
    assert {sg.frame_index for sg in listed.sightings} == frames and not listed.decided
    reason = (f"earlier decisions disagree: accepted as Severe in run {run1} at #{parts[0].site_id}, "
              f"rejected at #{parts[1].site_id}")
    assert reason in first_row.toolTip()
    assert any("1 site left for review: the earlier decisions disagree" in n for n in notices), notices
    doc.close()
    assert errors == []


def test_the_accept_button_says_before_a_is_pressed_that_it_relabels_the_other_level(qtbot, panel):
    """On a site listed as Severe with "levels disagree: 16 Severe / 23 Slight", A
    relabelled the 23 Slight sightings while the button and the row said "Accept"."""
    from core.review import Relabel

    doc = panel.document
    site = max(panel.review.sites, key=lambda s: len(s.sightings))
    other = next(level for level in DamageLevel if level < site.level) if site.level > DamageLevel.SLIGHT \
        else DamageLevel.SEVERE
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.apply_edit(Relabel(site.sightings[-1].detection_id, other), "Relabel one")
    site = panel.review.site_of_detection(site.sightings[0].detection_id)
    minority = {level: n for level, n in site.level_votes().items() if level is not site.level}
    assert sum(minority.values()) >= 1
    panel.select_site(site.site_id)
    button = panel.buttons["accept"]
    assert button.long_text == f"Accept as {site.level.label} (A)"  # shown where the panel has the room
    moved = minority.popitem()
    assert f"{moved[1]} {moved[0].label} sighting" in button.toolTip()
    assert f"relabelled {site.level.label}" in button.toolTip()
    row = panel.site_list.item(panel._row_of(site.site_id))
    assert f"Accept (A) takes it as {site.level.label}" in row.toolTip()
    agreeing = next(s for s in panel.review.sites if len(s.level_votes()) == 1 and not s.decided)
    panel.select_site(agreeing.site_id)
    assert button.long_text == button.text() == "Accept (A)" and "relabel" not in button.toolTip()


def test_each_decision_undo_and_redo_is_said_in_the_status_bar(qtbot, window, project, open_sites):
    """Deciding a site, Undo and Redo said nothing: the list mark and the Edit menu were
    the only trace of what a key did or took back."""
    panel = open_sites(project)
    status = window.statusBar()
    site = panel.current_site()
    count = counted(len(site.sightings), "sighting")
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_X)
    assert status.currentMessage() == f"Site #{site.site_id} rejected ({count}) — Ctrl+Z to undo"
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_Z, modifier=Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: status.currentMessage().startswith("Undone: "), timeout=5_000)
    assert status.currentMessage().startswith(f"Undone: Reject site #{site.site_id} ({count}) — ")
    assert status.currentMessage().endswith(" to redo")
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        window.redo_action.trigger()
    qtbot.waitUntil(lambda: status.currentMessage().startswith("Redone: "), timeout=5_000)
    assert status.currentMessage().startswith(f"Redone: Reject site #{site.site_id} ({count}) — Ctrl+Z to undo")
    relabelled = panel.current_site()
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_3)
    assert status.currentMessage() == (f"Site #{relabelled.site_id} relabelled Debris "
                                       f"({counted(len(relabelled.sightings), 'sighting')}) — Ctrl+Z to undo")


def test_accepting_a_site_whose_levels_disagree_says_what_it_relabelled():
    from core.sites import Sighting, SiteSummary

    def sighting(i, level):
        return Sighting(i, i, i / 10, level, 0.9, ReviewState.PENDING)

    site = SiteSummary(9, DamageLevel.SEVERE, 0.4, 0.0, 0.0,
                       tuple(sighting(i, DamageLevel.SEVERE if i < 16 else DamageLevel.SLIGHT) for i in range(39)), 0)
    assert decision_notice([site], ReviewState.ACCEPTED) == \
        "Site #9 accepted as Severe (39 sightings; 23 Slight relabelled Severe)"
    agreeing = replace(site, site_id=4, sightings=site.sightings[:16])
    assert decision_notice([agreeing], ReviewState.ACCEPTED) == "Site #4 accepted as Severe (16 sightings)"
    assert decision_notice([site, agreeing], ReviewState.ACCEPTED) == \
        "2 sites accepted (55 sightings; 23 of another level relabelled to their site's)"


def test_a_row_names_the_view_the_site_opens_at_where_its_best_score_is_elsewhere(qtbot, flight, project, tmp_path,
                                                                                 errors):
    """"best score 0.78 · 0:17.0–0:19.0" read as where selecting the site went, but the
    player opened at 0:19.0 on a 0.56 box: the best view is chosen for the review (a
    whole view of the site's level), not for its score. The row names both."""
    from core.sites import video_time
    from services.sites import site_review

    with ProjectStore.open(project) as store:
        largest = max(site_review(store).sites, key=lambda s: len(s.sightings))
        by_id = store.detections_by_id(list(largest.detection_ids))
    assert largest.frame_count >= 2 and largest.level > DamageLevel.SLIGHT
    # its last sighting the best scored, of a milder level (the site keeps its level: the
    # most severe one holding a third of the votes); the rest of its level, weaker
    last = by_id[largest.sightings[-1].detection_id]
    other = DamageLevel.SLIGHT
    keys = {(d.frame_index, tuple(d.box_xyxy_px)) for d in by_id.values()}
    detections = [replace(d, score=1.0, level=other) if (d.frame_index, tuple(d.box_xyxy_px)) ==
                  (last.frame_index, tuple(last.box_xyxy_px)) else
                  replace(d, score=0.6) if (d.frame_index, tuple(d.box_xyxy_px)) in keys else d
                  for d in flight.detections]
    path = tmp_path / "apart.dmproj"
    with ProjectStore.create(path, video_path=flight.video, telemetry_path=flight.srt) as store:
        write_run(store, detections, flight.times)
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        doc.open_path(path)
    site = panel.review.site_of_detection(next(
        d.id for d in doc.store.detections(doc.run_id, frame_index=last.frame_index, masks=False)
        if tuple(d.box_xyxy_px) == tuple(last.box_xyxy_px)))
    view = next(s for s in site.sightings if s.detection_id == site.best_detection_id)
    assert view.score < 1.0 and video_time(view.t_s) != video_time(last_t := max(site.sightings,
                                                                                   key=lambda s: s.score).t_s)
    line = panel.site_list.item(panel._row_of(site.site_id)).text().split("\n")[0]
    assert f"  best view {video_time(view.t_s)} · best score 1.00 at {video_time(last_t)} · " in line
    panel.select_site(next(s.site_id for s in panel.review.sites if s.site_id != site.site_id))
    with qtbot.waitSignal(doc.detection_requested) as requested:
        panel.select_site(site.site_id)  # the player opens at the view the row names
    assert requested.args == [view.frame_index, view.detection_id]
    # the map's tooltip words it as the row does
    from app.widgets.map_view import MapLayers, site_tooltip

    layers = MapLayers.from_damage_map(panel.review.damage_map)
    at = next(i for i, mapped in enumerate(layers.sites) if mapped.id == site.site_id)
    assert site_tooltip(layers.sites[at], layers.site_views_apart[at]).split("\n")[0] == line
    doc.close()
    assert errors == []


def _placed_anew(panel, how: str, flight, tmp_path) -> None:
    """A clock offset 0.3 s later, or a track of the flight's first 40% (the frames after
    it placed from its last fixes): both split the flight's third site."""
    doc = panel.document
    if how == "clock offset":
        doc.change_settings(replace(doc.settings, time_offset_s=doc.settings.time_offset_s + 0.3),
                            "Change clock offset")
        return
    blocks = [block for block in flight.srt.read_text(encoding="utf-8").split("\n\n") if block.strip()]
    shorter = tmp_path / "the_first_part_of_the_log.SRT"
    shorter.write_text("\n\n".join(blocks[:len(blocks) * 2 // 5]) + "\n\n", encoding="utf-8")
    doc.set_telemetry(shorter)


@pytest.mark.parametrize("how", ["clock offset", "track"])
def test_sites_placed_anew_keep_the_list_on_the_site_holding_most_of_its_sightings(qtbot, panel, flight, tmp_path,
                                                                                   how):
    """A clock offset or a track that splits the site in view: the list stays on the part
    holding most of its sightings, the same site as the reviewer knows it (it went to the
    part holding its best sighting, one frame's, listed last as unconfirmed)."""
    doc = panel.document
    last = max(range(panel.site_list.count()), key=lambda row: (len(panel.review.site(
        panel.site_list.item(row).data(SITE_ROLE)).detection_ids), row))
    panel.site_list.setCurrentRow(last)
    site = panel.current_site()
    sightings, best = set(site.detection_ids), site.best_detection_id
    requests = []
    doc.detection_requested.connect(lambda _frame, detection_id: requests.append(detection_id))
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        _placed_anew(panel, how, flight, tmp_path)
    now = panel.current_site()
    assert now is not None
    most = max(len(sightings & set(s.detection_ids)) for s in panel.review.sites)
    assert 0 < most < len(sightings)  # split, else the test shows nothing
    assert panel.review.site_of_detection(best).site_id != now.site_id  # the best sighting went to the smaller part
    assert len(sightings & set(now.detection_ids)) == most
    assert requests[-1] in now.detection_ids  # the player shows the site the keys act on


def test_tabbing_into_the_crop_grid_leaves_the_player_on_the_site_s_best_view(qtbot, panel):
    """Tab from the Sites list into the crop grid (on the way to the buttons, or to pick
    crops) sent the player to the first crop's frame, away from the site's best view; as
    in the Review Table, the keys arriving pick nothing. An arrow then does."""
    doc = panel.document
    panel.site_list.setFocus()
    qtbot.waitUntil(panel.site_list.hasFocus, timeout=5_000)
    row = next(r for r in range(panel.site_list.count())
               if len(panel.review.site(panel.site_list.item(r).data(SITE_ROLE)).detection_ids) > 1)
    panel.site_list.setCurrentRow(row)
    site = panel.current_site()
    requests = []
    doc.detection_requested.connect(lambda _frame, detection_id: requests.append(detection_id))
    qtbot.keyClick(panel.site_list, Qt.Key.Key_Tab)
    qtbot.waitUntil(panel.grid.hasFocus, timeout=5_000)
    assert requests == []
    qtbot.keyClick(panel.grid, Qt.Key.Key_Right)
    assert requests and requests[-1] in site.detection_ids


class _CountingMetrics:
    """A font's metrics that count the texts measured."""

    def __init__(self, metrics) -> None:  # noqa: ANN001 - QFontMetrics
        self._metrics = metrics
        self.measured = 0

    def horizontalAdvance(self, text: str) -> int:  # noqa: N802 - Qt's name
        self.measured += 1
        return self._metrics.horizontalAdvance(text)

    def elidedText(self, text: str, mode, width: int) -> str:  # noqa: N802, ANN001 - Qt's name
        return self._metrics.elidedText(text, mode, width)


def test_a_site_row_s_lines_that_fit_are_measured_once_each_not_word_by_word(qtbot):
    """Fitting the list's rows measured every word of the longest rows at each resize of the
    list (six as a project opens): a line that fits whole is measured once; one that does
    not still wraps at its spaces."""
    from PySide6.QtGui import QFont, QFontMetrics

    from app.panels.site_review_panel import wrapped_lines

    metrics = _CountingMetrics(QFontMetrics(QFont()))
    line = "#12 Severe 0.93 · 4 sightings in 3 frames · 0:05.0–0:07.5"
    reason = "levels disagree: 2 Severe, 2 Debris"
    width = metrics.horizontalAdvance(line) + 10
    metrics.measured = 0
    assert wrapped_lines(f"{line}\n{reason}", metrics, width, 8) == [line, reason]
    assert metrics.measured == 2
    narrow = metrics.horizontalAdvance("#12 Severe 0.93 · 4 sightings") + 2
    wrapped = wrapped_lines(line, metrics, narrow, 8)
    assert wrapped[0] == "#12 Severe 0.93 · 4 sightings" and " ".join(wrapped) == line


def test_the_review_table_counts_what_is_left_to_review_once_per_reload(qtbot, project, monkeypatch):
    """Filling the Review Table counted the run's rows left to review twice (a count reads
    every row of the run: a tenth of a second each on a long flight's 15,000 detections)."""
    doc = ProjectDocument()
    panel = ReviewPanel(doc)
    qtbot.addWidget(panel)
    doc.open_path(project)
    try:
        counts = []
        pending_count = ProjectDocument.pending_count
        monkeypatch.setattr(ProjectDocument, "pending_count", lambda self: counts.append(1) or pending_count(self))
        panel.reload()
        assert len(counts) == 1
        pending, total, _under = pending_count(doc)
        assert panel.view.pending_label.text() == f"{pending} left to review of {total}"
    finally:
        doc.close()
