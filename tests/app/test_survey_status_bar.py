"""The status bar of a window showing a flight of a survey: a notice reads to its end on a
laptop's screen, the survey's label giving way while it shows.

The survey is three copies of one small rendered flight (tests/conftest.py's
``sites_truth``), each holding its ground truth as a finished run."""

from __future__ import annotations

import shutil

import pytest

from core.store import ProjectStore
from services import survey as surveys
from tests.truth_runs import write_run

#: A laptop's screen, and a smaller one (a projector's)
SCREENS = [(1366, 768), (1024, 768)]


@pytest.fixture
def town(sites_truth, tmp_path):
    """Survey "town" of flights north, south and east, each analysed (its ground truth, as
    a run of the shipped demo model: the window shows its badge too)."""
    from services.demo_flight import shipped_model_path

    videos = tmp_path / "videos"
    videos.mkdir()
    survey = surveys.create_survey(tmp_path / "town", "town")
    for name in ("north", "south", "east"):
        shutil.copy2(sites_truth.video, videos / f"{name}.mp4")
        shutil.copy2(sites_truth.srt, videos / f"{name}.SRT")
        record = surveys.add_flight(survey, videos / f"{name}.mp4", date="2018-10-12")
        with ProjectStore.open(survey.project_path(record)) as store:
            write_run(store, sites_truth.detections, sites_truth.times,
                      model={"weights": str(shipped_model_path())})
    return survey


def _message_room(window) -> int:
    """Where the first permanent widget shown starts: a message has the room left of it."""
    from PySide6.QtWidgets import QWidget

    status = window.statusBar()
    status.layout().activate()
    shown = [w for w in status.findChildren(QWidget) if w.parent() is status and w.isVisible()
             and w is not window.project_label and w.x() > 0]
    return min((w.x() for w in shown), default=status.width())


@pytest.mark.parametrize("screen", SCREENS)
def test_a_review_changed_outside_is_said_to_its_end_beside_the_survey_label(window, qtbot, town, capsys, screen):
    """At 1366x768 the survey's label ("survey town: flight north (1 of 3)") cut the
    notice that the review was changed on the command line before its end (at 1024x768,
    halfway): the labels give way (elided, then folded away, whole in their tooltips)
    while a notice needs the room, and are whole again once it goes."""
    from app.cli import main
    from app.panels.site_review_panel import SiteReviewPanel

    width, height = screen
    window.resize(width, height)
    assert window.open_path(town.folder)
    dialog = window.surveys.dialog
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000):
        pass
    sites = window.panel(SiteReviewPanel)
    dialog.table.selectRow(0)
    with qtbot.waitSignal(sites.sites_updated, timeout=60_000):
        dialog.open_flight(0)
    qtbot.waitUntil(lambda: sites.review is not None and not sites.busy, timeout=60_000)
    dialog.hide()
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (width, height), timeout=5_000)
    label, status = window.survey_label, window.statusBar()
    assert label.isVisible() and label.text().startswith("survey town: flight north (1 of 3)")
    assert window.model_badge.isVisible()
    whole = label.width()

    number = next(site.id for site in window.surveys.dialog.survey_map.sites if "north" in site.flights)
    with qtbot.waitSignal(status.messageChanged, timeout=20_000,
                          check_params_cb=lambda said: "changed outside this window" in said):
        assert main(["survey", "decide", str(town.folder), str(number), "reject"]) == 0
    capsys.readouterr()
    notice = status.currentMessage()
    assert notice.endswith("Undo holds its steps")
    qtbot.waitUntil(lambda: _message_room(window) >= status.fontMetrics().horizontalAdvance(notice), timeout=2_000)
    assert label.isVisible() and label.toolTip().startswith("survey town: flight north (1 of 3)")
    status.clearMessage()
    qtbot.waitUntil(lambda: label.width() >= whole, timeout=2_000)
    assert label.text().startswith("survey town: flight north (1 of 3)")
