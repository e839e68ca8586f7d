"""A flight analysed but left out of the survey's map, as the survey window says it: its
row says so ("not on the map", why in its tooltip), and the notes say what to do in the
window (Read Cameras & Heights, the flight's Georeferencing…), not which command or flag.

The survey is two copies of one small rendered flight (tests/conftest.py's
``sites_truth``), each holding its ground truth as a finished run; "tuesday" has no
telemetry."""

from __future__ import annotations

import shutil

import pytest

from core.store import ProjectStore
from services import survey as surveys
from tests.truth_runs import write_run


@pytest.fixture
def town(sites_truth, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    survey = surveys.create_survey(tmp_path / "town", "town")
    for day in ("monday", "tuesday"):
        shutil.copy2(sites_truth.video, videos / f"{day}.mp4")
        if day == "monday":
            shutil.copy2(sites_truth.srt, videos / f"{day}.SRT")
        flight = surveys.add_flight(survey, videos / f"{day}.mp4", date="2018-10-12")
        with ProjectStore.open(survey.project_path(flight)) as store:
            write_run(store, sites_truth.detections, sites_truth.times)
    return survey


def test_a_flight_left_out_of_the_map_says_so_on_its_row(qtbot, town):
    from app.dialogs.survey_dialog import COLUMNS, SurveyDialog

    dialog = SurveyDialog(town)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.map_ready, timeout=30_000):
        dialog.show()
    seen = COLUMNS.index("Ground seen")
    monday, tuesday = dialog.table.item(0, seen), dialog.table.item(1, seen)
    assert monday.text().endswith(" ha")
    assert tuesday.text() == "not on the map"
    assert "its project has no telemetry" in tuesday.toolTip() and "File > Open Telemetry…" in tuesday.toolTip()


def test_a_flight_left_out_for_want_of_heights_is_told_the_window_s_way(town):
    """The note `survey info` gives (the flags, `survey georeference`) said with the
    window's button and menu."""
    from app.dialogs.survey_dialog import survey_note_in_window_words
    from services.survey import _flags_hint

    flight = town.flight("tuesday")
    problem = ("the log gives absolute altitudes only; give the ground elevation (--ground-elevation M), or have it "
               "read from the video's motion (--ground-elevation auto; in the app, Georeferencing… > Read from the "
               "video)")
    note = f"flight tuesday: left out ({problem})" + _flags_hint(town, flight, problem)
    assert "damagemap survey georeference" in note  # as the command line says it

    said = survey_note_in_window_words(note)
    assert "damagemap" not in said and "`" not in said and "--" not in said, said
    assert said.endswith("; Read Cameras & Heights reads them from the video (or open the flight and choose "
                         "Analysis > Georeferencing…)")
    assert "give the ground elevation, or have it read from the video's motion (in the app, Georeferencing… > Read " \
           "from the video)" in said
