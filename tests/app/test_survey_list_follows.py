"""The survey window's list of flights follows what other damagemaps do to the survey
(`damagemap survey decide`, `add`, `analyse`, `relink`, another window) while it is open,
the flight chosen staying chosen and the list where it was scrolled.

The survey is two copies of one small rendered flight (tests/conftest.py's
``sites_truth``): "monday" holds its ground truth as a finished run, "tuesday" is not
analysed yet."""

from __future__ import annotations

import shutil

import pytest

from core.store import ProjectStore
from services import survey as surveys
from tests.survey_towns import monday_and_tuesday
from tests.truth_runs import write_run


@pytest.fixture
def town(sites_truth, tmp_path):
    """A survey of two flights, the first analysed (its ground truth), the second not."""
    return monday_and_tuesday(sites_truth, tmp_path, spare_days=("wednesday",))


def _column(dialog, name):
    from app.dialogs.survey_dialog import COLUMNS

    column = COLUMNS.index(name)
    return [dialog.table.item(row, column).text() for row in range(dialog.table.rowCount())]


def _chosen(dialog):
    return dialog.table.item(dialog.table.currentRow(), 0).text()


def _settle(qtbot, dialog):
    """Wait (on its signal) until the dialog's map is built and nothing is left to read:
    the map's first build writes the survey's site numbers, noticed once."""
    while dialog.busy or dialog.check_survey_files():
        with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
            pass


def _follow(qtbot, dialog, change):
    """Make ``change`` outside the dialog, wait (on its signal) for the dialog to notice it
    on its own and build the map again, then until nothing more is to read."""
    with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
        change()
    _settle(qtbot, dialog)


def test_the_flights_list_follows_the_command_line_keeping_the_flight_chosen(qtbot, town, sites_truth, capsys):
    from app.cli import main
    from app.dialogs.survey_dialog import SurveyDialog

    dialog = SurveyDialog(town)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
        dialog.show()
    _settle(qtbot, dialog)
    dialog.table.selectRow(1)
    assert _chosen(dialog) == "tuesday" and not dialog.check_survey_files()  # nothing changed: nothing read
    to_review = int(_column(dialog, "To review")[0])
    built = dialog.survey_map
    changed = []
    dialog.survey_changed.connect(changed.append)

    # a site decided on the command line: monday has one site less to review
    number = next(site.id for site in built.sites if site.flights == ("monday",))
    _follow(qtbot, dialog, lambda: main(["survey", "decide", str(town.folder), str(number), "reject"]))
    assert _column(dialog, "To review")[0] == str(to_review - 1)
    assert changed and changed[-1].decisions  # the window learns of the survey's new decision
    assert _chosen(dialog) == "tuesday"

    # tuesday analysed by another damagemap
    def analyse_tuesday():
        with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:
            write_run(store, sites_truth.detections, sites_truth.times)

    _follow(qtbot, dialog, analyse_tuesday)
    assert _column(dialog, "Analysed") == [f"{len(sites_truth.times)} frames"] * 2
    assert _column(dialog, "Sites")[1] not in ("", "…")
    assert _chosen(dialog) == "tuesday"

    # a flight added on the command line
    videos = town.folder.parent / "videos"
    _follow(qtbot, dialog, lambda: main(["survey", "add", str(town.folder), str(videos / "wednesday.mp4")]))
    assert _column(dialog, "Flight") == ["monday", "tuesday", "wednesday"]
    assert _column(dialog, "Analysed")[2] == "not analysed yet"
    assert _chosen(dialog) == "tuesday"
    # and one taken out: tuesday, a row up now, stays chosen
    _follow(qtbot, dialog, lambda: main(["survey", "remove", str(town.folder), "monday"]))
    assert _column(dialog, "Flight") == ["tuesday", "wednesday"]
    assert _chosen(dialog) == "tuesday"

    # tuesday's footage moved away, then relinked on the command line
    moved = videos / "moved" / "tuesday.mp4"
    moved.parent.mkdir()
    _follow(qtbot, dialog, lambda: (videos / "tuesday.mp4").rename(moved))
    assert "video not found" in _column(dialog, "Analysed")[0]
    _follow(qtbot, dialog, lambda: main(["survey", "relink", str(town.folder), "tuesday", str(moved)]))
    assert "video not found" not in _column(dialog, "Analysed")[0]
    assert _chosen(dialog) == "tuesday"
    capsys.readouterr()


def test_the_flights_list_read_again_stays_where_it_was_scrolled(qtbot, town, capsys):
    from app.cli import main
    from app.dialogs.survey_dialog import SurveyDialog

    videos = town.folder.parent / "videos"
    for k in range(12):
        shutil.copy2(videos / "wednesday.mp4", videos / f"extra{k:02}.mp4")
        shutil.copy2(videos / "wednesday.SRT", videos / f"extra{k:02}.SRT")
    assert main(["survey", "add", str(town.folder), *(str(videos / f"extra{k:02}.mp4") for k in range(11))]) == 0
    dialog = SurveyDialog(surveys.Survey.open(town.folder))
    qtbot.addWidget(dialog)
    dialog.resize(700, 260)  # a few rows show: the list scrolls
    with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
        dialog.show()
    _settle(qtbot, dialog)
    bar = dialog.table.verticalScrollBar()
    assert bar.maximum() > 0
    dialog.table.selectRow(8)
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()
    _follow(qtbot, dialog, lambda: main(["survey", "add", str(town.folder), str(videos / "extra11.mp4")]))
    assert dialog.table.rowCount() == 14
    assert _chosen(dialog) == "extra06" and bar.value() == scrolled
    _follow(qtbot, dialog, lambda: main(["survey", "remove", str(town.folder), "monday"]))  # the rows move up
    assert dialog.table.rowCount() == 13
    assert _chosen(dialog) == "extra06" and bar.value() == scrolled
    capsys.readouterr()
