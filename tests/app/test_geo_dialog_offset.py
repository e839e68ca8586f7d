"""The georeferencing dialog estimates the telemetry's clock offset from the video off
the GUI thread and puts it in the offset box, where the user can still nudge it."""

from __future__ import annotations

import datetime as dt

import pytest

from core.settings import ProjectSettings


@pytest.fixture(scope="module")
def manoeuvring_flight(tmp_path_factory):
    from engine.synth import render_flyover

    out = tmp_path_factory.mktemp("offset-flight")
    return render_flyover(out, seconds=12.0, fps=10.0, size=(320, 180), seed=6, annotate_every=60, manoeuvres=True)


def _gpx_fast_by(paths, out, seconds):
    import gpxpy

    gpx = gpxpy.parse(paths.gpx.read_text())
    for point in gpx.tracks[0].segments[0].points:
        point.time = point.time + dt.timedelta(seconds=seconds)
    out.write_text(gpx.to_xml(version="1.1"))
    return out


def test_the_offset_is_estimated_from_the_video_into_the_box(qtbot, manoeuvring_flight, tmp_path):
    from app.dialogs.geo_dialog import GeoSettingsDialog

    gpx = _gpx_fast_by(manoeuvring_flight, tmp_path / "fast.gpx", 2.0)
    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=manoeuvring_flight.video, telemetry_path=gpx)
    qtbot.addWidget(dialog)
    assert dialog.estimate_button.isEnabled() and dialog.offset_spin.value() == 0.0
    dialog.estimate_button.click()
    job = dialog._estimate_job  # its result is queued to this thread: it cannot arrive before the wait
    assert not dialog.estimate_button.isEnabled()  # one estimate at a time
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    assert dialog.offset_spin.value() == pytest.approx(-2.0, abs=0.5)
    assert "Found -" in dialog.estimate_label.text() and "confidence" in dialog.estimate_label.text()
    assert dialog.estimate_button.isEnabled()
    found = dialog.settings()
    assert found.time_offset_sigma_s is not None and 0.0 < found.time_offset_sigma_s < 0.5  # enters the error budget
    dialog.offset_spin.setValue(dialog.offset_spin.value() + 0.1)  # the nudge: the user's value is what is kept
    assert dialog.settings().time_offset_s == pytest.approx(dialog.offset_spin.value())
    assert dialog.settings().time_offset_sigma_s is None  # nudged by hand: its uncertainty is not known


def test_without_a_track_there_is_nothing_to_estimate(qtbot, manoeuvring_flight):
    from app.dialogs.geo_dialog import GeoSettingsDialog

    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=manoeuvring_flight.video, telemetry_path=None)
    qtbot.addWidget(dialog)
    assert not dialog.estimate_button.isEnabled()

