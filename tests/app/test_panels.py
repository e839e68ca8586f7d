"""Panels listen to the project document themselves; the window only docks them."""

from __future__ import annotations

from app.document import ProjectDocument
from app.panels.map_panel import MapPanel


def test_the_map_panel_follows_the_document_without_a_window(qtbot, flyover, errors):
    doc = ProjectDocument()
    panel = MapPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.open_path(flyover / "flight.mp4")
    map_widget = panel.map_widget
    assert map_widget.content is not None and len(map_widget.content) > 1  # the track, nothing analysed yet
    with qtbot.waitSignal(panel.map_updated, timeout=10_000):
        doc.update_settings(time_offset_s=0.25)  # the project settings changed: rebuilt
    with qtbot.waitSignal(doc.detection_requested) as requested:
        map_widget.site_clicked.emit(3, None)
    assert requested.args == [3, None]
    doc.close()
    assert map_widget.content is None and map_widget.message == "No project open"
    assert errors == []


def test_the_window_docks_every_panel_and_lists_it_in_the_view_menu(window):
    for kind in window.PANELS:
        panel = window.panel(kind)
        assert panel.document is window.document
        dock = next(d for d in window.docks if d.widget() is panel)
        assert dock.objectName() == kind.object_name and dock.windowTitle() == kind.title
        assert dock.toggleViewAction() in window.view_menu.actions()
