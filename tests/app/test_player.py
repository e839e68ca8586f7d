"""Playback and keyboard control on the real window (no analysis needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt


def _open(qtbot, window, flyover):
    assert window.open_path(flyover / "flight.mp4")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.frame_view.setFocus()


def test_keys_step_seek_and_play(qtbot, window, flyover, errors):
    _open(qtbot, window, flyover)
    last = window.document.frame_count - 1
    view = window.frame_view
    with qtbot.waitSignal(window.frame_shown, check_params_cb=lambda i: i == 1):
        qtbot.keyClick(view, Qt.Key.Key_Right)
    with qtbot.waitSignal(window.frame_shown, check_params_cb=lambda i: i == last):
        qtbot.keyClick(view, Qt.Key.Key_End)
    with qtbot.waitSignal(window.frame_shown, check_params_cb=lambda i: i == last - 1):
        qtbot.keyClick(view, Qt.Key.Key_Left)
    with qtbot.waitSignal(window.frame_shown, check_params_cb=lambda i: i == 0):
        qtbot.keyClick(view, Qt.Key.Key_Home)
    assert window.transport.frame_label.text() == f"frame 1 / {last + 1}"

    # Space plays at the video's rate until the end, frame by frame in order.
    shown: list[int] = []
    window.frame_shown.connect(shown.append)
    with qtbot.waitSignal(window.transport.playing_changed, check_params_cb=lambda playing: not playing, timeout=10_000):
        qtbot.keyClick(view, Qt.Key.Key_Space)
    # playback stops as its clock passes the end, the last frame asked for then and shown
    # just after (a slow tick can pass the end from the frame before it)
    qtbot.waitUntil(lambda: shown[-1:] == [last], timeout=5_000)
    assert shown == sorted(shown)
    # L plays, again L doubles the speed, K pauses.
    qtbot.keyClick(view, Qt.Key.Key_L)
    qtbot.keyClick(view, Qt.Key.Key_L)
    assert window.transport.is_playing and window.transport.speed == 2.0
    qtbot.keyClick(view, Qt.Key.Key_K)
    assert not window.transport.is_playing
    assert errors == []


def test_go_to_time_uses_the_frames_timestamps(qtbot, window, flyover):
    _open(qtbot, window, flyover)
    edit = window.transport.goto_edit
    edit.setText("0:00.7")
    with qtbot.waitSignal(window.frame_shown, check_params_cb=lambda i: i == 7):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.transport.time_label.text().startswith("00:00.70")
    # a time past the end, and one that cannot be read, are said (the first only showed the last
    # frame, the second was only selected)
    edit.setText("1:00")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert "past the end of the video" in window.statusBar().currentMessage()
    edit.setText("abc")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.statusBar().currentMessage().startswith("Go to: expected seconds, m:ss or h:mm:ss")


def test_timeline_click_seeks_the_video(qtbot, window, flyover):
    _open(qtbot, window, flyover)
    timeline = window.timeline
    x = int(timeline.x_of_frame(9))
    with qtbot.waitSignal(window.frame_shown, check_params_cb=lambda i: i == 9):
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    assert window.transport.slider.value() == 9


def test_recent_files_and_reopening_reuses_the_project(qtbot, window, flyover):
    video = flyover / "flight.mp4"
    assert window.open_path(video)
    project = window.document.project_path
    window.close_project()
    assert window.open_path(video)  # the project beside the video is reused, not recreated
    assert window.document.project_path == project
    window.recent_menu.aboutToShow.emit()
    names = [a.text() for a in window.recent_menu.actions()]
    assert "flight.mp4" in names


def test_save_as_continues_in_a_complete_copy(qtbot, window, flyover, tmp_path, errors):
    from core.store import ProjectStore

    assert window.open_path(flyover / "flight.mp4")
    window.document.update_settings(time_offset_s=1.25)  # something only the project holds
    window.show_frame(4)
    elsewhere = tmp_path / "copies"
    elsewhere.mkdir()
    assert window.save_project_as(elsewhere / "site-a")
    doc = window.document
    assert doc.project_path == elsewhere / "site-a.dmproj"
    assert doc.video_path == (flyover / "flight.mp4").resolve()
    assert doc.settings.time_offset_s == 1.25 and window.current_frame == 4
    with ProjectStore.open(flyover / "flight.dmproj") as original:
        assert original.project_settings().time_offset_s == 1.25
    assert errors == []
    (elsewhere / "taken.dmproj").write_bytes(b"")
    assert not window.save_project_as(elsewhere / "taken.dmproj")
    assert "exists" in str(errors[0]) and doc.project_path == elsewhere / "site-a.dmproj"
    # the disk full partway: no damaged copy left under the name (the next try said "exists")
    import shutil

    def full(source, target, *args, **kwargs):
        Path(target).write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)  # a part of it written
        raise OSError(28, "No space left on device")

    real = shutil.copy2
    shutil.copy2 = full
    try:
        assert not window.save_project_as(elsewhere / "full")
    finally:
        shutil.copy2 = real
    assert "No space left on device" in str(errors[-1])
    assert list(elsewhere.glob("full*")) == [] and list(elsewhere.glob(".full*")) == []
    assert doc.project_path == elsewhere / "site-a.dmproj"  # back in the project it was in


@pytest.mark.parametrize("off_gui_thread", [False, True])
def test_save_as_keeps_the_video_it_has_open(qtbot, window, flyover, tmp_path, errors, monkeypatch, off_gui_thread):
    """The copy shows the same file: its reader is kept, not opened and read through again
    (the frames-ahead thread, and a job reading pictures, open their own)."""
    import threading

    import engine.video
    from app.document import ProjectDocument

    monkeypatch.setattr(ProjectDocument, "VIDEO_OFF_GUI_THREAD", off_gui_thread)
    assert window.open_path(flyover / "flight.mp4")
    doc = window.document
    if off_gui_thread:
        qtbot.waitUntil(lambda: not doc.video_loading, timeout=10_000)
    window.show_frame(4)
    reader = doc.reader
    opened: list[str] = []

    class CountedReader(engine.video.VideoReader):
        def __init__(self, path, **kwargs) -> None:  # noqa: ANN001
            if threading.current_thread().name in ("MainThread", "video-opening"):
                opened.append(f"{path} on {threading.current_thread().name}")
            super().__init__(path, **kwargs)

    monkeypatch.setattr(engine.video, "VideoReader", CountedReader)
    assert window.save_project_as(tmp_path / "copy")
    assert doc.project_path == tmp_path / "copy.dmproj"
    assert not doc.video_loading and doc.reader is reader and opened == []
    assert window.current_frame == 4 and window.transport.frame_count == 15
    with qtbot.waitSignal(window.frame_shown, check_params_cb=lambda i: i == 12, timeout=10_000):
        window.show_frame(12)
    assert errors == []


def test_a_flight_folder_moved_whole_opens_with_its_telemetry_and_a_missing_one_is_said(
        qtbot, window, flyover, tmp_path, monkeypatch, errors):
    """The project kept apart from its flight's folder, the folder moved: once the video is
    located, the telemetry beside it is the project's (the sites and the map come back);
    where none is there, the status bar says the telemetry is missing, not its name alone."""
    import shutil

    from services.project import open_or_create_project

    project = tmp_path / "site.dmproj"
    open_or_create_project(flyover / "flight.mp4", project).close()
    moved = Path(shutil.move(flyover, tmp_path / "flight moved"))
    monkeypatch.setattr(window, "locate_video", lambda missing: moved / missing.name)
    assert window.open_path(project)
    assert window.document.telemetry_path == (moved / "flight.SRT").resolve()
    assert "telemetry: flight.SRT" in window.project_label.text()
    window.close_project()
    gone = Path(shutil.move(moved, tmp_path / "gone"))
    for name in ("flight.SRT", "flight.gpx"):
        (gone / name).unlink()
    monkeypatch.setattr(window, "locate_video", lambda missing: gone / missing.name)
    assert window.open_path(project)
    assert "telemetry: missing: flight.SRT (File > Open Telemetry…)" in window.project_label.text()


def test_a_moved_video_is_located_and_remembered(qtbot, window, flyover, tmp_path, monkeypatch, errors):
    assert window.open_path(flyover / "flight.mp4")
    project = window.document.project_path
    window.close_project()
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    (flyover / "flight.mp4").rename(moved)

    monkeypatch.setattr(window, "locate_video", lambda missing: None)  # the user cancels
    assert not window.open_path(project)
    assert "missing" in str(errors[-1]) and "flight.mp4" in str(errors[-1])

    asked = []
    monkeypatch.setattr(window, "locate_video", lambda missing: asked.append(missing) or moved)
    assert window.open_path(project)
    assert asked == [flyover / "flight.mp4"] and window.document.video_path == moved
    window.close_project()
    monkeypatch.setattr(window, "locate_video", lambda missing: pytest.fail("asked again"))
    assert window.open_path(project)  # the new place is stored in the project


def test_a_video_located_that_is_not_the_one_analysed_is_asked_about(qtbot, window, flyover, tmp_path, monkeypatch,
                                                                      errors):
    """Located by hand, another clip (4 s where the run analysed 20) was taken and kept
    without a word, its frames shown for the run's sites."""
    import shutil

    from PySide6.QtWidgets import QMessageBox

    from core.store import ProjectStore
    from services.project import open_or_create_project

    project = tmp_path / "site.dmproj"
    with open_or_create_project(flyover / "flight.mp4", project) as store:  # a run of a longer video than this
        store.start_run(model={}, settings={"video": {"bytes": 10 ** 9, "frames": 999, "duration_s": 99.9}})
    moved = Path(shutil.move(flyover, tmp_path / "moved"))
    monkeypatch.setattr(window, "locate_video", lambda missing: moved / missing.name)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2])
                        or QMessageBox.StandardButton.No)
    assert not window.open_path(project)
    assert asked and "is not the video run 1 analysed (" in asked[0] and "frames, it had 999" in asked[0]
    with ProjectStore.open(project, read_only=True) as store:
        assert store.video_path != (moved / "flight.mp4").resolve()  # not pointed at it
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    assert window.open_path(project)  # the user's word: used all the same


def test_the_export_dialog_opens_on_the_folder_the_project_was_last_exported_to(qtbot, window, flyover, tmp_path,
                                                                                  monkeypatch):
    """It reopened on the default folder each time, the folder typed last forgotten."""
    from app.dialogs.export_dialog import ExportDialog

    _open(qtbot, window, flyover)
    window.document.run_id = window.document.run_id or 1  # an export needs a run to name
    shown = []

    def exec_(dialog):
        shown.append(dialog.dir_edit.text())
        dialog.dir_edit.setText(str(tmp_path / "field-team"))
        return 0 if len(shown) > 1 else 1

    monkeypatch.setattr(ExportDialog, "exec", exec_)
    monkeypatch.setattr(window, "start_export", lambda choice: None)
    window.export_dialog()
    window.export_dialog()
    assert shown[0].endswith("flight_export") and shown[1] == str(tmp_path / "field-team")


@pytest.mark.parametrize("size", [(853, 533), (1024, 768), (1366, 768)])
def test_the_time_readout_reads_whole_on_small_and_scaled_screens(qtbot, window, flyover, size):
    """Cut to "00:19.00 / 00:2…" on a 1280x800 laptop at 150% (853x533) and at 1024x768,
    the video's length could not be read: a shorter form shows it whole, the tooltip
    saying it in full."""
    from PySide6.QtWidgets import QLabel

    assert window.open_path(flyover / "flight.mp4")
    transport = window.transport
    transport.set_video(200, 10.0, 20.0)  # the demo's numbers
    transport.set_position(190, 19.0)
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5_000)
    label = transport.time_label
    qtbot.waitUntil(lambda: QLabel.text(label) in ("00:19.00 / 00:20.00", "0:19.0 / 0:20.0", "0:19 / 0:20"),
                    timeout=5_000)
    assert "00:19.00 / 00:20.00" in label.toolTip()
    if size == (1366, 768):
        assert QLabel.text(label) == "00:19.00 / 00:20.00"
    # at its least width too, both times whole
    label.resize(label.minimumSizeHint().width(), label.height())
    assert QLabel.text(label) == "0:19 / 0:20"
