"""A key whose action is off says why in the status bar, instead of doing nothing
without a word (Qt gives a greyed-out action's key to no one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.panels.site_review_panel import SiteReviewPanel
from app.window_actions import NO_SELECTION_REASON


@pytest.fixture
def project(truth_run_project: Path) -> Path:
    return truth_run_project


def test_a_after_a_click_on_the_frames_background_says_why_it_did_nothing(qtbot, window, project):
    window.activateWindow()
    panel = window.panel(SiteReviewPanel)
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.site_list, timeout=5_000)
    site = panel.current_site()
    assert site is not None

    # the reviewer clicks the frame's background: no detection selected, the list keeps its site
    window.select_detection(None)
    window.frame_view.setFocus()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_A)

    said = window.statusBar().currentMessage()
    assert said.startswith("A (Accept Detection): ") and NO_SELECTION_REASON in said
    assert f"in the Sites list (Ctrl+1) A decides site #{site.site_id}" in said
    assert window.document.undo_stack.count() == 0  # nothing was decided


def test_a_key_whose_action_is_on_is_not_said(window):
    from PySide6.QtGui import QKeySequence

    assert window.why_key_does_nothing(QKeySequence("Ctrl+O")) is None  # Open… is on with nothing open
    assert window.why_key_does_nothing(QKeySequence("Q")) is None  # no action's key
    assert "Open a video or project first" in window.why_key_does_nothing(QKeySequence("Space"))
    assert window.why_key_does_nothing(QKeySequence("Ctrl+Z")) == "Ctrl+Z (Undo): nothing to undo"
