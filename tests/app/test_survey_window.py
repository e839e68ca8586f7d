"""A survey in the window: its flights listed with how far each is analysed and what it
adds to the survey's map, one opened for review with the survey named in the status
bar, and the survey's map exported with each flight's reviews as they stand.

The survey is two copies of one small rendered flight (tests/conftest.py's
``sites_truth``): "monday" holds its ground truth as a finished run, "tuesday" is not
analysed yet."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.review import ReviewSession
from core.sites import site_decision
from core.store import ProjectStore
from core.survey import Survey
from core.types import ReviewState
from services import survey as surveys
from services.sites import site_review
from tests.survey_towns import monday_and_tuesday
from tests.truth_runs import write_run


@pytest.fixture
def town(sites_truth, tmp_path):
    """A survey of two flights, the first analysed (its ground truth), the second not."""
    return monday_and_tuesday(sites_truth, tmp_path, monday_drone="Mavic 3")


def _open(window, qtbot, path):
    """Open ``path`` in the window and wait for its survey dialog's map."""
    assert window.open_path(path)
    dialog = window.surveys.dialog
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000) as ready:
        pass
    return dialog, ready.args[0]


def _status_bar_text(window):
    """What the status bar's labels show now (a message hides those it covers)."""
    from PySide6.QtWidgets import QLabel

    return "   ".join(label.text() for label in window.statusBar().findChildren(QLabel) if label.isVisible())


def _column(dialog, name):
    from app.dialogs.survey_dialog import COLUMNS

    column = COLUMNS.index(name)
    return [dialog.table.item(row, column).text() for row in range(dialog.table.rowCount())]


def test_a_survey_folder_opens_as_its_flights_with_what_each_adds_to_the_map(window, qtbot, town, sites_truth):
    dialog, built = _open(window, qtbot, town.folder)
    expected = surveys.survey_map(town)  # the map `damagemap survey info` reports
    assert dialog.isVisible() and dialog.windowTitle() == "Survey: town"
    assert _column(dialog, "Flight") == ["monday", "tuesday"]
    assert _column(dialog, "Drone") == ["Mavic 3", ""]
    assert _column(dialog, "Telemetry") == ["monday.SRT", "tuesday.SRT"]
    assert _column(dialog, "Analysed") == [f"{len(sites_truth.times)} frames", "not analysed yet"]
    monday_sites = next(c.sites for c in expected.coverage if c.flight == "monday")
    assert monday_sites > 0
    assert _column(dialog, "Sites") == [str(monday_sites), ""]
    monday_map = next(f.damage_map for f in expected.flights if f.name == "monday")
    assert _column(dialog, "To review") == [str(len(monday_map.sites)), ""]  # nothing decided yet
    assert _column(dialog, "Ground seen")[0].endswith(" ha") and _column(dialog, "Ground seen")[1] == ""
    assert len(built.sites) == len(expected.sites)
    assert f"{len(expected.sites)} damage site" in dialog.summary.text()
    assert "flight tuesday: not analysed yet" in dialog.notes.text()
    # the folder opened is remembered with the recent files
    assert window.settings.recent_files()[0] == town.folder.resolve()


def test_a_chosen_flight_opens_for_review_with_the_survey_named_in_the_status_bar(window, qtbot, town):
    dialog, _ = _open(window, qtbot, town.folder / "survey.json")  # the manifest names its survey too
    dialog.table.selectRow(1)
    with qtbot.waitSignal(window.document.opened, timeout=30_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    tuesday = town.flight("tuesday")
    assert window.document.project_path.resolve() == town.project_path(tuesday).resolve()
    assert not dialog.isVisible()
    assert "survey town: flight tuesday (2 of 2)" in _status_bar_text(window)

    # File > Survey Flights… lists the flights again, the open one chosen
    assert window.survey_flights_action.isEnabled()
    window.survey_flights_action.trigger()
    again = window.surveys.dialog
    assert again is not dialog and again.isVisible()
    assert again.table.currentRow() == 1


def test_a_flight_whose_project_is_gone_is_listed_and_cannot_be_opened(window, qtbot, town, errors):
    town.project_path(town.flight("tuesday")).unlink()
    dialog, _ = _open(window, qtbot, town.folder)
    # said as what it is, "project missing", where it looked and the relink in its tooltip and the notes
    assert _column(dialog, "Analysed") == [_column(dialog, "Analysed")[0], "project missing"]
    assert "its project is missing: looked for" in dialog.table.item(1, 0).toolTip()
    assert "damagemap survey relink" in dialog.notes.text()
    dialog.table.selectRow(1)
    assert not dialog.open_button.isEnabled()
    dialog.open_flight(1)
    assert not window.document.is_open and not errors
    dialog.table.selectRow(0)
    assert dialog.open_button.isEnabled()


def test_the_survey_map_exports_from_the_window_with_each_flights_reviews(window, qtbot, town, tmp_path):
    from geo.export.survey_files import SURVEY_FILES

    before_map = surveys.survey_map(town)
    before = len(before_map.sites)
    monday_before = len(next(f.damage_map for f in before_map.flights if f.name == "monday").sites)
    # a reviewer rejects one of monday's sites in its project, as the Sites panel does
    with ProjectStore.open(town.project_path(town.flight("monday"))) as store:
        review = site_review(store)
        rejected = max(review.sites, key=lambda s: len(s.sightings))
        ReviewSession(store, review.run_id, author="analyst").apply(site_decision(rejected, ReviewState.REJECTED))
    expected = surveys.survey_map(town)
    assert len(expected.sites) == before - 1  # the rejected site is off the survey's map

    dialog, _ = _open(window, qtbot, town.folder)
    # the rejected site is decided: one fewer of monday's sites to review
    assert _column(dialog, "To review")[0] == str(monday_before - 1)
    out = tmp_path / "out"
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as done:
        dialog.export_to(out)
    written = {p.name for p in done.args[0]}
    assert written == {name for key, names in SURVEY_FILES.items() for name in names if key != "buildings"}
    features = json.loads((out / "survey_sites.geojson").read_text())["features"]
    assert len(features) == len(expected.sites) > 0
    assert "Wrote" in dialog.message.text() and "open the map" in dialog.message.text()
    assert "survey_map.pdf" in dialog.message.text()  # the print map and atlas, linked
    # the window's status bar offers the folder, as after a flight's export
    assert window.open_export_button.isVisible() and window.open_export_button.toolTip() == str(out)


def test_damagemap_gui_takes_a_survey_folder_and_names_a_broken_one(town, monkeypatch, capsys):
    import app.main_window
    from app.cli import main
    from app.commands import gui

    opened = []
    monkeypatch.setattr(gui, "check_display", lambda: None)
    monkeypatch.setattr(app.main_window, "launch", lambda path: opened.append(path) or 0)
    assert main(["gui", str(town.folder)]) == 0
    assert opened == [town.folder]

    town.manifest_path.write_text("{not json")
    assert main(["gui", str(town.folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "survey.json" in err and "not a readable survey manifest" in err
    assert opened == [town.folder]  # no window for a survey that cannot be read


def test_a_flight_chosen_while_an_analysis_runs_leaves_the_list_open(window, qtbot, town, errors):
    dialog, _ = _open(window, qtbot, town.folder)
    window._analysis = type("Running", (), {"is_running": True})()
    try:
        dialog.open_flight(0)
    finally:
        window._analysis = None
    assert dialog.isVisible() and not window.document.is_open
    assert errors and "analysis is running" in str(errors[-1])


def _open_flight(window, qtbot, dialog, row):
    from app.panels.site_review_panel import SiteReviewPanel

    sites = window.panel(SiteReviewPanel)
    dialog.table.selectRow(row)
    with qtbot.waitSignal(sites.sites_updated, timeout=60_000):
        dialog.open_flight(row)
    qtbot.waitUntil(lambda: sites.review is not None and not sites.busy, timeout=60_000)
    return sites


def test_a_site_decided_on_one_flight_is_decided_when_another_flight_of_it_opens(window, qtbot, town, sites_truth):
    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:  # tuesday filmed it too
        write_run(store, sites_truth.detections, sites_truth.times)
    notices = []
    window.document.notice.connect(notices.append)

    dialog, _ = _open(window, qtbot, town.folder)
    sites = _open_flight(window, qtbot, dialog, 0)
    assert not notices  # monday has nothing to carry yet
    rejected = max(sites.review.sites, key=lambda s: len(s.sightings))
    sites.select_site(rejected.site_id)
    with qtbot.waitSignal(sites.sites_updated, timeout=60_000):
        sites.decide(ReviewState.REJECTED)

    window.survey_flights_action.trigger()
    sites = _open_flight(window, qtbot, window.surveys.dialog, 1)
    assert "survey town: flight tuesday" in _status_bar_text(window)
    assert notices and "the survey's other flights" in notices[-1]
    # the carried decision is one edit: the rejected place leaves tuesday's sites too
    def at_rejected_place():
        return [s for s in sites.review.sites
                if abs(s.lon_deg - rejected.lon_deg) < 1e-5 and abs(s.lat_deg - rejected.lat_deg) < 1e-5]

    qtbot.waitUntil(lambda: not at_rejected_place(), timeout=60_000)
    store = window.document.store
    run_detections = store.detections(window.document.run_id)
    assert sum(d.review is ReviewState.REJECTED for d in run_detections) == len(rejected.detection_ids)
    assert all(d.review is ReviewState.PENDING for d in run_detections if d.review is not ReviewState.REJECTED)
    # one step on tuesday's undo stack gives the site back to the analyst
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: bool(at_rejected_place()), timeout=60_000)
    assert all(d.review is ReviewState.PENDING for d in store.detections(window.document.run_id))


def test_a_project_outside_the_survey_carries_nothing_from_it(window, qtbot, town, sites_truth, tmp_path):
    dialog, _ = _open(window, qtbot, town.folder)
    sites = _open_flight(window, qtbot, dialog, 0)
    with qtbot.waitSignal(sites.sites_updated, timeout=60_000):
        sites.decide(ReviewState.REJECTED)
    window.document.close()
    with ProjectStore.create(tmp_path / "other.dmproj", video_path=sites_truth.video,
                             telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    with qtbot.waitSignal(sites.sites_updated, timeout=60_000):
        assert window.open_path(tmp_path / "other.dmproj")
    qtbot.waitUntil(lambda: sites.review is not None and not sites.busy, timeout=60_000)
    assert window.document.survey is None and "survey" not in _status_bar_text(window)
    assert not any(s.decided for s in sites.review.sites)


def test_a_survey_made_in_the_window_gets_its_flights_from_videos(window, qtbot, sites_truth, tmp_path, errors):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy2(sites_truth.video, videos / "north.mp4")
    shutil.copy2(sites_truth.srt, videos / "north.SRT")
    shutil.copy2(sites_truth.video, videos / "south.mp4")  # its telemetry still to come
    (videos / "notes.mp4").write_text("not a video")

    dialog = window.surveys.new(tmp_path / "bay")
    assert dialog is not None and dialog.table.rowCount() == 0
    assert (tmp_path / "bay" / "survey.json").is_file() and dialog.windowTitle() == "Survey: bay"
    assert "No flights yet" in dialog.notes.text() and not dialog.export_button.isEnabled()

    with qtbot.waitSignal(dialog.flights_added, timeout=60_000) as added:
        dialog.add_flights([videos / "north.mp4", videos / "south.mp4", videos / "notes.mp4"])
    assert added.args[0] == ["north", "south"]
    assert _column(dialog, "Flight") == ["north", "south"]
    assert _column(dialog, "Telemetry") == ["north.SRT", "none: not on the map"]
    assert _column(dialog, "Analysed") == ["not analysed yet"] * 2
    assert "Not added" in dialog.message.text() and "notes.mp4" in dialog.message.text()
    reread = Survey.open(tmp_path / "bay")
    assert [f.name for f in reread.flights] == ["north", "south"]
    assert window.surveys.survey.flights == reread.flights  # the window knows the flights added
    assert dialog.table.currentRow() == 0

    # the same folder again opens that survey, with its flights
    again = window.surveys.new(tmp_path / "bay")
    assert _column(again, "Flight") == ["north", "south"] and not errors


@pytest.fixture
def unanalysed_town(flyover, tmp_path):
    """A survey of two copies of the tiny GUI flyover (tests/app/conftest.py), neither analysed."""
    survey = surveys.create_survey(tmp_path / "tiny-town", "tiny town")
    for day in ("monday", "tuesday"):
        for suffix in (".mp4", ".SRT"):
            shutil.copy2(flyover / f"flight{suffix}", flyover / f"{day}{suffix}")
        surveys.add_flight(survey, flyover / f"{day}.mp4")
    return survey


def test_analyse_flights_runs_each_flight_in_the_window_one_after_the_other(window, qtbot, unanalysed_town,
                                                                             tiny_model, errors):
    from app.workers import AnalysisOptions

    dialog, _ = _open(window, qtbot, unanalysed_town.folder)
    assert dialog.analyse_button.isEnabled()
    assert [s.name for s in dialog.flights_to_analyse()] == ["monday", "tuesday"]
    projects = [s.project for s in dialog.flights_to_analyse()]
    dialog.analyse_requested.disconnect()  # the window's own run below takes the test's tiny model
    with qtbot.waitSignal(dialog.analyse_requested) as asked:
        dialog.analyse(5.0)
    assert asked.args == [projects, 5.0]
    finished = []
    window.analysis_finished.connect(finished.append)
    assert window.surveys.analyse_flights(projects, AnalysisOptions(fps=5.0), model=tiny_model)
    qtbot.waitUntil(lambda: len(finished) == 2 and not window.analysis_job.is_running, timeout=120_000)
    assert finished == [False, False] and not errors
    assert window.surveys.skipped_flights == []
    assert window.statusBar().currentMessage() == "Analysed 2 of 2 flights"
    assert "survey tiny town" in _status_bar_text(window)  # the message does not hide the survey's name
    statuses = surveys.flight_statuses(unanalysed_town)
    assert all(s.complete and s.frames_analysed > 0 for s in statuses)
    # the last flight analysed is the one open, named in the status bar
    assert window.document.project_path.resolve() == projects[1].resolve()
    assert "survey tiny town: flight tuesday (2 of 2)" in _status_bar_text(window)


def test_cancel_stops_the_flights_still_to_analyse(window, qtbot, unanalysed_town, tiny_model, errors):
    from app.workers import AnalysisOptions

    projects = [s.project for s in surveys.flight_statuses(unanalysed_town)]
    finished = []
    window.analysis_finished.connect(finished.append)
    assert window.surveys.analyse_flights(projects, AnalysisOptions(fps=5.0), model=tiny_model)
    assert window.surveys.queued_flights == projects[1:]
    window.cancel_analysis()
    qtbot.waitUntil(lambda: finished == [True], timeout=60_000)
    assert window.surveys.queued_flights == [] and not window.analysis_job.is_running
    assert window.surveys.skipped_flights == ["tuesday (cancelled)"]
    assert "Analysed 0 of 2 flights; not analysed: tuesday (cancelled)" in window.statusBar().currentMessage()
    tuesday = surveys.flight_statuses(unanalysed_town)[1]
    assert tuesday.frames_analysed == 0 and window.document.project_path.resolve() == projects[0].resolve()


def test_a_flight_taken_out_of_the_survey_leaves_its_map_and_keeps_its_project(window, qtbot, town):
    monday = town.flight("monday")
    dialog, built = _open(window, qtbot, town.folder)
    assert len(built.sites) > 0
    dialog.table.selectRow(0)
    assert dialog.remove_button.isEnabled()
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000):
        dialog.remove_flight("monday")
    assert _column(dialog, "Flight") == ["tuesday"]
    assert [f.name for f in Survey.open(town.folder).flights] == ["tuesday"]
    assert town.project_path(monday).is_file()  # the analysis and reviews stay on disk
    assert "No flight is analysed yet" in dialog.notes.text() and not dialog.export_button.isEnabled()
    assert "Analyse Flights…" in dialog.notes.text()  # the dialog's own button, not a command line
    assert [f.name for f in window.surveys.survey.flights] == ["tuesday"]

    # adding its video again under the same name brings the analysed project back
    with qtbot.waitSignal(dialog.flights_added, timeout=60_000):
        dialog.add_flights([Path(monday.video)])
    assert _column(dialog, "Flight") == ["tuesday", "monday"]
    assert _column(dialog, "Analysed")[1].endswith("frames")


def test_ctrl_page_down_and_up_step_through_the_survey_s_flights(window, qtbot, town, sites_truth):
    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    dialog, _ = _open(window, qtbot, town.folder)
    sites = _open_flight(window, qtbot, dialog, 0)
    assert window.next_flight_action.isEnabled() and not window.previous_flight_action.isEnabled()
    qtbot.waitUntil(window.isActiveWindow)  # the keys go to the flight once the list has opened it
    sites.site_list.setFocus()  # the keys reach the window from the Sites panel's list too
    with qtbot.waitSignal(window.document.opened, timeout=30_000):
        qtbot.keyClick(sites.site_list, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert "flight tuesday (2 of 2)" in _status_bar_text(window)
    assert not window.next_flight_action.isEnabled() and window.previous_flight_action.isEnabled()
    with qtbot.waitSignal(window.document.opened, timeout=30_000):
        window.previous_flight_action.trigger()
    assert "flight monday (1 of 2)" in _status_bar_text(window)


def test_a_survey_whose_folder_went_away_is_said_in_its_list(window, qtbot, town, errors):
    dialog, _ = _open(window, qtbot, town.folder)
    shutil.rmtree(town.folder)
    dialog.remove_flight("monday")
    assert "survey.json" in dialog.message.text()
    assert _column(dialog, "Flight") == ["monday", "tuesday"] and not errors  # the list as it was, no crash
    assert [f.name for f in dialog.survey.flights] == ["monday", "tuesday"]


def test_a_flight_that_cannot_be_opened_is_skipped_and_named_and_the_next_one_analysed(
        window, qtbot, unanalysed_town, tiny_model, errors):
    from app.workers import AnalysisOptions

    statuses = surveys.flight_statuses(unanalysed_town)
    Path(statuses[0].record.video).write_bytes(b"not a video any more")  # monday's video is damaged
    finished = []
    window.analysis_finished.connect(finished.append)
    assert window.surveys.analyse_flights([s.project for s in statuses], AnalysisOptions(fps=5.0), model=tiny_model)
    qtbot.waitUntil(lambda: finished == [False] and not window.analysis_job.is_running, timeout=60_000)
    qtbot.waitUntil(lambda: window.surveys.queued_flights == [] and "Analysed" in window.statusBar().currentMessage())
    assert window.surveys.skipped_flights == ["monday (could not be opened)"]
    assert len(errors) == 1 and "monday.mp4" in str(errors[0])  # said once, naming the file
    assert surveys.flight_statuses(unanalysed_town)[1].complete
    assert "Analysed 1 of 2 flights; not analysed: monday (could not be opened)" in window.statusBar().currentMessage()


def test_the_map_of_a_survey_flight_shows_what_the_other_flights_saw(window, qtbot, town, sites_truth):
    from app.panels.map_panel import MapPanel

    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:  # tuesday analysed too
        write_run(store, sites_truth.detections, sites_truth.times)
    monday_sites = next(f.damage_map for f in surveys.survey_map(town).flights if f.name == "monday").sites
    dialog, _ = _open(window, qtbot, town.folder)
    panel = window.panel(MapPanel)
    dialog.table.selectRow(1)
    with qtbot.waitSignal(panel.map_updated, timeout=30_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    widget = panel.map_widget
    qtbot.waitUntil(lambda: widget.sites_elsewhere is not None and not panel.basemap_loading, timeout=30_000)
    # monday's sites, hollow, each naming its flight and date; tuesday's own sites drawn as ever
    assert len(widget.elsewhere_items) == len(monday_sites) > 0
    assert {s.flight for s in widget.sites_elsewhere} == {"monday"}
    assert sorted(s.site_id for s in widget.sites_elsewhere) == sorted(s.id for s in monday_sites)
    assert all(item.toolTip().startswith("Flight monday (2018-10-12): site ") for item in widget.elsewhere_items)
    assert f"other flights' sites ({len(monday_sites)})" in widget.legend_rows()
    assert widget.site_items  # tuesday's own
    assert all(widget.sceneRect().contains(item.pos()) for item in widget.elsewhere_items)  # can be dragged to
    # closed: nothing of the survey is left on the map
    window.document.close()
    assert widget.sites_elsewhere is None and not widget.elsewhere_items


def test_a_flights_project_opened_by_itself_brings_its_survey(window, qtbot, town):
    monday = town.project_path(town.flight("monday"))
    assert window.surveys.survey is None
    assert window.open_path(monday)  # a recent file, a drop: not through the survey
    assert window.document.survey is not None and window.document.survey.folder == town.folder
    assert "survey town: flight monday (1 of 2)" in _status_bar_text(window)
    window.statusBar().showMessage("Analysed 2 of 2 flights", 15_000)
    assert "survey town: flight monday (1 of 2)" in _status_bar_text(window)  # a message leaves the name shown
    assert window.survey_flights_action.isEnabled()
    # a project outside any survey brings none
    from core.survey import survey_of_project

    assert survey_of_project(town.folder.parent / "elsewhere.dmproj") is None


def test_the_window_s_actions_look_the_open_flight_up_once(window, qtbot, town, monkeypatch):
    """Next and Previous Survey Flight looked the open flight up four times each time the
    actions were updated (at each change of the selection, the undo stack, the video, the
    run), each look resolving the path of every flight of the survey."""
    assert window.open_path(town.project_path(town.flight("monday")))
    looks = []
    flight_of_project = Survey.flight_of_project
    monkeypatch.setattr(Survey, "flight_of_project", lambda self, project: looks.append(project)
                        or flight_of_project(self, project))
    window._update_actions()
    assert len(looks) == 1
    assert window.next_flight_action.isEnabled() and not window.previous_flight_action.isEnabled()
    assert window.previous_flight_action.toolTip() == "This is the first flight of the survey"


def test_the_survey_export_asks_for_footprints_and_basemap_starting_from_the_flights(window, qtbot, town,
                                                                                     sites_truth, tmp_path,
                                                                                     monkeypatch):
    from services.package import set_product_sources

    footprints = sites_truth.video.parent / "footprints.geojson"
    assert footprints.is_file()
    with ProjectStore.open(town.project_path(town.flight("monday"))) as store:
        set_product_sources(store, footprints=footprints)
    dialog, _ = _open(window, qtbot, town.folder)
    choices = dialog.export_choices()
    assert Path(choices.footprints_edit.text()) == footprints  # as monday's project has it
    assert choices.basemap_edit.text() == ""
    # a file that is not there is refused by name, the dialog kept open
    warnings = []
    monkeypatch.setattr("app.dialogs.survey_export_dialog.QMessageBox.warning",
                        lambda _parent, _title, text: warnings.append(text))
    choices.basemap_edit.setText(str(tmp_path / "missing.tif"))
    choices.accept()
    assert warnings and "missing.tif" in warnings[0] and choices.result() == 0
    choices.basemap_edit.setText("")
    choices.folder_edit.setText(str(tmp_path / "graded"))
    choice = choices.choice()
    assert (choice.footprints, choice.basemap) == (footprints, None)
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as done:
        dialog.export_to(choice.folder, footprints=choice.footprints, basemap=choice.basemap, project_sources=False)
    assert "survey_buildings.geojson" in {p.name for p in done.args[0]}
    # cleared, the flights' footprints are not taken behind the analyst's back
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as done:
        dialog.export_to(tmp_path / "plain", project_sources=False)
    assert "survey_buildings.geojson" not in {p.name for p in done.args[0]}


def test_a_survey_flights_sites_say_which_other_flights_found_them(window, qtbot, town, sites_truth):
    from app.panels.site_review_panel import SiteReviewPanel

    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:  # tuesday analysed too
        write_run(store, sites_truth.detections, sites_truth.times)
    built = surveys.survey_map(town)
    shared = {e.flight_site_id for s in built.sites if len(s.flights) == 2 for e in s.evidence if e.flight == "tuesday"}
    assert shared
    dialog, _ = _open(window, qtbot, town.folder)
    panel = window.panel(SiteReviewPanel)
    dialog.table.selectRow(1)
    with qtbot.waitSignal(panel.survey_context_shown, timeout=60_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    texts = {site_id: row.text() for row, site_id, _ in panel._rows}
    assert texts and all("also found by monday" in texts[i] for i in shared if i in texts)
    assert any(i in texts for i in shared)
    assert not any("also found by tuesday" in text for text in texts.values())  # never the flight itself
    # outside a survey nothing is said
    window.document.close()
    assert window.document.flight_in_survey is None


def _tuesday_without_mondays_first_site(town, sites_truth) -> None:
    """Tuesday's run: the flight's ground truth less the sightings of monday's site #1,
    which tuesday then did not see."""
    from services.maps import damage_map

    with ProjectStore.open(town.project_path(town.flight("monday"))) as store:
        first = next(f for f in damage_map(store).fused if f.site.id == 1)
    unseen = {(m.detection.frame_index, tuple(m.detection.box_xyxy_px)) for m in first.members}
    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:
        write_run(store, [d for d in sites_truth.detections if (d.frame_index, tuple(d.box_xyxy_px)) not in unseen],
                  sites_truth.times)


def test_a_survey_flights_sites_say_the_survey_s_number_for_them(window, qtbot, town, sites_truth, capsys):
    """On the phone with the coordination cell ("check site 3"), a survey lead finds survey
    site 3 in the flight open for review: its row and its map spot say the survey site's
    number beside the flight's own, the number `survey info` gives it, and the row shows
    it whole at the window's width."""
    import re

    from app.cli import main
    from app.panels.map_panel import MapPanel
    from app.panels.site_review_panel import SiteReviewPanel

    _tuesday_without_mondays_first_site(town, sites_truth)
    assert main(["survey", "info", str(town.folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    said = {(flight, site_id): site["id"] for site in info["sites"] for flight, site_id in site["flight_sites"].items()}
    dialog, _ = _open(window, qtbot, town.folder)
    panel = window.panel(SiteReviewPanel)
    dialog.table.selectRow(1)
    with qtbot.waitSignal(panel.survey_context_shown, timeout=60_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # tuesday, open for review
    shown = {}
    for row, site_id, _ in panel._rows:
        found = re.match(r"#(\d+) · survey site (\d+)  ", row.text())
        if found:
            assert int(found[1]) == site_id
            shown[("tuesday", site_id)] = int(found[2])
    assert shown and shown == {key: n for key, n in said.items() if key[0] == "tuesday"}
    assert any(site_id != number for (_, site_id), number in shown.items()), said  # the flight's #1 is not the survey's 1
    # the row is drawn whole: its line with both numbers is not cut at the list's width
    delegate, view = panel._row_delegate, panel.site_list
    for index in range(view.count()):
        option = delegate._option(view.model().index(index, 0))
        assert not any(line.endswith("\u2026") for line in delegate.row_lines(option, view.model().index(index, 0)))
    # tuesday's own sites on its map, and monday's, say the survey's number too
    widget = window.panel(MapPanel).map_widget
    qtbot.waitUntil(lambda: bool(widget.elsewhere_items), timeout=30_000)
    on_map = {}
    for item in widget.site_items:
        found = re.match(r"#(\d+) · survey site (\d+)  ", item.toolTip())
        if found:
            on_map[("tuesday", int(found[1]))] = int(found[2])
    assert on_map == shown
    for item in widget.elsewhere_items:
        flight_site, number = re.search(r"site (\d+) \(survey site (\d+)\)", item.toolTip()).groups()
        assert said[("monday", int(flight_site))] == int(number)


def test_the_open_flight_taken_out_of_the_survey_no_longer_shows_the_other_flights(window, qtbot, town, sites_truth):
    """The flight open for review, removed from its survey (File > Survey Flights…,
    Remove Flight…): its rows no longer say what the other flights found, the map no
    longer draws their sites, and no decision of theirs is carried into it."""
    from app.panels.site_review_panel import SiteReviewPanel

    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    dialog, _ = _open(window, qtbot, town.folder)
    panel = window.panel(SiteReviewPanel)
    dialog.table.selectRow(1)
    with qtbot.waitSignal(panel.survey_context_shown, timeout=60_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # tuesday, open for review
    assert any("also found by monday" in row.text() for row, _, _ in panel._rows)
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000):
        dialog.remove_flight("tuesday")
    qtbot.waitUntil(lambda: window.document.flight_in_survey is None, timeout=10_000)
    assert window.document.survey is None
    assert not any("also found by" in row.text() for row, _, _ in panel._rows)


def _survey_numbers_in_window(panel, widget):
    """The survey site number each listed site's row and each of the flight's map spots
    says (site id -> number, None where it says none)."""
    import re

    def number(text):
        found = re.match(r"#\d+ · survey site (\d+)  ", text)
        return None if found is None else int(found[1])

    rows = {site_id: number(row.text()) for row, site_id, _ in panel._rows}
    spots = {item.site.id: number(item.toolTip()) for item in widget.site_items}
    return rows, spots


def test_a_survey_flights_survey_numbers_follow_each_decision_undo_and_redo(window, qtbot, town, sites_truth):
    """A survey lead rejects a site and splits another in the flight open for review, then
    undoes and redoes: after each step the rows and the map spots say the survey site
    numbers `survey info` gives at that moment (a split's new part its own, a rejected
    site none), and in between they say none rather than a number of before."""
    from app.panels.map_panel import MapPanel
    from app.panels.site_review_panel import SiteReviewPanel

    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    dialog, _ = _open(window, qtbot, town.folder)
    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    panel.show_decided.setChecked(True)  # a rejected site stays listed, to say what it says
    dialog.table.selectRow(1)
    with qtbot.waitSignal(panel.survey_context_shown, timeout=60_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # tuesday, open for review
    widget, doc = map_panel.map_widget, window.document

    def settled():
        qtbot.waitUntil(lambda: not panel.busy and not map_panel.busy and not window.surveys.busy
                        and doc.flight_in_survey is not None, timeout=60_000)
        expected = surveys.survey_map(town).numbers_of_flight_sites("tuesday")  # as `survey info` says it
        rows, spots = _survey_numbers_in_window(panel, widget)
        assert rows == {site_id: expected.get(site_id) for site_id in rows}
        assert spots == {site_id: expected.get(site_id) for site_id in spots}
        return rows

    before = settled()
    assert before and all(number is not None for number in before.values())
    by_size = sorted(panel.review.sites, key=lambda s: len(s.sightings))
    rejected, split = by_size[0], by_size[-1]

    panel.select_site(rejected.site_id)
    panel.decide(ReviewState.REJECTED)
    # at once, before the survey is read again: the rejected site's row and spot say no survey site
    rows, spots = _survey_numbers_in_window(panel, widget)
    assert rows[rejected.site_id] is None and spots[rejected.site_id] is None
    assert settled()[rejected.site_id] is None

    panel.select_site(split.site_id)
    panel.grid.item(panel.grid.count() - 1).setSelected(True)
    panel.grid.item(panel.grid.count() - 2).setSelected(True)
    panel.split()
    after_split = settled()
    new_part = set(after_split) - set(before)
    assert len(new_part) == 1 and after_split[new_part.pop()] is not None  # the new part has its number

    doc.undo_stack.undo()  # the split
    # at once: neither part says the number it had split (the survey numbers them anew)
    assert _survey_numbers_in_window(panel, widget)[0][split.site_id] is None
    assert settled().keys() == before.keys()
    doc.undo_stack.undo()  # the rejection
    assert settled() == before
    doc.undo_stack.redo()
    assert settled()[rejected.site_id] is None
    doc.undo_stack.redo()
    assert settled() == after_split


def test_a_flight_whose_video_moved_says_so_in_the_list(window, qtbot, town, tmp_path):
    """A flight's video moved or renamed since it was added: the list says so (Locate
    Flight… finds it), where it looked like any flight not analysed yet."""
    tuesday = Path(town.flight("tuesday").video)
    tuesday.rename(tmp_path / "elsewhere.mp4")
    dialog, _ = _open(window, qtbot, town.folder)
    analysed = dict(zip(_column(dialog, "Flight"), _column(dialog, "Analysed")))
    assert analysed["tuesday"] == "not analysed yet; video not found (Locate Flight… finds it)"
    assert "video not found" not in analysed["monday"]


def test_a_renamed_video_of_an_analysed_flight_is_located_from_the_window(window, qtbot, town, errors):
    """The field team renamed monday's video: the list and the notes say so in the window's
    words, Locate Flight… (only for that flight) takes the renamed file, recognised by its
    content, and the flight is whole again; a file of other content is refused, in the
    dialog."""
    monday = Path(town.flight("monday").video)
    renamed = monday.with_name("2018-10-12_north_block.mp4")
    monday.rename(renamed)
    dialog, _ = _open(window, qtbot, town.folder)
    assert _column(dialog, "Analysed")[0].endswith("; video not found (Locate Flight… finds it)")
    notes = dialog.notes.text()
    assert "flight monday: its video is not at" in notes and "Locate Flight…" in notes
    assert "damagemap survey relink" not in notes
    dialog.table.selectRow(1)  # tuesday's video is where it was: nothing to locate
    assert not dialog.locate_button.isEnabled()
    dialog.table.selectRow(0)
    assert dialog.locate_button.isEnabled()

    dialog.locate_flight("monday", Path(town.flight("tuesday").video).with_name("tuesday.SRT"))
    assert "Flight monday not located" in dialog.message.text()
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000):
        dialog.locate_flight("monday", renamed)
    assert "matched by content" in dialog.message.text() and "2018-10-12_north_block.mp4" in dialog.message.text()
    assert "video not found" not in _column(dialog, "Analysed")[0]
    assert "its video is not at" not in dialog.notes.text()
    dialog.table.selectRow(0)
    assert not dialog.locate_button.isEnabled()
    with ProjectStore.open(town.project_path(town.flight("monday")), read_only=True) as store:
        assert Path(store.video_path) == renamed.resolve()
    assert not errors


def test_locate_flight_given_a_telemetry_file_says_it_is_one_and_what_it_takes(qtbot, tmp_path):
    """Locate Flight… given the flight's SRT said "not a damagemap project… create a
    project with `damagemap analyze`", a command, of a file that is no project at all."""
    from app.dialogs.survey_dialog import SurveyDialog
    from tests.video_helpers import noise_video

    video = noise_video(tmp_path / "DJI_0042.MP4")
    log = video.with_suffix(".SRT")
    log.write_text("1\n00:00:00,000 --> 00:00:00,200\n[latitude: 10.0] [longitude: 20.0]\n")
    survey = surveys.create_survey(tmp_path / "town")
    surveys.add_flight(survey, video)
    dialog = SurveyDialog(Survey.open(survey.folder))
    qtbot.addWidget(dialog)
    dialog.locate_flight("DJI_0042", log)
    said = dialog.message.text()
    assert f"Flight DJI_0042 not located: {str(log)!r} is a telemetry file (a flight log), not a project nor a " \
        "video: relink takes flight DJI_0042's project (.dmproj), its video, or the folder holding the video" in said
    assert "analyze" not in said


def test_a_flight_s_date_is_listed_as_the_maps_print_it(window, qtbot, town):
    """A date with its time zone is listed in UTC, named so, as the survey's maps and
    README give it (not the local clock time with its zone cut off); a day as it is."""
    town.update(lambda fresh: fresh.change_flight("monday", date="2018-10-12T10:00:00-05:00"))
    dialog, _ = _open(window, qtbot, town.folder)
    assert _column(dialog, "Date") == ["2018-10-12 15:00 UTC", "2018-10-13"]


def test_an_empty_survey_offers_nothing_to_read(qtbot, tmp_path):
    from app.dialogs.survey_dialog import SurveyDialog
    from core.survey import Survey

    dialog = SurveyDialog(Survey.create(tmp_path / "empty", "empty"))
    qtbot.addWidget(dialog)
    assert not dialog.georeference_button.isEnabled()  # no flight: nothing to read from
    assert not dialog.analyse_button.isEnabled()


def test_the_survey_window_speaks_to_a_window_user_not_of_commands_and_properties(window, qtbot, town):
    """The survey's buttons say what they do, not which command they match, and the export
    names every kind of file it writes; a note on the sites no other flight found does
    not name the files' property."""
    from dataclasses import replace

    from geo.survey_fusion import not_found_note

    dialog, built = _open(window, qtbot, town.folder)
    for button in (dialog.georeference_button, dialog.export_button, dialog.add_button, dialog.analyse_button):
        assert "damagemap" not in button.toolTip() and "`" not in button.toolTip(), button.toolTip()
    export_tip = dialog.export_button.toolTip()
    assert "KMZ" in export_tip and "print map" in export_tip
    dialog._on_map(replace(built, notes=[*built.notes, not_found_note(2)]))
    notes = dialog.notes.text()
    assert "2 sites lie where another flight saw the ground well and found no damage" in notes
    assert "not_found_by" not in notes and "not found by …" in notes
    # a rejection on one flight that leaves another flight's site out is said without the command
    rejected_elsewhere = ("1 flight site left out where a reviewer rejected the damage at that place on another "
                          "flight (`survey analyse`, or opening the flight in the app, records the rejection in it)")
    dialog._on_map(replace(built, notes=[*built.notes, rejected_elsewhere]))  # as services.survey.survey_map says it
    assert "opening the flight records the rejection in it" in dialog.notes.text()
    assert "`" not in dialog.notes.text() and "survey analyse" not in dialog.notes.text()


def _why_off(button):
    """The reason a greyed-out button gives, its tooltip's first line."""
    assert not button.isEnabled(), button.text()
    first_line = button.toolTip().split("\n")[0]
    assert first_line.startswith("Not available: "), button.toolTip()
    return first_line


def test_an_empty_survey_s_greyed_out_buttons_say_why(qtbot, tmp_path):
    from app.dialogs.survey_dialog import SurveyDialog
    from core.survey import Survey

    dialog = SurveyDialog(Survey.create(tmp_path / "empty", "empty"))
    qtbot.addWidget(dialog)
    for button in (dialog.locate_button, dialog.open_button, dialog.remove_button, dialog.analyse_button,
                   dialog.export_button, dialog.georeference_button):
        assert "no flights yet" in _why_off(button), button.text()
    assert "drone videos" in dialog.add_button.toolTip()  # Add Flights… stays on, with what it does


def test_the_survey_s_greyed_out_buttons_say_why_and_say_what_they_do_again_once_on(qtbot, town):
    from app.dialogs.survey_dialog import SurveyDialog

    dialog = SurveyDialog(town)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000):
        pass
    dialog.table.selectRow(0)  # monday: analysed, its project and video where the survey expects them
    assert _why_off(dialog.locate_button) == ("Not available: the chosen flight's project and video are where the "
                                              "survey expects them.")
    assert "recognised by its content" in dialog.locate_button.toolTip()  # what it does follows why it is off
    assert dialog.open_button.isEnabled() and dialog.open_button.toolTip().startswith("Open the flight's project")
    assert dialog.analyse_button.isEnabled() and not dialog.analyse_button.toolTip().startswith("Not available")

    dialog.statuses = [s for s in dialog.statuses if s.complete]  # tuesday analysed to its end too
    dialog._update_buttons()
    assert _why_off(dialog.analyse_button) == "Not available: every flight is analysed to its end."
    dialog.statuses = []
    dialog._update_buttons()
    assert "no flights yet" in _why_off(dialog.export_button)


def _read_settled(qtbot, window):
    """Wait, on its signal, until what the survey says of the open flight is read and
    no other read is under way or asked for."""
    while window.surveys.busy:
        with qtbot.waitSignal(window.document.flight_in_survey_changed, timeout=60_000):
            pass


def test_a_survey_flight_follows_a_decision_made_on_another_flight_outside_the_window(
        window, qtbot, town, sites_truth, capsys):
    """Tuesday open for review while a survey lead rejects, on the command line, a site only
    monday found: tuesday's project does not change, yet the window notices (the other
    flights' files changed), reads the survey again off the GUI thread, and monday's ring
    for it goes, as `survey info` says then."""
    import re

    from app.cli import main
    from app.panels.map_panel import MapPanel
    from app.panels.site_review_panel import SiteReviewPanel

    _tuesday_without_mondays_first_site(town, sites_truth)
    dialog, _ = _open(window, qtbot, town.folder)
    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    widget = map_panel.map_widget
    dialog.table.selectRow(1)
    with qtbot.waitSignals([panel.survey_context_shown, map_panel.map_updated], timeout=60_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # tuesday, open for review
    _read_settled(qtbot, window)
    controller, doc = window.surveys, window.document
    assert not controller.check_other_flights()  # nothing changed since the read: nothing read again
    Path(f"{town.project_path(town.flight('monday'))}-wal").touch()  # another flight's analysis writing a frame
    assert not controller.check_other_flights()  # not read again at each frame it writes, back to back

    def monday_first_rings():
        return [item.toolTip() for item in widget.elsewhere_items
                if re.match(r"Flight monday[^:]*: site 1[ ,]", item.toolTip())]

    number = next(s.survey_site_id for s in doc.flight_in_survey.elsewhere if s.flight == "monday" and s.site_id == 1)
    (ring,) = monday_first_rings()
    assert number is not None and f"(survey site {number})" in ring
    rings = len(widget.elsewhere_items)

    # the window looks every second or two: no reopening, no review change in tuesday
    with qtbot.waitSignal(doc.flight_in_survey_changed, timeout=20_000):
        assert main(["survey", "decide", str(town.folder), str(number), "reject"]) == 0
    capsys.readouterr()
    _read_settled(qtbot, window)
    # rejected, monday's site is on no map any more: its ring is gone, the others stay
    monday = next(f.damage_map for f in surveys.survey_map(town).flights if f.name == "monday")  # as `survey info`
    assert 1 not in {site.id for site in monday.sites}
    assert not monday_first_rings() and len(widget.elsewhere_items) == rings - 1 == len(monday.sites)
    assert not controller.check_other_flights()  # read once: the read itself changed nothing it looks at


def test_the_open_flight_taken_out_of_the_survey_on_the_command_line_no_longer_shows_the_other_flights(
        window, qtbot, town, sites_truth, capsys):
    """`damagemap survey remove TOWN tuesday` while tuesday is open in the window: the
    window reads the survey again and, tuesday no flight of it any more, draws monday's
    sites no more and names no survey in its status bar."""
    from app.cli import main
    from app.panels.map_panel import MapPanel
    from app.panels.site_review_panel import SiteReviewPanel

    with ProjectStore.open(town.project_path(town.flight("tuesday"))) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    dialog, _ = _open(window, qtbot, town.folder)
    panel, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    dialog.table.selectRow(1)
    with qtbot.waitSignals([panel.survey_context_shown, map_panel.map_updated], timeout=60_000):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # tuesday, open for review
    _read_settled(qtbot, window)
    assert map_panel.map_widget.elsewhere_items and "survey town: flight tuesday" in _status_bar_text(window)

    assert main(["survey", "remove", str(town.folder), "tuesday"]) == 0
    capsys.readouterr()
    with qtbot.waitSignal(window.document.flight_in_survey_changed, timeout=20_000):
        assert window.surveys.check_other_flights()
    _read_settled(qtbot, window)
    assert window.document.survey is None and window.document.flight_in_survey is None
    assert not map_panel.map_widget.elsewhere_items
    assert "survey town" not in _status_bar_text(window)
    assert not window.surveys.check_other_flights()
