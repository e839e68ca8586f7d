"""``damagemap survey georeference``: what each flight's telemetry leaves the map to
assume, read from its video and kept in its project."""

from __future__ import annotations

import shutil

from app.cli import main
from core.store import ProjectStore
from core.survey import Survey
from services.survey import add_flight, create_survey, georeference_flights


def test_each_flight_gets_what_its_telemetry_lacks(tmp_path, manoeuvring_flight, capsys):
    """One flight logged by a GPX (no gimbal pitch, absolute altitudes from the air), one
    by the drone's SRT (both given): only the first is read, and only once."""
    survey = create_survey(tmp_path / "town")
    for name, telemetry in (("gpx", manoeuvring_flight.gpx), ("srt", manoeuvring_flight.srt)):
        folder = tmp_path / name
        folder.mkdir()
        video = shutil.copy2(manoeuvring_flight.video, folder / "flight.mp4")
        add_flight(survey, video, telemetry=telemetry, name=name)
    results = {r.flight.name: r for r in georeference_flights(survey)}
    assert results["gpx"].problem is None and results["srt"].problem is None
    assert any("ground elevation" in line for line in results["gpx"].lines)
    assert any(line.startswith("camera estimated from the ground's flow") for line in results["gpx"].lines)
    assert results["srt"].lines == ("nothing to read: the telemetry and the project give the camera and the heights",)
    with ProjectStore.open(survey.project_path(survey.flight("gpx"))) as store:
        read = store.project_settings()
    assert read.camera_pitch_deg is not None and read.camera_pitch_sigma_deg is not None
    assert read.ground_elevation_m is not None and read.ground_elevation_sigma_m is not None
    assert read.heading_offset_deg is not None
    with ProjectStore.open(survey.project_path(survey.flight("srt"))) as store:
        assert store.project_settings().camera_pitch_deg is None  # its gimbal pitch wins: nothing stored
    # kept: a second pass reads nothing, unless asked to read again
    assert next(georeference_flights(survey, ["gpx"])).lines[0].startswith("nothing to read")
    assert main(["survey", "georeference", str(tmp_path / "town"), "--flight", "gpx", "--again"]) == 0
    printed = capsys.readouterr().out
    assert "flight gpx:" in printed and "camera estimated" in printed and "flight srt" not in printed
    assert "what was read is kept in the project of flight gpx; the survey's map" in printed
    assert main(["survey", "georeference", str(tmp_path / "town"), "--flight", "srt"]) == 0
    printed = capsys.readouterr().out  # its telemetry gives it all: nothing is said to be kept
    assert "nothing read from a video, nothing changed" in printed and "kept in the project" not in printed


def test_a_flight_that_cannot_be_read_is_said_and_the_others_go_on(tmp_path, manoeuvring_flight, capsys):
    survey = create_survey(tmp_path / "town")
    folder = tmp_path / "gpx"
    folder.mkdir()
    video = shutil.copy2(manoeuvring_flight.video, folder / "flight.mp4")
    add_flight(survey, video, telemetry=manoeuvring_flight.gpx, name="gpx")
    (tmp_path / "bare").mkdir()
    add_flight(survey, shutil.copy2(video, tmp_path / "bare" / "flight.mp4"), name="bare")  # no telemetry beside it
    assert main(["survey", "georeference", str(tmp_path / "town")]) == 1
    out, err = capsys.readouterr()
    assert "flight bare: not read: no telemetry" in err and "flight gpx:" in out and "(1 flight(s) not read)" in out
    assert Survey.open(tmp_path / "town").flight("gpx") is not None

