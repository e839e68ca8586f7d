"""The menus as a first-time analyst meets them: every item reachable by its letter
(Alt, then the menu's letter, then the item's), one letter per item within a menu."""

from __future__ import annotations

import re

from PySide6.QtGui import QAction

#: menus whose items are the user's data (recent files, the project's runs), not named here
_LISTS = ("Open &Recent", "Show &Run")


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else None


def _menus(window):
    stack = [a.menu() for a in window.menuBar().actions()]
    while stack:
        menu = stack.pop()
        yield menu
        stack.extend(a.menu() for a in menu.actions() if a.menu() is not None and a.text() not in _LISTS)


def _items(menu) -> list[QAction]:
    return [a for a in menu.actions() if not a.isSeparator()]


def test_every_menu_item_has_a_letter_of_its_own(window):
    bar = [_mnemonic(a.text()) for a in window.menuBar().actions()]
    assert None not in bar and len(set(bar)) == len(bar), bar
    for menu in _menus(window):
        letters: dict[str, str] = {}
        for action in _items(menu):
            letter = _mnemonic(action.text())
            assert letter is not None, f"{menu.title()} > {action.text()!r} has no mnemonic"
            assert letter not in letters, (f"{menu.title()}: {action.text()!r} and {letters[letter]!r} "
                                           f"share the letter {letter!r}")
            letters[letter] = action.text()


def test_playback_items_do_not_repeat_their_key_in_their_name(window):
    """The menu shows each item's key beside it; "Pause (K)" said it twice."""
    for action in (window.reverse_action, window.pause_action, window.forward_action):
        assert "(" not in action.text() and action.shortcut().toString() in ("J", "K", "L")


def test_the_overlay_toolbar_and_its_layers_are_told_apart(window):
    texts = [a.text() for a in _items(window.view_menu)]
    assert "Overlay Tool&bar" in texts and "Overlay La&yers" in texts and "Overlays" not in texts
