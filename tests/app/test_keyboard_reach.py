"""Every control of the window is reached with Tab, and a focused one takes its own keys."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.panels.map_panel import MapPanel
from app.panels.review_panel import ReviewPanel
from app.panels.site_review_panel import SiteReviewPanel
from core.store import ProjectStore
from tests.truth_runs import write_run


@pytest.fixture
def opened(qtbot, window, sites_truth, tmp_path):
    """The window on a flight's ground truth as a run, with telemetry: sites to review."""
    path = tmp_path / "flight.dmproj"
    with ProjectStore.create(path, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    sites = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(sites.sites_updated, timeout=30_000):
        assert window.open_path(path)
    qtbot.waitUntil(lambda: not sites.busy, timeout=30_000)
    sites.site_list.setCurrentRow(0)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    return window


def _tab_chain(qtbot, start, presses: int = 90) -> list:
    """The widgets Tab focuses, from ``start``, in order."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    chain = []
    for _ in range(presses):
        qtbot.keyClick(QApplication.focusWidget() or start, Qt.Key.Key_Tab)
        chain.append(QApplication.focusWidget())
    return chain


def test_tab_reaches_the_overlays_the_transport_the_map_option_and_the_sites_controls(qtbot, opened):
    window = opened
    sites = window.panel(SiteReviewPanel)
    chain = _tab_chain(qtbot, window.frame_view)
    player = window.transport
    wanted = {
        **{f"overlay {key}": check for key, check in window.layer_checks.items()},
        "toolbar threshold slider": window.threshold_slider, "toolbar threshold box": window.threshold_spin,
        **{f"transport {name}": getattr(player, f"{name}_button") for name in ("first", "back", "play", "forward",
                                                                               "last")},
        "show unconfirmed": window.panel(MapPanel).show_unconfirmed,
        "sites score slider": sites.threshold, "show decided": sites.show_decided,
        **{f"sites {name}": button for name, button in sites.buttons.items()},
    }
    missed = [name for name, widget in wanted.items() if widget not in chain]
    assert not missed
    # in the order they stand: the overlays left to right, the transport's buttons in theirs
    checks = [chain.index(check) for check in window.layer_checks.values()]
    assert checks == sorted(checks)
    transport = [chain.index(getattr(player, f"{n}_button")) for n in ("first", "back", "play", "forward", "last")]
    assert transport == sorted(transport)


def test_tab_reaches_the_review_filters_and_buttons(qtbot, opened):
    window = opened
    window.bring_panel(ReviewPanel)
    view = window.panel(ReviewPanel).view
    chain = _tab_chain(qtbot, view.table)
    wanted = [view.level_filter, view.state_filter, view.score_filter, view.accept_button, view.reject_button,
              view.delete_button, *view.relabel_buttons.values(), view.next_button]
    assert all(widget in chain for widget in wanted)


def test_a_focused_check_box_takes_space_and_a_focused_slider_its_arrows(qtbot, opened):
    """Not the window's shortcuts: Space on the Masks box toggles it (the video does not
    play), Right on the Sites panel's score slider raises the threshold (the frame stays)."""
    window = opened
    masks = window.layer_checks["show_masks"]
    before = masks.isChecked()
    masks.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(masks, Qt.Key.Key_Space)
    assert masks.isChecked() is not before and not window.transport.is_playing
    slider = window.panel(SiteReviewPanel).threshold
    slider.setFocus(Qt.FocusReason.TabFocusReason)
    frame, value = window.current_frame, slider.value()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() > value and window.current_frame == frame


def test_a_click_leaves_the_focus_on_the_list_being_reviewed(qtbot, opened):
    sites = opened.panel(SiteReviewPanel)
    sites.site_list.setFocus()
    qtbot.mouseClick(sites.buttons["next"], Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is sites.site_list


def _ring_share(control) -> float:
    """The share of the two pixels just outside ``control`` drawn in the highlight colour."""
    from PySide6.QtGui import QColor, QPalette

    parent = control.parentWidget()
    outer = control.geometry().adjusted(-2, -2, 2, 2)
    image = parent.grab(outer).toImage()
    highlight = control.palette().color(QPalette.ColorRole.Highlight)
    band = [(x, y) for x in range(image.width()) for y in range(image.height())
            if x < 2 or y < 2 or x >= image.width() - 2 or y >= image.height() - 2]
    near = sum(1 for x, y in band if max(abs(QColor(image.pixel(x, y)).red() - highlight.red()),
                                         abs(QColor(image.pixel(x, y)).green() - highlight.green()),
                                         abs(QColor(image.pixel(x, y)).blue() - highlight.blue())) < 60)
    return near / len(band)


def test_a_control_focused_by_tab_is_framed_in_the_highlight_colour(qtbot, window):
    """Fusion marks a focused check box with a pale tint behind its text and a slider with a
    one-pixel line: a control reached with Tab gets a frame around it, gone with the focus."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    sites = window.panel(SiteReviewPanel)
    for control in (next(iter(window.layer_checks.values())), window.threshold_slider, window.transport.play_button,
                    sites.threshold):
        control.setEnabled(True)
        control.parentWidget().setVisible(True)
        control.setFocus(Qt.FocusReason.TabFocusReason)
        assert control.hasFocus()
        assert _ring_share(control) > 0.6, control
        window.frame_view.setFocus(Qt.FocusReason.TabFocusReason)
        assert _ring_share(control) < 0.1, control
