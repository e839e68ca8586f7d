"""The georeferencing dialog estimates the telemetry's clock offset from the video off
the GUI thread and puts it in the offset box, where the user can still nudge it."""

from __future__ import annotations

import dataclasses

import pytest

from core.settings import ProjectSettings


def test_the_offset_is_estimated_from_the_video_into_the_box(qtbot, manoeuvring_flight, gpx_clock_shifted,
                                                               tmp_path):
    from app.dialogs.geo_dialog import GeoSettingsDialog

    gpx = gpx_clock_shifted(manoeuvring_flight, tmp_path / "fast.gpx", 2.0)
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


def test_a_log_shorter_than_the_video_is_said_to_match_at_no_offset(qtbot, manoeuvring_flight, gpx_cut_short,
                                                                    tmp_path):
    """Another flight's 5 s log against the 12 s video: the estimate says no offset keeps
    the video on the track (as ``damagemap telemetry --video`` does), not too little motion."""
    from app.dialogs.geo_dialog import GeoSettingsDialog

    gpx = gpx_cut_short(manoeuvring_flight, tmp_path / "other.gpx", 5.0)
    dialog = GeoSettingsDialog(ProjectSettings(time_offset_s=1.5), None, video_path=manoeuvring_flight.video,
                               telemetry_path=gpx)
    qtbot.addWidget(dialog)
    dialog.estimate_button.click()
    with qtbot.waitSignal(dialog._estimate_job.finished, timeout=60_000):
        pass
    text = dialog.estimate_label.text()
    assert text.startswith(f"Could not estimate: {gpx}: cannot estimate the clock offset against "
                           f"{manoeuvring_flight.video}: the motion in the video matches the track at no clock "
                           "offset within the search range (")
    assert "there is none for a video of 12.0 s on a track of 5.0 s; the video and the track may not belong " \
           "together, or set the offset by hand (--offset S; in the app, Georeferencing… > Telemetry time " \
           "offset)" in text
    assert dialog.offset_spin.value() == 1.5


def test_without_a_track_there_is_nothing_to_estimate(qtbot, manoeuvring_flight):
    from app.dialogs.geo_dialog import GeoSettingsDialog

    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=manoeuvring_flight.video, telemetry_path=None)
    qtbot.addWidget(dialog)
    assert not dialog.estimate_button.isEnabled()



def test_the_ground_is_read_from_the_video_into_the_box(qtbot, manoeuvring_flight):
    """The flight's GPX starts in the air with absolute altitudes only; its ground is at 10 m."""
    from app.dialogs.geo_dialog import GeoSettingsDialog

    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=manoeuvring_flight.video,
                               telemetry_path=manoeuvring_flight.gpx)
    qtbot.addWidget(dialog)
    assert dialog.ground_button.isEnabled() and dialog.settings().ground_elevation_m is None
    dialog.ground_button.click()
    job = dialog._ground_job
    assert not dialog.ground_button.isEnabled()  # one reading at a time
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    found = dialog.settings()
    assert found.ground_elevation_m is not None and found.ground_elevation_sigma_m is not None
    assert found.ground_elevation_m == pytest.approx(10.0, abs=max(found.ground_elevation_sigma_m, 3.0))
    assert dialog.ground_label.text().startswith("Found ") and "above the ground" in dialog.ground_label.text()
    dialog.elevation_spin.setValue(found.ground_elevation_m + 2.0)  # changed by hand: its uncertainty unknown
    assert dialog.settings().ground_elevation_sigma_m is None


def test_a_track_with_heights_above_take_off_needs_no_ground(qtbot, manoeuvring_flight):
    from app.dialogs.geo_dialog import GeoSettingsDialog

    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=manoeuvring_flight.video,
                               telemetry_path=manoeuvring_flight.srt)
    qtbot.addWidget(dialog)
    dialog.ground_button.click()
    with qtbot.waitSignal(dialog._ground_job.finished, timeout=60_000):
        pass
    assert "no ground elevation is needed" in dialog.ground_label.text()
    assert dialog.settings().ground_elevation_m is None


def test_the_camera_pitch_is_read_from_the_video_into_the_box(qtbot, manoeuvring_flight):
    """The GPX gives no gimbal pitch (nor a ground): the pitch read lands in the box with
    how sure it is, and the ground is read with it. (How close the reading comes is
    ``geo.pitch``'s to answer: this flight is too small and turns too much to say.)"""
    from app.dialogs.geo_dialog import GeoSettingsDialog

    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=manoeuvring_flight.video,
                               telemetry_path=manoeuvring_flight.gpx)
    qtbot.addWidget(dialog)
    assert dialog.settings().camera_pitch_deg is None and dialog.pitch_spin.text() == "assumed -45°"
    dialog.camera_button.click()
    with qtbot.waitSignal(dialog._camera_job.finished, timeout=60_000):
        pass
    found = dialog.settings()
    assert found.camera_pitch_deg is not None and found.camera_pitch_sigma_deg is not None
    assert -90.0 <= found.camera_pitch_deg < 0.0 and found.camera_pitch_sigma_deg > 0.0
    assert f"Found pitch {found.camera_pitch_deg:.0f}°" in dialog.camera_label.text()
    # the GPX names no camera: its width was read with the pitch, and the map must use it too
    assert found.hfov_deg is not None and f"{found.hfov_deg:.0f}° wide" in dialog.camera_label.text()
    assert found.heading_offset_deg is not None and found.heading_offset_sigma_deg is not None
    assert "ground elevation was read" in dialog.camera_label.text()
    assert found.ground_elevation_m is not None and found.ground_elevation_sigma_m is not None
    dialog.pitch_spin.setValue(-60.0)  # typed over the reading: kept, its spread unknown
    assert dialog.settings().camera_pitch_deg == -60.0 and dialog.settings().camera_pitch_sigma_deg is None
    dialog.pitch_spin.setValue(dialog.pitch_spin.minimum())  # back to assumed: the whole camera goes
    camera = dialog.settings()
    assert (camera.camera_pitch_deg, camera.heading_offset_deg, camera.camera_pitch_sigma_deg) == (None, None, None)


def test_a_track_with_gimbal_pitch_needs_no_camera_reading(qtbot, manoeuvring_flight):
    from app.dialogs.geo_dialog import GeoSettingsDialog

    dialog = GeoSettingsDialog(ProjectSettings(camera_pitch_deg=-30.0), None, video_path=manoeuvring_flight.video,
                               telemetry_path=manoeuvring_flight.srt)
    qtbot.addWidget(dialog)
    assert dialog.settings().camera_pitch_deg == -30.0  # a saved pitch stays while untouched
    dialog.camera_button.click()
    with qtbot.waitSignal(dialog._camera_job.finished, timeout=60_000):
        pass
    assert "gives the gimbal pitch" in dialog.camera_label.text()


def test_an_unreliable_offset_is_said_and_not_put_in_the_box(qtbot):
    """A video whose motion matches the track nowhere well gives a best offset anyway;
    the box keeps its value, as `--offset auto` keeps the project's."""
    from app.dialogs.geo_dialog import GeoSettingsDialog
    from geo.clock_offset import OffsetEstimate

    dialog = GeoSettingsDialog(ProjectSettings(time_offset_s=1.5), None)
    qtbot.addWidget(dialog)
    guess = OffsetEstimate(offset_s=2.5, correlation=0.1, residual=0.99, uncertainty_s=2.0, runner_up_s=0.4,
                           runner_up_correlation=-0.1, confidence=0.05, zone_shift_h=0.0, channels=("speed",),
                           searched_s=(-2.5, 2.5))
    dialog._show_estimate(guess)
    assert dialog.offset_spin.value() == 1.5 and dialog.settings().time_offset_s == 1.5
    assert dialog.estimate_label.text().startswith("No reliable offset: the best match, +2.50 s")
    two = dataclasses.replace(guess, correlation=0.99, runner_up_correlation=0.97, confidence=0.9, uncertainty_s=0.1,
                              separation_sigma=0.7)
    dialog._show_estimate(two)  # a runner-up about as good: the box keeps its value too
    assert dialog.offset_spin.value() == 1.5
    assert dialog.estimate_label.text().startswith("Ambiguous offset: +2.50 s or +0.40 s")
    dialog._show_estimate(dataclasses.replace(guess, confidence=0.9, uncertainty_s=0.1))
    assert dialog.offset_spin.value() == 2.5 and dialog.settings().time_offset_sigma_s == pytest.approx(0.1)


def test_where_the_camera_turned_while_hovering_is_read_with_the_camera(qtbot, flyover_once):
    """A GPX gives no heading: reading the camera also reads where it turned while the
    drone hovered, and the settings keep it (the map places the hover by it)."""
    from app.dialogs.geo_dialog import GeoSettingsDialog

    flight = flyover_once("hover-turn", seconds=8.0, fps=10.0, size=(320, 180), seed=3, annotate_every=40,
                          hover=(2.0, 4.0), hover_turn_deg=60.0)
    dialog = GeoSettingsDialog(ProjectSettings(ground_elevation_m=10.0), None, video_path=flight.video,
                               telemetry_path=flight.gpx)
    qtbot.addWidget(dialog)
    assert dialog.settings().hover_turns == ()
    dialog.camera_button.click()
    with qtbot.waitSignal(dialog._camera_job.finished, timeout=60_000):
        pass
    assert dialog.settings().hover_turns
    assert "Read where the camera turned while the drone hovered" in dialog.camera_label.text()
    # the SRT gives the gimbal's pitch and yaw: nothing to read, and the turns kept are left as they are
    kept = GeoSettingsDialog(dialog.settings(), None, video_path=flight.video, telemetry_path=flight.srt)
    qtbot.addWidget(kept)
    kept.camera_button.click()
    with qtbot.waitSignal(kept._camera_job.finished, timeout=60_000):
        pass
    assert "gives the gimbal pitch" in kept.camera_label.text() and kept.settings().hover_turns


def test_an_unsure_camera_width_asks_for_the_drones_field_of_view(qtbot, sites_flyover):
    """A reading whose width the flight's halves disagree on keeps the pitch and width it
    found (the pitch holds with that width only) and says to set the drone's field of
    view and read again; a sure one says nothing of it."""
    from app.dialogs.geo_dialog import GeoSettingsDialog
    from geo.pitch import ESTIMATED_FOV_SOURCE, UNSURE_HFOV_SIGMA_DEG, FlowView
    from services.sync import UNSURE_WIDTH_REASON, SyncReport

    unsure = FlowView(-37.0, 2.0, 50.0, 12.0, 5.0, UNSURE_HFOV_SIGMA_DEG + 3.0, 0.1, 50, ESTIMATED_FOV_SOURCE)
    for view, asks in ((unsure, True), (dataclasses.replace(unsure, hfov_sigma_deg=6.0), False)):
        dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=sites_flyover.video,
                                   telemetry_path=sites_flyover.gpx)
        qtbot.addWidget(dialog)
        dialog._show_camera((SyncReport(None, view), False))
        assert dialog.pitch_spin.value() == -37.0 and dialog.hfov_spin.value() == 50.0
        assert ("Set the drone's field of view above and read again" in dialog.camera_label.text()) is asks
        assert (UNSURE_WIDTH_REASON in dialog.camera_label.text()) is asks  # the command line's words
        # the width read is an estimate: kept with its spread, which a width typed over it drops
        assert dialog.settings().hfov_deg == 50.0 and dialog.settings().hfov_sigma_deg == view.hfov_sigma_deg
        assert dialog.settings().hfov_unsure is asks  # kept: a map built later from the settings cautions
        dialog.hfov_spin.setValue(84.0)
        assert dialog.settings().hfov_deg == 84.0 and dialog.settings().hfov_sigma_deg is None
        assert not dialog.settings().hfov_unsure  # typed: given, not read unsure


def test_a_saved_width_read_from_the_video_is_read_again_not_held(qtbot, sites_flyover):
    """A field of view the project keeps from an earlier reading is not given to the next
    reading as known (it would read the pitch alone, surer than it is): the camera's width
    is read again and the new reading replaces it; a width typed in the box is held."""
    from app.dialogs.geo_dialog import GeoSettingsDialog
    from geo.pitch import ESTIMATED_FOV_SOURCE, FlowView
    from services.sync import SyncReport

    dialog = GeoSettingsDialog(ProjectSettings(hfov_deg=95.0, hfov_sigma_deg=18.0), None,
                               video_path=sites_flyover.video, telemetry_path=sites_flyover.gpx)
    qtbot.addWidget(dialog)
    assert dialog.hfov_spin.value() == 95.0 and dialog._hfov_known() is None
    dialog._show_camera((SyncReport(None, FlowView(-50.0, 2.0, 88.0, 9.0, 5.0, 12.0, 0.1, 50,
                                                   ESTIMATED_FOV_SOURCE)), False))
    assert dialog.hfov_spin.value() == 88.0
    assert (dialog.settings().hfov_deg, dialog.settings().hfov_sigma_deg) == (88.0, 12.0)
    assert dialog._hfov_known() is None
    dialog.hfov_spin.setValue(84.0)  # typed: the next reading holds it
    assert dialog._hfov_known() == 84.0 and dialog.settings().hfov_sigma_deg is None


def test_a_width_drawn_towards_the_default_is_saved_unsure_and_kept_so(qtbot, sites_flyover):
    """A width the flow alone could not pin down, drawn towards the map's default, keeps a
    spread below the unsure one: the dialog stores that it is unsure all the same, and an
    OK that leaves the saved width keeps it so."""
    from app.dialogs.geo_dialog import GeoSettingsDialog
    from geo.pitch import DRAWN_FOV_SOURCE, FlowView
    from services.sync import SyncReport

    drawn = FlowView(-44.0, 5.0, 78.6, 6.6, 5.0, 8.9, 0.1, 50, f"{DRAWN_FOV_SOURCE} 73.7 deg")
    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=sites_flyover.video,
                               telemetry_path=sites_flyover.gpx)
    qtbot.addWidget(dialog)
    dialog._show_camera((SyncReport(None, drawn), False))
    saved = dialog.settings()
    assert (saved.hfov_deg, saved.hfov_sigma_deg, saved.hfov_unsure) == (78.6, 8.9, True)
    reopened = GeoSettingsDialog(saved, None)
    qtbot.addWidget(reopened)
    assert reopened.settings().hfov_unsure
