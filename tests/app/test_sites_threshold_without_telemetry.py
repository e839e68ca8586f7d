"""The Sites panel's score slider says its value, and why no sites are counted, on a bare video."""

from __future__ import annotations

from app.panels.site_review_panel import SiteReviewPanel
from core.store import ProjectStore
from tests.truth_runs import write_run


def test_a_bare_video_s_slider_shows_its_value_and_that_sites_need_telemetry(qtbot, window, sites_truth, tmp_path):
    path = tmp_path / "bare.dmproj"
    with ProjectStore.create(path, video_path=sites_truth.video) as store:  # no telemetry
        write_run(store, sites_truth.detections, sites_truth.times)
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(path)
    value = window.document.score_threshold
    assert panel.threshold_label.text() == f"{value:.2f}: no sites without telemetry"
    window.document.set_score_threshold(0.65)  # as the slider does
    assert panel.threshold_label.text() == "0.65: no sites without telemetry"
    assert panel.threshold.value() == 65


def test_a_video_before_its_analysis_says_so(qtbot, window, flyover):
    panel = window.panel(SiteReviewPanel)
    assert window.open_path(flyover / "flight.mp4")  # its telemetry found beside it
    qtbot.waitUntil(lambda: panel.threshold_label.text() != "", timeout=10_000)
    assert panel.threshold_label.text() == f"{window.document.score_threshold:.2f}: no sites before an analysis"
