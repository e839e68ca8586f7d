"""A flight log given where a video or a project is asked for is said as what it is, with
how the client that asked takes one: the command line with its command and flag, the
window with its menu, never the other's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from core.errors import InputError
from core.survey import Survey


@pytest.fixture
def town_and_log(tmp_path: Path) -> tuple[Path, Path]:
    town = tmp_path / "town"
    Survey.create(town)
    log = tmp_path / "x.gpx"
    log.write_text("<gpx/>")
    return town, log


def test_survey_add_on_a_flight_log_says_the_command_that_takes_it(town_and_log, capsys):
    town, log = town_and_log
    assert main(["survey", "add", str(town), str(log)]) == 2
    error = capsys.readouterr().err
    assert f"damagemap survey add {town} VIDEO --track {log}" in error
    assert "File > Open" not in error
    assert Survey.open(town).flights == []


def test_the_survey_window_adding_a_flight_log_says_the_windows_way(town_and_log):
    from app.workers import survey_add_job

    town, log = town_and_log
    added, problems, _, _ = survey_add_job(town, [log])
    assert added == []
    assert len(problems) == 1 and "open the video, then File > Open Telemetry…" in problems[0]
    assert "--track" not in problems[0] and "damagemap survey" not in problems[0]


def test_gui_on_a_flight_log_says_the_commands_that_take_it(town_and_log, capsys):
    _, log = town_and_log
    assert main(["gui", str(log)]) == 2
    error = capsys.readouterr().err
    assert f"damagemap analyze VIDEO --track {log}" in error and "damagemap gui VIDEO" in error


def test_the_window_opening_a_flight_log_says_its_menu_only(town_and_log):
    from services.project import opens_as_video

    _, log = town_and_log
    with pytest.raises(InputError) as refused:
        opens_as_video(log)
    assert "open the video, then File > Open Telemetry…" in str(refused.value)
    assert "--track" not in str(refused.value) and "command line" not in str(refused.value)
