"""Numbers typed out of a dialog box's limits are kept as typed, marked and explained,
and the dialog's OK is off: never cut silently to another number."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.dialogs.analysis_dialog import AnalysisDialog
from app.dialogs.geo_dialog import GeoSettingsDialog
from app.workers import AnalysisOptions
from core.settings import ProjectSettings


def _type(qtbot, box, text: str) -> None:
    """Select the box's text and type ``text`` over it, key by key, as a user does."""
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box.lineEdit(), text)


@pytest.fixture
def geo(qtbot):
    dialog = GeoSettingsDialog(ProjectSettings(min_score=0.3), min_score_floor=0.2)
    qtbot.addWidget(dialog)
    return dialog


@pytest.mark.parametrize(("box", "typed", "shown", "limits"), [
    ("offset_spin", "315360000", "315360000", "From −172800.00 s to 172800.00 s"),
    ("pitch_spin", "120", "120", "From −90.0° to 0.0°"),
    ("elevation_spin", "-600", "-600", "From −450.0 m to 9000.0 m"),
    ("hfov_spin", "200", "200", "From 1.1° to 169.9°"),
    ("height_spin", "5000", "5000", "From 0.0 m to 3000.0 m"),
    ("min_score_spin", "0.1", "0.1", "From 0.20 to 1.00"),
])
def test_georeferencing_keeps_an_out_of_range_number_and_refuses_it(qtbot, geo, box, typed, shown, limits):
    spin = getattr(geo, box)
    _type(qtbot, spin, typed)
    assert spin.lineEdit().text().startswith(shown)  # as typed: not 31536, 0.0 or -60
    assert not geo.ok_button.isEnabled()
    assert geo.problems_label.isVisibleTo(geo) and limits in geo.problems_label.text()
    assert "out of range" in geo.problems_label.text() and spin.lineEdit().styleSheet()
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)  # Enter does not close it either
    assert geo.result() == 0 and spin.lineEdit().text().startswith(shown)
    spin.clearFocus()  # leaving the box keeps it too
    assert spin.lineEdit().text().startswith(shown) and not geo.ok_button.isEnabled()


def test_the_pitch_says_which_way_it_runs(qtbot, geo):
    _type(qtbot, geo.pitch_spin, "120")
    assert "−90° looks straight down, 0° at the horizon" in geo.problems_label.text()
    assert "From −90.0° to 0.0°" in geo.pitch_spin.toolTip()  # the limits shown before anything goes wrong
    _type(qtbot, geo.pitch_spin, "-60")
    assert geo.ok_button.isEnabled() and not geo.problems_label.isVisibleTo(geo)
    assert geo.settings().camera_pitch_deg == -60.0


def test_an_emptied_box_means_no_value_and_the_arrows_stay_within_the_limits(qtbot, geo):
    _type(qtbot, geo.pitch_spin, "-60")
    geo.pitch_spin.lineEdit().clear()
    assert geo.ok_button.isEnabled() and geo.settings().camera_pitch_deg is None
    geo.pitch_spin.setValue(-90.0)
    geo.pitch_spin.stepBy(-1)  # below -90: back to assumed, not -91
    assert geo.pitch_spin.text() == "assumed -45°" and geo.settings().camera_pitch_deg is None
    geo.pitch_spin.stepBy(1)
    assert geo.pitch_spin.value() == -90.0
    geo.elevation_spin.setValue(8999.5)
    geo.elevation_spin.stepBy(10)
    assert geo.elevation_spin.value() == 9000.0 and geo.ok_button.isEnabled()


def test_a_word_typed_for_a_number_is_refused_too(qtbot, geo):
    geo.offset_spin.setFocus()
    geo.offset_spin.selectAll()
    qtbot.keyClicks(geo.offset_spin.lineEdit(), "-")
    assert not geo.ok_button.isEnabled() and "is not a number" in geo.problems_label.text()


def test_an_offset_past_the_limits_set_on_the_command_line_is_kept_while_untouched(qtbot):
    dialog = GeoSettingsDialog(ProjectSettings(time_offset_s=200_000.123))
    qtbot.addWidget(dialog)
    assert dialog.ok_button.isEnabled() and dialog.settings().time_offset_s == 200_000.123


@pytest.mark.parametrize(("box", "typed", "limits"), [
    ("fps_spin", "100", "From 0.00 fps to 30.00 fps"),
    ("hover_spin", "90", "From 0.0 s to 60.0 s"),
    ("batch_spin", "64", "From 0 to 32"),
    ("offset_spin", "315360000", "From −172800.00 s to 172800.00 s"),
    ("hfov_spin", "0.5", "From 1.1° to 169.9°"),
])
def test_analysis_keeps_an_out_of_range_number_and_refuses_it(qtbot, box, typed, limits):
    dialog = AnalysisDialog(AnalysisOptions(fps=2.0), video_fps=30.0, devices=["auto", "cpu"])
    qtbot.addWidget(dialog)
    assert dialog.ok_button.isEnabled()
    spin = getattr(dialog, box)
    _type(qtbot, spin, typed)
    assert typed in spin.lineEdit().text()
    assert not dialog.ok_button.isEnabled() and limits in dialog.problems_label.text()
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert dialog.result() == 0
