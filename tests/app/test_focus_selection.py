"""The Sites list and its crop grid: only the view that holds the keys draws its selection
in the highlight colour (with the keys in the grid, the list's current site and the
selected crops were the same blue, and which one A or X would act on was a guess)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.panels.site_review_panel import SiteReviewPanel
from app.widgets.focus_selection import unfocused_selection


@pytest.fixture
def project(truth_run_project: Path) -> Path:
    return truth_run_project


def _row_colour(view, item):
    """The colour drawn at the right end of ``item``'s row (its background: no text there)."""
    rect = view.visualItemRect(item)
    return view.viewport().grab().toImage().pixelColor(rect.right() - 1, rect.center().y())


def _near(drawn, colour) -> bool:
    """``drawn`` is ``colour`` as the style paints it (Fusion shades a selection by a step or two)."""
    return max(abs(drawn.red() - colour.red()), abs(drawn.green() - colour.green()),
               abs(drawn.blue() - colour.blue())) <= 6


def test_the_site_list_s_row_turns_grey_when_the_keys_go_to_the_crops(qtbot, window, project):
    panel = window.panel(SiteReviewPanel)
    window.activateWindow()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.open_path(project)
    site_list, grid = panel.site_list, panel.grid
    qtbot.waitUntil(lambda: QApplication.focusWidget() is site_list and grid.count() > 0, timeout=10_000)
    highlight = QApplication.palette(site_list).color(QPalette.ColorRole.Highlight)
    current = site_list.currentItem()
    assert current is not None and current.isSelected()
    assert _near(_row_colour(site_list, current), highlight)  # the keys are here: blue

    grid.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is grid, timeout=5_000)
    grid.item(0).setSelected(True)
    grey, _text = unfocused_selection(QApplication.palette(site_list))
    assert grey != highlight
    assert _near(_row_colour(site_list, current), grey)  # the list's row, inactive
    assert grid.palette().color(QPalette.ColorRole.Highlight) == highlight  # the crops the keys act on

    site_list.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is site_list, timeout=5_000)
    assert _near(_row_colour(site_list, current), highlight)
    assert grid.palette().color(QPalette.ColorRole.Highlight) == grey
