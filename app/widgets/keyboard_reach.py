"""Controls reached with Tab that keep their own keys from the window's shortcuts.

The window's single-key shortcuts (Space plays, Left/Right step a frame, Home/End go to
the ends) are window-wide, so a focused check box or slider would never see those keys:
Space on the Masks box would play the video. :func:`reach_by_tab` lets Tab, not a click,
focus a control (a click leaves the focus on the list being reviewed, whose keys A/X/N
must keep working) and gives the focused control the keys it works with.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QWidget

#: The keys a focused button or check box works with.
BUTTON_KEYS = frozenset({Qt.Key.Key_Space})
#: The keys a focused slider works with.
SLIDER_KEYS = frozenset({Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home,
                         Qt.Key.Key_End, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown})


class _OwnKeys(QObject):
    """Takes a focused control's own keys before the window's shortcuts do."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier) \
                and Qt.Key(event.key()) in own_keys(watched):
            event.accept()  # the key goes to the control, not to the shortcut
            return True
        return False


def own_keys(widget: QObject) -> frozenset[Qt.Key]:
    """The keys ``widget`` works with when focused."""
    if isinstance(widget, QAbstractSlider):
        return SLIDER_KEYS
    if isinstance(widget, QAbstractButton):
        return BUTTON_KEYS
    return frozenset()


def reach_by_tab(*widgets: QWidget) -> None:
    """Let Tab (not a click) focus ``widgets``, which then take their own keys."""
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        widget.installEventFilter(_OWN_KEYS)  # once per widget: Qt installs a filter object once


#: The one filter every control reached by Tab shares (it holds no state).
_OWN_KEYS = _OwnKeys()


__all__ = ["own_keys", "reach_by_tab"]
