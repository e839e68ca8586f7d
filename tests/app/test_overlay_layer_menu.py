"""View > Overlay Layers: one switch per overlay layer, shared by the menu and the
overlay toolbar's boxes, with keys of its own, remembered between sessions."""

from __future__ import annotations

from collections import defaultdict

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from app.dialogs.help_dialogs import SHORTCUTS
from app.window_actions import OVERLAY_LAYERS


def _menu_actions(menu) -> list[QAction]:
    return [a for a in menu.actions() if not a.isSeparator()]


def test_the_view_menu_lists_every_layer_the_toolbar_switches(window):
    in_menu = _menu_actions(window.layers_menu)
    assert set(window.layer_checks) == {layer.key for layer in OVERLAY_LAYERS}
    assert in_menu == list(window.layer_actions.values())
    assert window.layers_menu.menuAction() in window.view_menu.actions()
    for key, check in window.layer_checks.items():
        action = window.layer_actions[key]
        assert action.isCheckable() and check.action is action
        # the same name in the menu and on the toolbar, the menu's with a mnemonic
        assert check.text() == action.text().replace("&", "") and "&" in action.text()
        assert action.shortcut().toString() in check.toolTip()


@pytest.mark.parametrize("key", [layer.key for layer in OVERLAY_LAYERS])
def test_menu_and_toolbar_box_are_one_switch(window, key):
    action, check = window.layer_actions[key], window.layer_checks[key]
    before = action.isChecked()
    action.trigger()  # as a click in the menu
    assert check.isChecked() is (not before)
    assert getattr(window.frame_view.style, key) is (not before)
    check.click()  # the box on the toolbar
    assert action.isChecked() is before
    assert getattr(window.frame_view.style, key) is before


def test_a_layer_key_switches_the_layer(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.frame_view.setFocus()
    assert window.layer_checks["show_masks"].isChecked()
    qtbot.keyClick(window.frame_view, Qt.Key.Key_M,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not window.layer_actions["show_masks"].isChecked()
    assert not window.layer_checks["show_masks"].isChecked() and not window.frame_view.style.show_masks


def test_no_two_actions_of_the_window_share_a_key(window):
    """Every key the window binds, listed, must name one action: Qt fires nothing for an
    ambiguous one."""
    owners: dict[str, list[str]] = defaultdict(list)
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            owners[key.toString(QKeySequence.SequenceFormat.PortableText)].append(action.text())
    clashes = {key: names for key, names in owners.items() if len(names) > 1}
    assert clashes == {}
    for layer in OVERLAY_LAYERS:
        assert owners[layer.shortcut] == [layer.text]


def test_help_lists_the_layer_keys():
    listed = " ".join(key for key, _ in SHORTCUTS)
    for layer in OVERLAY_LAYERS:
        assert layer.shortcut in listed


def test_a_layer_switched_off_in_the_menu_stays_off_in_the_next_session(qtbot, app_settings, errors):
    from app.main_window import MainWindow

    first = MainWindow(settings=app_settings)
    qtbot.addWidget(first)
    first.layer_actions["show_boxes"].trigger()
    first.layer_actions["show_rejected"].trigger()
    second = MainWindow(settings=app_settings)
    qtbot.addWidget(second)
    assert not second.layer_actions["show_boxes"].isChecked() and not second.layer_checks["show_boxes"].isChecked()
    assert second.layer_actions["show_rejected"].isChecked() and second.layer_checks["show_rejected"].isChecked()
    assert not second.frame_view.style.show_boxes and second.frame_view.style.show_rejected
    assert errors == []
