"""The status bar keeps saying that sites are left for review because earlier decisions
disagree, while any of them is still to decide; its Show button selects the first."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.panels.site_review_panel import SiteReviewPanel
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from tests.truth_runs import write_run


@pytest.fixture
def disputed_project(sites_truth, tmp_path) -> Path:
    """Two runs of the same flight: in the first, the reviewer split the most seen site in
    two and accepted one part, rejected the other; the second run sees one site there."""
    from core.review import RegroupSite, ReviewSession
    from core.sites import site_decision
    from services.sites import site_review

    path = tmp_path / "flight.dmproj"
    with ProjectStore.create(path, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        first = site_review(store)
        site = max(first.sites, key=lambda s: len(s.sightings))
        session = ReviewSession(store, first.run_id)
        session.apply(RegroupSite(first.run_id, "split", site.detection_ids[-1:]))
        split = site_review(store)
        session.apply(site_decision(split.site_of_detection(site.detection_ids[0]), DamageLevel.SEVERE))
        session.apply(site_decision(split.site_of_detection(site.detection_ids[-1]), ReviewState.REJECTED))
        write_run(store, sites_truth.detections, sites_truth.times, settings={"n": 2})
    return path


def test_the_note_stays_until_the_disputed_site_is_decided_and_show_selects_it(qtbot, window, disputed_project,
                                                                               errors):
    panel = window.panel(SiteReviewPanel)
    note = window.disputed_note
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(disputed_project)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    [disputed] = panel.disputed_sites()
    assert note.isVisible() and note.label.text() == "1 disputed site to decide: earlier decisions disagree"
    window.statusBar().clearMessage()  # the 4 s notice gone: the note is not a notice
    assert note.isVisible()

    other = next(site for site in panel.review.sites if site.site_id != disputed.site_id)
    panel.select_site(other.site_id)
    assert panel.current_site().site_id == other.site_id
    note.show_button.click()
    assert panel.current_site().site_id == disputed.site_id

    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        panel.decide(ReviewState.ACCEPTED)
        assert not note.isVisible()  # at once, not only once the list is read again
    assert not note.isVisible() and panel.disputed_sites() == []

    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        window.undo_action.trigger()
    assert note.isVisible() and [s.site_id for s in panel.disputed_sites()] == [disputed.site_id]

    window.close_project()
    assert not note.isVisible()
    assert errors == []
