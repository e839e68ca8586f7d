"""Reviewing past the map's sites: the Sites list goes on to the unconfirmed sites once
the map's are decided. The decision that finishes the map says so, and the map rings the
unconfirmed site selected even though it leaves those off."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.panels.map_panel import MapPanel
from app.panels.site_review_panel import SiteReviewPanel
from core.store import ProjectStore
from tests.truth_runs import write_run


def _project(path: Path, flight, dropped: frozenset = frozenset()) -> Path:
    with ProjectStore.create(path, video_path=flight.video, telemetry_path=flight.srt) as store:
        write_run(store, [d for d in flight.detections if (d.frame_index, d.box_xyxy_px) not in dropped], flight.times)
    return path


@pytest.fixture
def one_unconfirmed(sites_truth, tmp_path) -> Path:
    """The flight's ground truth with the site seen in the most frames kept in one of
    them only: an unconfirmed site."""
    from services.sites import site_review

    with ProjectStore.open(_project(tmp_path / "whole.dmproj", sites_truth)) as store:
        review = site_review(store)
        target = max(review.sites, key=lambda s: s.frame_count)
        stored = {d.id: d for d in store.detections(review.run_id)}
        kept = target.sightings[len(target.sightings) // 2].detection_id
        dropped = frozenset((stored[s.detection_id].frame_index, stored[s.detection_id].box_xyxy_px)
                            for s in target.sightings if s.detection_id != kept)
    return _project(tmp_path / "one-off.dmproj", sites_truth, dropped)


def test_an_unconfirmed_site_selected_is_ringed_dashed_where_it_is(qtbot, window, one_unconfirmed, errors):
    from PySide6.QtCore import Qt

    sites, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    with qtbot.waitSignal(sites.sites_updated, timeout=30_000), qtbot.waitSignal(map_panel.map_updated, timeout=30_000):
        assert window.open_path(one_unconfirmed)
    qtbot.waitUntil(lambda: not map_panel.busy and not sites.busy, timeout=30_000)
    (ghost_id,) = sites.review.unconfirmed
    ghost = sites.review.site(ghost_id)
    widget = map_panel.map_widget
    assert ghost_id not in {s.id for s in widget.visible_sites}  # left off the map

    sites.select_site(ghost_id)  # the player and the map follow its best sighting
    assert window.document.selected_id == ghost.best_detection_id
    at = widget.ringed_left_off
    assert at is not None and widget._plane is not None
    expected = widget._plane.point(ghost.lon_deg, ghost.lat_deg)
    assert abs(at.x() - expected.x()) < 1e-6 and abs(at.y() - expected.y()) < 1e-6
    assert widget._highlight.pen().style() == Qt.PenStyle.DashLine

    map_panel.show_unconfirmed.setChecked(True)  # drawn now: the ring is the usual one, on its dot
    assert widget.ringed_left_off is None and widget.highlighted_site.id == ghost_id
    assert widget._highlight.pen().style() == Qt.PenStyle.SolidLine

    confirmed = next(s for s in sites.review.sites if s.site_id != ghost_id)
    map_panel.show_unconfirmed.setChecked(False)
    sites.select_site(confirmed.site_id)
    assert widget.ringed_left_off is None and widget.highlighted_site.id == confirmed.site_id
    assert errors == []


def test_the_decision_that_leaves_no_site_of_the_map_to_decide_says_so(qtbot, window, one_unconfirmed):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    sites = window.panel(SiteReviewPanel)
    window.activateWindow()
    with qtbot.waitSignal(sites.sites_updated, timeout=30_000):
        assert window.open_path(one_unconfirmed)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is sites.site_list, timeout=5_000)
    (ghost_id,) = sites.review.unconfirmed
    on_map = [s for s in sites.review.sites if s.site_id != ghost_id]
    assert len(on_map) >= 2
    for index in range(len(on_map)):
        assert sites.current_site().site_id != ghost_id  # the map's first, in queue order
        with qtbot.waitSignal(sites.sites_updated, timeout=30_000):
            qtbot.keyClick(sites.site_list, Qt.Key.Key_A)
        said = window.statusBar().currentMessage()
        if index < len(on_map) - 1:
            assert "sites of the map decided" not in said
    assert sites.current_site().site_id == ghost_id  # the list goes on to the unconfirmed one
    assert said.startswith(f"All {len(on_map)} sites of the map decided (Ctrl+E exports); 1 unconfirmed left, off "
                           "the map unless accepted — Site #")  # the decision's own notice after it
    assert said.endswith("Ctrl+Z to undo")
