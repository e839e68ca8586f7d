"""A flight of the survey analysed by another damagemap (`damagemap analyze` in a
terminal) while the survey's list is open: its project changes every few frames, and the
list read the flights and built the survey's map again at each change, back to back. The
flight is paused instead (the list says it is analysed elsewhere), and the map is built
once when its analysis ends. The other process is a real one (``other_analysis.py``)
writing into the real project file; the dialog's look is called directly, as its timer
would, so no test waits on time."""

from __future__ import annotations

import pytest

from core.store import CHECKPOINT_EVERY_FRAMES
from tests.app.test_analysis_elsewhere import OtherAnalysis
from tests.survey_towns import monday_and_tuesday


@pytest.fixture
def town(sites_truth, tmp_path):
    """Flights monday (analysed: its ground truth) and tuesday (not analysed yet)."""
    return monday_and_tuesday(sites_truth, tmp_path)


def _settle(qtbot, dialog):
    while dialog.busy or dialog.check_survey_files():
        with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
            pass


def _analysed_cell(dialog, name):
    from app.dialogs.survey_dialog import COLUMNS

    row = next(row for row in range(dialog.table.rowCount()) if dialog.table.item(row, 0).text() == name)
    return dialog.table.item(row, COLUMNS.index("Analysed")).text()


@pytest.fixture
def other(town):
    process = OtherAnalysis(town.project_path(town.flight("tuesday")), fps=10.0)
    yield process
    if process.process.poll() is None:
        process.kill()


def _frames(other, frames):
    for index in frames:
        other.send(f"frame {index}")


def test_a_flight_analysed_elsewhere_is_not_mapped_at_each_save_but_once_when_it_ends(qtbot, town, other, capsys):
    from app.cli import main
    from app.dialogs.survey_dialog import SurveyDialog

    dialog = SurveyDialog(town)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
        dialog.show()
    _settle(qtbot, dialog)
    built = []
    dialog.map_ready.connect(built.append)
    project = town.project_path(town.flight("tuesday"))
    saved = project.stat().st_mtime_ns, project.stat().st_size

    # the other damagemap stores frames: its project file changes at each checkpoint
    for start in range(0, 2 * CHECKPOINT_EVERY_FRAMES, CHECKPOINT_EVERY_FRAMES):
        _frames(other, range(start, start + CHECKPOINT_EVERY_FRAMES))
        assert not dialog.check_survey_files()  # nothing read, no map built
        assert not dialog.busy
    assert (project.stat().st_mtime_ns, project.stat().st_size) != saved  # it did change
    assert _analysed_cell(dialog, "tuesday") == "being analysed elsewhere"
    said = dialog.summary.text()
    assert f"Flight tuesday is being analysed by another damagemap (process {other.process.pid}" in said
    assert "built again once the analysis ends" in said
    assert not built

    # a decision on monday still counts at once, the analysis running or not
    number = next(site.id for site in dialog.survey_map.sites if site.flights == ("monday",))
    assert main(["survey", "decide", str(town.folder), str(number), "reject"]) == 0
    capsys.readouterr()
    with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
        assert dialog.check_survey_files()
    built.clear()

    other.send("finish")
    other.end()
    with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
        assert dialog.check_survey_files()  # ended: read and mapped once
    _settle(qtbot, dialog)
    assert len(built) == 1
    assert _analysed_cell(dialog, "tuesday") == "20 frames"
    assert "analysed by another" not in dialog.summary.text()


def test_the_open_flight_does_not_read_the_survey_again_at_each_save_of_a_flight_analysed_elsewhere(
        window, qtbot, town, sites_truth):
    """Monday open for review while tuesday is analysed in a terminal: the window read what
    the other flights say (one survey map) at each save of tuesday's project; it reads it
    once, when tuesday's analysis ends."""
    from app.panels.site_review_panel import SiteReviewPanel

    assert window.open_path(town.folder)
    dialog = window.surveys.dialog
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000):
        pass
    sites = window.panel(SiteReviewPanel)
    dialog.table.selectRow(0)
    with qtbot.waitSignal(sites.sites_updated, timeout=60_000):
        dialog.open_flight(0)
    controller, doc = window.surveys, window.document
    _read_settled(qtbot, controller, doc)

    other = OtherAnalysis(town.project_path(town.flight("tuesday")), fps=10.0)
    try:
        for start in range(0, 2 * CHECKPOINT_EVERY_FRAMES, CHECKPOINT_EVERY_FRAMES):
            _frames(other, range(start, start + CHECKPOINT_EVERY_FRAMES))
            assert not controller.check_other_flights() and not controller.busy  # nothing read
        other.send("finish")
        other.end()
    finally:
        if other.process.poll() is None:
            other.kill()
    with qtbot.waitSignal(doc.flight_in_survey_changed, timeout=60_000):
        assert controller.check_other_flights()  # ended: read once
    _read_settled(qtbot, controller, doc)


def _read_settled(qtbot, controller, doc):
    """Wait, on its signal, until what the survey says of the open flight is read and
    nothing is left to read (the survey's site numbers written by a first map: read once)."""
    while controller.busy or controller.check_other_flights():
        with qtbot.waitSignal(doc.flight_in_survey_changed, timeout=60_000):
            pass
