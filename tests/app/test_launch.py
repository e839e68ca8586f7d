"""``launch`` (used by ``damagemap gui`` and ``damagemap demo``) opens the path and runs."""

from __future__ import annotations

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication


def test_launch_opens_the_path_and_returns_when_the_window_closes(qapp, flyover, tmp_path, monkeypatch, errors):
    from app.main_window import MainWindow, launch

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    seen = {}

    def close_when_open():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.document.is_open]
        if not windows:
            QTimer.singleShot(20, close_when_open)
            return
        seen["project"] = windows[0].document.project_path
        windows[0].close()
        QApplication.quit()

    QTimer.singleShot(0, close_when_open)
    assert launch(flyover / "flight.mp4") == 0
    assert seen["project"] == flyover / "flight.dmproj"
    assert errors == []


def test_gui_command_parses_an_optional_path():
    import argparse

    from app.commands import gui

    parser = argparse.ArgumentParser()
    gui.add_arguments(parser)
    assert parser.parse_args([]).path is None
    assert str(parser.parse_args(["v.mp4"]).path) == "v.mp4"
