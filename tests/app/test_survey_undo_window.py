"""A ``survey decide`` decision taken back with the window's Undo in the flight it was
applied to: the survey's list (its map, built as ``damagemap survey info`` builds it)
shows the site again, and its notes say the survey's decision was taken back.

The survey is one copy of the small rendered flight (tests/conftest.py's
``sites_truth``), holding its ground truth as a finished run."""

from __future__ import annotations

import shutil

from core.sites import distance_m
from core.store import ProjectStore
from core.types import ReviewState
from services import survey as surveys
from tests.truth_runs import write_run


def test_undoing_a_survey_rejection_in_the_flight_puts_the_site_back_on_the_survey_s_map(window, qtbot, sites_truth,
                                                                                         tmp_path):
    from app.panels.site_review_panel import SiteReviewPanel

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy2(sites_truth.video, videos / "monday.mp4")
    shutil.copy2(sites_truth.srt, videos / "monday.SRT")
    survey = surveys.create_survey(tmp_path / "town", "town")
    monday = surveys.add_flight(survey, videos / "monday.mp4", date="2018-10-12")
    with ProjectStore.open(survey.project_path(monday)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    built = surveys.survey_map(survey)
    target = max(built.sites, key=lambda s: (s.observation_count, -s.id))
    surveys.decide(survey, target.id, ReviewState.REJECTED, built=built)  # `damagemap survey decide`

    def at_target(survey_map):
        return [s for s in survey_map.sites
                if distance_m(s.lon_deg, s.lat_deg, target.lon_deg, target.lat_deg) <= 3.0]

    # the reviewer opens the flight and takes the rejection back (Edit > Undo)
    sites = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(sites.sites_updated, timeout=60_000):
        assert window.open_path(survey.project_path(monday))
    qtbot.waitUntil(lambda: sites.review is not None and not sites.busy, timeout=60_000)
    assert window.document.undo_stack.canUndo()
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: not sites.busy and any(
        distance_m(s.lon_deg, s.lat_deg, target.lon_deg, target.lat_deg) <= 3.0 and not s.decided
        for s in sites.review.sites), timeout=60_000)

    # the survey's list: the site is on its map again, and the notes say why
    dialog = window.surveys.open(survey.folder)
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000) as ready:
        pass
    shown = ready.args[0]
    assert at_target(shown) and not any(s.reviewed for s in at_target(shown))
    assert len(shown.sites) == len(built.sites)
    assert "taken back in flight monday" in dialog.notes.text()
