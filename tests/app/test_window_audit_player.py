"""The player and the window's ways in (the GUI audit's findings): a seek while the video
plays goes on playing from there, Save As leaves the player where it was, a demo that
is ready after the user opened their own video does not replace it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, Qt

from core.store import ProjectStore
from core.types import Frame


def _play_then_seek(qtbot, window, seek) -> list[int]:
    """Frames shown after ``seek()`` while playing from frame 10 at a quarter speed (2.5
    frames a second: a seek undone would show 10 and on again)."""
    window.transport.set_speed(0.25)
    window.show_frame(10)
    shown: list[int] = []
    window.play_action.trigger()
    assert window.transport.is_playing
    window.frame_shown.connect(shown.append)
    seek()
    qtbot.waitUntil(lambda: any(0 < i for i in shown), timeout=10_000)  # played on a frame at least
    window.transport.pause()
    window.frame_shown.disconnect(shown.append)
    return shown


@pytest.mark.parametrize("how", ["home", "first button", "slider", "timeline", "go to time"])
def test_a_seek_while_playing_plays_on_from_there(qtbot, window, flyover, errors, how):
    from PySide6.QtTest import QTest

    assert window.open_path(flyover / "flight.mp4")
    window.activateWindow()  # for the Home key's shortcut
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    transport = window.transport
    seek = {
        "home": lambda: QTest.keyClick(window.frame_view, Qt.Key.Key_Home),
        "first button": lambda: transport.first_button.click(),
        "slider": lambda: transport.slider.setValue(0),
        "timeline": lambda: QTest.mouseClick(window.timeline, Qt.MouseButton.LeftButton,
                                             pos=QPoint(1, window.timeline.height() // 2)),
        "go to time": lambda: (transport.goto_edit.setText("0"),
                               QTest.keyClick(transport.goto_edit, Qt.Key.Key_Return)),
    }[how]
    shown = _play_then_seek(qtbot, window, seek)
    played = [i for i in shown if i > 0]
    assert played[0] < 10, shown  # was 10, 11, …: the clock went on from where it was
    assert errors == []


def test_play_at_the_last_frame_starts_again_from_the_first(qtbot, window, flyover, errors):
    assert window.open_path(flyover / "flight.mp4")
    window.transport.set_speed(0.25)
    window.show_frame(window.document.frame_count - 1)
    shown: list[int] = []
    window.frame_shown.connect(shown.append)
    window.play_action.trigger()
    qtbot.waitUntil(lambda: any(0 < i < 10 for i in shown) or not window.transport.is_playing, timeout=10_000)
    assert window.transport.is_playing and shown[0] == 0, shown  # was: back to the end, and stopped


@pytest.fixture
def reviewed(flyover_template, flyover):
    """The flyover's ground truth as a finished run, with its telemetry: sites to list."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover_template / "annotations" / "instances_train.json", score=0.9)
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=flyover / "flight.mp4", telemetry_path=flyover / "flight.SRT") as store:
        run = store.start_run(model={"weights": None}, settings={})
        mask = next(d.mask for d in detections if d.mask is not None)
        for index in sorted(times):
            store.write_frame(run, Frame(index, times[index], mask.width_px, mask.height_px),
                              [replace(d, id=None) for d in detections if d.frame_index == index])
        store.finish_run(run)
    return path


def test_save_as_leaves_the_player_where_it_was(qtbot, window, reviewed, tmp_path, errors):
    from app.panels.site_review_panel import SiteReviewPanel

    sites = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(sites.sites_updated, timeout=30_000):
        assert window.open_path(reviewed)
    first_pick = window.current_frame  # the Sites panel shows its first site on opening
    assert sites.current_site() is not None
    here = next(i for i in range(window.document.frame_count) if abs(i - first_pick) > 2)
    window.show_frame(here)
    with qtbot.waitSignal(sites.sites_updated, timeout=30_000):
        assert window.save_project_as(tmp_path / "copy.dmproj")
    assert window.document.project_path == tmp_path / "copy.dmproj"
    assert window.current_frame == here  # was the first site's frame, picked on the copy
    assert errors == []
    window.show_frame(first_pick)
    window.select_detection(sites.current_site().best_detection_id)  # the panels follow the user again
    assert window.current_frame == sites.current_site().best_frame


def test_a_demo_ready_after_the_user_opened_a_video_leaves_it_open(qtbot, window, flyover, tmp_path, tiny_model,
                                                                     errors):
    job = window.try_demo(tmp_path / "demo", seconds=1.0, size=(160, 96), model=tiny_model)
    assert window.open_path(flyover / "flight.mp4")  # while it renders
    qtbot.waitUntil(lambda: not job.is_running, timeout=120_000)
    doc = window.document
    assert doc.is_open and doc.project_path == flyover / "flight.dmproj"  # was: closed, the demo opened instead
    assert window.analysis_job is None  # nor is the demo analysed
    assert "demo flight is ready" in window.statusBar().currentMessage()
    window.close_project()
    page = window.start_page
    assert page.demo_button.isEnabled() and "Try the demo" in page.demo_status.text()
    assert "close this project" not in window.statusBar().currentMessage()  # done: the start page says it
    window.try_demo(tmp_path / "demo", seconds=1.0, size=(160, 96), model=tiny_model)  # then it opens at once
    qtbot.waitUntil(lambda: doc.is_open, timeout=30_000)
    assert doc.project_path == tmp_path / "demo" / "demo.dmproj" and errors == []
