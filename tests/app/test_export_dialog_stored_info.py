"""The Export dialog's relief package fields start as the project stores them, the
footprints and basemap too, even where the stored event information is no longer valid
(kept by an older damagemap): an OK then kept the footprints it showed empty, and the
export took them out of the project."""

from __future__ import annotations

import json
from pathlib import Path

from app.dialogs.export_dialog import ExportDialog
from core.store import ProjectStore
from services.package import product_sources, set_product_sources


def _footprints(path: Path) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0.0001, 0], [0.0001, 0.0001], [0, 0]]]}}]}))
    return path


def test_stored_event_information_no_longer_valid_leaves_the_rest_shown_and_kept(qtbot, tmp_path):
    footprints = _footprints(tmp_path / "buildings.geojson")
    project = tmp_path / "flight.dmproj"
    with ProjectStore.create(project, video_path=tmp_path / "flight.mp4") as store:
        set_product_sources(store, footprints=footprints)
        store.set_setting("product_info", {"event": "Hurricane\nMichael", "analyst": "A. Analyst",
                                           "contact": "ops@relief.example", "version": 3})
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True, project=project)
    qtbot.addWidget(dialog)

    assert dialog.footprints_edit.text() == str(footprints)
    assert dialog.package_edits["analyst"].text() == "A. Analyst"
    assert dialog.package_edits["contact"].text() == "ops@relief.example"
    assert dialog.version_spin.value() == 3
    assert dialog.package_edits["event"].text() == ""  # not one line: to give again, said so
    assert "give it again" in dialog.package_edits["event"].placeholderText()

    dialog.package_box.setChecked(True)
    dialog.package_edits["event"].setText("Hurricane Michael")
    dialog.save_package_settings()  # OK
    with ProjectStore.open(project, read_only=True) as store:
        assert product_sources(store)[0] == footprints
        assert store.get_setting("product_info")["event"] == "Hurricane Michael"
        assert store.get_setting("product_info")["analyst"] == "A. Analyst"
    assert dialog.package_options()["footprints"] == str(footprints)
