"""Sites > …: the Sites panel's actions in the menu bar, each showing the key the Sites
list takes, on or off as the panel's buttons are, and doing what they do."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.panels.site_review_panel import KEYS
from app.site_menu import NO_SITE_REASON, REJECTED_REASON
from app.window_actions import NO_PROJECT_REASON, NO_RUN_REASON
from core.types import ReviewState


@pytest.fixture
def project(truth_run_project: Path) -> Path:
    return truth_run_project


def test_every_site_key_is_an_item_of_the_sites_menu_showing_its_key(window):
    menu = window.site_menu
    assert menu in [a.menu() for a in window.menuBar().actions()]
    shown = {name: action.text().split("\t") for name, action in menu.site_actions.items()}
    for key, name in KEYS.items():
        text, key_shown = shown[name]
        assert key_shown == chr(key), (name, key_shown)  # "A", "1", "N": the key the list takes
        assert "&" in text
    # with nothing open, every item is off and says why
    assert all(not a.isEnabled() and a.toolTip() == NO_PROJECT_REASON for a in menu.site_actions.values())


def test_the_sites_menu_opened_says_why_each_item_is_off_now_not_why_it_was(qtbot, window, project, tmp_path):
    """An item off before a project was opened and off after (a project not analysed yet)
    said 'Open a video or project first' with the project open: an item followed its
    button only when the button's state or tooltip changed."""
    from PySide6.QtCore import QPoint

    from core.store import ProjectStore

    with ProjectStore.open(project, read_only=True) as store:
        video = store.video_path
    with ProjectStore.create(tmp_path / "not analysed.dmproj", video_path=video) as store:
        not_analysed = store.path
    assert window.open_path(not_analysed)
    menu = window.site_menu
    menu.popup(window.mapToGlobal(QPoint(0, 0)))
    qtbot.waitUntil(menu.isVisible, timeout=5_000)
    try:
        said = {name: (a.isEnabled(), a.toolTip(), a.statusTip()) for name, a in menu.site_actions.items()}
    finally:
        menu.close()
    assert said == {name: (False, NO_RUN_REASON, NO_RUN_REASON) for name in menu.site_actions}


def test_an_item_of_the_sites_menu_does_what_its_key_does(qtbot, window, project, open_sites):
    panel = open_sites(project)
    actions = window.site_menu.site_actions
    site = panel.current_site()
    assert site is not None and all(a.isEnabled() for a in actions.values())
    # each item's tooltip is its button's (Accept's: the level it accepts at, the sightings it relabels)
    assert all(a.toolTip() == panel.buttons[name].toolTip() != "" for name, a in actions.items())

    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        actions["accept"].trigger()
    states = {window.document.store.detection(i).review for i in site.detection_ids}
    assert states == {ReviewState.ACCEPTED}
    assert window.document.undo_stack.count() == 1  # one step, as the key
    assert panel.current_site() is not None and panel.current_site().site_id != site.site_id  # on to the next
    assert QApplication.focusWidget() is panel.site_list  # the next key acts in the list

    rejected = panel.current_site()
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        actions["reject"].trigger()
    panel.select_site(rejected.site_id)
    assert not actions["split"].isEnabled() and actions["split"].toolTip() == REJECTED_REASON
    assert actions["accept"].isEnabled()  # A takes a rejection back

    panel.site_list.setCurrentRow(-1)
    assert not actions["accept"].isEnabled() and actions["accept"].toolTip() == NO_SITE_REASON


def test_keyboard_shortcuts_name_every_key_the_sites_list_and_its_crop_grid_take():
    """Help > Keyboard Shortcuts left out PgUp / PgDown and how to pick crops to split."""
    from PySide6.QtGui import QKeySequence

    from app.dialogs.help_dialogs import SHORTCUTS
    from app.panels.site_review_panel import _NAVIGATION

    sites_rows = " ".join(f"{keys} {what}" for keys, what in SHORTCUTS if keys.startswith("Sites panel"))
    for key in (*KEYS, *_NAVIGATION):
        assert QKeySequence(key).toString() in sites_rows, QKeySequence(key).toString()
    assert "Shift+arrows" in sites_rows and "crop grid" in sites_rows  # how crops are chosen for S
    assert any(keys == "Alt+S" and "Sites menu" in what for keys, what in SHORTCUTS)
