"""Analysis > Show Run: a project with two runs (a first model's, reviewed, and a newer
one stopped part-way) opens on the latest; the menu lists both, the shown one checked,
and choosing the earlier one brings back its detections, its review and its sites; the
project opens on it again, until an analysis makes a newer run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.review import ReviewSession, SetReview
from core.store import ProjectStore
from core.types import Frame, ReviewState


@pytest.fixture
def two_runs(flyover_template, flyover) -> tuple[Path, int]:
    """Run 1: the flyover's ground truth as detections, finished, one reviewed; run 2: one
    frame of it, not finished. Returns the project and run 1's detection count."""
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=flyover / "flight.mp4", telemetry_path=flyover / "flight.SRT") as store:
        total = _write_two_runs(store, flyover_template)
    return path, total


def _write_two_runs(store: ProjectStore, flyover_template: Path) -> int:
    """The two runs of :func:`two_runs` into ``store``; run 1's detection count."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover_template / "annotations" / "instances_train.json", score=0.6)
    mask = next(d.mask for d in detections if d.mask is not None)
    first = store.start_run(model={"weights": "/models/first.safetensors"}, settings={})
    for index in sorted(times):
        store.write_frame(first, Frame(index, times[index], mask.width_px, mask.height_px),
                          [replace(d, id=None) for d in detections if d.frame_index == index])
    store.finish_run(first)
    ReviewSession(store, first, author="tester").apply(
        SetReview(store.detections(first, frame_index=0)[0].id, ReviewState.ACCEPTED))
    second = store.start_run(model={"weights": "/models/ft-001.safetensors"}, settings={})
    frame_0 = [replace(d, id=None) for d in detections if d.frame_index == 0][:1]
    store.write_frame(second, Frame(0, times[0], mask.width_px, mask.height_px), frame_0)
    return len(store.detections(first))


def test_show_run_lists_the_runs_and_brings_back_an_earlier_one_with_its_review(qtbot, window, two_runs):
    path, total = two_runs
    assert window.open_path(path)
    doc = window.document
    assert doc.run_id == 2 and "run 2 of 2 (the latest)" in window.project_label.toolTip()
    assert len(doc.detections(0)) == 1

    menu = window.runs_menu
    menu.fill()
    actions = menu.actions()
    labels = [action.text() for action in actions]
    assert len(labels) == 2
    assert labels[0].startswith("Run 2: ") and "ft-001.safetensors · 1 frame, not finished · 0 of 1 detections" \
        in labels[0]
    assert labels[1].startswith("Run 1: ") and "first.safetensors · " in labels[1]
    assert f"complete · 1 of {total} detections reviewed" in labels[1]
    assert [action.isChecked() for action in actions] == [True, False]

    window.open_export_button.setVisible(True)  # as after an export of run 2
    with qtbot.waitSignal(doc.run_changed, timeout=10_000):
        actions[1].trigger()
    assert window.open_export_button.isHidden()  # it would open run 2's files
    assert doc.run_id == 1 and "run 1 of 2 (Analysis > Show Run)" in window.project_label.toolTip()
    assert len(doc.detections(0)) > 1  # run 1's detections of frame 0, one of them accepted
    assert [d.review for d in doc.detections(0)].count(ReviewState.ACCEPTED) == 1
    menu.fill()
    assert [action.isChecked() for action in menu.actions()] == [False, True]
    from app.panels.site_review_panel import SiteReviewPanel

    sites = window.panel(SiteReviewPanel)
    qtbot.waitUntil(lambda: sites.review is not None and sites.review.run_id == 1 and not sites.busy, timeout=30_000)
    assert "They are run 1's, of the project's 2 runs (Analysis > Show Run)." in window.export_sites_note()

    window.close_project()  # the choice is remembered for this project...
    assert window.open_path(path) and doc.run_id == 1
    window.close_project()
    with ProjectStore.open(path) as store:  # ...until an analysis makes a newer run: that one is news
        store.start_run(model={"weights": "/models/ft-002.safetensors"}, settings={})
    assert window.open_path(path) and doc.run_id == 3
    assert "run 3 of 3 (the latest)" in window.project_label.toolTip()


def test_show_run_is_off_while_an_analysis_runs(qtbot, window, two_runs):
    path, _ = two_runs
    assert window.open_path(path)
    assert window.runs_menu.menuAction().isEnabled()
    window._analysis = SimpleNamespace(is_running=True, error=None)
    try:
        window._update_actions()
        assert not window.runs_menu.menuAction().isEnabled()
        window.show_run(1)  # and asked anyway, the window keeps following the analysis
        assert window.document.run_id == 2
    finally:
        window._analysis = None
        window._update_actions()
    assert window.runs_menu.menuAction().isEnabled()


def test_a_survey_flight_opens_on_the_run_the_survey_maps_and_says_so_when_it_shows_another(
        qtbot, window, flyover_template, flyover, app_settings):
    """The survey's map and export take each flight's latest run: the window does not
    bring back an earlier run chosen there, and says which run the survey maps."""
    from services import survey as surveys

    survey = surveys.create_survey(flyover.parent / "town", "town")
    flight = surveys.add_flight(survey, flyover / "flight.mp4", name="north")
    project = survey.project_path(flight)
    with ProjectStore.open(project) as store:
        _write_two_runs(store, flyover_template)
    app_settings.set_shown_run(project, 1, 2)  # chosen there before
    assert window.open_path(project)
    assert window.document.run_id == 2
    assert window.windowTitle() == "damagemap — north (flight.mp4)"  # drones name every video alike
    window.show_run(1)
    assert window.document.run_id == 1
    assert "run 1 of 2 (the survey maps run 2, the latest)" in window.project_label.toolTip()
