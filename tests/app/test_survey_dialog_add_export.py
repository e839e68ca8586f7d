"""The survey window's Add Flights… takes a video analysed before with its project (its
analysis and reviews, where it is), and says so; its Export Survey Map… asks for the event
and producer, names them in the files and keeps them in the survey.

The flight is the rendered ``sites_truth`` flyover (tests/conftest.py) copied into the
test's folder, its ground truth stored as a finished run."""

from __future__ import annotations

import shutil

import pytest

from core.survey import Survey
from services import survey as surveys
from services.project import default_project_path, open_or_create_project
from tests.truth_runs import write_run


@pytest.fixture
def monday(sites_truth, tmp_path):
    """``videos/monday.mp4`` with its SRT."""
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy2(sites_truth.video, videos / "monday.mp4")
    shutil.copy2(sites_truth.srt, videos / "monday.SRT")
    return videos / "monday.mp4"


def _event_lines(readme):
    text = readme.read_text()
    return text[text.index("Event\n-----"):].splitlines()[2:6]


def test_add_flights_takes_a_video_s_analysed_project_and_says_so(monday, sites_truth, tmp_path, qtbot):
    from app.dialogs.survey_dialog import COLUMNS, SurveyDialog

    with open_or_create_project(monday) as store:  # as `damagemap analyze VIDEO`, or the app, made it
        write_run(store, sites_truth.detections, sites_truth.times)
        frames = store.runs()[-1].frames_done
    dialog = SurveyDialog(surveys.create_survey(tmp_path / "town"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.flights_added, timeout=60_000) as added:
        dialog.add_flights([monday])
    assert added.args[0] == ["monday"]
    assert "monday: took the analysed project" in dialog.message.text()
    assert f"{frames} frames" in dialog.message.text()
    assert dialog.table.item(0, COLUMNS.index("Analysed")).text() == f"{frames} frames"
    [flight] = Survey.open(tmp_path / "town").flights
    assert flight.project == "../videos/monday.dmproj" and default_project_path(monday).is_file()
    assert not (tmp_path / "town" / "flights").exists()


def test_add_flights_says_which_video_has_no_telemetry_and_how_to_give_it(monday, sites_truth, tmp_path, qtbot):
    """A field team renamed a video but not its SRT: Add Flights… says at once that no
    telemetry was found for it and how to give it in the window (as `survey add` says it on
    the command line), and once analysed the notes say it in the window's words."""
    from app.dialogs.survey_dialog import SurveyDialog
    from core.store import ProjectStore

    renamed = monday.rename(monday.with_name("DJI_0042.MP4"))  # monday.SRT stays as it was
    dialog = SurveyDialog(surveys.create_survey(tmp_path / "town"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.flights_added, timeout=60_000):
        dialog.add_flights([renamed])
    message = dialog.message.text()
    assert "Added 1 flight: DJI_0042" in message
    assert "No telemetry found beside the video of DJI_0042" in message and "File &gt; Open Telemetry…" in message

    shutil.copy2(sites_truth.video, monday.with_name("tuesday.mp4"))  # a flight with its telemetry beside it
    shutil.copy2(sites_truth.srt, monday.with_name("tuesday.SRT"))
    surveys.add_flight(survey := Survey.open(tmp_path / "town"), monday.with_name("tuesday.mp4"))
    for flight in survey.flights:
        with ProjectStore.open(survey.project_path(flight)) as store:
            write_run(store, sites_truth.detections, sites_truth.times)
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000, check_params_cb=lambda built: built is not None):
        dialog.refresh()
    notes = dialog.notes.text()
    assert "flight DJI_0042: left out: its project has no telemetry" in notes and "Open Telemetry…" in notes
    assert "damagemap" not in notes and "--telemetry" not in notes


def test_export_survey_map_asks_for_the_event_and_keeps_it(monday, sites_truth, tmp_path, qtbot):
    from app.dialogs.survey_dialog import SurveyDialog
    from core.store import ProjectStore

    survey = surveys.create_survey(tmp_path / "town")
    flight = surveys.add_flight(survey, monday)
    with ProjectStore.open(survey.project_path(flight)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    surveys.keep_survey_product(survey, event="Hurricane Michael")
    dialog = SurveyDialog(Survey.open(survey.folder))
    qtbot.addWidget(dialog)
    choices = dialog.export_choices()
    qtbot.addWidget(choices)
    assert choices.product_edits["event"].text() == "Hurricane Michael"  # what the survey keeps
    choices.product_edits["glide"].setText("TC-2018-000166-USA")
    choices.product_edits["organisation"].setText("Relief Mapping")
    choice = choices.choice()
    with qtbot.waitSignal(dialog.exported, timeout=120_000):
        dialog.export_to(tmp_path / "out", project_sources=False, product=choice.product)
    assert _event_lines(tmp_path / "out" / "survey_README.txt") == [
        "Event: Hurricane Michael", "GLIDE number: TC-2018-000166-USA", "Analyst: -", "Organisation: Relief Mapping"]
    # the fields changed are kept, and said so; those left as filled in (the version, the empty analyst) are not
    assert Survey.open(survey.folder).product == {"event": "Hurricane Michael", "glide": "TC-2018-000166-USA",
                                                  "organisation": "Relief Mapping"}
    assert "Kept the GLIDE number, organisation in the survey" in dialog.message.text()


def test_an_export_as_filled_in_writes_nothing_into_the_survey(monday, sites_truth, tmp_path, qtbot):
    from app.dialogs.survey_dialog import SurveyDialog
    from core.store import ProjectStore
    from services.package import update_product_info

    survey = surveys.create_survey(tmp_path / "town")
    flight = surveys.add_flight(survey, monday)
    with ProjectStore.open(survey.project_path(flight)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        update_product_info(store, event="Flood", organisation="Flight Org")  # the flight's relief package's
    manifest = (tmp_path / "town" / "survey.json").read_bytes()
    dialog = SurveyDialog(Survey.open(survey.folder))
    qtbot.addWidget(dialog)
    choices = dialog.export_choices()
    qtbot.addWidget(choices)
    assert choices.product_edits["event"].text() == "Flood"  # filled in from the flight's project
    with qtbot.waitSignal(dialog.exported, timeout=120_000):
        dialog.export_to(tmp_path / "out", project_sources=False, product=choices.choice().product)
    assert _event_lines(tmp_path / "out" / "survey_README.txt")[0] == "Event: Flood"
    assert (tmp_path / "town" / "survey.json").read_bytes() == manifest  # the flight's values stay the flight's
    assert "Kept" not in dialog.message.text()


def test_export_survey_map_asks_how_to_reach_the_producer(tmp_path, qtbot):
    """As the flight's Export dialog asks it for its relief package."""
    from PySide6.QtWidgets import QFormLayout

    from app.dialogs.survey_export_dialog import SurveyExportDialog
    from geo.export.products import ProductInfo

    dialog = SurveyExportDialog(tmp_path, product=ProductInfo(contact="radio channel 5"))
    qtbot.addWidget(dialog)
    edit = dialog.product_edits["contact"]
    assert edit.text() == "radio channel 5" and edit.placeholderText() == "phone, e-mail, radio channel"
    form = dialog.event_box.layout()
    assert isinstance(form, QFormLayout) and form.labelForField(edit).text() == "Contact"
    edit.setText("ops@relief.example")
    assert dialog.choice().product["contact"] == "ops@relief.example"
