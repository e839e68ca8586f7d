"""Dialogs, settings and drag and drop, without running anything heavy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QCheckBox, QDialogButtonBox

from app.dialogs.analysis_dialog import AnalysisDialog
from app.dialogs.export_dialog import ExportDialog
from app.dialogs.help_dialogs import SHORTCUTS, TextDialog, model_card_dialog, model_card_path, shortcuts_html
from app.panels.map_panel import MapPanel
from app.workers import AnalysisOptions


def test_analysis_dialog_round_trips_options(qtbot):
    initial = AnalysisOptions(device="cpu", fps=2.5, srn=False, batch_size=2, input_size=600, building_gate=0.8,
                              flip_check=True, tiles=2, close_look=False, sharpness_ceiling=0.0, time_offset_s=-1.5,
                              hfov_deg=70.0, hover_every_s=5.0)
    dialog = AnalysisDialog(initial, video_fps=30.0)
    qtbot.addWidget(dialog)
    assert dialog.options() == dataclasses.replace(initial, time_offset_s=None)  # untouched: the project's
    dialog.offset_spin.setValue(-18000.0)  # a log kept in UTC-5
    assert dialog.options() == dataclasses.replace(initial, time_offset_s=-18000.0)
    assert dialog.hover_spin.text() == "one frame every 5.0 s"
    dialog.hover_spin.setValue(0.0)
    assert dialog.hover_spin.text() == "every frame the rate selects"
    assert dialog.options().request().hover_every == 0.0
    dialog = AnalysisDialog(AnalysisOptions(), video_fps=30.0, suggest_cpu_rate=False)
    qtbot.addWidget(dialog)
    assert dialog.options().fps is None
    dialog.fps_spin.setValue(0.0)  # "every frame"
    dialog.hfov_spin.setValue(0.0)  # "from metadata"
    options = dialog.options()
    assert options.fps is None and options.hfov_deg is None
    assert options.batch_size is None  # "automatic": the engine picks by device
    assert options.hover_every_s is None and options.request().hover_every == 2.0  # the default interval
    assert options.input_size is None  # the model's own
    dialog.input_size_combo.setCurrentIndex(dialog.input_size_combo.findData(480))
    assert dialog.options().input_size == 480 and dialog.options().request().input_size == 480
    odd = AnalysisDialog(AnalysisOptions(input_size=512), video_fps=30.0)  # a size from an earlier run stays
    qtbot.addWidget(odd)
    assert odd.options().input_size == 512 and odd.input_size_combo.currentText() == "512 px"
    assert dialog.options().building_gate is None  # the model's own
    dialog.building_gate_combo.setCurrentIndex(dialog.building_gate_combo.findData(0.5))
    assert dialog.options().building_gate == 0.5
    assert dialog.options().request().inference() == {"input_size": 480, "gate_threshold": 0.5}
    assert not dialog.options().flip_check  # off unless asked for
    dialog.flip_check.setChecked(True)
    assert dialog.options().request().inference() == {"input_size": 480, "gate_threshold": 0.5, "flip_check": True}
    assert dialog.options().tiles is None and "tiles" not in dialog.options().request().inference()  # its own
    dialog.tiles_combo.setCurrentIndex(dialog.tiles_combo.findData(2))
    assert dialog.tiles_combo.currentText().startswith("2 x 2 tiles")
    assert dialog.options().request().inference()["tiles"] == 2
    dialog.tiles_combo.setCurrentIndex(dialog.tiles_combo.findData(1))
    assert dialog.options().request().inference()["tiles"] == 1  # off, over weights that might turn it on
    assert dialog.tiles_combo.findData(3) == -1  # 3 x 3 found no more than 2 x 2: the command line has it
    from_cli = AnalysisDialog(AnalysisOptions(tiles=3), video_fps=30.0)  # a grid from an earlier run stays
    qtbot.addWidget(from_cli)
    assert from_cli.options().tiles == 3 and from_cli.tiles_combo.currentText() == "3 x 3 tiles"
    assert dialog.options().srn is None and dialog.options().request().srn is None  # the model's own
    dialog.srn_combo.setCurrentIndex(dialog.srn_combo.findData(True))
    assert dialog.options().request().srn is True
    assert dialog.options().close_look is None  # the model's own
    dialog.close_look_combo.setCurrentIndex(dialog.close_look_combo.findData(True))
    assert dialog.options().request().inference()["close_look"] is True
    dialog.close_look_combo.setCurrentIndex(dialog.close_look_combo.findData(False))
    assert dialog.close_look_combo.currentText().startswith("off: ")
    assert "soft or hazy footage" in dialog.close_look_combo.currentText()
    assert dialog.options().request().inference()["close_look"] is False
    assert dialog.options().sharpness_ceiling is None  # the model's own
    assert "sharpness_ceiling" not in dialog.options().request().inference()
    dialog.sharpness_combo.setCurrentIndex(dialog.sharpness_combo.findData(0.0))
    assert dialog.sharpness_combo.currentText().startswith("frames as they come")
    assert dialog.options().request().inference()["sharpness_ceiling"] == 0.0
    earlier = AnalysisDialog(AnalysisOptions(building_gate=0.3), video_fps=30.0)  # a gate from an earlier run stays
    qtbot.addWidget(earlier)
    assert earlier.options().building_gate == 0.3 and earlier.building_gate_combo.currentText() == "0.3"


def test_export_dialog_without_telemetry_offers_training_data_only(qtbot, tmp_path):
    dialog = ExportDialog(tmp_path / "out", has_telemetry=False)
    qtbot.addWidget(dialog)
    choice = dialog.choice()
    assert choice.formats == () and choice.coco and choice.out_dir == tmp_path / "out"
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True)
    qtbot.addWidget(dialog)
    for key in ("gpkg", "kmz", "csv"):
        dialog.format_checks[key].setChecked(False)
    dialog.open_html_check.setChecked(True)
    choice = dialog.choice()
    assert choice.formats == ("geojson", "kml", "html") and choice.open_html
    # the package's examples read as examples, not as values given
    assert dialog.package_edits["event"].placeholderText().startswith("e.g. ")
    assert dialog.package_edits["glide"].placeholderText().startswith("e.g. ")


def _what_is_written(request) -> tuple:
    """An export request as the files it makes: the map files, then its options."""
    from geo.export import resolve_formats

    options = dataclasses.asdict(request)
    del options["out_dir"], options["formats"], options["package"]
    return sorted(resolve_formats(request.map_formats)) if request.writes_map else [], request.writes_package, options


def test_the_export_dialog_opens_on_what_damagemap_export_writes_by_default(qtbot, tmp_path):
    """The dialog ticked GeoJSON and the HTML map where `damagemap export PROJECT` writes
    every format: both now take their defaults from one place."""
    from app.cli import build_parser
    from app.commands.export import check_arguments, export_request

    args = build_parser().parse_args(["export", str(tmp_path / "p.dmproj"), "--to", str(tmp_path / "out")])
    command_line = export_request(args, check_arguments(args))
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True)
    qtbot.addWidget(dialog)
    assert _what_is_written(dialog.choice().request()) == _what_is_written(command_line)
    assert dialog.choice().request().out_dir == command_line.out_dir
    # and an option given on the command line is one the dialog offers
    args = build_parser().parse_args(["export", str(tmp_path / "p.dmproj"), "--to", str(tmp_path / "out"),
                                      "--formats", "geojson,kmz", "--no-thumbnails", "--include-unconfirmed"])
    for key, check in dialog.format_checks.items():
        check.setChecked(key in ("geojson", "kmz"))
    dialog.thumbnails_check.setChecked(False)
    dialog.unconfirmed_check.setChecked(True)
    assert _what_is_written(dialog.choice().request()) == _what_is_written(export_request(args, check_arguments(args)))


def test_export_asks_for_something_to_write(qtbot, tmp_path):
    """With no map format, no relief package and no training data ticked, Export is off (it
    said "Exported 0 files" and offered to open a folder it never made); any one turns it on."""
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True)
    qtbot.addWidget(dialog)
    assert dialog.export_button.isEnabled()  # every map format by default
    for check in dialog.format_checks.values():
        check.setChecked(False)
    dialog.coco_check.setChecked(False)
    assert not dialog.export_button.isEnabled() and "Choose a map format" in dialog.export_button.toolTip()
    for turn_on, turn_off in ((lambda: dialog.format_checks["kmz"].setChecked(True),
                               lambda: dialog.format_checks["kmz"].setChecked(False)),
                              (lambda: dialog.package_box.setChecked(True), lambda: dialog.package_box.setChecked(False)),
                              (lambda: dialog.coco_check.setChecked(True), lambda: dialog.coco_check.setChecked(False))):
        turn_on()
        assert dialog.export_button.isEnabled()
        turn_off()
        assert not dialog.export_button.isEnabled()


def test_an_option_of_an_option_is_open_only_with_its_parent(qtbot, tmp_path):
    """"Open the HTML map afterwards" with no HTML map, "label pending detections" with no
    training data: both stayed enabled, doing nothing."""
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True)
    qtbot.addWidget(dialog)
    assert dialog.open_html_check.isEnabled() and not dialog.pending_check.isEnabled()
    dialog.format_checks["html"].setChecked(False)
    assert not dialog.open_html_check.isEnabled()
    dialog.coco_check.setChecked(True)
    assert dialog.pending_check.isEnabled()
    without_telemetry = ExportDialog(tmp_path / "out", has_telemetry=False)  # no map: nothing to open
    qtbot.addWidget(without_telemetry)
    assert not without_telemetry.open_html_check.isEnabled() and without_telemetry.pending_check.isEnabled()


def test_the_export_dialog_fits_a_small_screen_with_its_export_button_in_view(qtbot, tmp_path):
    """The choices scroll and the folder row and Export stay at the bottom: the whole
    dialog was about 670 px tall, more than a 1280x720 screen leaves under a title bar and
    a taskbar; where there is room it opens showing every choice."""
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True)
    qtbot.addWidget(dialog)
    assert dialog.minimumSizeHint().height() <= 300
    assert dialog.body.widget().sizeHint().height() > 320  # the choices alone are taller than that
    dialog.resize(dialog.width(), 320)
    dialog.show()
    qtbot.waitExposed(dialog)
    export = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert export.isVisible() and export.mapTo(dialog, export.rect().bottomLeft()).y() <= dialog.height()
    assert dialog.body.verticalScrollBar().maximum() > 0  # the choices scroll instead
    dialog.resize(dialog.width(), 900)
    qtbot.waitUntil(lambda: dialog.body.verticalScrollBar().maximum() == 0, timeout=2_000)


def test_the_export_dialog_shows_every_choice_and_names_its_folder_on_a_1366x768_screen(qtbot, tmp_path):
    """On a 1366x768 screen (about 700 px under a title bar and a taskbar) the dialog
    opens with every choice in view, the training data included, without scrolling; the
    folder it exports into is labelled."""
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True,
                          sites_note="The damage map keeps the 20 sites scoring ≥ 0.50, the window's score threshold")
    qtbot.addWidget(dialog)
    dialog.resize(dialog.sizeHint().width(), min(700, dialog.height()))
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() <= 1366 and dialog.height() <= 700
    assert dialog.body.verticalScrollBar().maximum() == 0
    viewport = dialog.body.viewport()
    for check in (dialog.coco_check, dialog.pending_check, dialog.version_spin, dialog.basemap_edit):
        bottom = check.mapTo(viewport, check.rect().bottomLeft()).y()
        assert check.isVisible() and bottom <= viewport.height(), check
    assert dialog.dir_label.isVisible() and dialog.dir_label.buddy() is dialog.dir_edit
    assert "folder" in dialog.dir_label.text().replace("&", "")


def test_the_export_dialog_fits_an_800_px_wide_screen_with_every_choice_in_view(qtbot, tmp_path):
    """No wider than 780 px, even at its smallest (with its window frame it fits an 800 px
    wide screen; a dialog wider than the screen hides its right side, the relief package's
    fields), every choice in view at 700 px tall, and none cut short at its narrowest."""
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True,
                          sites_note="The damage map keeps the 20 sites scoring ≥ 0.50, the window's score threshold")
    qtbot.addWidget(dialog)
    assert dialog.minimumSizeHint().width() <= 780 and dialog.minimumWidth() <= 780
    assert dialog.width() <= 780
    dialog.resize(dialog.width(), min(700, dialog.height()))
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() <= 780 and dialog.height() <= 700
    assert dialog.body.verticalScrollBar().maximum() == 0
    viewport = dialog.body.viewport()
    choices = (*dialog.format_checks.values(), dialog.thumbnails_check, dialog.unconfirmed_check,
               dialog.open_html_check, dialog.package_box, *dialog.package_edits.values(), dialog.version_spin,
               dialog.footprints_edit, dialog.basemap_edit, dialog.coco_check, dialog.pending_check)
    dialog.resize(dialog.minimumSizeHint().width(), dialog.height())
    qtbot.waitUntil(lambda: dialog.width() == dialog.minimumSizeHint().width(), timeout=2_000)
    for choice in choices:
        corner = choice.mapTo(viewport, choice.rect().bottomRight())
        assert choice.isVisible() and corner.x() <= viewport.width() and corner.y() <= viewport.height(), choice
    for check in dialog.findChildren(QCheckBox):  # a check box's words are cut, not wrapped, where it is too narrow
        assert check.width() >= check.sizeHint().width(), check.text()
    assert dialog.package_contents.isVisible() and "README" in dialog.package_contents.text()


def test_help_texts(qtbot, tmp_path):
    html = shortcuts_html()
    assert all(key in html for key, _ in SHORTCUTS)
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# Tiny model\n\nFor tests.", encoding="utf-8")
    assert model_card_path(str(tmp_path / "w.safetensors")) == card  # the card beside the weights
    dialog = TextDialog("Model card", markdown=card.read_text(encoding="utf-8"))
    qtbot.addWidget(dialog)
    assert "Tiny model" in dialog.browser.toPlainText()


def test_model_card_links_open_in_the_dialog(qtbot, tmp_path):
    (tmp_path / "MODEL_CARD.md").write_text(
        "# Tiny model\n\nEvery table is in [the measurements](MEASUREMENTS.md).\n", encoding="utf-8")
    (tmp_path / "MEASUREMENTS.md").write_text("# Measurements\n\nAP 12.3 on seed 7.\n", encoding="utf-8")
    dialog = model_card_dialog(str(tmp_path / "w.safetensors"))
    qtbot.addWidget(dialog)
    assert "Tiny model" in dialog.browser.toPlainText() and not dialog.back_button.isEnabled()
    assert not dialog.back_button.isHidden()
    qtbot.keyClick(dialog.browser, Qt.Key.Key_Tab)  # to the link, as a keyboard user would
    qtbot.keyClick(dialog.browser, Qt.Key.Key_Return)
    assert "AP 12.3 on seed 7." in dialog.browser.toPlainText()
    assert dialog.back_button.isEnabled()
    qtbot.mouseClick(dialog.back_button, Qt.MouseButton.LeftButton)
    assert "Tiny model" in dialog.browser.toPlainText()


def test_model_card_dialog_without_a_card(qtbot, tmp_path, monkeypatch):
    import app.dialogs.help_dialogs as help_dialogs

    monkeypatch.setattr(help_dialogs, "model_card_path", lambda weights: None)
    dialog = help_dialogs.model_card_dialog(str(tmp_path / "w.safetensors"))
    qtbot.addWidget(dialog)
    assert "No model card" in dialog.browser.toPlainText() and dialog.back_button.isHidden()


def test_model_card_of_a_fine_tuned_model_is_its_own(qtbot, tmp_path):
    """After Model > Improve the Model, the next analysis uses the fine-tuned weights:
    Help > Model Card says what they were trained on, never the shipped model's card."""
    import json

    folder = tmp_path / "flight.models" / "ft-001"
    folder.mkdir(parents=True)
    weights = folder / "model.safetensors"
    weights.write_bytes(b"")
    (folder / "model.json").write_text(json.dumps({"kind": "damagemap.msnet", "fine_tuned_on": {
        "project": str(tmp_path / "flight.dmproj"), "run_id": 1, "reviewed_frames": [0, 10, 20],
        "train_frames": [0, 10], "heldout_frames": [20], "positives": 5, "negatives": 1}}), encoding="utf-8")
    assert model_card_path(str(weights)) is None
    dialog = model_card_dialog(str(weights))
    qtbot.addWidget(dialog)
    text = dialog.browser.toPlainText()
    assert "Fine-tuned model ft-001" in text and "Reviewed frames: 3" in text
    assert "Default damage detector" not in text
    shipped = model_card_dialog(None)  # the shipped model's own card still
    qtbot.addWidget(shipped)
    assert "Default damage detector" in shipped.browser.toPlainText()


def test_overlay_choices_are_remembered(qtbot, app_settings, errors):
    from app.main_window import MainWindow

    first = MainWindow(settings=app_settings)
    qtbot.addWidget(first)
    first.threshold_spin.setValue(0.65)
    first.layer_checks["show_labels"].setChecked(False)
    assert first.frame_view.style.score_threshold == 0.65
    second = MainWindow(settings=app_settings)
    qtbot.addWidget(second)
    assert not second.layer_checks["show_labels"].isChecked()
    # the score threshold is the project's (its map minimum score), not the window's
    assert second.threshold_spin.value() == 0.5


def _drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_drag_and_drop_opens_a_video_and_attaches_telemetry(qtbot, window, flyover, errors):
    (flyover / "flight.SRT").unlink()
    gpx = flyover / "flight.gpx"
    moved = flyover / "track_by_hand.gpx"
    gpx.rename(moved)
    _drop(window, flyover / "flight.mp4")
    assert window.document.is_open and window.document.telemetry_path is None
    qtbot.waitUntil(lambda: "No telemetry" in window.panel(MapPanel).map_widget.message, timeout=5_000)
    _drop(window, moved)
    assert window.document.telemetry_path == moved
    assert errors == []


def test_preflight_refuses_a_missing_model_file(window, flyover, tmp_path, errors):
    assert window.open_path(flyover / "flight.mp4")
    job = window.start_analysis(AnalysisOptions(weights=str(tmp_path / "nope.safetensors")))
    assert job is None
    assert len(errors) == 1 and "nope.safetensors" in str(errors[0])


def test_georeferencing_change_rebuilds_the_map(qtbot, window, flyover, errors):
    from app.dialogs.geo_dialog import GeoSettingsDialog
    from core.settings import ProjectSettings

    initial = ProjectSettings(time_offset_s=0.5, hfov_deg="mavic-2-pro", ground_elevation_m=12.5, min_score=0.3)
    dialog = GeoSettingsDialog(initial)
    qtbot.addWidget(dialog)
    assert dialog.settings() == initial  # a preset stays a preset while untouched
    dialog.elevation_spin.setValue(dialog.elevation_spin.minimum())
    dialog.hfov_spin.setValue(0.0)
    assert dialog.settings() == ProjectSettings(time_offset_s=0.5, min_score=0.3)
    assert window.open_path(flyover / "flight.mp4")
    qtbot.waitUntil(lambda: window.panel(MapPanel).map_widget.message != "No project open", timeout=5_000)
    with qtbot.waitSignal(window.panel(MapPanel).map_updated, timeout=10_000):
        window.set_georeferencing(ProjectSettings(time_offset_s=-2.0, hfov_deg=75.0, min_score=0.4))
    assert window.document.settings == ProjectSettings(time_offset_s=-2.0, hfov_deg=75.0, min_score=0.4)


def test_georeferencing_from_before_the_last_ok_can_be_put_back(qtbot, window, flyover, monkeypatch, errors):
    """The dialog's Revert button fills its boxes with the settings from before its last
    OK, and says from when (also where Edit > Undo no longer holds that step)."""
    from app.dialogs.geo_dialog import GeoSettingsDialog

    assert window.open_path(flyover / "flight.mp4")
    doc = window.document
    doc.set_settings(dataclasses.replace(doc.settings, time_offset_s=0.5, camera_pitch_deg=-60.0, ground_elevation_m=12.0))
    before = doc.settings
    shown = []

    def edit_and_ok(dialog):
        shown.append(dialog)
        if len(shown) == 1:
            dialog.offset_spin.setValue(3.0)
            dialog.pitch_spin.setValue(-45.0)
            dialog.elevation_spin.setValue(40.0)
            dialog.hfov_spin.setValue(60.0)
        return 1

    monkeypatch.setattr(GeoSettingsDialog, "exec", edit_and_ok)
    window.geo_settings_dialog()
    assert doc.settings.time_offset_s == 3.0 and doc.settings.camera_pitch_deg == -45.0
    monkeypatch.setattr(GeoSettingsDialog, "exec", lambda dialog: shown.append(dialog) or 0)  # looked, Cancel
    window.geo_settings_dialog()
    again = shown[-1]
    assert again.revert_button.isEnabled() and again.offset_spin.value() == 3.0
    again.revert_button.click()
    assert again.settings() == before
    assert "replaced at" in again.revert_label.text()
    assert errors == []


def test_analysis_dialog_suggests_a_cpu_frame_rate(qtbot, monkeypatch):
    import app.dialogs.analysis_dialog as module

    monkeypatch.setattr(module, "available_devices", lambda: ["auto", "cpu"])
    dialog = AnalysisDialog(AnalysisOptions(), video_fps=30.0)
    qtbot.addWidget(dialog)
    assert dialog.options().fps == 2.0
    assert dialog.frames_to_analyse() is None and dialog.frames_label.isHidden()  # frame times not given


def test_analysis_dialog_says_how_many_frames_the_rate_analyses(qtbot):
    from engine.video import select_frame_indices

    times = [i / 30.0 for i in range(30 * 60)]  # a minute at 30 fps
    dialog = AnalysisDialog(AnalysisOptions(fps=2.0), video_fps=30.0, frame_times_s=times)
    qtbot.addWidget(dialog)
    assert dialog.frames_to_analyse() == len(select_frame_indices(times, fps=2.0)) == 120
    assert dialog.frames_label.text() == "120 of 1,800 frames"
    dialog.fps_spin.setValue(0.0)  # every frame
    assert dialog.frames_label.text() == "1,800 of 1,800 frames"
    # a resume: the frames the run holds are said ("60 of 60 frames" read as all to analyse)
    stored = select_frame_indices(times, fps=2.0)[:13]
    resumed = AnalysisDialog(AnalysisOptions(fps=2.0), video_fps=30.0, frame_times_s=times, stored=stored)
    qtbot.addWidget(resumed)
    assert resumed.frames_label.text() == "120 of 1,800 frames (13 stored already, 107 to analyse)"


def test_thumbnails_for_the_html_map_are_small_jpegs(flyover):
    import cv2
    import numpy as np

    from engine.thumbnails import jpeg_site_pictures

    # Asked out of order, with a repeat and one past the end: one pass, no exception.
    thumbnails, _ = jpeg_site_pictures(flyover / "flight.mp4", [7, 3, 7, 10_000], {}, max_side_px=64)
    assert sorted(thumbnails) == [3, 7]
    for data in thumbnails.values():
        assert data[:2] == b"\xff\xd8"  # JPEG start of image
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert max(image.shape[:2]) == 64
    assert thumbnails[3] != thumbnails[7]


def test_the_map_shows_the_track_before_any_analysis(qtbot, window, flyover, errors):
    assert window.open_path(flyover / "flight.mp4")
    map_widget = window.panel(MapPanel).map_widget
    qtbot.waitUntil(lambda: map_widget.content is not None, timeout=10_000)
    assert len(map_widget.content) > 1 and not map_widget.site_items  # the track alone
    assert errors == []


def test_an_offset_of_a_day_is_kept_by_the_dialogs_and_an_analysis(qtbot, window, flyover, tiny_model, errors):
    """A log kept in local time with its date a day off needs an offset past an hour
    (``damagemap telemetry --video`` suggests -86400 s): the boxes take it, and a dialog
    opened and accepted untouched, or an analysis started, keeps the project's offset as
    it is, never clamped to the box or rounded to its hundredths."""
    from app.dialogs.geo_dialog import GeoSettingsDialog
    from core.settings import ProjectSettings

    day_off = ProjectSettings(time_offset_s=-86_400.125, time_offset_sigma_s=0.2)
    dialog = GeoSettingsDialog(day_off)
    qtbot.addWidget(dialog)
    assert dialog.offset_spin.value() == pytest.approx(-86_400.125, abs=0.0051)  # shown to the hundredth
    assert dialog.settings() == day_off  # untouched: as it was, its uncertainty too
    dialog.offset_spin.setValue(-18_000.0)  # a log kept in UTC-5
    assert (dialog.settings().time_offset_s, dialog.settings().time_offset_sigma_s) == (-18_000.0, None)

    assert window.open_path(flyover / "flight.mp4")
    window.document.set_settings(dataclasses.replace(window.document.settings, time_offset_s=-90_000_000.0,
                                                     time_offset_sigma_s=0.2))  # past the box: set on the command line
    analysis = AnalysisDialog(AnalysisOptions(time_offset_s=window.document.settings.time_offset_s), video_fps=30.0)
    qtbot.addWidget(analysis)
    options = dataclasses.replace(analysis.options(), device="cpu", srn=False, fps=2.0)
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000):
        assert window.start_analysis(options, model=tiny_model) is not None
    settings = window.document.settings
    assert (settings.time_offset_s, settings.time_offset_sigma_s) == (-90_000_000.0, 0.2)
    # an offset typed into the analysis dialog is stored, its uncertainty unknown
    typed = dataclasses.replace(options, time_offset_s=-3_600.5)
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000):
        assert window.start_analysis(typed, model=tiny_model) is not None
    settings = window.document.settings
    assert (settings.time_offset_s, settings.time_offset_sigma_s) == (-3_600.5, None)
