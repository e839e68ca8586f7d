"""A step's notice in the status bar ("Site #9 rejected (39 sightings) — Ctrl+Z to undo")
stays as long as its key does what it says: it went after 4 s, often while the map was
rebuilt for the first time after the decision, before the reviewer looked at it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.panels.site_review_panel import SiteReviewPanel


@pytest.fixture
def project(truth_run_project: Path) -> Path:
    return truth_run_project


@pytest.fixture
def timeouts(window, monkeypatch) -> dict[str, int]:
    """Each status-bar message the window shows, with how long it was to stay (0: until replaced)."""
    status = window.statusBar()
    shown: dict[str, int] = {}
    show = status.showMessage

    def recording(text: str, timeout: int = 0) -> None:
        shown[text] = timeout
        show(text, timeout)

    monkeypatch.setattr(status, "showMessage", recording)
    return shown


def test_a_decision_s_notice_stays_through_the_map_s_rebuild_until_the_history_moves(qtbot, window, project,
                                                                                      timeouts):
    panel = window.panel(SiteReviewPanel)
    status = window.statusBar()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    site = panel.current_site()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):  # the map rebuilt after the decision
        qtbot.keyClick(panel.site_list, Qt.Key.Key_X)
    decided = status.currentMessage()
    assert decided.startswith(f"Site #{site.site_id} rejected") and decided.endswith("— Ctrl+Z to undo")
    assert timeouts[decided] == 0  # no clock takes it away: it was 4 s

    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        window.undo_action.trigger()
    qtbot.waitUntil(lambda: status.currentMessage().startswith("Undone: "), timeout=5_000)
    assert timeouts[status.currentMessage()] == 0  # "… — Ctrl+Y to redo" stays while Ctrl+Y redoes it

    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        window.document.undo_stack.redo()  # the history moves without a word of its own (no Redo action)
    assert status.currentMessage() == ""  # "Ctrl+Y to redo" is no longer true: it goes


def test_a_hint_that_is_not_a_step_still_goes_after_a_while(qtbot, window, project, timeouts):
    from app.step_notices import NOTICE_MS

    assert window.open_path(project)
    window.document.notice.emit("Split: select the crops that are another damage")
    assert timeouts["Split: select the crops that are another damage"] == NOTICE_MS > 4000
