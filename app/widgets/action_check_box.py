"""A check box that is the on-screen face of a checkable QAction.

``QToolButton.setDefaultAction`` makes a tool button show and drive an action; a check
box has no such call. :class:`ActionCheckBox` is that call for a check box, so that one
QAction per overlay layer is the switch, shown both in the View menu and as a box on
the overlay toolbar (a tick in either is the other's): the box takes its text (without
the menu's mnemonic), its tooltip (with the shortcut), its state and whether it is on.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QWidget

from app.widgets.action_button import without_mnemonic


class ActionCheckBox(QCheckBox):
    """A check box bound both ways to a checkable ``action``."""

    def __init__(self, action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not action.isCheckable():
            raise ValueError(f"ActionCheckBox needs a checkable action; {action.text()!r} is not")
        self.action = action
        self._copy_from_action()
        self.setChecked(action.isChecked())
        # bound methods both ways: Qt drops the connection when either side goes; a value
        # set to what it already is emits nothing, so the two never echo each other
        self.toggled.connect(action.setChecked)
        action.toggled.connect(self.setChecked)
        action.changed.connect(self._copy_from_action)

    def _copy_from_action(self) -> None:
        action = self.action
        self.setText(without_mnemonic(action.text()))  # Alt+letter belongs to the menu bar
        self.setEnabled(action.isEnabled())
        shortcut = action.shortcut().toString()
        tip = action.toolTip()
        if shortcut and shortcut not in tip:
            tip = f"{tip} ({shortcut})"
        self.setToolTip(tip)


__all__ = ["ActionCheckBox"]
