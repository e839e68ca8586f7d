"""Panels listen to the project document themselves; the window only docks them."""

from __future__ import annotations

import numpy as np
from dataclasses import replace
import pytest

from app.document import ProjectDocument
from app.panels.review_panel import ReviewPanel
from core.masks import RleMask
from core.settings import ProjectSettings
from core.store import ProjectStore
from core.types import DamageLevel, Detection, Frame, ReviewState


def test_the_map_panel_follows_the_document_without_a_window(qtbot, map_panel, errors):
    panel, doc = map_panel, map_panel.document
    map_widget = panel.map_widget
    assert map_widget.content is not None and len(map_widget.content) > 1  # the track, nothing analysed yet
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.update_settings(time_offset_s=0.25)  # the project settings changed: rebuilt
    with qtbot.waitSignal(doc.detection_requested) as requested:
        map_widget.site_clicked.emit(3, None)
    assert requested.args == [3, None]
    doc.close()
    assert map_widget.content is None and map_widget.message == "No project open"
    assert errors == []


def test_the_window_docks_every_panel_and_lists_it_in_the_view_menu(window):
    for kind in window.PANELS:
        panel = window.panel(kind)
        assert panel.document is window.document
        dock = next(d for d in window.docks if d.widget() is panel)
        assert dock.objectName() == kind.object_name and dock.windowTitle() == kind.title
        assert dock.toggleViewAction() in window.view_menu.actions()


def test_the_review_panel_follows_the_document_without_a_window(qtbot, flyover, errors, two_detections_project):
    doc = ProjectDocument()
    panel = ReviewPanel(doc)
    qtbot.addWidget(panel)
    doc.open_path(two_detections_project)
    view = panel.view
    assert view.model.rowCount() == 2 and view.pending_label.text() == "2 left to review of 2"
    assert not view.accept_button.isEnabled() and view.next_button.isEnabled()
    first, second = (d.id for d in doc.all_detections())
    doc.set_selection(second)
    assert view.accept_button.isEnabled()
    view.accept_button.click()  # edits the document's selection through its undo stack
    assert doc.detection(second).review is ReviewState.ACCEPTED
    assert view.pending_label.text() == "1 left to review of 2" and doc.undo_stack.count() == 1
    with qtbot.waitSignal(doc.detection_requested) as requested:
        view.next_button.click()
    assert requested.args == [2, first]
    debris = view.relabel_buttons[DamageLevel.DEBRIS]
    assert debris.text() == "Debris (3)"  # the level it sets, and the key that does the same
    debris.click()
    assert doc.detection(second).level is DamageLevel.DEBRIS
    doc.close()
    assert view.model.rowCount() == 0 and errors == []


def _project_of_a_detector_trained_lower(flyover, tmp_path, low_m: float, high_m: float, telemetry: str = "flight.SRT"):
    """A project of the flyover (its SRT) whose run's detector states it was trained on
    footage from ``low_m``-``high_m`` metres up (the weights' JSON)."""
    import json

    from engine.video import probe_video

    weights = tmp_path / "detector.safetensors"
    weights.write_bytes(b"")
    weights.with_suffix(".json").write_text(json.dumps({"footage": {"altitude_above_ground_m": [low_m, high_m]}}))
    video = flyover / "flight.mp4"
    info = probe_video(video)
    w, h = info.width_px, info.height_px
    mask = np.zeros((h, w), bool)
    mask[h // 2 - 5:h // 2 + 5, w // 2 - 5:w // 2 + 5] = True
    with ProjectStore.create(flyover / "flight.dmproj", video_path=video, telemetry_path=flyover / telemetry) as store:
        run = store.start_run(model={"weights": str(weights)}, settings={})
        for index in (2, 4):
            detection = Detection(index, DamageLevel.SEVERE, 0.9, (w / 2 - 5, h / 2 - 5, w / 2 + 5, h / 2 + 5),
                                  RleMask.from_array(mask))
            store.write_frame(run, Frame(index, info.pts_s[index], w, h), [detection])
        store.finish_run(run)
    return flyover / "flight.dmproj"


def test_the_map_panel_shows_the_maps_cautions_and_clears_them(qtbot, flyover, tmp_path, errors):
    from app.panels.map_panel import MapPanel

    doc = ProjectDocument()
    panel = MapPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    label = panel.caution_label
    assert label.isHidden()
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.open_path(_project_of_a_detector_trained_lower(flyover, tmp_path, 2.0, 8.0))
    assert not label.isHidden()
    assert "higher than the 2-8 m of the footage the detector was trained on" in label.text()
    assert label.text().startswith("The drone flew about")
    doc.close()
    assert label.isHidden() and label.text() == ""
    assert errors == []


def test_a_map_placed_with_the_assumed_pitch_says_so_and_offers_the_georeferencing(qtbot, flyover, tmp_path, errors):
    """The GPX gives no gimbal pitch: the map is made, with a caution and the button."""
    from app.panels.map_panel import MapPanel
    from services.maps import ASSUMED_PITCH_CAUTION

    project = _project_of_a_detector_trained_lower(flyover, tmp_path, 20.0, 80.0, telemetry="flight.gpx")
    with ProjectStore.open(project) as store:
        store.set_project_settings(ProjectSettings(ground_elevation_m=10.0))
    doc = ProjectDocument()
    panel = MapPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.open_path(project)
    content = panel.map_widget.content
    assert content is not None and content.sites and content.pitch_assumed
    assert ASSUMED_PITCH_CAUTION[1:] in panel.caution_label.text() and panel.georeferencing_button.isVisible()
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.update_settings(camera_pitch_deg=-50.0)  # set (or read from the video)
    assert not panel.map_widget.content.pitch_assumed
    assert panel.caution_label.isHidden() and not panel.georeferencing_button.isVisible()
    doc.close()
    assert errors == []


def test_before_any_analysis_the_track_shows_what_keeps_it_off_the_map(qtbot, flyover, errors):
    """Said when the video is opened, not after the analysis: the GPX starts in the air."""
    from app.panels.map_panel import MapPanel

    with ProjectStore.create(flyover / "flight.dmproj", video_path=flyover / "flight.mp4",
                             telemetry_path=flyover / "flight.gpx"):
        pass
    doc = ProjectDocument()
    panel = MapPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.open_path(flyover / "flight.dmproj")
    assert panel.map_widget.content is not None and len(panel.map_widget.content) > 1  # the track
    caution = panel.caution_label
    assert caution.isVisible() and caution.text().startswith("The map cannot be made as the project is set")
    assert "already flying" in caution.text() and panel.georeferencing_button.isVisible()
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.update_settings(ground_elevation_m=10.0)
    assert not caution.isVisible() and not panel.georeferencing_button.isVisible()
    assert panel.map_widget.content is not None
    doc.close()
    assert errors == []


def test_a_map_the_telemetry_cannot_place_offers_the_georeferencing(qtbot, flyover, tmp_path, errors):
    """The flyover's GPX gives absolute altitudes from a drone already flying: no map,
    the message says why, and one button leads to the settings that fix it."""
    from app.panels.map_panel import MapPanel

    doc = ProjectDocument()
    panel = MapPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    button = panel.georeferencing_button
    assert not button.isVisible()
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.open_path(_project_of_a_detector_trained_lower(flyover, tmp_path, 20.0, 80.0, telemetry="flight.gpx"))
    assert panel.map_widget.content is None
    assert "already flying" in panel.map_widget.message and "ground elevation" in panel.map_widget.message
    assert button.isVisible()
    with qtbot.waitSignal(panel.georeferencing_requested, timeout=1_000):
        button.click()
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.update_settings(ground_elevation_m=10.0, camera_pitch_deg=-50.0)  # placed, the camera set too
    assert panel.map_widget.content is not None and not button.isVisible()
    doc.close()
    assert not button.isVisible()
    assert errors == []


def test_the_review_table_names_the_site_of_each_detection(qtbot, sites_truth, tmp_path, errors):
    from PySide6.QtCore import Qt

    from app.panels.site_review_panel import SiteReviewPanel
    from app.widgets.detections_table import SITE_COLUMN
    from services.sites import site_review
    from tests.truth_runs import write_run

    project = tmp_path / "flight.dmproj"
    with ProjectStore.create(project, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        expected = site_review(store).site_of
    doc = ProjectDocument()
    sites, review = SiteReviewPanel(doc), ReviewPanel(doc)
    for panel in (sites, review):
        qtbot.addWidget(panel)
    with qtbot.waitSignal(sites.sites_updated, timeout=30_000):
        doc.open_path(project)
    model = review.view.model

    def site_cells() -> dict[int, str]:
        return {model.detection(r).id: model.index(r, SITE_COLUMN).data() for r in range(model.rowCount())}

    cells = site_cells()
    assert model.headerData(SITE_COLUMN, Qt.Orientation.Horizontal) == "Site"
    assert len(set(expected.values())) >= 3 and set(expected) <= set(cells)
    assert all(cells[detection] == f"#{site}" for detection, site in expected.items())
    assert all(cells[d] == "" for d in set(cells) - set(expected))

    # sorted by site, each site's sightings are together
    review.view.table.sortByColumn(SITE_COLUMN, Qt.SortOrder.AscendingOrder)
    proxy = review.view.proxy
    order = [proxy.index(r, SITE_COLUMN).data() for r in range(proxy.rowCount())]
    assert order == sorted(order, key=lambda text: int(text[1:]) if text else 1 << 62)

    # a rejected site leaves the map: its sightings are in no site any more
    rejected = max(sites.review.sites, key=lambda s: len(s.sightings))
    sites.select_site(rejected.site_id)
    with qtbot.waitSignal(sites.sites_updated, timeout=30_000):
        sites.decide(ReviewState.REJECTED)
    cells = site_cells()
    assert all(cells[d] == "" for d in rejected.detection_ids)
    assert any(cells.values())  # the other sites keep theirs
    doc.close()
    assert doc.site_assignments() == ({}, frozenset())  # a next project starts with no sites


@pytest.mark.parametrize("saved, floor, shown", [(0.555, 0.0, 2), (0.1, 0.2, 3)])
def test_opening_a_project_keeps_the_threshold_the_command_line_saved(qtbot, flyover, errors, saved, floor, shown):
    """`export --min-score 0.555 --save` (or 0.1, under the run's 0.2 floor) is what the
    project keeps after the window opened it: the Review table's score box shows 0.01 steps
    and stops at the floor, but what it shows is not saved over the project's value, and the
    table hides exactly the rows the map leaves out."""
    from dataclasses import replace

    from engine.video import probe_video

    video = flyover / "flight.mp4"
    info = probe_video(video)
    w, h = info.width_px, info.height_px
    mask = np.zeros((h, w), bool)
    mask[10:30, 10:40] = True
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        run = store.start_run(model={"weights": None}, settings={"score_threshold": floor})
        store.write_frame(run, Frame(2, info.pts_s[2], w, h), [
            Detection(2, DamageLevel.SEVERE, s, (10.0, 10.0, 40.0, 30.0), RleMask.from_array(mask))
            for s in (0.9, 0.557, 0.553)])
        store.finish_run(run)
        store.set_project_settings(replace(store.project_settings(), min_score=saved))
    doc = ProjectDocument()
    panel = ReviewPanel(doc)
    qtbot.addWidget(panel)
    doc.open_path(path)
    assert doc.score_threshold == saved
    assert panel.view.proxy.rowCount() == shown
    doc.close()
    with ProjectStore.open(path) as store:
        assert store.project_settings().min_score == saved
    assert errors == []


def test_review_done_outside_the_window_is_shown_and_undone_in_order(qtbot, flyover, errors, two_detections_project):
    """`damagemap survey decide` while the project is open in the window: the window shows
    the decision within moments and its Undo holds it, so undoing there takes back the
    last step made, whoever made it, and the history still reads back whole."""
    from core.review import ReviewSession, SetReview

    path = two_detections_project
    doc = ProjectDocument()
    panel = ReviewPanel(doc)
    qtbot.addWidget(panel)
    doc.open_path(path)
    first, second = (d.id for d in doc.all_detections())
    doc.apply_edit(SetReview(first, ReviewState.ACCEPTED), "Accept")
    assert not doc.check_outside_changes()  # the window's own edit is no news
    with ProjectStore.open(path) as store:  # another program
        ReviewSession(store, doc.run_id, author="cli").apply(SetReview(second, ReviewState.REJECTED))
    with qtbot.waitSignal(doc.notice, timeout=10_000) as said:  # the window's own look, on its timer
        pass
    assert "changed outside this window" in said.args[0]
    assert doc.detection(second).review is ReviewState.REJECTED
    assert panel.view.pending_label.text() == "all 2 reviewed"
    assert doc.undo_stack.count() == 2 and doc.undo_stack.index() == 2
    assert not doc.check_outside_changes()
    doc.undo_stack.undo()  # the last step made: the other program's
    assert doc.detection(second).review is ReviewState.PENDING
    assert doc.detection(first).review is ReviewState.ACCEPTED
    doc.close()
    with ProjectStore.open(path) as store:
        assert ReviewSession(store, store.latest_run_id()).restore_history() == (1, 1)
    assert errors == []


def test_opening_a_project_reads_the_run_s_detections_once_without_their_masks(qtbot, window, flyover, monkeypatch, two_detections_project):
    """The table and the timeline need no mask; a 20-minute flight's masks took seconds to
    decode, and the run was read four times, twice with the table sorted, while the
    window froze."""
    path = two_detections_project
    reads = []
    detections = ProjectStore.detections

    def counted(self, run_id, **kwargs):
        if kwargs.get("frame_index") is None:
            reads.append(kwargs.get("masks", True))
        return detections(self, run_id, **kwargs)

    monkeypatch.setattr(ProjectStore, "detections", counted)
    assert window.open_path(path)
    assert reads == [False]
    with ProjectStore.open(path) as store:
        light = store.detections(store.latest_run_id(), masks=False)
        full = store.detections(store.latest_run_id())
    assert [d.mask for d in light] == [None, None] and all(d.mask is not None for d in full)
    assert [replace(d, mask=None) for d in full] == light
    assert window.panel(ReviewPanel).view.model.rowCount() == 2
