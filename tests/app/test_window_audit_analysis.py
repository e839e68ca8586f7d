"""The window during and after an analysis (the GUI audit's findings): the status bar fits
a 1280-pixel screen with Cancel in it, the time left in whole seconds, Close Project
closes the project once the run stops, a closed window ignores a run's late progress, a
resumed run's note goes when it ends, and frames that could not be decoded are said in
the window."""

from __future__ import annotations

import re

from PySide6.QtCore import QRect

from app.workers import AnalysisOptions
from core.store import ProjectStore
from tests.video_helpers import cut_short

OPTIONS = AnalysisOptions(device="cpu", srn=False, batch_size=1)


def test_the_status_bar_fits_1280_pixels_with_cancel_whole_while_a_run_goes(qtbot, window, flyover, tiny_model, tmp_path):
    from services.demo_flight import shipped_model_path

    folder = tmp_path / ("a drone survey of the flooded valley after the storm, second day, " * 2).strip()
    folder.mkdir()
    for name in ("flight.mp4", "flight.SRT"):
        (folder / name).write_bytes((flyover / name).read_bytes())
    project = folder / "flight.dmproj"
    with ProjectStore.create(project, video_path=folder / "flight.mp4") as store:
        store.start_run(model={"weights": str(shipped_model_path())}, settings={})  # the demo-model badge shows
    assert window.open_path(project)
    assert window.model_badge.isVisible()
    window.start_analysis(OPTIONS, model=tiny_model)
    # what the bar holds as the run starts (measured before any event: the run may be quick)
    status = window.statusBar()
    status.clearMessage()  # a message hides the project's label; it comes back after
    for widget in (window.project_label, window.progress_bar, window.cancel_button, window.eta_label,
                   window.model_badge):
        assert widget.isVisible()
    status.layout().invalidate()
    assert status.minimumSizeHint().width() <= 1280  # was the whole project path, 1700 px and more, plus the rest
    status.layout().setGeometry(QRect(0, 0, 1280, status.height()))
    cancel = window.cancel_button.geometry()
    assert cancel.right() < 1280 and cancel.width() >= window.cancel_button.sizeHint().width()
    assert window.progress_bar.width() >= 60
    assert window.project_label.text().startswith(str(project)[:20])  # the whole text, elided on screen only
    assert window.project_label.toolTip() == window.project_label.text()
    status.layout().setGeometry(QRect(0, 0, 3000, status.height()))
    assert window.progress_bar.width() == 220  # as wide as before where there is room


def test_the_time_left_is_in_whole_seconds(qtbot, window, flyover, tiny_model, errors):
    from app.widgets.status_bar import format_eta

    assert [format_eta(s) for s in (34.19, 0.4, 61.0, 3725.6)] == ["0:34", "0:00", "1:01", "1:02:06"]
    assert window.open_path(flyover / "flight.mp4")
    said: list[str] = []
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000):
        job = window.start_analysis(OPTIONS, model=tiny_model)
        job.progress.connect(lambda _p: said.append(window.eta_label.text()))
    etas = [text for text in said if "ETA" in text]
    assert etas and all(re.search(r"ETA \d+:\d\d$", text) for text in etas), etas  # was "ETA 00:01.23"


def test_close_project_during_a_run_closes_it_when_the_run_stops(qtbot, window, flyover, tiny_model, errors):
    assert window.open_path(flyover / "flight.mp4")
    project = window.document.project_path
    with qtbot.waitSignal(window.document.closed, timeout=60_000):
        job = window.start_analysis(OPTIONS, model=tiny_model)
        job.progress.connect(lambda _p: window.close_action.trigger() if window.close_action.isEnabled() else None)
    qtbot.waitUntil(lambda: not job.is_running, timeout=30_000)
    assert not window.document.is_open and window.pages.currentWidget() is window.start_page
    assert errors == []
    with ProjectStore.open(project) as store:  # the frames done are kept
        run = store.run(store.latest_run_id())
        assert not run.finished and store.analysed_frames(run.id)


def test_a_run_s_late_progress_after_the_window_closed_is_ignored(qtbot, window, flyover, tiny_model, errors):
    assert window.open_path(flyover / "flight.mp4")
    seen: list[object] = []

    def close_once(progress: object) -> None:
        if not seen:
            seen.append(progress)
            window.close()  # cancels the run, waits for it, closes the project

    job = window.start_analysis(OPTIONS, model=tiny_model)
    job.progress.connect(close_once)
    qtbot.waitUntil(lambda: bool(seen), timeout=60_000)
    assert not window.document.is_open
    job.progress.emit(seen[0])  # a progress still queued when the project closed: was an AttributeError
    qtbot.waitUntil(lambda: not job.is_running, timeout=30_000)
    assert errors == []


def test_a_resumed_run_s_note_goes_from_the_status_bar_when_it_ends(qtbot, window, flyover, tiny_model, errors):
    assert window.open_path(flyover / "flight.mp4")
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000):
        job = window.start_analysis(OPTIONS, model=tiny_model)
        job.progress.connect(lambda _p: window.cancel_analysis())
    said: list[str] = []
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000):
        job = window.start_analysis(OPTIONS, model=tiny_model)
        job.planned.connect(lambda _notes: said.append(window.statusBar().currentMessage()))
    assert said and said[0].startswith("resuming run ")  # said while it runs
    assert not window.statusBar().currentMessage().startswith("resuming run ")  # not once it has ended
    assert window.eta_label.text() == "analysis finished"
    assert window.eta_label.toolTip().startswith("resuming run ")  # still there for who asks


def test_frames_that_could_not_be_decoded_are_said_in_the_window(qtbot, window, flyover, tiny_model, errors, tmp_path):
    folder = tmp_path / "cut"
    folder.mkdir()
    video = cut_short(flyover / "flight.mp4", folder / "cut.mp4", keep=0.9)  # no track beside it
    assert window.open_path(video)
    with qtbot.waitSignal(window.analysis_finished, timeout=60_000):
        window.start_analysis(OPTIONS, model=tiny_model)
    assert errors == []
    run = window.document.store.run(window.document.run_id)
    left_out = run.settings["unreadable_frames"]["frames"]
    assert run.finished and left_out
    count = len(left_out)
    text = window.eta_label.text()
    assert text.startswith("analysis finished: ") and f"{count} frame" in text and "could not be decoded" in text
    assert "could not be decoded" in window.eta_label.toolTip()


def test_a_project_s_window_needs_no_room_for_the_start_page(qtbot, window, flyover, errors):
    pages = window.centralWidget()
    from PySide6.QtWidgets import QWidget

    wide = window.player_page.minimumSizeHint().width() + 200  # a start page wider than the player
    strut = QWidget()
    strut.setMinimumWidth(wide)
    window.start_page.layout().addWidget(strut)
    strut.show()
    assert pages.minimumSizeHint().width() >= wide  # the start page shown
    assert window.open_path(flyover / "flight.mp4")
    player = window.player_page.minimumSizeHint().width()
    assert pages.minimumSizeHint().width() == player  # not the start page's width
    window.close_project()
    assert pages.minimumSizeHint().width() >= wide