"""A push button that is the on-screen face of a QAction.

``QToolButton.setDefaultAction`` makes a tool button show and drive an action; a push
button has no such call. :class:`ActionButton` is that call for a push button, so the
start page's "Open Video or Project…" is File's item itself: the same words (without the
menu's mnemonic), on and off with it, and a click triggers it, so the two cannot drift.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton, QWidget


def without_mnemonic(text: str) -> str:
    """A menu item's text as a button shows it: the mnemonic's "&" dropped ("&&" is an
    "&"), the "…" kept (``QAction.iconText`` drops that too)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


class ActionButton(QPushButton):
    """A push button showing and triggering the action given to :meth:`set_action`.

    The button keeps its own tooltip (a page can explain more than a menu item does),
    with the action's shortcut added."""

    def __init__(self, tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.action: QAction | None = None
        self._tip = tip
        self.setToolTip(tip)

    def set_action(self, action: QAction) -> None:
        self.action = action
        self.clicked.connect(action.trigger)
        action.changed.connect(self._copy_from_action)  # bound method: dropped with the button
        self._copy_from_action()

    def _copy_from_action(self) -> None:
        action = self.action
        assert action is not None
        self.setText(without_mnemonic(action.text()))  # Alt+letter belongs to the menu bar
        self.setEnabled(action.isEnabled())
        shortcut = action.shortcut().toString()
        self.setToolTip(f"{self._tip} ({shortcut})" if shortcut and self._tip else self._tip or shortcut)


__all__ = ["ActionButton", "without_mnemonic"]
