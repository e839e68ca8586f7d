"""The survey dialog's Read Cameras & Heights: ``damagemap survey georeference`` from the
window, off the GUI thread."""

from __future__ import annotations

import shutil

from core.store import ProjectStore
from services.survey import add_flight, create_survey


def test_the_survey_dialog_reads_them_with_one_button(qtbot, tmp_path, manoeuvring_flight, errors):
    from app.dialogs.survey_dialog import SurveyDialog

    survey = create_survey(tmp_path / "town")
    for name, telemetry in (("gpx", manoeuvring_flight.gpx), ("srt", manoeuvring_flight.srt)):
        folder = tmp_path / name
        folder.mkdir()
        add_flight(survey, shutil.copy2(manoeuvring_flight.video, folder / "flight.mp4"), telemetry=telemetry,
                   name=name)
    dialog = SurveyDialog(survey)
    qtbot.addWidget(dialog)
    job = dialog.georeference()
    assert job is not None and not dialog.georeference_button.isEnabled()  # one reading at a time
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    assert dialog.message.text() == "Read from the video for 1 flight: gpx"
    assert dialog.georeference_button.isEnabled()
    with ProjectStore.open(survey.project_path(survey.flight("gpx"))) as store:
        assert store.project_settings().camera_pitch_deg is not None
    assert errors == []
    job = dialog.georeference()  # read and kept: a second press has nothing to read
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    assert dialog.message.text().startswith("Nothing to read")
