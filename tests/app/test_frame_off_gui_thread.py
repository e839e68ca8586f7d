"""A frame the player does not hold is decoded off the GUI thread: the window turns while
a reader that waits for the test's word decodes it, the frame on screen stays (dimmed,
with its own boxes) and the one asked for last is shown when it is here."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QTimer

import engine.video
from app.document import ProjectDocument
from app.frames_ahead import FramesAhead
from core.errors import VideoError

#: Longest a reader waits for the test's word; a GUI thread stuck on it fails the test.
GATE_S = 5.0


class _Gate:
    """A :class:`engine.video.VideoReader` whose ``frame_at`` waits until the test opens the
    gate (every reader of the process, the GUI thread's included, while it is shut)."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.decoding_on: list[str] = []

    def reader_class(self) -> type:
        gate = self

        class GatedReader(engine.video.VideoReader):
            def frame_at(self, index: int, *, image: bool = True):  # noqa: ANN202 - core.types.Frame
                gate.decoding_on.append(threading.current_thread().name)
                if not gate.open.wait(GATE_S):
                    raise VideoError(f"frame {index}: the test never opened the gate")
                return super().frame_at(index, image=image)

        return GatedReader


@pytest.fixture
def gate(monkeypatch) -> _Gate:
    gate = _Gate()
    monkeypatch.setattr(engine.video, "VideoReader", gate.reader_class())
    # the flyover is tiny (every frame cheap to decode on the GUI thread): none is
    monkeypatch.setattr(ProjectDocument, "GUI_DECODE_PIXELS", 0)
    monkeypatch.setattr(ProjectDocument, "GUI_DECODE_LEAST_FRAMES", 0)
    yield gate
    gate.open.set()  # nothing left waiting into the next test


def _event_loop_turns(qtbot) -> None:
    timer = QTimer()
    timer.setSingleShot(True)
    with qtbot.waitSignal(timer.timeout, timeout=1_000):
        timer.start(0)


def test_a_far_frame_is_decoded_off_the_gui_thread_and_shown_when_here(
        qtbot, window, reviewed_project, gate, errors):
    gate.open.set()
    assert window.open_path(reviewed_project)
    doc = window.document
    qtbot.waitUntil(lambda: doc.awaited_frame is None and window.frame_view.loading_frame is None, timeout=10_000)
    here = window.current_frame
    far = max((d for d in doc.all_detections(masks=False) if abs(d.frame_index - here) > 3),
              key=lambda d: abs(d.frame_index - here))
    shown: list[int] = []
    window.frame_shown.connect(shown.append)

    gate.open.clear()
    gate.decoding_on.clear()
    window.select_detection(far.id)  # returns at once: nothing decodes on this thread
    _event_loop_turns(qtbot)
    view = window.frame_view
    assert view.loading_frame == far.frame_index and view.loading_label.isVisible()
    assert window.current_frame == here and view.frame_index == here and shown == []
    # the picture on screen keeps its own boxes, not the next frame's
    assert {d.id for d in view.detections} == {d.id for d in doc.detections(here)}
    assert window.transport.position == here

    with qtbot.waitSignal(window.frame_shown, timeout=10_000, check_params_cb=lambda i: i == far.frame_index):
        gate.open.set()
    assert window.current_frame == far.frame_index and view.frame_index == far.frame_index
    assert {d.id for d in view.detections} == {d.id for d in doc.detections(far.frame_index)}
    assert window.selected_id == far.id and view.selected_id == far.id
    assert view.loading_frame is None and not view.loading_label.isVisible()
    assert window.transport.position == far.frame_index
    assert "MainThread" not in gate.decoding_on
    assert errors == []


def test_only_the_frame_asked_for_last_is_shown(qtbot, window, reviewed_project, open_sites, gate, errors):
    gate.open.set()
    site = open_sites(reviewed_project).current_site()  # the Sites list has taken the player to its site
    doc = window.document
    qtbot.waitUntil(lambda: window.current_frame == site.best_frame and doc.awaited_frame is None
                    and window.frame_view.loading_frame is None, timeout=10_000)
    first, last = 2, doc.frame_count - 2
    shown: list[int] = []
    window.frame_shown.connect(shown.append)

    gate.open.clear()
    window.show_frame(first)
    window.show_frame(last)  # asked for before the first is here: the first is never shown
    _event_loop_turns(qtbot)
    assert window.frame_view.loading_frame == last
    with qtbot.waitSignal(window.frame_shown, timeout=10_000):
        gate.open.set()
    assert shown == [last] and window.current_frame == last
    assert errors == []


def test_a_frame_that_cannot_be_decoded_says_why(tmp_path, qtbot):
    """The frame wanted now that fails: ``on_decoded`` is told, and taking it raises why."""
    from engine.video import VideoReader, write_video

    video = write_video(tmp_path / "v.mp4", [np.full((32, 48, 3), i * 20, np.uint8) for i in range(6)], fps=5)
    decoded = threading.Event()
    ahead = FramesAhead(video, on_decoded=lambda _index: decoded.set())
    try:
        ahead.want_now(99)
        assert decoded.wait(10)
        with pytest.raises(IndexError, match="asked for 99"):
            ahead.take(99)
        decoded.clear()
        ahead.want_now(4)
        assert decoded.wait(10)
        assert ahead.take(4).index == 4 and ahead.holds(4)
        # the reader that decoded it goes to the player, standing on the next frame
        players = VideoReader(video)
        traded = ahead.trade_reader(4, players)
        assert traded is not None and traded is not players and traded.frames_to_decode(5) == 1
        assert ahead.trade_reader(4, traded) is None  # once
        traded.close()
    finally:
        ahead.close()


def test_an_undo_goes_back_to_a_frame_at_hand(qtbot, window, truth_run_project, open_sites, gate, errors):
    """The frame a decision was made on is kept: Undo shows it with the readers shut."""
    from PySide6.QtCore import Qt

    from tests.app.test_site_review_panel import _press

    gate.open.set()
    panel = open_sites(truth_run_project)
    decided = panel.current_site()
    qtbot.waitUntil(lambda: window.current_frame == decided.best_frame and window.document.awaited_frame is None,
                    timeout=10_000)
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: window.current_frame != decided.best_frame and window.document.awaited_frame is None,
                    timeout=10_000)
    elsewhere = next(i for i in (0, window.document.frame_count - 1) if abs(i - decided.best_frame) > 3)
    with qtbot.waitSignal(window.frame_shown, timeout=10_000, check_params_cb=lambda i: i == elsewhere):
        window.show_frame(elsewhere)  # the reviewer looked elsewhere since

    gate.open.clear()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.current_frame == decided.best_frame, timeout=GATE_S * 500)
    assert window.frame_view.loading_frame is None and errors == []



def _event_loop_runs(qtbot, ms: int) -> None:
    timer = QTimer()
    timer.setSingleShot(True)
    with qtbot.waitSignal(timer.timeout, timeout=ms + 5_000):
        timer.start(ms)


def test_a_seek_while_playing_is_decoded_off_the_gui_thread_and_playback_goes_on_from_it(
        qtbot, window, reviewed_project, open_sites, gate, errors):
    """The slider dragged during playback: the frame is decoded on the thread, the clock
    waits for it (it does not run on to the end meanwhile), and playback goes on from it."""
    gate.open.set()
    site = open_sites(reviewed_project).current_site()  # the Sites list has taken the player to its site
    doc = window.document
    qtbot.waitUntil(lambda: window.current_frame == site.best_frame and doc.awaited_frame is None, timeout=10_000)
    transport = window.transport
    transport.set_speed(4.0)  # 40 frames a second: the 15 frames last 0.4 s
    last = doc.frame_count - 1
    # a seek: more frames to decode than playback's next ones, and none decoded ahead
    far = max((i for i in range(last) if not doc._frames_ahead.holds(i)
               and doc.reader.frames_to_decode(i) > doc.PLAYING_DECODE_FRAMES),
              key=lambda i: abs(i - window.current_frame))
    shown: list[int] = []
    window.frame_shown.connect(shown.append)

    transport.play()  # and at once, before its clock ticks:
    gate.open.clear()
    gate.decoding_on.clear()
    transport.slider.setValue(far)  # returns at once: nothing decodes on this thread
    _event_loop_runs(qtbot, 500)  # longer than the rest of the video at 4x
    assert window.frame_view.loading_frame == far and transport.is_playing and shown == []
    assert "MainThread" not in gate.decoding_on

    with qtbot.waitSignal(window.frame_shown, timeout=10_000, check_params_cb=lambda i: i == last):
        gate.open.set()
    assert shown[0] == far and shown == sorted(shown), shown
    assert errors == []


def test_an_undo_after_reopening_goes_back_to_a_frame_at_hand(
        qtbot, window, truth_run_project, open_sites, gate, errors, monkeypatch):
    """A step of the history the project kept has its frame decoded ahead, as a step made
    in this session: Undo after reopening shows it with the readers shut."""
    from PySide6.QtCore import Qt

    from app.panels.site_review_panel import SiteReviewPanel
    from tests.app.test_site_review_panel import _press

    # the next sites' frames are not decoded ahead: only the one an Undo goes back to is
    monkeypatch.setattr(SiteReviewPanel, "FRAMES_AHEAD", 0)
    gate.open.set()
    panel = open_sites(truth_run_project)
    decided = panel.current_site()
    qtbot.waitUntil(lambda: window.current_frame == decided.best_frame and window.document.awaited_frame is None,
                    timeout=10_000)
    _press(qtbot, panel, panel.site_list, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: window.current_frame != decided.best_frame and window.document.awaited_frame is None,
                    timeout=10_000)
    window.document.close()

    panel = open_sites(truth_run_project)
    doc = window.document
    assert doc.undo_stack.canUndo() and panel.current_site().best_frame != decided.best_frame
    qtbot.waitUntil(lambda: doc.awaited_frame is None and window.frame_view.loading_frame is None, timeout=10_000)
    qtbot.waitUntil(lambda: doc._frames_ahead.holds(decided.best_frame), timeout=10_000)

    gate.open.clear()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.current_frame == decided.best_frame, timeout=GATE_S * 500)
    assert window.frame_view.loading_frame is None and errors == []


@pytest.fixture
def slow_opening(monkeypatch) -> tuple[threading.Event, list[str]]:
    """Every :class:`engine.video.VideoReader` of the process waits for the test's word
    before it opens its video; the threads that opened one, or decoded a frame, are listed."""
    gate, opened_on = threading.Event(), []

    class SlowReader(engine.video.VideoReader):
        def __init__(self, *args, **kwargs) -> None:
            opened_on.append(threading.current_thread().name)
            if not gate.wait(GATE_S):
                raise VideoError("the test never opened the gate")
            super().__init__(*args, **kwargs)

        def frame_at(self, index: int, *, image: bool = True):  # noqa: ANN202 - core.types.Frame
            opened_on.append(threading.current_thread().name)
            return super().frame_at(index, image=image)

    monkeypatch.setattr(engine.video, "VideoReader", SlowReader)
    monkeypatch.setattr(ProjectDocument, "VIDEO_OFF_GUI_THREAD", True)  # as the app opens it
    yield gate, opened_on
    gate.set()


def test_a_project_is_shown_while_its_video_is_opened_off_the_gui_thread(
        qtbot, window, reviewed_project, slow_opening, errors):
    gate, opened_on = slow_opening
    assert window.open_path(reviewed_project)  # returns at once: the video is opened on a thread
    _event_loop_turns(qtbot)
    doc, view, transport = window.document, window.frame_view, window.transport
    assert doc.is_open and doc.video_loading and "flight.mp4" in window.windowTitle()
    assert view.loading_frame == 0 and view.loading_label.isVisible()
    assert view.loading_label.text() == "opening the video…"
    assert transport.frame_label.text() == "opening the video…" and not transport.slider.isEnabled()
    assert not window.play_action.isEnabled() and "being opened" in window.play_action.toolTip()
    assert not window.analyse_action.isEnabled() and "being opened" in window.analyse_action.toolTip()
    assert "MainThread" not in opened_on

    with qtbot.waitSignal(window.frame_shown, timeout=10_000, check_params_cb=lambda i: i == 0):
        gate.set()
    assert not doc.video_loading and transport.frame_count == doc.frame_count > 1
    assert view.loading_frame is None and transport.slider.isEnabled() and window.play_action.isEnabled()
    assert "MainThread" not in opened_on and errors == []  # the first frame came with the video


def test_a_video_that_cannot_be_opened_closes_its_project_and_says_why(
        qtbot, window, reviewed_project, errors, monkeypatch):
    monkeypatch.setattr(ProjectDocument, "VIDEO_OFF_GUI_THREAD", True)  # as the app opens it
    (reviewed_project.parent / "flight.mp4").write_bytes(b"not a video at all" * 100)
    with qtbot.waitSignal(window.document.closed, timeout=10_000):
        window.open_path(reviewed_project)
    assert not window.document.is_open
    assert len(errors) == 1 and "flight.mp4" in str(errors[0]), errors
