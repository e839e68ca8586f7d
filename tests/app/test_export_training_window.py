"""The window's Export of training data after a re-analysis: the reviews stay on the run
they were made on, so the window names that run and offers its reviewed frames."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QMessageBox


def test_export_after_a_reanalysis_offers_the_reviewed_runs_frames(window, reviewed_project, qtbot, tmp_path):
    from app.dialogs.export_dialog import ExportChoice
    from tests.app.test_export_training import _reanalyse

    latest = _reanalyse(reviewed_project)
    assert window.open_path(reviewed_project)
    assert window.document.run_id == latest
    out_dir = tmp_path / "export"
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as exported:
        window.start_export(ExportChoice(out_dir=out_dir, formats=("geojson",), coco=True))
    assert exported.args[0]  # the map of the run shown
    said = window.statusBar().currentMessage()
    # worded as `damagemap export --training` words it (tests/app/test_export_training.py)
    assert f"no frame of run {latest} (the one shown) is reviewed; run 1 has 2 reviewed frame(s)" in said
    assert "review its sites" not in said  # they are reviewed, on run 1

    notes = window.export_notes_box  # the map's notes first, the offer once they are read
    assert notes is not None and window.training_offer_box is None
    notes.button(QMessageBox.StandardButton.Ok).click()
    box = window.training_offer_box
    assert box is not None and box.isVisible()
    assert "Export run 1's 2 reviewed frame(s) instead" in box.informativeText()
    offer = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
    assert offer.text() == "Export run 1's 2 reviewed frame(s)"
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as exported:
        offer.click()
    assert window.document.run_id == latest  # the window still shows the latest run
    annotations = out_dir / "training" / "annotations" / "instances_train.json"
    assert annotations in exported.args[0]
    assert len(json.loads(annotations.read_text())["images"]) == 2
    assert "(run 1's)" in window.statusBar().currentMessage()
    assert (out_dir / "damage_sites.geojson").is_file()  # the map first written stays


def test_nothing_reviewed_anywhere_sends_the_reviewer_to_review(window, reviewed_project, qtbot, tmp_path):
    from app.dialogs.export_dialog import ExportChoice

    assert window.open_path(reviewed_project)
    window._on_export_done(ExportChoice(out_dir=tmp_path, formats=(), coco=True), [], reviewed_elsewhere={})
    assert window.statusBar().currentMessage() == ("Nothing exported: no frame of this run is reviewed yet "
                                                   "(review its sites, then export the training data)")
    assert window.training_offer_box is None


def test_the_run_offer_follows_the_export_notes_not_over_them(window, reviewed_project, qtbot, tmp_path):
    """An export with notes whose training data came out empty: the notes first, and the
    offer of the reviewed run's frames once they are closed (two boxes at once put the
    offer over the notes)."""
    from app.dialogs.export_dialog import ExportChoice

    assert window.open_path(reviewed_project)
    written = tmp_path / "damage_sites.geojson"
    written.write_text("{}")
    window._on_export_done(ExportChoice(out_dir=tmp_path, formats=("geojson",), coco=True), [written],
                           ["no site scores at least 0.99"], reviewed_elsewhere={1: 2})
    notes = window.export_notes_box
    assert notes is not None and notes.isVisible()
    assert window.training_offer_box is None  # not yet: the notes are in front
    notes.button(QMessageBox.StandardButton.Ok).click()
    box = window.training_offer_box
    assert box is not None and box.isVisible()
    assert window.export_notes_box is None
